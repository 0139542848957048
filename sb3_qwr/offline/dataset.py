"""
:class:`OfflineDataset`: the states, actions, rewards and episode ends of a fixed dataset, and its checks.

The QWR paper trains offline on "states, actions and rewards, without any algorithm-specific data"
(Section 4.4); the sampling policy ``mu`` that QWR's replay buffer needs is built from the actions when the
dataset is loaded (see :mod:`sb3_qwr.common.dataset_buffer`).
"""

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

ObsArray = np.ndarray | dict[str, np.ndarray]

# Tolerance of the Box bound check on actions (float32 round-off of actions stored at the bounds).
_BOUNDS_ATOL = 1e-5
_FIELDS = ("observations", "actions", "rewards", "terminations", "truncations")


@dataclass
class OfflineDataset:
    """
    A fixed dataset of transitions, episodes stored back to back in time order.

    Step ``i`` is: in state ``observations[i]`` the agent took ``actions[i]``, received ``rewards[i]``, and
    the episode then ended by a true termination (``terminations[i]``), a time limit or any other cut
    (``truncations[i]``), or went on with step ``i + 1``. The last step of the dataset must end an episode.

    Actions are stored in the environment's own units (what ``env.step`` received: within the bounds of a
    ``Box``, integers of a ``Discrete``), not in SB3's normalized ``[-1, 1]`` units; the loaders convert.

    :param observations: ``(N, *obs_shape)`` array, or a dict of such arrays for a ``Dict`` observation space.
    :param actions: ``(N, *action_shape)`` for ``Box``; ``(N,)`` integers for ``Discrete``.
    :param rewards: ``(N,)`` rewards.
    :param terminations: ``(N,)`` booleans (or 0/1): the episode ended in a terminal state (no bootstrap).
    :param truncations: ``(N,)`` booleans (or 0/1): the episode was cut (time limit, end of collection); the
        critic bootstraps from the next observation.
    :param next_observations: Optional ``(N, *obs_shape)`` (or dict) observation after each step. When
        ``None``, the next observation of a step is the observation of the following step; the last step of
        an episode that ends by a truncation then has no next observation to bootstrap from and is dropped
        when the replay buffer is filled (see :meth:`with_next_observations`).
    """

    observations: ObsArray | None = None
    actions: np.ndarray | None = None
    rewards: np.ndarray | None = None
    terminations: np.ndarray | None = None
    truncations: np.ndarray | None = None
    next_observations: ObsArray | None = None

    def __len__(self) -> int:
        """Number of transitions (steps)."""
        return 0 if self.rewards is None else len(self.rewards)

    # Episodes
    @property
    def episode_ends(self) -> np.ndarray:
        """Indices of the last step of every episode (terminated or truncated), in order."""
        assert self.terminations is not None and self.truncations is not None, "the episode flags are missing"
        return np.flatnonzero(np.asarray(self.terminations, dtype=bool) | np.asarray(self.truncations, dtype=bool))

    @property
    def n_episodes(self) -> int:
        """Number of episodes (episode ends)."""
        return len(self.episode_ends)

    def episode_returns(self) -> np.ndarray:
        """
        Undiscounted return of every episode (the sum of its rewards).

        :return: ``(n_episodes,)`` returns.
        """
        assert self.rewards is not None, "the rewards are missing"
        ends = self.episode_ends
        starts = np.concatenate([[0], ends[:-1] + 1])
        cumulative = np.concatenate([[0.0], np.cumsum(np.asarray(self.rewards, dtype=np.float64))])
        return cumulative[ends + 1] - cumulative[starts]

    def episode_lengths(self) -> np.ndarray:
        """
        Number of steps of every episode.

        :return: ``(n_episodes,)`` lengths.
        """
        ends = self.episode_ends
        return np.diff(np.concatenate([[-1], ends]))

    # Checks
    def validate(self, observation_space: spaces.Space, action_space: spaces.Space) -> None:
        """
        Check that the dataset is well formed for these spaces, before any training.

        Raise a ``ValueError`` naming the field for: a missing field, fields of different lengths, an empty
        dataset, shapes or dtypes that do not fit the spaces, NaN or infinite values, ``Box`` actions outside
        the bounds, ``Discrete`` actions out of range, episode flags that are not booleans, and a last step
        that does not end an episode.

        :param observation_space: The observation space of the model (``Box``, ``Discrete`` or a ``Dict`` of
            them).
        :param action_space: The action space of the model (``Box`` or ``Discrete``).
        """
        for name in _FIELDS:
            if getattr(self, name) is None:
                raise ValueError(
                    f"OfflineDataset.{name} is missing (None): a dataset needs observations, actions, rewards, "
                    "terminations and truncations."
                )
        n_steps = _check_lengths(self)
        if n_steps == 0:
            raise ValueError("OfflineDataset.rewards is empty: the dataset has no transitions.")
        _check_observations("observations", self.observations, observation_space, n_steps)  # type: ignore[arg-type]
        if self.next_observations is not None:
            _check_observations("next_observations", self.next_observations, observation_space, n_steps)
        _check_actions(np.asarray(self.actions), action_space, n_steps)
        rewards = np.asarray(self.rewards)
        _check_shape("rewards", rewards, (n_steps,))
        _check_real("rewards", rewards)
        _check_finite("rewards", rewards)
        for name in ("terminations", "truncations"):
            flags = np.asarray(getattr(self, name))
            _check_shape(name, flags, (n_steps,))
            _check_flags(name, flags)
        ends = np.asarray(self.terminations, dtype=bool) | np.asarray(self.truncations, dtype=bool)
        if not ends[-1]:
            raise ValueError(
                f"OfflineDataset.terminations / truncations: the last step ({n_steps - 1}) does not end an episode. "
                "Every episode must end with a termination or a truncation; mark a cut episode as truncated."
            )

    # Conversions
    def with_next_observations(self) -> "OfflineDataset":
        """
        A dataset with explicit ``next_observations`` (itself when it already has them).

        The next observation of a step is the observation of the following step. The last step of an episode
        that terminated keeps its own observation (it is never bootstrapped from). The last step of an episode
        that was truncated has no known next observation: it is dropped and the step before it becomes the
        truncated end of the episode (a one-step truncated episode is dropped entirely).

        :return: The dataset with ``next_observations``.
        """
        if self.next_observations is not None:
            return self
        assert self.terminations is not None and self.truncations is not None and self.actions is not None
        terminations = np.asarray(self.terminations, dtype=bool)
        truncations = np.asarray(self.truncations, dtype=bool) & ~terminations
        n_steps = len(terminations)
        following = np.minimum(np.arange(n_steps) + 1, n_steps - 1)
        following = np.where(terminations, np.arange(n_steps), following)
        keep = ~truncations
        new_truncations = np.zeros(n_steps, dtype=bool)
        # The step before a dropped truncated end becomes the truncated end, unless it ends an episode itself.
        before = np.flatnonzero(truncations) - 1
        before = before[(before >= 0) & ~(terminations | truncations)[np.maximum(before, 0)]]
        new_truncations[before] = True
        return OfflineDataset(
            observations=_take(self.observations, keep),  # type: ignore[arg-type]
            actions=np.asarray(self.actions)[keep],
            rewards=np.asarray(self.rewards)[keep],
            terminations=terminations[keep],
            truncations=new_truncations[keep],
            next_observations=_take(_take(self.observations, following), keep),  # type: ignore[arg-type]
        )

    def save_npz(self, path: str | Path) -> None:
        """
        Save the dataset as an ``.npz`` file that :func:`sb3_qwr.offline.from_npz` reads back.

        ``Dict`` observations are saved as ``observations/<key>`` (and ``next_observations/<key>``) arrays.

        :param path: Where to write the file.
        """
        arrays: dict[str, Any] = {}
        for name in (*_FIELDS, "next_observations"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, dict):
                arrays.update({f"{name}/{key}": np.asarray(item) for key, item in value.items()})
            else:
                arrays[name] = np.asarray(value)
        np.savez_compressed(path, **arrays)

    def copy(self, **changes: Any) -> "OfflineDataset":
        """
        A shallow copy with some fields replaced (``dataclasses.replace``).

        :param changes: New values of fields.
        :return: The new dataset.
        """
        return replace(self, **changes)


