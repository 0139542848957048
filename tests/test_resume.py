"""
Exact resume (:mod:`sb3_qwr.resume`): a run stopped anywhere and resumed from its last checkpoint ends with the
same weights, optimizer states and replay buffer as the run that was never stopped, bit for bit (CPU, one torch
thread); SB3's own save/load does not (the control that shows the comparison can fail).
"""

import io
import os
import signal
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import ale_py
import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.env_util import make_atari_env, make_vec_env
from stable_baselines3.common.envs import SimpleMultiObsEnv
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecFrameStack, VecNormalize, VecTransposeImage

from sb3_qwr import AWR, QWR
from sb3_qwr.offline import UntrustedPickleError
from sb3_qwr.resume import (
    CheckpointCallback,
    CheckpointError,
    ResumableEnv,
    UnsupportedEnvironmentError,
    remaining_timesteps,
    resume,
    save_checkpoint,
)

SMALL_QWR = {"n_critic_steps": 10, "n_actor_steps": 10, "train_freq": 100, "batch_size": 32, "buffer_size": 2000}


def dict_env() -> gym.Env:
    """SB3's Dict-observation grid (an image and a vector), its random observation table drawn from a seeded global
    generator (the env draws it from NumPy's global one when built, before any seed reaches it)."""
    np.random.seed(0)
    return SimpleMultiObsEnv(random_start=True)


class Case(NamedTuple):
    algo: type[BaseAlgorithm]
    env: str | Callable[[], gym.Env]
    n_envs: int
    kwargs: dict[str, Any]
    policy: str = "MlpPolicy"
    subproc: bool = False


CASES: dict[str, Case] = {
    "qwr-pendulum": Case(QWR, "Pendulum-v1", 1, SMALL_QWR),
    "qwr-cartpole": Case(QWR, "CartPole-v1", 1, SMALL_QWR),
    "qwr-hopper": Case(QWR, "Hopper-v5", 1, SMALL_QWR),
    "qwr-pendulum-2envs": Case(QWR, "Pendulum-v1", 2, SMALL_QWR),
    "qwr-pendulum-bf16": Case(QWR, "Pendulum-v1", 1, {**SMALL_QWR, "precision": "bf16"}),
    "qwr-cartpole-subproc-2envs": Case(QWR, "CartPole-v1", 2, SMALL_QWR, subproc=True),
    "qwr-dict": Case(QWR, lambda: dict_env(), 1, SMALL_QWR, "MultiInputPolicy"),
    "awr-cartpole": Case(AWR, "CartPole-v1", 1, SMALL_QWR),
    "awr-pendulum-2envs": Case(AWR, "Pendulum-v1", 2, SMALL_QWR),
    "sac-pendulum": Case(SAC, "Pendulum-v1", 1, {"learning_starts": 100, "batch_size": 32, "buffer_size": 2000}),
    "sac-hopper-2envs": Case(SAC, "Hopper-v5", 2, {"learning_starts": 100, "batch_size": 32, "buffer_size": 2000}),
    "ppo-cartpole": Case(PPO, "CartPole-v1", 1, {"n_steps": 64, "batch_size": 32, "n_epochs": 2}),
}
N = 500


def make_env(
    env_id: str | Callable[[], gym.Env], n_envs: int, seed: int = 0, normalize: bool = False, subproc: bool = False
) -> Any:
    if subproc:
        venv = make_vec_env(env_id, n_envs=n_envs, seed=seed, vec_env_cls=SubprocVecEnv, wrapper_class=ResumableEnv)
    else:
        venv = make_vec_env(env_id, n_envs=n_envs, seed=seed, vec_env_cls=DummyVecEnv)
    return VecNormalize(venv, norm_reward=True) if normalize else venv


def state_of(model: BaseAlgorithm) -> dict[str, Any]:
    """Everything compared: weights, optimizer states, counters and the replay buffer's arrays."""
    optimizers = [model.policy.optimizer] if hasattr(model.policy, "optimizer") else []
    optimizers += [
        getattr(model, name).optimizer for name in ("actor", "critic") if hasattr(getattr(model, name, None), "optimizer")
    ]
    buffer = getattr(model, "replay_buffer", None)
    return {
        "params": {key: value.clone() for key, value in model.policy.state_dict().items()},
        "optimizers": [io.BytesIO(pickled(opt.state_dict())).getvalue() for opt in optimizers],
        "counters": (model.num_timesteps, model._n_updates, model._episode_num),
        "buffer": None if buffer is None else {k: v.copy() for k, v in vars(buffer).items() if isinstance(v, np.ndarray)},
    }


