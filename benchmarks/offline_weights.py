"""
Which data does an offline actor imitate? For a dataset of ``benchmarks/offline.py`` (episodes shared round-robin
among behaviour policies of different quality), train QWR and AWR as the offline runs do, then measure over every
stored transition:

* the share of the actor's regression weight that each behaviour policy's transitions receive, against their share
  of the data. The weight of a state is :class:`~sb3_qwr.common.base_class.ActorLoss`'s ``state_weights``: AWR's
  ``exp(A_norm / beta)`` of the dataset action (``A = R - V(s)``), QWR's mean of ``exp(A_norm / beta)`` over the
  ``k`` actions sampled from ``mu(.|s)`` around the dataset action (``A = Q(s, a_j) - mean_j Q(s, a_j)``), both
  clipped at ``max_weight`` and normalized over batches of ``batch_size`` random transitions as in training;
* how close the trained actor's deterministic action is to each behaviour policy's deterministic action on the
  dataset's states (mean squared distance in ``[-1, 1]`` units), where the behaviour models are at hand;
* whether the critic knows what the actor gets (:func:`critic_calibration`): on the scored evaluation episodes,
  the critic's value of every state and action played against the discounted return that followed.

An actor whose weight shares follow the data shares is behaviour cloning of the mixture, whatever its critic; one
that gives the better policies more than their share filters the data (what AWR's advantages of the dataset action
do). QWR's advantages compare actions around the same dataset action, so they can move the actor away from a bad
action by about mu's std, but cannot tell it that the action it stands on is bad.

Usage::

    python -m benchmarks.offline_weights --profile figure3 --env HalfCheetah-v5 --seed 1 --action-stds 0.2 0.4

The models that ``benchmarks/offline.py`` saved under ``--work-dir`` are reused (else trained and saved there, with
the same settings and seed, so the same score); every record is appended to ``benchmarks/results/offline_weights.json``
and the table between the markers of ``benchmarks/RESULTS.md`` is redrawn. A record made before the critic's
calibration was measured gets it from the saved model, which must reproduce the recorded score.
"""

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from stable_baselines3 import SAC

from benchmarks.lib.offline_protocol import DEFAULT_RESULTS as OFFLINE_RESULTS
from benchmarks.lib.offline_protocol import (
    DEFAULT_RESULTS_MD,
    DEFAULT_WORK_DIR,
    algo_classes,
    evaluate_offline,
    model_path,
    mu_std,
    saved_behaviour_model,
    train_offline_model,
)
from benchmarks.lib.records import BENCHMARKS_DIR, read_json, write_json
from benchmarks.lib.tables import replace_marked_block
from sb3_qwr import AWR, QWR
from sb3_qwr.offline import OfflineDataset, from_minari

DEFAULT_RESULTS = BENCHMARKS_DIR / "results" / "offline_weights.json"
TABLE_START = "<!-- offline-weights:start -->"
TABLE_END = "<!-- offline-weights:end -->"


def step_sources(episode_ends: np.ndarray, n_sources: int, policy_episodes: int) -> np.ndarray:
    """
    The behaviour policy of every step of a dataset of :func:`sb3_qwr.datasets.make_dataset`: its policy episodes
    are shared round-robin among the ``n_sources`` policies, in order, and any later episode is random
    (source ``n_sources``).

    :param episode_ends: Index of the last step of each episode, increasing.
    :param n_sources: Number of behaviour policies.
    :param policy_episodes: Number of episodes the policies played (the first ones).
    :return: ``(N,)`` source index of every step.
    """
    lengths = np.diff(np.concatenate([[-1], episode_ends]))
    episodes = np.arange(len(lengths))
    source = np.where(episodes < policy_episodes, episodes % n_sources, n_sources)
    return np.repeat(source, lengths)


def weight_shares(state_weights: np.ndarray, sources: np.ndarray, names: list[str]) -> dict[str, dict[str, float]]:
    """
    Per source: its share of the transitions, its share of the total regression weight, and its states' mean weight.

    :param state_weights: ``(N,)`` regression weight of every transition's state.
    :param sources: ``(N,)`` source index of every transition.
    :param names: Name of each source index.
    :return: ``{name: {"data_share", "weight_share", "mean_weight"}}`` for the sources present.
    """
    total = float(state_weights.sum())
    shares = {}
    for index, name in enumerate(names):
        mask = sources == index
        if mask.any():
            shares[name] = {
                "data_share": float(mask.mean()),
                "weight_share": float(state_weights[mask].sum() / total),
                "mean_weight": float(state_weights[mask].mean()),
            }
    return shares


