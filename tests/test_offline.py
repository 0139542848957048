"""Offline QWR (Section 4.4): datasets, their checks, the loaders, the dataset maker and offline training."""

import csv
import os
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3 import DQN, SAC
from stable_baselines3.common.callbacks import BaseCallback, EvalCallback
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.logger import configure

from sb3_qwr import QWR
from sb3_qwr.datasets import main as make_dataset_main
from sb3_qwr.offline import (
    OfflineDataset,
    SpacesOnlyEnv,
    as_offline_dataset,
    from_arrays,
    from_minari,
    from_npz,
    from_replay_buffer,
)
from sb3_qwr.offline.buffer import dataset_mu, make_replay_buffer

th.set_num_threads(1)

PENDULUM_SPACES = (gym.make("Pendulum-v1").observation_space, gym.make("Pendulum-v1").action_space)


class NoStepWrapper(gym.Wrapper):
    """An environment that fails the test if offline training steps it."""

    def step(self, action: Any) -> Any:
        raise AssertionError("offline training stepped the environment")


class RecordActions(gym.Wrapper):
    """Remember every action the environment received, and every transition."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.actions: list[Any] = []
        self.observations: list[Any] = []
        self.rewards: list[float] = []
        self._last_obs: Any = None

    def reset(self, **kwargs: Any) -> Any:
        obs, info = self.env.reset(**kwargs)
        self._last_obs = obs
        return obs, info

    def step(self, action: Any) -> Any:
        self.actions.append(np.array(action))
        self.observations.append(self._last_obs)
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.rewards.append(float(reward))
        self._last_obs = obs
        return obs, reward, terminated, truncated, info


def swing_up(obs: np.ndarray) -> np.ndarray:
    """An energy-based swing-up controller for Pendulum-v1 (mean return about -130), smooth for regression."""
    cos, sin, velocity = obs
    angle = np.arctan2(sin, cos)
    energy = velocity**2 / 6 + 5 * cos  # (1/2) I w^2 + (m g l / 2) cos(angle), upright energy 5
    pump = 2.0 * np.tanh(2.0 * velocity * (5.0 - energy))
    balance = -(10 * angle + 2 * velocity)
    alpha = 1 / (1 + np.exp(-(cos - 0.8) * 30))
    return np.clip([alpha * balance + (1 - alpha) * pump], -2, 2).astype(np.float32)


def cartpole_controller(obs: np.ndarray) -> int:
    """Push towards the side the pole falls to."""
    return int(obs[2] + 0.5 * obs[3] > 0)


def collect(env_id: str, policy: Any, n_episodes: int, noise: float, seed: int) -> OfflineDataset:
    """Episodes of ``policy`` with noise (Gaussian torque for Box, epsilon-random for Discrete), back to back."""
    rng = np.random.default_rng(seed)
    env = gym.make(env_id)
    fields: dict[str, list[Any]] = {k: [] for k in ("obs", "next_obs", "act", "rew", "term", "trunc")}
    for episode in range(n_episodes):
        obs, _ = env.reset(seed=seed + episode)
        done = False
        while not done:
            if isinstance(env.action_space, spaces.Box):
                action = np.clip(policy(obs) + rng.normal(0, noise, env.action_space.shape), -2, 2).astype(np.float32)
            else:
                action = policy(obs) if rng.random() > noise else int(rng.integers(env.action_space.n))
            next_obs, reward, terminated, truncated, _ = env.step(action)
            for key, value in zip(fields, (obs, next_obs, action, reward, terminated, truncated), strict=True):
                fields[key].append(value)
            obs, done = next_obs, terminated or truncated
    return from_arrays(
        observations=np.array(fields["obs"]),
        actions=np.array(fields["act"]),
        rewards=np.array(fields["rew"]),
        terminations=np.array(fields["term"]),
        truncations=np.array(fields["trunc"]),
        next_observations=np.array(fields["next_obs"]),
    )


def small_pendulum_dataset(n_steps: int = 10, seed: int = 0) -> OfflineDataset:
    """Random Pendulum-like arrays of two episodes (valid for Pendulum's spaces)."""
    rng = np.random.default_rng(seed)
    truncations = np.zeros(n_steps, dtype=bool)
    truncations[[n_steps // 2 - 1, n_steps - 1]] = True
    return from_arrays(
        observations=rng.uniform(-1, 1, (n_steps, 3)).astype(np.float32),
        actions=rng.uniform(-2, 2, (n_steps, 1)).astype(np.float32),
        rewards=rng.normal(size=n_steps),
        terminations=np.zeros(n_steps, dtype=bool),
        truncations=truncations,
        next_observations=rng.uniform(-1, 1, (n_steps, 3)).astype(np.float32),
    )


def assert_same(a: OfflineDataset, b: OfflineDataset) -> None:
    for name in ("observations", "actions", "rewards", "terminations", "truncations", "next_observations"):
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, dict):
            assert set(x) == set(y)
            for key in x:
                np.testing.assert_allclose(x[key], y[key], err_msg=f"{name}[{key}]")
        elif x is None:
            assert y is None, name
        else:
            np.testing.assert_allclose(np.asarray(x, dtype=float), np.asarray(y, dtype=float), err_msg=name)


# Loaders: each one round-trips a dataset it writes itself
def test_npz_round_trip(tmp_path: Path) -> None:
    dataset = small_pendulum_dataset()
    dataset.save_npz(tmp_path / "data.npz")
    loaded = from_npz(tmp_path / "data.npz")
    assert_same(dataset, loaded)
    loaded.validate(*PENDULUM_SPACES)
    assert as_offline_dataset(tmp_path / "data.npz").n_episodes == 2
    # Without next observations, and with the D4RL names of the episode flags.
    np.savez(
        tmp_path / "d4rl.npz",
        observations=dataset.observations,
        actions=dataset.actions,
        rewards=dataset.rewards,
        terminals=dataset.terminations,
        timeouts=dataset.truncations,
    )
    d4rl = from_npz(tmp_path / "d4rl.npz")
    assert d4rl.next_observations is None
    np.testing.assert_array_equal(d4rl.truncations, dataset.truncations)
    # Dict observations are stored as observations/<key>.
    dict_dataset = dataset.copy(observations={"a": dataset.observations, "b": np.arange(10)}, next_observations=None)
    dict_dataset.save_npz(tmp_path / "dict.npz")
    assert_same(dict_dataset, from_npz(tmp_path / "dict.npz"))


def test_npz_missing_field(tmp_path: Path) -> None:
    dataset = small_pendulum_dataset()
    np.savez(tmp_path / "bad.npz", observations=dataset.observations, actions=dataset.actions)
    with pytest.raises(ValueError, match=r"OfflineDataset\.rewards is missing.*bad\.npz"):
        from_npz(tmp_path / "bad.npz")


def _env_actions_match(recorded: RecordActions, dataset: OfflineDataset, first: int) -> None:
    n = len(dataset)
    np.testing.assert_allclose(np.array(recorded.actions[first : first + n]), dataset.actions, atol=1e-5)
    np.testing.assert_allclose(np.array(recorded.observations[first : first + n]), dataset.observations, atol=1e-6)
    np.testing.assert_allclose(np.array(recorded.rewards[first : first + n]), dataset.rewards, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("algo", ["sac", "qwr"])
def test_replay_buffer_round_trip(tmp_path: Path, algo: str) -> None:
    """SAC and QWR store Box actions in [-1, 1]: the loader gives back what the environment received."""
    env = RecordActions(gym.make("Pendulum-v1"))
    if algo == "sac":
        model: Any = SAC("MlpPolicy", env, buffer_size=300, learning_starts=10_000, seed=0, device="cpu")
    else:
        model = QWR("MlpPolicy", env, buffer_size=300, learning_starts=10_000, train_freq=50, seed=0, device="cpu")
    model.learn(450)  # two full episodes (time limit 200) and an open one; the buffer has wrapped
    model.save_replay_buffer(tmp_path / "buffer.pkl")
    dataset = from_replay_buffer(tmp_path / "buffer.pkl")
    dataset.validate(*PENDULUM_SPACES)
    assert len(dataset) == 300
    _env_actions_match(env, dataset, first=150)
    # The time limits at steps 200 and 400 are truncations, and the open episode is cut (truncated) at the end.
    np.testing.assert_array_equal(np.flatnonzero(dataset.truncations), [49, 249, 299])
    assert not dataset.terminations.any()
    # The stored next observation of a non-final step is the next step's observation.
    np.testing.assert_allclose(
        dataset.next_observations[:-1][~dataset.truncations[:-1]], dataset.observations[1:][~dataset.truncations[:-1]]
    )
    # QWR.load_dataset takes the saved buffer's path too.
    qwr = QWR("MlpPolicy", "Pendulum-v1", n_critic_steps=2, n_actor_steps=2, device="cpu")
    qwr.load_dataset(tmp_path / "buffer.pkl")
    assert qwr.replay_buffer.size() == 300


def test_replay_buffer_discrete_and_terminations(tmp_path: Path) -> None:
    env = RecordActions(gym.make("CartPole-v1"))
    model = DQN("MlpPolicy", env, buffer_size=1000, learning_starts=10_000, seed=0, device="cpu")
    model.learn(200)
    dataset = from_replay_buffer(model.replay_buffer)
    dataset.validate(env.observation_space, env.action_space)
    _env_actions_match(env, dataset, first=0)
    assert dataset.actions.dtype == np.int64 and dataset.terminations.sum() >= 5  # random CartPole falls fast
    assert dataset.truncations[-1] or dataset.terminations[-1]


def test_minari_round_trip(tmp_path: Path) -> None:
    """The dataset maker writes a local Minari dataset that from_minari and QWR.load_dataset read back."""
    policy = QWR("MlpPolicy", "Pendulum-v1", device="cpu", seed=0)
    policy.save(tmp_path / "policy.zip")
    environ = dict(os.environ)
    root = tmp_path / "minari"
    summary = make_dataset_main(
        [
            "--env", "Pendulum-v1", "--policies", str(tmp_path / "policy.zip"), "--algo", "qwr",
            "--episodes", "2", "--noise", "0.1", "--random", "1", "--dataset-id", "test/pendulum-v0",
            "--root", str(root), "--seed", "3",
        ]
    )  # fmt: skip
    assert dict(os.environ) == environ  # MINARI_DATASETS_PATH restored
    assert Path(summary.path).is_relative_to(root)
    assert summary.n_episodes == 3 and summary.n_steps == 600
    assert sorted(len(v) for v in summary.returns_by_source.values()) == [1, 2]

    dataset = from_minari("test/pendulum-v0", root=root)
    dataset.validate(*PENDULUM_SPACES)
    assert len(dataset) == 600 and dataset.n_episodes == 3
    np.testing.assert_allclose(
        sorted(dataset.episode_returns()), sorted(np.concatenate(list(summary.returns_by_source.values())))
    )
    np.testing.assert_allclose(dataset.next_observations[:199], dataset.observations[1:200])
    assert_same(dataset, from_minari(Path(summary.path)))  # a dataset directory works too
    import minari

    assert_same(dataset, from_minari(minari.MinariDataset(Path(summary.path) / "data")))

    # Replay: the policy episodes are reproducible from the seeds (noise aside, the resets match).
    env = gym.make("Pendulum-v1")
    first_obs, _ = env.reset(seed=3)
    np.testing.assert_allclose(dataset.observations[0], first_obs)

    model = QWR("MlpPolicy", "Pendulum-v1", n_critic_steps=2, n_actor_steps=2, device="cpu")
    loaded = model.load_dataset("test/pendulum-v0", minari_root=root)
    assert len(loaded) == 600 and model.replay_buffer.size() == 600


def test_dataset_min_steps(tmp_path: Path) -> None:
    """``--min-steps`` continues the policies' round-robin until their episodes hold enough steps."""
    policy = QWR("MlpPolicy", "CartPole-v1", device="cpu", seed=0)
    policy.save(tmp_path / "policy.zip")
    common = ["--env", "CartPole-v1", "--policies", str(tmp_path / "policy.zip"), "--algo", "qwr", "--noise", "0.0"]
    common += ["--root", str(tmp_path / "minari")]
    short = make_dataset_main([*common, "--episodes", "2", "--dataset-id", "test/short-v0"])
    longer = make_dataset_main([*common, "--episodes", "2", "--min-steps", "300", "--dataset-id", "test/long-v0"])
    lengths = [len(r) for r in longer.returns_by_source.values()]
    assert short.n_episodes == 2 and longer.n_episodes > 2 and lengths == [longer.n_episodes]
    assert longer.n_steps >= 300
    # Removing the last episode drops below the minimum: no episode more than needed.
    dataset = from_minari("test/long-v0", root=tmp_path / "minari")
    last_start = np.flatnonzero(dataset.terminations | dataset.truncations)[-2] + 1
    assert last_start < 300
    with pytest.raises(ValueError, match="min_steps"):
        make_dataset_main(["--env", "CartPole-v1", "--random", "2", "--min-steps", "10", "--dataset-id", "x/y-v0"])


# Checks of malformed input
def _mutations() -> list[tuple[str, dict[str, Any], str]]:
    d = small_pendulum_dataset()
    not_ended = d.truncations.copy()
    not_ended[-1] = False
    nan_obs = d.observations.copy()
    nan_obs[3, 1] = np.nan
    inf_rewards = d.rewards.copy()
    inf_rewards[2] = np.inf
    nan_actions = d.actions.copy()
    nan_actions[4] = np.nan
    big_actions = d.actions.copy()
    big_actions[5] = 2.5
    flags = d.terminations.astype(int)
    flags[1] = 2
    return [
        ("missing", {"rewards": None}, r"OfflineDataset\.rewards is missing"),
        ("missing_obs", {"observations": None}, r"OfflineDataset\.observations is missing"),
        (
            "length",
            {"actions": d.actions[:-1]},
            r"OfflineDataset\.actions has 9 steps but OfflineDataset\.observations has 10",
        ),
        ("next_length", {"next_observations": d.next_observations[:-2]}, r"OfflineDataset\.next_observations has 8 steps"),
        ("empty", {k: v[:0] for k, v in vars(d).items()}, r"OfflineDataset\.rewards is empty"),
        (
            "obs_shape",
            {"observations": d.observations[:, :2]},
            r"OfflineDataset\.observations has shape \(10, 2\), expected \(10, 3\)",
        ),
        (
            "next_obs_shape",
            {"next_observations": d.next_observations[:, None]},
            r"OfflineDataset\.next_observations has shape",
        ),
        (
            "action_shape",
            {"actions": np.repeat(d.actions, 2, axis=1)},
            r"OfflineDataset\.actions has shape \(10, 2\), expected \(10, 1\)",
        ),
        ("reward_shape", {"rewards": d.rewards[:, None]}, r"OfflineDataset\.rewards has shape \(10, 1\), expected \(10,\)"),
        ("obs_dtype", {"observations": d.observations.astype(str)}, r"OfflineDataset\.observations has dtype <U"),
        ("action_dtype", {"actions": d.actions.astype(bool)}, r"OfflineDataset\.actions has dtype bool"),
        ("obs_dict", {"observations": {"x": d.observations}}, r"OfflineDataset\.observations is a dict"),
        (
            "nan_obs",
            {"observations": nan_obs},
            r"OfflineDataset\.observations holds NaN or infinite values \(first at index \(3, 1\)\)",
        ),
        ("inf_rewards", {"rewards": inf_rewards}, r"OfflineDataset\.rewards holds NaN or infinite"),
        ("nan_actions", {"actions": nan_actions}, r"OfflineDataset\.actions holds NaN or infinite"),
        ("bounds", {"actions": big_actions}, r"OfflineDataset\.actions: step 5 has action \[2\.5\] outside the Box bounds"),
        ("flags", {"terminations": flags}, r"OfflineDataset\.terminations must hold booleans \(or 0/1\), got 2 at step 1"),
        ("last_step", {"truncations": not_ended}, r"last step \(9\) does not end an episode"),
    ]


@pytest.mark.parametrize(("changes", "message"), [m[1:] for m in _mutations()], ids=[m[0] for m in _mutations()])
def test_validate_errors(changes: dict[str, Any], message: str) -> None:
    dataset = small_pendulum_dataset().copy(**changes)
    with pytest.raises(ValueError, match=message):
        dataset.validate(*PENDULUM_SPACES)


def test_validate_errors_other_spaces() -> None:
    n = 4
    ends = np.array([False, True, False, True])
    discrete = from_arrays(np.zeros((n, 4), np.float32), np.array([0, 1, 2, 1]), np.zeros(n), ends, ~ends & False)
    with pytest.raises(ValueError, match=r"OfflineDataset\.actions: step 2 has value 2 outside the range \[0, 1\]"):
        discrete.validate(spaces.Box(-1, 1, (4,)), spaces.Discrete(2))
    with pytest.raises(ValueError, match=r"OfflineDataset\.actions has dtype float64: Discrete\(2\) needs integers"):
        discrete.copy(actions=np.zeros(n)).validate(spaces.Box(-1, 1, (4,)), spaces.Discrete(2))
    with pytest.raises(ValueError, match=r"not supported; QWR and AWR need Box or Discrete"):
        discrete.validate(spaces.Box(-1, 1, (4,)), spaces.MultiDiscrete([2, 2]))
    image_space = spaces.Box(0, 255, (2, 2, 1), np.uint8)
    images = discrete.copy(observations=np.full((n, 2, 2, 1), 0.5), actions=np.zeros(n, np.int64))
    with pytest.raises(ValueError, match=r"OfflineDataset\.observations has dtype float64, which does not fit .*uint8"):
        images.validate(image_space, spaces.Discrete(2))
    dict_space = spaces.Dict({"a": spaces.Box(-1, 1, (4,)), "b": spaces.Discrete(3)})
    good = discrete.copy(observations={"a": np.zeros((n, 4)), "b": np.array([0, 1, 2, 0])}, actions=np.zeros(n, np.int64))
    good.validate(dict_space, spaces.Discrete(2))
    with pytest.raises(ValueError, match=r"OfflineDataset\.observations\['b'\]: step 1 has value 5 outside the range"):
        good.copy(observations={"a": np.zeros((n, 4)), "b": np.array([0, 5, 2, 0])}).validate(dict_space, spaces.Discrete(2))
    with pytest.raises(ValueError, match=r"OfflineDataset\.observations has keys \['a'\], the observation space has"):
        good.copy(observations={"a": np.zeros((n, 4))}).validate(dict_space, spaces.Discrete(2))


def test_load_dataset_validates_before_replacing_the_buffer() -> None:
    model = QWR("MlpPolicy", "Pendulum-v1", n_critic_steps=2, n_actor_steps=2, device="cpu")
    buffer = model.replay_buffer
    bad = small_pendulum_dataset().copy(actions=np.full((10, 1), 3.0, np.float32))
    with pytest.raises(ValueError, match="outside the Box bounds"):
        model.load_dataset(bad)
    assert model.replay_buffer is buffer
    with pytest.raises(TypeError, match="Cannot load a dataset from a int"):
        model.load_dataset(3)
    with pytest.raises(ValueError, match=r"call model\.load_dataset"):
        model.learn_offline(1)


# mu and the replay buffer
def test_dataset_mu() -> None:
    box = spaces.Box(np.array([-2.0, 0.0], np.float32), np.array([2.0, 10.0], np.float32))
    params = dataset_mu(np.array([[1.0, 10.0], [-2.0, 5.0]]), box)
    np.testing.assert_allclose(params, [[0.5, 1.0, 0.4, 0.4], [-1.0, 0.0, 0.4, 0.4]])
    logits = dataset_mu(np.array([2, 0]), spaces.Discrete(3), discrete_epsilon=0.3)
    probs = th.softmax(th.as_tensor(logits), dim=-1).numpy()
    np.testing.assert_allclose(probs, [[0.1, 0.1, 0.8], [0.8, 0.1, 0.1]], rtol=1e-6)
    shifted = dataset_mu(np.array([5]), spaces.Discrete(3, start=4), discrete_epsilon=0.3)
    np.testing.assert_allclose(np.exp(shifted), [[0.1, 0.8, 0.1]], rtol=1e-6)
    with pytest.raises(ValueError, match="discrete_epsilon"):
        dataset_mu(np.array([0]), spaces.Discrete(3), discrete_epsilon=0.0)


def test_replay_buffer_contents() -> None:
    # Two episodes: a terminated one (steps 0-2) and a truncated one (steps 3-5), without next observations.
    obs = np.arange(6, dtype=np.float32)[:, None].repeat(3, axis=1)
    dataset = from_arrays(
        obs,
        np.array([[-2.0], [0.0], [2.0], [1.0], [1.0], [1.0]], np.float32),
        np.arange(6.0),
        np.array([0, 0, 1, 0, 0, 0], bool),
        np.array([0, 0, 0, 0, 0, 1], bool),
    )
    buffer = make_replay_buffer(dataset, *PENDULUM_SPACES, device="cpu")
    # The truncated end (step 5) has no next observation: it is dropped, step 4 becomes the truncated end.
    assert buffer.full and buffer.buffer_size == 5
    np.testing.assert_allclose(buffer.actions[:, 0, 0], [-1.0, 0.0, 1.0, 0.5, 0.5])
    np.testing.assert_allclose(buffer.next_observations[:, 0, 0], [1, 2, 2, 4, 5])
    np.testing.assert_array_equal(buffer.dones[:, 0], [0, 0, 1, 0, 1])
    np.testing.assert_array_equal(buffer.timeouts[:, 0], [0, 0, 0, 0, 1])
    np.testing.assert_allclose(buffer.mu[:, 0], [[-1, 0.4], [0, 0.4], [1, 0.4], [0.5, 0.4], [0.5, 0.4]])
    # A smaller buffer keeps the last transitions.
    with pytest.warns(UserWarning, match="only the last 2 are kept"):
        small = make_replay_buffer(dataset, *PENDULUM_SPACES, buffer_size=2, device="cpu")
    np.testing.assert_allclose(small.observations[:, 0, 0], [3, 4])
    # A bigger one is not full.
    big = make_replay_buffer(dataset, *PENDULUM_SPACES, buffer_size=8, device="cpu")
    assert not big.full and big.pos == 5


# Offline training
def test_offline_pendulum_beats_random() -> None:
    """
    Offline QWR on 8 noisy episodes of a swing-up controller (dataset return about -190) reaches a return a
    random policy cannot (about -1200), without a single environment step.
    """
    dataset = collect("Pendulum-v1", swing_up, n_episodes=8, noise=0.2, seed=100)
    assert dataset.episode_returns().mean() > -300
    model = QWR(
        "MlpPolicy",
        NoStepWrapper(gym.make("Pendulum-v1")),
        actor_learning_rate=3e-3,
        critic_learning_rate=3e-3,
        batch_size=256,
        n_critic_steps=150,
        n_actor_steps=500,
        policy_kwargs={"net_arch": [64, 64], "action_embed_dim": 64},
        seed=0,
        device="cpu",
    )
    model.load_dataset(dataset)
    model.learn_offline(n_iterations=4)
    assert model.num_timesteps == 0 and model._n_updates == 4 * 650
    eval_env = gym.make("Pendulum-v1")
    eval_env.reset(seed=1000)
    trained, _ = evaluate_policy(model, eval_env, n_eval_episodes=10, deterministic=True, warn=False)
    eval_env.action_space.seed(0)
    eval_env.reset(seed=1000)
    random_returns = []
    for _ in range(10):
        eval_env.reset()
        done, total = False, 0.0
        while not done:
            _, reward, terminated, truncated, _ = eval_env.step(eval_env.action_space.sample())
            total, done = total + float(reward), terminated or truncated
        random_returns.append(total)
    assert np.mean(random_returns) < -900
    assert trained > -800, trained


def test_offline_discrete_cartpole(tmp_path: Path) -> None:
    """A Discrete dataset: offline training on noisy CartPole episodes, with callbacks, logs and a progress bar."""
    dataset = collect("CartPole-v1", cartpole_controller, n_episodes=10, noise=0.5, seed=100)
    assert dataset.episode_returns().mean() < 150  # epsilon-greedy data
    model = QWR(
        "MlpPolicy",
        NoStepWrapper(gym.make("CartPole-v1")),
        actor_learning_rate=1e-3,
        critic_learning_rate=1e-3,
        batch_size=64,
        n_critic_steps=200,
        n_actor_steps=200,
        policy_kwargs={"net_arch": [64, 64], "action_embed_dim": 64},
        seed=1,
        device="cpu",
    )
    model.load_dataset(dataset)
    np.testing.assert_allclose(th.softmax(th.as_tensor(model.replay_buffer.mu[0, 0]), -1).max(), 0.995, rtol=1e-5)
    model.set_logger(configure(str(tmp_path / "logs"), ["csv"]))

    class CountCalls(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.starts = 0

        def _on_training_start(self) -> None:
            self.starts += 1

        def _on_step(self) -> bool:
            return True

    counter = CountCalls()
    eval_env = gym.make("CartPole-v1")
    evaluation = EvalCallback(eval_env, eval_freq=1, n_eval_episodes=3, log_path=str(tmp_path / "eval"), warn=False, verbose=0)
    model.learn_offline(n_iterations=3, callback=[counter, evaluation], progress_bar=True)
    assert counter.n_calls == 3 and counter.starts == 1
    assert len(evaluation.evaluations_results) == 3  # evaluated after every iteration
    assert evaluation.last_mean_reward > 100, evaluation.evaluations_results  # random CartPole: about 22
    with open(tmp_path / "logs" / "progress.csv") as file:
        rows = list(csv.DictReader(file))
    assert [row["offline/iteration"] for row in rows if row["offline/iteration"]] == ["1", "2", "3"]
    assert sum(bool(row["train/critic_loss"]) for row in rows) == 3
    assert sum(bool(row["train/actor_loss"]) for row in rows) == 3

    # save / load keep the trained policy.
    model.save(tmp_path / "offline.zip")
    loaded = QWR.load(tmp_path / "offline.zip", device="cpu")
    observations = dataset.observations[:50]
    np.testing.assert_array_equal(
        loaded.predict(observations, deterministic=True)[0], model.predict(observations, deterministic=True)[0]
    )

    # A callback returning False stops the training; reset_num_timesteps=False continues the iteration count.
    model.learn_offline(n_iterations=5, callback=lambda _locals, _globals: False, reset_num_timesteps=False)
    assert model._offline_iteration == 4


def test_spaces_only_env() -> None:
    """A model can be built from the dataset's spaces alone, trained offline, then evaluated on the real env."""
    model = QWR("MlpPolicy", SpacesOnlyEnv(*PENDULUM_SPACES), n_critic_steps=3, n_actor_steps=3, batch_size=8, device="cpu")
    model.load_dataset(small_pendulum_dataset(20))
    model.learn_offline(2)
    assert model._n_updates == 12
    model.env.reset()
    with pytest.raises(RuntimeError, match="cannot be stepped"):
        model.env.step([model.action_space.sample()])
    evaluate_policy(model, gym.make("Pendulum-v1"), n_eval_episodes=1, warn=False)
