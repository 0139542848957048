"""
Argument checks shared by the weighted-regression algorithms: each raises a ``ValueError`` that names the
argument, the value and the fix, before any work is done. NaN and infinity fail every check on a float
(``nan <= 0`` is False, so a range check alone would let them through).
"""

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch as th
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


#: The checker of one hyperparameter: ``checker(name, value)`` raises a ``ValueError`` naming it and the fix.
Checker = Callable[[str, Any], None]


def positive(meaning: str, allow_none: str = "") -> Checker:
    """:return: A checker of a finite number > 0 (see :func:`check_positive`)."""
    return lambda name, value: check_positive(name, value, meaning, allow_none)


def in_interval(low: float, high: float, high_open: bool = False) -> Checker:
    """:return: A checker of a finite number in ``[low, high]`` (see :func:`check_in_interval`)."""
    return lambda name, value: check_in_interval(name, value, low, high, high_open)


def one_of(choices: tuple[Any, ...]) -> Checker:
    """:return: A checker of a value among ``choices``."""

    def check(name: str, value: Any) -> None:
        if not any(value is choice or (choice is not None and value == choice) for choice in choices):
            raise ValueError(f"Unknown `{name}` {value!r}: use one of {choices}.")

    return check


def check_bool(name: str, value: Any) -> None:
    """:param name: Argument name. :param value: Its value, which must be ``True`` or ``False``."""
    if not isinstance(value, bool):
        raise ValueError(f"`{name}` must be True or False, got {value!r}.")


def check_updates_per_phase(name: str, value: Any) -> None:
    """:param name: Argument name. :param value: Its value: an integer >= 1, or -1."""
    if value != -1:
        check_positive_int(name, value, "or -1 (one update per interaction collected)")


#: The hyperparameters every weighted-regression algorithm has, each with its checker, declared once: the
#: constructor and ``load`` both check them through :func:`check_hyperparameters` (``buffer_size`` is not here:
#: a model loaded for inference, as the Zoo's enjoy does, gets a one-transition buffer).
COMMON_HYPERPARAMETERS: dict[str, Checker] = {
    "actor_learning_rate": check_learning_rate,
    "critic_learning_rate": check_learning_rate,
    "batch_size": check_positive_int,
    "n_critic_steps": check_updates_per_phase,
    "n_actor_steps": check_updates_per_phase,
    "target_update_interval": check_positive_int,
    "n_step_horizon": check_positive_int,
    "td_lambda": in_interval(0.0, 1.0),
    "gamma": in_interval(0.0, 1.0, high_open=True),
    "beta": positive("the actor's temperature"),
    "max_weight": positive("the clip of the actor's weights", allow_none="no clip"),
    "max_grad_norm": positive("the gradient clip", allow_none="automatic"),
    "precision": one_of(PRECISIONS),
    "compile_updates": check_bool,
}


def check_hyperparameters(declared: dict[str, Checker], values: dict[str, Any], algorithm: str = "") -> None:
    """
    Check hyperparameters against their declaration; raise a ``ValueError`` at the first invalid one.

    :param declared: Name -> checker (an algorithm's ``hyperparameters``).
    :param values: Name -> value. With ``algorithm``, every declared name must be there (a model's attributes:
        a name missing from a loaded file is an error); without, any subset is checked (a search space's).
    :param algorithm: Name of the model's class, for the message.
    """
    for name, checker in declared.items():
        if name in values:
            checker(name, values[name])
        elif algorithm:
            raise ValueError(
                f"{algorithm} has no hyperparameter `{name}`: the file was saved by a version without it; pass "
                f"{name}=... to load() (custom_objects) or rebuild the model."
            )


def check_batch_fits(batch_size: int, buffer_size: int) -> None:
    """
    :param batch_size: The minibatch size.
    :param buffer_size: The replay buffer's size (checked at construction only, see :data:`COMMON_HYPERPARAMETERS`).
    """
    check_positive_int("buffer_size", buffer_size)
    if batch_size > buffer_size:
        raise ValueError(
            f"`batch_size` ({batch_size}) is larger than `buffer_size` ({buffer_size}): "
            "lower the batch size or enlarge the replay buffer."
        )


