"""
The state a run's continuation depends on, beyond the model: random generators and environments, as plain data.

Plain data is what a checkpoint can be read back from without running code from it: ``None``, numbers, strings,
NumPy arrays and scalars, and lists, tuples and dicts of those. Objects are captured as tagged dicts of their
attributes and restored *into* the corresponding object of a freshly built run (a random generator's state into
its generator, an environment's attributes into the same wrapper of the new environment), never rebuilt from the
file.

What is captured:

* the global generators: Python's ``random``, NumPy's global ``RandomState``, torch's CPU generator and, once CUDA
  is in use, every CUDA device's generator;
* every layer of a vectorized environment (``VecNormalize`` and other ``VecEnvWrapper``\\ s, then ``DummyVecEnv``)
  and, for each of its environments, every gymnasium wrapper down to the unwrapped environment: their plain
  attributes (a ``TimeLimit``'s step count, ``Monitor``'s running episode, ``VecNormalize``'s running statistics,
  a classic-control env's ``state``), their random generators (``np_random``, the spaces' generators);
* MuJoCo's simulation state with ``mujoco.mj_getState(..., mjSTATE_INTEGRATION)`` (time, ``qpos``, ``qvel``,
  actuator activations, warm start, controls, applied forces, mocap poses, user data), restored with
  ``mj_setState`` and a ``mj_forward`` so that derived quantities match;
* the Arcade Learning Environment's emulator with its random generator (``cloneState(include_rng=True)``,
  serialized), and the wrappers' counters and buffers around it (no-op and fire resets, frame skip's max-pool
  buffer, episodic life, ``VecFrameStack``'s stacked frames);
* anything an environment or wrapper returns from a ``get_checkpoint_state()`` method (restored by its
  ``set_checkpoint_state(state)``): the hook for simulators whose state lives outside Python attributes;
* the length of a ``Monitor``'s log file: a resumed run whose ``Monitor`` appends to the same file
  (``override_existing=False``, as ``sb3-qwr train --resume`` builds it) first cuts the rows written after the
  checkpoint, which the resumed run writes again;
* callbacks (:func:`capture_callbacks`): their plain attributes (``n_calls``, an ``EvalCallback``'s evaluations so
  far and best mean reward) and their evaluation environments, like the training environment.

Environments of a ``DummyVecEnv`` are captured in this process; those of a ``SubprocVecEnv`` in their worker
process, through :class:`ResumableEnv`, their outermost wrapper (``make_vec_env(..., wrapper_class=ResumableEnv,
vec_env_cls=SubprocVecEnv)``; ``sb3-qwr train --vec-env subproc`` adds it when it checkpoints).

Attributes that are not plain data (renderers, file handles, simulators without the hook) are left as the new
run built them; their names are listed in the captured state (``"skipped"``) so that a mismatch can be traced.
"""

import random
from collections import deque
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.stacked_observations import StackedObservations

#: Key of the tag of a captured object (a generator, a space's generator, an object's attributes, a deque).
TAG = "__sb3_qwr_state__"
#: Attributes never captured: links to other layers (captured on their own), spaces' definitions, metadata.
SKIPPED_ATTRIBUTES = frozenset(
    {"env", "venv", "envs", "spec", "_cached_spec", "metadata", "render_mode", "class_attributes", "model", "data"}
)
#: Classes whose instances are captured attribute by attribute (and restored into the existing instance).
OBJECT_CLASSES: tuple[type, ...] = (RunningMeanStd, StackedObservations)


class NotPlain(Exception):
    """A value that is not plain data and has no capture rule."""


