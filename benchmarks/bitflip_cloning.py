"""
Does the actor clone the replay buffer (the paper's Theorem 1)? One BitFlip run with cloning diagnostics.

Trains AWR or QWR (mean backup) on ``BitFlip-v0`` with N bits for 10 iterations of 1000 interactions (the
Figure 1 protocol; updates per iteration and learning rates are options), evaluates the deterministic policy
on 20 episodes after every iteration, then measures on the states of the final replay buffer:

* ``clone_rate``: the fraction of buffer states where the deterministic policy picks the stored action
  (1.0 is Theorem 1's optimum of AWR's regression when no state repeats: the buffer is copied);
* ``pred_zero_flip``: the fraction of buffer states where the policy's action flips a zero bit (what a good
  policy does: 1.0);
* ``buffer_zero_flip``: the same fraction for the stored actions (the behaviour of the collecting policies).

An actor that clones the buffer has ``clone_rate`` near 1 and ``pred_zero_flip`` near ``buffer_zero_flip``.
Each run appends one JSON line to ``--results``::

    python -m benchmarks.bitflip_cloning --algo awr --n-bits 30
    python -m benchmarks.bitflip_cloning --algo awr --n-bits 30 --actor-lr 1e-3 --critic-lr 5e-3 --train-steps 1000
"""

import argparse
import json
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor

import sb3_qwr.envs  # noqa: F401  (registers BitFlip-v0)
from benchmarks.lib.bitflip_setting import algo_kwargs  # the Figure 1 settings
from benchmarks.lib.records import RESULTS_DIR, append_jsonl
from benchmarks.lib.seeding import EVAL_SEED_OFFSET
from sb3_qwr import AWR, QWR

DEFAULT_RESULTS = RESULTS_DIR / "bitflip_cloning.jsonl"


def cloning_diagnostics(model: QWR, n_bits: int) -> dict[str, float]:
    """
    ``clone_rate``, ``pred_zero_flip`` and ``buffer_zero_flip`` over the states of the model's replay buffer.

    :param model: A trained QWR or AWR on ``BitFlip-v0`` with one environment.
    :param n_bits: Number of bits ``N`` (the first ``N`` entries of an observation are the bits).
    :return: The three fractions.
    """
    buffer = model.replay_buffer
    assert buffer is not None
    size = buffer.buffer_size if buffer.full else buffer.pos
    observations = buffer.observations[:size, 0]
    stored = buffer.actions[:size, 0].reshape(-1).astype(int)
    predicted, _ = model.predict(observations, deterministic=True)
    bits = observations[:, :n_bits]
    rows = np.arange(size)
    return {
        "clone_rate": round(float(np.mean(predicted == stored)), 3),
        "pred_zero_flip": round(float(np.mean(bits[rows, predicted] == 0)), 3),
        "buffer_zero_flip": round(float(np.mean(bits[rows, stored] == 0)), 3),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """
    Train, evaluate after every iteration, and measure the cloning diagnostics.

    :param args: Parsed command line.
    :return: The result record.
    """
    kwargs = algo_kwargs(args.algo, args.train_steps, 1000, args.actor_lr, args.critic_lr)
    env = gym.make("BitFlip-v0", n_bits=args.n_bits)
    eval_env = Monitor(gym.make("BitFlip-v0", n_bits=args.n_bits))
    eval_env.reset(seed=args.seed + EVAL_SEED_OFFSET)
    model = {"awr": AWR, "qwr": QWR}[args.algo]("MlpPolicy", env, seed=args.seed, device="cpu", **kwargs)
    start = time.perf_counter()
    curve = []
    for iteration in range(args.iterations):
        model.learn(1000, reset_num_timesteps=iteration == 0)
        mean_return, _ = evaluate_policy(model, eval_env, 20, deterministic=True)
        curve.append(round(float(mean_return), 2))
    return {
        "algo": args.algo,
        "n_bits": args.n_bits,
        "seed": args.seed,
        "train_steps": args.train_steps,
        "actor_learning_rate": args.actor_lr,
        "critic_learning_rate": args.critic_lr,
        "curve": curve,
        **cloning_diagnostics(model, args.n_bits),
        "seconds": round(time.perf_counter() - start, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algo", choices=["awr", "qwr"], default="awr")
    parser.add_argument("--n-bits", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--train-steps", type=int, default=300, help="critic and actor updates per iteration")
    parser.add_argument("--actor-lr", type=float, default=1e-4)
    parser.add_argument("--critic-lr", type=float, default=5e-4)
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    args = parser.parse_args(argv)
    th.set_num_threads(1)
    record = run(args)
    print(json.dumps(record), flush=True)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    append_jsonl(args.results, record)


if __name__ == "__main__":
    main()
