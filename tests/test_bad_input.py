"""Bad input gets a clear error that names the problem, before any work is lost; untrusted files never run code."""

import os
import pickle
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3 import SAC
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.envs import IdentityEnvBox
from stable_baselines3.sac.policies import SACPolicy

from sb3_qwr import AWR, QWR
from sb3_qwr.datasets import load_obs_normalizer
from sb3_qwr.offline import OfflineDataset, UntrustedPickleError

NAN, INF = float("nan"), float("inf")
SMALL = {"train_freq": 100, "n_critic_steps": 2, "n_actor_steps": 2, "batch_size": 16, "buffer_size": 500, "seed": 0}


class NoStep(gym.Wrapper):
    """Fails the test if the environment is stepped: the error must come before any work."""

    def step(self, action: Any) -> Any:
        raise AssertionError("the environment was stepped")


def pendulum() -> gym.Env:
    return NoStep(gym.make("Pendulum-v1"))


# 1, 2: every float hyperparameter finite and in range; learning rates and their schedules checked
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"beta": NAN}, "`beta` .* must be finite"),
        ({"backup_temperature": NAN}, "`backup_temperature` .* must be finite"),
        ({"max_weight": NAN}, "`max_weight` .* must be finite"),
        ({"max_grad_norm": NAN}, "`max_grad_norm` .* must be finite"),
        ({"gamma": NAN}, "`gamma` must be finite"),
        ({"td_lambda": NAN}, "`td_lambda` must be finite"),
        ({"beta": INF}, "`beta` .* must be finite"),
        ({"policy_kwargs": {"action_std": NAN}}, "`action_std` .* must be finite"),
        ({"policy_kwargs": {"action_std": -0.4}}, "`action_std` .* must be > 0"),
        ({"actor_learning_rate": -1e-4}, "`actor_learning_rate` .* must be > 0"),
        ({"actor_learning_rate": NAN}, "`actor_learning_rate` .* must be finite"),
        ({"actor_learning_rate": INF}, "`actor_learning_rate` .* must be finite"),
        ({"critic_learning_rate": INF}, "`critic_learning_rate` .* must be finite"),
        ({"actor_learning_rate": lambda progress: NAN if progress == 0 else 1e-4}, r"`actor_learning_rate\(0.0\)`"),
        ({"critic_learning_rate": lambda progress: -1e-3 * progress}, r"`critic_learning_rate\(1.0\)` .* must be > 0"),
        ({"n_critic_steps": 2.5}, "`n_critic_steps` must be an integer >= 1"),
        ({"precision": "fp16"}, "Unknown `precision`"),
        ({"compile_updates": "yes"}, "`compile_updates` must be True or False"),
    ],
)
def test_bad_hyperparameters(kwargs: dict[str, Any], message: str):
    with pytest.raises(ValueError, match=message):
        QWR("MlpPolicy", pendulum(), **kwargs)


@pytest.mark.parametrize("kwargs", [{"beta": NAN}, {"actor_learning_rate": -1.0}, {"td_lambda": 2.0}])
def test_awr_checks_the_same(kwargs: dict[str, Any]):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        AWR("MlpPolicy", pendulum(), **kwargs)


# 3, 10: action spaces, policies and buffer options that cannot work, refused at construction
class SpaceEnv(IdentityEnvBox):
    def __init__(self, action_space: spaces.Space):
        super().__init__()
        self.action_space = action_space


@pytest.mark.parametrize(
    ("space", "message"),
    [
        (spaces.Discrete(4, start=2), "Discrete actions numbered from 0.*start=2.*ActionWrapper"),
        (spaces.Box(-3, 3, (2,), dtype=np.int64), r"Box action space of floats .*, got dtype int64"),
    ],
)
def test_unusable_action_spaces(space: spaces.Space, message: str):
    with pytest.raises(ValueError, match=message):
        QWR("MlpPolicy", SpaceEnv(space))


