"""An environment that only carries spaces, for models that train offline without their simulator."""

from typing import Any

import gymnasium as gym
from gymnasium import spaces


class SpacesOnlyEnv(gym.Env):
    """
    An environment that only has spaces, for building a model that trains offline when the simulator is not
    at hand: ``reset`` returns a sample of the observation space, ``step`` raises.

    Evaluation needs a real environment (e.g. ``evaluate_policy(model, real_env)``).

    :param observation_space: Observation space of the dataset.
    :param action_space: Action space of the dataset (``Box`` or ``Discrete``).
    """

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space):
        super().__init__()
        self.observation_space = observation_space
        self.action_space = action_space

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self.observation_space.seed(seed)
        return self.observation_space.sample(), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        raise RuntimeError("SpacesOnlyEnv cannot be stepped: it only carries the spaces of an offline dataset.")
