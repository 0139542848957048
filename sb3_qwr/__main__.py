"""
Train QWR on one environment and print its evaluation return beside what "solved" means for the task:
``python -m sb3_qwr`` (InvertedPendulum-v5, 15K interactions, the paper's Table 4 settings).

Why this task: it comes with the package (MuJoCo is a dependency), and QWR with the paper's settings solves it
within the quick start's budget (``benchmarks/RESULTS.md``, "Quick start"); on Pendulum-v1, which SAC solves in
about 5K steps, QWR's 1000-step iterations and fixed-std Gaussian need more than 20K steps to be reliably below
-200.

``--sac`` also trains SB3's SAC with the same budget and prints its return (Box actions only). For full
experiments (hyperparameter files, evaluation callbacks, tuning, plots) use the RL Zoo command
``python -m sb3_qwr.zoo train --algo qwr ...``.
"""

import argparse
import time

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.evaluation import evaluate_policy

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


def train_and_evaluate(model: BaseAlgorithm, timesteps: int, episodes: int, progress_bar: bool) -> tuple[float, float, float]:
    """
    :param model: A model.
    :param timesteps: Environment interactions.
    :param episodes: Evaluation episodes (deterministic policy).
    :param progress_bar: Show a progress bar while training.
    :return: Mean and std of the evaluation return, and the training seconds.
    """
    start = time.perf_counter()
    model.learn(timesteps, progress_bar=progress_bar)
    seconds = time.perf_counter() - start
    env = model.get_env()
    assert env is not None
    returns, _ = evaluate_policy(model, env, n_eval_episodes=episodes, return_episode_rewards=True)
    return float(np.mean(returns)), float(np.std(returns)), seconds


def main(argv: list[str] | None = None) -> None:
    """
    Entry point.

    :param argv: Command-line arguments (``sys.argv[1:]`` when ``None``).
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="InvertedPendulum-v5", help="Gymnasium environment id")
    parser.add_argument("--timesteps", type=int, default=15_000, help="environment interactions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"), help="see help(sb3_qwr.QWR)")
    parser.add_argument("--sac", action="store_true", help="also train SB3's SAC with the same budget")
    parser.add_argument("--save", default=None, help="path to save the trained model (.zip)")
    parser.add_argument("--no-progress-bar", action="store_true")
    args = parser.parse_args(argv)

    threshold = solved_threshold(args.env)
    solved = "no threshold defined" if threshold is None else f"solved from {threshold:g}"
    model = QWR("MlpPolicy", args.env, seed=args.seed, device=args.device, precision=args.precision)
    mean_return, std_return, seconds = train_and_evaluate(model, args.timesteps, args.eval_episodes, not args.no_progress_bar)
    verdict = "" if threshold is None else (" (solved)" if mean_return >= threshold else " (not solved)")
    print(
        f"QWR on {args.env}: {args.timesteps} steps in {seconds:.0f} s, evaluation return {mean_return:.1f} +- "
        f"{std_return:.1f} over {args.eval_episodes} episodes{verdict}; {solved}"
    )
    if args.save:
        model.save(args.save)
    if args.sac:
        from stable_baselines3 import SAC

        sac = SAC("MlpPolicy", args.env, seed=args.seed, device=args.device)
        mean_return, std_return, seconds = train_and_evaluate(
            sac, args.timesteps, args.eval_episodes, not args.no_progress_bar
        )
        text = f"{mean_return:.1f} +- {std_return:.1f}"
        print(f"SAC on {args.env}: {args.timesteps} steps in {seconds:.0f} s, evaluation return {text}")


if __name__ == "__main__":
    main()
