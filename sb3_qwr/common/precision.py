"""
The numeric context of the algorithms' passes: their ``precision`` (bfloat16 autocast) and ``compile_updates``
(``torch.compile`` of the update hooks), in :class:`UpdatePrecisionMixin`.

The hooks (critic target, actor loss) are pure tensor work around the networks' forward passes:
``torch.compile`` (inductor) fuses their elementwise chains (the critic's gate, LayerNorm and ReLU over the
``B * T * k`` sampled pairs, the backup, TD(lambda) and the advantage weights) into a few generated kernels, and
leaves the matmuls to the same library kernels as eager mode. The random draws stay PyTorch's own
(``fallback_random``), so a compiled run consumes the same random stream as an eager one and differs from it
only by floating-point rounding inside the fused kernels.
"""

from collections.abc import Callable
from typing import Any, ClassVar

import torch as th

#: Options of ``torch.compile``'s inductor backend: PyTorch's random number generator, not inductor's own (a
#: different stream, and slower on the CPU: ``docs/qwr.md``, "Speed").
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


class UpdatePrecisionMixin:
    """
    The context of every network pass of a training phase: :meth:`_autocast` (bfloat16 where ``precision`` asks
    for it) and :meth:`_hook` (an update hook, compiled with ``compile_updates``).

    ``precision``: ``"fp32"``; ``"bf16"``, every forward and backward pass under ``torch.autocast`` in bfloat16
    (float32 weights, optimizer states, targets, backups, TD(lambda) sums, advantage normalization and losses);
    ``"bf16-eval"``, bfloat16 only in the passes without gradients (critic targets, the advantages of the actor's
    weights). ``compile_updates``: the hooks named in ``_compilable_hooks`` compiled by ``torch.compile`` at their
    first call (the eager math up to rounding, PyTorch's random stream; rebuilt after a load, never saved).
    Measured speed and scores: ``docs/qwr.md``, "Speed".
    """

    precision: str
    compile_updates: bool
    device: th.device
    _compiled_hooks: dict[str, Callable[..., Any]]
    #: The hooks that ``compile_updates`` compiles (not the critic's own forward and backward: no faster compiled).
    _compilable_hooks: ClassVar[tuple[str, ...]] = ("td_targets", "actor_loss")
    #: The hooks the training phase calls through ``_update_hooks``.
    _update_hook_names: ClassVar[tuple[str, ...]] = ("td_targets", "actor_loss")
    _update_hooks: dict[str, Callable[..., Any]]
    _update_context: tuple[str, bool, th.device]
    _bf16_eval: bool
    _bf16_train: bool

    def _resolve_update_context(self) -> None:
        """
        Resolve ``precision`` and ``compile_updates`` once, into what the training phase reads directly:
        ``_bf16_eval`` and ``_bf16_train`` (whether the passes without and with gradients run in bfloat16 autocast)
        and ``_update_hooks`` (the hooks, compiled or bound), so that an update enters no code of this module.
        Called by ``_setup_model`` (construction and load) and by ``train`` when either setting changed since.
        """
        self._bf16_eval = self.precision in ("bf16", "bf16-eval")
        self._bf16_train = self.precision == "bf16"
        self._update_hooks = {name: self._hook(name) for name in self._update_hook_names}
        self._update_context = (self.precision, self.compile_updates, self.device)

    def _autocast(self, trains: bool = False) -> th.autocast:
        """
        :param trains: Whether the pass trains (its output is differentiated) or only evaluates (targets, the
            advantages of the actor's weights, the actor's distribution where no ``mu`` is stored).
        :return: The context of the networks' passes: bfloat16 autocast with ``precision="bf16"`` (every pass) or
            ``"bf16-eval"`` (the passes that only evaluate), a no-op otherwise (the training phase enters the same
            context inline, from ``_bf16_eval`` and ``_bf16_train``). Hooks cast network outputs to float32
            (``.float()``) before any reduction.
        """
        enabled = self.precision == "bf16" or (self.precision == "bf16-eval" and not trains)
        return th.autocast(self.device.type, dtype=th.bfloat16, enabled=enabled)

    def _hook(self, name: str) -> Callable[..., Any]:
        """
        :param name: A hook's name.
        :return: The bound hook; with ``compile_updates`` and a name in ``_compilable_hooks``, compiled by
            ``torch.compile`` at its first call (cached in ``_compiled_hooks``, which saving excludes).
        """
        if not self.compile_updates or name not in self._compilable_hooks:
            return getattr(self, name)
        if name not in self._compiled_hooks:
            self._compiled_hooks[name] = compile_hook(getattr(self, name), name, type(self).__name__)
        return self._compiled_hooks[name]
