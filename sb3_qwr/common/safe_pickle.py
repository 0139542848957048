"""
Loading pickles without running code from them.

A pickle names the functions and classes that rebuild its objects, and unpickling calls them: a file that names
``os.system`` runs a command. SB3 writes replay buffers (``save_replay_buffer``) and ``VecNormalize`` statistics
as pickles, so the data loaders read them with :func:`safe_load`, which only lets a file name the classes such
files are made of (NumPy arrays and random generators, gymnasium spaces, ``torch.device``, SB3's and sb3-qwr's
replay buffers, ``VecNormalize`` and its running statistics) and refuses anything else before calling it. A
caller who trusts a file passes ``trusted=True`` to the loaders, which then unpickle it as SB3 does.
"""

import io
import os
import pickle
from typing import Any

#: (module, name) of every global a file may name when loaded without trust.
ALLOWED_GLOBALS = frozenset(
    {
        # NumPy arrays, scalars and dtypes (both the numpy 1.x and 2.x module names)
        *(
            (module, name)
            for module in ("numpy.core.multiarray", "numpy._core.multiarray")
            for name in ("_reconstruct", "scalar")
        ),
        *((module, "_frombuffer") for module in ("numpy.core.numeric", "numpy._core.numeric")),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        # NumPy random generators (the spaces' np_random)
        ("numpy.random._pickle", "__generator_ctor"),
        ("numpy.random._pickle", "__bit_generator_ctor"),
        ("numpy.random._pickle", "__randomstate_ctor"),
        ("numpy.random.bit_generator", "SeedSequence"),
        ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
        *(("numpy.random._" + name.lower(), name) for name in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")),
        # gymnasium spaces
        *(
            (f"gymnasium.spaces.{module}", name)
            for module, name in (
                ("box", "Box"),
                ("discrete", "Discrete"),
                ("dict", "Dict"),
                ("tuple", "Tuple"),
                ("multi_discrete", "MultiDiscrete"),
                ("multi_binary", "MultiBinary"),
            )
        ),
        ("collections", "OrderedDict"),
        ("torch", "device"),
        # SB3's and sb3-qwr's replay buffers, VecNormalize statistics
        ("stable_baselines3.common.buffers", "ReplayBuffer"),
        ("stable_baselines3.common.buffers", "DictReplayBuffer"),
        ("sb3_qwr.common.buffers", "WeightedRegressionReplayBuffer"),
        ("sb3_qwr.common.buffers", "DictWeightedRegressionReplayBuffer"),
        ("sb3_qwr.common.buffers", "QWRReplayBuffer"),  # files written by sb3-qwr 0.2
        ("sb3_qwr.common.buffers", "DictQWRReplayBuffer"),
        ("sb3_qwr.buffers", "QWRReplayBuffer"),  # files written by sb3-qwr 0.1
        ("sb3_qwr.buffers", "DictQWRReplayBuffer"),
        ("stable_baselines3.common.running_mean_std", "RunningMeanStd"),
        ("stable_baselines3.common.vec_env.vec_normalize", "VecNormalize"),
    }
)


class UntrustedPickleError(ValueError):
    """A pickle names a function or class that loading without trust does not call."""


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedIOBase | io.BytesIO, source: str):
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise UntrustedPickleError(
                f"{self.source} names {module}.{name}, which a replay buffer or VecNormalize file does not need, so it "
                "was not loaded (unpickling calls what a file names: it can run any code). If you made this file or "
                "trust its source, pass trusted=True."
            )
        return super().find_class(module, name)


def safe_load(path: str | os.PathLike) -> Any:
    """
    Unpickle a file that may only name the classes of replay buffers and ``VecNormalize`` files.

    :param path: The pickle file.
    :return: The object.
    """
    with open(path, "rb") as file:
        return _RestrictedUnpickler(file, os.fspath(path)).load()


def safe_loads(data: bytes, source: str) -> Any:
    """
    :func:`safe_load` for a pickle held in memory (a member of an archive).

    :param data: The pickle's bytes.
    :param source: What to call it in errors.
    :return: The object.
    """
    return _RestrictedUnpickler(io.BytesIO(data), source).load()


def load_pickle(path: str | os.PathLike, trusted: bool = False) -> Any:
    """
    :param path: The pickle file.
    :param trusted: Unpickle it without restriction (the file may run code) instead of with :func:`safe_load`.
    :return: The object.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such file: {os.fspath(path)!r}.")
    if trusted:
        with open(path, "rb") as file:
            return pickle.load(file)
    return safe_load(path)
