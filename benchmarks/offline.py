"""
Offline benchmark of the QWR paper (Section 4.4, Figure 3): QWR (and AWR) trained for 30 iterations on a fixed
dataset of episodes collected by diverse policies, without any environment interaction.

Protocol of Figure 3 (profile ``full``, the defaults): for each of HalfCheetah-v5, Hopper-v5 and Walker2d-v5,

1. behaviour policies: SAC (SB3 defaults) saved after each of ``--checkpoints`` training steps (diverse
   policies of increasing quality; 50K to 300K by default);
2. the dataset: ``--episodes`` = 50 episodes (time limit 1000) shared round-robin among the checkpoints, each
   acting with its mean action plus Gaussian noise of std ``--noise`` in [-1, 1] units, plus
   ``--random-episodes`` episodes of uniform random actions, written as a local Minari dataset by
   ``sb3_qwr.datasets``; its average episode return is the horizontal line of the figure;
3. QWR (Table 4 defaults: 1000 critic and 1000 actor updates per iteration, batch 256, log-sum-exp backup) and
   AWR (``sb3_qwr.AWR`` when it exists, same settings) load the dataset with ``model.load_dataset`` (mu: a
   Gaussian of std 0.4 centered on each dataset action, as the paper) and train with
   ``model.learn_offline(--iterations)``, never stepping the environment;
4. score: mean return of ``--eval-episodes`` deterministic evaluation episodes at the end; median and
   interquartile range over ``--seeds`` seeds (4 in the paper).

Everything is resumable: the checkpoints and datasets live under ``--work-dir`` (ignored by git) and are reused,
every finished (profile, env, algo, seed) run is appended to the results JSON at once and skipped when it is
there. The figure and the markdown table (``benchmarks/README.md`` and ``benchmarks/RESULTS.md``, section "Offline
(Figure 3)") are redrawn from the JSON at the end; every profile in the JSON gets its own rows, labeled with its
settings.

Usage::

    python -m benchmarks.offline                                   # the full Figure 3 protocol (days of CPU)
    python -m benchmarks.offline --profile reduced --envs Hopper-v5 \\
        --checkpoints 5000 10000 15000 --episodes 15 --random-episodes 5 --iterations 10 \\
        --critic-steps 200 --actor-steps 200 --eval-episodes 5
    python -m benchmarks.offline --profile figure3-hopper --envs Hopper-v5 --episodes 45 --random-episodes 5 \\
        --behaviour-models sac-3k=runs/a/Hopper-v5.zip sac-100k=runs/b/best_model.zip   # reuse saved SAC models
    python -m benchmarks.offline --report-only                     # only redraw the figure and the table
    python -m benchmarks.offline --report-only --plot-profiles figure3+figure3-mu0.4   # joined panels (same data)

``--eval-every N`` also scores QWR and AWR every N iterations (the run record's ``curve``; training and the final
score are those of a run without it).

``--behaviour-models [LABEL=]PATH ...`` replaces step 1 by SAC models saved elsewhere (for example by the
``mujoco100k`` runs of ``python -m benchmarks.run``, whose Zoo folders hold the final model and the best checkpoint):
they are copied under the work dir with their labels, which name them in the dataset summary.
"""

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from stable_baselines3 import SAC

from benchmarks.lib.evaluation import PeriodicEvaluation
from benchmarks.lib.figures import FIGURES_DIR, pyplot
from benchmarks.lib.offline_peers import PEERS, run_peer, run_record
from benchmarks.lib.offline_protocol import (
    BEHAVIOUR_FOLDERS,
    DEFAULT_RESULTS,
    DEFAULT_RESULTS_MD,
    DEFAULT_WORK_DIR,
    add_training_arguments,
    algo_classes,
    evaluate_offline,
    model_path,
    mu_std,
    train_offline_model,
)
from benchmarks.lib.records import BENCHMARKS_DIR, read_json, write_json
from benchmarks.lib.seeding import EVAL_SEED_OFFSET
from benchmarks.lib.stats import quartiles
from benchmarks.lib.tables import quartiles_cell, replace_marked_block
from sb3_qwr.datasets import make_dataset
from sb3_qwr.offline import from_minari
from sb3_qwr.offline.buffer import DEFAULT_ACTION_STD

