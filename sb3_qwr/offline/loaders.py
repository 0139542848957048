"""
Loaders of the dataset formats a user already has: Minari datasets, SB3 replay buffers, plain arrays (``.npz``).

Every loader returns an :class:`~sb3_qwr.offline.OfflineDataset` with actions in the environment's units and
episodes back to back; none of them validates against the model's spaces (``QWR.load_dataset`` does).
"""

import os
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.buffers import DictReplayBuffer, ReplayBuffer

from sb3_qwr.common.safe_pickle import load_pickle
from sb3_qwr.offline.actions import unnormalize_box_actions
from sb3_qwr.offline.dataset import ObsArray, OfflineDataset

PathLike = str | os.PathLike
# Suffixes of dataset files: a missing path with one of them is a missing file, not a Minari dataset id.
_FILE_SUFFIXES = (".npz", ".pkl", ".pickle", ".zip", ".hdf5", ".h5")
# Keys of the fields in an .npz file, with the D4RL names accepted as aliases.
_NPZ_ALIASES = {
    "observations": ("observations",),
    "actions": ("actions",),
    "rewards": ("rewards",),
    "terminations": ("terminations", "terminals"),
    "truncations": ("truncations", "timeouts"),
    "next_observations": ("next_observations",),
}


def from_arrays(
    observations: ObsArray,
    actions: np.ndarray,
    rewards: np.ndarray,
    terminations: np.ndarray,
    truncations: np.ndarray,
    next_observations: ObsArray | None = None,
) -> OfflineDataset:
    """
    A dataset from plain arrays (episodes back to back; see :class:`OfflineDataset` for the layout).

    :param observations: ``(N, *obs_shape)`` array or dict of arrays.
    :param actions: ``(N, *action_shape)`` actions in the environment's units.
    :param rewards: ``(N,)`` rewards.
    :param terminations: ``(N,)`` termination flags.
    :param truncations: ``(N,)`` truncation flags.
    :param next_observations: Optional ``(N, *obs_shape)`` next observations.
    :return: The dataset.
    """
    return OfflineDataset(
        observations=_as_obs(observations),
        actions=None if actions is None else np.asarray(actions),
        rewards=None if rewards is None else np.asarray(rewards),
        terminations=None if terminations is None else np.asarray(terminations),
        truncations=None if truncations is None else np.asarray(truncations),
        next_observations=_as_obs(next_observations),
    )


def from_npz(path: PathLike) -> OfflineDataset:
    """
    A dataset from an ``.npz`` file with the arrays ``observations``, ``actions``, ``rewards``,
    ``terminations``, ``truncations`` and optionally ``next_observations`` (as written by
    :meth:`OfflineDataset.save_npz`). ``Dict`` observations are the arrays ``observations/<key>``. The D4RL
    names ``terminals`` and ``timeouts`` are accepted for ``terminations`` and ``truncations``.

    :param path: The ``.npz`` file.
    :return: The dataset.
    """
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    fields: dict[str, Any] = {}
    for name, aliases in _NPZ_ALIASES.items():
        key = next((alias for alias in aliases if alias in arrays), None)
        if key is not None:
            fields[name] = arrays[key]
            continue
        prefixed = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith(f"{name}/")}
        if prefixed:
            fields[name] = prefixed
        elif name != "next_observations":
            raise ValueError(
                f"OfflineDataset.{name} is missing: {os.fspath(path)} has no array {' or '.join(map(repr, aliases))} "
                f"(it has {sorted(arrays)})."
            )
    return from_arrays(**fields)


