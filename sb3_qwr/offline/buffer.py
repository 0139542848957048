"""
The sampling policy ``mu`` of a dataset, and a weighted-regression replay buffer filled from an :class:`OfflineDataset`.

A dataset has no record of the distribution its actions were drawn from, but QWR's critic backup and actor
both sample actions from the stored ``mu(.|s)``. Section 4.4 of the paper sets ``mu`` to "Gaussians with mean at
the performed action and standard deviation set to 0.4, same as in Peng et al. (2019)": for ``Box`` actions,
the mean is the dataset action rescaled to SB3's normalized ``[-1, 1]`` units (the units of QWR's actor) and
the std is 0.4 there. For ``Discrete`` actions the paper has no offline experiment; see
:func:`dataset_mu` for the choice made here (a smoothed one-hot, ``eps`` = 0.01).
"""

import warnings

import numpy as np
import torch as th
from gymnasium import spaces

from sb3_qwr.common.buffers import DictWeightedRegressionReplayBuffer, WeightedRegressionReplayBuffer
from sb3_qwr.common.policies import DEFAULT_ACTION_STD, DEFAULT_DISCRETE_EPSILON, centered_mu
from sb3_qwr.offline.actions import normalize_box_actions
from sb3_qwr.offline.dataset import OfflineDataset


def dataset_mu(
    actions: np.ndarray,
    action_space: spaces.Space,
    action_std: float | np.ndarray = DEFAULT_ACTION_STD,
    discrete_epsilon: float = DEFAULT_DISCRETE_EPSILON,
) -> np.ndarray:
    """
    The parameters of the sampling policy ``mu(.|s)`` assigned to each dataset action, in the layout of
    :mod:`sb3_qwr.common.policies` (what QWR's replay buffer stores).

    * ``Box`` (the paper, Section 4.4): a Gaussian centered on the dataset action, rescaled to ``[-1, 1]``, with
      std ``action_std`` (0.4) in those units. Parameters ``[mean, std]``.
    * ``Discrete`` (not in the paper; chosen here): the smoothed one-hot distribution
      ``mu = (1 - eps) * onehot(a) + eps / n``, stored as the logits ``log(mu)``, with a small ``eps``
      (default 0.01). It plays the role of the paper's narrow Gaussian: almost all the mass is on the action
      that was taken, so the critic's backup and the actor's regression stay on the data, while every action
      keeps a little mass. With it, QWR's discrete actor update ``-sum_a mu(a|s) w(s, a) log pi(a|s)`` is a
      weighted behaviour cloning of the dataset action whose weight comes from the critic's advantage
      ``Q(s, a) - sum_b mu(b|s) Q(s, b)``, proportional to ``eps`` but normalized over the batch, so it ranks
      the dataset action against the others; the ``eps / n`` terms let the critic move some probability to
      an action it rates higher. ``eps`` must stay small: the critic's values of actions the dataset never
      shows in a state are extrapolations, and a large ``eps`` lets them drive the backup and the weights
      (measured on CartPole-v1: ``docs/qwr.md``, "Offline"). ``eps > 0`` keeps every logit finite and every
      action in the support of the ``"max"`` backup.

    :param actions: ``(N, *action_shape)`` actions in the environment's units (``Box`` bounds, or integers of
        the ``Discrete``).
    :param action_space: ``Box`` or ``Discrete``.
    :param action_std: Std of the Gaussian in normalized units (``Box``).
    :param discrete_epsilon: Smoothing ``eps`` in ``(0, 1)`` (``Discrete``).
    :return: ``(N, P)`` float32 parameters.
    """
    actions = np.asarray(actions)
    if isinstance(action_space, spaces.Box):
        actions = normalize_box_actions(actions, action_space)
    elif isinstance(action_space, spaces.Discrete):
        actions = actions.reshape(len(actions)).astype(np.int64) - int(action_space.start)
    return centered_mu(actions, action_space, action_std, discrete_epsilon)