DEFAULT_FIGURE = FIGURES_DIR / "offline.png"
DEFAULT_CURVES = FIGURES_DIR / "offline_curves.png"
DEFAULT_README = BENCHMARKS_DIR / "README.md"
TABLE_START = "<!-- offline-table:start -->"
TABLE_END = "<!-- offline-table:end -->"
ENVS = ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5")
LABELS = {"qwr": "QWR", "awr": "AWR"} | PEERS
COLORS = {
    "qwr": "tab:blue",
    "awr": "tab:orange",
    "bc": "tab:gray",
    "awac": "tab:green",
    "iql": "tab:red",
    "td3plusbc": "tab:purple",
    "cql": "tab:brown",
}


def settings_of(args: argparse.Namespace) -> dict[str, Any]:
    """The settings that define a profile (a stored profile must be resumed with the same ones)."""
    settings: dict[str, Any] = {}
    if args.behaviour_models:
        settings["behaviour_models"] = [label for label, _ in parse_models(args.behaviour_models)]
    if args.action_std is not None:  # profiles without it used the paper's 0.4
        settings["action_std"] = args.action_std
    if args.min_steps:  # profiles without it stopped at --episodes
        settings["min_steps"] = args.min_steps
    return settings | {
        "checkpoints": args.checkpoints,
        "episodes": args.episodes,
        "random_episodes": args.random_episodes,
        "noise": args.noise,
        "iterations": args.iterations,
        "critic_steps": args.critic_steps,
        "actor_steps": args.actor_steps,
        "eval_episodes": args.eval_episodes,
    }


def parse_models(specs: list[str]) -> list[tuple[str, Path]]:
    """
    ``LABEL=PATH`` (or ``PATH``, labeled by its position and file name) for each ``--behaviour-models`` entry.

    :param specs: The entries of the command line.
    :return: ``(label, path)`` pairs, in the given order.
    """
    pairs = []
    for i, spec in enumerate(specs):
        label, sep, path = spec.partition("=")
        if not sep:
            label, path = f"{i:02d}_{Path(spec).stem}", spec
        pairs.append((label, Path(path)))
    labels = [label for label, _ in pairs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"--behaviour-models labels must be unique, got {labels}.")
    return pairs


def behaviour_policies(env_id: str, args: argparse.Namespace) -> list[Path]:
    """
    The behaviour policies of the dataset: copies of the ``--behaviour-models`` (named by their labels, so that
    the dataset summary reports each one's return), or SAC checkpoints trained here.

    :param env_id: The environment.
    :param args: Parsed command line.
    :return: The model paths.
    """
    if not args.behaviour_models:
        return train_behaviour_policies(env_id, args)
    folder = args.work_dir / args.profile / env_id / BEHAVIOUR_FOLDERS[1]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for label, path in parse_models(args.behaviour_models):
        if not path.is_file():
            sys.exit(f"Behaviour model {path} ({label}) does not exist.")
        target = folder / f"{label}.zip"
        shutil.copyfile(path, target)
        paths.append(target)
    return paths


def train_behaviour_policies(env_id: str, args: argparse.Namespace) -> list[Path]:
    """
    Train SAC and save it at every checkpoint (reusing the checkpoints already on disk).

    :param env_id: The environment.
    :param args: Parsed command line.
    :return: The checkpoint paths, in training order.
    """
    folder = args.work_dir / args.profile / env_id / BEHAVIOUR_FOLDERS[0]
    paths = [folder / f"sac_{steps}.zip" for steps in args.checkpoints]
    if all(path.exists() for path in paths):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    model = SAC("MlpPolicy", gym.make(env_id), seed=args.behaviour_seed, device=args.device, verbose=0)
    start = time.perf_counter()
    for steps, path in zip(args.checkpoints, paths, strict=True):
        model.learn(steps - model.num_timesteps, reset_num_timesteps=False)
        model.save(path)
        print(f"{env_id}: SAC checkpoint at {steps} steps ({time.perf_counter() - start:.0f} s)", flush=True)
    return paths