def pickled(value: Any) -> bytes:
    out = io.BytesIO()
    th.save(value, out)
    return out.getvalue()


def assert_same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["counters"] == b["counters"]
    for key, value in a["params"].items():
        assert th.equal(value, b["params"][key]), key
    for first, second in zip(a["optimizers"], b["optimizers"], strict=True):
        fa, fb = th.load(io.BytesIO(first)), th.load(io.BytesIO(second))
        for group, other in zip(fa["state"].values(), fb["state"].values(), strict=True):
            for name in group:
                assert th.equal(th.as_tensor(group[name]), th.as_tensor(other[name])), name
    if a["buffer"] is not None:
        assert a["buffer"].keys() == b["buffer"].keys()
        for name, value in a["buffer"].items():
            assert np.array_equal(value, b["buffer"][name]), name


class StopAt(BaseCallback):
    """Stops ``learn`` in the middle of a collection: the crash the checkpoint must survive."""

    def __init__(self, step: int) -> None:
        super().__init__()
        self.step = step

    def _on_step(self) -> bool:
        return self.num_timesteps < self.step


def straight(case: str, normalize: bool = False) -> dict[str, Any]:
    c = CASES[case]
    model = c.algo(c.policy, make_env(c.env, c.n_envs, normalize=normalize, subproc=c.subproc), seed=0, **c.kwargs)
    model.learn(N)
    model.env.close()
    return state_of(model)


@pytest.mark.parametrize("case", sorted(CASES))
def test_stopped_and_resumed_equals_straight(case: str, tmp_path: Path) -> None:
    c = CASES[case]
    expected = straight(case)
    path = tmp_path / "checkpoint.zip"
    stopped = c.algo(c.policy, make_env(c.env, c.n_envs, subproc=c.subproc), seed=0, **c.kwargs)
    stopped.learn(N, callback=CallbackList([CheckpointCallback(path, save_freq=200), StopAt(350)]))
    stopped.env.close()
    assert stopped.num_timesteps < N
    # A new environment with other seeds: the checkpoint sets every generator and episode.
    model = resume(path, make_env(c.env, c.n_envs, seed=123, subproc=c.subproc))
    assert type(model) is c.algo and 200 <= model.num_timesteps < 350
    model.learn(remaining_timesteps(model), reset_num_timesteps=False)
    model.env.close()
    assert_same(expected, state_of(model))


def make_atari(seed: int = 0) -> Any:
    """Pong with the Zoo's Atari wrappers (sticky actions on, so that ALE's own generator matters), 4 frames stacked."""
    gym.register_envs(ale_py)
    env = make_atari_env("PongNoFrameskip-v4", n_envs=1, seed=seed, env_kwargs={"repeat_action_probability": 0.25})
    return VecTransposeImage(VecFrameStack(env, n_stack=4))


def test_atari_mid_episode_resume_equals_straight(tmp_path: Path) -> None:
    kwargs = {**SMALL_QWR, "n_critic_steps": 2, "n_actor_steps": 2, "buffer_size": 600}
    straight_model = QWR("CnnPolicy", make_atari(), seed=0, **kwargs)
    straight_model.learn(N)
    expected = state_of(straight_model)
    path = tmp_path / "checkpoint.zip"
    stopped = QWR("CnnPolicy", make_atari(), seed=0, **kwargs)
    stopped.learn(N, callback=CallbackList([CheckpointCallback(path, save_freq=200), StopAt(350)]))
    # Pong's first episode is longer than 350 steps: the checkpoint is mid-episode, the frame stack full.
    assert stopped._episode_num == 0
    model = resume(path, make_atari(seed=9))
    model.learn(remaining_timesteps(model), reset_num_timesteps=False)
    assert_same(expected, state_of(model))


