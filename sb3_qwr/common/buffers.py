"""
Replay buffers that remember the sampling policy ``mu(.|s)`` of every transition.

QWR needs, for every stored transition, the parameters of the distribution the action was drawn from
(Algorithm 2, lines 11-12 and 17-18): the Gaussian mean and std for ``Box`` actions, the logits for
``Discrete`` actions. The critic's multi-step target also needs the ``T`` transitions that follow a sampled one
in the same episode. :class:`QWRReplayBuffer` (array observations) and :class:`DictQWRReplayBuffer` (``Dict``
observations) extend SB3's buffers with both, and keep SB3's layout ``(buffer_size, n_envs, ...)`` so that
``save_replay_buffer``/``load_replay_buffer`` and VecNormalize work as for SAC.
"""

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import DictReplayBuffer, ReplayBuffer
from stable_baselines3.common.type_aliases import TensorDict
from stable_baselines3.common.vec_env import VecNormalize

from sb3_qwr.common.distributions import centered_dist_params, make_distribution
from sb3_qwr.common.utils import flatten_obs, index_obs

#: Computes the distribution parameters ``(M, P)`` of ``M`` observations (the current actor's, for next states
#: with no stored ``mu``).
DistParamsFn = Callable[[th.Tensor | TensorDict], th.Tensor]


class QWRReplayBufferSamples(NamedTuple):
    """
    A batch for the critic: transitions ``i`` with the ``T`` transitions that follow them.

    ``B`` is the batch size, ``T`` the horizon, ``P`` the number of distribution parameters.

    :param observations: ``s_i``, shape ``(B, *obs_shape)`` (a dict of such tensors for Dict observations).
    :param actions: ``a_i``, shape ``(B, action_dim)``.
    :param dist_params: parameters of ``mu(.|s_i)``, shape ``(B, P)``.
    :param next_observations: next observation of transitions ``i .. i+T-1``, shape ``(B, T, *obs_shape)``.
    :param next_dist_params: stored ``mu`` at those next observations, shape ``(B, T, P)``; zeros where no
        ``mu`` is stored (see ``missing_next_dist_params``).
    :param missing_next_dist_params: indices into the flattened ``B * T`` next states that have no stored
        ``mu`` (the final observation of an episode, or a step not yet written): the current actor's
        distribution is used there.
    :param rewards: rewards of transitions ``i .. i+T-1``, shape ``(B, T)``.
    :param terminations: 1 where the transition ended its episode by a true termination, shape ``(B, T)``.
    :param valid: True for the transitions that belong to the sequence (a prefix per row), shape ``(B, T)``.
    """

    observations: th.Tensor | TensorDict
    actions: th.Tensor
    dist_params: th.Tensor
    next_observations: th.Tensor | TensorDict
    next_dist_params: th.Tensor
    missing_next_dist_params: th.Tensor
    rewards: th.Tensor
    terminations: th.Tensor
    valid: th.Tensor


class QWRStateSamples(NamedTuple):
    """
    A batch for the actor: states and the parameters of the policy that acted in them.

    :param observations: ``s``, shape ``(B, *obs_shape)`` (or a dict of such tensors).
    :param dist_params: parameters of ``mu(.|s)``, shape ``(B, P)``.
    """

    observations: th.Tensor | TensorDict
    dist_params: th.Tensor


class QWRSequenceIndex(NamedTuple):
    """
    Where the multi-step sequences of a batch lie in the buffer (NumPy, host side).

    :param batch_inds: ``(B,)`` row of the first transition.
    :param env_inds: ``(B,)`` env column, the same for the whole sequence.
    :param rows: ``(B, T)`` rows of transitions ``i .. i+T-1`` (wrapped modulo the buffer size).
    :param valid: ``(B, T)`` True for transitions of the same episode, written, and not past the write position.
    :param next_params_stored: ``(B, T)`` True where the next observation of the transition is the observation
        of the following stored transition (so its ``mu`` is stored at ``rows + 1``).
    """

    batch_inds: np.ndarray
    env_inds: np.ndarray
    rows: np.ndarray
    valid: np.ndarray
    next_params_stored: np.ndarray


