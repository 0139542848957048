"""
Write the reference files of ``tests/test_golden.py`` (run once, with the code whose behaviour they pin down):

* ``golden_run.npz``: every parameter of three short seeded runs (QWR on Pendulum-v1 and CartPole-v1, AWR on
  Pendulum-v1) and the first 200 values of their replay buffers, so that a refactoring that changes the math or
  the random stream fails the test;
* ``<algo>_<version>.zip`` and ``<algo>_<version>_buffer.pkl``: a small model and its replay buffer saved by that
  version of the package (``python tests/data/make_golden.py --saved-only`` from a checkout of it).

Regenerating ``golden_run.npz`` after a change defeats its purpose: only do it for a change that is meant to move
the numbers, and say so in the commit.

    python tests/data/make_golden.py [--saved-only] [--version 0.2.0]
"""

import argparse
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch as th

HERE = Path(__file__).resolve().parent

#: A short run: two training phases of 20 critic and 20 actor updates, two target copies per phase.
SMALL = {
    "buffer_size": 400,
    "batch_size": 16,
    "train_freq": 50,
    "n_critic_steps": 20,
    "n_actor_steps": 20,
    "target_update_interval": 10,
    "policy_kwargs": {"net_arch": [16, 16], "action_embed_dim": 16, "critic_head_arch": [16]},
    "seed": 3,
    "device": "cpu",
}
RUNS = {"qwr_pendulum": ("QWR", "Pendulum-v1"), "qwr_cartpole": ("QWR", "CartPole-v1"), "awr_pendulum": ("AWR", "Pendulum-v1")}


def algorithm(name: str):
    import sb3_qwr

    return getattr(sb3_qwr, name)


def short_run(algo: str, env_id: str):
    """:return: The model after a seeded 100-step run (two training phases)."""
    th.manual_seed(0)
    model = algorithm(algo)("MlpPolicy", gym.make(env_id), **SMALL)
    return model.learn(100)


def run_arrays(model, prefix: str) -> dict[str, np.ndarray]:
    arrays = {f"{prefix}/policy/{key}": value.detach().numpy().copy() for key, value in model.policy.state_dict().items()}
    buffer = model.replay_buffer
    stored_mu = buffer.mu if hasattr(buffer, "mu") else buffer.dist_params
    arrays[f"{prefix}/buffer/mu"] = stored_mu[:100].copy()
    arrays[f"{prefix}/buffer/actions"] = buffer.actions[:100].copy()
    arrays[f"{prefix}/buffer/rewards"] = buffer.rewards[:100].copy()
    return arrays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--saved-only", action="store_true", help="only the saved model and buffer files")
    parser.add_argument("--version", default=None, help="version in the saved files' names (default: the package's)")
    args = parser.parse_args()
    import sb3_qwr

    version = (args.version or sb3_qwr.__version__).replace(".", "_")
    for algo, env_id in (("QWR", "Pendulum-v1"), ("AWR", "CartPole-v1")):
        model = algorithm(algo)("MlpPolicy", gym.make(env_id), **{**SMALL, "buffer_size": 120, "train_freq": 60})
        model.learn(120)
        model.save(HERE / f"{algo.lower()}_v{version}.zip")
        model.save_replay_buffer(HERE / f"{algo.lower()}_v{version}_buffer.pkl")
    if args.saved_only:
        return
    arrays: dict[str, np.ndarray] = {}
    for prefix, (algo, env_id) in RUNS.items():
        arrays.update(run_arrays(short_run(algo, env_id), prefix))
    np.savez_compressed(HERE / "golden_run.npz", **arrays)


if __name__ == "__main__":
    main()
