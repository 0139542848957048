"""
The RL Zoo with QWR: ``sb3-qwr <command> [Zoo flags]``, or ``python -m sb3_qwr.zoo <command> [Zoo flags]``.

Commands: ``train``, ``enjoy``, ``record_video``, ``record_training``, ``plot_train``, ``plot_from_file``,
``all_plots``. Each runs the installed RL Zoo's own script with its own flags (``--help`` lists them), after
registering QWR as ``--algo qwr``; every other algorithm of the Zoo works as in the Zoo. ``train`` without
``-conf/--conf-file`` reads the hyperparameters of QWR from sb3-qwr's ``qwr.yml``, and those of SAC and PPO
from the Zoo's files extended with sb3-qwr's MuJoCo v5 entries.

Examples::

    sb3-qwr train --algo qwr --env Pendulum-v1 -f logs/
    sb3-qwr enjoy --algo qwr --env Pendulum-v1 -f logs/ --no-render -n 1000
    sb3-qwr train --algo qwr --env Pendulum-v1 -optimize --n-trials 20 --storage sqlite:///qwr.db --study-name qwr
    sb3-qwr plot_train --algo qwr --env Pendulum-v1 -f logs/
"""

import argparse
import runpy
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from sb3_qwr.envs.minatar import check_minatar_env_id
from sb3_qwr.zoo.config import default_conf_file
from sb3_qwr.zoo.registry import ZOO_NAMES, register_qwr

PROG = "sb3-qwr"


@contextmanager
def _patched(owner: Any, name: str, value: Any) -> Iterator[None]:
    """
    Set ``owner.name`` to ``value`` for the duration of the block.

    :param owner: Module or object whose attribute is replaced.
    :param name: Attribute name.
    :param value: Temporary value.
    """
    original = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, original)


@contextmanager
def _zoo_argv(command: str, args: Sequence[str]) -> Iterator[None]:
    """
    Present ``args`` to the Zoo's script as its command line (the Zoo's parsers read ``sys.argv``).

    :param command: The sub-command, shown in the Zoo's usage messages as ``sb3-qwr <command>``.
    :param args: The Zoo's flags.
    """
    with _patched(sys, "argv", [f"{PROG} {command}", *args]):
        yield


def _peek_train_args(args: Sequence[str]) -> argparse.Namespace:
    """
    Read ``--algo`` and ``-conf/--conf-file`` from the Zoo's ``train`` flags, leaving the rest to the Zoo.

    :param args: The Zoo's ``train`` flags.
    :return: ``algo`` (the Zoo's default ``ppo`` when absent), ``conf_file`` (``None`` when absent) and ``env``
        (empty when absent).
    """
    parser = argparse.ArgumentParser(prog=f"{PROG} train", add_help=False)
    parser.add_argument("--algo", default="ppo")
    parser.add_argument("-conf", "--conf-file", default=None)
    parser.add_argument("--env", default="")
    known, _ = parser.parse_known_args(list(args))
    return known