class _QWRBufferMixin:
    """Storage of ``mu(.|s)`` and multi-step sampling shared by the array and dict QWR buffers."""

    buffer_size: int
    n_envs: int
    pos: int
    full: bool
    dones: np.ndarray
    timeouts: np.ndarray
    rewards: np.ndarray
    actions: np.ndarray
    action_space: spaces.Space
    optimize_memory_usage: bool
    handle_timeout_termination: bool
    dist_params: np.ndarray
    n_steps: int
    _staged_dist_params: np.ndarray | None
    #: Std of the Gaussian ``mu`` given to ``Box`` transitions added without their distribution.
    default_action_std: float = 0.4

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        device: th.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
        n_steps: int = 3,
    ):
        super().__init__(  # type: ignore[call-arg]
            buffer_size,
            observation_space,
            action_space,
            device=device,
            n_envs=n_envs,
            optimize_memory_usage=optimize_memory_usage,
            handle_timeout_termination=handle_timeout_termination,
        )
        self._init_qwr_storage(n_steps)

    def add(
        self,
        obs: Any,
        next_obs: Any,
        action: np.ndarray,
        reward: np.ndarray,
        done: np.ndarray,
        infos: list[dict[str, Any]],
        dist_params: np.ndarray | None = None,
    ) -> None:
        """
        Add one step of every env, with the parameters of the distribution each action came from.

        :param obs: Observations (an array, or a dict of arrays for ``DictQWRReplayBuffer``).
        :param next_obs: Next observations.
        :param action: Actions.
        :param reward: Rewards.
        :param done: Episode ends.
        :param infos: Infos of the step.
        :param dist_params: ``(n_envs, P)``; when ``None``, the parameters given to ``stage_dist_params``, and
            without those (a transition added by hand, e.g. a demonstration) a ``mu`` centered on the action:
            a Gaussian of std ``default_action_std`` (0.4, the paper's) around the ``Box`` action, which must
            be in SB3's normalized ``[-1, 1]`` units as QWR stores it, or the smoothed one-hot of a ``Discrete``
            action (see :func:`~sb3_qwr.common.distributions.centered_dist_params`, the offline convention).
        """
        self._write_dist_params(dist_params, action)
        super().add(obs, next_obs, action, reward, done, infos)  # type: ignore[misc]

    def _get_samples(self, batch_inds: np.ndarray, env: VecNormalize | None = None) -> QWRReplayBufferSamples:
        return self._qwr_samples(batch_inds, env)

    def samples_at(self, batch_inds: np.ndarray, env: VecNormalize | None = None) -> QWRReplayBufferSamples:
        """
        The transitions at given rows with the ``T`` transitions that follow each, as :meth:`sample` returns them
        (env columns drawn uniformly; a buffer filled by ``load_dataset`` has one). For diagnostics over a whole
        buffer, e.g. the regression weight every stored state receives (``benchmarks/offline_weights.py``).

        :param batch_inds: ``(B,)`` rows, each in ``[0, size())``.
        :param env: VecNormalize to normalize observations and rewards with, if any.
        :return: A :class:`QWRReplayBufferSamples`.
        """
        batch_inds = np.asarray(batch_inds, dtype=np.int64)
        size = self.size()  # type: ignore[attr-defined]
        if batch_inds.ndim != 1 or (batch_inds.size and (batch_inds.min() < 0 or batch_inds.max() >= size)):
            raise ValueError(f"`batch_inds` must be a 1-D array of rows in [0, {size}), the stored transitions.")
        return self._qwr_samples(batch_inds, env)

    def _init_qwr_storage(self, n_steps: int) -> None:
        if n_steps < 1:
            raise ValueError(f"The multi-step horizon n_steps must be >= 1, got {n_steps}.")
        self.n_steps = n_steps
        self.dist_params = np.zeros(
            (self.buffer_size, self.n_envs, make_distribution(self.action_space).param_dim), dtype=np.float32
        )
        self._staged_dist_params = None

    # Writing
    def stage_dist_params(self, dist_params: np.ndarray) -> None:
        """
        Hold the parameters of ``mu`` for the next call to ``add``.

        SB3's ``OffPolicyAlgorithm._store_transition`` calls ``add`` without extra data; QWR stages the
        distribution of the step here just before, so SB3's handling of terminal observations and
        VecNormalize is reused unchanged.

        :param dist_params: ``(n_envs, P)`` parameters of the distribution each env's action came from.
        """
        self._staged_dist_params = np.asarray(dist_params, dtype=np.float32).reshape(self.n_envs, -1)

    def _write_dist_params(self, dist_params: np.ndarray | None, action: np.ndarray) -> None:
        if dist_params is None:
            dist_params = self._staged_dist_params
        if dist_params is None:
            actions = np.asarray(action).reshape(self.n_envs, -1)
            dist_params = centered_dist_params(actions, self.action_space, self.default_action_std)
        self.dist_params[self.pos] = np.asarray(dist_params, dtype=np.float32).reshape(self.n_envs, -1)
        self._staged_dist_params = None

    def truncate_last_trajectory(self) -> None:
        """
        Mark the last written step of every env as a time-limit truncation.

        Called when the environment is reset between two ``learn`` calls, so that no multi-step sequence
        reads from the old episode into the new one; the target still bootstraps from the stored next
        observation, which is the real one.
        """
        if not self.full and self.pos == 0:
            return
        last = (self.pos - 1) % self.buffer_size
        open_episode = self.dones[last] == 0
        if self.handle_timeout_termination:  # otherwise a truncation is a termination (and the next obs is lost)
            self.timeouts[last] = np.where(open_episode, 1.0, self.timeouts[last])
        self.dones[last] = 1.0

    # Reading
    def sequence_index(self, batch_inds: np.ndarray, env_inds: np.ndarray | None = None) -> QWRSequenceIndex:
        """
        Rows of the ``T`` transitions that follow each sampled one, and which of them may be used.

        A sequence stops after a done (termination or truncation) and after the last written row; it never
        changes env column.

        :param batch_inds: ``(B,)`` rows of the first transitions.
        :param env_inds: ``(B,)`` env columns, drawn uniformly when ``None``.
        :return: The index, see :class:`QWRSequenceIndex`.
        """
        if env_inds is None:
            env_inds = np.random.randint(0, self.n_envs, size=len(batch_inds))
        steps = np.arange(self.n_steps)
        rows = (batch_inds[:, None] + steps[None, :]) % self.buffer_size
        cols = env_inds[:, None]
        last_written = (self.pos - 1) % self.buffer_size
        ends = (self.dones[rows, cols] > 0) | (rows == last_written)
        valid = np.ones(rows.shape, dtype=bool)
        valid[:, 1:] = np.logical_and.accumulate(~ends[:, :-1], axis=1)
        return QWRSequenceIndex(batch_inds, env_inds, rows, valid, ~ends)

    def _sequence_arrays(self, index: QWRSequenceIndex, env: VecNormalize | None, n_batches: int = 1) -> dict[str, np.ndarray]:
        cols = index.env_inds[:, None]
        rows = index.rows
        next_rows = (rows + 1) % self.buffer_size
        next_dist_params = np.where(index.next_params_stored[..., None], self.dist_params[next_rows, cols], 0.0)
        terminations = self.dones[rows, cols] * (1.0 - self.timeouts[rows, cols])
        # Indices into each batch's flattened (B * T) next states, batch after batch (see _qwr_chunk).
        missing_batch, missing = np.nonzero(~index.next_params_stored.reshape(n_batches, -1))
        return {
            "actions": self.actions[index.batch_inds, index.env_inds],
            "dist_params": self.dist_params[index.batch_inds, index.env_inds],
            "next_dist_params": next_dist_params.astype(np.float32),
            "missing_next_dist_params": missing.astype(np.int64),
            "missing_counts": np.bincount(missing_batch, minlength=n_batches),
            "rewards": self._normalize_reward(self.rewards[rows, cols], env),  # type: ignore[attr-defined]
            "terminations": terminations.astype(np.float32),
            "valid": index.valid,
        }

    def sample(self, batch_size: int, env: VecNormalize | None = None) -> QWRReplayBufferSamples:
        """
        Sample transitions uniformly with the ``T`` transitions that follow each (what the critic needs).

        :param batch_size: Number of transitions.
        :param env: VecNormalize to normalize observations and rewards with, if any.
        :return: A :class:`QWRReplayBufferSamples`.
        """
        return self._qwr_samples(self._sample_rows(batch_size), env)

    def sample_states(self, batch_size: int, env: VecNormalize | None = None) -> QWRStateSamples:
        """
        Sample states with their stored ``mu`` only (what the actor update needs; cheaper than ``sample``).

        :param batch_size: Number of states.
        :param env: VecNormalize to normalize observations with, if any.
        :return: A :class:`QWRStateSamples`.
        """
        batch_inds = self._sample_rows(batch_size)
        env_inds = np.random.randint(0, self.n_envs, size=batch_size)
        obs = self._gather_obs("observations", batch_inds, env_inds, env)  # type: ignore[attr-defined]
        return QWRStateSamples(obs, self.to_torch(self.dist_params[batch_inds, env_inds]))  # type: ignore[attr-defined]

    def sample_batches(
        self,
        n_batches: int,
        batch_size: int,
        env: VecNormalize | None = None,
        max_bytes: int = 64 * 2**20,
        fill_missing: DistParamsFn | None = None,
    ) -> Iterator[QWRReplayBufferSamples]:
        """
        ``n_batches`` batches of :meth:`sample`, drawn in chunks of as many batches as fit in ``max_bytes`` of
        observations: one gather and one host-to-device copy per field and chunk instead of per batch (the
        buffer does not change while a training phase reads it, so this is the same as ``n_batches`` calls).

        :param n_batches: Number of batches.
        :param batch_size: Transitions per batch.
        :param env: VecNormalize to normalize observations and rewards with, if any.
        :param max_bytes: Bound on the observations gathered at once.
        :param fill_missing: If given, the distribution parameters of the next states with no stored ``mu`` are
            computed by it, once per chunk, and written into ``next_dist_params`` (the batches then have no
            ``missing_next_dist_params``). QWR's critic phase passes its actor's ``dist_params``: the actor does
            not change during that phase, so this is the per-batch computation of the critic target done in one
            pass per chunk.
        :return: The batches, one at a time (views into the chunk's tensors).
        """
        rows_per_batch = batch_size * (1 + self.n_steps)
        per_chunk = max(1, min(n_batches, max_bytes // max(1, self._obs_bytes_per_row() * rows_per_batch)))
        done = 0
        while done < n_batches:
            count = min(per_chunk, n_batches - done)
            batch_inds = self._sample_rows(count * batch_size)
            chunk, missing_counts = self._qwr_chunk(batch_inds, env, count)
            if fill_missing is not None:
                chunk, missing_counts = fill_missing_dist_params(chunk, missing_counts, fill_missing)
            yield from _split_samples(chunk, missing_counts)
            done += count

    def sample_states_batches(
        self, n_batches: int, batch_size: int, env: VecNormalize | None = None, max_bytes: int = 64 * 2**20
    ) -> Iterator[QWRStateSamples]:
        """
        ``n_batches`` batches of :meth:`sample_states`, drawn in chunks as in :meth:`sample_batches`.

        :param n_batches: Number of batches.
        :param batch_size: States per batch.
        :param env: VecNormalize to normalize observations with, if any.
        :param max_bytes: Bound on the observations gathered at once.
        :return: The batches, one at a time.
        """
        per_chunk = max(1, min(n_batches, max_bytes // max(1, self._obs_bytes_per_row() * batch_size)))
        done = 0
        while done < n_batches:
            count = min(per_chunk, n_batches - done)
            chunk = self.sample_states(count * batch_size, env)
            observations = _split_obs(chunk.observations, count)
            for obs, params in zip(observations, chunk.dist_params.chunk(count), strict=True):
                yield QWRStateSamples(obs, params)
            done += count

    def _sample_rows(self, n: int) -> np.ndarray:
        """
        :param n: Number of rows.
        :return: Rows drawn uniformly among the stored transitions (with ``optimize_memory_usage``, not the row
            at ``pos`` of a full buffer, whose observation the newest next observation overwrote, as in SB3).
        """
        if self.full and self.optimize_memory_usage:
            return (np.random.randint(1, self.buffer_size, size=n) + self.pos) % self.buffer_size
        return np.random.randint(0, self.buffer_size if self.full else self.pos, size=n)

    def _obs_bytes_per_row(self) -> int:
        storage = self.observations  # type: ignore[attr-defined]
        arrays = storage.values() if isinstance(storage, dict) else [storage]
        return int(sum(array[0, 0].nbytes for array in arrays))

    def _qwr_samples(self, batch_inds: np.ndarray, env: VecNormalize | None) -> QWRReplayBufferSamples:
        return self._qwr_chunk(batch_inds, env, 1)[0]

    def _qwr_chunk(
        self, batch_inds: np.ndarray, env: VecNormalize | None, n_batches: int
    ) -> tuple[QWRReplayBufferSamples, np.ndarray]:
        """
        ``n_batches`` batches gathered at once (``batch_inds`` holds them one after the other).

        :return: The samples, whose ``missing_next_dist_params`` holds each batch's indices into its own ``B * T``
            next states, batch after batch; and the number of those indices of each batch.
        """
        index = self.sequence_index(batch_inds)
        arrays = self._sequence_arrays(index, env, n_batches)
        to_torch = self.to_torch  # type: ignore[attr-defined]
        return QWRReplayBufferSamples(
            observations=self._gather_obs("observations", index.batch_inds, index.env_inds, env),  # type: ignore[attr-defined]
            next_observations=self._gather_obs("next_observations", index.rows, index.env_inds[:, None], env),  # type: ignore[attr-defined]
            actions=to_torch(arrays["actions"]),
            dist_params=to_torch(arrays["dist_params"]),
            next_dist_params=to_torch(arrays["next_dist_params"]),
            missing_next_dist_params=to_torch(arrays["missing_next_dist_params"]),
            rewards=to_torch(arrays["rewards"]),
            terminations=to_torch(arrays["terminations"]),
            valid=to_torch(arrays["valid"]),
        ), arrays["missing_counts"]


class QWRReplayBuffer(_QWRBufferMixin, ReplayBuffer):  # type: ignore[misc]
    """
    SB3 ``ReplayBuffer`` that also stores the parameters of ``mu(.|s)`` and samples multi-step sequences.

    ``sample`` returns :class:`QWRReplayBufferSamples` for the critic's TD(lambda) target;
    ``sample_states`` returns :class:`QWRStateSamples` for the actor.

    :param buffer_size: Max number of transitions (summed over envs, as in SB3).
    :param observation_space: Observation space.
    :param action_space: Action space (``Box`` or ``Discrete``).
    :param device: PyTorch device.
    :param n_envs: Number of parallel environments.
    :param optimize_memory_usage: Store each observation once (SB3's option, which halves the memory of image
        observations): the next observation of a transition is the observation of the following row. SB3 then
        needs ``handle_timeout_termination=False``: the final observation of a truncated episode is overwritten
        by the next reset, so a truncation ends the multi-step targets as a termination does (what the authors'
        reference code does for every truncation).
    :param handle_timeout_termination: Tell time-limit truncations from terminations (recommended; the
        target then bootstraps after a truncation).
    :param n_steps: Horizon ``T`` of the multi-step target (the paper's "margin").
    """

    def _gather_obs(self, name: str, rows: np.ndarray, cols: np.ndarray, env: VecNormalize | None) -> th.Tensor:
        if name == "next_observations" and self.optimize_memory_usage:
            # SB3 writes the next observation of row i into row i + 1 of the observations
            name, rows = "observations", (rows + 1) % self.buffer_size
        storage = getattr(self, name)
        return self.to_torch(self._normalize_obs(storage[rows, cols], env))  # type: ignore[arg-type]


class DictQWRReplayBuffer(_QWRBufferMixin, DictReplayBuffer):  # type: ignore[misc]
    """
    SB3 ``DictReplayBuffer`` with the storage of ``mu(.|s)`` and the multi-step sampling of
    :class:`QWRReplayBuffer`, for ``Dict`` observation spaces (``MultiInputPolicy``).

    :param buffer_size: Max number of transitions (summed over envs, as in SB3).
    :param observation_space: A ``Dict`` observation space.
    :param action_space: Action space (``Box`` or ``Discrete``).
    :param device: PyTorch device.
    :param n_envs: Number of parallel environments.
    :param optimize_memory_usage: Not supported by SB3's ``DictReplayBuffer`` (must be False).
    :param handle_timeout_termination: Tell time-limit truncations from terminations.
    :param n_steps: Horizon ``T`` of the multi-step target (the paper's "margin").
    """

    def _gather_obs(self, name: str, rows: np.ndarray, cols: np.ndarray, env: VecNormalize | None) -> TensorDict:
        storage = getattr(self, name)
        obs = self._normalize_obs({key: arr[rows, cols] for key, arr in storage.items()}, env)
        assert isinstance(obs, dict)
        return {key: self.to_torch(value) for key, value in obs.items()}


def fill_missing_dist_params(
    chunk: QWRReplayBufferSamples, missing_counts: np.ndarray, fill: DistParamsFn
) -> tuple[QWRReplayBufferSamples, np.ndarray]:
    """
    Write ``fill``'s distribution parameters for the next states of a chunk that have no stored ``mu``.

    :param chunk: A chunk of ``n`` batches (see ``_qwr_chunk``; one batch of ``sample`` is a chunk of 1).
    :param missing_counts: ``(n,)`` number of those next states in each batch.
    :param fill: Computes the parameters of observations.
    :return: The chunk with none missing, and zero counts.
    """
    if chunk.missing_next_dist_params.numel() == 0:
        return chunk, missing_counts
    n_batches = len(missing_counts)
    per_batch = chunk.rewards.numel() // n_batches  # B * T next states per batch
    offsets = np.repeat(np.arange(n_batches, dtype=np.int64) * per_batch, missing_counts)
    rows = chunk.missing_next_dist_params + th.as_tensor(offsets, device=chunk.missing_next_dist_params.device)
    next_obs = flatten_obs(chunk.next_observations, chunk.rewards.numel())
    params = chunk.next_dist_params.reshape(-1, chunk.next_dist_params.shape[-1])
    params = params.index_copy(0, rows, fill(index_obs(next_obs, rows)).to(params.dtype))
    filled = chunk._replace(
        next_dist_params=params.reshape(chunk.next_dist_params.shape),
        missing_next_dist_params=chunk.missing_next_dist_params[:0],
    )
    return filled, np.zeros_like(missing_counts)


def _split_obs(obs: th.Tensor | TensorDict, n_batches: int) -> list[th.Tensor | TensorDict]:
    """Split (possibly dict) observations into ``n_batches`` equal views along the first axis."""
    if isinstance(obs, dict):
        parts = {key: value.chunk(n_batches) for key, value in obs.items()}
        return [{key: chunks[i] for key, chunks in parts.items()} for i in range(n_batches)]
    return list(obs.chunk(n_batches))


def _split_samples(chunk: QWRReplayBufferSamples, missing_counts: np.ndarray) -> Iterator[QWRReplayBufferSamples]:
    """
    The batches of a chunk sampled at once (see ``_qwr_chunk``), as views. The sizes of the split of
    ``missing_next_dist_params`` are known on the host, so splitting needs no device synchronization.

    :param chunk: The chunk.
    :param missing_counts: ``(n_batches,)`` number of missing next distributions of each batch.
    :return: The batches.
    """
    n_batches = len(missing_counts)
    if n_batches == 1:
        yield chunk
        return
    missing = chunk.missing_next_dist_params.split(missing_counts.tolist())
    names = ("actions", "dist_params", "next_dist_params", "rewards", "terminations", "valid")
    fields = {name: getattr(chunk, name).chunk(n_batches) for name in names}
    observations = _split_obs(chunk.observations, n_batches)
    next_observations = _split_obs(chunk.next_observations, n_batches)
    for i in range(n_batches):
        yield QWRReplayBufferSamples(
            observations=observations[i],
            next_observations=next_observations[i],
            missing_next_dist_params=missing[i],
            **{name: parts[i] for name, parts in fields.items()},
        )
