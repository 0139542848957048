"""
The cost of one whole QWR iteration on Atari (issue "Speed", item 3): ``PongNoFrameskip-v4`` with the paper's
preprocessing (SB3's Atari wrappers, 4 stacked frames), the Nature CNN, 1000 interactions with the actor, then the
paper's 1000 critic and 1000 actor updates of batch 256, timed whole (``model.learn(1000)`` of a new model: the
collection, the training phase, and the first use of every kernel), at one torch thread by default.

    python -m benchmarks.atari_iteration --precision fp32
    python -m benchmarks.atari_iteration --precision bf16-eval --note "channels_last"

Each run appends one record (the seconds, the phases' split, the precision, the commit of the package that ran,
and the provenance of ``benchmarks.lib.records``) to ``benchmarks/results/atari_iteration.jsonl``. To time an
earlier commit, run the same command from a ``git worktree`` of it with this file copied in.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

import torch as th

import sb3_qwr
from benchmarks.lib.records import RESULTS_DIR, append_jsonl, provenance
from benchmarks.lib.timing import build, instrument

RESULTS = RESULTS_DIR / "atari_iteration.jsonl"


def package_commit() -> str | None:
    """:return: The git commit of the checkout that holds the imported ``sb3_qwr`` (``-dirty`` when its package
    files differ from it; ``None`` outside a checkout)."""
    root = Path(sb3_qwr.__file__).resolve().parent.parent
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "sb3_qwr"], capture_output=True, text=True)
    commit = head.stdout.strip()
    return None if not commit else commit + ("-dirty" if status.stdout.strip() else "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16-eval", "bf16"))
    parser.add_argument("--env", default="PongNoFrameskip-v4")
    parser.add_argument("--updates", type=int, default=1000, help="critic (and actor) updates of the phase")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--note", default="")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    th.set_num_threads(args.threads)
    model = build(f"qwr-{args.precision}", args.env, seed=0, device="cpu", qwr_updates=args.updates)
    timer = instrument(model)
    start = time.perf_counter()
    model.learn(1000)
    seconds = time.perf_counter() - start
    record = {
        "benchmark": "atari_iteration",
        "env": args.env,
        "precision": args.precision,
        "updates": args.updates,
        "threads": args.threads,
        "seconds": seconds,
        "phases_s": {name: round(value, 2) for name, value in timer.seconds.items()},
        "package": str(Path(sb3_qwr.__file__).resolve().parent),
        "commit": package_commit(),
        "note": args.note,
        **provenance(),
    }
    print(f"{args.env} {args.precision}: {seconds:.0f} s for 1000 interactions and {args.updates} + {args.updates} updates")
    append_jsonl(args.output, record)


if __name__ == "__main__":
    main()
