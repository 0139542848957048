"""
The benchmark runner: run the unfinished runs of a suite, a few at a time, each as one Zoo training process
followed by a final evaluation in a process of its own, and write a compact summary per run.

Exact commands, from the repository root (``pip install -e ".[benchmarks]"`` for rliable)::

    python -m benchmarks.run --list                      # every suite, expanded, with done/todo per run
    python -m benchmarks.run smoke --jobs 2              # the CPU smoke suite (~10-20 min on 2 cores)
    python -m benchmarks.run mujoco100k --algos qwr-lse sac --envs Hopper-v5 --seeds 0 1 2 --jobs 2
    python -m benchmarks.run mujoco100k --seeds 0 1 2 --jobs 2 --deadline 17:30   # start nothing that ends later
    python -m benchmarks.run atari100k --device cuda     # Table 2 setting (QWR's Atari buffer needs ~2.8 GB)
    python -m benchmarks.run mujoco100k --algos qwr-lse --envs Hopper-v5 --seeds 0 1 2 \\
        --ablation mujoco100k_head_init --params "policy_kwargs:dict(head_init_range=0.01)"
        # an ablation declared in suites.ABLATIONS: extra -params after the suite's, its own results and runs
    python -m benchmarks.report                          # RESULTS.md tables and learning-curve PNGs

Each run is one ``python -m sb3_qwr.zoo train`` process::

    python -m sb3_qwr.zoo train --algo <algo> --env <env> --seed <k> -f benchmarks/runs/<suite>/<run name> \\
        --eval-freq 10000 --eval-episodes 10 -n <steps> [-params ...]

(the Zoo's ``EvalCallback`` evaluates 10 episodes every 10K steps into ``evaluations.npz``: deterministic
policy, except on Atari where the Zoo evaluates the stochastic policy), then ``python -m benchmarks.evaluate``
on the saved final model (10 episodes of the deterministic policy, see :mod:`benchmarks.evaluate`). The run
name is ``<variant>__<env>__seed<k>``. Logs go to the git-ignored ``benchmarks/runs/<suite>/<run name>/``
(``train.log``, ``final_eval.log``, ``final_eval.json`` and the Zoo's folder ``<algo>/<env>_1/``), and a compact
summary to ``benchmarks/results/<suite>/<run name>.json`` (to commit): final and per-checkpoint evaluation
returns, wall time, steps/s, package versions and machine.

A run whose summary exists is skipped; an interrupted run resumes from its last finished stage (a trained
model is only evaluated again, a final evaluation only summarized), and an interrupted training continues exactly
from its last checkpoint (``sb3-qwr train --checkpoint-freq <eval freq> --resume``, :mod:`sb3_qwr.zoo.resume`):
run the same command again to resume. Only a training stopped before its first checkpoint starts again. The
summary's ``train_segments`` lists the pieces a resumed training was made of. On a machine that is taken away
at a known time give ``--deadline``: a run starts only if the median wall time of the finished runs of its
variant (on its environment if any) fits before it. ``--jobs N`` runs N runs at once, each child with one torch
thread.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from huggingface_sb3 import EnvironmentName  # the Zoo's file names of an env id ("/" written "-")

from benchmarks.evaluate import checkpoint_evaluations
from benchmarks.lib.records import REPO_ROOT, RESULTS_DIR, RUNS_DIR, now_iso, package_versions, repo_relative, write_json
from benchmarks.lib.seeding import eval_seed
from benchmarks.submit import SUBMITIT_EXECUTORS, ClusterOptions, submit_suite
from benchmarks.suites import ABLATIONS, SUITES, VARIANTS, RunSpec, expand_suite

__all__ = ["SUITES", "VARIANTS", "RunSpec", "expand_suite"]

#: Summary format version (bump when fields change meaning).
SUMMARY_VERSION = 1


def is_finished(spec: RunSpec, results_dir: Path = RESULTS_DIR) -> bool:
    """
    :param spec: A run.
    :param results_dir: Root of the summaries.
    :return: Whether the run is finished (its summary exists).
    """
    return spec.summary_path(results_dir).is_file()


def expected_duration(spec: RunSpec, results_dir: Path = RESULTS_DIR) -> float | None:
    """
    How long a run is expected to take: the median wall time (training plus final evaluation) of the finished runs
    of the same suite, variant and environment, or else of the same suite and variant on any environment.

    :param spec: A run.
    :param results_dir: Root of the summaries.
    :return: Seconds, or ``None`` when no comparable run has finished yet.
    """
    same_env, same_variant = [], []
    for path in sorted((results_dir / spec.suite).glob(f"{spec.variant}__*.json")):
        try:
            summary = json.loads(path.read_text())
            seconds = float(summary["train_wall_time_s"]) + float(summary.get("final_eval_wall_time_s", 0.0))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if summary.get("n_timesteps") != spec.n_timesteps:  # the glob already fixes the variant
            continue
        same_variant.append(seconds)
        if summary.get("env") == spec.env:
            same_env.append(seconds)
    durations = same_env or same_variant
    return float(statistics.median(durations)) if durations else None


def parse_deadline(text: str, now: datetime | None = None) -> datetime:
    """
    :param text: ``HH:MM`` (local time, today, or tomorrow when that time has passed) or an ISO 8601 date and time.
    :param now: The current local time (``datetime.now()`` when ``None``).
    :return: The deadline as an aware datetime.
    """
    now = (now or datetime.now()).astimezone()
    try:
        clock = datetime.strptime(text, "%H:%M")
    except ValueError:
        try:
            deadline = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"--deadline {text!r}: give HH:MM or an ISO date and time such as 2026-11-28T13:10") from None
        return deadline.astimezone() if deadline.tzinfo is None else deadline
    deadline = now.replace(hour=clock.hour, minute=clock.minute, second=0, microsecond=0)
    return deadline if deadline > now else deadline + timedelta(days=1)


def find_zoo_run_dir(spec: RunSpec, runs_dir: Path = RUNS_DIR) -> Path | None:
    """
    The Zoo's folder of a run, ``<log folder>/<algo>/<env>_<id>`` with the highest id.

    :param spec: A run.
    :param runs_dir: Root of the run logs.
    :return: The folder, or ``None`` when there is none.
    """
    pattern = str(spec.log_folder(runs_dir) / spec.algo / f"{glob.escape(EnvironmentName(spec.env))}_*")
    candidates = []
    for path in glob.glob(pattern):
        suffix = path.rsplit("_", 1)[-1]
        if suffix.isdigit() and os.path.isdir(path):
            candidates.append((int(suffix), Path(path)))
    return max(candidates)[1] if candidates else None


def build_summary(spec: RunSpec, zoo_run_dir: Path, final_eval: dict[str, Any], timing: dict[str, Any]) -> dict[str, Any]:
    """
    The summary of a finished run.

    :param spec: The run.
    :param zoo_run_dir: ``<log folder>/<algo>/<env>_<id>``.
    :param final_eval: Output of :func:`final_evaluation`.
    :param timing: ``train_wall_time_s`` (training process, including its checkpoint evaluations), ``started`` and
        ``finished`` (ISO timestamps), and ``command`` (the Zoo command).
    :return: The summary (JSON-serializable).
    """
    train_time = timing.get("train_wall_time_s")
    machine = dict(final_eval.get("machine", {}))
    return {
        "summary_version": SUMMARY_VERSION,
        "suite": spec.suite,
        "variant": spec.variant,
        "algo": spec.algo,
        "env": spec.env,
        "seed": spec.seed,
        "n_timesteps": spec.n_timesteps,
        "params": list(spec.params),
        "eval_freq": spec.eval_freq,
        "eval_episodes": spec.eval_episodes,
        "final_eval": {key: final_eval[key] for key in ("mean", "std", "returns", "lengths", "deterministic")},
        "final_eval_reference_temperature": final_eval.get("reference_temperature"),
        "checkpoint_evals": checkpoint_evaluations(zoo_run_dir),
        "train_wall_time_s": train_time,
        "final_eval_wall_time_s": final_eval.get("wall_time_s"),
        "steps_per_s": spec.n_timesteps / train_time if train_time else None,
        "started": timing.get("started"),
        "finished": timing.get("finished"),
        "command": timing.get("command"),
        "train_segments": timing.get("train_segments"),
        "run_dir": repo_relative(str(zoo_run_dir)),
        # the provenance of benchmarks.lib.records, with the training process's date and the evaluation's machine
        "date": timing.get("finished"),
        "versions": package_versions(),
        "machine": machine,
    }


def child_env(threads: int = 1) -> dict[str, str]:
    """
    :param threads: Torch/BLAS threads of each child process.
    :return: The environment of the child processes.
    """
    env = dict(os.environ)
    for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[key] = str(threads)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    return env


def trained_timesteps(zoo_run_dir: Path, env_id: str) -> int:
    """
    :param zoo_run_dir: ``<log folder>/<algo>/<env>_<id>``.
    :param env_id: Environment id.
    :return: ``num_timesteps`` of the final model saved by the Zoo (0 when there is no readable model).
    """
    try:
        with zipfile.ZipFile(zoo_run_dir / f"{EnvironmentName(env_id)}.zip") as archive:
            return int(json.loads(archive.read("data"))["num_timesteps"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return 0


class RunFailed(RuntimeError):
    """A child process of a run exited with an error."""


#: The child processes running now (training and evaluation), for :func:`stop_children`.
_CHILDREN: set[subprocess.Popen] = set()
_CHILDREN_LOCK = threading.Lock()


def call_child(command: Sequence[str], log: Any) -> int:
    """
    :param command: A child process's command.
    :param log: The open file its output goes to.
    :return: Its exit code (as ``subprocess.call``), the child registered for :func:`stop_children` while it runs.
    """
    child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=child_env(), cwd=REPO_ROOT)
    with _CHILDREN_LOCK:
        _CHILDREN.add(child)
    try:
        return child.wait()
    finally:
        with _CHILDREN_LOCK:
            _CHILDREN.discard(child)


def stop_children() -> None:
    """Kill (SIGKILL) the running children, as a machine taken away would: a training resumes from its checkpoint."""
    with _CHILDREN_LOCK:
        children = list(_CHILDREN)
    for child in children:
        child.kill()
        # Reaped directly: this may run in a signal handler that interrupted the same child's Popen.wait, whose lock
        # Popen.wait would then wait for forever.
        with contextlib.suppress(ChildProcessError):
            os.waitpid(child.pid, 0)


def execute_run(
    spec: RunSpec, runs_dir: Path = RUNS_DIR, results_dir: Path = RESULTS_DIR, device: str = "auto"
) -> dict[str, Any]:
    """
    Train (unless a trained model exists), evaluate (unless ``final_eval.json`` exists) and summarize one run.

    :param spec: The run.
    :param runs_dir: Root of the run logs.
    :param results_dir: Root of the summaries.
    :param device: Torch device.
    :return: The summary, also written to ``spec.summary_path(results_dir)``.
    """
    folder = spec.log_folder(runs_dir)
    timing_path = folder / "timing.json"
    final_path = folder / "final_eval.json"
    segments_path = folder / "train_segments.json"
    zoo_dir = find_zoo_run_dir(spec, runs_dir)
    trained = zoo_dir is not None and timing_path.is_file() and trained_timesteps(zoo_dir, spec.env) >= spec.n_timesteps
    if not trained:
        checkpoint = None if zoo_dir is None else zoo_dir / "checkpoint.zip"
        if checkpoint is None or not checkpoint.is_file() or not segments_path.is_file():
            if folder.exists():
                shutil.rmtree(folder)  # stopped before its first checkpoint: start again
            folder.mkdir(parents=True)
            segments: list[dict[str, Any]] = []
        else:
            segments = json.loads(segments_path.read_text())
            if segments and segments[-1].get("seconds") is None:  # killed: its useful part ends at the checkpoint
                segments[-1]["seconds"] = max(0.0, checkpoint.stat().st_mtime - segments[-1]["start_epoch"])
                segments[-1]["stopped"] = True
        command = spec.train_command(runs_dir, device)
        segments.append({"started": now_iso(), "start_epoch": time.time(), "seconds": None})
        segments_path.write_text(json.dumps(segments, indent=1))
        start = time.perf_counter()
        with open(folder / "train.log", "a") as log:
            code = call_child(command, log)
        segments[-1]["seconds"] = time.perf_counter() - start
        segments_path.write_text(json.dumps(segments, indent=1))
        if code != 0:
            raise RunFailed(f"training exited with {code}; see {folder / 'train.log'}")
        timing = {
            "train_wall_time_s": sum(segment["seconds"] for segment in segments),
            "started": segments[0]["started"],
            "finished": now_iso(),
            "command": ["python", *(repo_relative(part) for part in command[1:])],
            "train_segments": [
                {"started": segment["started"], "seconds": segment["seconds"], "stopped": segment.get("stopped", False)}
                for segment in segments
            ],
        }
        zoo_dir = find_zoo_run_dir(spec, runs_dir)
        if zoo_dir is None or not (zoo_dir / f"{EnvironmentName(spec.env)}.zip").is_file():
            raise RunFailed(f"no final model after training; see {folder / 'train.log'}")
        # The Zoo saves the model and exits normally when interrupted (Ctrl-C): check the model is complete.
        steps = trained_timesteps(zoo_dir, spec.env)
        if steps < spec.n_timesteps:
            raise RunFailed(f"training stopped at {steps} of {spec.n_timesteps} steps; see {folder / 'train.log'}")
        timing_path.write_text(json.dumps(timing, indent=1))
        final_path.unlink(missing_ok=True)
    assert zoo_dir is not None
    if not final_path.is_file():
        command = [
            sys.executable,
            "-m",
            "benchmarks.evaluate",
            str(zoo_dir),
            "--algo",
            spec.algo,
            "--env",
            spec.env,
            "--episodes",
            str(spec.eval_episodes),
            "--seed",
            str(eval_seed(spec.seed)),
            "--device",
            device,
            "--output",
            str(final_path),
        ]
        with open(folder / "final_eval.log", "w") as log:
            code = call_child(command, log)
        if code != 0 or not final_path.is_file():
            raise RunFailed(f"final evaluation exited with {code}; see {folder / 'final_eval.log'}")
    timing = json.loads(timing_path.read_text())
    summary = build_summary(spec, zoo_dir, json.loads(final_path.read_text()), timing)
    write_json(spec.summary_path(results_dir), summary)
    return summary


def _format_duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    """
    Thread-safe bookkeeping and printing of which runs are done, running, queued or failed.

    :param total: Number of runs to do (skipped ones excluded).
    :param skipped: Number of runs skipped because their summary exists.
    """

    def __init__(self, total: int, skipped: int) -> None:
        self.total = total
        self.skipped = skipped
        self.start = time.perf_counter()
        self.running: dict[str, float] = {}
        self.done: list[str] = []
        self.failed: list[str] = []
        self.deferred: list[str] = []
        self.lock = threading.Lock()

    def line(self) -> str:
        """
        :return: One status line.
        """
        now = time.perf_counter()
        with self.lock:
            queued = self.total - len(self.done) - len(self.failed) - len(self.deferred) - len(self.running)
            running = ", ".join(f"{name} ({_format_duration(now - t)})" for name, t in self.running.items())
            deferred = f", deferred {len(self.deferred)}" if self.deferred else ""
            return (
                f"[{_format_duration(now - self.start)}] done {len(self.done)}/{self.total} "
                f"(+{self.skipped} skipped), failed {len(self.failed)}{deferred}, queued {queued}, "
                f"running: {running or '-'}"
            )

    def event(self, name: str, state: str, message: str = "") -> None:
        """
        Record and print a change of state of a run.

        :param name: Run name.
        :param state: ``start``, ``done``, ``failed`` or ``deferred`` (not started: it would not end before the
            deadline).
        :param message: Extra text.
        """
        with self.lock:
            if state == "start":
                self.running[name] = time.perf_counter()
            else:
                self.running.pop(name, None)
                {"done": self.done, "failed": self.failed, "deferred": self.deferred}[state].append(name)
        print(f"{state:>6} {name} {message}".rstrip(), flush=True)
        print(self.line(), flush=True)


def run_suite(
    specs: Sequence[RunSpec],
    jobs: int = 1,
    runs_dir: Path = RUNS_DIR,
    results_dir: Path = RESULTS_DIR,
    device: str = "auto",
    deadline: datetime | None = None,
) -> list[str]:
    """
    Run the unfinished runs among ``specs``, ``jobs`` at a time.

    :param specs: Runs.
    :param jobs: Runs at once.
    :param runs_dir: Root of the run logs.
    :param results_dir: Root of the summaries.
    :param device: Torch device.
    :param deadline: When set, a run starts only if its ``expected_duration`` ends before it (a run with no
        comparable finished run starts anyway); the others are deferred, to be resumed by a later call. For
        machines that are taken away at a known time: an unfinished run restarts from scratch.
    :return: Names of the failed runs.
    """
    todo = [spec for spec in specs if not is_finished(spec, results_dir)]
    progress = Progress(len(todo), len(specs) - len(todo))
    print(progress.line(), flush=True)

    cancelled = threading.Event()

    def work(spec: RunSpec) -> None:
        if cancelled.is_set():
            return
        if deadline is not None:
            expected = expected_duration(spec, results_dir)
            left = (deadline - datetime.now().astimezone()).total_seconds()
            if expected is not None and expected > left:
                progress.event(
                    spec.name,
                    "deferred",
                    f"expected {_format_duration(expected)}, {_format_duration(max(left, 0.0))} left before the deadline",
                )
                return
        progress.event(spec.name, "start")
        try:
            summary = execute_run(spec, runs_dir, results_dir, device)
        except Exception as error:
            progress.event(spec.name, "failed", str(error))
            return
        progress.event(
            spec.name,
            "done",
            f"final return {summary['final_eval']['mean']:.1f}, {summary['train_wall_time_s']:.0f} s, "
            f"{summary['steps_per_s']:.0f} steps/s",
        )

    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        for future in [pool.submit(work, spec) for spec in todo]:
            future.result()
    except KeyboardInterrupt:
        # The children got the interrupt too; start no queued run (rerun the command to resume).
        cancelled.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
    print(progress.line(), flush=True)
    if progress.deferred:
        print(f"deferred (rerun the command to do them): {', '.join(progress.deferred)}", flush=True)
    return progress.failed


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """
    :param argv: Command-line arguments (``sys.argv[1:]`` when ``None``).
    :return: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description="Run a benchmark suite through `python -m sb3_qwr.zoo train` (python -m benchmarks.run).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("suite", nargs="?", choices=sorted(SUITES), help="suite to run")
    parser.add_argument("--algos", nargs="+", default=None, help=f"variants to run ({', '.join(VARIANTS)})")
    parser.add_argument("--envs", nargs="+", default=None, help="environments to run")
    parser.add_argument("--seeds", nargs="+", type=int, default=None, help="seeds (default: the suite's)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (each with one torch thread)")
    parser.add_argument("--device", default="auto", help="torch device of the runs (e.g. cpu, cuda)")
    parser.add_argument("--runs-dir", type=Path, default=RUNS_DIR, help="root of the run logs")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="root of the summaries")
    parser.add_argument(
        "--deadline",
        default=None,
        help="HH:MM or ISO date and time: start no run expected (from finished runs of the same variant) to end later",
    )
    parser.add_argument(
        "--params",
        nargs="+",
        default=(),
        metavar="KEY:VALUE",
        help="extra Zoo -params for every run, after the suite's (an ablation: needs its own --results-dir)",
    )
    parser.add_argument(
        "--ablation",
        choices=sorted(ABLATIONS),
        default=None,
        help="run as this declared ablation (suites.ABLATIONS): results in results/<ablation>, logs in runs/<ablation>",
    )
    parser.add_argument("--list", action="store_true", help="print the runs (and whether done) and exit")
    cluster = parser.add_argument_group("cluster (benchmarks.submit: one submitit job per run, requeued and resumed)")
    cluster.add_argument(
        "--executor",
        choices=("local", *SUBMITIT_EXECUTORS),
        default="local",
        help="local: --jobs processes here; slurm: SLURM jobs; submitit-local: submitit's local executor (tests)",
    )
    cluster.add_argument("--slurm-folder", type=Path, default=None, help="submitit's folder (default: <runs-dir>/submitit)")
    cluster.add_argument("--slurm-time-min", type=int, default=240, help="time limit of one job (longer runs requeue)")
    cluster.add_argument("--slurm-partition", default=None, help="SLURM partition")
    cluster.add_argument("--slurm-cpus", type=int, default=1, help="CPU cores per job")
    cluster.add_argument("--slurm-gpus", type=int, default=0, help="GPUs per job")
    cluster.add_argument("--slurm-mem-gb", type=int, default=None, help="memory per job")
    cluster.add_argument("--slurm-signal-delay-s", type=int, default=120, help="stop and requeue this long before the limit")
    cluster.add_argument("--slurm-max-requeues", type=int, default=20, help="time limits a run may reach")
    args = parser.parse_args(argv)
    if args.ablation is not None:
        if args.suite != ABLATIONS[args.ablation].suite:
            suite = ABLATIONS[args.ablation].suite
            parser.error(f"--ablation {args.ablation} changes the suite {suite!r}, not {args.suite!r}")
        args.results_dir, args.runs_dir = RESULTS_DIR / args.ablation, RUNS_DIR / args.ablation
    if args.params and args.results_dir.resolve() == RESULTS_DIR.resolve():
        parser.error(
            "--params changes the runs, so their summaries must not mix with the suite's: "
            "run them as a declared ablation (--ablation <name>, declared in benchmarks/suites.py ABLATIONS) or give them "
            "their own --results-dir (and --runs-dir)"
        )
    if args.deadline is not None:
        try:
            args.deadline = parse_deadline(args.deadline)
        except ValueError as error:
            parser.error(str(error))
    if args.suite is None and not args.list:
        parser.error("a suite is required")
    if args.executor != "local" and args.deadline is not None:
        parser.error("--deadline is for --executor local; on a cluster, --slurm-time-min bounds each job (runs requeue)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """
    Entry point: ``python -m benchmarks.run <suite> [--algos ...] [--envs ...] [--seeds ...] [--jobs N]``.

    :param argv: Command-line arguments (``sys.argv[1:]`` when ``None``).
    :return: Exit status (1 when a run failed).
    """
    args = parse_args(argv)
    suites = [SUITES[args.suite]] if args.suite else list(SUITES.values())
    for suite in suites:
        specs = expand_suite(suite, args.algos, args.envs, args.seeds, args.params)
        if args.list:
            print(f"{suite.name}: {suite.description}")
            for spec in specs:
                state = "done" if is_finished(spec, args.results_dir) else "todo"
                print(f"  [{state}] {spec.name}  -n {spec.n_timesteps}  -params {' '.join(spec.params)}")
            continue
        if args.executor == "local":
            failed = run_suite(specs, args.jobs, args.runs_dir, args.results_dir, args.device, args.deadline)
        else:
            options = ClusterOptions(
                folder=args.slurm_folder or args.runs_dir / "submitit",
                time_min=args.slurm_time_min,
                partition=args.slurm_partition,
                cpus=args.slurm_cpus,
                gpus=args.slurm_gpus,
                mem_gb=args.slurm_mem_gb,
                signal_delay_s=args.slurm_signal_delay_s,
                max_requeues=args.slurm_max_requeues,
            )
            failed = submit_suite(args.executor, specs, args.runs_dir, args.results_dir, args.device, options)
        if failed:
            print(f"{len(failed)} failed: {', '.join(failed)}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