def capture_value(value: Any) -> Any:
    """
    :param value: A Python value.
    :return: Its plain-data form.
    :raises NotPlain: When it has none.
    """
    if value is None or isinstance(value, bool | int | float | str | bytes | np.generic):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise NotPlain
        return value.copy()
    if isinstance(value, np.random.Generator):
        return {TAG: "generator", "state": value.bit_generator.state}
    if isinstance(value, np.random.RandomState):
        return {TAG: "random_state", "state": value.get_state()}
    if isinstance(value, gym.spaces.Space):
        rng = value._np_random
        return {TAG: "space", "rng": None if rng is None else rng.bit_generator.state}
    if isinstance(value, deque):
        return {TAG: "deque", "items": [capture_value(item) for item in value], "maxlen": value.maxlen}
    if isinstance(value, OBJECT_CLASSES):
        return {TAG: "object", "attributes": {name: capture_value(item) for name, item in vars(value).items()}}
    if type(value) in (list, tuple):  # exactly: a namedtuple or list subclass is not plain data
        return type(value)(capture_value(item) for item in value)
    if isinstance(value, dict):
        if not all(isinstance(key, str | int) for key in value) or TAG in value:
            raise NotPlain
        return {key: capture_value(item) for key, item in value.items()}
    raise NotPlain


def restore_value(existing: Any, saved: Any) -> Any:
    """
    :param existing: The value the new run has (a generator, a space, an object to restore into), or anything.
    :param saved: A value captured by :func:`capture_value`.
    :return: The value to set: ``existing`` itself, restored, for generators, spaces and objects; a fresh copy
        of ``saved`` otherwise.
    """
    if isinstance(saved, dict) and TAG in saved:
        kind = saved[TAG]
        if kind == "generator":
            generator = existing if isinstance(existing, np.random.Generator) else np.random.Generator(np.random.PCG64())
            generator.bit_generator.state = saved["state"]
            return generator
        if kind == "random_state":
            state = existing if isinstance(existing, np.random.RandomState) else np.random.RandomState()
            state.set_state(saved["state"])
            return state
        if kind == "space":
            if saved["rng"] is not None:
                existing.np_random.bit_generator.state = saved["rng"]
            return existing
        if kind == "deque":
            return deque((restore_value(None, item) for item in saved["items"]), maxlen=saved["maxlen"])
        if kind == "object":
            for name, item in saved["attributes"].items():
                setattr(existing, name, restore_value(getattr(existing, name, None), item))
            return existing
        raise ValueError(f"unknown captured kind {kind!r}")
    if isinstance(saved, dict):
        result = type(existing)() if isinstance(existing, dict) else {}
        for key, item in saved.items():
            result[key] = restore_value(existing.get(key) if isinstance(existing, dict) else None, item)
        return result
    if isinstance(saved, list | tuple):
        olds = existing if isinstance(existing, list | tuple) and len(existing) == len(saved) else [None] * len(saved)
        return type(saved)(restore_value(old, item) for old, item in zip(olds, saved, strict=True))
    if isinstance(saved, np.ndarray):
        return saved.copy()
    return saved


def capture_object(obj: Any) -> dict[str, Any]:
    """
    :param obj: An environment, a wrapper or a vectorized environment layer.
    :return: ``class`` (its qualified name), ``attributes`` (plain ones), ``skipped`` (names left out), and
        ``hook`` (what its ``get_checkpoint_state()`` returned) or ``mujoco`` (MuJoCo's integration state).
    """
    attributes, skipped = {}, []
    for name, value in vars(obj).items():
        if name in SKIPPED_ATTRIBUTES:
            continue
        try:
            attributes[name] = capture_value(value)
        except NotPlain:
            skipped.append(name)
    state: dict[str, Any] = {"class": _qualname(obj), "attributes": attributes, "skipped": sorted(skipped)}
    if callable(getattr(type(obj), "get_checkpoint_state", None)):
        state["hook"] = capture_value(obj.get_checkpoint_state())
    mujoco_state = _mujoco_state(obj)
    if mujoco_state is not None:
        state["mujoco"] = mujoco_state
    ale = _ale(obj)
    if ale is not None:
        state["ale"] = np.frombuffer(ale.cloneState(include_rng=True).__getstate__(), dtype=np.uint8).copy()
    if isinstance(obj, Monitor) and obj.results_writer is not None:
        obj.results_writer.file_handler.flush()
        state["monitor_file_size"] = obj.results_writer.file_handler.tell()
    return state


