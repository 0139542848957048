"""
Offline training (Section 4.4 of the QWR paper): :class:`OfflineTrainingMixin` gives a weighted-regression
algorithm ``load_dataset`` (a fixed dataset into a replay buffer, with the paper's ``mu`` around each action) and
``learn_offline`` (training phases without environment interaction).
"""

import time
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from stable_baselines3.common import utils
from stable_baselines3.common.callbacks import BaseCallback, ConvertCallback, ProgressBarCallback
from stable_baselines3.common.type_aliases import MaybeCallback

from sb3_qwr.common.checks import check_finite, check_positive
from sb3_qwr.common.policies import DEFAULT_ACTION_STD, DEFAULT_DISCRETE_EPSILON, FixedStdGaussian
from sb3_qwr.offline.buffer import make_replay_buffer
from sb3_qwr.offline.dataset import OfflineDataset
from sb3_qwr.offline.loaders import as_offline_dataset

try:
    from tqdm.rich import tqdm
except ImportError:  # pragma: no cover - tqdm and rich are dependencies
    tqdm = None

if TYPE_CHECKING:
    from sb3_qwr.common.base_class import WeightedRegressionAlgorithm

    _Base = WeightedRegressionAlgorithm
else:
    _Base = object

SelfOffline = TypeVar("SelfOffline", bound="OfflineTrainingMixin")


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


