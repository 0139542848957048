"""
Everything that needs a CUDA device, in one file (``benchmarks.gpu_check`` runs it by name): training on the GPU in
float32, bfloat16 and compiled, and a smoke over QWR and AWR on Box, Discrete and image observations with
``save``, ``load(device="cpu")``, ``learn_offline`` and an exact-resume checkpoint. Skipped without CUDA.
"""

from pathlib import Path

import pytest
import torch as th
from stable_baselines3.common.envs import FakeImageEnv
from stable_baselines3.common.vec_env import DummyVecEnv

from sb3_qwr import AWR, QWR
from sb3_qwr.resume import remaining_timesteps, resume, save_checkpoint

pytestmark = pytest.mark.skipif(not th.cuda.is_available(), reason="needs a CUDA device")

FAST = {"train_freq": 200, "n_critic_steps": 20, "n_actor_steps": 20, "batch_size": 64, "buffer_size": 2000}
ENVS = {
    "box": ("MlpPolicy", lambda: DummyVecEnv([lambda: __import__("gymnasium").make("Pendulum-v1")])),
    "discrete": ("MlpPolicy", lambda: DummyVecEnv([lambda: __import__("gymnasium").make("CartPole-v1")])),
    "image": ("CnnPolicy", lambda: DummyVecEnv([lambda: FakeImageEnv(screen_height=40, screen_width=40, discrete=True)])),
}


def test_cuda_training() -> None:
    model = QWR("MlpPolicy", "Pendulum-v1", device="cuda", seed=0, **FAST).learn(400)
    assert next(model.policy.parameters()).is_cuda


def test_bf16_on_cuda() -> None:
    model = QWR("MlpPolicy", "Pendulum-v1", precision="bf16", device="cuda", seed=0, **FAST).learn(400)
    assert next(model.policy.parameters()).is_cuda and next(model.policy.parameters()).dtype == th.float32


def test_compile_updates_on_cuda() -> None:
    model = QWR("MlpPolicy", "Pendulum-v1", precision="bf16", compile_updates=True, device="cuda", **FAST).learn(400)
    assert set(model._compiled_hooks) == {"td_targets", "actor_loss"}
    assert all(th.isfinite(param).all() for param in model.policy.parameters())


@pytest.mark.parametrize("algo", [QWR, AWR])
@pytest.mark.parametrize("space", sorted(ENVS))
def test_cuda_smoke(algo: type, space: str, tmp_path: Path) -> None:
    policy, make_env = ENVS[space]
    model = algo(policy, make_env(), device="cuda", seed=0, **FAST)
    model.learn(400)
    assert all(param.is_cuda and th.isfinite(param).all() for param in model.policy.parameters())
    model.save(tmp_path / "model")
    model.save_replay_buffer(tmp_path / "buffer")
    on_cpu = algo.load(tmp_path / "model", env=make_env(), device="cpu")
    on_cpu.load_replay_buffer(tmp_path / "buffer")
    assert not next(on_cpu.policy.parameters()).is_cuda
    on_cpu.learn_offline(1)
    save_checkpoint(model, tmp_path / "checkpoint.zip")
    resumed = resume(tmp_path / "checkpoint.zip", make_env(), device="cuda")
    resumed.learn(remaining_timesteps(resumed) + 200, reset_num_timesteps=False)
    assert resumed.num_timesteps == 600