def restore_object(obj: Any, state: dict[str, Any]) -> None:
    """
    Restore what :func:`capture_object` captured into the corresponding object of a new run.

    :param obj: The new run's object (same class).
    :param state: The captured state.
    """
    for name, saved in state["attributes"].items():
        setattr(obj, name, restore_value(getattr(obj, name, None), saved))
    if "hook" in state:
        obj.set_checkpoint_state(restore_value(None, state["hook"]))
    if "mujoco" in state:
        import mujoco

        full = mujoco.mjtState.mjSTATE_INTEGRATION
        mujoco.mj_setState(obj.model, obj.data, state["mujoco"], full)
        mujoco.mj_forward(obj.model, obj.data)
        # mj_forward recomputes derived quantities; set the state again so that nothing it wrote (warm start) differs.
        mujoco.mj_setState(obj.model, obj.data, state["mujoco"], full)
    if "ale" in state:
        import ale_py

        ale_state = ale_py.ALEState.__new__(ale_py.ALEState)
        # ALEState pickles as bytes (its stub says a tuple).
        ale_state.__setstate__(np.asarray(state["ale"], dtype=np.uint8).tobytes())  # type: ignore[arg-type]
        obj.ale.restoreState(ale_state)
    if "monitor_file_size" in state and isinstance(obj, Monitor) and obj.results_writer is not None:
        _cut_monitor_file(obj, int(state["monitor_file_size"]))


def _cut_monitor_file(monitor: Monitor, size: int) -> None:
    """
    Cut a ``Monitor`` log that the new run appends to back to its length at the checkpoint (the episodes logged
    after it are run again). A log the new run started afresh (``override_existing=True``, SB3's default) is shorter
    than that and is left as it is.

    :param monitor: The new run's ``Monitor``.
    :param size: The length of its file at the checkpoint, in bytes.
    """
    assert monitor.results_writer is not None
    handle = monitor.results_writer.file_handler
    handle.flush()
    if handle.tell() >= size:
        handle.truncate(size)
        handle.seek(size)


def _mujoco_state(obj: Any) -> np.ndarray | None:
    try:
        import mujoco
    except ImportError:
        return None
    model, data = getattr(obj, "model", None), getattr(obj, "data", None)
    if not (isinstance(model, mujoco.MjModel) and isinstance(data, mujoco.MjData)):
        return None
    full = mujoco.mjtState.mjSTATE_INTEGRATION
    state = np.empty(mujoco.mj_stateSize(model, full), dtype=np.float64)
    mujoco.mj_getState(model, data, state, full)
    return state


def _ale(obj: Any) -> Any:
    """:return: The ``ale_py.ALEInterface`` of an ALE environment (``ale_py.env.AtariEnv``), else ``None``."""
    ale = vars(obj).get("ale")
    if ale is None or type(ale).__module__.split(".")[0] != "ale_py":
        return None
    return ale


