"""
Results tables and learning curves from the run summaries of ``python -m benchmarks.run``.

Reads every ``benchmarks/results/<suite>/*.json`` of the suites of :mod:`benchmarks.suites` and writes, between the markers
``<!-- report.py:begin -->`` and ``<!-- report.py:end -->`` of ``benchmarks/RESULTS.md`` (text outside them is
kept; the block is appended when the file has no markers), one table per suite: for every environment and
variant of the suite, the median +- half the interquartile range over seeds of the final evaluation return (the
statistic of the paper's tables), the interquartile mean with a 95% stratified bootstrap confidence interval
(``rliable``), the paper's number, the number of seeds and the training steps. Cells without a summary read "not
run" (in a suite too large for the project's CPU machines, "not run here" with the smoke run of the same variant
and environment, where there is one); smoke runs are labeled as such. Learning curves (median and interquartile
band over seeds of the checkpoint evaluations) go to ``benchmarks/figures/curves/<suite>/<env>.png`` and are
linked from the tables. The ablations declared in ``benchmarks/suites.py`` (``ABLATIONS``; results roots of their
own, ``results/<ablation>/<suite>/*.json``, from ``python -m benchmarks.run <suite> --ablation <ablation> --params
...``) get a table of their own, each beside the suite's runs of the same variant, environment and seeds.

Every number comes from a summary file::

    python -m benchmarks.report
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.lib.figures import FIGURES_DIR, pyplot, save_figure
from benchmarks.lib.records import BENCHMARKS_DIR, read_json
from benchmarks.lib.stats import bootstrap_interval, iqm_interval, median_half_iqr
from benchmarks.lib.tables import fmt_return, median_text, replace_marked_block
from benchmarks.suites import ABLATIONS, SUITES, VARIANTS

#: Where the learning curves go, one folder per suite.
CURVES_DIR = FIGURES_DIR / "curves"

BEGIN_MARKER = "<!-- report.py:begin -->"
END_MARKER = "<!-- report.py:end -->"

#: Table 1 of the paper (Kozakowski et al. 2021): MuJoCo at 100K interactions, median of 5 runs and half the
#: interquartile range, per variant in the order of ``_TABLE1_ENVS``.
_TABLE1_ENVS = ("HalfCheetah-v5", "Walker2d-v5", "Hopper-v5", "Humanoid-v5")
_TABLE1 = {
    "qwr-lse": ((2323.0, 332.0), (1301.0, 445.0), (1758.0, 735.0), (511.0, 57.0)),
    "qwr-max": ((2250.0, 254.0), (1019.0, 1185.0), (1187.0, 345.0), (503.0, 49.0)),
    "qwr-avg": ((1691.0, 682.0), (1052.0, 231.0), (420.0, 65.0), (455.0, 41.0)),
    "sac": ((5492.0, 8.0), (493.0, 6.0), (1197.0, 175.0), (645.0, 27.0)),
    "ppo": ((51.0, 41.0), (-14.0, 98.0), (15.0, 75.0), (72.0, 18.0)),
}
#: Table 2: Atari at 100K interactions (no spread given), per variant in the order of ``_TABLE2_ENVS``.
_TABLE2_ENVS = tuple(f"{game}NoFrameskip-v4" for game in ("Boxing", "Breakout", "Freeway", "Gopher", "Pong", "Seaquest"))
_TABLE2 = {
    "qwr-lse": (4.6, 8.0, 21.2, 776.0, -7.6, 308.0),
    "qwr-max": (-1.8, 0.8, 16.8, 580.0, -2.0, 252.0),
    "qwr-avg": (-0.8, 1.4, 19.2, 548.0, -9.0, 296.0),
    "ppo": (-3.9, 5.9, 8.0, 246.0, -20.5, 370.0),
}
#: The paper's numbers for the variants we run, as (median, half IQR or ``None``). Keys: (suite, variant, env).
PAPER_SCORES: dict[tuple[str, str, str], tuple[float, float | None]] = {
    **{
        ("mujoco100k", variant, env): score
        for variant, scores in _TABLE1.items()
        for env, score in zip(_TABLE1_ENVS, scores, strict=True)
    },
    **{
        ("atari100k", variant, env): (score, None)
        for variant, scores in _TABLE2.items()
        for env, score in zip(_TABLE2_ENVS, scores, strict=True)
    },
}

#: Row order of the tables: the order of ``suites.VARIANTS``, where a variant is registered (one place).
VARIANT_ORDER = tuple(VARIANTS)


def load_summaries(results_dir: Path, suites: Sequence[str]) -> list[dict[str, Any]]:
    """
    :param results_dir: Root of the summaries (``results/<suite>/*.json``).
    :param suites: Suite names to read.
    :return: The summaries, sorted by suite, variant, environment and seed.
    """
    summaries = []
    for suite in suites:
        for path in sorted((results_dir / suite).glob("*.json")):
            summary = json.loads(path.read_text())
            if summary.get("suite") == suite and "final_eval" in summary:
                summaries.append(summary)
    return sorted(summaries, key=lambda s: (s["suite"], s["variant"], s["env"], s["seed"]))


def load_ablations(results_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """
    :param results_dir: Root of the summaries.
    :return: Per declared ablation (``suites.ABLATIONS``) that has finished runs, its summaries
        (``results/<ablation>/<suite>/*.json``).
    """
    ablations = {}
    for name, ablation in ABLATIONS.items():
        if summaries := load_summaries(results_dir / name, [ablation.suite]):
            ablations[name] = summaries
    return ablations


def _fmt_paper(median: float, half_iqr: float | None) -> str:
    """A number of the paper as printed there: the median, and ± half the IQR when the paper gives it."""
    return f"{median:g}" if half_iqr is None else f"{median:g} ± {half_iqr:g}"


def plot_curves(suite: str, env: str, summaries: Sequence[dict[str, Any]], labels: dict[str, str], path: Path) -> None:
    """
    Learning curves of one environment of a suite: median and interquartile band over seeds of the checkpoint
    evaluation returns of every variant (at the checkpoints all its seeds have).

    :param suite: Suite name (title).
    :param env: Environment id.
    :param summaries: The summaries of this suite and environment.
    :param labels: Display name per variant.
    :param path: Output PNG.
    """
    fig, ax = pyplot().subplots(figsize=(6, 4))
    for variant in VARIANT_ORDER:
        runs = [s for s in summaries if s["variant"] == variant and s["checkpoint_evals"]["timesteps"]]
        if not runs:
            continue
        steps = sorted(set.intersection(*(set(s["checkpoint_evals"]["timesteps"]) for s in runs)))
        if not steps:
            continue
        curves = np.array(
            [
                [dict(zip(s["checkpoint_evals"]["timesteps"], s["checkpoint_evals"]["mean"], strict=True))[t] for t in steps]
                for s in runs
            ]
        )
        q25, q50, q75 = np.percentile(curves, [25, 50, 75], axis=0)
        line = ax.plot(steps, q50, marker="o", markersize=3, label=f"{labels[variant]} ({len(runs)} seeds)")[0]
        ax.fill_between(steps, q25, q75, color=line.get_color(), alpha=0.2)
    ax.set_title(f"{env} ({suite})")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("evaluation return (median, IQR)")
    ax.grid(alpha=0.3)
    ax.legend()
    save_figure(fig, path, dpi=100)


def _steps_text(runs: Sequence[dict[str, Any]]) -> str:
    """
    :param runs: Summaries of one cell.
    :return: Their training steps, e.g. ``"100000"`` (``"1000/3000"`` when the runs differ).
    """
    return "/".join(str(n) for n in sorted({int(s["n_timesteps"]) for s in runs}))


def _smoke_stand_in(smoke_runs: Sequence[dict[str, Any]]) -> str:
    """
    :param smoke_runs: Smoke-suite summaries of one variant and environment.
    :return: What a cell of a suite not run here shows in place of a score.
    """
    if not smoke_runs:
        return "not run here"
    median, _ = median_half_iqr([s["final_eval"]["mean"] for s in smoke_runs])
    seeds = f"{len(smoke_runs)} seed" + ("s" if len(smoke_runs) > 1 else "")
    return f"not run here; smoke run: {fmt_return(median)} ({seeds}, {_steps_text(smoke_runs)} steps)"


def suite_section(
    suite: Any,
    summaries: Sequence[dict[str, Any]],
    labels: dict[str, str],
    curves_dir: Path,
    md_dir: Path,
    plots: bool,
    smoke_summaries: Sequence[dict[str, Any]] = (),
) -> str:
    """
    The markdown of one suite: a table and links to its learning curves.

    :param suite: A suite of :mod:`benchmarks.suites`.
    :param summaries: The summaries of this suite.
    :param labels: Display name per variant.
    :param curves_dir: Root of the learning curves (they go to ``<curves_dir>/<suite>/<env>.png``).
    :param md_dir: Folder of the markdown file (links are relative to it).
    :param plots: Whether to draw the learning curves.
    :param smoke_summaries: The smoke suite's summaries, shown in the cells without a run of a suite that is not run
        on the project's machines (``Suite.not_run_here``).
    :return: The section's markdown.
    """
    smoke = not suite.comparable
    lines = [f"### {suite.name}: {suite.description}", ""]
    if smoke:
        lines += [
            "**Smoke runs**: a few thousand steps with reduced updates, to check the pipeline; not comparable with the paper.",
            "",
        ]
    if suite.not_run_here:
        lines += [
            f"**Not run on this project's CPU machines**: {suite.not_run_here}. A cell without a run shows the smoke "
            "suite's run of the same algorithm and environment, where there is one (not comparable with the paper).",
            "",
        ]
    lines += [
        "| Environment | Algorithm | Median ± ½ IQR | IQM [95% CI] | Paper | Seeds | Steps | Steps/s (median) | At std 0.2 "
        "| Last checkpoint |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    curve_links = []
    for env in suite.envs:
        env_runs = [s for s in summaries if s["env"] == env]
        variants = [v for v in VARIANT_ORDER if v in suite.variants_for(env)]
        for variant in variants:
            runs = [s for s in env_runs if s["variant"] == variant]
            paper = PAPER_SCORES.get((suite.name, variant, env))
            paper_text = "n/a (smoke run)" if smoke else "—" if paper is None else _fmt_paper(*paper)
            if not runs:
                cell = "not run"
                if suite.not_run_here:
                    cell = _smoke_stand_in([s for s in smoke_summaries if s["variant"] == variant and s["env"] == env])
                row = [env, labels[variant], cell, "not run", paper_text, "0", str(suite.timesteps_for(env)), "—", "—", "—"]
            else:
                scores = [s["final_eval"]["mean"] for s in runs]
                iqm, low, high = iqm_interval(scores)
                interval = "n/a (1 seed)" if low is None or high is None else f"[{fmt_return(low)}, {fmt_return(high)}]"
                tag = " (smoke)" if smoke else ""
                speeds = [s["steps_per_s"] for s in runs if s.get("steps_per_s")]
                row = [
                    env,
                    labels[variant],
                    f"{median_text(scores)}{tag}",
                    f"{fmt_return(iqm)} {interval}{tag}",
                    paper_text,
                    str(len(runs)),
                    _steps_text(runs),
                    f"{np.median(speeds):.0f}" if speeds else "—",
                    _reference_temperature_text(runs),
                    _last_checkpoint_text(runs),
                ]
            lines.append("| " + " | ".join(row) + " |")
        if env_runs and plots:
            path = curves_dir / suite.name / f"{env.replace('/', '-')}.png"
            plot_curves(suite.name, env, env_runs, labels, path)
            curve_links.append(f"[{env}]({Path(_relpath(path, md_dir)).as_posix()})")
    lines.append("")
    if curve_links:
        lines += ["Learning curves (checkpoint evaluations, median and IQR over seeds): " + ", ".join(curve_links), ""]
    return "\n".join(lines)


def _reference_temperature_text(runs: Sequence[dict[str, Any]]) -> str:
    """
    :param runs: Summaries of one cell.
    :return: Median ± half IQR of the evaluations at the reference code's temperature 0.5 (std 0.2 in the
        environment's units), over the runs that have one, with their count; "—" when none has.
    """
    scores = [s["final_eval_reference_temperature"]["mean"] for s in runs if s.get("final_eval_reference_temperature")]
    return _some_runs_median_text(scores, len(runs))


def last_checkpoint_score(summary: dict[str, Any]) -> float | None:
    """
    :param summary: A run's summary.
    :return: The mean return of the checkpoint evaluation made at the run's last step (``n_timesteps``), or ``None``
        when the run has none there. For QWR and AWR that evaluation runs during the last collection, before the last
        training phase: the policy the authors' reference code evaluates at the same interaction count (trax
        ``Agent.run`` collects, evaluates, then trains, in every epoch).
    """
    checkpoints = summary.get("checkpoint_evals") or {}
    timesteps = list(checkpoints.get("timesteps") or [])
    if not timesteps or timesteps[-1] != summary["n_timesteps"]:
        return None
    return float(checkpoints["mean"][-1])


def _last_checkpoint_text(runs: Sequence[dict[str, Any]]) -> str:
    """
    :param runs: Summaries of one cell.
    :return: Median ± half IQR of :func:`last_checkpoint_score` over the runs that have one, with their count when
        some have none; "—" when none has.
    """
    scores = [score for score in map(last_checkpoint_score, runs) if score is not None]
    return _some_runs_median_text(scores, len(runs))


def _some_runs_median_text(scores: Sequence[float], n_runs: int) -> str:
    """
    :param scores: A score of each run of a cell that has one.
    :param n_runs: The cell's number of runs.
    :return: Their median ± half IQR, with their count when fewer than ``n_runs``; "—" when there is none.
    """
    if not scores:
        return "—"
    if len(scores) == n_runs:
        return median_text(scores)
    return f"{median_text(scores)} ({len(scores)} seed{'s' if len(scores) > 1 else ''})"


def _scores_text(runs: Sequence[dict[str, Any]]) -> tuple[str, str]:
    """
    :param runs: Summaries of one cell.
    :return: The score of every seed (``"s0 423.6, s1 ..."``) and their median ± half IQR.
    """
    if not runs:
        return "not run", "—"
    per_seed = ", ".join(f"s{s['seed']} {s['final_eval']['mean']:.1f}" for s in runs)
    return per_seed, median_text([s["final_eval"]["mean"] for s in runs])


def ablation_section(
    ablations: dict[str, list[dict[str, Any]]], summaries: Sequence[dict[str, Any]], labels: dict[str, str]
) -> str:
    """
    The markdown of the ablations: each beside the suite's runs of the same variant, environment and seeds.

    :param ablations: Summaries per ablation folder (:func:`load_ablations`).
    :param summaries: The suites' summaries.
    :param labels: Display name per variant.
    :return: The section's markdown (empty without ablations).
    """
    if not ablations:
        return ""
    lines = [
        "### Ablations",
        "",
        "Runs of a suite's setting with one change, declared in `benchmarks/suites.py` (`ABLATIONS`), in "
        "`results/<ablation>/<suite>/` (`python -m benchmarks.run <suite> --ablation <ablation> --params ...`), not in "
        "the tables above. `-params`: those the ablation adds to the suite's run (none: the change is in the code or "
        "the hyperparameter files). Beside each, the suite's runs of the same variant, environment and seeds.",
        "",
        "| Ablation | Environment | Algorithm | What changed | `-params` | Ablation, per seed | Median ± ½ IQR "
        "| Suite, same seeds | Median ± ½ IQR | Last checkpoint, ablation / suite |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for folder, runs in ablations.items():
        for key in sorted({(s["suite"], s["variant"], s["env"]) for s in runs}):
            _, variant, env = key
            cell = [s for s in runs if (s["suite"], s["variant"], s["env"]) == key]
            seeds = {s["seed"] for s in cell}
            base = [s for s in summaries if (s["suite"], s["variant"], s["env"]) == key and s["seed"] in seeds]
            base_params = base[0]["params"] if base else []
            change = " ".join(f"`{p}`" for p in cell[0]["params"] if p not in base_params) or "none"
            last_checkpoint = f"{_last_checkpoint_text(cell)} / {_last_checkpoint_text(base)}"
            what = ABLATIONS[folder].change
            row = [folder, env, labels[variant], what, change, *_scores_text(cell), *_scores_text(base), last_checkpoint]
            lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    return "\n".join(lines)


def _relpath(path: Path, start: Path) -> str:
    import os

    return os.path.relpath(path.resolve(), start.resolve())


def environment_notes(summaries: Sequence[dict[str, Any]]) -> str:
    """
    :param summaries: All summaries.
    :return: The machines and package versions the summaries were made with.
    """
    machines = sorted(
        {
            f"{m.get('platform')}, {m.get('cpu_count')} CPUs, {m.get('torch_threads')} torch thread(s), "
            f"GPU: {m.get('gpu') or 'none'}"
            for m in (s.get("machine", {}) for s in summaries)
        }
    )
    versions = sorted({", ".join(f"{k} {v}" for k, v in s.get("versions", {}).items() if v is not None) for s in summaries})
    lines = []
    if machines:
        lines.append("Machines: " + "; ".join(machines) + ".")
    if versions:
        lines.append("Versions: " + "; ".join(versions) + ".")
    return "\n\n".join(lines)


def normalized_scores(
    suite: Any, summaries: Sequence[dict[str, Any]], random_scores: dict[str, float]
) -> dict[str, tuple[list[int], np.ndarray]]:
    """
    Scores normalized per game, ``(score - random) / (best - random)``: ``random`` the uniform random policy's mean
    (``benchmarks/random_scores.py``), ``best`` the best final score of any run of the suite on the game (MinAtar
    has no published human or reference scores; a fixed best would need one). 0 is random play, 1 the best run.

    :param suite: The suite.
    :param summaries: Its summaries.
    :param random_scores: Random policy's mean return per environment.
    :return: Per variant with a run on every game: the seeds run on every game and the ``(seeds, games)`` matrix.
    """
    best = {env: max((s["final_eval"]["mean"] for s in summaries if s["env"] == env), default=None) for env in suite.envs}
    if any(value is None or value <= random_scores[env] for env, value in best.items()):
        return {}
    result = {}
    for variant in VARIANT_ORDER:
        runs = {(s["env"], s["seed"]): s["final_eval"]["mean"] for s in summaries if s["variant"] == variant}
        seeds = sorted(set.intersection(*({seed for env_, seed in runs if env_ == env} for env in suite.envs)))
        if not seeds:
            continue
        matrix = np.array(
            [
                [(runs[env, seed] - random_scores[env]) / (best[env] - random_scores[env]) for env in suite.envs]
                for seed in seeds
            ]  # type: ignore[operator]
        )
        result[variant] = (seeds, matrix)
    return result


def aggregate_section(suite: Any, summaries: Sequence[dict[str, Any]], labels: dict[str, str], results_dir: Path) -> str:
    """
    The rliable aggregate of a suite with a ``random_scores.json``: IQM and mean of the normalized scores
    (:func:`normalized_scores`) over seeds and games, with 95% stratified bootstrap intervals.

    :param suite: The suite.
    :param summaries: Its summaries.
    :param labels: Display name per variant.
    :param results_dir: Root of the summaries.
    :return: The markdown (empty without random scores or runs on every game).
    """
    record = read_json(results_dir / suite.name / "random_scores.json")
    if not record:
        return ""
    random_scores = {env: value["mean"] for env, value in record["scores"].items()}
    normalized = normalized_scores(suite, summaries, random_scores)
    lines = [
        f"Aggregate over the {len(suite.envs)} games (rliable): scores normalized per game as (score - random) / "
        "(best - random), random the uniform random policy's mean over 100 episodes "
        f"(`{suite.name}/random_scores.json`, `python -m benchmarks.random_scores {suite.name}`), best the best final "
        "score of any run of this suite on that game (MinAtar has no published reference scores), so 1 is the best "
        "run here, not a solved game; a variant enters with the seeds it has run on every game.",
        "",
        "| Algorithm | Seeds on every game | IQM [95% CI] | Mean [95% CI] |",
        "| --- | --- | --- | --- |",
    ]
    from rliable import metrics

    for variant in VARIANT_ORDER:
        if variant not in suite.variants:
            continue
        if variant not in normalized:
            lines.append(f"| {labels[variant]} | 0 | not on every game yet | — |")
            continue
        seeds, matrix = normalized[variant]
        cells = []
        for aggregate in (metrics.aggregate_iqm, metrics.aggregate_mean):
            point = float(aggregate(matrix))
            if len(seeds) < 2:
                cells.append(f"{point:.2f} n/a (1 seed)")
                continue
            low, high = bootstrap_interval(matrix, aggregate)
            cells.append(f"{point:.2f} [{low:.2f}, {high:.2f}]")
        lines.append(f"| {labels[variant]} | {len(seeds)} ({', '.join(map(str, seeds))}) | {cells[0]} | {cells[1]} |")
    return "\n".join([*lines, ""])


def render(results_dir: Path, md_dir: Path, plots: bool = True, curves_dir: Path = CURVES_DIR) -> str:
    """
    The generated block (between the markers, markers included).

    :param results_dir: Root of the summaries.
    :param md_dir: Folder of the markdown file.
    :param plots: Whether to draw the learning curves.
    :param curves_dir: Root of the learning curves.
    :return: The markdown that goes between the markers.
    """
    labels = {name: variant.label for name, variant in VARIANTS.items()}
    summaries = load_summaries(results_dir, list(SUITES))
    parts = [
        "## Suites (generated by `python -m benchmarks.report`; do not edit between the markers)",
        "",
        "Score of a run: mean return of 10 episodes of the deterministic policy of the final model (the final "
        "evaluation of `python -m benchmarks.run`). Over seeds: median ± half the interquartile range (the paper's "
        "statistic) and the interquartile mean with a 95% stratified bootstrap confidence interval (rliable). "
        "Paper: Tables 1 and 2 of Kozakowski et al. (2021), median ± half IQR of 5 runs (Table 2 gives no spread); "
        "its SAC and PPO are the paper's own baseline runs, on the MuJoCo tasks of its time. Every number of ours "
        "comes from a summary in `benchmarks/results/<suite>/`. Learning curves: the Zoo's checkpoint evaluations "
        "(10 episodes every `eval_freq` steps; deterministic policy, except on Atari where the Zoo evaluates the "
        "stochastic one). Steps/s: training steps over the wall time of the training process (checkpoint "
        "evaluations included), on the machine below, which may have been shared. At std 0.2: the evaluation the "
        "authors' reference code reports beside the deterministic one, 10 episodes of actions sampled at temperature "
        "0.5 (std 0.2 in the environment's units), for the runs whose final evaluation made it (QWR and AWR, "
        "from 2026-11-30 on). Last checkpoint: median ± half IQR of the checkpoint evaluation at the run's last step "
        "(10 episodes, as the learning curves); for QWR and AWR it runs during the last collection, before the last "
        "training phase of 1000 + 1000 updates, so it scores the policy that the authors' reference code evaluates at "
        "the same number of interactions (trax `Agent.run` collects, evaluates, then trains in every epoch), while the "
        "Median column scores the final model, one training phase later.",
        "",
    ]
    smoke_summaries = [s for s in summaries if not SUITES[s["suite"]].comparable]
    for suite in SUITES.values():
        suite_summaries = [s for s in summaries if s["suite"] == suite.name]
        parts.append(suite_section(suite, suite_summaries, labels, curves_dir, md_dir, plots, smoke_summaries))
        aggregate = aggregate_section(suite, suite_summaries, labels, results_dir)
        if aggregate:
            parts.append(aggregate)
    parts.append(ablation_section(load_ablations(results_dir), summaries, labels))
    notes = environment_notes(summaries)
    if notes:
        parts += [notes, ""]
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> None:
    """
    Entry point: ``python -m benchmarks.report [--results-dir DIR] [--output FILE] [--no-plots]``.

    :param argv: Command-line arguments (``sys.argv[1:]`` when ``None``).
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--results-dir", type=Path, default=BENCHMARKS_DIR / "results")
    parser.add_argument("--output", type=Path, default=BENCHMARKS_DIR / "RESULTS.md")
    parser.add_argument("--curves-dir", type=Path, default=CURVES_DIR, help="root of the learning curves")
    parser.add_argument("--no-plots", action="store_true", help="skip the learning curves")
    args = parser.parse_args(argv)
    body = render(args.results_dir, args.output.parent, plots=not args.no_plots, curves_dir=args.curves_dir)
    replace_marked_block(args.output, BEGIN_MARKER, END_MARKER, body, append_title="Benchmark results")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
