"""Box actions between the environment's bounds and SB3's normalized ``[-1, 1]`` units (NumPy, host side)."""

import numpy as np
from gymnasium import spaces


def normalize_box_actions(actions: np.ndarray, action_space: spaces.Box) -> np.ndarray:
    """
    Rescale actions from the ``Box`` bounds to ``[-1, 1]`` (SB3's ``policy.scale_action``).

    :param actions: ``(N, *action_shape)`` actions within ``[low, high]``.
    :param action_space: The ``Box`` (finite bounds).
    :return: ``(N, *action_shape)`` float32 actions in ``[-1, 1]``.
    """
    low, high = action_space.low, action_space.high
    return (2.0 * (np.asarray(actions, dtype=np.float64) - low) / (high - low) - 1.0).astype(np.float32)


def unnormalize_box_actions(actions: np.ndarray, action_space: spaces.Box) -> np.ndarray:
    """
    Rescale actions from ``[-1, 1]`` to the ``Box`` bounds (SB3's ``policy.unscale_action``), after clipping
    them to ``[-1, 1]`` as SB3 (and QWR) do before stepping the environment.

    :param actions: ``(N, *action_shape)`` actions in normalized units.
    :param action_space: The ``Box`` (finite bounds).
    :return: ``(N, *action_shape)`` actions in the environment's units, with the space's dtype.
    """
    clipped = np.clip(np.asarray(actions, dtype=np.float64), -1.0, 1.0)
    low, high = action_space.low, action_space.high
    return (low + 0.5 * (clipped + 1.0) * (high - low)).astype(action_space.dtype)