def from_minari(dataset: Any, root: PathLike | None = None) -> OfflineDataset:
    """
    A dataset from a local Minari dataset.

    Each Minari episode stores ``T + 1`` observations for ``T`` steps: the first ``T`` are the
    observations, the last ``T`` the next observations. An episode whose last step is neither terminated nor
    truncated (collection stopped mid-episode) is marked truncated, so that episodes never run into each
    other.

    :param dataset: A ``minari.MinariDataset``, a dataset id (loaded with ``minari.load_dataset``, which reads
        ``MINARI_DATASETS_PATH`` or ``~/.minari/datasets``), or the path of a dataset directory.
    :param root: Directory of local Minari datasets to look the id up in, instead of the default.
    :return: The dataset.
    """
    import minari
    from minari import MinariDataset

    if not isinstance(dataset, MinariDataset):
        dataset = _load_minari(minari, MinariDataset, os.fspath(dataset), root)
    parts: dict[str, list[Any]] = {name: [] for name in ("obs", "next_obs", "act", "rew", "term", "trunc")}
    for episode in dataset.iterate_episodes():
        n_steps = len(episode.rewards)
        if n_steps == 0:
            continue
        parts["obs"].append(_slice_obs(episode.observations, 0, n_steps))
        parts["next_obs"].append(_slice_obs(episode.observations, 1, n_steps + 1))
        parts["act"].append(np.asarray(episode.actions))
        parts["rew"].append(np.asarray(episode.rewards))
        terminations = np.asarray(episode.terminations, dtype=bool)
        truncations = np.asarray(episode.truncations, dtype=bool).copy()
        if not (terminations[-1] or truncations[-1]):
            truncations[-1] = True
        parts["term"].append(terminations)
        parts["trunc"].append(truncations)
    if not parts["rew"]:
        raise ValueError(f"The Minari dataset {dataset.spec.dataset_id!r} has no steps.")
    return from_arrays(
        observations=_concat_obs(parts["obs"]),
        actions=np.concatenate(parts["act"]),
        rewards=np.concatenate(parts["rew"]),
        terminations=np.concatenate(parts["term"]),
        truncations=np.concatenate(parts["trunc"]),
        next_observations=_concat_obs(parts["next_obs"]),
    )


def from_replay_buffer(
    buffer: PathLike | ReplayBuffer, normalized_actions: bool = True, trusted: bool = False
) -> OfflineDataset:
    """
    A dataset from an SB3 replay buffer (``ReplayBuffer``, ``DictReplayBuffer`` or QWR's), in memory or saved
    with ``model.save_replay_buffer`` (SAC, TD3, DDPG, DQN, QWR, ...).

    The transitions of each env column are read in time order (from the oldest when the buffer has wrapped)
    and the columns are put back to back. A done step is a truncation when the buffer recorded a timeout
    (``TimeLimit.truncated``), a termination otherwise; the last written step of a column, whose episode
    was still running, is marked truncated (its stored next observation is the real one). A wrapped buffer may
    start mid-episode; that partial episode is kept. The stored ``mu`` of a QWR buffer is not kept: offline
    training uses the paper's ``mu`` built from the actions (to keep it, use ``model.load_replay_buffer``).

    :param buffer: The buffer or the path of the pickle written by ``save_replay_buffer``.
    :param normalized_actions: Whether ``Box`` actions are stored in SB3's normalized ``[-1, 1]`` units, as
        every SB3 off-policy algorithm (and QWR) stores them; they are then clipped to ``[-1, 1]`` (what the
        environment received) and rescaled to the bounds. ``False`` for a buffer filled by hand with actions
        in the environment's units.
    :param trusted: For a path: unpickle the file as SB3's ``load_replay_buffer`` does, which runs whatever code
        the file names. By default the file may only name the classes replay buffers are made of
        (:mod:`sb3_qwr.common.safe_pickle`); anything else raises ``UntrustedPickleError`` before it runs.
    :return: The dataset.
    """
    if not isinstance(buffer, ReplayBuffer | DictReplayBuffer):
        loaded = load_pickle(buffer, trusted=trusted)
        if not isinstance(loaded, ReplayBuffer | DictReplayBuffer):
            raise ValueError(f"{os.fspath(buffer)} holds a {type(loaded).__name__}, not an SB3 replay buffer.")
        buffer = loaded
    size, n_envs = buffer.buffer_size, buffer.n_envs
    optimize_memory = bool(getattr(buffer, "optimize_memory_usage", False))
    if buffer.full:
        # With optimize_memory_usage the row at `pos` holds the next observation of the newest step.
        start = (buffer.pos + 1) % size if optimize_memory else buffer.pos
        rows = (start + np.arange(size - int(optimize_memory))) % size
    else:
        rows = np.arange(buffer.pos)
    if len(rows) == 0:
        raise ValueError("The replay buffer is empty.")
    next_rows = (rows + 1) % size
    parts: dict[str, list[Any]] = {name: [] for name in ("obs", "next_obs", "act", "rew", "term", "trunc")}
    for env_index in range(n_envs):
        parts["obs"].append(_buffer_obs(buffer.observations, rows, env_index))
        if optimize_memory:
            parts["next_obs"].append(_buffer_obs(buffer.observations, next_rows, env_index))
        else:
            parts["next_obs"].append(_buffer_obs(buffer.next_observations, rows, env_index))
        parts["act"].append(buffer.actions[rows, env_index])
        parts["rew"].append(buffer.rewards[rows, env_index])
        dones = buffer.dones[rows, env_index] > 0
        timeouts = (buffer.timeouts[rows, env_index] > 0) & dones
        truncations = timeouts.copy()
        truncations[-1] |= not dones[-1]
        parts["term"].append(dones & ~timeouts)
        parts["trunc"].append(truncations)
    actions = np.concatenate(parts["act"])
    action_space = buffer.action_space
    if isinstance(action_space, spaces.Box):
        actions = actions.reshape(len(actions), *action_space.shape)
        if normalized_actions:
            actions = unnormalize_box_actions(actions, action_space)
    elif isinstance(action_space, spaces.Discrete):
        actions = actions.reshape(len(actions)).astype(np.int64)
    observations = _concat_obs(parts["obs"])
    next_observations = _concat_obs(parts["next_obs"])
    if isinstance(buffer.observation_space, spaces.Discrete):
        observations = np.asarray(observations).reshape(-1)
        next_observations = np.asarray(next_observations).reshape(-1)
    return from_arrays(
        observations=observations,
        actions=actions,
        rewards=np.concatenate(parts["rew"]),
        terminations=np.concatenate(parts["term"]),
        truncations=np.concatenate(parts["trunc"]),
        next_observations=next_observations,
    )


