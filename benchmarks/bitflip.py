"""
BitFlip benchmark of the QWR paper (Section 2.2, Figure 1): AWR and QWR (mean backup) on BitFlip with N bits.

Protocol (Figure 1): for each N, 10 iterations of 1000 environment interactions, each followed by 300 critic
and 300 actor updates; every other hyperparameter is the same for both algorithms (the defaults of Table 4:
batch 256, replay 50K, learning rates 1e-4 / 5e-4, T = 3, lambda = 0.95, beta = 1, gamma = 0.99, target update
every 100 critic updates, policy network 256-256). The score of a run is the mean return of 10 evaluation
episodes played by the trained agent with its deterministic (arg-max) policy; the maximum is 5.

Every finished (algo, N, seed) run is appended to the results JSON at once, and runs already there are skipped,
so an interrupted benchmark resumes where it stopped. At the end the script draws the figure (median over
seeds, min-max band, one dot per seed) and prints the markdown table (``--readme benchmarks/README.md`` writes it there).

Usage::

    python -m benchmarks.bitflip --seeds 3            # run (or resume) the grid, then plot and write the table
    python -m benchmarks.bitflip --report-only        # only redraw the figure and the table from the JSON
"""

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor

import sb3_qwr.envs  # noqa: F401  (registers BitFlip-v0)
from benchmarks.lib.bitflip_setting import algo_kwargs
from benchmarks.lib.evaluation import PeriodicEvaluation
from benchmarks.lib.figures import FIGURES_DIR, pyplot, save_figure
from benchmarks.lib.records import BENCHMARKS_DIR, read_json, write_json
from benchmarks.lib.seeding import EVAL_SEED_OFFSET
from benchmarks.lib.tables import replace_marked_block
from sb3_qwr import AWR, QWR

DEFAULT_RESULTS = BENCHMARKS_DIR / "results" / "bitflip.json"
DEFAULT_FIGURE = FIGURES_DIR / "bitflip.png"
DEFAULT_README = BENCHMARKS_DIR / "README.md"
ALGOS: dict[str, type[QWR]] = {"qwr": QWR, "awr": AWR}
LABELS = {"qwr": "QWR-mean", "awr": "AWR"}


