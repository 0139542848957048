"""
The GPU check, one command for a machine with CUDA (within about 8 minutes on one GPU): run the test suite's
CUDA tests, then time Hopper-v5 steps of QWR in float32, QWR in bfloat16, SAC, and QWR in bfloat16 with
``compile_updates=True`` on the GPU, and write one JSON.

    python -m benchmarks.gpu_check                       # writes benchmarks/results/gpu_check.json
    python -m benchmarks.gpu_check --steps 2000 --output /tmp/gpu_check.json

Each algorithm is warmed up (buffer filled, one training phase done), then timed over ``--steps`` environment
steps (a multiple of 1000: QWR trains once per 1000 interactions); QWR with the paper's 100K defaults (1000
critic and 1000 actor updates per 1000 interactions), SAC with the Zoo's Hopper defaults. A measurement that
would not end before ``--budget`` seconds is skipped and marked so in the JSON.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch as th

from benchmarks.common import REPO_ROOT, RESULTS_DIR, machine_info, package_versions, write_json
from benchmarks.speed import build, time_steps


def cuda_tests(timeout: float) -> dict[str, Any]:
    """
    :param timeout: Seconds.
    :return: The exit code and the last lines of ``pytest -k cuda`` over the test suite.
    """
    command = [sys.executable, "-m", "pytest", "-q", "tests", "-k", "cuda", "-p", "no:cacheprovider"]
    try:
        result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"returncode": None, "summary": f"timed out after {timeout:.0f} s"}
    lines = (result.stdout + result.stderr).strip().splitlines()
    return {"returncode": result.returncode, "summary": "\n".join(lines[-15:])}


def main(argv: list[str] | None = None) -> int:
    """
    Entry point.

    :param argv: Command-line arguments (``sys.argv[1:]`` when ``None``).
    :return: Exit status: 0 when the CUDA tests passed and every timing ran.
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="Hopper-v5")
    parser.add_argument("--steps", type=int, default=2000, help="timed environment steps (a multiple of 1000)")
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--budget", type=float, default=450.0, help="seconds for the whole check")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "gpu_check.json")
    args = parser.parse_args(argv)
    if not th.cuda.is_available():
        print("no CUDA device: nothing to check", file=sys.stderr)
        return 2
    start = time.perf_counter()
    record: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "gpu": th.cuda.get_device_name(0),
        "machine": machine_info(),
        "versions": package_versions(),
        "cuda_tests": cuda_tests(timeout=args.budget / 3),
        "env": args.env,
        "steps": args.steps,
        "seconds_per_1000_steps": {},
    }
    print(record["cuda_tests"]["summary"], flush=True)
    seconds = record["seconds_per_1000_steps"]
    for algo in ("qwr-fp32", "qwr-bf16", "sac", "qwr-bf16-compiled"):  # the compiled one last: Triton takes a while
        elapsed = time.perf_counter() - start
        if elapsed > args.budget * 0.8:
            seconds[algo] = None
            print(f"{algo}: skipped ({elapsed:.0f} s of the {args.budget:.0f} s budget spent)", flush=True)
            continue
        model = build(algo, args.env, seed=0, device="cuda", qwr_updates=1000)
        model.learn(args.warmup)
        seconds[algo] = time_steps(model, args.steps) * 1000.0 / args.steps
        print(f"{algo}: {seconds[algo]:.2f} s per 1000 steps", flush=True)
        write_json(args.output, record)  # what is measured so far survives a kill
    if seconds.get("sac"):
        record["ratio_to_sac"] = {name: value / seconds["sac"] for name, value in seconds.items() if value and name != "sac"}
    record["wall_time_s"] = time.perf_counter() - start
    write_json(args.output, record)
    print(f"wrote {args.output}")
    return 0 if record["cuda_tests"]["returncode"] == 0 and all(seconds.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