def build_dataset(env_id: str, args: argparse.Namespace, record: dict[str, Any]) -> str:
    """
    Write the Minari dataset of an environment (once) and store its summary in ``record["dataset"]``.

    :param env_id: The environment.
    :param args: Parsed command line.
    :param record: The environment's record in the results.
    :return: The dataset id (under the profile's Minari root).
    """
    dataset_id = f"{env_id.split('-')[0].lower()}/diverse-v0"
    root = args.work_dir / args.profile / "minari"
    if (root / dataset_id / "data").is_dir() and "dataset" in record:
        return dataset_id
    if (root / dataset_id).exists():
        sys.exit(f"{root / dataset_id} exists but its summary is not in the results: delete it to rebuild it.")
    summary = make_dataset(
        env_id,
        dataset_id,
        policies=behaviour_policies(env_id, args),
        algo="sac",
        episodes=args.episodes,
        noise=args.noise,
        random_episodes=args.random_episodes,
        root=root,
        seed=args.behaviour_seed,
        min_steps=args.min_steps,
    )
    record["dataset"] = {
        "id": dataset_id,
        "episodes": summary.n_episodes,
        "steps": summary.n_steps,
        "average_return": summary.average_return,
        "returns_by_source": {Path(k).stem: float(np.mean(v)) for k, v in summary.returns_by_source.items()},
    }
    return dataset_id


def run_one(env_id: str, algo: str, seed: int, dataset_id: str, args: argparse.Namespace) -> dict[str, Any]:
    """
    Train one algorithm offline on the dataset, save it (:func:`model_path`, where ``benchmarks/offline_weights.py``
    finds it) and evaluate it.

    :param env_id: The environment (only its spaces are used for training).
    :param algo: ``"qwr"``, ``"awr"`` or one of d3rlpy's (:data:`benchmarks.lib.offline_peers.PEERS`, trained in
        d3rlpy's own virtualenv).
    :param seed: Seed of the algorithm.
    :param dataset_id: The Minari dataset.
    :param args: Parsed command line.
    :return: The result record.
    """
    start = time.perf_counter()
    dataset = from_minari(dataset_id, root=args.work_dir / args.profile / "minari")
    if algo in PEERS:
        return run_peer(
            env_id,
            algo,
            seed,
            dataset,
            work_dir=args.work_dir / args.profile / env_id,
            steps=args.iterations * max(args.critic_steps, args.actor_steps),
            eval_episodes=args.eval_episodes,
            eval_seed=seed + EVAL_SEED_OFFSET,
            threads=args.threads,
        )
    curve = None
    if args.eval_every:  # every eval_every iterations before the last (learn_offline calls the callbacks once each)
        curve = PeriodicEvaluation(
            lambda model: evaluate_offline(model, env_id, seed, args.eval_episodes),
            every=args.eval_every,
            unit="calls",
            until=args.iterations,
            on_point=lambda point: print(f"  iteration {point['count']}: return {point['return']:.1f}", flush=True),
        )
    model = train_offline_model(algo, env_id, seed, dataset, args, args.action_std, callback=curve)
    model.save(model_path(args.work_dir / args.profile / env_id, algo, seed, args.action_std))
    returns = evaluate_offline(model, env_id, seed, args.eval_episodes)
    record = run_record(env_id, algo, seed, returns, time.perf_counter() - start)
    if curve is not None:
        points = [{"iteration": point["count"], "return": point["return"]} for point in curve.points]
        record["curve"] = [*points, {"iteration": args.iterations, "return": record["return"]}]
    return record


def load_results(path: Path) -> dict[str, Any]:
    """The stored results (profiles by name), or an empty structure."""
    return read_json(path, {"profiles": {}})


def save_results(path: Path, results: dict[str, Any]) -> None:
    """Write all results atomically (a crash never leaves a half-written file)."""
    write_json(path, results)


def markdown_table(results: dict[str, Any]) -> str:
    """One row per (profile, env): dataset return, then median (IQR, seeds) of each algorithm."""
    algos = sorted({run["algo"] for p in results["profiles"].values() for e in p["envs"].values() for run in e["runs"]})
    algos = [a for a in LABELS if a in algos]
    header = "| profile | env | dataset (episodes, steps) | dataset average return | "
    header += " | ".join(f"{LABELS[a]} median (IQR, seeds)" for a in algos) + " |"
    lines = [header, "| --- | --- | --- | --- |" + " --- |" * len(algos)]
    for name, profile in results["profiles"].items():
        for env_id, record in profile["envs"].items():
            data = record.get("dataset")
            if data is None:
                continue
            row = [name, env_id, f"{data['episodes']}, {data['steps']}", f"{data['average_return']:.0f}"]
            for algo in algos:
                row.append(quartiles_cell([run["return"] for run in record["runs"] if run["algo"] == algo]))
            lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    for name, profile in results["profiles"].items():
        s = profile["settings"]
        sources = (
            f"saved SAC models {', '.join(s['behaviour_models'])}"
            if s.get("behaviour_models")
            else f"SAC checkpoints at {s['checkpoints']} steps"
        )
        lines.append(
            f"- `{name}`: {sources}, {s['episodes']} policy episodes (noise "
            f"{s['noise']}{', continued to ' + str(s['min_steps']) + ' steps' if s.get('min_steps') else ''}) + "
            f"{s['random_episodes']} random episodes, {s['iterations']} iterations of "
            f"{s['critic_steps']} critic + {s['actor_steps']} actor updates, {s['eval_episodes']} evaluation episodes"
            f", mu std {mu_std(s):g}{'' if 'action_std' in s else ' (the paper default)'}; d3rlpy's algorithms: "
            f"{s['iterations'] * max(s['critic_steps'], s['actor_steps'])} gradient steps."
        )
    return "\n".join(lines)


