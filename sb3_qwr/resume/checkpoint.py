"""
Checkpoints from which a stopped run continues to exactly the result it would have had.

A checkpoint is one zip file:

* ``checkpoint.json``: the format and its version, the algorithm's class, the spaces, the environment ids and
  layers, ``num_timesteps``, and the SHA-256 of every other member;
* ``model.zip``: the model as SB3's ``save`` writes it (weights, both optimizers with their step counts, the target
  network, every counter, the learning-rate schedules, the last observation);
* ``replay_buffer.pkl``: the replay buffer (off-policy algorithms), for QWR and AWR with the stored mu;
* ``state.pkl``: plain data only (:mod:`sb3_qwr.resume.state`): the global random generators, the spaces'
  generators, every environment layer mid-episode, and the state of callbacks.

It is written at a point where nothing is half done: at the start of a collection (after the previous training
phase, before the next environment step). It is written atomically: to a temporary file in the same folder,
flushed and fsync'ed, then renamed over the previous checkpoint, so that a run killed while writing leaves the
previous checkpoint whole.

Reading a checkpoint without ``trusted=True`` runs no code from the file: ``state.pkl`` may name NumPy's array
classes only, the replay buffer only what :mod:`sb3_qwr.common.safe_pickle` allows, and the serialized entries
of ``model.zip`` only classes of SB3, sb3-contrib, sb3-qwr, the Zoo, torch's ``nn``/``optim`` and gymnasium's
spaces (checked before SB3's ``load`` unpickles them).
"""

import hashlib
import importlib
import io
import json
import os
import pickle
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from sb3_qwr.common.safe_pickle import ALLOWED_GLOBALS, UntrustedPickleError, safe_loads
from sb3_qwr.resume.state import (
    capture_callbacks,
    capture_global_rngs,
    capture_value,
    capture_vec_env,
    layer_classes,
    restore_global_rngs,
    restore_value,
    restore_vec_env,
    vec_env_layer_classes,
)

#: Name of the format in ``checkpoint.json``.
FORMAT = "sb3-qwr-checkpoint"
#: Version of the format this code writes; it reads this version and older ones.
FORMAT_VERSION = 1
MANIFEST, MODEL, BUFFER, STATE = "checkpoint.json", "model.zip", "replay_buffer.pkl", "state.pkl"

#: Algorithms :func:`resume` builds from the name in a checkpoint without ``trusted=True``.
KNOWN_ALGORITHMS = {
    f"{module}.{name}": (module, name)
    for module, name in (
        ("sb3_qwr.qwr.qwr", "QWR"),
        ("sb3_qwr.awr.awr", "AWR"),
        ("stable_baselines3.sac.sac", "SAC"),
        ("stable_baselines3.td3.td3", "TD3"),
        ("stable_baselines3.ddpg.ddpg", "DDPG"),
        ("stable_baselines3.dqn.dqn", "DQN"),
        ("stable_baselines3.ppo.ppo", "PPO"),
        ("stable_baselines3.a2c.a2c", "A2C"),
    )
}
#: Modules whose classes the serialized entries of a model file may name when read without trust.
MODEL_MODULE_PREFIXES = (
    "stable_baselines3.",
    "sb3_contrib.",
    "sb3_qwr.",
    "rl_zoo3.",
    "torch.nn.",
    "torch.optim.",
    "gymnasium.spaces.",
)
#: Functions (not classes) that SB3's model files use to rebuild objects.
MODEL_ALLOWED_FUNCTIONS = frozenset(
    {("copyreg", "_reconstructor"), ("copyreg", "__newobj__"), ("builtins", "object"), ("collections", "deque")}
)


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed here: corrupted, of another run, or of a newer format."""


def save_checkpoint(model: BaseAlgorithm, path: str | os.PathLike, callbacks: Sequence[BaseCallback] = ()) -> Path:
    """
    Write a checkpoint of ``model`` and its environment, atomically.

    Call it between an environment step and the next one, outside a training phase (as
    :class:`~sb3_qwr.resume.CheckpointCallback` does at the start of each collection).

    :param model: The algorithm (QWR, AWR or any SB3 algorithm) with its environment (a ``DummyVecEnv``,
        possibly wrapped).
    :param path: The checkpoint file; an existing one is replaced only once the new one is complete.
    :param callbacks: The callbacks of the ``learn`` being checkpointed (their counters, evaluations so far and
        evaluation environments are captured; :class:`~sb3_qwr.resume.CheckpointCallback` passes its ``learn``'s).
    :return: The path written.
    """
    path = Path(path)
    if model.env is None:
        raise CheckpointError("save_checkpoint needs the model's environment: the checkpoint holds its state.")
    model_bytes = io.BytesIO()
    model.save(model_bytes)
    members = {MODEL: model_bytes.getvalue()}
    if isinstance(model, OffPolicyAlgorithm) and model.replay_buffer is not None:
        members[BUFFER] = pickle.dumps(model.replay_buffer, protocol=pickle.HIGHEST_PROTOCOL)
    envs = capture_vec_env(model.env)
    state = {
        "rngs": capture_global_rngs(),
        "spaces": {"action": capture_value(model.action_space), "observation": capture_value(model.observation_space)},
        "env": envs,
        "callbacks": capture_callbacks(callbacks),
    }
    members[STATE] = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "algorithm": f"{type(model).__module__}.{type(model).__qualname__}",
        "num_timesteps": int(model.num_timesteps),
        "total_timesteps": int(getattr(model, "_total_timesteps", 0)),
        "n_envs": int(model.env.num_envs),
        "observation_space": repr(model.observation_space),
        "action_space": repr(model.action_space),
        "env_ids": _env_ids(model.env),
        "env_layers": layer_classes(envs),
        "sha256": {name: hashlib.sha256(data).hexdigest() for name, data in members.items()},
    }
    _write_atomically(path, {MANIFEST: json.dumps(manifest, indent=1).encode(), **members})
    return path


def _write_atomically(path: Path, members: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED) as archive:
                for name, data in members.items():
                    archive.writestr(name, data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _env_ids(venv: VecEnv) -> list[str | None]:
    specs = venv.get_attr("spec")
    return [None if spec is None else spec.id for spec in specs]


def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, bytes]]:
    """
    Read and verify a checkpoint file (nothing is unpickled).

    :param path: The checkpoint file.
    :return: The manifest and the members' bytes.
    :raises CheckpointError: For a missing, truncated or corrupted file, or one of a newer format.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"No checkpoint at {path}.")
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read(MANIFEST))
            members = {name: archive.read(name) for name in archive.namelist() if name != MANIFEST}
    except (zipfile.BadZipFile, KeyError, ValueError, EOFError) as error:
        raise CheckpointError(
            f"{path} is not a readable checkpoint ({error}): the file is truncated or corrupted. A checkpoint is written "
            "atomically, so an interrupted write leaves the previous one; resume from an intact copy."
        ) from error
    if manifest.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an sb3-qwr checkpoint (format {manifest.get('format')!r}).")
    if int(manifest.get("version", 0)) > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {manifest['version']}, newer than this sb3-qwr reads "
            f"({FORMAT_VERSION}): upgrade sb3-qwr to resume it."
        )
    for name, digest in manifest["sha256"].items():
        if name not in members or hashlib.sha256(members[name]).hexdigest() != digest:
            raise CheckpointError(f"{path}: member {name} is missing or does not match its checksum: the file is corrupted.")
    return manifest, members


