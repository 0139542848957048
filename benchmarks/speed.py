"""
Wall-clock cost of QWR per 1000 environment steps, in float32 and in bfloat16 (``precision="bf16"``), each eager
and with ``compile_updates=True`` (``QWR_VARIANTS``, ``--variants``), against SB3's SAC (DQN on Atari) in the same
process, at 1 and 2 torch threads, with the physical limit of the machine. A compiled variant compiles during its
warm-up, so the timed steps are the steady state.

For each thread count and repeat, every algorithm is built, warmed up (buffer filled, one training phase done,
so that the timing is the steady state), then timed over the same number of environment steps; the order of
the algorithms rotates from one repeat to the next so that all see the same machine load. QWR runs with the
paper's 100K defaults (1000 critic and 1000 actor updates per 1000 interactions); SAC with the Zoo's Hopper
defaults (one update of batch 256 per step); on Atari the baseline is DQN with the Zoo's Atari defaults. QWR's
time is split into environment stepping, buffer sampling, critic target, critic update and actor update.

The limit: the float32 and bfloat16 matmul throughput of this machine (GFLOP/s of ``torch.mm`` on the shapes of
QWR's largest layers, at each thread count), and the FLOPs of one QWR iteration (1000 critic and 1000 actor
updates, counted by ``torch.utils.flop_counter``), so that each path's fraction of the limit can be stated.

    python -m benchmarks.speed --env Hopper-v5 --repeats 3 --steps 1000 --threads 1 2
    python -m benchmarks.speed --env PongNoFrameskip-v4 --repeats 1 --steps 1000 --qwr-updates 100 --threads 1

Results are printed as a markdown table and appended to ``benchmarks/results/speed.jsonl``.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from typing import Any

import numpy as np
import torch as th
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.lib.records import RESULTS_DIR, append_jsonl, provenance
from benchmarks.lib.timing import QWR_VARIANTS, build, instrument, time_steps
from sb3_qwr import QWR

RESULTS = RESULTS_DIR / "speed.jsonl"


def phase_shares(seconds: dict[str, float], total: float) -> dict[str, float]:
    """
    :param seconds: A :class:`PhaseTimer`'s seconds.
    :param total: The timed seconds.
    :return: The share of each phase of QWR's time.
    """
    shares = {
        "env_step": seconds["env_step"],
        "buffer_sampling": seconds["sample_critic"] + seconds["sample_actor"],
        "critic_target": seconds["critic_target"],
        "critic_update": seconds["critic_phase"] - seconds["critic_target"] - seconds["sample_critic"],
        "actor_update": seconds["actor_phase"] - seconds["sample_actor"],
        "other_collection": seconds["collect"] - seconds["env_step"],
    }
    return {name: value / total for name, value in shares.items()}


def matmul_dtype(variant: str) -> str:
    """
    :param variant: A name of ``QWR_VARIANTS``.
    :return: The dtype of its matmuls, as a key of ``matmul_gflops``'s record (``float32`` or ``bfloat16``).
    """
    return "bfloat16" if QWR_VARIANTS[variant]["precision"] == "bf16" else "float32"


def matmul_gflops(dtype: th.dtype, device: str, rows: int = 3072, width: int = 256, seconds: float = 1.0) -> float:
    """
    The matmul throughput of this machine on the shape of QWR's largest layer (the critic head on ``B * T * k``
    state-action pairs), at the current number of torch threads.

    :param dtype: ``torch.float32`` or ``torch.bfloat16``.
    :param device: Torch device.
    :param rows: Rows of the left operand.
    :param width: Width of the layer.
    :param seconds: How long to measure.
    :return: GFLOP/s (``2 * rows * width * width`` FLOPs per product).
    """
    a = th.randn(rows, width, device=device).to(dtype)
    b = th.randn(width, width, device=device).to(dtype)
    for _ in range(3):
        th.mm(a, b)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        th.mm(a, b)
        count += 1
    if device.startswith("cuda"):
        th.cuda.synchronize()
    return 2.0 * rows * width * width * count / (time.perf_counter() - start) / 1e9


def qwr_iteration_flops(model: QWR) -> dict[str, float]:
    """
    FLOPs of one QWR iteration (``n_critic_steps`` critic updates and ``n_actor_steps`` actor updates; matmuls
    only, forward and backward), from one update of each counted by ``torch.utils.flop_counter``.

    :param model: A warmed-up QWR model.
    :return: ``critic_update``, ``actor_update`` (FLOPs of one update) and ``iteration`` (of a whole phase).
    """
    stats: dict[str, list[th.Tensor]] = defaultdict(list)
    steps = model.n_critic_steps, model.n_actor_steps
    model.n_critic_steps = model.n_actor_steps = 1
    try:
        with FlopCounterMode(display=False) as counter:
            model._train_critic(model.batch_size, stats, model.n_critic_steps)
        critic = float(counter.get_total_flops())
        with FlopCounterMode(display=False) as counter:
            model._train_actor(model.batch_size, stats, model.n_actor_steps)
        actor = float(counter.get_total_flops())
    finally:
        model.n_critic_steps, model.n_actor_steps = steps
    return {"critic_update": critic, "actor_update": actor, "iteration": critic * steps[0] + actor * steps[1]}


def measure(args: argparse.Namespace, threads: int, baseline: str) -> dict[str, Any]:
    """
    :param args: Command-line arguments.
    :param threads: Torch threads.
    :param baseline: ``sac`` or ``dqn``.
    :return: The record of this thread count.
    """
    th.set_num_threads(threads)
    variants = args.variants
    algos = [*variants, baseline]
    per_repeat: list[dict[str, float]] = []
    shares: dict[str, dict[str, float]] = {}
    phase_seconds: dict[str, dict[str, float]] = {name: defaultdict(float) for name in variants}
    qwr_seconds: dict[str, float] = defaultdict(float)
    flops: dict[str, float] = {}
    for repeat in range(args.repeats):
        row: dict[str, float] = {}
        for algo in algos[repeat % len(algos) :] + algos[: repeat % len(algos)]:
            model = build(algo, args.env, seed=repeat, device=args.device, qwr_updates=args.qwr_updates)
            model.learn(args.warmup)  # fills the buffer and runs one training phase (steady state from here)
            if isinstance(model, QWR) and not flops:
                flops = qwr_iteration_flops(model)
            timer = instrument(model) if isinstance(model, QWR) else None
            seconds = time_steps(model, args.steps)
            row[algo] = seconds * 1000.0 / args.steps
            if timer is not None:
                qwr_seconds[algo] += seconds
                for name, value in timer.seconds.items():
                    phase_seconds[algo][name] += value
        for name in variants:
            row[f"{name}/{baseline}"] = row[name] / row[baseline]
        per_repeat.append(row)
        print(
            f"{threads} thread(s), repeat {repeat}: "
            + ", ".join(f"{algo} {row[algo]:.2f}" for algo in algos)
            + " s per 1000 steps; "
            + ", ".join(f"{name}/{baseline} {row[f'{name}/{baseline}']:.2f}" for name in variants),
            flush=True,
        )
    for name in variants:
        shares[name] = phase_shares(phase_seconds[name], qwr_seconds[name])
    peaks = {str(dtype).removeprefix("torch."): matmul_gflops(dtype, args.device) for dtype in (th.float32, th.bfloat16)}
    medians = {algo: float(np.median([r[algo] for r in per_repeat])) for algo in algos}
    # FLOPs per 1000 steps: one iteration of (n_critic_steps, n_actor_steps) updates per 1000 steps.
    flops_per_1000 = flops["iteration"] * 1000.0 / 1000.0
    achieved = {name: flops_per_1000 / medians[name] / 1e9 for name in variants}
    return {
        "threads": threads,
        "seconds_per_1000_steps_median": medians,
        "ratio_median": {name: float(np.median([r[f"{name}/{baseline}"] for r in per_repeat])) for name in variants},
        "per_repeat": per_repeat,
        "qwr_time_shares": shares,
        "matmul_gflops": peaks,
        "qwr_flops": flops,
        "qwr_achieved_gflops": achieved,
        "fraction_of_limit": {name: achieved[name] / peaks[matmul_dtype(name)] for name in variants},
    }


def main(argv: list[str] | None = None) -> None:
    """
    Entry point.

    :param argv: Command-line arguments (``sys.argv[1:]`` when ``None``).
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="Hopper-v5")
    parser.add_argument("--baseline", default=None, help="sac (default for Box actions) or dqn (default for Atari)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=1000, help="timed environment steps per repeat and algorithm")
    parser.add_argument("--warmup", type=int, default=1000, help="environment steps before timing")
    parser.add_argument("--qwr-updates", type=int, default=1000, help="QWR critic and actor updates per 1000 steps")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch thread counts to measure")
    parser.add_argument(
        "--variants", nargs="+", default=list(QWR_VARIANTS), choices=list(QWR_VARIANTS), help="QWR variants to time"
    )
    parser.add_argument("--note", default="", help="free text stored with the record (e.g. what else ran)")
    args = parser.parse_args(argv)
    baseline = args.baseline or ("dqn" if "NoFrameskip" in args.env else "sac")

    by_threads = [measure(args, threads, baseline) for threads in args.threads]
    record = {
        "env": args.env,
        "baseline": baseline,
        "device": args.device,
        "steps": args.steps,
        "repeats": args.repeats,
        "qwr_updates_per_1000_steps": args.qwr_updates,
        "by_threads": by_threads,
        **provenance(),
        "note": args.note,
    }
    append_jsonl(RESULTS, record)

    name = baseline.upper()
    print(f"\n| threads | variant | s per 1000 steps | {name} s | variant / {name} | fraction of matmul limit |")
    print("| --- | --- | --- | --- | --- | --- |")
    for result in by_threads:
        seconds, ratio, fraction = result["seconds_per_1000_steps_median"], result["ratio_median"], result["fraction_of_limit"]
        for variant in args.variants:
            print(
                f"| {result['threads']} | {variant} | {seconds[variant]:.2f} | {seconds[baseline]:.2f} "
                f"| {ratio[variant]:.2f} | {fraction[variant]:.2f} |"
            )
    for result in by_threads:
        print(f"\n{result['threads']} thread(s): matmul GFLOP/s {result['matmul_gflops']}; QWR shares:")
        for variant, shares in result["qwr_time_shares"].items():
            print(f"  {variant}: " + ", ".join(f"{k} {100 * v:.0f}%" for k, v in shares.items()))


if __name__ == "__main__":
    main()
