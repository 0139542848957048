"""
Argument checks shared by the weighted-regression algorithms: each raises a ``ValueError`` that names the
argument, the value and the fix, before any work is done. NaN and infinity fail every check on a float
(``nan <= 0`` is False, so a range check alone would let them through).
"""

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces

#: Values of the algorithms' ``precision`` argument.
PRECISIONS = ("fp32", "bf16", "bf16-eval")


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def check_positive_int(name: str, value: Any, alternative: str = "") -> None:
    """
    :param name: Argument name.
    :param value: Its value, which must be an integer >= 1.
    :param alternative: Another accepted value, for the message (e.g. ``"or -1 (...)"``).
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        also = f" {alternative}" if alternative else ""
        raise ValueError(f"`{name}` must be an integer >= 1{also}, got {value!r}.")


def check_finite(name: str, value: Any, meaning: str = "") -> float:
    """
    :param name: Argument name.
    :param value: Its value, which must be a finite real number.
    :param meaning: What the argument is, for the message.
    :return: ``value`` as a float.
    """
    what = f"`{name}`" + (f" ({meaning})" if meaning else "")
    if not _is_real(value):
        raise ValueError(f"{what} must be a real number, got {value!r}.")
    if not math.isfinite(float(value)):
        raise ValueError(f"{what} must be finite, got {value!r}: NaN and infinity are not valid values.")
    return float(value)


def check_positive(name: str, value: Any, meaning: str = "", allow_none: str = "") -> None:
    """
    :param name: Argument name.
    :param value: Its value, which must be finite and > 0 (or ``None`` when ``allow_none`` says what it means).
    :param meaning: What the argument is, for the message.
    :param allow_none: What ``None`` means (e.g. ``"no clip"``); empty if ``None`` is not accepted.
    """
    if value is None and allow_none:
        return
    number = check_finite(name, value, meaning)
    if number <= 0:
        alternative = f" or None ({allow_none})" if allow_none else ""
        what = f"`{name}`" + (f" ({meaning})" if meaning else "")
        raise ValueError(f"{what} must be > 0{alternative}, got {value!r}.")


def check_in_interval(name: str, value: Any, low: float, high: float, high_open: bool = False) -> None:
    """
    :param name: Argument name.
    :param value: Its value, which must be finite and in ``[low, high]`` (``[low, high)`` if ``high_open``).
    :param low: Lower bound (included).
    :param high: Upper bound.
    :param high_open: Whether ``high`` is excluded.
    """
    number = check_finite(name, value)
    if not (low <= number < high if high_open else low <= number <= high):
        raise ValueError(f"`{name}` must be in [{low}, {high}{')' if high_open else ']'}, got {value!r}.")


def check_learning_rate(name: str, value: float | Callable[[float], float]) -> None:
    """
    A learning rate: a finite float > 0, or a schedule of the remaining progress whose value is finite and > 0
    at the start (progress 1) and finite and >= 0 at the end (progress 0; SB3's linear schedules reach 0).

    :param name: Argument name.
    :param value: The learning rate or schedule.
    """
    if callable(value):
        start, end = value(1.0), value(0.0)
        check_positive(f"{name}(1.0)", start, "the schedule's value at the start of training")
        if not _is_real(end) or not math.isfinite(float(end)) or end < 0:
            raise ValueError(
                f"`{name}(0.0)` (the schedule's value at the end of training) must be finite and >= 0, got {end!r}."
            )
        return
    check_positive(name, value, "a learning rate; a negative one would climb the loss")


def check_common_hyperparameters(**params: Any) -> None:
    """
    Check the hyperparameters that every weighted-regression algorithm has (those present in ``params``).

    :param params: Hyperparameters by constructor name.
    """
    for name in ("n_step_horizon", "target_update_interval", "batch_size"):
        if name in params:
            check_positive_int(name, params[name])
    for name in ("n_critic_steps", "n_actor_steps"):
        if name in params and params[name] != -1:
            check_positive_int(name, params[name], "or -1 (one update per interaction collected)")
    for name in ("actor_learning_rate", "critic_learning_rate"):
        if name in params:
            check_learning_rate(name, params[name])
    if "beta" in params:
        check_positive("beta", params["beta"], "the actor's temperature")
    if "td_lambda" in params:
        check_in_interval("td_lambda", params["td_lambda"], 0.0, 1.0)
    if "gamma" in params:
        check_in_interval("gamma", params["gamma"], 0.0, 1.0, high_open=True)
    if "max_weight" in params:
        check_positive("max_weight", params["max_weight"], "the clip of the actor's weights", allow_none="no clip")
    if "max_grad_norm" in params:
        check_positive("max_grad_norm", params["max_grad_norm"], "the gradient clip", allow_none="automatic")
    if "precision" in params and params["precision"] not in PRECISIONS:
        raise ValueError(f"Unknown `precision` {params['precision']!r}: use one of {PRECISIONS}.")
    if "compile_updates" in params and not isinstance(params["compile_updates"], bool):
        raise ValueError(f"`compile_updates` must be True or False, got {params['compile_updates']!r}.")
    if "batch_size" in params and "buffer_size" in params and params["batch_size"] > params["buffer_size"]:
        raise ValueError(
            f"`batch_size` ({params['batch_size']}) is larger than `buffer_size` ({params['buffer_size']}): "
            "lower the batch size or enlarge the replay buffer."
        )


def check_action_space(action_space: spaces.Space, algorithm: str = "QWR") -> None:
    """
    Raise a ``ValueError`` unless the actor supports ``action_space``: a float ``Box`` with finite bounds, or a
    ``Discrete`` space starting at 0.

    :param action_space: The environment's action space.
    :param algorithm: Name of the algorithm, for the message.
    """
    if isinstance(action_space, spaces.Discrete):
        if int(action_space.start) != 0:
            raise ValueError(
                f"{algorithm} needs Discrete actions numbered from 0, got {action_space} (start={action_space.start}): "
                "wrap the environment in a gymnasium ActionWrapper that maps 0..n-1 to start..start+n-1."
            )
        return
    if isinstance(action_space, spaces.Box):
        if not np.issubdtype(action_space.dtype, np.floating):
            raise ValueError(
                f"{algorithm} needs a Box action space of floats (its Gaussian actor outputs real actions), got dtype "
                f"{action_space.dtype} in {action_space}: use a float32 Box, or a Discrete space for a few integer actions."
            )
        if not (np.all(np.isfinite(action_space.low)) and np.all(np.isfinite(action_space.high))):
            raise ValueError(
                f"{algorithm} needs a Box action space with finite bounds (its Gaussian lives in [-1, 1] rescaled to "
                f"[low, high]), got {action_space}: clip the actions with a wrapper such as gymnasium's ClipAction."
            )
        return
    raise ValueError(
        f"{algorithm} supports Box and Discrete action spaces, not {action_space}. "
        "For MultiDiscrete or MultiBinary actions, flatten them into one Discrete space with a wrapper, "
        "or use an algorithm that supports them (e.g. PPO)."
    )
