"""
Replay buffers that remember the sampling policy ``mu(.|s)`` of every transition.

QWR needs, for every stored transition, the parameters of the distribution the action was drawn from
(Algorithm 2, lines 11-12 and 17-18): the Gaussian mean and std for ``Box`` actions, the logits for
``Discrete`` actions. The critic's multi-step target also needs the ``T`` transitions that follow a sampled one
in the same episode. :class:`WeightedRegressionReplayBuffer` (array observations) and
:class:`DictWeightedRegressionReplayBuffer` (``Dict`` observations) extend SB3's buffers with both, and keep SB3's
layout ``(buffer_size, n_envs, ...)`` so that ``save_replay_buffer``/``load_replay_buffer`` and VecNormalize work
as for SAC. The names of 0.2 (``QWRReplayBuffer``, ``DictQWRReplayBuffer``, ...) are aliases, so saved files load.
"""

from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import DictReplayBuffer, ReplayBuffer
from stable_baselines3.common.type_aliases import PyTorchObs, TensorDict
from stable_baselines3.common.vec_env import VecNormalize

from sb3_qwr.common.checks import check_batch_fits
from sb3_qwr.common.policies import centered_mu, make_distribution
from sb3_qwr.common.type_aliases import SequenceSamples, StateSamples


def flatten_obs(obs: PyTorchObs, n: int) -> PyTorchObs:
    """
    Merge the batch and horizon axes of (possibly dict) observations: ``(B, T, ...) -> (B * T, ...)``.

    :param obs: Observations of shape ``(B, T, *obs_shape)`` (or a dict of such tensors).
    :param n: ``B * T``.
    :return: Observations of shape ``(n, *obs_shape)``.
    """
    if isinstance(obs, dict):
        return {key: value.reshape(n, *value.shape[2:]) for key, value in obs.items()}
    return obs.reshape(n, *obs.shape[2:])


def index_obs(obs: PyTorchObs, index: th.Tensor) -> PyTorchObs:
    """
    Select rows of (possibly dict) observations.

    :param obs: Observations of shape ``(N, *obs_shape)`` (or a dict of such tensors).
    :param index: ``(M,)`` row indices.
    :return: Observations of shape ``(M, *obs_shape)``.
    """
    if isinstance(obs, dict):
        return {key: value.index_select(0, index) for key, value in obs.items()}
    return obs.index_select(0, index)


def concat_obs(observations: list[PyTorchObs]) -> PyTorchObs:
    """
    Concatenate (possibly dict) observations along the batch axis.

    :param observations: Observations of shapes ``(N_i, *obs_shape)`` (or dicts of such tensors, same keys).
    :return: Observations of shape ``(sum N_i, *obs_shape)`` (the one given, not a copy, when there is one).
    """
    first = observations[0]
    if len(observations) == 1:
        return first
    if isinstance(first, dict):
        return {key: th.cat([obs[key] for obs in observations]) for key in first}  # type: ignore[index]
    return th.cat(observations)  # type: ignore[arg-type]


class SequenceIndex(NamedTuple):
    """
    Where the multi-step sequences of a batch lie in the buffer (NumPy, host side).

    :param batch_inds: ``(B,)`` row of the first transition.
    :param env_inds: ``(B,)`` env column, the same for the whole sequence.
    :param rows: ``(B, T)`` rows of transitions ``i .. i+T-1`` (wrapped modulo the buffer size).
    :param valid: ``(B, T)`` True for transitions of the same episode, written, and not past the write position.
    :param next_mu_stored: ``(B, T)`` True where the next observation of the transition is the observation
        of the following stored transition (so its ``mu`` is stored at ``rows + 1``).
    """

    batch_inds: np.ndarray
    env_inds: np.ndarray
    rows: np.ndarray
    valid: np.ndarray
    next_mu_stored: np.ndarray


