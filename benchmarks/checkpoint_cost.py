"""
What an exact checkpoint (:mod:`sb3_qwr.resume`) costs with QWR's full replay buffer: its size, the seconds to write
it (atomically, fsync included) and to read it back (``resume``), and the share of training time that writing it
every ``--save-freq`` steps takes, against QWR's own seconds per 1000 steps measured by ``benchmarks.speed`` on the
same machine (the latest record of the environment in ``benchmarks/results/speed.jsonl``; Atari at the paper's
1000 + 1000 updates).

The buffer is filled to its capacity (50K transitions, Table 4) with random contents of the right dtype: a
checkpoint is stored uncompressed, so its size and write time do not depend on what the buffer holds.

    python -m benchmarks.checkpoint_cost --envs Hopper-v5 PongNoFrameskip-v4 --repeats 3

Results are printed and appended to ``benchmarks/results/checkpoint_cost.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import ale_py
import gymnasium as gym
import numpy as np
from stable_baselines3.common.env_util import make_atari_env, make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecFrameStack

from benchmarks.lib.records import RESULTS_DIR, append_jsonl, provenance
from sb3_qwr import QWR
from sb3_qwr.resume import resume, save_checkpoint

RESULTS = RESULTS_DIR / "checkpoint_cost.jsonl"
SPEED = RESULTS_DIR / "speed.jsonl"


def make_env(env_id: str) -> VecEnv:
    """
    :param env_id: A MuJoCo id or an Atari ``*NoFrameskip-v4`` id.
    :return: The environment as the Zoo builds it (Atari: its wrappers and 4 stacked frames).
    """
    if "NoFrameskip" in env_id:
        gym.register_envs(ale_py)
        return VecFrameStack(make_atari_env(env_id, n_envs=1, seed=0), n_stack=4)
    return make_vec_env(env_id, n_envs=1, seed=0, vec_env_cls=DummyVecEnv)


def fill_buffer(model: QWR, seed: int = 0) -> int:
    """
    :param model: A QWR model.
    :param seed: Seed of the random contents.
    :return: Bytes of the buffer's arrays, now full.
    """
    buffer, rng = model.replay_buffer, np.random.default_rng(seed)
    total = 0
    for value in vars(buffer).values():
        if isinstance(value, np.ndarray) and value.size:
            if value.dtype == np.uint8:
                value[...] = rng.integers(0, 256, size=value.shape, dtype=np.uint8)
            elif value.dtype.kind == "f":
                value[...] = rng.standard_normal(size=value.shape, dtype=np.float32)
            total += value.nbytes
    buffer.full, buffer.pos = True, 0
    return total


def training_seconds_per_1000(env_id: str) -> float | None:
    """:return: QWR's seconds per 1000 steps at one thread with 1000 + 1000 updates, from the latest speed record."""
    if not SPEED.is_file():
        return None
    found = None
    for line in SPEED.read_text().splitlines():
        record = json.loads(line)
        if record.get("env") != env_id or record.get("threads") != 1 or record.get("device") != "cpu":
            continue
        repeats = record["per_repeat_seconds_per_1000_steps"]
        key = "qwr_at_1000_updates" if "qwr_at_1000_updates" in repeats[0] else "qwr"
        found = statistics.median(float(repeat[key]) for repeat in repeats if key in repeat)
    return found


def measure(env_id: str, repeats: int, save_freq: int, folder: Path) -> dict[str, Any]:
    """
    :param env_id: Environment id.
    :param repeats: Writes timed.
    :param save_freq: Steps between two checkpoints, for the share of training time.
    :param folder: Where the checkpoints are written.
    :return: The record.
    """
    policy = "CnnPolicy" if "NoFrameskip" in env_id else "MlpPolicy"
    model = QWR(policy, make_env(env_id), seed=0)
    buffer_bytes = fill_buffer(model)
    path = folder / f"{env_id}.zip"
    writes = []
    for _ in range(repeats):
        start = time.perf_counter()
        save_checkpoint(model, path)
        writes.append(time.perf_counter() - start)
    size = path.stat().st_size
    del model
    start = time.perf_counter()
    resumed = resume(path, make_env(env_id), algorithm=QWR)
    read_s = time.perf_counter() - start
    assert isinstance(resumed, QWR)
    assert resumed.replay_buffer.full
    per_1000 = training_seconds_per_1000(env_id)
    write_s = statistics.median(writes)
    share = None if per_1000 is None else write_s / (per_1000 * save_freq / 1000)
    return {
        "env": env_id,
        "buffer_size": int(resumed.replay_buffer.buffer_size),
        "buffer_mib": buffer_bytes / 2**20,
        "checkpoint_mib": size / 2**20,
        "write_s": writes,
        "write_s_median": write_s,
        "read_s": read_s,
        "save_freq": save_freq,
        "train_s_per_1000_steps": per_1000,
        "write_share_of_training": share,
        **provenance(),
    }


def main(argv: list[str] | None = None) -> None:
    """
    :param argv: Command-line arguments (``sys.argv[1:]`` when ``None``).
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", nargs="+", default=["Hopper-v5", "PongNoFrameskip-v4"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--save-freq", type=int, default=10_000, help="steps between checkpoints (the suites' eval_freq)")
    parser.add_argument("--folder", type=Path, default=None, help="where to write (default: a temporary folder)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        for env_id in args.envs:
            record = measure(env_id, args.repeats, args.save_freq, Path(folder))
            append_jsonl(RESULTS, record)
            share = record["write_share_of_training"]
            print(
                f"{env_id}: buffer {record['buffer_size']} ({record['buffer_mib']:.0f} MiB), checkpoint "
                f"{record['checkpoint_mib']:.1f} MiB, write {record['write_s_median']:.2f} s, read {record['read_s']:.2f} s"
                + ("" if share is None else f", {100 * share:.2f}% of training at one every {args.save_freq} steps"),
                flush=True,
            )


if __name__ == "__main__":
    main()