def _qualname(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def env_layers(env: gym.Env) -> list[Any]:
    """
    :param env: A gymnasium environment, possibly wrapped.
    :return: Its layers, outermost wrapper first, the unwrapped environment last.
    """
    layers = [env]
    while isinstance(layers[-1], gym.Wrapper):
        layers.append(layers[-1].env)
    return layers


def vec_env_layers(venv: VecEnv) -> list[VecEnv]:
    """
    :param venv: A vectorized environment, possibly wrapped (``VecNormalize``, ``VecFrameStack``, ...).
    :return: Its layers, outermost first, the ``DummyVecEnv`` last.
    """
    layers = [venv]
    while isinstance(layers[-1], VecEnvWrapper):
        layers.append(layers[-1].venv)
    return layers


class UnsupportedEnvironmentError(ValueError):
    """The environment cannot be captured (a ``SubprocVecEnv`` without :class:`ResumableEnv`, another VecEnv)."""


class ResumableEnv(gym.Wrapper):
    """
    The outermost wrapper of an environment that a checkpoint reaches in another process (``SubprocVecEnv``'s
    worker): it captures and restores the layers below it there, and sends them as plain data. It changes nothing
    else (observations, rewards and spaces pass through).

    :param env: The environment, with all its other wrappers (``Monitor`` included).
    """

    def checkpoint_layer_classes(self) -> list[str]:
        """:return: The qualified class names of the layers, this wrapper first."""
        return [_qualname(layer) for layer in env_layers(self)]

    def capture_checkpoint_layers(self) -> list[dict[str, Any]]:
        """:return: :func:`capture_object` of every layer, this wrapper first."""
        return [capture_object(layer) for layer in env_layers(self)]

    def restore_checkpoint_layers(self, states: list[dict[str, Any]]) -> None:
        """
        :param states: What :meth:`capture_checkpoint_layers` returned in the stopped run (same layers: checked by
            the caller, since an exception here would end the worker process).
        """
        for layer, state in zip(env_layers(self), states, strict=True):
            restore_object(layer, state)


def _subproc_ready(bottom: SubprocVecEnv, action: str) -> None:
    if not bottom.has_attr("capture_checkpoint_layers"):
        raise UnsupportedEnvironmentError(
            f"Cannot {action} the environments of this SubprocVecEnv: they live in other processes, and a checkpoint "
            "reaches them through sb3_qwr.resume.ResumableEnv as their outermost wrapper. Build the env with "
            "make_vec_env(..., wrapper_class=ResumableEnv, vec_env_cls=SubprocVecEnv) or use DummyVecEnv "
            "(sb3-qwr train adds the wrapper itself when it checkpoints)."
        )


def _bottom_envs(bottom: VecEnv, action: str) -> list[list[Any]] | None:
    """
    :return: The layers of each environment of a ``DummyVecEnv``, or ``None`` for a ``SubprocVecEnv`` that has
        :class:`ResumableEnv` (its environments are reached through it).
    :raises UnsupportedEnvironmentError: For any other bottom.
    """
    if isinstance(bottom, DummyVecEnv):
        return [env_layers(env) for env in bottom.envs]
    if isinstance(bottom, SubprocVecEnv):
        _subproc_ready(bottom, action)
        return None
    raise UnsupportedEnvironmentError(
        f"Checkpoints capture the environments of a DummyVecEnv or a SubprocVecEnv; this run's is a "
        f"{type(bottom).__name__}: build it with vec_env_cls=DummyVecEnv (the Zoo: --vec-env dummy)."
    )


def capture_vec_env(venv: VecEnv) -> dict[str, Any]:
    """
    :param venv: The run's vectorized environment.
    :return: ``layers`` (each VecEnv layer, outermost first) and ``envs`` (for each environment, its wrapper
        layers, outermost first).
    """
    layers = vec_env_layers(venv)
    envs = _bottom_envs(layers[-1], "capture")
    return {
        "layers": [capture_object(layer) for layer in layers],
        "envs": layers[-1].env_method("capture_checkpoint_layers")
        if envs is None
        else [[capture_object(layer) for layer in env] for env in envs],
    }


def layer_classes(captured: dict[str, Any]) -> dict[str, Any]:
    """
    :param captured: What :func:`capture_vec_env` returned.
    :return: The class names of the layers (``layers``) and of each environment's layers (``envs``).
    """
    return {
        "layers": [layer["class"] for layer in captured["layers"]],
        "envs": [[layer["class"] for layer in env] for env in captured["envs"]],
    }


def vec_env_layer_classes(venv: VecEnv) -> dict[str, Any]:
    """
    :param venv: A vectorized environment.
    :return: The class names of its layers and of each environment's layers, as :func:`layer_classes` gives them.
    """
    layers = vec_env_layers(venv)
    envs = _bottom_envs(layers[-1], "restore")
    return {
        "layers": [_qualname(layer) for layer in layers],
        "envs": layers[-1].env_method("checkpoint_layer_classes")
        if envs is None
        else [[_qualname(layer) for layer in env] for env in envs],
    }


def restore_vec_env(venv: VecEnv, captured: dict[str, Any]) -> None:
    """
    Restore a captured vectorized environment into a freshly built one of the same structure (checked first).

    :param venv: The new run's vectorized environment.
    :param captured: What :func:`capture_vec_env` returned for the stopped run.
    """
    layers = vec_env_layers(venv)
    ours, theirs = vec_env_layer_classes(venv), layer_classes(captured)
    if ours != theirs:
        raise ValueError(
            f"The environment is not built as the checkpoint's: its layers are {ours}, the checkpoint's {theirs}. "
            "Build it with the same wrappers, VecNormalize and number of environments as the stopped run."
        )
    for layer, state in zip(layers, captured["layers"], strict=True):
        restore_object(layer, state)
    envs = _bottom_envs(layers[-1], "restore")
    if envs is None:
        for index, states in enumerate(captured["envs"]):
            layers[-1].env_method("restore_checkpoint_layers", states, indices=[index])
        return
    for env, states in zip(envs, captured["envs"], strict=True):
        for layer, state in zip(env, states, strict=True):
            restore_object(layer, state)


def callback_tree(callbacks: Sequence[BaseCallback]) -> list[BaseCallback]:
    """
    :param callbacks: Callbacks as given to ``learn`` (a ``CallbackList`` is entered).
    :return: Every callback, each followed by the callbacks it calls (an ``EvalCallback``'s ``callback_on_new_best``
        and ``callback_after_eval``, an ``EveryNTimesteps``' ``callback``), depth first.
    """
    found: list[BaseCallback] = []

    def visit(callback: BaseCallback | None) -> None:
        if callback is None or any(callback is seen for seen in found):
            return
        if isinstance(callback, CallbackList):
            for child in callback.callbacks:
                visit(child)
            return
        found.append(callback)
        for name in ("callback", "callback_on_new_best", "callback_after_eval"):
            linked = getattr(callback, name, None)
            if isinstance(linked, BaseCallback):
                visit(linked)

    for callback in callbacks:
        visit(callback)
    return found


def capture_callbacks(callbacks: Sequence[BaseCallback]) -> list[dict[str, Any]]:
    """
    :param callbacks: The run's callbacks (the checkpoint's own callback may be among them).
    :return: For each callback of :func:`callback_tree`, its class, plain attributes and, for an evaluation
        callback, its evaluation environment (``eval_env``).
    """
    captured = []
    for callback in callback_tree(callbacks):
        state = capture_object(callback)
        eval_env = getattr(callback, "eval_env", None)
        if isinstance(eval_env, VecEnv):
            state["eval_env"] = capture_vec_env(eval_env)
        captured.append(state)
    return captured


def restore_callbacks(callbacks: Sequence[BaseCallback], captured: list[dict[str, Any]]) -> None:
    """
    Restore captured callback states into a new run's callbacks, built as the stopped run's (checked first).

    :param callbacks: The new run's callbacks, given in the same order as to the stopped run.
    :param captured: What :func:`capture_callbacks` returned.
    """
    tree = callback_tree(callbacks)
    ours, theirs = [_qualname(callback) for callback in tree], [state["class"] for state in captured]
    if ours != theirs:
        raise ValueError(
            f"The callbacks are not the checkpoint's: these are {ours}, the checkpoint's {theirs}. Give the resumed "
            "learn the same callbacks, in the same order, as the stopped run."
        )
    for callback, state in zip(tree, captured, strict=True):
        restore_object(callback, state)
        if "eval_env" in state:
            restore_vec_env(callback.eval_env, state["eval_env"])  # type: ignore[attr-defined]


def capture_global_rngs() -> dict[str, Any]:
    """:return: The states of Python's, NumPy's and torch's global generators (CUDA's once initialized)."""
    cuda = None
    if th.cuda.is_available() and th.cuda.is_initialized():
        cuda = [state.numpy() for state in th.cuda.get_rng_state_all()]
    return {
        "python": capture_value(random.getstate()),
        "numpy": capture_value(np.random.get_state()),
        "torch": th.get_rng_state().numpy(),
        "cuda": cuda,
    }


def restore_global_rngs(state: dict[str, Any]) -> None:
    """
    :param state: What :func:`capture_global_rngs` returned.
    """
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    np.random.set_state(state["numpy"])
    th.set_rng_state(th.from_numpy(np.asarray(state["torch"], dtype=np.uint8)))
    if state["cuda"] is not None and th.cuda.is_available():
        th.cuda.set_rng_state_all([th.from_numpy(np.asarray(s, dtype=np.uint8)) for s in state["cuda"]])
