"""
Train QWR on one environment and print its evaluation return beside what "solved" means for the task:
``python -m sb3_qwr`` (InvertedPendulum-v5, 20K interactions, the paper's Table 4 settings).

Why this task: it comes with the package (MuJoCo is a dependency), and QWR with the paper's settings solves it
within the quick start's budget; on Pendulum-v1, which SAC solves in about 5K steps, QWR's 1000-step iterations
and fixed-std Gaussian need more than 20K steps to get below -200 (``benchmarks/results/quickstart.jsonl``).

While training, the deterministic policy is evaluated every ``--eval-freq`` steps (as the RL Zoo's
``EvalCallback`` does) and each result is printed. At the end the final policy is evaluated on
``--eval-episodes`` fresh episodes, and so is the best checkpoint when it scored more than the final policy: one that
solved the task can fall back for a while before it solves it again (on InvertedPendulum-v5, checkpoints at
1000, then about 500, then 1000), which is why the Zoo keeps ``best_model.zip``; so does this command
(``--save`` writes both).

``--sac`` also trains SB3's SAC with the same budget and prints its return (Box actions only). For full
experiments (hyperparameter files, evaluation callbacks, tuning, plots) use the RL Zoo command
``python -m sb3_qwr.zoo train --algo qwr ...``.
"""

import argparse
import copy
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor

from sb3_qwr.qwr import QWR

#: What "solved" means for tasks without a ``reward_threshold`` in their gymnasium spec.
SOLVED = {"Pendulum-v1": -200.0}


def solved_threshold(env_id: str) -> float | None:
    """
    :param env_id: Gymnasium id.
    :return: The return from which the task counts as solved (gymnasium's ``reward_threshold``, or the usual
        value for tasks without one), ``None`` when there is none.
    """
    if env_id in SOLVED:
        return SOLVED[env_id]
    threshold = gym.spec(env_id).reward_threshold
    return None if threshold is None else float(threshold)


class CheckpointEvaluation(BaseCallback):
    """
    Evaluate the deterministic policy every ``eval_freq`` steps on its own environment, print the result and keep
    a copy of the best policy's parameters.

    :param env_id: The task.
    :param eval_freq: Steps between evaluations (0: none).
    :param episodes: Episodes per evaluation.
    :param seed: Seed of the evaluation environment.
    """

    def __init__(self, env_id: str, eval_freq: int, episodes: int, seed: int) -> None:
        super().__init__()
        self.eval_env = Monitor(gym.make(env_id))
        self.eval_env.reset(seed=seed + 1000)
        self.eval_freq = eval_freq
        self.episodes = episodes
        self.best_return = -np.inf
        self.best_timesteps = 0
        self.best_state: dict[str, Any] | None = None

    def _on_step(self) -> bool:
        if self.eval_freq > 0 and self.num_timesteps % self.eval_freq == 0:
            returns, _ = evaluate_policy(self.model, self.eval_env, n_eval_episodes=self.episodes, return_episode_rewards=True)
            mean = float(np.mean(returns))
            print(f"  {self.num_timesteps} steps: evaluation return {mean:.1f} ({self.episodes} episodes)", flush=True)
            if mean > self.best_return:
                self.best_return, self.best_timesteps = mean, self.num_timesteps
                self.best_state = copy.deepcopy(self.model.policy.state_dict())
        return True


def evaluate(model: BaseAlgorithm, episodes: int) -> tuple[float, float]:
    """
    :param model: A model with its environment.
    :param episodes: Evaluation episodes (deterministic policy).
    :return: Mean and std of the evaluation return.
    """
    env = model.get_env()
    assert env is not None
    returns, _ = evaluate_policy(model, env, n_eval_episodes=episodes, return_episode_rewards=True)
    return float(np.mean(returns)), float(np.std(returns))


def verdict(mean_return: float, threshold: float | None) -> str:
    """:return: `` (solved)``, `` (not solved)`` or nothing when the task has no threshold."""
    return "" if threshold is None else (" (solved)" if mean_return >= threshold else " (not solved)")


def main(argv: list[str] | None = None) -> None:
    """
    Entry point.

    :param argv: Command-line arguments (``sys.argv[1:]`` when ``None``).
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="InvertedPendulum-v5", help="Gymnasium environment id")
    parser.add_argument(
        "--timesteps", type=int, default=20_000, help="environment interactions (rounded up to whole iterations)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-episodes", type=int, default=10, help="episodes of the final evaluations")
    parser.add_argument("--eval-freq", type=int, default=2500, help="steps between checkpoint evaluations (0: none)")
    parser.add_argument("--checkpoint-episodes", type=int, default=5, help="episodes per checkpoint evaluation")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "bf16-eval"), help="see help(sb3_qwr.QWR)")
    parser.add_argument("--sac", action="store_true", help="also train SB3's SAC with the same budget")
    parser.add_argument("--save", default=None, help="save the final model there (.zip), the best as <name>_best.zip")
    parser.add_argument("--no-progress-bar", action="store_true")
    args = parser.parse_args(argv)

    threshold = solved_threshold(args.env)
    solved = "no threshold defined" if threshold is None else f"solved from {threshold:g}"
    model = QWR("MlpPolicy", args.env, seed=args.seed, device=args.device, precision=args.precision)
    checkpoints = CheckpointEvaluation(args.env, args.eval_freq, args.checkpoint_episodes, args.seed)
    start = time.perf_counter()
    model.learn(args.timesteps, callback=checkpoints, progress_bar=not args.no_progress_bar)
    seconds = time.perf_counter() - start
    mean_return, std_return = evaluate(model, args.eval_episodes)
    print(
        f"QWR on {args.env}: {model.num_timesteps} steps in {seconds:.0f} s, evaluation return {mean_return:.1f} +- "
        f"{std_return:.1f} over {args.eval_episodes} episodes{verdict(mean_return, threshold)}; {solved}"
    )
    if args.save:
        model.save(args.save)
    if checkpoints.best_state is not None and checkpoints.best_return > mean_return:
        model.policy.load_state_dict(checkpoints.best_state)
        best_mean, best_std = evaluate(model, args.eval_episodes)
        print(
            f"QWR best checkpoint ({checkpoints.best_timesteps} steps): evaluation return {best_mean:.1f} +- "
            f"{best_std:.1f} over {args.eval_episodes} new episodes{verdict(best_mean, threshold)}"
        )
        if args.save:
            path = Path(args.save)
            model.save(path.with_name(path.stem.removesuffix(".zip") + "_best.zip"))
    if args.sac:
        from stable_baselines3 import SAC

        sac = SAC("MlpPolicy", args.env, seed=args.seed, device=args.device)
        start = time.perf_counter()
        sac.learn(args.timesteps, progress_bar=not args.no_progress_bar)
        seconds = time.perf_counter() - start
        mean_return, std_return = evaluate(sac, args.eval_episodes)
        print(
            f"SAC on {args.env}: {sac.num_timesteps} steps in {seconds:.0f} s, evaluation return {mean_return:.1f} +- "
            f"{std_return:.1f}{verdict(mean_return, threshold)}"
        )


if __name__ == "__main__":
    main()
