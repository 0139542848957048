"""
Offline to online, the use case AWAC (Nair et al. 2020) made popular: QWR pre-trained offline on a fixed dataset
(``load_dataset`` + ``learn_offline``), then trained online, against QWR trained online from scratch, as a
learning curve of evaluation returns.

For each seed, two runs with the same constructor settings (Table 4, the environment's raw observations, as the
offline runs of ``benchmarks/offline.py``):

* ``offline-online``: ``model.load_dataset(dataset, buffer_size=len(dataset) + online_steps, action_std=...)``
  (the buffer keeps every dataset transition and every online one, as AWAC's), ``model.learn_offline(iterations)``,
  then ``model.learn(online_steps)``;
* ``scratch``: ``model.learn(online_steps)``.

Both are evaluated (``--eval-episodes`` deterministic episodes on a separate environment, the same reset seeds for
both) at step 0 (for ``offline-online``: right after the offline phase) and every ``--eval-freq`` online steps.
The dataset is one of ``benchmarks/offline.py`` (``--profile``, built by that script first; its ``action_std`` is
used for mu unless ``--action-std`` is given), and the figure shows its average return as a dashed line.

Usage::

    python -m benchmarks.offline --profile figure3-hopper-sac150k --envs Hopper-v5 --checkpoints 20000 60000 150000 \\
        --episodes 50 --min-steps 50000 --noise 0.2 --action-std 0.2 --algos qwr --seeds 1   # the dataset
    python -m benchmarks.offline_to_online --profile figure3-hopper-sac150k --env Hopper-v5 --seeds 3 --online-steps 50000
    python -m benchmarks.offline_to_online --report-only

Every finished run is appended to ``benchmarks/results/offline_to_online.json`` at once and skipped when it is
there; the figure (``benchmarks/figures/offline_to_online.png``) and the table (``benchmarks/RESULTS.md``, between the
offline-to-online markers) are redrawn from it.
"""

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor

from benchmarks.lib.evaluation import PeriodicEvaluation
from benchmarks.lib.figures import FIGURES_DIR, pyplot
from benchmarks.lib.offline_protocol import DEFAULT_RESULTS as OFFLINE_RESULTS
from benchmarks.lib.offline_protocol import DEFAULT_WORK_DIR, add_training_arguments
from benchmarks.lib.records import BENCHMARKS_DIR, read_json, write_json
from benchmarks.lib.seeding import EVAL_SEED_OFFSET
from benchmarks.lib.tables import quartiles_cell, replace_marked_block
from sb3_qwr import QWR
from sb3_qwr.offline import from_minari

DEFAULT_RESULTS = BENCHMARKS_DIR / "results" / "offline_to_online.json"
DEFAULT_FIGURE = FIGURES_DIR / "offline_to_online.png"
DEFAULT_RESULTS_MD = BENCHMARKS_DIR / "RESULTS.md"
TABLE_START = "<!-- offline-to-online:start -->"
TABLE_END = "<!-- offline-to-online:end -->"
VARIANTS = ("offline-online", "scratch")
COLORS = {"offline-online": "tab:blue", "scratch": "tab:gray"}


def dataset_of(profile: str, env_id: str, offline_results: Path) -> dict[str, Any]:
    """
    :param profile: A profile of ``benchmarks/offline.py``.
    :param env_id: The environment.
    :param offline_results: That script's results JSON.
    :return: The dataset's record (id, episodes, steps, average_return) and the profile's settings.
    """
    profiles = read_json(offline_results, {"profiles": {}})["profiles"]
    record = profiles.get(profile, {}).get("envs", {}).get(env_id, {})
    if "dataset" not in record:
        sys.exit(
            f"No {env_id} dataset of profile {profile!r} in {offline_results}: build it first with "
            f"`python -m benchmarks.offline --profile {profile} --envs {env_id} ...` (see this module's docstring)."
        )
    return {**record["dataset"], "settings": profiles[profile]["settings"]}