class _PlainUnpickler(pickle.Unpickler):
    """Unpickles plain data: builtins and NumPy arrays, scalars and dtypes."""

    allowed = frozenset(item for item in ALLOWED_GLOBALS if item[0].startswith("numpy") and "random" not in item[0])

    def __init__(self, file: io.BytesIO, source: str) -> None:
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.allowed:
            raise UntrustedPickleError(
                f"{self.source} names {module}.{name}, which a checkpoint's state does not hold; it was not loaded. "
                "If you made this file or trust its source, pass trusted=True."
            )
        return super().find_class(module, name)


class _ModelDataUnpickler(pickle.Unpickler):
    """Checks the serialized entries of an SB3 model file: classes of the field's libraries only."""

    def __init__(self, file: io.BytesIO, source: str) -> None:
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED_GLOBALS or (module, name) in MODEL_ALLOWED_FUNCTIONS:
            return super().find_class(module, name)
        if module.startswith(MODEL_MODULE_PREFIXES) and "." not in name:
            found = super().find_class(module, name)
            if isinstance(found, type):
                return found
        raise UntrustedPickleError(
            f"{self.source} names {module}.{name}, which is not a class of SB3, sb3-contrib, sb3-qwr, the Zoo, torch.nn, "
            "torch.optim or gymnasium.spaces; it was not loaded (unpickling calls what a file names). If you made this "
            "file or trust its source, pass trusted=True."
        )


def _check_model_data(model_bytes: bytes, source: str) -> None:
    import base64

    with zipfile.ZipFile(io.BytesIO(model_bytes)) as archive:
        data = json.loads(archive.read("data"))
    for key, value in data.items():
        if isinstance(value, dict) and ":serialized:" in value:
            raw = base64.b64decode(value[":serialized:"].encode())
            _ModelDataUnpickler(io.BytesIO(raw), f"{source} (model entry {key!r})").load()


def _algorithm_class(name: str, trusted: bool, source: str) -> type[BaseAlgorithm]:
    if name in KNOWN_ALGORITHMS:
        module, attribute = KNOWN_ALGORITHMS[name]
    elif trusted:
        module, _, attribute = name.rpartition(".")
    else:
        raise CheckpointError(
            f"{source} is a checkpoint of {name}, which sb3-qwr does not know; pass the class (algorithm=...) or "
            "trusted=True to import it."
        )
    return getattr(importlib.import_module(module), attribute)