def state_weights_of(model: QWR | AWR, batch_size: int, seed: int) -> np.ndarray:
    """
    The regression weight of every transition in the model's replay buffer, from the algorithm's own actor loss on
    batches of ``batch_size`` transitions in a random order (the advantages are normalized per batch, as in training).

    :param model: A model whose buffer holds the dataset (``load_dataset``).
    :param batch_size: Transitions per batch.
    :param seed: Seed of the order and of QWR's sampled actions.
    :return: ``(N,)`` weights, in buffer order.
    """
    buffer = model.replay_buffer
    assert buffer is not None
    size = buffer.size()
    order = np.random.default_rng(seed).permutation(size)
    weights = np.empty(size, dtype=np.float64)
    th.manual_seed(seed)
    model.policy.set_training_mode(False)
    with th.no_grad():
        for start in range(0, size, batch_size):
            rows = order[start : start + batch_size]
            loss = model.actor_loss(buffer.samples_at(rows))
            weights[rows] = loss.state_weights.double().cpu().numpy()
    return weights


def to_unit(actions: np.ndarray, space: gym.spaces.Box) -> np.ndarray:
    """
    :param actions: Actions in the environment's units.
    :param space: The action space.
    :return: The actions in ``[-1, 1]`` units.
    """
    return 2.0 * (actions - space.low) / (space.high - space.low) - 1.0


def action_distances(
    model: QWR | AWR, observations: np.ndarray, behaviours: dict[str, Path], space: gym.spaces.Box
) -> dict[str, float]:
    """
    Mean squared distance (``[-1, 1]`` units, summed over action dimensions) between the model's deterministic action
    and each behaviour model's, on the given states.

    :param model: The trained model.
    :param observations: ``(N, obs_dim)`` states.
    :param behaviours: Saved SAC models by source name.
    :param space: The action space.
    :return: Distance by source name.
    """
    ours = to_unit(model.predict(observations, deterministic=True)[0], space)
    distances = {}
    for name, path in behaviours.items():
        theirs = to_unit(SAC.load(path, device="cpu").predict(observations, deterministic=True)[0], space)
        distances[name] = float(np.square(ours - theirs).sum(axis=-1).mean())
    return distances