def test_action_noise_is_refused_before_any_step():
    from stable_baselines3.common.noise import NormalActionNoise

    model = QWR("MlpPolicy", "Pendulum-v1", train_freq=50, n_critic_steps=1, n_actor_steps=1, batch_size=16, buffer_size=100)
    model.action_noise = NormalActionNoise(np.zeros(1), np.ones(1))
    with pytest.raises(ValueError, match="does not support action_noise"):
        model.learn(50)
    assert model.num_timesteps == 0 and model.replay_buffer.size() == 0


def test_foreign_policy_class_and_buffer_options():
    with pytest.raises(ValueError, match=r"QWR needs one of its own policies .* got SACPolicy"):
        QWR(SACPolicy, pendulum())
    with pytest.raises(ValueError, match="AWR needs one of its own policies"):
        AWR(QWR.policy_aliases["MlpPolicy"], pendulum())
    with pytest.raises(ValueError, match="optimize_memory_usage=True"):
        QWR("MlpPolicy", pendulum(), replay_buffer_kwargs={"optimize_memory_usage": True})


def test_loading_another_algorithms_model(tmp_path: Path):
    SAC("MlpPolicy", "Pendulum-v1", buffer_size=100).save(tmp_path / "sac.zip")
    with pytest.raises(ValueError, match="saved by another algorithm: load it with that algorithm's class"):
        QWR.load(tmp_path / "sac.zip")


# 7: load re-checks what it replaces
def test_load_checks_replaced_hyperparameters(tmp_path: Path):
    QWR("MlpPolicy", "Pendulum-v1", **SMALL).save(tmp_path / "qwr.zip")
    with pytest.raises(ValueError, match=r"`beta` .* must be > 0"):
        QWR.load(tmp_path / "qwr.zip", beta=-3.0)
    with pytest.raises(ValueError, match=r"`beta` .* must be finite"):
        QWR.load(tmp_path / "qwr.zip", custom_objects={"beta": NAN})
    with pytest.raises(ValueError, match="Unknown `backup`"):
        QWR.load(tmp_path / "qwr.zip", backup="softmax")
    assert QWR.load(tmp_path / "qwr.zip", beta=2.0).beta == 2.0


# 4: non-finite observations, rewards and training values stop training with a clear error
class CorruptAt(gym.Wrapper):
    """Returns a NaN (or inf) observation or reward at one step."""

    def __init__(self, env: gym.Env, step: int, field: str, value: float):
        super().__init__(env)
        self.at, self.field, self.value, self.count = step, field, value, 0

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.count += 1
        if self.count == self.at:
            if self.field == "obs":
                obs = np.full_like(obs, self.value)
            else:
                reward = self.value
        return obs, reward, terminated, truncated, info


@pytest.mark.parametrize("env_id", ["Pendulum-v1", "CartPole-v1"])
@pytest.mark.parametrize(("field", "value", "message"), [("obs", NAN, "(next )?observation"), ("reward", INF, "reward")])
def test_non_finite_transitions_stop_training(env_id: str, field: str, value: float, message: str):
    model = QWR("MlpPolicy", CorruptAt(gym.make(env_id), 250, field, value), **SMALL)
    with pytest.raises(ValueError, match=f"non-finite {message} .* VecCheckNan"):
        model.learn(400)
    assert all(th.isfinite(p).all() for p in model.policy.parameters())
    assert np.isfinite(model.replay_buffer.rewards).all() and np.isfinite(model.replay_buffer.observations).all()


def test_non_finite_training_phase_restores_the_networks():
    model = QWR("MlpPolicy", "Pendulum-v1", **SMALL).learn(100)
    before = [p.detach().clone() for p in model.policy.parameters()]
    adam_steps = [state["step"].clone() for state in model.critic.optimizer.state.values()]
    model.window_td_targets = lambda batches: [th.full((d.rewards.shape[0],), NAN) for d in batches]  # type: ignore[method-assign]
    with pytest.raises(FloatingPointError, match=r"non-finite target .* restored .* VecCheckNan"):
        model.train(1, model.batch_size)
    for old, new in zip(before, model.policy.parameters(), strict=True):
        assert th.equal(old, new)
    assert [state["step"] for state in model.critic.optimizer.state.values()] == adam_steps


