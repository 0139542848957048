"""
``python -m benchmarks.run ... --executor submitit-local``: a run submitted as a submitit job, preempted (submitit's
USR2) after its first checkpoint, is requeued by submitit and resumed from that checkpoint, and its record equals
the record of the same run made straight by the local executor.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.run import main
from benchmarks.submit import ClusterOptions, make_executor

pytest.importorskip("submitit")

RUN = ["smoke", "--algos", "qwr-lse", "--envs", "Pendulum-v1", "--seeds", "0"]
NAME = "qwr-lse__Pendulum-v1__seed0"


def test_preempted_job_is_requeued_and_resumes_to_the_straight_result(tmp_path: Path) -> None:
    assert main([*RUN, "--runs-dir", str(tmp_path / "runs_a"), "--results-dir", str(tmp_path / "results_a")]) == 0
    runs, results, folder = tmp_path / "runs_b", tmp_path / "results_b", tmp_path / "submitit"
    command = [sys.executable, "-m", "benchmarks.run", *RUN, "--runs-dir", str(runs), "--results-dir", str(results)]
    command += ["--executor", "submitit-local", "--slurm-folder", str(folder)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), *sys.path])}
    # Its own process group: whatever happens, the submitter, submitit's controller and the job go at the end.
    submitter = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        attempts = folder / "runs" / "smoke" / f"{NAME}.attempts.jsonl"
        checkpoints = runs / "smoke" / NAME / "qwr"
        deadline = time.monotonic() + 300
        while not (attempts.is_file() and list(checkpoints.glob("*/checkpoint.zip"))):
            assert submitter.poll() is None and time.monotonic() < deadline, submitter.communicate()[0][-3000:]
            time.sleep(0.05)
        # Preemption as SLURM signals it through submitit: the job kills its training and is requeued.
        os.kill(json.loads(attempts.read_text().splitlines()[0])["pid"], signal.SIGUSR2)
        output, _ = submitter.communicate(timeout=600)
        assert submitter.returncode == 0, output[-3000:]
        assert len(attempts.read_text().splitlines()) == 2, output[-3000:]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(submitter.pid, signal.SIGKILL)
    straight = json.loads((tmp_path / "results_a" / "smoke" / f"{NAME}.json").read_text())
    resumed = json.loads((results / "smoke" / f"{NAME}.json").read_text())
    assert [segment["stopped"] for segment in resumed["train_segments"]] == [True, False]
    assert resumed["final_eval"] == straight["final_eval"]
    assert resumed["checkpoint_evals"] == straight["checkpoint_evals"]
    # Run again: the run is finished, nothing is submitted.
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "submitted" not in again.stdout, again.stdout + again.stderr


def test_slurm_executor_writes_the_sbatch_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import submitit

    monkeypatch.setattr(submitit.SlurmExecutor, "affinity", classmethod(lambda cls: 2))  # as if srun were here
    options = ClusterOptions(tmp_path, time_min=90, partition="cpu", cpus=2, gpus=1, mem_gb=8, signal_delay_s=60)
    executor = make_executor("slurm", options)
    assert executor.max_num_timeout == options.max_requeues
    script = executor._make_submission_file_text("python -u -m submitit.core._submit", "uid")
    for line in ("--time=90", "--partition=cpu", "--cpus-per-task=2", "--gpus-per-node=1", "--mem=8GB", "USR2@60"):
        assert line in script, line
    with pytest.raises(ValueError, match="unknown executor"):
        make_executor("pbs", options)