def check_finite_transition(what: str, value: np.ndarray | dict[str, np.ndarray], step: int, algorithm: str) -> None:
    """
    Stop before a non-finite observation or reward reaches the actor or the replay buffer (where it would turn
    every parameter NaN at the next training phase).

    :param what: What ``value`` is, for the message.
    :param value: Array (or dict of arrays) from the environment.
    :param step: The model's ``num_timesteps``, for the message.
    :param algorithm: Name of the algorithm, for the message.
    """
    for array in value.values() if isinstance(value, dict) else (value,):
        array = np.asarray(array)
        if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
            bad = array[~np.isfinite(array)].flat[0]
            raise ValueError(
                f"The environment returned a non-finite {what} ({bad}) at step {step}: {algorithm} stopped before "
                "using it. Find where it comes from with SB3's VecCheckNan wrapper (env = VecCheckNan(env, "
                "raise_exception=True)), or clip it in the environment."
            )


class PhaseSnapshot:
    """
    The networks' and optimizers' states before a training phase, restored if the phase goes non-finite: one
    check per phase (:meth:`check_finite`), no device synchronization inside the update loops.

    :param policy: The policy (actor, critic and target).
    :param optimizers: The optimizers by name.
    """

    def __init__(self, policy: th.nn.Module, optimizers: dict[str, th.optim.Optimizer]):
        self.policy = policy
        self.optimizers = optimizers
        self.policy_state = {key: value.clone() for key, value in policy.state_dict().items()}
        self.optimizer_states = {name: copy.deepcopy(opt.state_dict()) for name, opt in optimizers.items()}

    def check_finite(self, stats: dict[str, list[th.Tensor]], step: int, algorithm: str) -> None:
        """
        If a target or a loss of the phase is non-finite, restore the states and raise ``FloatingPointError``.

        :param stats: The phase's per-update values (``target``, ``critic_loss``, ``actor_loss``).
        :param step: The model's ``num_timesteps``, for the message.
        :param algorithm: Name of the algorithm, for the message.
        """
        for name in ("target", "critic_loss", "actor_loss"):
            if not stats[name] or bool(th.isfinite(th.cat([value.reshape(-1) for value in stats[name]])).all()):
                continue
            self.policy.load_state_dict(self.policy_state)
            for key, optimizer in self.optimizers.items():
                optimizer.load_state_dict(self.optimizer_states[key])
            raise FloatingPointError(
                f"{algorithm}: a non-finite {name.replace('_', ' ')} appeared in the training phase at step {step}; "
                "the networks and optimizers are restored to their state before it. Check the observations and "
                "rewards for NaN or inf (SB3's VecCheckNan wrapper finds where they come from) and the "
                "hyperparameters (learning rates, beta, max_weight)."
            )


def check_policy_class(policy: Any, base: type, aliases: list[str], algorithm: str) -> None:
    """
    Raise a ``ValueError`` unless ``policy`` is an alias or a subclass of the algorithm's policy base.

    :param policy: The ``policy`` argument (or the class a loaded file names).
    :param base: The algorithm's ``policy_base``.
    :param aliases: Its ``policy_aliases``' names.
    :param algorithm: Name of the algorithm, for the message.
    """
    if isinstance(policy, str) or (isinstance(policy, type) and issubclass(policy, base)):
        return
    name = getattr(policy, "__name__", type(policy).__name__)
    raise ValueError(
        f"{algorithm} needs one of its own policies ({', '.join(aliases)} or a subclass of {base.__name__}), got "
        f"{name} from {getattr(policy, '__module__', '?')}. When loading a file, this means it was saved by another "
        "algorithm: load it with that algorithm's class."
    )


def check_action_space(action_space: spaces.Space, algorithm: str = "The algorithm") -> None:
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