def panel_keys(results: dict[str, Any], groups: list[str] | None) -> list[tuple[str, str]]:
    """
    :param results: All results.
    :param groups: Profiles, or profiles on the same dataset joined by ``+`` (default: every profile).
    :return: ``(group, env)`` of every panel: each environment of a group's first profile with a dataset and runs.
    """
    return [
        (group, env_id)
        for group in (groups if groups is not None else list(results["profiles"]))
        for env_id, record in results["profiles"][group.split("+")[0]]["envs"].items()
        if record.get("dataset") and record["runs"]
    ]


def figure_table(results: dict[str, Any], groups: list[str]) -> str:
    """
    The figure's numbers: one row per panel of :func:`plot` (a profile, or profiles on the same dataset joined by
    ``+``), the dataset's average return, then median (IQR, seeds) of each bar.

    :param results: All results.
    :param groups: The figure's profiles (``--plot-profiles``).
    :return: A markdown table.
    """
    rows = [(group, env_id, *panel(results, group, env_id)) for group, env_id in panel_keys(results, groups)]
    labels: list[str] = []
    for *_, bars in rows:
        labels += [label for label, _, _ in bars if label not in labels]
    lines = [
        "| env | profiles | dataset average return | " + " | ".join(labels) + " |",
        "| --- | --- | --- |" + " --- |" * len(labels),
    ]
    for group, env_id, dataset, bars in rows:
        cells = {label: quartiles_cell(values) for label, _, values in bars}
        row = [env_id, f"`{group}`", f"{dataset['average_return']:.0f}"] + [cells.get(label, "not run") for label in labels]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def panel(results: dict[str, Any], group: str, env_id: str) -> tuple[dict[str, Any], list[tuple[str, str, list[float]]]]:
    """
    One environment's bars from one profile, or from several profiles on the same dataset joined by ``+`` (as in
    ``figure3-sac150k+figure3-sac150k-mu0.4``: the same behaviour policies and seeds, so the same data, with another
    std of mu). QWR, which reads mu, gets one bar per std of mu, labeled with it; an algorithm
    that does not read mu (AWR, d3rlpy's) takes its runs from the first profile that has them.

    :param results: All results.
    :param group: A profile name, or names joined by ``+``.
    :param env_id: The environment.
    :return: The dataset record and ``(label, algo, returns)`` per bar, in :data:`LABELS` order.
    :raises ValueError: When the joined profiles' datasets differ.
    """
    names = group.split("+")
    missing = [name for name in names if env_id not in results["profiles"].get(name, {}).get("envs", {})]
    if missing:
        raise ValueError(
            f"No {env_id} results of profile(s) {missing} (profiles: {sorted(results['profiles'])}): check --plot-profiles."
        )
    records = [(name, results["profiles"][name]) for name in names]
    datasets = [profile["envs"][env_id].get("dataset") for _, profile in records]
    if any(dataset != datasets[0] for dataset in datasets[1:]):
        raise ValueError(
            f"Profiles {names} on {env_id} hold different datasets ({datasets}): join with '+' only profiles built "
            "from the same behaviour policies, noise and seeds."
        )
    stds = sorted({mu_std(profile["settings"]) for _, profile in records})
    bars = []
    for algo in LABELS:
        if algo == "qwr":
            for std in stds:
                values = [
                    run["return"]
                    for _, profile in records
                    if mu_std(profile["settings"]) == std
                    for run in profile["envs"][env_id]["runs"]
                    if run["algo"] == algo
                ]
                label = f"{LABELS[algo]} mu {std:g}"
                if values:
                    bars.append((label, algo, values))
            continue
        for _, profile in records:
            values = [run["return"] for run in profile["envs"][env_id]["runs"] if run["algo"] == algo]
            if values:
                bars.append((LABELS[algo], algo, values))
                break
    return datasets[0], bars