def returns_to_go(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """
    :param rewards: ``(T,)`` rewards of one episode.
    :param gamma: Discount factor.
    :return: ``(T,)`` discounted return from each step to the episode's end, ``sum_i gamma^i r_{t+i}``.
    """
    out = np.empty(len(rewards), dtype=np.float64)
    acc = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        acc = float(rewards[t]) + gamma * acc
        out[t] = acc
    return out


def calibrated_steps(length: int, terminated: bool, gamma: float, tolerance: float = 0.01) -> int:
    """
    How many leading steps of an episode have a return-to-go that stands for the infinite-horizon value the critic
    estimates: all of a terminated episode; of a truncated one, those more than ``log(tolerance) / log(gamma)``
    steps before the cut (459 for gamma 0.99: the rewards after the cut would weigh less than ``tolerance``).

    :param length: Episode length.
    :param terminated: Whether it ended by termination (else by truncation).
    :param gamma: Discount factor.
    :param tolerance: Discount weight below which the cut-off rewards are ignored.
    :return: Number of steps.
    """
    if terminated:
        return length
    return max(length - int(np.ceil(np.log(tolerance) / np.log(gamma))), 0)


def critic_calibration(model: QWR | AWR, env_id: str, seed: int, episodes: int) -> tuple[list[float], dict[str, float] | None]:
    """
    The critic against what the actor really gets: on the scored evaluation episodes (:func:`evaluate_offline`, the
    same seeds), QWR's ``Q(s, pi(s))`` of the action played, or AWR's ``V(s)``, at every state, against the
    discounted return from that state (:func:`returns_to_go`, :func:`calibrated_steps`). A Q-based learner whose
    critic overestimates the actions its actor picks off the data (offline RL's extrapolation error) shows a ratio
    above 1; AWR's ``V`` is the value of the data's policies, so it lies below the return of an actor that beats them.

    :param model: The trained model.
    :param env_id: The environment.
    :param seed: Seed of the run (the evaluation's seed as in :func:`evaluate_offline`).
    :param episodes: Number of evaluation episodes.
    :return: The episode returns, and ``critic_mean``, ``return_mean``, ``ratio``, ``correlation`` and ``steps`` over
        the calibrated steps (``None`` when no step is: every episode truncated within the discount's horizon).
    """
    observations: list[np.ndarray] = []
    actions: list[np.ndarray] = []
    rewards: list[float] = []
    critic_values: list[np.ndarray] = []
    targets: list[np.ndarray] = []

    def record_step(local: dict[str, Any], _: dict[str, Any]) -> None:
        observations.append(np.array(local["observations"][0]))
        actions.append(np.array(local["actions"][0]))
        rewards.append(float(local["reward"]))
        if not local["done"]:
            return
        info = local["info"]
        terminated = not info.get("TimeLimit.truncated", False)
        n = calibrated_steps(len(rewards), terminated, model.gamma)
        if n > 0:
            obs = th.as_tensor(np.stack(observations[:n]), dtype=th.float32, device=model.device)
            unit = model.policy.scale_action(np.stack(actions[:n]))
            with th.no_grad():
                values = model.critic(obs, th.as_tensor(unit, dtype=th.float32, device=model.device))
            critic_values.append(values.float().reshape(-1).cpu().numpy().astype(np.float64) * model.q_scale)
            targets.append(returns_to_go(np.array(rewards), model.gamma)[:n])
        observations.clear()
        actions.clear()
        rewards.clear()

    model.policy.set_training_mode(False)
    returns = evaluate_offline(model, env_id, seed, episodes, callback=record_step)
    if not critic_values:  # every episode truncated within the horizon (Pendulum's 200 steps at gamma 0.99)
        return returns, None
    q, g = np.concatenate(critic_values), np.concatenate(targets)
    return returns, {
        "critic_mean": float(q.mean()),
        "return_mean": float(g.mean()),
        "ratio": float(q.mean() / g.mean()),
        "correlation": float(np.corrcoef(q, g)[0, 1]),
        "steps": len(q),
    }


def trained_model(
    algo: str, env_id: str, seed: int, dataset: OfflineDataset, args: argparse.Namespace, action_std: float
) -> QWR | AWR:
    """
    The model trained as the offline runs train it: the one ``benchmarks/offline.py`` saved for this profile, seed
    and mu std (:func:`benchmarks.offline.model_path`), else trained here and saved there. Its replay buffer is
    filled again from the dataset, with the same ``action_std``.

    :param algo: ``"qwr"`` or ``"awr"``.
    :param env_id: The environment.
    :param seed: Seed of the run.
    :param dataset: The profile's dataset.
    :param args: Parsed command line (``work_dir``, ``profile``, ``device`` and the profile's training settings).
    :param action_std: Std of mu.
    :return: The model, its buffer holding the dataset.
    """
    path = model_path(args.work_dir / args.profile / env_id, algo, seed, action_std)
    if path.exists():
        model = algo_classes()[algo].load(path, device=args.device)
        model.load_dataset(dataset, action_std=action_std)
        return model
    model = train_offline_model(algo, env_id, seed, dataset, args, action_std)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return model


def table(records: list[dict[str, Any]]) -> str:
    """One row per run: score, then each source's weight share against its data share, and the closest policy."""
    lines = [
        "| profile | env | algo | mu std | seed | return | weight share / data share per behaviour policy | "
        "actor's action closest to | critic / discounted return on the actor's episodes (correlation) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in records:
        shares = ", ".join(f"{name} {s['weight_share']:.2f} / {s['data_share']:.2f}" for name, s in r["sources"].items())
        distances = r.get("action_distance") or {}
        closest = (
            ", ".join(f"{name} {value:.2f}" for name, value in sorted(distances.items(), key=lambda item: item[1]))
            if distances
            else "—"
        )
        std = "—" if r["action_std"] is None else r["action_std"]
        critic = r.get("critic")
        calibration = (
            f"{critic['critic_mean']:.1f} / {critic['return_mean']:.1f} ({critic['correlation']:.2f})" if critic else "—"
        )
        lines.append(
            f"| {r['profile']} | {r['env']} | {r['algo'].upper()} | {std} | {r['seed']} | {r['return']:.1f} | "
            f"{shares} | {closest} | {calibration} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="figure3", help="a profile of benchmarks/offline.py with its dataset built")
    parser.add_argument("--env", default="HalfCheetah-v5")
    parser.add_argument("--algos", nargs="+", default=["qwr", "awr"], choices=["qwr", "awr"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--action-stds", nargs="+", type=float, default=None, help="QWR's mu std(s) (default: the profile's)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="the offline runs' work dir")
    parser.add_argument("--offline-results", type=Path, default=OFFLINE_RESULTS, help="the offline runs' results")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--readme", type=Path, default=DEFAULT_RESULTS_MD)
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    th.set_num_threads(args.threads)

    records: list[dict[str, Any]] = read_json(args.results, [])
    if not args.report_only:
        profiles = read_json(args.offline_results, {"profiles": {}})["profiles"]
        if args.profile not in profiles or args.env not in profiles[args.profile]["envs"]:
            sys.exit(f"No dataset of profile {args.profile!r} for {args.env} in {args.offline_results}: build it first.")
        settings = profiles[args.profile]["settings"]
        summary = profiles[args.profile]["envs"][args.env]["dataset"]
        for name in ("iterations", "critic_steps", "actor_steps"):
            setattr(args, name, settings[name])
        names = [name for name in summary["returns_by_source"] if name != "random"]
        dataset = from_minari(summary["id"], root=args.work_dir / args.profile / "minari")
        policy_episodes = len(dataset.episode_ends) - settings["random_episodes"]
        sources = step_sources(dataset.episode_ends, len(names), policy_episodes)
        env_dir = args.work_dir / args.profile / args.env
        behaviours = {name: path for name in names if (path := saved_behaviour_model(env_dir, name)) is not None}
        profile_std = mu_std(settings)
        runs = [("qwr", std) for std in args.action_stds or [profile_std] if "qwr" in args.algos]
        runs += [("awr", None)] if "awr" in args.algos else []
        for algo, std in runs:
            key = (args.profile, args.env, algo, std, args.seed)
            done = [r for r in records if (r["profile"], r["env"], r["algo"], r["action_std"], r["seed"]) == key]
            if done and "critic" in done[0]:
                continue
            if done:  # a record made before the critic's calibration was measured: add it from the saved model
                model = trained_model(algo, args.env, args.seed, dataset, args, profile_std if std is None else std)
                returns, done[0]["critic"] = critic_calibration(model, args.env, args.seed, settings["eval_episodes"])
                if not np.allclose(returns, done[0].get("episode_returns", returns)) or not np.isclose(
                    np.mean(returns), done[0]["return"]
                ):
                    sys.exit(f"The saved model of {key} does not reproduce its recorded score: retrain it.")
                write_json(args.results, records)
                continue
            start = time.perf_counter()
            # AWR never samples from mu: its buffer gets the profile's std, which it does not use
            model = trained_model(algo, args.env, args.seed, dataset, args, profile_std if std is None else std)
            assert model.replay_buffer is not None and model.replay_buffer.size() == len(dataset), (
                "the buffer's rows must be the dataset's steps"
            )
            assert isinstance(model.action_space, gym.spaces.Box), "the offline benchmarks are MuJoCo tasks"
            weights = state_weights_of(model, model.batch_size, args.seed)
            returns, critic = critic_calibration(model, args.env, args.seed, settings["eval_episodes"])
            distances = action_distances(model, np.asarray(dataset.observations), behaviours, model.action_space)
            record = {
                "profile": args.profile,
                "env": args.env,
                "algo": algo,
                "action_std": std,
                "seed": args.seed,
                "return": float(np.mean(returns)),
                "episode_returns": returns,
                "sources": weight_shares(weights, sources, [*names, "random"]),
                "action_distance": distances,
                "critic": critic,
                "seconds": round(time.perf_counter() - start, 1),
            }
            records.append(record)
            write_json(args.results, records)
            print(table([record]), flush=True)
    if not records:
        sys.exit(f"No results in {args.results}.")
    replace_marked_block(
        args.readme, TABLE_START, TABLE_END, table(records), append_title="Which data the offline actors imitate"
    )
    print(table(records))


if __name__ == "__main__":
    main()