def resume(
    path: str | os.PathLike,
    env: VecEnv,
    algorithm: type[BaseAlgorithm] | None = None,
    device: str = "auto",
    trusted: bool = False,
) -> BaseAlgorithm:
    """
    Rebuild a stopped run from its checkpoint on a freshly built environment of the same kind, which the
    checkpoint then restores (its episodes continue where they were). Continue with
    ``model.learn(remaining_timesteps(model), reset_num_timesteps=False)``: the result equals the uninterrupted
    run's, bit for bit on the same machine and device.

    :param path: The checkpoint file.
    :param env: The new environment: a ``DummyVecEnv`` (or a ``SubprocVecEnv`` whose environments have
        :class:`~sb3_qwr.resume.ResumableEnv` outermost) built as the stopped run's (same wrappers, ``VecNormalize``,
        number of environments); its seeds do not matter, the checkpoint sets every generator.
    :param algorithm: The expected algorithm class; ``None`` takes the one named in the checkpoint.
    :param device: Torch device of the resumed model.
    :param trusted: Unpickle the checkpoint without restriction (the file may then run code).
    :return: The resumed model. The stopped run's callback states are in ``model.checkpoint_callback_states``: a
        :class:`~sb3_qwr.resume.CheckpointCallback` in the resumed ``learn`` restores them into that ``learn``'s
        callbacks, or call :func:`~sb3_qwr.resume.state.restore_callbacks` yourself.
    """
    source = os.fspath(path)
    manifest, members = read_checkpoint(path)
    if algorithm is None:
        algorithm = _algorithm_class(manifest["algorithm"], trusted, source)
    elif manifest["algorithm"] != f"{algorithm.__module__}.{algorithm.__qualname__}":
        raise CheckpointError(
            f"{source} is a checkpoint of {manifest['algorithm']}, not of {algorithm.__qualname__}: resume it with "
            f"{manifest['algorithm'].rsplit('.', 1)[-1]}.resume, or sb3_qwr.resume.resume(path, env)."
        )
    if not isinstance(env, VecEnv):
        raise CheckpointError(
            f"resume needs the vectorized environment built as the stopped run's (a DummyVecEnv), got {type(env).__name__}: "
            "wrap it, e.g. DummyVecEnv([lambda: Monitor(gym.make(env_id))]), as the stopped run was."
        )
    # The wrappers SB3 adds when a model gets an environment (VecTransposeImage for channels-last images), as the
    # stopped run had them, before the comparison.
    env = algorithm._wrap_env(env, verbose=0, monitor_wrapper=False)
    ours = {
        "n_envs": env.num_envs,
        "observation_space": repr(env.observation_space),
        "action_space": repr(env.action_space),
        "env_ids": _env_ids(env),
        "env_layers": vec_env_layer_classes(env),
    }
    theirs = {key: manifest[key] for key in ours}
    if ours != theirs:
        differing = {key: (theirs[key], ours[key]) for key in ours if ours[key] != theirs[key]}
        raise CheckpointError(
            f"{source} was written by a run on another environment: (checkpoint, given) differ in {differing}. Build the "
            "environment as the stopped run did (the same wrappers, VecNormalize and number of environments)."
        )
    if trusted:
        state = pickle.loads(members[STATE])
    else:
        state = _PlainUnpickler(io.BytesIO(members[STATE]), f"{source} ({STATE})").load()
        _check_model_data(members[MODEL], source)
    buffer = None
    if BUFFER in members:
        data = members[BUFFER]
        buffer = pickle.loads(data) if trusted else safe_loads(data, f"{source} ({BUFFER})")
    # Everything is read and checked: only now is a model built.
    model = algorithm.load(io.BytesIO(members[MODEL]), env=env, device=device, force_reset=False)
    if buffer is not None:
        buffer.device = model.device
        model.replay_buffer = buffer  # type: ignore[attr-defined]
    restore_vec_env(model.get_env(), state["env"])  # type: ignore[arg-type]
    restore_value(model.action_space, state["spaces"]["action"])
    restore_value(model.observation_space, state["spaces"]["observation"])
    restore_global_rngs(state["rngs"])
    model.checkpoint_callback_states = state["callbacks"]  # type: ignore[attr-defined]
    return model


def read_callback_states(path: str | os.PathLike) -> list[dict[str, Any]]:
    """
    :param path: A checkpoint file.
    :return: The callback states it holds (:func:`~sb3_qwr.resume.state.capture_callbacks`), read as plain data.
    """
    _, members = read_checkpoint(path)
    return _PlainUnpickler(io.BytesIO(members[STATE]), f"{os.fspath(path)} ({STATE})").load()["callbacks"]


def remaining_timesteps(model: BaseAlgorithm) -> int:
    """
    :param model: A resumed model.
    :return: The steps left of the ``total_timesteps`` that the stopped ``learn`` was given.
    """
    return max(0, int(model._total_timesteps) - int(model.num_timesteps))


__all__ = [
    "CheckpointError",
    "read_callback_states",
    "read_checkpoint",
    "remaining_timesteps",
    "resume",
    "save_checkpoint",
]