def test_vecnormalize_and_method_entry_points(tmp_path: Path) -> None:
    expected = straight("qwr-hopper", normalize=True)
    first = QWR("MlpPolicy", make_env("Hopper-v5", 1, normalize=True), seed=0, **SMALL_QWR)
    first.learn(N, callback=CallbackList([CheckpointCallback(tmp_path / "c.zip", save_freq=300), StopAt(450)]))
    model = QWR.resume(tmp_path / "c.zip", make_env("Hopper-v5", 1, seed=5, normalize=True))
    assert model.get_vec_normalize_env() is not None
    model.learn(remaining_timesteps(model), reset_num_timesteps=False)
    assert_same(expected, state_of(model))
    # save_checkpoint as a method, between learn calls.
    assert model.save_checkpoint(tmp_path / "d.zip").is_file()


def test_sb3_save_load_is_not_exact(tmp_path: Path) -> None:
    """The control: SB3's save/load with the replay buffer is another run (what the issue measured)."""
    expected = straight("qwr-pendulum")
    model = QWR("MlpPolicy", make_env("Pendulum-v1", 1), seed=0, **SMALL_QWR)
    model.learn(300)
    model.save(tmp_path / "m")
    model.save_replay_buffer(tmp_path / "b")
    loaded = QWR.load(tmp_path / "m", env=make_env("Pendulum-v1", 1))
    loaded.load_replay_buffer(tmp_path / "b")
    loaded.learn(N - 300, reset_num_timesteps=False)
    ours = state_of(loaded)
    assert not all(th.equal(value, ours["params"][key]) for key, value in expected["params"].items())


# ----------------------------------------------------------------------------------------------------------
# SIGKILL in a subprocess: inside collection, inside a training phase, inside a checkpoint write
# ----------------------------------------------------------------------------------------------------------

SCRIPT = """
import os, signal, sys, zipfile
import numpy as np
import torch as th
th.set_num_threads(1)
import ale_py, gymnasium as gym
from stable_baselines3 import SAC
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.env_util import make_atari_env, make_vec_env
from stable_baselines3.common.envs import SimpleMultiObsEnv
from stable_baselines3.common.vec_env import DummyVecEnv, VecFrameStack, VecTransposeImage
from sb3_qwr import AWR, QWR
from sb3_qwr.resume import CheckpointCallback, remaining_timesteps, resume

gym.register_envs(ale_py)
where, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
algo, env_name, n_envs, policy, kwargs, n = {algo}, {env!r}, {n_envs}, {policy!r}, {kwargs!r}, {n}


def dict_env():
    np.random.seed(0)
    return SimpleMultiObsEnv(random_start=True)


def env(seed):
    if env_name == "pong":
        atari = make_atari_env("PongNoFrameskip-v4", n_envs=n_envs, seed=seed, env_kwargs=dict(repeat_action_probability=0.25))
        return VecTransposeImage(VecFrameStack(atari, n_stack=4))
    return make_vec_env(dict_env if env_name == "dict" else env_name, n_envs=n_envs, seed=seed, vec_env_cls=DummyVecEnv)


def kill():
    os.kill(os.getpid(), signal.SIGKILL)


def save(model):
    optimizers = [model.policy.optimizer] if hasattr(model.policy, "optimizer") else []
    for name in ("actor", "critic"):
        if hasattr(getattr(model, name, None), "optimizer"):
            optimizers.append(getattr(model, name).optimizer)
    buffer = {{}}
    for name, value in vars(model.replay_buffer).items():
        for key, array in (value.items() if isinstance(value, dict) else [(name, value)]):
            if isinstance(array, np.ndarray):
                buffer[f"{{name}}.{{key}}"] = th.from_numpy(np.ascontiguousarray(array).copy())
    counters = th.tensor([model.num_timesteps, model._n_updates, model._episode_num])
    optimizer_states = [optimizer.state_dict() for optimizer in optimizers]
    th.save(dict(params=model.policy.state_dict(), optimizers=optimizer_states, buffer=buffer, counters=counters), out)


class KillInCollection(BaseCallback):
    def _on_step(self):
        if self.num_timesteps >= 350:
            kill()
        return True


if where == "resume":
    model = resume(path, env(99))
    model.learn(remaining_timesteps(model), reset_num_timesteps=False)
    save(model)
    sys.exit(0)
model = algo(policy, env(0), seed=0, **kwargs)
callbacks = [CheckpointCallback(path, save_freq=200)]
if where == "collect":
    callbacks.append(KillInCollection())
elif where == "train":  # the third optimizer step of a training phase after step 400
    original_step, steps = th.optim.Adam.step, [0]
    def step(self, *args, **kw):
        if model.num_timesteps >= 400:
            steps[0] += 1
            if steps[0] == 3:
                kill()
        return original_step(self, *args, **kw)
    th.optim.Adam.step = step
elif where == "write":
    original = zipfile.ZipFile.writestr
    def writestr(self, name, data, *args, **kw):
        if model.num_timesteps >= 400 and name == "replay_buffer.pkl":
            original(self, name, data[: len(data) // 2], *args, **kw)
            kill()
        return original(self, name, data, *args, **kw)
    zipfile.ZipFile.writestr = writestr
model.learn(n, callback=CallbackList(callbacks))
save(model)
"""

