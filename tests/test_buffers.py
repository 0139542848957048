"""The QWR replay buffer: stored distributions and multi-step sequences."""

import numpy as np
import pytest
import torch as th
from gymnasium import spaces

from sb3_qwr.common.buffers import DictWeightedRegressionReplayBuffer, WeightedRegressionReplayBuffer

OBS_SPACE = spaces.Box(-np.inf, np.inf, shape=(2,), dtype=np.float32)
ACT_SPACE = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)


def fill(
    buffer: WeightedRegressionReplayBuffer, n_steps: int, episode_ends: dict[tuple[int, int], str], n_envs: int = 1
) -> None:
    """
    Add ``n_steps`` steps; the observation of step ``t`` in env ``e`` is ``[t, e]``, its next observation
    ``[t + 0.5, e]``, its reward ``t + 100 e`` and its mu ``[mean = t + 100 e, std = 0.4]``.
    ``episode_ends[(t, e)]`` is "term" or "trunc".
    """
    for t in range(n_steps):
        envs = np.arange(n_envs)
        obs = np.stack([np.full(n_envs, t), envs], axis=1).astype(np.float32)
        next_obs = obs + np.array([0.5, 0.0], dtype=np.float32)
        dones = np.array([(t, e) in episode_ends for e in envs])
        infos = [{"TimeLimit.truncated": episode_ends.get((t, e)) == "trunc"} for e in envs]
        params = np.stack([t + 100.0 * envs, np.full(n_envs, 0.4)], axis=1)
        buffer.add(obs, next_obs, np.zeros((n_envs, 1)), t + 100.0 * envs, dones, infos, mu=params)


def sample_at(buffer: WeightedRegressionReplayBuffer, rows: list[int], env: int = 0):
    index = buffer.sequence_index(np.array(rows), np.full(len(rows), env))
    return index, buffer._sequence_arrays(index, None)


def test_dist_params_come_back_with_their_transition():
    buffer = WeightedRegressionReplayBuffer(50, OBS_SPACE, ACT_SPACE, device="cpu", n_step_horizon=3)
    fill(buffer, 40, {(9, 0): "term", (19, 0): "trunc"})
    data = buffer.sample(256)
    step = data.observations[:, 0]
    th.testing.assert_close(data.mu[:, 0], step)
    th.testing.assert_close(data.mu[:, 1], th.full_like(step, 0.4))
    # Each valid next state's stored mu is the mu of the following transition, i.e. the next step's.
    states = buffer.sample_states(256)
    th.testing.assert_close(states.mu[:, 0], states.observations[:, 0])


def test_sequences_stop_at_episode_ends():
    buffer = WeightedRegressionReplayBuffer(50, OBS_SPACE, ACT_SPACE, device="cpu", n_step_horizon=3)
    fill(buffer, 20, {(4, 0): "term", (9, 0): "trunc"})
    index, arrays = sample_at(buffer, [2, 3, 4, 5, 8, 9])
    np.testing.assert_array_equal(
        index.valid,
        [
            [True, True, True],  # 2, 3, 4 (4 terminates: it is still part of the sequence)
            [True, True, False],  # 3, 4 | 5 belongs to the next episode
            [True, False, False],  # 4 terminated
            [True, True, True],
            [True, True, False],  # 8, 9 (truncated)
            [True, False, False],
        ],
    )
    np.testing.assert_array_equal(arrays["terminations"][:2], [[0, 0, 1], [0, 1, 0]])
    np.testing.assert_array_equal(arrays["terminations"][4:], [[0, 0, 0], [0, 0, 0]])  # a truncation is no termination
    np.testing.assert_array_equal(arrays["rewards"][0], [2, 3, 4])
    # mu at the next state is stored except after an episode end (the final observation has none).
    np.testing.assert_array_equal(index.next_mu_stored[0], [True, True, False])
    np.testing.assert_array_equal(index.next_mu_stored[4], [True, False, True])
    np.testing.assert_array_equal(arrays["next_mu"][0, :, 0], [3, 4, 0])
    flat_missing = arrays["missing_next_mu"]
    assert 2 in flat_missing and 0 not in flat_missing and 1 not in flat_missing


def test_timeouts_as_terminations_as_the_reference_code():
    """``handle_timeout_termination=False`` (SB3's name): a time-limit truncation ends the targets as a termination."""
    buffer = WeightedRegressionReplayBuffer(
        50, OBS_SPACE, ACT_SPACE, device="cpu", n_step_horizon=3, handle_timeout_termination=False
    )
    fill(buffer, 20, {(4, 0): "term", (9, 0): "trunc"})
    index, arrays = sample_at(buffer, [3, 4, 8, 9])
    np.testing.assert_array_equal(index.valid, [[True, True, False], [True, False, False]] * 2)
    np.testing.assert_array_equal(arrays["terminations"], [[0, 1, 0], [1, 0, 0]] * 2)


