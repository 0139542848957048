"""
The speed harness of ``benchmarks/speed.py`` and ``benchmarks/gpu_check.py``: the timed models (QWR's precision
variants, SAC and DQN with the Zoo's settings), their environments (Atari without OpenCV where it is missing), a
timer per training phase, and the wall time of a number of steps (synchronized on CUDA).
"""

from __future__ import annotations

import importlib.util
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from stable_baselines3 import DQN, SAC
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_atari_env, make_vec_env
from stable_baselines3.common.vec_env import VecEnv, VecFrameStack

from sb3_qwr import QWR

#: QWR's variants by name: their constructor arguments on top of the paper's defaults.
QWR_VARIANTS: dict[str, dict[str, Any]] = {
    "qwr-fp32": {"precision": "fp32"},
    "qwr-bf16": {"precision": "bf16"},
    "qwr-bf16-eval": {"precision": "bf16-eval"},
    "qwr-fp32-compiled": {"precision": "fp32", "compile_updates": True},
    "qwr-bf16-compiled": {"precision": "bf16", "compile_updates": True},
}


class PhaseTimer:
    """
    Accumulates wall-clock seconds of wrapped callables by phase name.

    :param sync: Called before and after each timed call (a CUDA synchronization on a GPU).
    """

    def __init__(self, sync: Callable[[], None]):
        self.seconds: dict[str, float] = defaultdict(float)
        self.sync = sync

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """
        :param name: Phase name.
        :param fn: The callable to time.
        :return: ``fn``, timed.
        """

        def timed(*args: Any, **kwargs: Any) -> Any:
            self.sync()
            start = time.perf_counter()
            out = fn(*args, **kwargs)
            self.sync()
            self.seconds[name] += time.perf_counter() - start
            return out

        return timed


def make_env(env_id: str, seed: int) -> VecEnv:
    """
    :param env_id: Environment id (``*NoFrameskip-v4`` for Atari, with its usual wrappers and 4 stacked frames).
    :param seed: Seed.
    :return: A one-environment VecEnv.
    """
    if "NoFrameskip" in env_id:
        import ale_py

        gym.register_envs(ale_py)  # the ALE ids are registered only on request since gymnasium 1.0
        if importlib.util.find_spec("cv2") is None:  # the lent GPU machine (OpenCV's wheel alone is 64 MB)
            return VecFrameStack(make_vec_env(env_id, n_envs=1, seed=seed, wrapper_class=nearest_atari_wrapper), 4)
        return VecFrameStack(make_atari_env(env_id, n_envs=1, seed=seed), 4)
    return make_vec_env(env_id, n_envs=1, seed=seed)


class NearestResize(gym.ObservationWrapper):
    """
    Grey 84x84 frames without OpenCV: the luminance and a nearest-neighbour resize in NumPy. For timing only (the
    networks see frames of the same shape and dtype as SB3's ``WarpFrame`` gives; the pixels differ).

    :param env: An ALE environment with RGB frames.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        height, width = env.observation_space.shape[:2]  # type: ignore[index]
        self._rows = np.linspace(0, height - 1, 84).round().astype(np.int64)
        self._cols = np.linspace(0, width - 1, 84).round().astype(np.int64)
        self.observation_space = gym.spaces.Box(0, 255, (84, 84, 1), np.uint8)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        grey = observation[self._rows][:, self._cols] @ np.array([0.299, 0.587, 0.114])
        return grey.astype(np.uint8)[..., None]


def nearest_atari_wrapper(env: gym.Env) -> gym.Env:
    """:return: SB3's Atari wrappers (no-op reset, frame skip 4 with max-pooling, episodic life, reward clipping)
    with :class:`NearestResize` in place of OpenCV's ``WarpFrame``."""
    from stable_baselines3.common.atari_wrappers import ClipRewardEnv, EpisodicLifeEnv, MaxAndSkipEnv, NoopResetEnv

    return ClipRewardEnv(NearestResize(EpisodicLifeEnv(MaxAndSkipEnv(NoopResetEnv(env, noop_max=30), skip=4))))


def build(algo: str, env_id: str, seed: int, device: str, qwr_updates: int) -> BaseAlgorithm:
    """
    :param algo: A name of ``QWR_VARIANTS``, ``sac`` or ``dqn``.
    :param env_id: Environment id.
    :param seed: Seed.
    :param device: Torch device.
    :param qwr_updates: QWR critic (and actor) updates per 1000 steps.
    :return: The model.
    """
    env = make_env(env_id, seed)
    atari = "NoFrameskip" in env_id
    if algo in QWR_VARIANTS:
        return QWR(
            "CnnPolicy" if atari else "MlpPolicy",
            env,
            n_critic_steps=qwr_updates,
            n_actor_steps=qwr_updates,
            buffer_size=10_000 if atari else 50_000,
            **QWR_VARIANTS[algo],
            seed=seed,
            device=device,
        )
    if algo == "sac":  # rl-zoo3 hyperparams/sac.yml, Hopper-v4
        return SAC("MlpPolicy", env, learning_starts=1000, seed=seed, device=device)
    if algo == "dqn":  # rl-zoo3 hyperparams/dqn.yml, atari
        return DQN(
            "CnnPolicy",
            env,
            buffer_size=10_000,
            learning_rate=1e-4,
            batch_size=32,
            learning_starts=500,
            target_update_interval=1000,
            train_freq=4,
            gradient_steps=1,
            exploration_fraction=0.1,
            exploration_final_eps=0.01,
            optimize_memory_usage=False,
            seed=seed,
            device=device,
        )
    raise ValueError(f"Unknown algorithm {algo!r}")


def instrument(model: QWR) -> PhaseTimer:
    """
    :param model: A QWR model, whose phases get timed from now on.
    :return: The timer.
    """
    sync = th.cuda.synchronize if model.device.type == "cuda" else (lambda: None)
    timer = PhaseTimer(sync)
    env = model.get_env()
    assert env is not None
    env.step = timer.wrap("env_step", env.step)  # type: ignore[method-assign]
    buffer = model.replay_buffer
    # A phase draws its batches in chunks (``sample_chunks``, ``sample_states_batches``); the gathers happen here.
    buffer._sequence_chunk = timer.wrap("sample_critic", buffer._sequence_chunk)  # type: ignore[method-assign]
    buffer.sample_states = timer.wrap("sample_actor", buffer.sample_states)  # type: ignore[method-assign]
    if model.compile_updates:  # the compiled per-batch hook, as the training phase reads it
        model._update_hooks["td_targets"] = timer.wrap("critic_target", model._update_hooks["td_targets"])
    else:  # the targets of a whole target window at once (QWR's phase-batched passes)
        model.window_td_targets = timer.wrap("critic_target", model.window_td_targets)  # type: ignore[method-assign]
    model._train_critic = timer.wrap("critic_phase", model._train_critic)  # type: ignore[method-assign]
    model._train_actor = timer.wrap("actor_phase", model._train_actor)  # type: ignore[method-assign]
    model.collect_rollouts = timer.wrap("collect", model.collect_rollouts)  # type: ignore[method-assign]
    return timer


def time_steps(model: BaseAlgorithm, steps: int) -> float:
    """
    :param model: A warmed-up model.
    :param steps: Environment steps to time.
    :return: Seconds.
    """
    if model.device.type == "cuda":
        th.cuda.synchronize()
    start = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    if model.device.type == "cuda":
        th.cuda.synchronize()
    return time.perf_counter() - start