class WeightedRegressionBufferMixin:
    """
    Storage of ``mu(.|s)`` and multi-step sampling shared by the array and dict buffers of the weighted-regression
    algorithms (QWR reads the stored ``mu``; AWR only the multi-step sequences).

    ``mu`` is an explicit argument of every write (:meth:`add`): the algorithm passes the parameters of the
    distribution it sampled each action from. A transition added by hand (a demonstration, SB3's own tests) has
    no such distribution: the buffer then refuses it, unless it was built with ``centered_mu_std``, the documented
    opt-in that centres ``mu`` on each such action (the paper's offline convention, Section 4.4).
    """

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
    mu: np.ndarray
    n_step_horizon: int
    centered_mu_std: float | np.ndarray | None

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        device: th.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
        n_step_horizon: int = 3,
        centered_mu_std: float | np.ndarray | None = None,
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
        self._init_mu_storage(n_step_horizon, centered_mu_std)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickle, also a buffer saved by 0.1 or 0.2 (``dist_params`` and ``n_steps`` then, nothing staged)."""
        if "dist_params" in state:
            state["mu"] = state.pop("dist_params")
        if "n_steps" in state:
            state["n_step_horizon"] = state.pop("n_steps")
        state.pop("_staged_dist_params", None)
        state.setdefault("centered_mu_std", None)
        self.__dict__.update(state)

    def add(
        self,
        obs: Any,
        next_obs: Any,
        action: np.ndarray,
        reward: np.ndarray,
        done: np.ndarray,
        infos: list[dict[str, Any]],
        mu: np.ndarray | None = None,
    ) -> None:
        """
        Add one step of every env, with the parameters of the distribution each action was sampled from.

        :param obs: Observations (an array, or a dict of arrays for ``DictWeightedRegressionReplayBuffer``).
        :param next_obs: Next observations.
        :param action: Actions (``Box`` ones in SB3's normalized ``[-1, 1]`` units, as the algorithms store them).
        :param reward: Rewards.
        :param done: Episode ends.
        :param infos: Infos of the step.
        :param mu: ``(n_envs, P)`` parameters of ``mu`` in the layout of :mod:`sb3_qwr.common.policies`
            (``[mean, std]`` for ``Box``, logits for ``Discrete``). Required, unless the buffer was built with
            ``centered_mu_std``: then ``None`` centres ``mu`` on the action (a Gaussian of that std for ``Box``,
            the smoothed one-hot of :func:`~sb3_qwr.common.policies.centered_mu` for ``Discrete``).
        """
        self.mu[self.pos] = self._mu_of_step(mu, action)
        super().add(obs, next_obs, action, reward, done, infos)  # type: ignore[misc]

    def check_n_envs(self, n_envs: int) -> None:
        """:param n_envs: The environment's number of envs, which must be the buffer's env columns."""
        if self.n_envs != n_envs:
            raise ValueError(
                f"The replay buffer has {self.n_envs} env column(s) but the environment has {n_envs} envs (a buffer "
                f"filled by load_dataset has one): continue online with {self.n_envs} env(s), or train with a new "
                "buffer (a model built for the new environment)."
            )

    def with_mu(self, mu: np.ndarray) -> "MuWriter":
        """
        :param mu: ``(n_envs, P)`` parameters of the step's sampling distributions.
        :return: This buffer as SB3's ``OffPolicyAlgorithm._store_transition`` uses it (it calls ``add`` without
            extra data): an object whose ``add`` writes the step with ``mu``.
        """
        return MuWriter(self, mu)

    def _mu_of_step(self, mu: np.ndarray | None, action: np.ndarray) -> np.ndarray:
        """:return: The ``(n_envs, P)`` parameters to store for one step (see :meth:`add`)."""
        if mu is None:
            if self.centered_mu_std is None:
                raise ValueError(
                    f"{type(self).__name__}.add needs `mu`, the parameters of the distribution each action was sampled "
                    "from, shape (n_envs, P): pass add(..., mu=params) (sb3_qwr.common.policies.centered_mu(actions, "
                    "action_space, std) centres mu on given actions), or, for transitions added by hand, build the "
                    "buffer with centered_mu_std=<std> (e.g. replay_buffer_kwargs=dict(centered_mu_std=0.4))."
                )
            return centered_mu(np.asarray(action).reshape(self.n_envs, -1), self.action_space, self.centered_mu_std)
        mu = np.asarray(mu, dtype=np.float32)
        if mu.size != self.mu[self.pos].size:
            raise ValueError(f"`mu` has {mu.size} values, expected (n_envs, P) = {self.mu[self.pos].shape}.")
        return mu.reshape(self.n_envs, -1)

    def _get_samples(self, batch_inds: np.ndarray, env: VecNormalize | None = None) -> SequenceSamples:
        return self._sequence_samples(batch_inds, env)

    def samples_at(self, batch_inds: np.ndarray, env: VecNormalize | None = None) -> SequenceSamples:
        """
        The transitions at given rows with the ``T`` transitions that follow each, as :meth:`sample` returns them
        (env columns drawn uniformly; a buffer filled by ``load_dataset`` has one). For diagnostics over a whole
        buffer, e.g. the regression weight every stored state receives.

        :param batch_inds: ``(B,)`` rows, each in ``[0, size())``.
        :param env: VecNormalize to normalize observations and rewards with, if any.
        :return: A :class:`SequenceSamples`.
        """
        batch_inds = np.asarray(batch_inds, dtype=np.int64)
        size = self.size()  # type: ignore[attr-defined]
        if batch_inds.ndim != 1 or (batch_inds.size and (batch_inds.min() < 0 or batch_inds.max() >= size)):
            raise ValueError(f"`batch_inds` must be a 1-D array of rows in [0, {size}), the stored transitions.")
        return self._sequence_samples(batch_inds, env)

    def _init_mu_storage(self, n_step_horizon: int, centered_mu_std: float | np.ndarray | None) -> None:
        if n_step_horizon < 1:
            raise ValueError(f"The multi-step horizon n_step_horizon must be >= 1, got {n_step_horizon}.")
        self.n_step_horizon = n_step_horizon
        self.centered_mu_std = centered_mu_std
        self.mu = np.zeros((self.buffer_size, self.n_envs, make_distribution(self.action_space).param_dim), dtype=np.float32)

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
    def sequence_index(self, batch_inds: np.ndarray, env_inds: np.ndarray | None = None) -> SequenceIndex:
        """
        Rows of the ``T`` transitions that follow each sampled one, and which of them may be used.

        A sequence stops after a done (termination or truncation) and after the last written row; it never
        changes env column.

        :param batch_inds: ``(B,)`` rows of the first transitions.
        :param env_inds: ``(B,)`` env columns, drawn uniformly when ``None``.
        :return: The index, see :class:`SequenceIndex`.
        """
        if env_inds is None:
            env_inds = np.random.randint(0, self.n_envs, size=len(batch_inds))
        steps = np.arange(self.n_step_horizon)
        rows = (batch_inds[:, None] + steps[None, :]) % self.buffer_size
        cols = env_inds[:, None]
        last_written = (self.pos - 1) % self.buffer_size
        ends = (self.dones[rows, cols] > 0) | (rows == last_written)
        valid = np.ones(rows.shape, dtype=bool)
        valid[:, 1:] = np.logical_and.accumulate(~ends[:, :-1], axis=1)
        return SequenceIndex(batch_inds, env_inds, rows, valid, ~ends)

    def _sequence_arrays(self, index: SequenceIndex, env: VecNormalize | None, n_batches: int = 1) -> dict[str, np.ndarray]:
        cols = index.env_inds[:, None]
        rows = index.rows
        next_rows = (rows + 1) % self.buffer_size
        next_mu = np.where(index.next_mu_stored[..., None], self.mu[next_rows, cols], 0.0)
        terminations = self.dones[rows, cols] * (1.0 - self.timeouts[rows, cols])
        # Indices into each batch's flattened (B * T) next states, batch after batch (see _sequence_chunk).
        missing_batch, missing = np.nonzero(~index.next_mu_stored.reshape(n_batches, -1))
        return {
            "actions": self.actions[index.batch_inds, index.env_inds],
            "mu": self.mu[index.batch_inds, index.env_inds],
            "next_mu": next_mu.astype(np.float32),
            "missing_next_mu": missing.astype(np.int64),
            "missing_counts": np.bincount(missing_batch, minlength=n_batches),
            "rewards": self._normalize_reward(self.rewards[rows, cols], env),  # type: ignore[attr-defined]
            "terminations": terminations.astype(np.float32),
            "valid": index.valid,
        }

    def sample(self, batch_size: int, env: VecNormalize | None = None) -> SequenceSamples:
        """
        Sample transitions uniformly with the ``T`` transitions that follow each (what the critic needs).

        :param batch_size: Number of transitions.
        :param env: VecNormalize to normalize observations and rewards with, if any.
        :return: A :class:`SequenceSamples`.
        """
        return self._sequence_samples(self._sample_rows(batch_size), env)

    def sample_states(self, batch_size: int, env: VecNormalize | None = None) -> StateSamples:
        """
        Sample states with their stored ``mu`` only (what the actor update needs; cheaper than ``sample``).

        :param batch_size: Number of states.
        :param env: VecNormalize to normalize observations with, if any.
        :return: A :class:`StateSamples`.
        """
        batch_inds = self._sample_rows(batch_size)
        env_inds = np.random.randint(0, self.n_envs, size=batch_size)
        obs = self._gather_obs("observations", batch_inds, env_inds, env)  # type: ignore[attr-defined]
        return StateSamples(obs, self.to_torch(self.mu[batch_inds, env_inds]))  # type: ignore[attr-defined]

    def sample_chunks(
        self, n_batches: int, batch_size: int, env: VecNormalize | None = None, max_bytes: int = 64 * 2**20
    ) -> Iterator["SampleChunk"]:
        """
        ``n_batches`` batches of :meth:`sample`, drawn in chunks of as many batches as fit in ``max_bytes`` of
        observations: one gather and one host-to-device copy per field and chunk instead of per batch (the
        buffer does not change while a training phase reads it, so this is the same as ``n_batches`` calls).

        :param n_batches: Number of batches.
        :param batch_size: Transitions per batch.
        :param env: VecNormalize to normalize observations and rewards with, if any.
        :param max_bytes: Bound on the observations gathered at once.
        :return: The chunks (:meth:`SampleChunk.batches` splits one into its batches).
        """
        rows_per_batch = batch_size * (1 + self.n_step_horizon)
        per_chunk = max(1, min(n_batches, max_bytes // max(1, self._obs_bytes_per_row() * rows_per_batch)))
        done = 0
        while done < n_batches:
            count = min(per_chunk, n_batches - done)
            yield self._sequence_chunk(self._sample_rows(count * batch_size), env, count)
            done += count

    def sample_batches(
        self, n_batches: int, batch_size: int, env: VecNormalize | None = None, max_bytes: int = 64 * 2**20
    ) -> Iterator[SequenceSamples]:
        """
        The batches of :meth:`sample_chunks`, one at a time (views into their chunk's tensors).

        :param n_batches: Number of batches.
        :param batch_size: Transitions per batch.
        :param env: VecNormalize to normalize observations and rewards with, if any.
        :param max_bytes: Bound on the observations gathered at once.
        :return: The batches.
        """
        for chunk in self.sample_chunks(n_batches, batch_size, env, max_bytes):
            yield from chunk.batches()

    def sample_states_batches(
        self, n_batches: int, batch_size: int, env: VecNormalize | None = None, max_bytes: int = 64 * 2**20
    ) -> Iterator[StateSamples]:
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
            for obs, params in zip(observations, chunk.mu.chunk(count), strict=True):
                yield StateSamples(obs, params)
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

    def _sequence_samples(self, batch_inds: np.ndarray, env: VecNormalize | None) -> SequenceSamples:
        return self._sequence_chunk(batch_inds, env, 1).samples

    def _sequence_chunk(self, batch_inds: np.ndarray, env: VecNormalize | None, n_batches: int) -> "SampleChunk":
        """
        ``n_batches`` batches gathered at once (``batch_inds`` holds them one after the other).

        :return: The chunk.
        """
        index = self.sequence_index(batch_inds)
        arrays = self._sequence_arrays(index, env, n_batches)
        to_torch = self.to_torch  # type: ignore[attr-defined]
        samples = SequenceSamples(
            observations=self._gather_obs("observations", index.batch_inds, index.env_inds, env),  # type: ignore[attr-defined]
            next_observations=self._gather_obs("next_observations", index.rows, index.env_inds[:, None], env),  # type: ignore[attr-defined]
            actions=to_torch(arrays["actions"]),
            mu=to_torch(arrays["mu"]),
            next_mu=to_torch(arrays["next_mu"]),
            missing_next_mu=to_torch(arrays["missing_next_mu"]),
            rewards=to_torch(arrays["rewards"]),
            terminations=to_torch(arrays["terminations"]),
            valid=to_torch(arrays["valid"]),
        )
        return SampleChunk(samples, arrays["missing_counts"])


class WeightedRegressionReplayBuffer(WeightedRegressionBufferMixin, ReplayBuffer):  # type: ignore[misc]
    """
    SB3 ``ReplayBuffer`` that also stores the parameters of ``mu(.|s)`` and samples multi-step sequences.

    ``sample`` returns :class:`SequenceSamples` for the critic's TD(lambda) target;
    ``sample_states`` returns :class:`StateSamples` for the actor.

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


class DictWeightedRegressionReplayBuffer(WeightedRegressionBufferMixin, DictReplayBuffer):  # type: ignore[misc]
    """
    SB3 ``DictReplayBuffer`` with the storage of ``mu(.|s)`` and the multi-step sampling of
    :class:`WeightedRegressionReplayBuffer`, for ``Dict`` observation spaces (``MultiInputPolicy``).

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


class MuWriter:
    """
    A buffer's ``add`` with one step's ``mu`` bound to it (see :meth:`WeightedRegressionBufferMixin.with_mu`).

    :param buffer: The buffer.
    :param mu: ``(n_envs, P)`` parameters.
    """

    def __init__(self, buffer: WeightedRegressionBufferMixin, mu: np.ndarray):
        self.buffer, self.mu = buffer, mu

    def add(self, *args: Any, **kwargs: Any) -> None:
        """:param args: ``add``'s arguments. :param kwargs: Its keyword arguments, without ``mu``."""
        self.buffer.add(*args, **{**kwargs, "mu": self.mu})


class SampleChunk(NamedTuple):
    """
    Several batches of :meth:`~WeightedRegressionBufferMixin.sample` gathered at once, one after the other.

    :param samples: The batches' fields concatenated; ``missing_next_mu`` holds each batch's indices into its
        own ``B * T`` next states, batch after batch.
    :param missing_counts: ``(n_batches,)`` number of those indices of each batch (on the host, so that
        splitting needs no device synchronization).
    """

    samples: SequenceSamples
    missing_counts: np.ndarray

    def batches(self) -> Iterator[SequenceSamples]:
        """:return: The chunk's batches, as views."""
        return _split_samples(self.samples, self.missing_counts)

    def missing_next_states(self) -> tuple[th.Tensor, PyTorchObs]:
        """
        The next states of the chunk that have no stored ``mu``, for whoever computes their distribution
        (:meth:`~sb3_qwr.common.base_class.WeightedRegressionAlgorithm.fill_next_mu`, in one pass per chunk).

        :return: ``(M,)`` their rows among the chunk's flattened next states, and their ``M`` observations.
        """
        samples, missing_counts = self
        n_batches = len(missing_counts)
        per_batch = samples.rewards.numel() // n_batches  # B * T next states per batch
        offsets = np.repeat(np.arange(n_batches, dtype=np.int64) * per_batch, missing_counts)
        rows = samples.missing_next_mu + th.as_tensor(offsets, device=samples.missing_next_mu.device)
        return rows, index_obs(flatten_obs(samples.next_observations, samples.rewards.numel()), rows)

    def with_next_mu(self, rows: th.Tensor, params: th.Tensor) -> "SampleChunk":
        """
        :param rows: The rows of :meth:`missing_next_states`.
        :param params: ``(M, P)`` their distribution parameters.
        :return: The chunk with those parameters written as the next ``mu`` of those rows, none missing.
        """
        samples = self.samples
        next_mu = samples.next_mu.reshape(-1, samples.next_mu.shape[-1]).index_copy(0, rows, params.to(samples.next_mu.dtype))
        filled = samples._replace(next_mu=next_mu.reshape(samples.next_mu.shape), missing_next_mu=samples.missing_next_mu[:0])
        return SampleChunk(filled, np.zeros_like(self.missing_counts))


def _split_obs(obs: th.Tensor | TensorDict, n_batches: int) -> list[th.Tensor | TensorDict]:
    """Split (possibly dict) observations into ``n_batches`` equal views along the first axis."""
    if isinstance(obs, dict):
        parts = {key: value.chunk(n_batches) for key, value in obs.items()}
        return [{key: chunks[i] for key, chunks in parts.items()} for i in range(n_batches)]
    return list(obs.chunk(n_batches))


def _split_samples(chunk: SequenceSamples, missing_counts: np.ndarray) -> Iterator[SequenceSamples]:
    """
    The batches of a chunk sampled at once (see ``_sequence_chunk``), as views. The sizes of the split of
    ``missing_next_mu`` are known on the host, so splitting needs no device synchronization.

    :param chunk: The chunk.
    :param missing_counts: ``(n_batches,)`` number of missing next distributions of each batch.
    :return: The batches.
    """
    n_batches = len(missing_counts)
    if n_batches == 1:
        yield chunk
        return
    missing = chunk.missing_next_mu.split(missing_counts.tolist())
    names = ("actions", "mu", "next_mu", "rewards", "terminations", "valid")
    fields = {name: getattr(chunk, name).chunk(n_batches) for name in names}
    observations = _split_obs(chunk.observations, n_batches)
    next_observations = _split_obs(chunk.next_observations, n_batches)
    for i in range(n_batches):
        yield SequenceSamples(
            observations=observations[i],
            next_observations=next_observations[i],
            missing_next_mu=missing[i],
            **{name: parts[i] for name, parts in fields.items()},
        )


def check_buffer_arguments(
    batch_size: int, buffer_size: int, buffer_class: type | None, buffer_kwargs: dict[str, Any] | None, algorithm: str
) -> None:
    """
    The replay buffer's arguments of a weighted-regression algorithm's constructor.

    :param batch_size: The minibatch size.
    :param buffer_size: The buffer's size.
    :param buffer_class: ``replay_buffer_class``.
    :param buffer_kwargs: ``replay_buffer_kwargs``.
    :param algorithm: Name of the algorithm, for the message.
    """
    check_batch_fits(batch_size, buffer_size)
    if buffer_class is not None and not issubclass(buffer_class, WeightedRegressionBufferMixin):
        raise ValueError(
            f"{algorithm} needs a replay buffer that stores the sampling distribution, got {buffer_class.__name__}: "
            "leave `replay_buffer_class=None` or pass a subclass of WeightedRegressionReplayBuffer / "
            "DictWeightedRegressionReplayBuffer."
        )
    for name, example in (("optimize_memory_usage", "True"), ("n_step_horizon", "3")):
        if buffer_kwargs and name in buffer_kwargs:
            raise ValueError(
                f"Pass {name} to {algorithm} itself ({algorithm}(..., {name}={example})), not in "
                "`replay_buffer_kwargs`: the algorithm gives it to its buffer."
            )


def buffer_class_for(
    observation_space: spaces.Space,
) -> type[WeightedRegressionReplayBuffer] | type[DictWeightedRegressionReplayBuffer]:
    """:param observation_space: A model's observation space. :return: The buffer class for it."""
    dict_obs = isinstance(observation_space, spaces.Dict)
    return DictWeightedRegressionReplayBuffer if dict_obs else WeightedRegressionReplayBuffer


def make_online_buffer(model: Any) -> WeightedRegressionBufferMixin:
    """
    The replay buffer of a weighted-regression model, built from its attributes with the horizon given
    explicitly (``n_step_horizon``), never through the user's ``replay_buffer_kwargs``.

    :param model: The model (its ``replay_buffer_class`` set).
    :return: The empty buffer.
    """
    return model.replay_buffer_class(
        model.buffer_size,
        model.observation_space,
        model.action_space,
        device=model.device,
        n_envs=model.n_envs,
        optimize_memory_usage=model.optimize_memory_usage,
        n_step_horizon=model.n_step_horizon,
        **model.replay_buffer_kwargs,
    )


# The names of 0.1 and 0.2, under which saved replay buffers and checkpoints pickled these classes.
QWRReplayBuffer = WeightedRegressionReplayBuffer
DictQWRReplayBuffer = DictWeightedRegressionReplayBuffer
QWRReplayBufferSamples = SequenceSamples
QWRStateSamples = StateSamples
_QWRBufferMixin = WeightedRegressionBufferMixin
