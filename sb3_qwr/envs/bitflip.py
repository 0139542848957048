"""
BitFlip, the toy environment of Section 2.2 of the QWR paper (Figure 1) on which AWR fails and QWR does not.

The state is ``N`` bits and a step counter. Action ``i`` flips bit ``i``: reward +1 for a 0 -> 1 flip, -1 for a
1 -> 0 flip. An episode lasts ``episode_length`` = 5 steps and starts from random bits with at least 5 zeros,
so the best return is 5 (flip five distinct zero bits). With ``2^N`` starting states a replay buffer of a few
thousand steps almost never holds the same state twice (the paper's "state-determines-action" assumption).
"""

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class BitFlipEnv(gym.Env[np.ndarray, np.int64]):
    """
    BitFlip (Kozakowski et al. 2021, Section 2.2).

    Observation: ``Box(0, 1, (n_bits + episode_length,), float32)``, the bits followed by a one-hot encoding of
    the step counter (all zeros in the final observation, when the counter equals ``episode_length``). The
    counter makes the environment Markov, so the end of an episode is a true termination
    (``terminated=True``), not a time-limit truncation.

    Actions: ``Discrete(n_bits)``; action ``i`` flips bit ``i``.

    Reward: +1 if the flipped bit was 0, -1 if it was 1.

    Start: uniform random bits; when fewer than ``min_zeros`` of them are 0, randomly chosen 1-bits are cleared
    until exactly ``min_zeros`` are 0. With ``min_zeros >= episode_length`` the maximum return is
    ``episode_length``.

    :param n_bits: Number of bits ``N`` (also the number of actions); at least ``min_zeros``.
    :param episode_length: Steps per episode (paper: 5).
    :param min_zeros: Minimum number of zero bits in the starting state (paper: 5).
    :param render_mode: ``None``, ``"ansi"`` (``render`` returns the bits and the counter as a string) or
        ``"rgb_array"`` (an image: one white square per 1-bit, then the counter as a bar).
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(
        self,
        n_bits: int = 10,
        episode_length: int = 5,
        min_zeros: int = 5,
        render_mode: str | None = None,
    ):
        super().__init__()
        if episode_length < 1:
            raise ValueError(f"`episode_length` must be >= 1, got {episode_length}.")
        if min_zeros < 0:
            raise ValueError(f"`min_zeros` must be >= 0, got {min_zeros}.")
        if n_bits < max(1, min_zeros):
            raise ValueError(f"`n_bits` must be >= max(1, min_zeros) = {max(1, min_zeros)}, got {n_bits}.")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"Unsupported render_mode {render_mode!r}: use one of {self.metadata['render_modes']}.")
        self.n_bits = n_bits
        self.episode_length = episode_length
        self.min_zeros = min_zeros
        self.render_mode = render_mode
        self.observation_space = spaces.Box(0.0, 1.0, shape=(n_bits + episode_length,), dtype=np.float32)
        self.action_space = spaces.Discrete(n_bits)
        self.bits = np.zeros(n_bits, dtype=np.int8)
        self.step_count = 0

    def _get_obs(self) -> np.ndarray:
        obs = np.zeros(self.n_bits + self.episode_length, dtype=np.float32)
        obs[: self.n_bits] = self.bits
        if self.step_count < self.episode_length:
            obs[self.n_bits + self.step_count] = 1.0
        return obs

    def _get_info(self) -> dict[str, Any]:
        return {"n_zeros": int(self.n_bits - self.bits.sum()), "step": self.step_count}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """
        Draw a starting state from the env's ``np_random``: uniform bits, then ones cleared at random until at
        least ``min_zeros`` bits are 0.

        :param seed: Seed of the env's random generator.
        :param options: Unused.
        :return: The first observation and an info dict (``n_zeros``, ``step``).
        """
        super().reset(seed=seed)
        bits = self.np_random.integers(0, 2, size=self.n_bits, dtype=np.int8)
        missing = self.min_zeros - int(self.n_bits - bits.sum())
        if missing > 0:
            ones = np.flatnonzero(bits)
            bits[self.np_random.choice(ones, size=missing, replace=False)] = 0
        self.bits = bits
        self.step_count = 0
        return self._get_obs(), self._get_info()

    def step(self, action: int | np.integer | np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """
        Flip bit ``action`` and advance the counter.

        :param action: Index of the bit to flip.
        :return: Observation, reward (+1 for 0 -> 1, -1 for 1 -> 0), terminated (after ``episode_length``
            steps), truncated (always False) and info.
        """
        index = int(action)
        if not 0 <= index < self.n_bits:
            raise ValueError(f"Invalid action {action!r} for BitFlip with {self.n_bits} bits.")
        if self.step_count >= self.episode_length:
            raise RuntimeError("The episode is over: call reset() before step().")
        reward = 1.0 if self.bits[index] == 0 else -1.0
        self.bits[index] = 1 - self.bits[index]
        self.step_count += 1
        terminated = self.step_count >= self.episode_length
        return self._get_obs(), reward, terminated, False, self._get_info()

    def render(self) -> str | np.ndarray | None:  # type: ignore[override]
        """The state as text (``"ansi"``) or as an ``(2 * cell, n_bits * cell, 3)`` uint8 image (``"rgb_array"``)."""
        if self.render_mode == "ansi":
            return "".join(str(int(bit)) for bit in self.bits) + f" step {self.step_count}/{self.episode_length}"
        if self.render_mode == "rgb_array":
            cell = 16
            image = np.zeros((2 * cell, self.n_bits * cell, 3), dtype=np.uint8)
            image[:cell] = np.repeat(self.bits.astype(np.uint8) * 255, cell)[None, :, None]
            done_width = self.n_bits * cell * self.step_count // self.episode_length
            image[cell:, :done_width, 1] = 255
            return image
        return None
