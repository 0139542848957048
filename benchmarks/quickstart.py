"""
Learning curves of the quick start's configuration (``python -m sb3_qwr``: QWR with its defaults on a small
task), to choose its task and budget from measurements: every ``--every`` steps, ``--episodes`` deterministic
evaluation episodes, appended as one JSON line per checkpoint to ``results/quickstart.jsonl`` (fields ``env``,
``config``, ``seed``, ``timesteps``, ``return``, ``cpu_seconds``, ``wall_seconds``, ``threads``). The stored records
with another ``config`` than ``defaults`` are earlier probes of other cadences on Pendulum-v1, kept for the record.

Usage::

    python -m benchmarks.quickstart --env InvertedPendulum-v5 --seeds 0 1 2 --timesteps 20000
    python -m benchmarks.quickstart --report     # first step from which each seed stays solved
"""

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch as th
from stable_baselines3.common.evaluation import evaluate_policy

from benchmarks.lib.evaluation import PeriodicEvaluation
from benchmarks.lib.records import RESULTS_DIR, append_jsonl
from sb3_qwr import QWR
from sb3_qwr.__main__ import solved_threshold

DEFAULT_OUTPUT = RESULTS_DIR / "quickstart.jsonl"


def checkpoint_evaluation(model: QWR, every: int, episodes: int, output: Path, record: dict[str, Any]) -> PeriodicEvaluation:
    """
    Evaluate the deterministic policy every ``every`` steps (on the training environment, as the quick start does)
    and append one record per checkpoint to ``output``.

    :param model: The model.
    :param every: Steps between evaluations.
    :param episodes: Evaluation episodes.
    :param output: The JSON-lines file.
    :param record: Fields shared by every record (env, seed, ...).
    :return: The callback.
    """
    cpu_start, wall_start = time.process_time(), time.perf_counter()

    def score(model: Any) -> list[float]:
        env = model.get_env()
        assert env is not None
        returns, _ = evaluate_policy(model, env, n_eval_episodes=episodes, return_episode_rewards=True)
        assert isinstance(returns, list)
        return returns

    def write(point: dict[str, Any]) -> None:
        append_jsonl(
            output,
            record
            | {
                "timesteps": point["timesteps"],
                "return": round(point["return"], 1),
                "cpu_seconds": round(time.process_time() - cpu_start, 1),
                "wall_seconds": round(time.perf_counter() - wall_start, 1),
            },
        )

    return PeriodicEvaluation(score, every=every, unit="steps", on_point=write)


def stays_solved_from(records: list[dict[str, Any]], threshold: float) -> int | None:
    """
    :param records: The checkpoints of one run.
    :param threshold: The "solved" return.
    :return: The first checkpoint from which every later checkpoint is solved (``None``: the last one is not).
    """
    first = None
    for record in sorted(records, key=lambda r: r["timesteps"], reverse=True):
        if record["return"] < threshold:
            break
        first = record["timesteps"]
    return first


def report(path: Path) -> str:
    """
    :param path: The JSON-lines file.
    :return: One line per (env, configuration, seed): the checkpoints, and from when the run stays solved.
    """

    runs: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        runs.setdefault((record["env"], record["config"], record["seed"]), []).append(record)
    lines = []
    for (env_id, config, seed), records in sorted(runs.items()):
        threshold = solved_threshold(env_id)
        curve = ", ".join(
            f"{r['timesteps'] // 1000}K: {r['return']:.0f}" for r in sorted(records, key=lambda r: r["timesteps"])
        )
        since = None if threshold is None else stays_solved_from(records, threshold)
        last = max(records, key=lambda r: r["timesteps"])
        lines.append(
            f"{env_id} ({config}) seed {seed}: {curve}; stays solved from {since if since is not None else 'never'}"
            f" ({last['cpu_seconds']:.0f} CPU s for {last['timesteps']} steps)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="InvertedPendulum-v5")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--timesteps", type=int, default=20_000)
    parser.add_argument("--every", type=int, default=2000, help="steps between evaluations")
    parser.add_argument("--episodes", type=int, default=5, help="evaluation episodes per checkpoint")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--action-std-units",
        default="normalized",
        choices=("normalized", "env"),
        help="policy option action_std_units (env: the reference code's exploration)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--report", action="store_true", help="only summarize the stored curves")
    args = parser.parse_args(argv)
    if not args.report:
        th.set_num_threads(args.threads)
        for seed in args.seeds:
            units = args.action_std_units
            config = "defaults" if units == "normalized" else f"action_std_units={units}"
            record = {"env": args.env, "seed": seed, "config": config, "threads": args.threads}
            model = QWR("MlpPolicy", args.env, seed=seed, policy_kwargs={"action_std_units": units})
            model.learn(args.timesteps, callback=checkpoint_evaluation(model, args.every, args.episodes, args.output, record))
    print(report(args.output))


if __name__ == "__main__":
    main()