def run_one(algo: str, n_bits: int, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """
    Train one algorithm on BitFlip with ``n_bits`` bits and evaluate it.

    :param algo: ``"qwr"`` or ``"awr"``.
    :param n_bits: Number of bits ``N``.
    :param seed: Seed of the algorithm and the training environment.
    :param args: Parsed command line.
    :return: The result record.
    """
    start = time.perf_counter()
    env = gym.make("BitFlip-v0", n_bits=n_bits)
    eval_env = Monitor(gym.make("BitFlip-v0", n_bits=n_bits))
    eval_env.reset(seed=seed + EVAL_SEED_OFFSET)
    model = ALGOS[algo](
        "MlpPolicy",
        env,
        seed=seed,
        device="cpu",
        **algo_kwargs(algo, args.train_steps, args.steps_per_iteration, args.actor_lr, args.critic_lr),
    )

    def score(model: Any) -> list[float]:
        returns, _ = evaluate_policy(model, eval_env, args.eval_episodes, deterministic=True, return_episode_rewards=True)
        assert isinstance(returns, list)
        return returns

    curve = PeriodicEvaluation(score, unit="phases")  # after each training phase
    model.learn(args.iterations * args.steps_per_iteration, callback=curve)
    returns, _ = evaluate_policy(model, eval_env, args.eval_episodes, deterministic=True, return_episode_rewards=True)
    assert isinstance(returns, list)
    episode_returns = [float(r) for r in returns]
    return {
        "algo": algo,
        "n_bits": n_bits,
        "seed": seed,
        "return": float(np.mean(episode_returns)),
        "episode_returns": episode_returns,
        "iteration_returns": [*curve.returns, float(np.mean(episode_returns))],
        "train_seconds": round(time.perf_counter() - start, 1),
    }


def load_results(path: Path) -> list[dict[str, Any]]:
    """The result records stored at ``path`` (an empty list if there is no file yet)."""
    return read_json(path, {"runs": []})["runs"]


def save_results(path: Path, runs: list[dict[str, Any]], settings: dict[str, Any]) -> None:
    """Write all records atomically (a crash never leaves a half-written file)."""
    write_json(path, {"settings": settings, "runs": runs})


def summarize(runs: list[dict[str, Any]], key: str = "return") -> dict[tuple[str, int], np.ndarray]:
    """
    One number per seed, by (algo, N).

    :param runs: The result records.
    :param key: ``"return"`` (the final score) or ``"curve_mean"`` (the mean of the 10 per-iteration scores,
        a measure of how fast the algorithm learns).
    :return: The values of all seeds of each (algo, N).
    """
    by_cell: dict[tuple[str, int], list[float]] = {}
    for run in runs:
        value = float(np.mean(run["iteration_returns"])) if key == "curve_mean" else run[key]
        by_cell.setdefault((run["algo"], run["n_bits"]), []).append(value)
    return {cell: np.array(values) for cell, values in by_cell.items()}


def markdown_table(runs: list[dict[str, Any]]) -> str:
    """
    Per N and algorithm: the median over seeds (and min to max) of the final return, then of the mean return
    over the iterations (evaluated after each of them).
    """
    columns = [("return", "final"), ("curve_mean", "mean over iterations")]
    cells = {key: summarize(runs, key) for key, _ in columns}
    n_values = sorted({n for _, n in cells["return"]})
    algos = [algo for algo in ALGOS if any(a == algo for a, _ in cells["return"])]
    seeds = sorted({len(v) for v in cells["return"].values()})
    header = [f"{LABELS[a]}, {name}" for key, name in columns for a in algos]
    lines = ["| N | " + " | ".join(header) + " |", "| --- |" + " --- |" * len(header)]
    for n in n_values:
        row = [str(n)]
        for key, _ in columns:
            for algo in algos:
                values = cells[key].get((algo, n))
                row.append("-" if values is None else f"{np.median(values):.1f} ({values.min():.1f} to {values.max():.1f})")
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append(f"Median over {' or '.join(map(str, seeds))} seeds (min to max over seeds in parentheses).")
    return "\n".join(lines)


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    """
    Return against N for both algorithms, at the end (left, the paper's Figure 1) and averaged over the
    iterations (right): median over seeds, min-max band and one dot per seed.
    """
    fig, axes = pyplot().subplots(1, 2, figsize=(11, 4), sharey=True)
    colors = {"qwr": "tab:blue", "awr": "tab:orange"}
    titles = {"return": "final return (Figure 1)", "curve_mean": "mean return over the 10 iterations"}
    for ax, (key, title) in zip(axes, titles.items(), strict=True):
        cells = summarize(runs, key)
        for algo in ALGOS:
            n_values = sorted(n for a, n in cells if a == algo)
            if not n_values:
                continue
            medians = [np.median(cells[algo, n]) for n in n_values]
            lows = [cells[algo, n].min() for n in n_values]
            highs = [cells[algo, n].max() for n in n_values]
            ax.plot(n_values, medians, "o-", color=colors[algo], label=f"{LABELS[algo]} (median)")
            ax.fill_between(n_values, lows, highs, color=colors[algo], alpha=0.2)
            for n in n_values:
                ax.scatter([n] * len(cells[algo, n]), cells[algo, n], color=colors[algo], s=10, alpha=0.6)
        ax.axhline(5.0, color="gray", linestyle="--", linewidth=1, label="maximum return")
        ax.set_xlabel("N (number of bits)")
        ax.set_title(f"BitFlip: {title}")
        lowest = min(float(values.min()) for values in cells.values())
        ax.set_ylim(min(-0.5, lowest - 0.3), 5.3)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("mean return of 10 deterministic episodes")
    axes[0].legend(loc="lower left")
    save_figure(fig, path, dpi=110)


def write_table(readme: Path, table: str, marker: str = "bitflip-table") -> None:
    """Replace the text between the ``<!-- marker:start -->`` / ``<!-- marker:end -->`` lines of ``readme``."""
    replace_marked_block(readme, f"<!-- {marker}:start -->", f"<!-- {marker}:end -->", table)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-bits", type=int, nargs="+", default=[5, 8, 10, 15, 20, 30], help="values of N")
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds (0 .. seeds-1)")
    parser.add_argument("--algos", nargs="+", choices=list(ALGOS), default=list(ALGOS))
    parser.add_argument("--iterations", type=int, default=10, help="training iterations")
    parser.add_argument("--steps-per-iteration", type=int, default=1000, help="interactions per iteration")
    parser.add_argument("--train-steps", type=int, default=300, help="critic and actor updates per iteration")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--actor-lr", type=float, default=1e-4, help="actor learning rate of both algorithms")
    parser.add_argument("--critic-lr", type=float, default=5e-4, help="critic learning rate of both algorithms")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--figure", type=Path, default=DEFAULT_FIGURE)
    parser.add_argument(
        "--readme",
        type=Path,
        default=None,
        help=f"markdown file that gets the table between its markers (only when given; e.g. {DEFAULT_README.name})",
    )
    parser.add_argument("--table-marker", default="bitflip-table", help="name of the table's markers in --readme")
    parser.add_argument("--report-only", action="store_true", help="only draw the figure and write the table")
    args = parser.parse_args(argv)
    th.set_num_threads(args.threads)

    settings = {
        "iterations": args.iterations,
        "steps_per_iteration": args.steps_per_iteration,
        "train_steps": args.train_steps,
        "eval_episodes": args.eval_episodes,
    }
    if (args.actor_lr, args.critic_lr) != (1e-4, 5e-4):  # Table 4's; earlier results files do not name them
        settings |= {"actor_learning_rate": args.actor_lr, "critic_learning_rate": args.critic_lr}
    runs = load_results(args.results)
    if runs and not args.report_only:
        stored = json.loads(args.results.read_text())["settings"]
        if stored != settings:
            sys.exit(f"{args.results} was produced with {stored}, not {settings}: use another --results file.")
    if not args.report_only:
        done = {(run["algo"], run["n_bits"], run["seed"]) for run in runs}
        # Seed-major order: an interrupted run still has whole seeds for every N.
        for seed in range(args.seeds):
            for n_bits in args.n_bits:
                for algo in args.algos:
                    if (algo, n_bits, seed) in done:
                        continue
                    record = run_one(algo, n_bits, seed, args)
                    runs.append(record)
                    save_results(args.results, runs, settings)
                    print(
                        f"{algo} N={n_bits} seed={seed}: return {record['return']:.1f} "
                        f"(per iteration {record['iteration_returns']}) in {record['train_seconds']:.0f} s",
                        flush=True,
                    )
    if not runs:
        sys.exit(f"No results in {args.results}.")
    plot(runs, args.figure)
    table = markdown_table(runs)
    print(table)
    if args.readme is not None:  # a README is rewritten only when asked
        write_table(args.readme, table, args.table_marker)


if __name__ == "__main__":
    main()