def _take(obs: ObsArray, index: np.ndarray) -> ObsArray:
    if isinstance(obs, dict):
        return {key: np.asarray(value)[index] for key, value in obs.items()}
    return np.asarray(obs)[index]


def _length(name: str, value: Any) -> tuple[str, int]:
    if isinstance(value, dict):
        if not value:
            raise ValueError(f"OfflineDataset.{name} is an empty dict: give one array per observation key.")
        lengths = {key: len(np.asarray(item)) if np.ndim(item) > 0 else -1 for key, item in value.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"OfflineDataset.{name}: the observation keys have different lengths {lengths}.")
        length = next(iter(lengths.values()))
    else:
        length = len(np.asarray(value)) if np.ndim(value) > 0 else -1
    if length < 0:
        raise ValueError(f"OfflineDataset.{name} is a scalar: it needs one entry per step.")
    return name, length


def _check_lengths(dataset: OfflineDataset) -> int:
    names = [*_FIELDS, "next_observations"]
    lengths = [_length(name, getattr(dataset, name)) for name in names if getattr(dataset, name) is not None]
    reference_name, reference = lengths[0]
    for name, length in lengths[1:]:
        if length != reference:
            raise ValueError(
                f"OfflineDataset.{name} has {length} steps but OfflineDataset.{reference_name} has {reference}: "
                "every field needs exactly one entry per step."
            )
    return reference


