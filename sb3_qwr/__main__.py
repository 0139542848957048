"""
Train QWR on one environment and print its evaluation return: ``python -m sb3_qwr --env Pendulum-v1``.

For full experiments (hyperparameter files, evaluation callbacks, tuning, plots) use the RL Zoo command
``python -m sb3_qwr.zoo train --algo qwr ...``.
"""

import argparse
import time

from stable_baselines3.common.evaluation import evaluate_policy

from sb3_qwr.qwr import QWR


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="Pendulum-v1", help="Gymnasium environment id")
    parser.add_argument("--timesteps", type=int, default=10_000, help="environment interactions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--save", default=None, help="path to save the trained model (.zip)")
    parser.add_argument("--no-progress-bar", action="store_true")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    model = QWR("MlpPolicy", args.env, seed=args.seed, device=args.device, verbose=0)
    model.learn(args.timesteps, progress_bar=not args.no_progress_bar)
    train_seconds = time.perf_counter() - start
    env = model.get_env()
    assert env is not None
    mean_return, std_return = evaluate_policy(model, env, n_eval_episodes=args.eval_episodes)
    print(
        f"QWR on {args.env}: {args.timesteps} steps in {train_seconds:.0f} s, evaluation return "
        f"{mean_return:.1f} +- {std_return:.1f} over {args.eval_episodes} episodes"
    )
    if args.save:
        model.save(args.save)


if __name__ == "__main__":
    main()
