"""
How much ``precision="bf16"`` changes QWR's advantages, on a trained model: the critic's values of the
``n_action_samples`` actions sampled from the actor at states the policy visits, computed in float32 (the
reference), under bfloat16 autocast with the scalar output layer in float32 (what ``precision="bf16"`` runs), and
under bfloat16 autocast with the output layer in bfloat16 too (before sb3-qwr 0.2.0's ``head_output``). For each
it reports the rms error of the values and of the advantages ``A = Q(s, a_j) - mean_j Q(s, a_j)`` against float32,
as a fraction of the advantages' rms, the share of states whose best sampled action is unchanged, and the rms
error of the advantage weights.

    python -m benchmarks.bf16_rounding --run-dir benchmarks/runs/<suite>/<run>/qwr/Walker2d-v5_1 --env Walker2d-v5

The run folder is a Zoo run (``<env>.zip`` and, with normalized observations, ``<env>/vecnormalize.pkl``). The
record is printed and appended to ``benchmarks/results/bf16_rounding.jsonl``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecNormalize

from benchmarks.lib.records import RESULTS_DIR, append_jsonl, now_iso, provenance, repo_relative
from sb3_qwr import QWR
from sb3_qwr.common.functional import advantage_weights


def visited_states(model: QWR, env: VecEnv, n_states: int, seed: int) -> th.Tensor:
    """
    :param model: A trained QWR model with ``Box`` actions.
    :param env: Its (normalized, not training) environment, one copy.
    :param n_states: Number of states to collect.
    :param seed: Seed of the environment and of the policy's sampling.
    :return: ``(n_states, obs_dim)`` observations met by the stochastic policy, as the critic sees them.
    """
    env.seed(seed)
    model.set_random_seed(seed)
    obs = env.reset()
    states = []
    while len(states) < n_states:
        states.append(np.asarray(obs)[0].copy())
        action, _ = model.predict(obs, deterministic=False)
        obs, _, _, _ = env.step(action)
    return th.as_tensor(np.array(states), dtype=th.float32, device=model.device)


def sampled_values(model: QWR, states: th.Tensor, actions: th.Tensor, mode: str) -> th.Tensor:
    """
    :param model: A QWR model with ``Box`` actions.
    :param states: ``(B, obs_dim)`` observations.
    :param actions: ``(B, k, action_dim)`` normalized actions.
    :param mode: ``"fp32"``; ``"bf16"`` (autocast, float32 output layer: what ``precision="bf16"`` runs); or
        ``"bf16-output"`` (the output layer under autocast too).
    :return: ``(B, k)`` Q-values in return units, float32.
    """
    critic = model.critic
    with th.no_grad(), th.autocast(states.device.type, dtype=th.bfloat16, enabled=mode != "fp32"):
        if mode != "bf16-output":
            scaled = critic.q_values(critic.embed_obs(states), actions)
        else:
            scaled = critic.head(critic.gated_features(critic.embed_obs(states), actions)).squeeze(-1)
    return scaled.float() * model.q_scale


def rounding_report(model: QWR, states: th.Tensor, seed: int) -> dict[str, Any]:
    """
    :param model: A QWR model with ``Box`` actions.
    :param states: Observations.
    :param seed: Seed of the sampled actions.
    :return: Per mode (``"bf16"``, ``"bf16-output"``), the errors against float32 (see the module's docstring).
    """
    th.manual_seed(seed)
    with th.no_grad():
        params = model.actor.dist_params(states)
        actions = model.actor.distribution.sample(params, model.n_action_samples)
    exact = sampled_values(model, states, actions, "fp32")
    exact_adv = exact - exact.mean(dim=-1, keepdim=True)
    exact_weights = advantage_weights(exact_adv, model.beta, model.max_weight)
    adv_rms = exact_adv.pow(2).mean().sqrt().item()
    report: dict[str, Any] = {"q_mean": exact.mean().item(), "advantage_rms": adv_rms}
    for mode in ("bf16", "bf16-output"):
        values = sampled_values(model, states, actions, mode)
        adv = values - values.mean(dim=-1, keepdim=True)
        weights = advantage_weights(adv, model.beta, model.max_weight)
        report[mode] = {
            "q_error_rms": (values - exact).pow(2).mean().sqrt().item(),
            "advantage_error_rms": (adv - exact_adv).pow(2).mean().sqrt().item(),
            "advantage_error_fraction": (adv - exact_adv).pow(2).mean().sqrt().item() / max(adv_rms, 1e-12),
            "best_action_agreement": (adv.argmax(dim=-1) == exact_adv.argmax(dim=-1)).float().mean().item(),
            "weight_error_rms": (weights - exact_weights).pow(2).mean().sqrt().item(),
        }
    return report


def load_run(run_dir: Path, env_id: str) -> tuple[QWR, VecEnv]:
    """
    :param run_dir: A Zoo run folder.
    :param env_id: Its environment.
    :return: The final model (on the CPU) and its environment, with the run's observation normalization if any.
    """
    model_path = run_dir / f"{env_id}.zip"
    if not model_path.is_file():
        raise FileNotFoundError(f"No final model {model_path}: pass the Zoo run folder that holds {env_id}.zip.")
    model = QWR.load(model_path, device="cpu")
    if not isinstance(model.action_space, gym.spaces.Box):
        raise ValueError("benchmarks.bf16_rounding measures sampled actions: the model needs Box actions.")
    env: VecEnv = DummyVecEnv([lambda: gym.make(env_id)])
    stats = run_dir / env_id / "vecnormalize.pkl"
    if stats.is_file():
        env = VecNormalize.load(str(stats), env)
        env.training = False
        env.norm_reward = False
    return model, env


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", type=Path, required=True, help="Zoo run folder (holds <env>.zip)")
    parser.add_argument("--env", required=True, help="environment id of the run")
    parser.add_argument("--states", type=int, default=2000, help="states visited by the stochastic policy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "bf16_rounding.jsonl")
    args = parser.parse_args(argv)
    th.set_num_threads(1)
    model, env = load_run(args.run_dir, args.env)
    states = visited_states(model, env, args.states, args.seed)
    record = {
        "env": args.env,
        "run_dir": repo_relative(str(args.run_dir)),
        "states": args.states,
        "seed": args.seed,
        **rounding_report(model, states, args.seed),
        "finished": now_iso(),
        **provenance(),
    }
    print(record)
    append_jsonl(args.output, record)
    return record


if __name__ == "__main__":
    main()