def _check_shape(name: str, array: np.ndarray, shape: tuple[int, ...]) -> None:
    if array.shape != shape:
        raise ValueError(f"OfflineDataset.{name} has shape {array.shape}, expected {shape}.")


def _check_real(name: str, array: np.ndarray) -> None:
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"OfflineDataset.{name} has dtype {array.dtype}: it must hold real numbers (float or int).")


def _check_finite(name: str, array: np.ndarray) -> None:
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))[0]
        raise ValueError(
            f"OfflineDataset.{name} holds NaN or infinite values (first at index {tuple(int(i) for i in bad)}): "
            "remove or repair those steps."
        )


def _check_flags(name: str, flags: np.ndarray) -> None:
    if flags.dtype == np.bool_:
        return
    _check_real(name, flags)
    if not np.all((flags == 0) | (flags == 1)):
        bad = int(np.flatnonzero((flags != 0) & (flags != 1))[0])
        raise ValueError(f"OfflineDataset.{name} must hold booleans (or 0/1), got {flags[bad]} at step {bad}.")


def _check_observations(name: str, obs: Any, space: spaces.Space, n_steps: int) -> None:
    if isinstance(space, spaces.Dict):
        if not isinstance(obs, dict):
            raise ValueError(
                f"OfflineDataset.{name} is an array but the observation space is a Dict with keys "
                f"{list(space.spaces)}: give a dict of arrays."
            )
        if set(obs) != set(space.spaces):
            raise ValueError(
                f"OfflineDataset.{name} has keys {sorted(obs)}, the observation space has {sorted(space.spaces)}."
            )
        for key, subspace in space.spaces.items():
            _check_observations(f"{name}[{key!r}]", obs[key], subspace, n_steps)
        return
    if isinstance(obs, dict):
        raise ValueError(f"OfflineDataset.{name} is a dict but the observation space is {space}: give one array.")
    array = np.asarray(obs)
    if isinstance(space, spaces.Box):
        _check_shape(name, array, (n_steps, *space.shape))
        _check_real(name, array)
        if not np.can_cast(array.dtype, space.dtype, casting="same_kind"):
            raise ValueError(
                f"OfflineDataset.{name} has dtype {array.dtype}, which does not fit the observation space's "
                f"{space.dtype} (e.g. float values for uint8 images)."
            )
        _check_finite(name, array)
    elif isinstance(space, spaces.Discrete):
        if array.shape not in ((n_steps,), (n_steps, 1)):
            raise ValueError(f"OfflineDataset.{name} has shape {array.shape}, expected ({n_steps},) for {space}.")
        _check_discrete(name, array, space)
    else:
        raise ValueError(
            f"OfflineDataset.{name}: observation space {space} is not supported offline; use Box, Discrete or a Dict of them."
        )


def _check_discrete(name: str, array: np.ndarray, space: spaces.Discrete) -> None:
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"OfflineDataset.{name} has dtype {array.dtype}: {space} needs integers.")
    low, high = int(space.start), int(space.start + space.n - 1)
    outside = (array < low) | (array > high)
    if np.any(outside):
        bad = int(np.flatnonzero(outside.reshape(len(array), -1).any(axis=1))[0])
        raise ValueError(
            f"OfflineDataset.{name}: step {bad} has value {array[bad]} outside the range [{low}, {high}] of {space}."
        )


def _check_actions(actions: np.ndarray, space: spaces.Space, n_steps: int) -> None:
    if isinstance(space, spaces.Box):
        _check_shape("actions", actions, (n_steps, *space.shape))
        _check_real("actions", actions)
        _check_finite("actions", actions)
        low = np.broadcast_to(space.low, space.shape)
        high = np.broadcast_to(space.high, space.shape)
        outside = (actions < low - _BOUNDS_ATOL) | (actions > high + _BOUNDS_ATOL)
        if np.any(outside):
            bad = int(np.flatnonzero(outside.reshape(n_steps, -1).any(axis=1))[0])
            raise ValueError(
                f"OfflineDataset.actions: step {bad} has action {actions[bad]} outside the Box bounds "
                f"[{space.low}, {space.high}]. Store the actions the environment received, in its own units "
                "(SB3 replay buffers hold them rescaled to [-1, 1]: load those with from_replay_buffer)."
            )
    elif isinstance(space, spaces.Discrete):
        if actions.shape not in ((n_steps,), (n_steps, 1)):
            raise ValueError(f"OfflineDataset.actions has shape {actions.shape}, expected ({n_steps},) for {space}.")
        _check_discrete("actions", actions, space)
    else:
        raise ValueError(f"OfflineDataset.actions: action space {space} is not supported; QWR and AWR need Box or Discrete.")