def run_one(variant: str, seed: int, dataset: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """
    One run of a variant: the offline phase if any, then ``online_steps`` online, evaluated along the way.

    :param variant: ``"offline-online"`` or ``"scratch"``.
    :param seed: Seed of the model (the evaluation environment's is ``seed + EVAL_SEED_OFFSET``).
    :param dataset: :func:`dataset_of`'s record.
    :param args: Parsed command line.
    :return: The run's record.
    """
    start = time.perf_counter()
    model = QWR(
        "MlpPolicy",
        gym.make(args.env),
        n_critic_steps=args.critic_steps,
        n_actor_steps=args.actor_steps,
        seed=seed,
        device=args.device,
    )
    eval_env = Monitor(gym.make(args.env))

    def score(model: Any) -> list[float]:
        if not curve.points:  # the evaluation environment is seeded once, before the first evaluation
            eval_env.reset(seed=seed + EVAL_SEED_OFFSET)
        returns, _ = evaluate_policy(model, eval_env, args.eval_episodes, deterministic=True, return_episode_rewards=True)
        assert isinstance(returns, list)
        return returns

    curve = PeriodicEvaluation(
        score,
        every=args.eval_freq,
        unit="steps",
        at_start=True,
        on_point=lambda point: print(f"  {point['timesteps']:>7d} steps: {point['return']:.1f}", flush=True),
    )
    if variant == "offline-online":
        data = from_minari(dataset["id"], root=args.work_dir / args.profile / "minari")
        model.load_dataset(data, buffer_size=len(data) + args.online_steps, action_std=args.action_std)
        model.learn_offline(args.iterations)
    model.learn(args.online_steps, callback=curve)
    return {
        "env": args.env,
        "variant": variant,
        "seed": seed,
        "steps": [point["timesteps"] for point in curve.points],
        "returns": curve.returns,
        "return": curve.returns[-1],
        "train_seconds": round(time.perf_counter() - start, 1),
    }


def table(results: dict[str, Any], at: tuple[int, ...] = (0, 10_000, 25_000, 50_000)) -> str:
    """Median (IQR, seeds) of each variant at a few steps, per environment."""
    lines = []
    for env_id, record in results["envs"].items():
        header = "| env | variant | " + " | ".join(f"{steps // 1000}K steps" for steps in at) + " |"
        lines += [header, "| --- | --- |" + " --- |" * len(at)]
        for variant in VARIANTS:
            runs = [run for run in record["runs"] if run["variant"] == variant]
            if not runs:
                continue
            row = [env_id, variant]
            for steps in at:
                values = [run["returns"][run["steps"].index(steps)] for run in runs if steps in run["steps"]]
                row.append(quartiles_cell(values))
            lines.append("| " + " | ".join(row) + " |")
        data = record["dataset"]
        s = record["settings"]
        lines += [
            "",
            f"{env_id}: dataset `{data['id']}` of profile `{s['profile']}` ({data['episodes']} episodes, "
            f"{data['steps']} steps, average return {data['average_return']:.1f}); offline phase "
            f"{s['iterations']} iterations of {s['critic_steps']} + {s['actor_steps']} updates, mu std "
            f"{s['action_std']}; {s['online_steps']} online steps, {s['eval_episodes']} deterministic evaluation "
            "episodes every "
            f"{s['eval_freq']} steps. Cells: median (IQR, seeds).",
            "",
        ]
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> None:
    """Median curve and IQR band of each variant, the dataset's average return dashed, one panel per env."""
    envs = [(env_id, record) for env_id, record in results["envs"].items() if record["runs"]]
    if not envs:
        return
    plt = pyplot()
    fig, axes = plt.subplots(1, len(envs), figsize=(5.0 * len(envs), 3.6), squeeze=False)
    for ax, (env_id, record) in zip(axes[0], envs, strict=True):
        for variant in VARIANTS:
            runs = [run for run in record["runs"] if run["variant"] == variant]
            if not runs:
                continue
            steps = sorted(set.intersection(*(set(run["steps"]) for run in runs)))
            values = np.array([[run["returns"][run["steps"].index(s)] for s in steps] for run in runs])
            q25, q50, q75 = np.percentile(values, [25, 50, 75], axis=0)
            ax.plot(steps, q50, color=COLORS[variant], label=f"{variant} ({len(runs)} seed{'s' if len(runs) != 1 else ''})")
            ax.fill_between(steps, q25, q75, color=COLORS[variant], alpha=0.2)
        ax.axhline(record["dataset"]["average_return"], color="gray", linestyle="--", label="dataset average")
        ax.set_title(f"QWR on {env_id}: offline then online", fontsize=9)
        ax.set_xlabel("online environment steps")
        ax.set_ylabel("return")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="Hopper-v5")
    parser.add_argument("--profile", default="figure3-hopper-sac150k", help="the dataset's profile in benchmarks/offline.py")
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds (0 .. seeds-1)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--online-steps", type=int, default=50_000)
    add_training_arguments(parser)
    parser.add_argument("--action-std", type=float, default=None, help="std of mu (default: the profile's, else 0.4)")
    parser.add_argument("--eval-freq", type=int, default=5000, help="online steps between evaluations")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="benchmarks/offline.py's work dir")
    parser.add_argument("--offline-results", type=Path, default=OFFLINE_RESULTS)
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--figure", type=Path, default=DEFAULT_FIGURE)
    parser.add_argument("--readme", type=Path, nargs="+", default=[DEFAULT_RESULTS_MD])
    parser.add_argument("--report-only", action="store_true", help="only draw the figure and write the table")
    args = parser.parse_args(argv)
    th.set_num_threads(args.threads)
    results = read_json(args.results, {"envs": {}})
    if not args.report_only:
        dataset = dataset_of(args.profile, args.env, args.offline_results)
        if args.action_std is None:
            args.action_std = dataset["settings"].get("action_std", 0.4)
        settings = {
            "profile": args.profile,
            "online_steps": args.online_steps,
            "iterations": args.iterations,
            "critic_steps": args.critic_steps,
            "actor_steps": args.actor_steps,
            "action_std": args.action_std,
            "eval_freq": args.eval_freq,
            "eval_episodes": args.eval_episodes,
        }
        record = results["envs"].setdefault(args.env, {"settings": settings, "dataset": dataset, "runs": []})
        if record["settings"] != settings:
            sys.exit(f"{args.env} in {args.results} was run with {record['settings']}, not {settings}.")
        done = {(run["variant"], run["seed"]) for run in record["runs"]}
        for seed in range(args.seeds):
            for variant in args.variants:
                if (variant, seed) in done:
                    continue
                print(f"{args.env} {variant} seed={seed}", flush=True)
                record["runs"].append(run_one(variant, seed, dataset, args))
                write_json(args.results, results)
    if not results["envs"]:
        sys.exit(f"No results in {args.results}.")
    plot(results, args.figure)
    text = table(results)
    print(text)
    for readme in args.readme:
        if readme.exists():
            replace_marked_block(readme, TABLE_START, TABLE_END, text, append_title="Offline to online")


if __name__ == "__main__":
    main()
