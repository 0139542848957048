"""
d3rlpy's offline algorithms (BC, AWAC, IQL, TD3+BC, CQL) on the datasets of ``benchmarks/offline.py``, as the
offline peers of QWR and AWR: same data, same number of gradient steps, same evaluation.

d3rlpy 2.8 pins gymnasium 1.0, so it cannot share our environment: :func:`ensure_venv` gives it a virtualenv of
its own (created once under ``benchmarks/runs/d3rlpy-venv``, with our torch version and ``d3rlpy==2.8.1`` from
the package index), ``benchmarks/d3rlpy_worker.py`` trains there on the dataset exported as ``.npz`` and saves
the greedy policy as TorchScript (observation scaling included), and :func:`run_peer` evaluates that policy here
on the v5 task, exactly as QWR is evaluated (deterministic episodes, the same evaluation seeds).

Gradient steps: a QWR iteration is ``critic_steps`` critic updates then ``actor_steps`` actor updates; a d3rlpy
step updates its critic and its actor once each, so d3rlpy gets ``iterations * max(critic_steps, actor_steps)``
steps (30,000 for the paper's 30 iterations of 1000), batches of 256 (BC: d3rlpy's default of 100). The
settings of each algorithm are in ``benchmarks/d3rlpy_worker.py``; the worker's output goes to ``worker.log``
beside its policy.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th

from benchmarks.lib.records import BENCHMARKS_DIR, RUNS_DIR
from sb3_qwr.offline import OfflineDataset

D3RLPY_VERSION = "2.8.1"
#: Our names of d3rlpy's algorithms, as labels.
PEERS = {"bc": "BC", "awac": "AWAC", "iql": "IQL", "td3plusbc": "TD3+BC", "cql": "CQL"}
DEFAULT_VENV = RUNS_DIR / "d3rlpy-venv"
WORKER = BENCHMARKS_DIR / "d3rlpy_worker.py"


def venv_python(venv: Path) -> Path:
    """:return: The Python interpreter of a virtualenv."""
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(venv: Path = DEFAULT_VENV) -> Path:
    """
    Create d3rlpy's virtualenv once: our torch version (so that the CPU build on disk, or the same CUDA build,
    is reused) and ``d3rlpy==2.8.1`` with its own pins (gymnasium 1.0).

    :param venv: Where the virtualenv lives.
    :return: Its Python interpreter.
    """
    python = venv_python(venv)
    check = [str(python), "-c", f"import d3rlpy; assert d3rlpy.__version__ == {D3RLPY_VERSION!r}"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"Creating d3rlpy's virtualenv in {venv} (once) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    torch_version = th.__version__.split("+")[0]
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, f"torch=={torch_version}"], check=True)
    subprocess.run([*pip, f"d3rlpy=={D3RLPY_VERSION}"], check=True)
    subprocess.run(check, check=True)
    return python


def export_npz(dataset: OfflineDataset, path: Path) -> Path:
    """
    Write a flat-``Box`` offline dataset in the arrays d3rlpy's ``MDPDataset`` takes.

    :param dataset: The dataset (episodes in order, each ending with a termination or a truncation).
    :param path: The ``.npz`` to write (kept when it exists).
    :return: ``path``.
    """
    if path.exists():
        return path
    if not isinstance(dataset.observations, np.ndarray) or dataset.actions is None or dataset.actions.ndim != 2:
        raise ValueError("d3rlpy peers take flat Box observations and Box actions only.")
    assert dataset.rewards is not None and dataset.terminations is not None and dataset.truncations is not None
    terminals = np.asarray(dataset.terminations, dtype=np.float32)
    timeouts = np.asarray(dataset.truncations, dtype=np.float32) * (1.0 - terminals)
    if terminals[-1] + timeouts[-1] == 0:
        raise ValueError("The dataset's last transition ends no episode: d3rlpy needs whole episodes.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(
        tmp,
        observations=dataset.observations.astype(np.float32),
        actions=dataset.actions.astype(np.float32),
        rewards=np.asarray(dataset.rewards, dtype=np.float32),
        terminals=terminals,
        timeouts=timeouts,
    )
    tmp.replace(path)
    return path


def evaluate_torchscript(policy_path: Path, env_id: str, episodes: int, seed: int) -> list[float]:
    """
    Evaluate an exported greedy policy as ``benchmarks/offline.py`` evaluates QWR: one reset with ``seed``, then
    every episode starts from an unseeded reset (the environment's random stream continues, as in SB3's
    ``evaluate_policy``); actions clipped to the bounds.

    :param policy_path: TorchScript policy (observation batch to action batch).
    :param env_id: The task.
    :param episodes: Number of episodes.
    :param seed: Seed of the first reset.
    :return: The episode returns.
    """
    policy = th.jit.load(str(policy_path), map_location="cpu")
    env = gym.make(env_id)
    assert isinstance(env.action_space, gym.spaces.Box)
    low, high = env.action_space.low, env.action_space.high
    returns = []
    env.reset(seed=seed)
    for _ in range(episodes):
        obs, _ = env.reset()
        total, done = 0.0, False
        while not done:
            with th.no_grad():
                action = policy(th.as_tensor(obs, dtype=th.float32)[None]).numpy()[0]
            obs, reward, terminated, truncated, _ = env.step(np.clip(action, low, high))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return returns


def run_record(env_id: str, algo: str, seed: int, returns: list[float], seconds: float) -> dict[str, Any]:
    """
    The record of one offline run, the same for QWR, AWR and d3rlpy's algorithms.

    :param env_id: The task.
    :param algo: The algorithm's name.
    :param seed: Its seed.
    :param returns: The evaluation episodes' returns.
    :param seconds: Training (and evaluation) wall time.
    :return: ``env``, ``algo``, ``seed``, ``return`` (the mean), ``episode_returns``, ``train_seconds``.
    """
    episode_returns = [float(r) for r in returns]
    return {
        "env": env_id,
        "algo": algo,
        "seed": seed,
        "return": float(np.mean(episode_returns)),
        "episode_returns": episode_returns,
        "train_seconds": round(seconds, 1),
    }


def run_peer(
    env_id: str,
    algo: str,
    seed: int,
    dataset: OfflineDataset,
    work_dir: Path,
    steps: int,
    eval_episodes: int,
    eval_seed: int,
    threads: int = 1,
    venv: Path = DEFAULT_VENV,
) -> dict[str, Any]:
    """
    Train one d3rlpy algorithm in its virtualenv and evaluate its policy here.

    :param env_id: The task.
    :param algo: One of :data:`PEERS`.
    :param seed: Seed of d3rlpy.
    :param dataset: The offline dataset.
    :param work_dir: Folder of the exported dataset and the policies.
    :param steps: Gradient steps.
    :param eval_episodes: Deterministic evaluation episodes.
    :param eval_seed: Seed of the first evaluation reset.
    :param threads: Torch CPU threads of the worker.
    :param venv: d3rlpy's virtualenv.
    :return: The result record (``env``, ``algo``, ``seed``, ``return``, ...).
    """
    if algo not in PEERS:
        raise ValueError(f"Unknown d3rlpy algorithm {algo!r}: use one of {sorted(PEERS)}.")
    python = ensure_venv(venv)
    data = export_npz(dataset, work_dir / "dataset.npz")
    out = work_dir / "d3rlpy" / f"{algo}_seed{seed}"
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    command = [str(python), str(WORKER), "--data", str(data), "--algo", algo, "--seed", str(seed)]
    command += ["--steps", str(steps), "--policy", str(out / "policy.pt"), "--record", str(out / "train.json")]
    command += ["--threads", str(threads)]
    done = subprocess.run(command, capture_output=True, text=True)
    (out / "worker.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode != 0:
        raise RuntimeError(f"d3rlpy {algo} failed (exit {done.returncode}); its output:\n{done.stderr[-3000:]}")
    train = json.loads((out / "train.json").read_text(encoding="utf-8"))
    returns = evaluate_torchscript(out / "policy.pt", env_id, eval_episodes, eval_seed)
    record = run_record(env_id, algo, seed, returns, time.perf_counter() - start)
    return record | {"gradient_steps": steps, "batch_size": train["batch_size"], "library": f"d3rlpy {train['d3rlpy']}"}
