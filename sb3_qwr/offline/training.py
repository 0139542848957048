"""
Offline training of QWR (Section 4.4): the implementations behind ``QWR.load_dataset`` and
``QWR.learn_offline``.
"""

import time
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3.common import utils
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, ConvertCallback, ProgressBarCallback
from stable_baselines3.common.type_aliases import MaybeCallback

from sb3_qwr.distributions import FixedStdGaussian
from sb3_qwr.offline.buffer import DEFAULT_ACTION_STD, DEFAULT_DISCRETE_EPSILON, make_replay_buffer
from sb3_qwr.offline.dataset import OfflineDataset
from sb3_qwr.offline.loaders import PathLike, as_offline_dataset

if TYPE_CHECKING:
    from sb3_qwr.qwr import QWR

try:
    from tqdm.rich import tqdm
except ImportError:  # pragma: no cover - tqdm and rich are dependencies
    tqdm = None


class OfflineProgressBarCallback(ProgressBarCallback):
    """
    A tqdm/rich progress bar over offline training iterations (SB3's ``ProgressBarCallback`` counts
    environment steps, which offline training does not take).

    :param n_iterations: Number of iterations of the bar.
    """

    def __init__(self, n_iterations: int):
        super().__init__()
        self.n_iterations = n_iterations

    def _on_training_start(self) -> None:
        self.pbar = tqdm(total=self.n_iterations)

    def _on_step(self) -> bool:
        self.pbar.update(1)
        return True


class SpacesOnlyEnv(gym.Env):
    """
    An environment that only has spaces, for building a model that trains offline when the simulator is not
    at hand: ``reset`` returns a sample of the observation space, ``step`` raises.

    Evaluation needs a real environment (e.g. ``evaluate_policy(model, real_env)``).

    :param observation_space: Observation space of the dataset.
    :param action_space: Action space of the dataset (``Box`` or ``Discrete``).
    """

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space):
        super().__init__()
        self.observation_space = observation_space
        self.action_space = action_space

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self.observation_space.seed(seed)
        return self.observation_space.sample(), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        raise RuntimeError("SpacesOnlyEnv cannot be stepped: it only carries the spaces of an offline dataset.")


def load_dataset_into(
    model: "QWR",
    dataset: Any,
    buffer_size: int | None = None,
    action_std: float | None = None,
    discrete_epsilon: float = DEFAULT_DISCRETE_EPSILON,
    minari_root: PathLike | None = None,
) -> OfflineDataset:
    """
    Validate a dataset against the model's spaces and replace the model's replay buffer by a new one filled
    from it (see ``QWR.load_dataset``).

    :param model: A QWR (or AWR) model.
    :param dataset: Any source accepted by :func:`~sb3_qwr.offline.as_offline_dataset`.
    :param buffer_size: Capacity of the new buffer; ``None`` sizes it to the dataset.
    :param action_std: Std of ``mu`` for ``Box`` actions in normalized units; ``None`` takes the actor's fixed
        std (0.4 by default, the paper's value).
    :param discrete_epsilon: Smoothing of ``mu`` for ``Discrete`` actions.
    :param minari_root: Directory of local Minari datasets, for a dataset id.
    :return: The dataset (as loaded, before next observations are derived).
    """
    offline_dataset = as_offline_dataset(dataset, minari_root=minari_root)
    if action_std is None:
        distribution = model.actor.distribution
        action_std = distribution.std if isinstance(distribution, FixedStdGaussian) else DEFAULT_ACTION_STD
    model.replay_buffer = make_replay_buffer(
        offline_dataset,
        model.observation_space,
        model.action_space,
        buffer_size=buffer_size,
        n_steps=model.n_step_horizon,
        device=model.device,
        action_std=action_std,
        discrete_epsilon=discrete_epsilon,
        replay_buffer_class=model.replay_buffer_class,  # type: ignore[arg-type]
        replay_buffer_kwargs=model.replay_buffer_kwargs,
    )
    return offline_dataset


def train_offline(
    model: "QWR",
    n_iterations: int = 30,
    callback: MaybeCallback = None,
    log_interval: int = 1,
    progress_bar: bool = False,
    tb_log_name: str = "QWR_offline",
    reset_num_timesteps: bool = True,
) -> "QWR":
    """
    Train on the replay buffer only, never stepping the environment (see ``QWR.learn_offline``).

    :param model: A QWR (or AWR) model whose replay buffer holds the dataset.
    :param n_iterations: Number of iterations, each one ``model.train(1, model.batch_size)``.
    :param callback: Callback(s) called once per iteration, after the training phase.
    :param log_interval: Dump the logs every ``log_interval`` iterations.
    :param progress_bar: Show a tqdm/rich progress bar over the iterations.
    :param tb_log_name: Name of the TensorBoard run.
    :param reset_num_timesteps: Start a new TensorBoard run and count iterations from 0 (SB3's meaning); also
        resets ``num_timesteps`` as SB3's ``learn`` does.
    :return: The model.
    """
    if not isinstance(n_iterations, int | np.integer) or n_iterations < 0:
        raise ValueError(f"`n_iterations` must be an integer >= 0, got {n_iterations!r}.")
    if log_interval < 1:
        raise ValueError(f"`log_interval` must be >= 1, got {log_interval}.")
    buffer = model.replay_buffer
    if buffer is None or buffer.size() == 0:
        raise ValueError("The replay buffer is empty: call model.load_dataset(...) before model.learn_offline(...).")

    start_time = time.time_ns()
    if reset_num_timesteps or not hasattr(model, "_offline_iteration"):
        model._offline_iteration = 0  # type: ignore[attr-defined]
    if reset_num_timesteps:
        model.num_timesteps = 0
        model._episode_num = 0
    if not model._custom_logger:
        model._logger = utils.configure_logger(model.verbose, model.tensorboard_log, tb_log_name, reset_num_timesteps)
    if isinstance(callback, list):
        callback = CallbackList(callback)
    if not isinstance(callback, BaseCallback):
        callback = ConvertCallback(callback)
    if progress_bar:
        callback = CallbackList([callback, OfflineProgressBarCallback(n_iterations)])
    callback.init_callback(model)

    callback.on_training_start(locals(), globals())
    for iteration in range(n_iterations):
        # Learning rate schedules see the progress through the offline iterations.
        model._current_progress_remaining = 1.0 - iteration / max(n_iterations, 1)
        model.train(1, model.batch_size)
        model._offline_iteration += 1  # type: ignore[attr-defined]
        step = model._offline_iteration  # type: ignore[attr-defined]
        if (iteration + 1) % log_interval == 0 or iteration + 1 == n_iterations:
            elapsed = max((time.time_ns() - start_time) / 1e9, 1e-9)
            model.logger.record("offline/iteration", step)
            model.logger.record("offline/n_transitions", buffer.size() * buffer.n_envs)
            model.logger.record("time/time_elapsed", int(elapsed), exclude="tensorboard")
            model.logger.dump(step=step)
        callback.update_locals(locals())
        if not callback.on_step():
            break
    callback.on_training_end()
    return model
