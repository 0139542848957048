"""
The GPU check: one command for a lent CUDA machine (about 8 minutes on one GPU), every part on its own so that one
failure loses nothing else, the JSON written after every part.

Parts, in order: ``cuda_tests`` (``tests/test_cuda.py``, named: the GPU training tests and the CUDA smoke over QWR
and AWR on Box, Discrete and image observations with save, ``load(device="cpu")``, ``learn_offline`` and a
checkpoint); seconds per 1000 Hopper-v5 steps of QWR in float32 (``hopper:qwr-fp32``), in bfloat16
(``hopper:qwr-bf16``) and of SB3's SAC (``hopper:sac``); one whole QWR Atari iteration on Pong (``atari:qwr``: 1000
interactions, then the paper's 1000 critic and 1000 actor updates, timed whole) against 1000 DQN steps
(``atari:dqn``); QWR bfloat16 compiled (``hopper:qwr-bf16-compiled``, last: compiling takes a while). Then the
projections (100K Hopper-v5 and Atari 100K wall time from those figures) and the peak memory of each part.

    python -m benchmarks.gpu_check                       # on the GPU; writes $OUT/gpu_check.json when $OUT is set
    python -m benchmarks.gpu_check --device cpu --smoke  # every part at a tiny size on the CPU (a test)

Each timed model is warmed up first (buffer filled, one training phase done) so that the timing is the steady
state. A part that would start after 80% of ``--budget`` is skipped and marked so. On the lent machine the
packages the check needs come from ``benchmarks/gpu_wheels.py`` (wheels carried in an ignored folder).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch as th

from benchmarks.lib.records import REPO_ROOT, RESULTS_DIR, provenance, write_json
from benchmarks.lib.timing import build, time_steps

#: The test file of the CUDA tests (every test that needs a GPU is there).
CUDA_TESTS = "tests/test_cuda.py"
#: The paper's wall time of a 100K MuJoCo run (Section 4.1: 18 hours on a TPU v2), and the target of issue "Speed".
PAPER_HOPPER_100K_S = 18 * 3600.0
TARGET_HOPPER_100K_S = 15 * 60.0


def default_output() -> Path:
    """:return: ``$OUT/gpu_check.json`` when ``$OUT`` is set (the device machine), else the results folder's."""
    out = os.environ.get("OUT")
    return Path(out) / "gpu_check.json" if out else RESULTS_DIR / "gpu_check.json"


def cuda_tests(timeout: float) -> dict[str, Any]:
    """
    :param timeout: Seconds.
    :return: The exit code and the last lines of pytest over :data:`CUDA_TESTS`.
    """
    command = [sys.executable, "-m", "pytest", "-q", CUDA_TESTS, "-p", "no:cacheprovider", "-rs"]
    try:
        result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"returncode": None, "summary": f"timed out after {timeout:.0f} s", "ok": False}
    lines = (result.stdout + result.stderr).strip().splitlines()
    return {"returncode": result.returncode, "summary": "\n".join(lines[-15:]), "ok": result.returncode == 0}


def hopper_seconds(algo: str, device: str, steps: int, warmup: int, qwr_updates: int) -> dict[str, Any]:
    """
    :return: Seconds per 1000 Hopper-v5 steps of ``algo`` (a name of ``benchmarks.lib.timing.build``), after a warm-up.
    """
    model = build(algo, "Hopper-v5", seed=0, device=device, qwr_updates=qwr_updates)
    model.learn(warmup)
    seconds = time_steps(model, steps)
    return {"seconds_per_1000_steps": seconds * 1000.0 / steps, "steps": steps, "qwr_updates": qwr_updates}


def atari_seconds(algo: str, device: str, steps: int, qwr_updates: int) -> dict[str, Any]:
    """
    :return: Seconds of ``steps`` Pong interactions of ``algo`` (``"qwr-fp32"``: 1000 interactions and one training
        phase of ``qwr_updates`` + ``qwr_updates`` updates, timed whole; ``"dqn"``: the Zoo's Atari DQN), after a
        warm-up of one iteration (QWR) or past its learning start (DQN).
    """
    model = build(algo, "PongNoFrameskip-v4", seed=0, device=device, qwr_updates=qwr_updates)
    model.learn(1000)
    seconds = time_steps(model, steps)
    return {"seconds": seconds, "steps": steps, "qwr_updates": qwr_updates if algo != "dqn" else None}