def test_sequences_stop_at_the_write_position_after_wraparound():
    buffer = WeightedRegressionReplayBuffer(10, OBS_SPACE, ACT_SPACE, device="cpu", n_step_horizon=3)
    fill(buffer, 13, {})  # steps 10, 11, 12 overwrote rows 0, 1, 2; pos = 3
    assert buffer.full and buffer.pos == 3
    index, arrays = sample_at(buffer, [0, 1, 2, 8, 9])
    np.testing.assert_array_equal(
        index.valid,
        [
            [True, True, True],  # rows 0, 1, 2 = steps 10, 11, 12
            [True, True, False],  # rows 1, 2 | row 3 is the oldest data (step 3)
            [True, False, False],  # row 2 is the last written step
            [True, True, True],  # rows 8, 9, 0 = steps 8, 9, 10 across the wrap of the array
            [True, True, True],
        ],
    )
    np.testing.assert_array_equal(arrays["rewards"][3], [8, 9, 10])
    assert not index.next_mu_stored[2, 0]  # the step after the last written one has no mu yet
    data = buffer._get_samples(np.array([8]))
    th.testing.assert_close(data.next_observations[0, :, 0], th.tensor([8.5, 9.5, 10.5]))


def test_sampling_never_mixes_env_columns():
    buffer = WeightedRegressionReplayBuffer(40, OBS_SPACE, ACT_SPACE, device="cpu", n_envs=2, n_step_horizon=3)
    fill(buffer, 20, {(5, 1): "term", (7, 0): "trunc"}, n_envs=2)
    data = buffer.sample(512)
    env_of_obs = data.observations[:, 1]
    th.testing.assert_close(data.next_observations[:, :, 1], env_of_obs[:, None].expand(-1, 3))
    th.testing.assert_close(data.mu[:, 0], data.observations[:, 0] + 100 * env_of_obs)
    valid_rewards = th.where(data.valid, data.rewards - 100 * env_of_obs[:, None], th.zeros_like(data.rewards))
    expected = th.where(data.valid, data.observations[:, :1] + th.arange(3.0), th.zeros_like(data.rewards))
    th.testing.assert_close(valid_rewards, expected)
    index, _ = sample_at(buffer, [4, 5], env=1)
    np.testing.assert_array_equal(index.valid, [[True, True, False], [True, False, False]])
    index, _ = sample_at(buffer, [4, 5], env=0)
    assert index.valid.all()


def test_truncate_last_trajectory_closes_the_open_episode():
    buffer = WeightedRegressionReplayBuffer(10, OBS_SPACE, ACT_SPACE, device="cpu", n_step_horizon=3)
    fill(buffer, 4, {})
    buffer.truncate_last_trajectory()
    fill(buffer, 2, {})  # a new episode starting at row 4
    index, arrays = sample_at(buffer, [2])
    np.testing.assert_array_equal(index.valid, [[True, True, False]])
    np.testing.assert_array_equal(arrays["terminations"], [[0, 0, 0]])  # truncation: bootstrap, no termination


def test_add_needs_mu_unless_the_buffer_centres_it():
    """An online buffer refuses a step without mu (and says how to pass it); the opt-in centres mu on the action."""
    step = (np.zeros((1, 2)), np.zeros((1, 2)), np.array([[0.25]]), np.zeros(1), np.zeros(1), [{}])
    strict = WeightedRegressionReplayBuffer(10, OBS_SPACE, ACT_SPACE, device="cpu")
    with pytest.raises(ValueError, match=r"add\(\.\.\., mu=params\).*centered_mu_std"):
        strict.add(*step)
    assert strict.size() == 0
    with pytest.raises(ValueError, match=r"`mu` has 3 values"):
        strict.add(*step, mu=np.zeros(3))
    strict.add(*step, mu=np.array([[0.3, 0.5]]))
    np.testing.assert_allclose(strict.mu[0, 0], [0.3, 0.5])
    buffer = WeightedRegressionReplayBuffer(10, OBS_SPACE, ACT_SPACE, device="cpu", centered_mu_std=0.7)
    buffer.add(*step)
    np.testing.assert_allclose(buffer.mu[0, 0], [0.25, 0.7])
    buffer.add(*step, mu=np.array([[0.3, 0.5]]))  # a given mu wins
    np.testing.assert_allclose(buffer.mu[1, 0], [0.3, 0.5])
    discrete = WeightedRegressionReplayBuffer(10, OBS_SPACE, spaces.Discrete(3), device="cpu", centered_mu_std=0.4)
    discrete.add(np.zeros((1, 2)), np.zeros((1, 2)), np.array([[2]]), np.zeros(1), np.zeros(1), [{}])
    np.testing.assert_allclose(np.exp(discrete.mu[0, 0]), [0.01 / 3, 0.01 / 3, 0.99 + 0.01 / 3], rtol=1e-6)


