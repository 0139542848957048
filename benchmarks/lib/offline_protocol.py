"""
The offline protocol that ``benchmarks/offline.py`` (Figure 3), ``offline_weights.py`` and ``offline_to_online.py``
share: where its records, models and datasets live, how an offline run trains QWR or AWR on a dataset and how it
is scored, and the command-line options of both.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor

from benchmarks.lib.records import BENCHMARKS_DIR, RESULTS_DIR, RUNS_DIR
from benchmarks.lib.seeding import EVAL_SEED_OFFSET
from sb3_qwr import AWR, QWR
from sb3_qwr.offline.buffer import DEFAULT_ACTION_STD

#: The offline runs' records (profiles by name).
DEFAULT_RESULTS = RESULTS_DIR / "offline.json"
#: The file whose tables the offline scripts rewrite when asked (``--results-md``).
DEFAULT_RESULTS_MD = BENCHMARKS_DIR / "RESULTS.md"
#: Behaviour policies, datasets and trained models (ignored by git).
DEFAULT_WORK_DIR = RUNS_DIR / "offline"
#: Where the behaviour policies are saved in an environment's folder: SAC checkpoints trained here, copied models.
BEHAVIOUR_FOLDERS = ("sac", "behaviour")


def algo_classes() -> dict[str, type[QWR] | type[AWR]]:
    """:return: The offline algorithms by name."""
    return {"qwr": QWR, "awr": AWR}


def saved_behaviour_model(env_dir: Path, name: str) -> Path | None:
    """
    :param env_dir: The profile's folder of the environment (``<work dir>/<profile>/<env>``).
    :param name: A behaviour policy's name in the dataset summary (its file's stem).
    :return: The saved model of that policy (a SAC checkpoint or a copied ``--behaviour-models`` entry), if there.
    """
    for folder in BEHAVIOUR_FOLDERS:
        if (path := env_dir / folder / f"{name}.zip").is_file():
            return path
    return None


def model_path(env_dir: Path, algo: str, seed: int, action_std: float | None) -> Path:
    """
    Where an offline run's trained model is kept.

    :param env_dir: The profile's folder of the environment (``<work dir>/<profile>/<env>``).
    :param algo: ``"qwr"`` or ``"awr"``.
    :param seed: Seed of the run.
    :param action_std: The std of mu it was trained with (``None``: the paper's 0.4).
    :return: ``<env_dir>/models/<algo>-std<action_std>-seed<seed>.zip``.
    """
    std = DEFAULT_ACTION_STD if action_std is None else action_std
    return env_dir / "models" / f"{algo}-std{std}-seed{seed}.zip"


def train_offline_model(
    algo: str,
    env_id: str,
    seed: int,
    dataset: Any,
    args: argparse.Namespace,
    action_std: float | None,
    callback: BaseCallback | None = None,
) -> QWR | AWR:
    """
    QWR or AWR as the offline runs train it: Table 4's settings with ``--critic-steps`` and ``--actor-steps`` updates
    per iteration, ``load_dataset(dataset, action_std=action_std)``, then ``learn_offline(--iterations)``.

    :param algo: ``"qwr"`` or ``"awr"``.
    :param env_id: The environment (only its spaces are used).
    :param seed: Seed of the algorithm.
    :param dataset: What ``load_dataset`` accepts.
    :param args: Parsed command line (``critic_steps``, ``actor_steps``, ``iterations``, ``device``).
    :param action_std: Std of mu (``None``: the paper's 0.4).
    :param callback: Called once per iteration (``learn_offline``'s).
    :return: The trained model.
    """
    model = algo_classes()[algo](
        "MlpPolicy",
        gym.make(env_id),
        n_critic_steps=args.critic_steps,
        n_actor_steps=args.actor_steps,
        seed=seed,
        device=args.device,
    )
    model.load_dataset(dataset, action_std=action_std)
    model.learn_offline(args.iterations, callback=callback)
    assert model.num_timesteps == 0, "offline training must not step the environment"
    return model


def evaluate_offline(
    model: QWR | AWR,
    env_id: str,
    seed: int,
    episodes: int,
    callback: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
) -> list[float]:
    """
    The score of an offline run: ``episodes`` deterministic episodes, the evaluation environment reset with
    ``seed + EVAL_SEED_OFFSET``.

    :param model: The trained model.
    :param env_id: The environment.
    :param seed: Seed of the run.
    :param episodes: Number of episodes.
    :param callback: Passed to SB3's ``evaluate_policy`` (called after every step with its locals).
    :return: The episode returns.
    """
    eval_env = Monitor(gym.make(env_id))
    eval_env.reset(seed=seed + EVAL_SEED_OFFSET)
    returns, _ = evaluate_policy(model, eval_env, episodes, deterministic=True, return_episode_rewards=True, callback=callback)
    assert isinstance(returns, list)
    return [float(value) for value in returns]


def mu_std(settings: dict[str, Any]) -> float:
    """:return: The std of mu a profile's QWR runs used (profiles without ``action_std`` used the paper's 0.4)."""
    return float(settings.get("action_std", DEFAULT_ACTION_STD))


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """The offline phase's and the evaluation's options (shared with ``benchmarks/offline_to_online.py``)."""
    parser.add_argument("--iterations", type=int, default=30, help="offline iterations")
    parser.add_argument("--critic-steps", type=int, default=1000, help="critic updates per iteration")
    parser.add_argument("--actor-steps", type=int, default=1000, help="actor updates per iteration")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