def plot(results: dict[str, Any], path: Path, profiles: list[str] | None = None) -> None:
    """
    Figure 3: per environment, median return bars with IQR lines and the dataset's average return.

    :param results: All results.
    :param path: The figure to write.
    :param profiles: The profiles to draw (default: all); profiles on the same dataset joined by ``+`` share
        panels (:func:`panel`).
    """
    plt = pyplot()
    panels = panel_keys(results, profiles)
    if not panels:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.6), squeeze=False)
    for ax, (group, env_id) in zip(axes[0], panels, strict=True):
        dataset, bars = panel(results, group, env_id)
        for i, (label, algo, values) in enumerate(bars):
            q25, q50, q75 = quartiles(values)
            # as curve_style: QWR at the paper's mu std in the algorithm's color, at another std in cyan
            paper_std = algo != "qwr" or label.endswith(f" mu {DEFAULT_ACTION_STD:g}")
            ax.bar(i, q50, color=COLORS[algo] if paper_std else "tab:cyan", alpha=0.8, label=label)
            ax.vlines(i, q25, q75, color="black")
            ax.scatter([i] * len(values), values, color="black", s=8, zorder=3)
        ax.axhline(dataset["average_return"], color="gray", linestyle="--", label="dataset average")
        ax.set_xticks(range(len(bars)), [label.replace(" mu ", "\nmu ") for label, _, _ in bars], fontsize=8)
        iterations = results["profiles"][group.split("+")[0]]["settings"]["iterations"]
        ax.set_title(f"{env_id} ({group.split('+')[0]}, {iterations} it.)", fontsize=9)
        ax.set_ylabel("return")
        ax.grid(axis="y", alpha=0.3)
    handles: dict[str, Any] = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def curve_style(algo: str, settings: dict[str, Any]) -> tuple[str, str]:
    """:return: The label and color of an algorithm's runs in a profile (QWR's with its mu std; the paper's in blue)."""
    if algo != "qwr":
        return LABELS[algo], COLORS[algo]
    std = mu_std(settings)
    return f"{LABELS[algo]} mu {std:g}", COLORS[algo] if std == DEFAULT_ACTION_STD else "tab:cyan"


