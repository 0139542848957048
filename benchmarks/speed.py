"""
Wall-clock cost of QWR per 1000 environment steps, against SB3's SAC (DQN on Atari) in the same process.

Each repeat builds both algorithms, warms them up (buffer filled, one training phase done, so the timing is
the steady state), then times the same number of environment steps for each, alternating QWR and the
baseline so that both see the same machine load. QWR runs with the paper's 100K defaults (1000 critic and
1000 actor updates per 1000 interactions); SAC with the Zoo's Hopper defaults (one update of batch 256 per
step); on Atari the baseline is DQN with the Zoo's Atari defaults (SAC has no discrete actions). QWR's time is
split into environment stepping, buffer sampling, critic target, critic update and actor update.

    python -m benchmarks.speed --env Hopper-v5 --repeats 3 --steps 2000
    python -m benchmarks.speed --env PongNoFrameskip-v4 --repeats 1 --steps 1000 --qwr-updates 100

Results are printed as a markdown table and appended to ``benchmarks/results/speed.jsonl``.
"""

import argparse
import json
import platform
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import stable_baselines3
import torch as th
from stable_baselines3 import DQN, SAC
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_atari_env, make_vec_env
from stable_baselines3.common.vec_env import VecEnv, VecFrameStack

from sb3_qwr import QWR
from sb3_qwr.common.buffers import QWRReplayBuffer

RESULTS = Path(__file__).parent / "results" / "speed.jsonl"


class PhaseTimer:
    """Accumulates wall-clock seconds of wrapped callables by phase name."""

    def __init__(self, sync: Callable[[], None]):
        self.seconds: dict[str, float] = defaultdict(float)
        self.sync = sync

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.sync()
            start = time.perf_counter()
            out = fn(*args, **kwargs)
            self.sync()
            self.seconds[name] += time.perf_counter() - start
            return out

        return timed


def make_env(env_id: str, seed: int) -> VecEnv:
    if "NoFrameskip" in env_id:
        import ale_py

        gym.register_envs(ale_py)  # the ALE ids are registered only on request since gymnasium 1.0
        return VecFrameStack(make_atari_env(env_id, n_envs=1, seed=seed), 4)
    return make_vec_env(env_id, n_envs=1, seed=seed)


def build(algo: str, env_id: str, seed: int, device: str, qwr_updates: int) -> BaseAlgorithm:
    env = make_env(env_id, seed)
    atari = "NoFrameskip" in env_id
    if algo == "qwr":
        policy = "CnnPolicy" if atari else "MlpPolicy"
        buffer_size = 10_000 if atari else 50_000
        return QWR(
            policy,
            env,
            n_critic_steps=qwr_updates,
            n_actor_steps=qwr_updates,
            buffer_size=buffer_size,
            seed=seed,
            device=device,
        )
    if algo == "sac":  # rl-zoo3 hyperparams/sac.yml, Hopper-v4
        return SAC("MlpPolicy", env, learning_starts=1000, seed=seed, device=device)
    if algo == "dqn":  # rl-zoo3 hyperparams/dqn.yml, atari
        return DQN(
            "CnnPolicy",
            env,
            buffer_size=10_000,
            learning_rate=1e-4,
            batch_size=32,
            learning_starts=500,
            target_update_interval=1000,
            train_freq=4,
            gradient_steps=1,
            exploration_fraction=0.1,
            exploration_final_eps=0.01,
            optimize_memory_usage=False,
            seed=seed,
            device=device,
        )
    raise ValueError(f"Unknown algorithm {algo!r}")


def instrument(model: QWR) -> PhaseTimer:
    sync = th.cuda.synchronize if model.device.type == "cuda" else (lambda: None)
    timer = PhaseTimer(sync)
    assert isinstance(model.replay_buffer, QWRReplayBuffer)
    env = model.get_env()
    assert env is not None
    env.step = timer.wrap("env_step", env.step)  # type: ignore[method-assign]
    model.replay_buffer.sample = timer.wrap("sample_critic", model.replay_buffer.sample)  # type: ignore[method-assign]
    model.replay_buffer.sample_states = timer.wrap("sample_actor", model.replay_buffer.sample_states)  # type: ignore[method-assign]
    model.critic_target_values = timer.wrap("critic_target", model.critic_target_values)  # type: ignore[method-assign]
    model._train_critic = timer.wrap("critic_phase", model._train_critic)  # type: ignore[method-assign]
    model._train_actor = timer.wrap("actor_phase", model._train_actor)  # type: ignore[method-assign]
    model.collect_rollouts = timer.wrap("collect", model.collect_rollouts)  # type: ignore[method-assign]
    return timer