def _pop_resume_args(args: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """
    Take sb3-qwr's own ``train`` flags (``--checkpoint-freq``, ``--resume``) out of the Zoo's.

    :param args: The ``train`` flags.
    :return: sb3-qwr's flags and the Zoo's.
    """
    parser = argparse.ArgumentParser(prog=f"{PROG} train", add_help=False)
    parser.add_argument("--checkpoint-freq", type=int, default=0)
    parser.add_argument("--resume", action="store_true")
    ours, zoo_args = parser.parse_known_args(list(args))
    if ours.checkpoint_freq < 0:
        parser.error(f"--checkpoint-freq must be a number of environment steps >= 0, got {ours.checkpoint_freq}")
    return ours, zoo_args


def train(args: Sequence[str]) -> None:
    """
    The Zoo's ``train`` (training, evaluation callbacks, checkpoints, ``-optimize``) with QWR registered, plus exact
    resume (:mod:`sb3_qwr.zoo.resume`): ``--checkpoint-freq N`` writes ``checkpoint.zip`` in the run folder every
    ``N`` steps, and ``--resume`` continues the latest run of the log folder from it.

    Without ``-conf/--conf-file``, QWR reads sb3-qwr's ``qwr.yml`` and SAC/PPO the modules
    ``sb3_qwr.zoo.conf.sac``/``ppo`` (the Zoo's file plus sb3-qwr's MuJoCo v5 entries); the choice is
    recorded in the run's ``args.yml`` like a ``--conf-file`` given by hand.

    :param args: The Zoo's ``train`` flags.
    """
    import rl_zoo3.train

    from sb3_qwr.zoo.exp_manager import QWRExperimentManager
    from sb3_qwr.zoo.resume import ResumableExperimentManager, RunAlreadyFinished

    register_qwr()
    resume_args, args = _pop_resume_args(args)
    if "-h" in args or "--help" in args:
        print(TRAIN_RESUME_HELP)
    peeked = _peek_train_args(args)
    check_minatar_env_id(peeked.env)
    conf_file = default_conf_file(peeked.algo)
    if peeked.conf_file is None and conf_file is not None:
        args += ["--conf-file", conf_file]
    base = QWRExperimentManager if peeked.algo in ZOO_NAMES else ResumableExperimentManager
    manager = type(
        base.__name__,
        (base,),
        {"checkpoint_freq": resume_args.checkpoint_freq, "resume_run": resume_args.resume, "__module__": base.__module__},
    )
    with _zoo_argv("train", args), _patched(rl_zoo3.train, "ExperimentManager", manager):
        try:
            rl_zoo3.train.train()
        except RunAlreadyFinished as finished:
            print(finished)


def enjoy(args: Sequence[str]) -> None:
    """
    The Zoo's ``enjoy``: run a trained agent; QWR models load with a one-transition replay buffer.

    :param args: The Zoo's ``enjoy`` flags.
    """
    import rl_zoo3.enjoy

    register_qwr(inference=True)
    with _zoo_argv("enjoy", args):
        rl_zoo3.enjoy.enjoy()


def record_video(args: Sequence[str]) -> None:
    """
    The Zoo's ``record_video`` (a video of a trained agent, in ``<log folder>/videos`` by default); QWR models
    load with a one-transition replay buffer.

    :param args: The Zoo's ``record_video`` flags.
    """
    register_qwr(inference=True)
    with _zoo_argv("record_video", args):
        runpy.run_module("rl_zoo3.record_video", run_name="__main__", alter_sys=True)


def record_training(args: Sequence[str]) -> None:
    """
    The Zoo's ``record_training`` (videos of every checkpoint, joined with ffmpeg). The Zoo runs one
    ``python -m rl_zoo3.record_video`` process per model, which would not know QWR: those processes run
    ``sb3-qwr record_video`` with this interpreter instead.

    :param args: The Zoo's ``record_training`` flags.
    """
    original_call = subprocess.call

    def call(command: Any, *call_args: Any, **call_kwargs: Any) -> int:
        if isinstance(command, list) and command[:3] == ["python", "-m", "rl_zoo3.record_video"]:
            command = [sys.executable, "-m", "sb3_qwr.zoo", "record_video", *command[3:]]
        return original_call(command, *call_args, **call_kwargs)

    register_qwr(inference=True)
    with _zoo_argv("record_training", args), _patched(subprocess, "call", call):
        runpy.run_module("rl_zoo3.record_training", run_name="__main__", alter_sys=True)


def _zoo_plots() -> ModuleType:
    """
    Import ``rl_zoo3.plots``. Importing it imports ``rliable`` (optional: only ``plot_from_file --rliable``
    uses it), which the Zoo skips when it is missing but not when it is installed and fails to import (e.g.
    arch < 8, a dependency of rliable, with pandas 3): ``rliable`` is then treated as missing, with a warning.

    :return: The ``rl_zoo3.plots`` package.
    """
    try:
        import rliable.library  # noqa: F401
    except ImportError:
        pass  # The Zoo handles a missing rliable itself.
    except Exception as error:
        warnings.warn(f"rliable is installed but cannot be imported ({error!r}): plotting without rliable.")
        original = sys.modules.get("rliable")
        sys.modules["rliable"] = None  # type: ignore[assignment]  # None: `import rliable` raises ImportError
        try:
            import rl_zoo3.plots
        finally:
            if original is None:
                del sys.modules["rliable"]
            else:
                sys.modules["rliable"] = original
    import rl_zoo3.plots

    return rl_zoo3.plots


def plot_train(args: Sequence[str]) -> None:
    """
    The Zoo's ``plot_train``: training curves from the Monitor logs of ``<exp folder>/<algo>/<env>_<id>/``.

    :param args: The Zoo's ``plot_train`` flags.
    """
    plots = _zoo_plots()
    with _zoo_argv("plot_train", args):
        plots.plot_train()


def plot_from_file(args: Sequence[str]) -> None:
    """
    The Zoo's ``plot_from_file``: plots (and rliable statistics) from the file written by ``all_plots -o``.

    :param args: The Zoo's ``plot_from_file`` flags.
    """
    plots = _zoo_plots()
    with _zoo_argv("plot_from_file", args):
        plots.plot_from_file()


def all_plots(args: Sequence[str]) -> None:
    """
    The Zoo's ``all_plots``: evaluation curves and a results table from the runs' ``evaluations.npz``.

    :param args: The Zoo's ``all_plots`` flags.
    """
    plots = _zoo_plots()
    with _zoo_argv("all_plots", args):
        plots.all_plots()


TRAIN_RESUME_HELP = """sb3-qwr's own train flags (before the Zoo's):
  --checkpoint-freq N   write <run folder>/checkpoint.zip every N environment steps (exact resume; 0: none)
  --resume              continue the latest run of this algo and env in the log folder from its checkpoint,
                        exactly (same folder, Monitor log, evaluations.npz and TensorBoard run continued);
                        with no run there yet, start one
"""

HELP = f"""The RL Zoo (rl-zoo3) with QWR registered as --algo qwr. Each command runs the Zoo's own script with
its own flags ({PROG} <command> --help lists them). Without -conf/--conf-file, train reads QWR's
hyperparameters from sb3-qwr's qwr.yml, and SAC's and PPO's from the Zoo's files plus sb3-qwr's MuJoCo v5
entries.

examples:
  {PROG} train --algo qwr --env Pendulum-v1 -f logs/
  {PROG} enjoy --algo qwr --env Pendulum-v1 -f logs/ --no-render -n 1000
  {PROG} train --algo qwr --env Hopper-v5 -f logs/ --checkpoint-freq 10000   # then, after a stop: ... --resume
  {PROG} train --algo qwr --env Pendulum-v1 -optimize --n-trials 20 --storage sqlite:///qwr.db --study-name qwr
  {PROG} plot_train --algo qwr --env Pendulum-v1 -f logs/"""

COMMANDS: dict[str, Callable[[Sequence[str]], None]] = {
    "train": train,
    "enjoy": enjoy,
    "record_video": record_video,
    "record_training": record_training,
    "plot_train": plot_train,
    "plot_from_file": plot_from_file,
    "all_plots": all_plots,
}


def main(argv: Sequence[str] | None = None) -> None:
    """
    Entry point of ``sb3-qwr`` and ``python -m sb3_qwr.zoo``: ``<command> [Zoo flags]``.

    :param argv: The command and its flags (``sys.argv[1:]`` when ``None``).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    usage = f"usage: {PROG} {{{','.join(COMMANDS)}}} [Zoo flags]"
    if not argv or argv[0] in ("-h", "--help"):
        print(f"{usage}\n\n{HELP}")
        return
    command, args = argv[0], argv[1:]
    if command not in COMMANDS:
        print(usage, file=sys.stderr)
        print(f"{PROG}: error: unknown command {command!r}, choose from {', '.join(COMMANDS)}", file=sys.stderr)
        raise SystemExit(2)
    COMMANDS[command](args)


if __name__ == "__main__":
    main()