def test_buffers_pickled_by_0_2_load_with_the_new_names():
    """A 0.2 buffer pickled dist_params, n_steps and a staging slot; it unpickles as mu and n_step_horizon."""
    buffer = WeightedRegressionReplayBuffer(10, OBS_SPACE, ACT_SPACE, device="cpu", n_step_horizon=2)
    state = dict(buffer.__dict__)
    state["dist_params"], state["n_steps"], state["_staged_dist_params"] = state.pop("mu"), state.pop("n_step_horizon"), None
    del state["centered_mu_std"]
    old = WeightedRegressionReplayBuffer.__new__(WeightedRegressionReplayBuffer)
    old.__setstate__(state)
    assert old.n_step_horizon == 2 and old.mu.shape == (10, 1, 2) and old.centered_mu_std is None
    assert not hasattr(old, "dist_params") and not hasattr(old, "_staged_dist_params")


def test_discrete_actions_store_logits_and_dict_observations():
    obs_space = spaces.Dict({"a": spaces.Box(-10, 10, (2,), np.float32), "b": spaces.Discrete(3)})
    buffer = DictWeightedRegressionReplayBuffer(20, obs_space, spaces.Discrete(4), device="cpu", n_step_horizon=2)
    assert buffer.mu.shape == (20, 1, 4)
    for t in range(6):
        obs = {"a": np.full((1, 2), t, np.float32), "b": np.array([t % 3])}
        next_obs = {"a": np.full((1, 2), t + 1, np.float32), "b": np.array([(t + 1) % 3])}
        buffer.add(obs, next_obs, np.array([t % 4]), np.array([t]), np.array([t == 2]), [{}], np.full((1, 4), t))
    data = buffer._get_samples(np.array([1, 2, 3]))
    th.testing.assert_close(data.observations["a"][:, 0], th.tensor([1.0, 2.0, 3.0]))
    assert data.next_observations["a"].shape == (3, 2, 2)
    np.testing.assert_array_equal(data.valid.numpy(), [[True, True], [True, False], [True, True]])
    th.testing.assert_close(data.mu[:, 0], th.tensor([1.0, 2.0, 3.0]))


def test_save_and_load_keep_the_distributions(tmp_path):
    from stable_baselines3.common.save_util import load_from_pkl, save_to_pkl

    buffer = WeightedRegressionReplayBuffer(30, OBS_SPACE, ACT_SPACE, device="cpu", n_step_horizon=3)
    fill(buffer, 12, {(5, 0): "term"})
    save_to_pkl(tmp_path / "buffer.pkl", buffer)
    loaded = load_from_pkl(tmp_path / "buffer.pkl")
    np.testing.assert_array_equal(loaded.mu, buffer.mu)
    assert loaded.pos == buffer.pos and loaded.n_step_horizon == 3


def test_bad_buffer_arguments():
    with pytest.raises(ValueError, match="n_step_horizon"):
        WeightedRegressionReplayBuffer(10, OBS_SPACE, ACT_SPACE, n_step_horizon=0)
    with pytest.raises(ValueError, match="MultiDiscrete"):
        WeightedRegressionReplayBuffer(10, OBS_SPACE, spaces.MultiDiscrete([2, 3]))