# 5: loading data never runs code from the file unless the caller trusts it
class RunsCode:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self) -> Any:
        return (os.system, (f"touch {self.marker}",))


def test_untrusted_pickles_do_not_run(tmp_path: Path):
    marker = tmp_path / "code-ran"
    with open(tmp_path / "evil.pkl", "wb") as file:
        pickle.dump(RunsCode(marker), file)
    model = QWR("MlpPolicy", "Pendulum-v1", **SMALL)
    with pytest.raises(UntrustedPickleError, match=r"names (posix|nt)\.system, .* pass trusted=True"):
        model.load_dataset(tmp_path / "evil.pkl")
    with pytest.raises(UntrustedPickleError, match="system"):
        load_obs_normalizer(tmp_path / "evil.pkl")
    assert not marker.exists()


def test_sb3_buffers_and_vecnormalize_load_without_trust(tmp_path: Path):
    sac = SAC("MlpPolicy", "Pendulum-v1", buffer_size=300, learning_starts=50, train_freq=50, gradient_steps=1)
    sac.learn(120)
    sac.save_replay_buffer(tmp_path / "sac.pkl")
    model = QWR("MlpPolicy", "Pendulum-v1", **SMALL)
    assert len(model.load_dataset(tmp_path / "sac.pkl")) == sac.replay_buffer.size() > 0


# 6: replay buffers the model cannot use are refused at load, before replacing its own
def test_load_replay_buffer_refuses_unusable_buffers(tmp_path: Path):
    sac = SAC("MlpPolicy", "Pendulum-v1", buffer_size=300, learning_starts=50)
    sac.learn(60)
    sac.save_replay_buffer(tmp_path / "sac.pkl")
    QWR("MlpPolicy", "Pendulum-v1", n_step_horizon=3, **SMALL).learn(100).save_replay_buffer(tmp_path / "qwr3.pkl")
    model = QWR("MlpPolicy", "Pendulum-v1", n_step_horizon=5, **SMALL)
    own = model.replay_buffer
    with pytest.raises(ValueError, match=r"does not store the distribution .* model.load_dataset"):
        model.load_replay_buffer(tmp_path / "sac.pkl")
    with pytest.raises(ValueError, match="3-step sequences but the model's n_step_horizon is 5"):
        model.load_replay_buffer(tmp_path / "qwr3.pkl")
    assert model.replay_buffer is own


# 8, 9: offline datasets
def test_offline_dataset_then_several_envs_and_missing_files(tmp_path: Path):
    env = gym.make("Pendulum-v1")
    n = 200
    dataset = OfflineDataset(
        observations=np.stack([env.observation_space.sample() for _ in range(n)]),
        actions=np.stack([env.action_space.sample() for _ in range(n)]),
        rewards=np.zeros(n, dtype=np.float32),
        terminations=np.zeros(n, dtype=bool),
        truncations=np.arange(n) % 50 == 49,
    )
    model = QWR("MlpPolicy", make_vec_env("Pendulum-v1", n_envs=2), **SMALL)
    with pytest.raises(ValueError, match=r"`action_std` .* must be finite"):
        model.load_dataset(dataset, action_std=NAN)
    model.load_dataset(dataset)
    with pytest.raises(ValueError, match=r"1 env column.* 2 envs .* load_dataset"):
        model.learn(100)
    with pytest.raises(FileNotFoundError, match=r"missing\.npz"):
        model.load_dataset(tmp_path / "missing.npz")
    with pytest.raises(FileNotFoundError, match=r"missing\.pkl"):
        model.load_dataset(str(tmp_path / "missing.pkl"))
