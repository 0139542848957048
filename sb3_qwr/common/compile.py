"""
``torch.compile`` of the algorithms' update hooks (their ``compile_updates`` argument).

The hooks (critic target, actor loss) are pure tensor work around the networks' forward passes:
``torch.compile`` (inductor) fuses their elementwise chains (the critic's gate, LayerNorm and ReLU over the
``B * T * k`` sampled pairs, the backup, TD(lambda) and the advantage weights) into a few generated kernels, and
leaves the matmuls to the same library kernels as eager mode. The random draws stay PyTorch's own
(``fallback_random``), so a compiled run consumes the same random stream as an eager one and differs from it
only by floating-point rounding inside the fused kernels.
"""

from collections.abc import Callable
from typing import Any

import torch as th

#: Options of ``torch.compile``'s inductor backend: PyTorch's random number generator, not inductor's own (which
#: is both a different stream and, on the CPU, slower than PyTorch's: 1.0 ms of a 5.8 ms critic target).
COMPILE_OPTIONS: dict[str, Any] = {"fallback_random": True}


def compile_hook(hook: Callable[..., Any], name: str, algorithm: str) -> Callable[..., Any]:
    """
    ``hook`` compiled by ``torch.compile`` (inductor, static shapes), with a clear error if compiling fails.

    Compilation happens at the first call (a few seconds per hook on a CPU); a new shape compiles again.

    :param hook: A bound method of the algorithm (its tensor arguments are traced, its attributes guarded).
    :param name: The hook's name, for the error message.
    :param algorithm: The algorithm's name, for the error message.
    :return: A callable with the hook's signature.
    """
    compiled = th.compile(hook, dynamic=False, options=COMPILE_OPTIONS)

    def run(*args: Any) -> Any:
        try:
            return compiled(*args)
        except th._dynamo.exc.BackendCompilerFailed as error:  # the compiler toolchain, not the model
            raise RuntimeError(
                f"{algorithm}(compile_updates=True): torch.compile could not compile the hook `{name}` ({error}). "
                "On a CPU, inductor needs a working C++ compiler (g++ or clang++, or the one named by $CXX); "
                "on a GPU, Triton. Install it, or train with `compile_updates=False` (the same math, eager)."
            ) from error

    return run