@pytest.mark.parametrize("max_bytes", [2**30, 1])
def test_sample_batches_are_the_batches_of_their_indices(max_bytes: int):
    """A phase's batches drawn in chunks equal per-batch samples of the same rows (missing mu included)."""
    buffer = WeightedRegressionReplayBuffer(60, OBS_SPACE, ACT_SPACE, device="cpu", n_step_horizon=3)
    fill(buffer, 45, {(9, 0): "term", (19, 0): "trunc", (30, 0): "term"})
    n_batches, batch_size = 5, 16
    per_chunk = n_batches if max_bytes > 1 else 1
    np.random.seed(0)
    rows = []
    for _ in range(0, n_batches, per_chunk):
        rows.append(np.random.randint(0, buffer.pos, size=per_chunk * batch_size))
        np.random.randint(0, buffer.n_envs, size=per_chunk * batch_size)  # the env columns (one env here)
    rows_per_batch = np.concatenate(rows).reshape(n_batches, batch_size)
    np.random.seed(0)
    batches = list(buffer.sample_batches(n_batches, batch_size, max_bytes=max_bytes))
    assert len(batches) == n_batches
    assert sum(len(batch.missing_next_mu) for batch in batches) > 0
    for batch, batch_rows in zip(batches, rows_per_batch, strict=True):
        expected = buffer._sequence_samples(batch_rows, None)
        for name, value in expected._asdict().items():
            th.testing.assert_close(getattr(batch, name), value, msg=name)
    states = list(buffer.sample_states_batches(3, 8, max_bytes=max_bytes))
    assert [len(s.observations) for s in states] == [8, 8, 8]
    for s in states:
        th.testing.assert_close(s.mu[:, 0], s.observations[:, 0])


@pytest.mark.parametrize("max_bytes", [2**30, 1])
def test_missing_next_states_are_written_once_per_chunk(max_bytes: int):
    """A chunk's missing next states, given parameters once per chunk, get them exactly where a batch has no stored
    mu; everything else is unchanged."""
    buffer = WeightedRegressionReplayBuffer(60, OBS_SPACE, ACT_SPACE, device="cpu", n_step_horizon=3)
    fill(buffer, 45, {(9, 0): "term", (19, 0): "trunc", (30, 0): "term"})
    np.random.seed(1)
    plain = list(buffer.sample_batches(5, 16, max_bytes=max_bytes))
    calls = []

    def params_of(obs: th.Tensor) -> th.Tensor:
        calls.append(len(obs))
        return 1000.0 + obs[:, :1].repeat(1, buffer.mu.shape[-1])

    np.random.seed(1)
    chunks = []
    for chunk in buffer.sample_chunks(5, 16, max_bytes=max_bytes):
        if chunk.samples.missing_next_mu.numel() > 0:
            rows, obs = chunk.missing_next_states()
            chunk = chunk.with_next_mu(rows, params_of(obs))
        chunks.append(chunk)
    filled = [batch for chunk in chunks for batch in chunk.batches()]
    assert len(calls) == (1 if max_bytes > 1 else sum(len(b.missing_next_mu) > 0 for b in plain))
    for before, after in zip(plain, filled, strict=True):
        assert after.missing_next_mu.numel() == 0
        expected = before.next_mu.reshape(-1, buffer.mu.shape[-1]).clone()
        missing = before.missing_next_mu
        next_obs = before.next_observations.reshape(-1, *OBS_SPACE.shape)
        expected[missing] = 1000.0 + next_obs[missing, :1]
        th.testing.assert_close(after.next_mu.reshape(expected.shape), expected)
        for name in ("observations", "actions", "mu", "rewards", "terminations", "valid"):
            th.testing.assert_close(getattr(after, name), getattr(before, name), msg=name)


def test_optimize_memory_usage_reads_the_same_sequences():
    """With SB3's optimize_memory_usage the next observation is the following row's: the samples are the same."""
    buffers = [
        WeightedRegressionReplayBuffer(
            30, OBS_SPACE, ACT_SPACE, device="cpu", n_step_horizon=3, handle_timeout_termination=False
        ),
        WeightedRegressionReplayBuffer(
            30,
            OBS_SPACE,
            ACT_SPACE,
            device="cpu",
            n_step_horizon=3,
            optimize_memory_usage=True,
            handle_timeout_termination=False,
        ),
    ]
    assert getattr(buffers[1], "next_observations", None) is None
    for t in range(45):  # wraps around; episodes end (terminate) every 10 steps, as with no time limit
        obs = np.array([[t, 0.0]], dtype=np.float32)
        next_obs = np.array([[t + 1, 0.0]], dtype=np.float32)
        done = np.array([t % 10 == 9])
        for buffer in buffers:
            buffer.add(obs, next_obs, np.zeros((1, 1)), np.array([float(t)]), done, [{}], mu=np.array([[t, 0.4]]))
    rows = np.array([16, 17, 18, 20, 27, 28, 29, 0, 5, 13])  # not pos = 15, overwritten in the optimized one
    regular, optimized = (buffer._sequence_samples(rows, None) for buffer in buffers)
    for name, value in regular._asdict().items():
        if name != "next_observations":
            th.testing.assert_close(getattr(optimized, name), value, msg=name)
    valid = regular.valid
    th.testing.assert_close(optimized.next_observations[valid], regular.next_observations[valid])
    np.random.seed(0)
    assert 15 not in set(buffers[1]._sample_rows(2000).tolist())
