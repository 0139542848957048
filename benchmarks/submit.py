"""
Runs of a suite as cluster jobs through ``submitit``: ``python -m benchmarks.run <suite> ... --executor slurm``
submits each unfinished run as one SLURM job (one core, one torch thread, ``--slurm-gpus 1`` for a GPU) and waits
for them. A job that reaches its time limit or is preempted gets submitit's signal (``USR2``,
``--slurm-signal-delay-s`` before the limit), kills its training process as a machine taken away would, and is
requeued; the requeued job runs the same command, which resumes the training exactly from its last checkpoint
(``sb3-qwr train --resume``, written every ``eval_freq`` steps), so a 1M-step run may be made of many jobs of a few
hours and still end with the uninterrupted run's result.

Example (the 100K suite, 5 seeds, 4-hour jobs on partition ``cpu``)::

    python -m benchmarks.run mujoco100k --algos qwr-lse sac --executor slurm --slurm-partition cpu --slurm-time-min 240

Submitted jobs are recorded in ``<submitit folder>/runs/<suite>/<run name>.json`` (and each start of a job, with
its host and process id, in ``<run name>.attempts.jsonl`` beside it): the same command run again (after the submitting
shell was closed, say) waits for a run's job while SLURM still has it queued or running instead of submitting it
twice, and collects the summaries as before. ``--executor submitit-local`` runs the jobs as local processes with
submitit's own local executor, which has the same signals and requeues (the tests use it).
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.lib.records import REPO_ROOT, now_iso, write_json
from benchmarks.suites import RunSpec

#: ``--executor`` choices that submit through submitit.
SUBMITIT_EXECUTORS = ("slurm", "submitit-local")
#: SLURM job states in which a recorded job still owns its run folder.
ACTIVE_STATES = frozenset({"PENDING", "RUNNING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "CONFIGURING", "COMPLETING"})


def _submitit() -> Any:
    try:
        import submitit
    except ImportError:
        raise SystemExit("--executor slurm needs submitit: pip install -e '.[cluster]' (or pip install submitit)") from None
    return submitit


@dataclass(frozen=True)
class ClusterOptions:
    """
    What each job asks the cluster for.

    :param folder: submitit's folder (job scripts, pickles, logs).
    :param time_min: Time limit of one job, in minutes (a run longer than that is requeued and resumed).
    :param partition: SLURM partition (``None``: the cluster's default).
    :param cpus: CPU cores per job.
    :param gpus: GPUs per job.
    :param mem_gb: Memory per job in GB (``None``: the cluster's default).
    :param signal_delay_s: Seconds before the time limit at which the job is told to stop and requeue.
    :param max_requeues: Time limits a run may reach before it is given up (preemptions do not count).
    """

    folder: Path
    time_min: int = 240
    partition: str | None = None
    cpus: int = 1
    gpus: int = 0
    mem_gb: int | None = None
    signal_delay_s: int = 120
    max_requeues: int = 20


class SubmittedRun:
    """
    One run as a submitit job: ``__call__`` is :func:`benchmarks.run.execute_run`; on a time limit or preemption
    submitit calls :meth:`checkpoint`, which stops the run's child processes and requeues the same run, which then
    resumes from the training's last checkpoint.

    :param spec: The run.
    :param runs_dir: Root of the run logs.
    :param results_dir: Root of the summaries.
    :param device: Torch device.
    :param record_dir: Folder of the submission records (each start of the job is appended to its attempts file).
    """

    def __init__(self, spec: RunSpec, runs_dir: Path, results_dir: Path, device: str, record_dir: Path) -> None:
        self.spec, self.runs_dir, self.results_dir, self.device = spec, runs_dir, results_dir, device
        self.record_dir = record_dir

    def __call__(self) -> dict[str, Any]:
        """:return: The run's summary."""
        from benchmarks.run import execute_run

        job_id = os.environ.get("SLURM_JOB_ID") or os.environ.get("SUBMITIT_LOCAL_JOB_ID")
        attempt = {"started": now_iso(), "host": os.uname().nodename, "pid": os.getpid(), "job_id": job_id}
        with open(self.record_dir / f"{self.spec.name}.attempts.jsonl", "a") as attempts:
            attempts.write(json.dumps(attempt) + "\n")
        return execute_run(self.spec, self.runs_dir, self.results_dir, self.device)

    def checkpoint(self) -> Any:
        """
        :return: The same run, to requeue (submitit's ``Checkpointable`` protocol); its children are killed first,
            so that no training of the stopped job writes to the run folder while the requeued one resumes it.
        """
        from benchmarks.run import stop_children

        stop_children()
        again = SubmittedRun(self.spec, self.runs_dir, self.results_dir, self.device, self.record_dir)
        return _submitit().helpers.DelayedSubmission(again)


def record_dir(spec: RunSpec, options: ClusterOptions) -> Path:
    """
    :param spec: A run.
    :param options: The submission's options.
    :return: The folder of the run's submission record (``<run name>.json``) and attempts (``.attempts.jsonl``).
    """
    return options.folder / "runs" / spec.suite


def make_executor(kind: str, options: ClusterOptions) -> Any:
    """
    :param kind: ``"slurm"`` or ``"submitit-local"``.
    :param options: What each job asks for.
    :return: The submitit executor.
    """
    submitit = _submitit()
    if kind == "slurm":
        executor = submitit.SlurmExecutor(folder=options.folder, max_num_timeout=options.max_requeues)
        parameters: dict[str, Any] = {
            "time": options.time_min,
            "cpus_per_task": options.cpus,
            "signal_delay_s": options.signal_delay_s,
            "job_name": "sb3-qwr",
        }
        if options.partition:
            parameters["partition"] = options.partition
        if options.gpus:
            parameters["gpus_per_node"] = options.gpus
        if options.mem_gb:
            parameters["mem"] = f"{options.mem_gb}GB"
        executor.update_parameters(**parameters)
        return executor
    if kind == "submitit-local":
        executor = submitit.LocalExecutor(folder=options.folder, max_num_timeout=options.max_requeues)
        executor.update_parameters(timeout_min=options.time_min, signal_delay_s=options.signal_delay_s)
        return executor
    raise ValueError(f"unknown executor {kind!r}; choose from {', '.join(SUBMITIT_EXECUTORS)}")


def _active_job(kind: str, spec: RunSpec, options: ClusterOptions) -> Any:
    """:return: The SLURM job recorded for a run while SLURM still has it queued or running, else ``None``."""
    record = record_dir(spec, options) / f"{spec.name}.json"
    if kind != "slurm" or not record.is_file():
        return None
    job = _submitit().SlurmJob(folder=options.folder, job_id=json.loads(record.read_text())["job_id"])
    return job if job.state in ACTIVE_STATES else None


def submit_suite(
    kind: str,
    specs: list[RunSpec],
    runs_dir: Path,
    results_dir: Path,
    device: str,
    options: ClusterOptions,
    poll_s: float = 10.0,
) -> list[str]:
    """
    Submit the unfinished runs among ``specs`` (one job each) and wait for them.

    :param kind: ``"slurm"`` or ``"submitit-local"``.
    :param specs: Runs.
    :param runs_dir: Root of the run logs.
    :param results_dir: Root of the summaries.
    :param device: Torch device.
    :param options: What each job asks for.
    :param poll_s: Seconds between two looks at the jobs.
    :return: Names of the failed runs.
    """
    from benchmarks.run import is_finished

    # The jobs unpickle benchmarks.* by name: the repository must be importable there (sbatch passes the environment).
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    executor = make_executor(kind, options)
    jobs: dict[str, Any] = {}
    for spec in specs:
        if is_finished(spec, results_dir):
            continue
        job = _active_job(kind, spec, options)
        if job is None:
            records = record_dir(spec, options)
            records.mkdir(parents=True, exist_ok=True)
            job = executor.submit(SubmittedRun(spec, runs_dir, results_dir, device, records))
            write_json(records / f"{spec.name}.json", {"executor": kind, "job_id": job.job_id, "submitted": now_iso()})
            print(f"submitted {spec.name}: job {job.job_id}", flush=True)
        else:
            print(f"waiting for {spec.name}: job {job.job_id} is {job.state}", flush=True)
        jobs[spec.name] = job
    failed = []
    try:
        while jobs:
            for name, job in list(jobs.items()):
                if not job.done():
                    continue
                del jobs[name]
                try:
                    summary = job.result()
                except Exception as error:  # submitit re-raises the job's error with its traceback
                    failed.append(name)
                    print(f"failed {name}: {str(error).strip().splitlines()[-1]} (logs: {job.paths.stdout})", flush=True)
                    continue
                print(f"  done {name} final return {summary['final_eval']['mean']:.1f}", flush=True)
            if jobs:
                time.sleep(poll_s)
    except KeyboardInterrupt:
        print("stopped waiting: the jobs keep running; run the same command again to wait for them", file=sys.stderr)
        raise
    return failed
