"""
Exact resume at full size: one run of a suite trained twice by :mod:`benchmarks.run`, straight and stopped by
SIGKILL part-way (the whole ``benchmarks.run`` process group, as when a machine is taken away), then run again
with the same command, which resumes the training from its last checkpoint. The two records must be equal.

Exact command, from the repository root (about 60 minutes on 2 cores, the two trainings side by side)::

    python -m benchmarks.resume_check mujoco100k --algo qwr-lse --env Hopper-v5 --seed 0 --kill-at 55000

Summaries go to ``benchmarks/results/resume_check/{straight,killed}/<suite>/<run name>.json`` (run logs under
``benchmarks/runs/resume_check/``) and the comparison to ``benchmarks/results/resume_check/<run name>.json``:
the step and time of the kill, the training segments of the killed run, and whether the final evaluations and
every checkpoint evaluation are equal. The kill step is read from the training Monitor file (finished episodes),
so the kill lands a little after ``--kill-at``, mid-episode and between two checkpoints.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.lib.records import REPO_ROOT, RESULTS_DIR, RUNS_DIR, now_iso, repo_relative, write_json
from benchmarks.suites import SUITES, RunSpec, expand_suite

#: Folder (under the results and runs roots) of the check.
CHECK_NAME = "resume_check"


def monitor_steps(log_folder: Path) -> int:
    """
    :param log_folder: A run's log folder (the Zoo's ``-f``).
    :return: Steps of the finished episodes in the training Monitor files under it (0 when there are none yet).
    """
    steps = 0
    for path in log_folder.rglob("*monitor.csv"):
        if "eval" in path.relative_to(log_folder).parts[:-1]:
            continue
        try:
            with path.open() as file:
                next(file, None)  # the Monitor's JSON header line
                steps += sum(int(row["l"]) for row in csv.DictReader(file) if row.get("l"))
        except (OSError, ValueError, KeyError):
            continue
    return steps


def run_command(spec: RunSpec, which: str, jobs: int = 1) -> list[str]:
    """
    :param spec: The run.
    :param which: ``"straight"`` or ``"killed"``.
    :param jobs: ``--jobs`` of ``benchmarks.run``.
    :return: The ``benchmarks.run`` command of one copy of the run.
    """
    return [
        sys.executable,
        "-m",
        "benchmarks.run",
        spec.suite,
        "--algos",
        spec.variant,
        "--envs",
        spec.env,
        "--seeds",
        str(spec.seed),
        "--jobs",
        str(jobs),
        "--runs-dir",
        str(RUNS_DIR / CHECK_NAME / which),
        "--results-dir",
        str(RESULTS_DIR / CHECK_NAME / which),
    ]


def compare(straight: dict[str, Any], killed: dict[str, Any]) -> dict[str, Any]:
    """
    :param straight: Summary of the uninterrupted run.
    :param killed: Summary of the run stopped and resumed.
    :return: Which evaluations are equal (exactly, as written in the summaries).
    """
    return {
        "final_eval_equal": straight["final_eval"]["returns"] == killed["final_eval"]["returns"]
        and straight["final_eval"]["lengths"] == killed["final_eval"]["lengths"],
        "checkpoint_evals_equal": straight["checkpoint_evals"] == killed["checkpoint_evals"],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """
    :param argv: Command-line arguments (``sys.argv[1:]`` when ``None``).
    :return: 0 when the resumed run equals the straight one, 1 otherwise.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("suite", choices=sorted(SUITES))
    parser.add_argument("--algo", required=True, help="variant (e.g. qwr-lse)")
    parser.add_argument("--env", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kill-at", type=int, required=True, help="SIGKILL once the Monitor counts this many steps")
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between two reads of the Monitor file")
    args = parser.parse_args(argv)
    (spec,) = expand_suite(SUITES[args.suite], variants=[args.algo], envs=[args.env], seeds=[args.seed])
    if not spec.eval_freq < args.kill_at < spec.n_timesteps:
        parser.error(
            f"--kill-at {args.kill_at}: give a step after the first checkpoint ({spec.eval_freq}) and before "
            f"the end ({spec.n_timesteps})"
        )
    summaries = {which: spec.summary_path(RESULTS_DIR / CHECK_NAME / which) for which in ("straight", "killed")}
    if summaries["killed"].exists():
        parser.error(f"{repo_relative(str(summaries['killed']))} exists: remove it (and its run folder) to check again")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    straight = None
    if not summaries["straight"].exists():
        straight = subprocess.Popen(run_command(spec, "straight"), cwd=REPO_ROOT, env=env)
    killed = subprocess.Popen(run_command(spec, "killed"), cwd=REPO_ROOT, env=env, start_new_session=True)
    log_folder = spec.log_folder(RUNS_DIR / CHECK_NAME / "killed")
    while (steps := monitor_steps(log_folder)) < args.kill_at:
        if killed.poll() is not None:
            raise SystemExit(f"the run ended (code {killed.returncode}) before step {args.kill_at}")
        time.sleep(args.poll)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    kill = {"monitor_steps": steps, "time": now_iso()}
    print(f"[resume_check] SIGKILL at {steps} steps ({kill['time']}); running the same command again", flush=True)
    resumed = subprocess.run(run_command(spec, "killed"), cwd=REPO_ROOT, env=env, check=False)
    if straight is not None:
        straight.wait()
    if resumed.returncode or not all(path.exists() for path in summaries.values()):
        raise SystemExit("a run did not finish: see its train.log under " + repo_relative(str(RUNS_DIR / CHECK_NAME)))
    records = {which: json.loads(path.read_text()) for which, path in summaries.items()}
    result = {
        "run": spec.name,
        "suite": spec.suite,
        "kill": kill,
        "train_segments": records["killed"].get("train_segments"),
        "straight_final_mean": records["straight"]["final_eval"]["mean"],
        "killed_final_mean": records["killed"]["final_eval"]["mean"],
        **compare(records["straight"], records["killed"]),
        "summaries": {which: repo_relative(str(path)) for which, path in summaries.items()},
    }
    write_json(RESULTS_DIR / CHECK_NAME / f"{spec.name}.json", result)
    print(json.dumps(result, indent=2))
    return 0 if result["final_eval_equal"] and result["checkpoint_evals_equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
