"""
The score of a uniformly random policy on each environment of a suite, the lower end of the normalized scores of
the report's aggregate (``python -m benchmarks.report``): 100 episodes per game with the evaluation's protocol
(the environment's own time limit), written to ``benchmarks/results/<suite>/random_scores.json``.

    python -m benchmarks.random_scores minatar100k [--episodes 100]
"""

import argparse
from collections.abc import Sequence
from pathlib import Path

import gymnasium as gym
import numpy as np

import sb3_qwr  # noqa: F401  (registers MinAtar's ids)
from benchmarks.lib.records import RESULTS_DIR, provenance, write_json
from benchmarks.suites import SUITES


def random_returns(env_id: str, episodes: int, seed: int = 0) -> list[float]:
    """
    :param env_id: The environment.
    :param episodes: Number of episodes.
    :param seed: Seed of the first reset (episode ``i`` resets with ``seed + i``) and of the action space.
    :return: The episode returns of uniformly random actions.
    """
    env = gym.make(env_id)
    env.action_space.seed(seed)
    returns = []
    for episode in range(episodes):
        env.reset(seed=seed + episode)
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return returns


def main(argv: Sequence[str] | None = None) -> dict:
    """
    :param argv: Command line (default: ``sys.argv[1:]``).
    :return: The record written.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", choices=sorted(SUITES))
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--output", default=None, help="default: benchmarks/results/<suite>/random_scores.json")
    args = parser.parse_args(argv)
    scores = {}
    for env_id in SUITES[args.suite].envs:
        returns = random_returns(env_id, args.episodes)
        scores[env_id] = {"mean": float(np.mean(returns)), "std": float(np.std(returns)), "episodes": len(returns)}
        print(f"{env_id}: {scores[env_id]['mean']:.2f} ± {scores[env_id]['std']:.2f} ({args.episodes} episodes)", flush=True)
    record = {"suite": args.suite, "policy": "uniform random", "scores": scores, **provenance()}
    write_json(RESULTS_DIR / args.suite / "random_scores.json" if args.output is None else Path(args.output), record)
    return record


if __name__ == "__main__":
    main()
