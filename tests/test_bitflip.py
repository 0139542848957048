"""BitFlip (Section 2.2 of the QWR paper): dynamics, rewards, starting states and the env checkers."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import sb3_qwr  # noqa: F401  (importing the package registers BitFlip-v0)
from sb3_qwr.envs import BitFlipEnv


def make_env(bits: list[int]) -> BitFlipEnv:
    """A BitFlip env put in the state ``bits`` at step 0."""
    env = BitFlipEnv(n_bits=len(bits))
    env.reset(seed=0)
    env.bits = np.array(bits, dtype=np.int8)
    env.step_count = 0
    return env


def test_registered_with_default_n_bits():
    env = gym.make("BitFlip-v0")
    assert isinstance(env.unwrapped, BitFlipEnv)
    assert env.unwrapped.n_bits == 10
    assert env.observation_space == gym.spaces.Box(0.0, 1.0, (15,), np.float32)
    assert env.action_space == gym.spaces.Discrete(10)
    env = gym.make("BitFlip-v0", n_bits=30)
    assert env.observation_space.shape == (35,)
    assert env.action_space.n == 30


def test_observation_is_bits_then_one_hot_step():
    env = BitFlipEnv(n_bits=7)
    obs, info = env.reset(seed=3)
    assert obs.dtype == np.float32
    np.testing.assert_array_equal(obs[:7], env.bits)
    np.testing.assert_array_equal(obs[7:], [1, 0, 0, 0, 0])
    assert info == {"n_zeros": int(7 - env.bits.sum()), "step": 0}


def test_hand_written_episode():
    env = make_env([0, 1, 0, 0, 1, 0, 0, 1])
    # (action, expected reward, expected bits after the step)
    script = [
        (0, 1.0, [1, 1, 0, 0, 1, 0, 0, 1]),  # 0 -> 1
        (1, -1.0, [1, 0, 0, 0, 1, 0, 0, 1]),  # 1 -> 0
        (1, 1.0, [1, 1, 0, 0, 1, 0, 0, 1]),  # the same bit back: 0 -> 1
        (7, -1.0, [1, 1, 0, 0, 1, 0, 0, 0]),  # 1 -> 0
        (3, 1.0, [1, 1, 0, 1, 1, 0, 0, 0]),  # 0 -> 1, last step
    ]
    for step, (action, reward, bits) in enumerate(script, start=1):
        obs, r, terminated, truncated, info = env.step(action)
        assert r == reward
        np.testing.assert_array_equal(obs[:8], bits)
        one_hot = np.zeros(5, dtype=np.float32)
        if step < 5:
            one_hot[step] = 1.0
        np.testing.assert_array_equal(obs[8:], one_hot)
        assert terminated == (step == 5)
        assert truncated is False
        assert info["step"] == step
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_best_and_worst_returns():
    env = make_env([0, 0, 0, 0, 0, 1, 1])
    assert sum(env.step(a)[1] for a in range(5)) == 5.0  # flip the five zeros: the maximum
    env = make_env([0, 0, 0, 0, 0, 1, 1])
    assert sum(env.step(a)[1] for a in (5, 6, 5, 6, 5)) == -1.0  # -1 +1 ... on the ones
    env = make_env([0, 0, 0, 0, 0, 1, 1])
    assert sum(env.step(a)[1] for a in (2, 2, 2, 2, 2)) == 1.0  # +1 -1 +1 -1 +1


@pytest.mark.parametrize("n_bits", [5, 6, 8, 10, 30])
def test_start_has_at_least_five_zeros(n_bits: int):
    env = BitFlipEnv(n_bits=n_bits)
    starts = []
    for seed in range(300):
        obs, info = env.reset(seed=seed)
        n_zeros = int(n_bits - obs[:n_bits].sum())
        assert n_zeros >= 5
        assert info["n_zeros"] == n_zeros
        starts.append(obs[:n_bits].copy())
    starts_arr = np.array(starts)
    if n_bits == 5:
        assert starts_arr.sum() == 0  # five bits, five zeros
    else:
        # Random starts: every bit is sometimes 1, and (for large N) no start repeats.
        assert starts_arr.any(axis=0).all()
        assert len({tuple(s) for s in starts_arr}) > (290 if n_bits == 30 else 1)
    if n_bits == 30:
        assert abs(starts_arr.mean() - 0.5) < 0.05  # close to uniform bits


def test_reset_is_seeded():
    env_a, env_b = BitFlipEnv(n_bits=20), BitFlipEnv(n_bits=20)
    np.testing.assert_array_equal(env_a.reset(seed=11)[0], env_b.reset(seed=11)[0])
    first = [env_a.reset()[0] for _ in range(5)]
    second = [env_b.reset()[0] for _ in range(5)]
    np.testing.assert_array_equal(first, second)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="n_bits"):
        BitFlipEnv(n_bits=4)
    with pytest.raises(ValueError, match="episode_length"):
        BitFlipEnv(n_bits=8, episode_length=0)
    with pytest.raises(ValueError, match="render_mode"):
        BitFlipEnv(render_mode="human")
    env = BitFlipEnv(n_bits=6)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="Invalid action"):
        env.step(6)


@pytest.mark.parametrize("n_bits", [5, 10, 30])
def test_env_checkers(n_bits: int):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the checkers' warnings are failures too
        # Made through the registry so that the checker also tries the other render modes.
        gym_check_env(gym.make("BitFlip-v0", n_bits=n_bits).unwrapped)
        gym_check_env(gym.make("BitFlip-v0", n_bits=n_bits, render_mode="ansi").unwrapped)
        sb3_check_env(BitFlipEnv(n_bits=n_bits))


def test_render():
    env = BitFlipEnv(n_bits=6, render_mode="ansi")
    env.reset(seed=0)
    env.bits = np.array([1, 0, 0, 1, 0, 0], dtype=np.int8)
    assert env.render() == "100100 step 0/5"
    env = BitFlipEnv(n_bits=6, render_mode="rgb_array")
    env.reset(seed=0)
    env.bits = np.array([1, 0, 0, 1, 0, 0], dtype=np.int8)
    env.step(1)
    image = env.render()
    assert isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.shape == (32, 96, 3)
    assert image[0, 0].tolist() == [255, 255, 255] and image[0, 40].tolist() == [0, 0, 0]
    assert BitFlipEnv(n_bits=6).render() is None