def plot_curves(results: dict[str, Any], path: Path, groups: list[str] | None = None) -> bool:
    """
    The learning curves of the runs that kept one (``--eval-every``): one panel per environment and profile
    group, one line per run, the dataset's average as a line.

    :param results: All results.
    :param path: The figure to write.
    :param groups: The figure's profiles (as :func:`plot`'s; default: all).
    :return: Whether there was a curve to draw (else nothing is written).
    """
    panels = []
    for group, env_id in panel_keys(results, groups):
        lines = [
            (*curve_style(run["algo"], results["profiles"][name]["settings"]), run["curve"])
            for name in group.split("+")
            for run in results["profiles"][name]["envs"].get(env_id, {}).get("runs", [])
            if run.get("curve")
        ]
        if lines:
            panels.append((group, env_id, results["profiles"][group.split("+")[0]]["envs"][env_id]["dataset"], lines))
    if not panels:
        return False
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
    for ax, (group, env_id, dataset, lines) in zip(axes[0], panels, strict=True):
        for _, color, curve in lines:
            ax.plot([p["iteration"] for p in curve], [p["return"] for p in curve], "o-", color=color, ms=3, lw=1)
        for label, color in sorted({(label, color) for label, color, _ in lines}):
            ax.plot([], [], color=color, label=f"{label} ({sum(line[0] == label for line in lines)} seeds)")
        ax.axhline(dataset["average_return"], color="gray", linestyle="--", label="dataset average")
        ax.set_title(f"{env_id} ({group.split('+')[0]})", fontsize=9)
        ax.set_xlabel("offline iteration")
        ax.set_ylabel("return (deterministic episodes)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="full", help="name of this set of settings in the results")
    parser.add_argument("--envs", nargs="+", default=list(ENVS))
    parser.add_argument(
        "--algos", nargs="+", default=None, help=f"qwr, awr, and d3rlpy's {', '.join(PEERS)} (default: qwr awr)"
    )
    parser.add_argument("--seeds", type=int, default=4, help="number of seeds (0 .. seeds-1)")
    parser.add_argument(
        "--checkpoints", type=int, nargs="+", default=[50_000, 100_000, 200_000, 300_000], help="SAC steps of the checkpoints"
    )
    parser.add_argument(
        "--behaviour-models",
        nargs="+",
        default=None,
        metavar="[LABEL=]PATH",
        help="saved SAC models (.zip) to use as behaviour policies instead of training SAC (one env only)",
    )
    parser.add_argument("--episodes", type=int, default=50, help="policy episodes in the dataset")
    parser.add_argument("--random-episodes", type=int, default=0, help="random episodes in the dataset")
    parser.add_argument(
        "--min-steps", type=int, default=0, help="add policy episodes until they hold this many steps (default: none)"
    )
    parser.add_argument("--noise", type=float, default=0.1, help="Gaussian action noise std in [-1, 1] units")
    parser.add_argument("--behaviour-seed", type=int, default=0, help="seed of SAC and of the dataset")
    parser.add_argument(
        "--eval-every",
        type=int,
        default=0,
        help="QWR and AWR: also score every N iterations, kept as the record's curve (default: only the final score)",
    )
    parser.add_argument(
        "--action-std", type=float, default=None, help="std of mu around the dataset actions (default: the paper's 0.4)"
    )
    add_training_arguments(parser)
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="checkpoints and datasets")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--figure", type=Path, default=DEFAULT_FIGURE)
    parser.add_argument(
        "--curves-figure", type=Path, default=DEFAULT_CURVES, help="learning curves of the runs made with --eval-every"
    )
    parser.add_argument(
        "--readme",
        type=Path,
        nargs="+",
        default=[DEFAULT_RESULTS_MD],
        help=f"markdown files that get the table between the offline-table markers (default RESULTS.md; a README "
        f"only when asked, e.g. --readme {DEFAULT_RESULTS_MD.name} {DEFAULT_README.name})",
    )
    parser.add_argument("--report-only", action="store_true", help="only draw the figure and write the table")
    parser.add_argument(
        "--plot-profiles",
        nargs="+",
        default=None,
        help="profiles in the figure (default: all); A+B: profiles on the same dataset in shared panels",
    )
    args = parser.parse_args(argv)
    th.set_num_threads(args.threads)
    args.checkpoints = sorted(args.checkpoints)
    if args.behaviour_models and len(args.envs) != 1:
        parser.error("--behaviour-models are policies of one environment: give exactly one --envs.")

    results = load_results(args.results)
    if not args.report_only:
        classes = algo_classes()
        algos = args.algos or list(classes)
        unknown = set(algos) - set(classes) - set(PEERS)
        if unknown:
            sys.exit(f"Unknown algorithms {sorted(unknown)}: available {sorted(classes) + sorted(PEERS)}.")
        settings = settings_of(args)
        profile = results["profiles"].setdefault(args.profile, {"settings": settings, "envs": {}})
        if profile["settings"] != settings:
            sys.exit(
                f"Profile {args.profile!r} in {args.results} was produced with {profile['settings']}, "
                f"not {settings}: use another --profile."
            )
        for env_id in args.envs:
            record = profile["envs"].setdefault(env_id, {"runs": []})
            dataset_id = build_dataset(env_id, args, record)
            save_results(args.results, results)
            print(f"{env_id}: dataset {record['dataset']}", flush=True)
            done = {(run["algo"], run["seed"]) for run in record["runs"]}
            for seed in range(args.seeds):
                for algo in algos:
                    if (algo, seed) in done:
                        continue
                    run = run_one(env_id, algo, seed, dataset_id, args)
                    record["runs"].append(run)
                    save_results(args.results, results)
                    print(
                        f"{args.profile} {env_id} {algo} seed={seed}: return {run['return']:.1f} "
                        f"({run['train_seconds']:.0f} s)",
                        flush=True,
                    )
    if not results["profiles"]:
        sys.exit(f"No results in {args.results}.")
    not_stored = sorted({name for group in args.plot_profiles or [] for name in group.split("+")} - set(results["profiles"]))
    if not_stored:
        sys.exit(f"--plot-profiles names {not_stored}, not in {args.results} (profiles: {sorted(results['profiles'])}).")
    plot(results, args.figure, args.plot_profiles)
    plot_curves(results, args.curves_figure, args.plot_profiles)
    table = markdown_table(results)
    if args.plot_profiles:
        table = figure_table(results, args.plot_profiles) + "\n\nPer profile:\n\n" + table
    print(table)
    for readme in args.readme:
        if readme.exists():
            replace_marked_block(readme, TABLE_START, TABLE_END, table)


if __name__ == "__main__":
    main()