def make_replay_buffer(
    dataset: OfflineDataset,
    observation_space: spaces.Space,
    action_space: spaces.Space,
    buffer_size: int | None = None,
    n_step_horizon: int = 3,
    device: th.device | str = "auto",
    action_std: float | np.ndarray = DEFAULT_ACTION_STD,
    discrete_epsilon: float = DEFAULT_DISCRETE_EPSILON,
    replay_buffer_class: type[WeightedRegressionReplayBuffer] | type[DictWeightedRegressionReplayBuffer] | None = None,
    replay_buffer_kwargs: dict | None = None,
) -> WeightedRegressionReplayBuffer | DictWeightedRegressionReplayBuffer:
    """
    Validate ``dataset`` and return a new weighted-regression replay buffer (one env column) holding it, with ``mu`` from
    :func:`dataset_mu`.

    :param dataset: The dataset.
    :param observation_space: Observation space of the model.
    :param action_space: Action space of the model.
    :param buffer_size: Capacity; ``None`` sizes the buffer to the dataset. A smaller capacity keeps the last
        ``buffer_size`` transitions (with a warning), as a replay buffer filled in order would.
    :param n_step_horizon: Horizon ``T`` of the multi-step targets (the model's).
    :param device: PyTorch device of the sampled batches.
    :param action_std: Std of ``mu`` for ``Box`` actions, in normalized units (paper: 0.4).
    :param discrete_epsilon: Smoothing of ``mu`` for ``Discrete`` actions.
    :param replay_buffer_class: ``WeightedRegressionReplayBuffer`` / ``DictWeightedRegressionReplayBuffer`` or a
        subclass; ``None`` picks one for the observation space.
    :param replay_buffer_kwargs: Further keyword arguments of the buffer (``n_step_horizon`` and ``n_envs`` excluded).
    :return: The filled buffer.
    """
    dataset.validate(observation_space, action_space)
    full = dataset.with_next_observations()
    n_transitions = len(full)
    if n_transitions == 0:
        raise ValueError(
            "OfflineDataset: no transition is left once the truncated episode ends without a next observation "
            "are dropped; give next_observations."
        )
    size = n_transitions if buffer_size is None else int(buffer_size)
    if size < 1:
        raise ValueError(f"`buffer_size` must be >= 1 or None, got {buffer_size}.")
    if replay_buffer_class is None:
        replay_buffer_class = (
            DictWeightedRegressionReplayBuffer
            if isinstance(observation_space, spaces.Dict)
            else WeightedRegressionReplayBuffer
        )
    kwargs = {key: value for key, value in (replay_buffer_kwargs or {}).items() if key not in ("n_step_horizon", "n_envs")}
    buffer = replay_buffer_class(
        size,
        observation_space,  # type: ignore[arg-type]
        action_space,
        device=device,
        n_envs=1,
        n_step_horizon=n_step_horizon,
        **kwargs,
    )
    fill_replay_buffer(buffer, full, action_std=action_std, discrete_epsilon=discrete_epsilon)
    return buffer


def fill_replay_buffer(
    buffer: WeightedRegressionReplayBuffer | DictWeightedRegressionReplayBuffer,
    dataset: OfflineDataset,
    action_std: float | np.ndarray = DEFAULT_ACTION_STD,
    discrete_epsilon: float = DEFAULT_DISCRETE_EPSILON,
) -> None:
    """
    Overwrite an empty-or-not, single-env weighted-regression replay buffer with a dataset, as if its steps had been added in
    order (SB3's ``add``): observations, next observations, actions (``Box``: rescaled to ``[-1, 1]``),
    rewards, ``dones`` (termination or truncation), ``timeouts`` (truncation without termination) and ``mu``.

    The dataset must be valid for the buffer's spaces (see :meth:`OfflineDataset.validate`).

    :param buffer: A weighted-regression replay buffer with ``n_envs == 1``.
    :param dataset: The dataset; when it has no ``next_observations`` they are derived with
        :meth:`OfflineDataset.with_next_observations`.
    :param action_std: Std of ``mu`` for ``Box`` actions, in normalized units (paper: 0.4).
    :param discrete_epsilon: Smoothing of ``mu`` for ``Discrete`` actions.
    """
    if buffer.n_envs != 1:
        raise ValueError(f"An offline dataset fills a buffer with one env column, this one has n_envs={buffer.n_envs}.")
    full = dataset.with_next_observations()
    assert full.actions is not None and full.rewards is not None
    assert full.terminations is not None and full.truncations is not None
    n_transitions = len(full)
    size = buffer.buffer_size
    if n_transitions > size:
        warnings.warn(
            f"The dataset has {n_transitions} transitions but the replay buffer holds {size}: only the last {size} are kept."
        )
    keep = np.arange(max(0, n_transitions - size), n_transitions)
    count = len(keep)

    actions = np.asarray(full.actions)[keep]
    params = dataset_mu(actions, buffer.action_space, action_std, discrete_epsilon)
    if isinstance(buffer.action_space, spaces.Box):
        actions = normalize_box_actions(actions, buffer.action_space)
    terminations = np.asarray(full.terminations, dtype=bool)[keep]
    truncations = np.asarray(full.truncations, dtype=bool)[keep]

    buffer.reset()
    _write_obs(buffer, "observations", full.observations, keep)  # type: ignore[arg-type]
    _write_obs(buffer, "next_observations", full.next_observations, keep)  # type: ignore[arg-type]
    buffer.actions[:count, 0] = actions.reshape(count, *buffer.actions.shape[2:])
    buffer.rewards[:count, 0] = np.asarray(full.rewards)[keep]
    buffer.dones[:count, 0] = terminations | truncations
    if buffer.handle_timeout_termination:
        buffer.timeouts[:count, 0] = truncations & ~terminations
    buffer.mu[:count, 0] = params
    buffer.pos = count % size
    buffer.full = count == size


def _write_obs(
    buffer: WeightedRegressionReplayBuffer | DictWeightedRegressionReplayBuffer,
    name: str,
    obs: np.ndarray | dict[str, np.ndarray],
    keep: np.ndarray,
) -> None:
    count = len(keep)
    storage = getattr(buffer, name)
    if isinstance(storage, dict):
        assert isinstance(obs, dict)
        for key, array in storage.items():
            array[:count, 0] = np.asarray(obs[key])[keep].reshape(count, *array.shape[2:])
    else:
        storage[:count, 0] = np.asarray(obs)[keep].reshape(count, *storage.shape[2:])