class OfflineTrainingMixin(_Base):
    """
    Offline training for a :class:`~sb3_qwr.common.base_class.WeightedRegressionAlgorithm` (QWR and AWR list it
    before their base): :meth:`load_dataset` then :meth:`learn_offline`. Each offline iteration is one online
    training phase (``train``) on the dataset's buffer.
    """

    _offline_iteration: int

    def load_dataset(
        self,
        dataset: Any,
        buffer_size: int | None = None,
        action_std: float | None = None,
        discrete_epsilon: float = DEFAULT_DISCRETE_EPSILON,
        minari_root: str | None = None,
        trusted: bool = False,
    ) -> OfflineDataset:
        """
        Validate a fixed dataset and replace the replay buffer by one holding it, for :meth:`learn_offline`.

        The dataset is checked against the model's spaces before anything is replaced (a ``ValueError`` names
        the malformed field). Each transition gets the paper's sampling policy ``mu`` (Section 4.4): a Gaussian
        centered on the dataset action (in SB3's normalized ``[-1, 1]`` units) with std ``action_std`` for ``Box``
        actions; for ``Discrete`` actions the smoothed one-hot ``(1 - eps) * onehot(a) + eps / n`` (see
        :func:`sb3_qwr.offline.buffer.dataset_mu`). The new buffer has one env column: to continue online
        afterwards, use a single environment.

        :param dataset: An :class:`~sb3_qwr.offline.OfflineDataset`; a path to an ``.npz`` file of arrays
            (``observations``, ``actions``, ``rewards``, ``terminations``, ``truncations``), to a replay buffer
            saved with ``save_replay_buffer`` (e.g. SAC's ``.pkl``) or to a Minari dataset directory; a Minari
            dataset id; a ``minari.MinariDataset``; or an SB3 replay buffer.
        :param buffer_size: Capacity of the new replay buffer; ``None`` sizes it to the dataset (a smaller one
            keeps the last transitions).
        :param action_std: Std of ``mu`` for ``Box`` actions; ``None`` uses the actor's fixed std (the paper's 0.4
            by default). mu stands for the policy that collected the data: Q is learned for mu and the actor
            regresses on ``k`` actions sampled from it around each dataset action. Keep the paper's 0.4 even when
            the data was collected with less noise (measured: ``docs/qwr.md``, "Offline").
        :param discrete_epsilon: Smoothing ``eps`` of ``mu`` for ``Discrete`` actions, in ``(0, 1)``.
        :param minari_root: Directory of the local Minari datasets to look a dataset id up in (default:
            ``MINARI_DATASETS_PATH`` or ``~/.minari/datasets``).
        :param trusted: For a saved replay buffer (a pickle): unpickle it as SB3 does, which runs whatever code
            the file names. By default such a file may only name the classes replay buffers are made of, and
            anything else raises ``sb3_qwr.offline.UntrustedPickleError`` before it runs. ``.npz`` files and
            Minari datasets never run code.
        :return: The loaded dataset.
        """
        if action_std is not None:
            check_positive("action_std", action_std, "the std of mu around each dataset action")
        if not 0.0 < check_finite("discrete_epsilon", discrete_epsilon) < 1.0:
            raise ValueError(f"`discrete_epsilon` must be in (0, 1), got {discrete_epsilon!r}.")
        offline_dataset = as_offline_dataset(dataset, minari_root=minari_root, trusted=trusted)
        distribution = self.actor.distribution
        mu_std: float | np.ndarray = distribution.std if isinstance(distribution, FixedStdGaussian) else DEFAULT_ACTION_STD
        self.replay_buffer = make_replay_buffer(
            offline_dataset,
            self.observation_space,
            self.action_space,
            buffer_size=buffer_size,
            n_step_horizon=self.n_step_horizon,
            device=self.device,
            action_std=mu_std if action_std is None else action_std,
            discrete_epsilon=discrete_epsilon,
            replay_buffer_class=self.replay_buffer_class,  # type: ignore[arg-type]
            replay_buffer_kwargs=self.replay_buffer_kwargs,
        )
        return offline_dataset

    def learn_offline(
        self: SelfOffline,
        n_iterations: int = 30,
        callback: MaybeCallback = None,
        log_interval: int = 1,
        progress_bar: bool = False,
        tb_log_name: str | None = None,
        reset_num_timesteps: bool = True,
    ) -> SelfOffline:
        """
        Train on the replay buffer filled by :meth:`load_dataset`, without any environment interaction
        (Section 4.4: 30 iterations). Each iteration is one online training phase, ``self.train(1,
        self.batch_size)``: ``n_critic_steps`` critic updates then ``n_actor_steps`` actor updates. The
        environment is never stepped (nor reset); ``num_timesteps`` does not grow.

        Each iteration records ``offline/iteration`` besides the ``train/*`` values of ``train`` and dumps the
        logs at that iteration, then calls the callbacks once (an ``EvalCallback`` with ``eval_freq=1``
        evaluates after every iteration; its own logs are dumped at ``num_timesteps``).

        :param n_iterations: Number of training iterations.
        :param callback: Callback(s) called once per iteration; returning ``False`` stops the training.
        :param log_interval: Dump the logs every ``log_interval`` iterations.
        :param progress_bar: Display a progress bar over the iterations using tqdm and rich.
        :param tb_log_name: The name of the run for TensorBoard logging (default ``<Algorithm>_offline``).
        :param reset_num_timesteps: Whether to count the iterations from 0 in a new TensorBoard run (and reset
            ``num_timesteps``, as ``learn`` does) or to continue.
        :return: The trained model.
        """
        if isinstance(n_iterations, (bool, np.bool_)) or not isinstance(n_iterations, (int, np.integer)) or n_iterations < 0:
            raise ValueError(f"`n_iterations` must be an integer >= 0, got {n_iterations!r}.")
        if log_interval < 1:
            raise ValueError(f"`log_interval` must be >= 1, got {log_interval}.")
        if self._updates_per_interaction:
            raise ValueError(
                "n_critic_steps=-1 / n_actor_steps=-1 count updates per interaction collected, and offline training "
                "collects none: set them to numbers (model.n_critic_steps = model.n_actor_steps = 1000, the paper's)."
            )
        buffer = self.replay_buffer
        if buffer is None or buffer.size() == 0:
            raise ValueError("The replay buffer is empty: call model.load_dataset(...) before model.learn_offline(...).")
        if tb_log_name is None:
            tb_log_name = f"{type(self).__name__}_offline"

        start_time = time.time_ns()
        if reset_num_timesteps or not hasattr(self, "_offline_iteration"):
            self._offline_iteration = 0
        if reset_num_timesteps:
            self.num_timesteps = 0
            self._episode_num = 0
        if not self._custom_logger:
            self._logger = utils.configure_logger(self.verbose, self.tensorboard_log, tb_log_name, reset_num_timesteps)
        if progress_bar:  # SB3's progress bar counts environment steps: one over the iterations instead
            items = (
                callback
                if isinstance(callback, list)
                else [callback if isinstance(callback, BaseCallback) else ConvertCallback(callback)]
            )
            callback = [*items, OfflineProgressBarCallback(n_iterations)]
        callback = self._init_callback(callback)

        callback.on_training_start(locals(), globals())
        for iteration in range(n_iterations):
            # Learning rate schedules see the progress through the offline iterations.
            self._current_progress_remaining = 1.0 - iteration / max(n_iterations, 1)
            self.train(1, self.batch_size)
            self._offline_iteration += 1
            step = self._offline_iteration
            if (iteration + 1) % log_interval == 0 or iteration + 1 == n_iterations:
                elapsed = max((time.time_ns() - start_time) / 1e9, 1e-9)
                self.logger.record("offline/iteration", step)
                self.logger.record("offline/n_transitions", buffer.size() * buffer.n_envs)
                self.logger.record("time/time_elapsed", int(elapsed), exclude="tensorboard")
                self.logger.dump(step=step)
            callback.update_locals(locals())
            if not callback.on_step():
                break
        callback.on_training_end()
        return self