def projections(parts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """
    :param parts: The parts measured so far.
    :return: 100K Hopper-v5 wall time per QWR variant (and SAC), Atari 100K wall time of QWR and DQN, in seconds,
        with the paper's 100K Hopper time and the issue's target beside them.
    """

    def value(name: str, key: str) -> float | None:
        part = parts.get(name, {})
        return part.get("result", {}).get(key) if part.get("ok") else None

    hopper = {}
    for name in ("hopper:qwr-fp32", "hopper:qwr-bf16", "hopper:qwr-bf16-compiled", "hopper:sac"):
        seconds = value(name, "seconds_per_1000_steps")
        hopper[name.split(":")[1]] = None if seconds is None else 100 * seconds
    atari = {}
    for name in ("atari:qwr", "atari:dqn"):
        seconds, steps = value(name, "seconds"), value(name, "steps")
        atari[name.split(":")[1]] = None if seconds is None or not steps else seconds * 100_000 / steps
    return {
        "hopper_100k_s": hopper,
        "atari_100k_s": atari,
        "paper_hopper_100k_s": PAPER_HOPPER_100K_S,
        "target_hopper_100k_s": TARGET_HOPPER_100K_S,
    }


def run_part(name: str, function: Callable[[], dict[str, Any]], device: str) -> dict[str, Any]:
    """
    :param name: The part's name.
    :param function: The part.
    :param device: Torch device (peak memory on CUDA).
    :return: ``ok``, ``seconds``, ``result`` or ``error`` (the exception and the end of its traceback), and peak memory.
    """
    cuda = device.startswith("cuda") and th.cuda.is_available()
    if cuda:
        th.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    record: dict[str, Any] = {}
    try:
        result = function()
        record = {"ok": result.pop("ok", True), "result": result}
    except Exception as error:  # one failing part must not cost the others
        record = {"ok": False, "error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()[-3000:]}
    record["seconds"] = time.perf_counter() - start
    record["max_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if cuda:
        record["max_cuda_memory_mib"] = th.cuda.max_memory_allocated() / 2**20
    return record


def main(argv: list[str] | None = None) -> int:
    """
    Entry point.

    :param argv: Command-line arguments (``sys.argv[1:]`` when ``None``).
    :return: Exit status: 0 when every part ran and passed, 1 otherwise, 2 without the requested device.
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--smoke", action="store_true", help="every part at a tiny size (for the CPU test)")
    parser.add_argument("--steps", type=int, default=2000, help="timed Hopper-v5 steps (a multiple of 1000)")
    parser.add_argument("--budget", type=float, default=480.0, help="seconds for the whole check")
    parser.add_argument("--output", type=Path, default=None, help="the JSON (default: $OUT/gpu_check.json or results/)")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not th.cuda.is_available():
        print("no CUDA device: nothing to check (give --device cpu --smoke for the CPU smoke)", file=sys.stderr)
        return 2
    output = args.output or default_output()
    updates = 5 if args.smoke else 1000
    steps = 1000 if args.smoke else args.steps
    sac_steps = 100 if args.smoke else args.steps
    dqn_steps = 200 if args.smoke else 1000
    parts: dict[str, Callable[[], dict[str, Any]]] = {
        "cuda_tests": lambda: cuda_tests(timeout=args.budget / 3),
        "hopper:qwr-fp32": lambda: hopper_seconds("qwr-fp32", args.device, steps, 1000, updates),
        "hopper:qwr-bf16": lambda: hopper_seconds("qwr-bf16", args.device, steps, 1000, updates),
        "hopper:sac": lambda: hopper_seconds("sac", args.device, sac_steps, 1000, updates),
        "atari:qwr": lambda: atari_seconds("qwr-fp32", args.device, 1000, updates),
        "atari:dqn": lambda: atari_seconds("dqn", args.device, dqn_steps, updates),
        "hopper:qwr-bf16-compiled": lambda: hopper_seconds("qwr-bf16-compiled", args.device, steps, 1000, updates),
    }
    start = time.perf_counter()
    record: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "device": args.device,
        "gpu": th.cuda.get_device_name(0) if th.cuda.is_available() else None,
        "smoke": args.smoke,
        **provenance(),
        "parts": {},
    }
    for name, function in parts.items():
        elapsed = time.perf_counter() - start
        if elapsed > 0.8 * args.budget:
            record["parts"][name] = {"ok": False, "skipped": f"{elapsed:.0f} s of the {args.budget:.0f} s budget spent"}
        else:
            record["parts"][name] = run_part(name, function, args.device)
        part = record["parts"][name]
        print(f"{name}: {'ok' if part['ok'] else 'FAILED'} {part.get('result', part.get('error', part.get('skipped')))}")
        record["projections"] = projections(record["parts"])
        record["wall_time_s"] = time.perf_counter() - start
        write_json(output, record)  # what is measured so far survives a kill
    print(f"wrote {output}", flush=True)
    return 0 if all(part["ok"] for part in record["parts"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