#: (algorithm, env, n_envs, policy, kwargs, where): QWR on Pendulum at each kill point, then the other cases once.
SIGKILL_CASES = {
    "qwr-pendulum-collect": ("QWR", "Pendulum-v1", 1, "MlpPolicy", SMALL_QWR, "collect"),
    "qwr-pendulum-train": ("QWR", "Pendulum-v1", 1, "MlpPolicy", SMALL_QWR, "train"),
    "qwr-pendulum-write": ("QWR", "Pendulum-v1", 1, "MlpPolicy", SMALL_QWR, "write"),
    "qwr-hopper-train": ("QWR", "Hopper-v5", 1, "MlpPolicy", SMALL_QWR, "train"),
    "qwr-dict-bf16-collect": ("QWR", "dict", 1, "MultiInputPolicy", {**SMALL_QWR, "precision": "bf16"}, "collect"),
    "qwr-pong-train": ("QWR", "pong", 1, "CnnPolicy", {**SMALL_QWR, "n_critic_steps": 4, "buffer_size": 600}, "train"),
    "awr-cartpole-2envs-train": ("AWR", "CartPole-v1", 2, "MlpPolicy", SMALL_QWR, "train"),
    "sac-pendulum-2envs-write": ("SAC", "Pendulum-v1", 2, "MlpPolicy", CASES["sac-pendulum"].kwargs, "write"),
}


@pytest.mark.parametrize("case", sorted(SIGKILL_CASES))
def test_sigkill_then_resume_is_bit_identical(case: str, tmp_path: Path) -> None:
    algo, env_name, n_envs, policy, kwargs, where = SIGKILL_CASES[case]
    script = tmp_path / "run.py"
    script.write_text(SCRIPT.format(algo=algo, env=env_name, n_envs=n_envs, policy=policy, kwargs=kwargs, n=N))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(Path.cwd()), *sys.path])}
    path, out = tmp_path / "checkpoint.zip", tmp_path / "final.pt"

    def run(mode: str, target: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(script), mode, str(path), str(target)], env=env, capture_output=True, text=True, timeout=300
        )

    straight_run = run("none", tmp_path / "straight.pt")
    assert straight_run.returncode == 0, straight_run.stderr[-3000:]
    path.unlink()
    killed = run(where, out)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert not out.exists()
    # The kill during a write left the previous checkpoint whole (and a temporary file at most).
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
    resumed = run("resume", out)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    expected, ours = th.load(tmp_path / "straight.pt"), th.load(out)
    assert th.equal(expected["counters"], ours["counters"])
    for key, value in expected["params"].items():
        assert th.equal(value, ours["params"][key]), key
    for first, second in zip(expected["optimizers"], ours["optimizers"], strict=True):
        for group, other in zip(first["state"].values(), second["state"].values(), strict=True):
            for name in group:
                assert th.equal(th.as_tensor(group[name]), th.as_tensor(other[name])), name
    assert expected["buffer"].keys() == ours["buffer"].keys() and expected["buffer"]
    for name, value in expected["buffer"].items():
        assert th.equal(value, ours["buffer"][name]), name


