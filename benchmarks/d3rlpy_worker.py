"""
Train one d3rlpy algorithm on an exported offline dataset and save its greedy policy as TorchScript.

This file runs inside d3rlpy's own virtualenv (d3rlpy 2.8 pins gymnasium 1.0, which our environment does not
share): it imports only the standard library, numpy and d3rlpy, never ``sb3_qwr`` or ``benchmarks``. It is
started by ``benchmarks/lib/offline_peers.py``, which also evaluates the exported policy in our environment, with the
same evaluation as QWR's.

Usage (from ``lib/offline_peers.py``)::

    <d3rlpy venv>/bin/python benchmarks/d3rlpy_worker.py --data dataset.npz --algo iql --seed 0 \\
        --steps 30000 --policy out/policy.pt --record out/train.json
"""

import argparse
import json
import time
from typing import Any

import d3rlpy
import numpy as np

#: The algorithms and their settings: d3rlpy's defaults, plus what d3rlpy's own reproduction scripts of each
#: paper set (observation standardization for TD3+BC, the return-based reward scale of IQL); AWAC's batch is
#: 256 like everyone else's instead of its default 1024 (4x the compute per step; 30K steps would take about an
#: hour on one core here). CQL is available but not in the default set: about 0.25 s per step on one core.
ALGOS = ("bc", "awac", "iql", "td3plusbc", "cql")


def make_algo(name: str, device: str) -> Any:
    """
    :param name: One of :data:`ALGOS`.
    :param device: Torch device for d3rlpy (``"cpu:0"``, ``"cuda:0"``).
    :return: The d3rlpy algorithm, not built yet.
    """
    if name == "bc":
        return d3rlpy.algos.BCConfig().create(device=device)
    if name == "awac":
        return d3rlpy.algos.AWACConfig(batch_size=256).create(device=device)
    if name == "iql":
        return d3rlpy.algos.IQLConfig(
            reward_scaler=d3rlpy.preprocessing.ReturnBasedRewardScaler(multiplier=1000.0),
        ).create(device=device)
    if name == "td3plusbc":
        return d3rlpy.algos.TD3PlusBCConfig(
            observation_scaler=d3rlpy.preprocessing.StandardObservationScaler(),
        ).create(device=device)
    if name == "cql":
        return d3rlpy.algos.CQLConfig().create(device=device)
    raise ValueError(f"Unknown d3rlpy algorithm {name!r}: use one of {ALGOS}.")


def load_dataset(path: str) -> Any:
    """
    :param path: ``.npz`` with ``observations``, ``actions``, ``rewards``, ``terminals`` and ``timeouts`` (one row
        per transition, episodes in order, each ending with a terminal or a timeout).
    :return: A d3rlpy ``MDPDataset``.
    """
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in ("observations", "actions", "rewards", "terminals", "timeouts")}
    return d3rlpy.dataset.MDPDataset(
        observations=arrays["observations"].astype(np.float32),
        actions=arrays["actions"].astype(np.float32),
        rewards=arrays["rewards"].astype(np.float32),
        terminals=arrays["terminals"].astype(np.float32),
        timeouts=arrays["timeouts"].astype(np.float32),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="the exported dataset (.npz)")
    parser.add_argument("--algo", required=True, choices=ALGOS)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--steps", type=int, required=True, help="gradient steps")
    parser.add_argument("--policy", required=True, help="where to save the greedy policy (TorchScript .pt)")
    parser.add_argument("--record", required=True, help="where to write the training record (.json)")
    parser.add_argument("--device", default="cpu:0")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    d3rlpy.seed(args.seed)
    dataset = load_dataset(args.data)
    algo = make_algo(args.algo, args.device)
    start = time.perf_counter()
    algo.fit(
        dataset,
        n_steps=args.steps,
        n_steps_per_epoch=args.steps,
        logger_adapter=d3rlpy.logging.NoopAdapterFactory(),
        show_progress=False,
        save_interval=args.steps + 1,
    )
    seconds = time.perf_counter() - start
    algo.save_policy(args.policy)
    record = {
        "d3rlpy": d3rlpy.__version__,
        "torch": torch.__version__,
        "algo": args.algo,
        "seed": args.seed,
        "steps": args.steps,
        "batch_size": algo.config.batch_size,
        "train_seconds": round(seconds, 1),
    }
    with open(args.record, "w", encoding="utf-8") as f:
        json.dump(record, f, indent=1)


if __name__ == "__main__":
    main()