def time_steps(model: BaseAlgorithm, steps: int) -> float:
    if model.device.type == "cuda":
        th.cuda.synchronize()
    start = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    if model.device.type == "cuda":
        th.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="Hopper-v5")
    parser.add_argument("--baseline", default=None, help="sac (default for Box actions) or dqn (default for Atari)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=2000, help="timed environment steps per repeat and algorithm")
    parser.add_argument("--warmup", type=int, default=1000, help="environment steps before timing")
    parser.add_argument("--qwr-updates", type=int, default=1000, help="QWR critic and actor updates per 1000 steps")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: one core per run, as in benchmarks)")
    args = parser.parse_args()
    th.set_num_threads(args.threads)
    baseline = args.baseline or ("dqn" if "NoFrameskip" in args.env else "sac")

    per_repeat: list[dict[str, float]] = []
    phases_total: dict[str, float] = defaultdict(float)
    for repeat in range(args.repeats):
        row: dict[str, float] = {}
        for algo in ("qwr", baseline) if repeat % 2 == 0 else (baseline, "qwr"):
            model = build(algo, args.env, seed=repeat, device=args.device, qwr_updates=args.qwr_updates)
            model.learn(args.warmup)  # fills the buffer and runs one training phase (steady state from here)
            timer = instrument(model) if isinstance(model, QWR) else None
            seconds = time_steps(model, args.steps)
            row[algo] = seconds * 1000.0 / args.steps
            if timer is not None:
                for name, value in timer.seconds.items():
                    phases_total[name] += value
                # With fewer updates than the paper's 1000 per 1000 steps (CNN on a CPU), scale the measured
                # update phases up to 1000 updates per 1000 steps; collection is already at full size.
                updates = timer.seconds["critic_phase"] + timer.seconds["actor_phase"]
                full = seconds + updates * (1000.0 / args.qwr_updates - 1.0)
                row["qwr_at_1000_updates"] = full * 1000.0 / args.steps
        row["ratio"] = row["qwr"] / row[baseline]
        row["ratio_at_1000_updates"] = row["qwr_at_1000_updates"] / row[baseline]
        per_repeat.append(row)
        name = baseline.upper()
        print(f"repeat {repeat}: QWR {row['qwr']:.1f}, {name} {row[baseline]:.1f} s per 1000 steps, ratio {row['ratio']:.2f}")

    qwr_total = sum(r["qwr"] for r in per_repeat) * args.steps / 1000.0
    shares = {
        "env_step": phases_total["env_step"],
        "buffer_sampling": phases_total["sample_critic"] + phases_total["sample_actor"],
        "critic_target": phases_total["critic_target"],
        "critic_update": phases_total["critic_phase"] - phases_total["critic_target"] - phases_total["sample_critic"],
        "actor_update": phases_total["actor_phase"] - phases_total["sample_actor"],
        "other_collection": phases_total["collect"] - phases_total["env_step"],
    }
    ratios = np.array([r["ratio"] for r in per_repeat])
    record = {
        "env": args.env,
        "baseline": baseline,
        "device": args.device,
        "threads": args.threads,
        "steps": args.steps,
        "qwr_updates_per_1000_steps": args.qwr_updates,
        "per_repeat_seconds_per_1000_steps": per_repeat,
        "ratio_median": float(np.median(ratios)),
        "ratio_at_1000_updates_median": float(np.median([r["ratio_at_1000_updates"] for r in per_repeat])),
        "qwr_time_shares": {k: v / qwr_total for k, v in shares.items()},
        "machine": f"{platform.processor() or platform.machine()}, {th.get_num_threads()} torch thread(s)",
        "cuda": th.cuda.get_device_name() if args.device.startswith("cuda") else None,
        "versions": {"torch": th.__version__, "stable_baselines3": stable_baselines3.__version__},
        "date": time.strftime("%Y-%m-%d"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as f:
        f.write(json.dumps(record) + "\n")

    name = baseline.upper()
    print(f"\n| repeat | QWR s / 1000 steps | {name} s / 1000 steps | QWR / {name} | QWR at 1000 updates | ratio at 1000 |")
    print("| --- | --- | --- | --- | --- | --- |")
    for i, r in enumerate(per_repeat):
        print(
            f"| {i} | {r['qwr']:.1f} | {r[baseline]:.1f} | {r['ratio']:.2f} | {r['qwr_at_1000_updates']:.1f} "
            f"| {r['ratio_at_1000_updates']:.2f} |"
        )
    print(
        f"\nmedian ratio {record['ratio_median']:.2f} ({args.qwr_updates} QWR updates per 1000 steps), "
        f"{record['ratio_at_1000_updates_median']:.2f} scaled to 1000; QWR time shares: "
    )
    for name, share in record["qwr_time_shares"].items():
        print(f"  {name}: {100 * share:.1f}%")


if __name__ == "__main__":
    main()
