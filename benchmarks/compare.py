"""
QWR with its default hyperparameters against SB3's SAC (Zoo hyperparameters) on one environment, same machine.

Trains each (algorithm, seed) in turn with one torch thread, evaluates 10 deterministic episodes, and appends
one JSON line per run (wall-clock time, evaluation return) to ``benchmarks/results/compare.jsonl``;
finished runs are skipped, so the command can be re-run to resume.

    python -m benchmarks.compare --env Pendulum-v1 --timesteps 20000 --seeds 0 1 2
"""

import argparse
import json
import platform
import time

import numpy as np
import stable_baselines3
import torch as th
from stable_baselines3 import SAC
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy

from benchmarks.lib.records import RESULTS_DIR, append_jsonl
from sb3_qwr import QWR

RESULTS = RESULTS_DIR / "compare.jsonl"
# rl-zoo3 hyperparams/sac.yml (Pendulum-v1: learning_rate 1e-3; MuJoCo: learning_starts 10000).
SAC_ZOO = {"Pendulum-v1": {"learning_rate": 1e-3}}


def build(algo: str, env_id: str, seed: int) -> BaseAlgorithm:
    env = make_vec_env(env_id, n_envs=1, seed=seed)
    if algo == "qwr":
        return QWR("MlpPolicy", env, seed=seed)
    return SAC("MlpPolicy", env, seed=seed, **SAC_ZOO.get(env_id, {"learning_starts": 10_000}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="Pendulum-v1")
    parser.add_argument("--timesteps", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--algos", nargs="+", default=["qwr", "sac"])
    args = parser.parse_args()
    th.set_num_threads(1)
    done = set()
    if RESULTS.exists():
        for line in RESULTS.read_text().splitlines():
            r = json.loads(line)
            done.add((r["algo"], r["env"], r["timesteps"], r["seed"]))
    for seed in args.seeds:
        for algo in args.algos:
            if (algo, args.env, args.timesteps, seed) in done:
                continue
            model = build(algo, args.env, seed)
            start = time.perf_counter()
            model.learn(args.timesteps)
            seconds = time.perf_counter() - start
            eval_env = make_vec_env(args.env, n_envs=1, seed=10_000 + seed)
            returns, _ = evaluate_policy(model, eval_env, n_eval_episodes=10, return_episode_rewards=True)
            record = {
                "algo": algo,
                "env": args.env,
                "timesteps": args.timesteps,
                "seed": seed,
                "train_seconds": round(seconds, 1),
                "eval_mean": float(np.mean(returns)),
                "eval_std": float(np.std(returns)),
                "machine": f"{platform.machine()}, {th.get_num_threads()} torch thread",
                "versions": {"torch": th.__version__, "stable_baselines3": stable_baselines3.__version__},
                "date": time.strftime("%Y-%m-%d"),
            }
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            append_jsonl(RESULTS, record)
            print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