# ----------------------------------------------------------------------------------------------------------
# Bad input: named before anything is replaced
# ----------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ck") / "checkpoint.zip"
    model = QWR("MlpPolicy", make_env("Pendulum-v1", 1), seed=0, **SMALL_QWR)
    model.learn(200)
    return save_checkpoint(model, path)


def rewritten(checkpoint: Path, target_path: Path, member: str, change: Any) -> Path:
    """A copy of a checkpoint with one member changed by ``change(bytes) -> bytes``."""
    with zipfile.ZipFile(checkpoint) as source, zipfile.ZipFile(target_path, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            target.writestr(name, change(data) if name == member else data)
    return target_path


def test_bad_checkpoints(checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not of SAC"):
        SAC_resume = resume(checkpoint, make_env("Pendulum-v1", 1), algorithm=SAC)  # noqa: F841
    with pytest.raises(CheckpointError, match="another environment"):
        resume(checkpoint, make_env("MountainCarContinuous-v0", 1))
    with pytest.raises(CheckpointError, match="another environment"):
        resume(checkpoint, make_env("Pendulum-v1", 2))
    with pytest.raises(CheckpointError, match="env_layers"):
        resume(checkpoint, VecNormalize(make_env("Pendulum-v1", 1)))
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(checkpoint.read_bytes()[: checkpoint.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        resume(truncated, make_env("Pendulum-v1", 1))
    corrupted = rewritten(checkpoint, tmp_path / "corrupted.zip", "replay_buffer.pkl", lambda data: data[:-8] + b"\0" * 8)
    with pytest.raises(CheckpointError, match="checksum"):
        resume(corrupted, make_env("Pendulum-v1", 1))
    newer = rewritten(
        checkpoint, tmp_path / "newer.zip", "checkpoint.json", lambda data: data.replace(b'"version": 1', b'"version": 99')
    )
    with pytest.raises(CheckpointError, match="upgrade sb3-qwr"):
        resume(newer, make_env("Pendulum-v1", 1))
    with pytest.raises(CheckpointError, match="No checkpoint"):
        resume(tmp_path / "missing.zip", make_env("Pendulum-v1", 1))
    with pytest.raises(ValueError, match="save_freq"):
        CheckpointCallback(tmp_path / "x.zip", save_freq=0)


def test_untrusted_code_is_refused(checkpoint: Path, tmp_path: Path) -> None:
    import hashlib
    import json
    import pickle

    class Evil:
        def __reduce__(self) -> Any:
            return (os.system, ("echo pwned",))

    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(checkpoint) as source, zipfile.ZipFile(evil, "w") as target:
        manifest = json.loads(source.read("checkpoint.json"))
        payload = pickle.dumps({"rngs": Evil()})
        manifest["sha256"]["state.pkl"] = hashlib.sha256(payload).hexdigest()
        for name in source.namelist():
            if name == "checkpoint.json":
                target.writestr(name, json.dumps(manifest))
            else:
                target.writestr(name, payload if name == "state.pkl" else source.read(name))
    with pytest.raises(UntrustedPickleError, match=r"posix.system|os.system"):
        resume(evil, make_env("Pendulum-v1", 1))


def test_subprocess_env_without_the_wrapper_is_named(tmp_path: Path) -> None:
    model = QWR("MlpPolicy", make_vec_env("Pendulum-v1", n_envs=1, vec_env_cls=SubprocVecEnv), seed=0, **SMALL_QWR)
    try:
        with pytest.raises(UnsupportedEnvironmentError, match="wrapper_class=ResumableEnv"):
            save_checkpoint(model, tmp_path / "c.zip")
        assert not (tmp_path / "c.zip").exists()
    finally:
        model.env.close()
    saved = QWR("MlpPolicy", make_env("Pendulum-v1", 1, subproc=True), seed=0, **SMALL_QWR)
    save_checkpoint(saved, tmp_path / "c.zip")
    saved.env.close()
    bare = make_vec_env("Pendulum-v1", n_envs=1, vec_env_cls=SubprocVecEnv)
    try:
        with pytest.raises(UnsupportedEnvironmentError, match="wrapper_class=ResumableEnv"):
            resume(tmp_path / "c.zip", bare)
    finally:
        bare.close()