def as_offline_dataset(source: Any, minari_root: PathLike | None = None, trusted: bool = False) -> OfflineDataset:
    """
    An :class:`OfflineDataset` from any supported source.

    :param source: An ``OfflineDataset``; an SB3 replay buffer; a ``minari.MinariDataset``; a path to an
        ``.npz`` file (:func:`from_npz`), to a saved replay buffer (any other file, e.g. ``.pkl``:
        :func:`from_replay_buffer`) or to a Minari dataset directory; or a Minari dataset id.
    :param minari_root: Directory of local Minari datasets (default: ``MINARI_DATASETS_PATH`` or
        ``~/.minari/datasets``).
    :param trusted: For a saved replay buffer: unpickle it without restriction (see :func:`from_replay_buffer`).
    :return: The dataset.
    """
    if isinstance(source, OfflineDataset):
        return source
    if isinstance(source, ReplayBuffer | DictReplayBuffer):
        return from_replay_buffer(source)
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_file():
            return from_npz(path) if path.suffix == ".npz" else from_replay_buffer(path, trusted=trusted)
        if path.suffix in _FILE_SUFFIXES:
            raise FileNotFoundError(f"No such file: {os.fspath(source)!r} (a dataset file: .npz or a saved replay buffer).")
        return from_minari(source, root=minari_root)
    try:
        from minari import MinariDataset
    except ImportError:  # pragma: no cover - minari is a dependency
        MinariDataset = ()  # type: ignore[assignment,misc]
    if isinstance(source, MinariDataset):
        return from_minari(source)
    raise TypeError(
        f"Cannot load a dataset from a {type(source).__name__}: give an OfflineDataset, a path (.npz, a saved "
        "replay buffer, a Minari dataset directory), a Minari dataset id or a MinariDataset."
    )


def _load_minari(minari: Any, dataset_class: Any, name: str, root: PathLike | None) -> Any:
    path = Path(name)
    for candidate in (path / "data", path):
        if (candidate / "metadata.json").is_file():
            return dataset_class(candidate)
    if root is not None:
        data_path = Path(root) / name / "data"
        if not data_path.is_dir():
            raise FileNotFoundError(f"No Minari dataset {name!r} under {os.fspath(root)} (looked for {data_path}).")
        return dataset_class(data_path)
    return minari.load_dataset(name)


def _as_obs(obs: Any) -> ObsArray | None:
    if obs is None:
        return None
    if isinstance(obs, dict):
        return {key: np.asarray(value) for key, value in obs.items()}
    return np.asarray(obs)


def _slice_obs(obs: Any, start: int, stop: int) -> ObsArray:
    if isinstance(obs, dict):
        return {key: np.asarray(value)[start:stop] for key, value in obs.items()}
    return np.asarray(obs)[start:stop]


def _concat_obs(parts: list[Any]) -> ObsArray:
    if isinstance(parts[0], dict):
        return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    return np.concatenate(parts)


def _buffer_obs(storage: Any, rows: np.ndarray, env_index: int) -> ObsArray:
    if isinstance(storage, dict):
        return {key: value[rows, env_index] for key, value in storage.items()}
    return storage[rows, env_index]
