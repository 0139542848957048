"""
Benchmark suites (algorithm x environment x seed) run through the RL Zoo wrapper of sb3-qwr.

Suites (run.py / report.py)
---------------------------

Exact commands, from the repository root (``pip install -e ".[benchmarks]"`` for rliable)::

    python benchmarks/run.py --list                      # every suite, expanded, with done/todo per run
    python benchmarks/run.py smoke --jobs 2              # the CPU smoke suite (~10-20 min on 2 cores)
    python benchmarks/run.py mujoco100k --jobs 4         # Table 1 setting; 100 runs of 100K steps
    python benchmarks/run.py mujoco100k --algos qwr-lse sac --envs Hopper-v5 --seeds 0 1 2 --jobs 2
    python benchmarks/run.py mujoco100k --seeds 0 1 2 --jobs 2 --deadline 17:30   # start nothing that ends later
    python benchmarks/run.py atari100k --device cuda     # Table 2 setting (QWR's Atari buffer needs ~2.8 GB)
    python benchmarks/run.py mujoco1m --algos qwr-lse --jobs 4   # Table 3 setting, 1M steps
    python benchmarks/run.py mujoco100k --algos qwr-lse --envs Hopper-v5 --seeds 0 1 2 \\
        --params "policy_kwargs:dict(head_init_range=0.01)" \\
        --results-dir benchmarks/results/mujoco100k_head_init --runs-dir benchmarks/runs/mujoco100k_head_init
        # an ablation: extra -params after the suite's, summaries kept out of the suite's table
    python benchmarks/report.py                          # RESULTS.md tables and learning-curve PNGs

Interrupt with Ctrl-C and run the same command again to resume (finished runs are skipped; a run stopped
unfinished restarts from scratch, so on a machine that is taken away at a known time give ``--deadline``: a run
starts only if the median wall time of the finished runs of its variant, on its environment if any, fits before
it). Commit the summaries (``benchmarks/results/<suite>/*.json``), the curves
(``benchmarks/results/<suite>/curves/*.png``) and ``benchmarks/RESULTS.md``; the logs under ``benchmarks/runs/``
stay local.

Each run is one ``python -m sb3_qwr.zoo train`` process::

    python -m sb3_qwr.zoo train --algo <algo> --env <env> --seed <k> -f benchmarks/runs/<suite>/<run name> \\
        --eval-freq 10000 --eval-episodes 10 -n <steps> [-params ...]

(the Zoo's ``EvalCallback`` evaluates 10 episodes every 10K steps into ``evaluations.npz``: deterministic
policy, except on Atari where the Zoo evaluates the stochastic policy), followed by a final evaluation of the
saved final model: 10 episodes of the deterministic policy, on an environment built as the Zoo's ``enjoy``
builds it (the run's wrappers, frame stacking and frozen ``VecNormalize`` statistics). The run name is
``<variant>__<env>__seed<k>``. Logs go to the git-ignored ``benchmarks/runs/<suite>/<run name>/``
(``train.log``, ``final_eval.log``, ``final_eval.json`` and the Zoo's folder ``<algo>/<env>_1/``), and a compact
summary to ``benchmarks/results/<suite>/<run name>.json`` (to commit): final and per-checkpoint evaluation
returns, wall time, steps/s, package versions and machine.

A run whose summary exists is skipped; an interrupted run resumes from its last finished stage (a trained
model is only evaluated again, a final evaluation only summarized), otherwise it trains again from scratch.
``--jobs N`` runs N runs at once, each child with one torch thread (``OMP_NUM_THREADS=1``,
``MKL_NUM_THREADS=1``).

Variants: ``qwr-lse``, ``qwr-max``, ``qwr-avg`` are ``--algo qwr -params backup:'lse'|'max'|'mean'``;
``sac``, ``ppo``, ``dqn`` the Zoo's algorithms with their Zoo (and sb3-qwr ``hyperparams/``) settings.

Suites (``python benchmarks/run.py --list`` prints them expanded):

* ``mujoco100k``: HalfCheetah-v5, Hopper-v5, Walker2d-v5, Humanoid-v5; qwr-lse, sac, ppo, qwr-max, qwr-avg;
  100K steps; seeds 0-4 (Table 1 of the paper).
* ``atari100k``: Boxing, Breakout, Freeway, Gopher, Pong, Seaquest (``NoFrameskip-v4``); qwr-lse, ppo, dqn;
  100K interactions (agent steps, 400K frames); seeds 0-4 (Table 2). DQN with ``learning_starts:1600`` (the
  Zoo's 100K would leave no step to learn in).
* ``mujoco1m``: the MuJoCo envs at 1M steps, QWR with ``backup_temperature:1.0 backup_scale:'std'`` (Table 3),
  SAC and PPO; seeds 0-4.
* ``smoke``: a few thousand steps of Pendulum-v1 and Hopper-v5 (qwr-lse, sac) and 1000 steps of
  PongNoFrameskip-v4 (qwr-lse), with fewer QWR updates per iteration and a small replay buffer: checks the
  whole pipeline on a CPU; its numbers are not comparable with the paper.

Examples::

    python benchmarks/run.py smoke --jobs 2
    python benchmarks/run.py mujoco100k --algos qwr-lse sac --envs Hopper-v5 --seeds 0 1 2 --jobs 2
    python benchmarks/run.py mujoco100k --seeds 0 1 2 --jobs 2 --deadline 17:30   # start nothing that ends later
    python benchmarks/run.py atari100k --device cuda
    python benchmarks/report.py
"""

from __future__ import annotations

import argparse
import glob
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

BENCHMARKS_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCHMARKS_DIR.parent
RUNS_DIR = BENCHMARKS_DIR / "runs"
RESULTS_DIR = BENCHMARKS_DIR / "results"

#: Summary format version (bump when fields change meaning).
SUMMARY_VERSION = 1

#: Packages whose versions go into each summary.
VERSIONED_PACKAGES = (
    "sb3-qwr",
    "stable-baselines3",
    "rl-zoo3",
    "torch",
    "gymnasium",
    "mujoco",
    "ale-py",
    "numpy",
)


@dataclass(frozen=True)
class Variant:
    """
    An algorithm as benchmarked: a Zoo algorithm and the ``-params`` that make it this variant.

    :param name: Name in summaries and reports (``qwr-lse``).
    :param algo: The Zoo's ``--algo``.
    :param params: ``-params`` entries (``key:value``, values as Python literals).
    :param label: Name in the report tables.
    """

    name: str
    algo: str
    params: tuple[str, ...] = ()
    label: str = ""


VARIANTS: dict[str, Variant] = {
    "qwr-lse": Variant("qwr-lse", "qwr", ("backup:'lse'",), "QWR-LSE"),
    "qwr-max": Variant("qwr-max", "qwr", ("backup:'max'",), "QWR-MAX"),
    "qwr-avg": Variant("qwr-avg", "qwr", ("backup:'mean'",), "QWR-AVG"),
    "sac": Variant("sac", "sac", (), "SAC"),
    "ppo": Variant("ppo", "ppo", (), "PPO"),
    "dqn": Variant("dqn", "dqn", (), "DQN"),
}

MUJOCO_ENVS = ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Humanoid-v5")
ATARI_ENVS = tuple(f"{game}NoFrameskip-v4" for game in ("Boxing", "Breakout", "Freeway", "Gopher", "Pong", "Seaquest"))

#: QWR made CPU-sized for the smoke suite: fewer updates per 1000-step iteration, small batches and buffer.
SMOKE_QWR_PARAMS = ("n_critic_steps:100", "n_actor_steps:100", "batch_size:64", "buffer_size:5000")


@dataclass(frozen=True)
class Suite:
    """
    A benchmark suite: every (variant, environment, seed) triple it contains is one run.

    :param name: Name of the suite (folder under ``runs/`` and ``results/``).
    :param envs: Environment ids.
    :param variants: Variant names (keys of ``VARIANTS``).
    :param n_timesteps: Training steps of each run (``-n``).
    :param seeds: Default seeds.
    :param eval_freq: ``--eval-freq`` of the Zoo (steps between checkpoint evaluations).
    :param eval_episodes: Episodes of each checkpoint evaluation and of the final evaluation.
    :param params: Extra ``-params`` per Zoo algorithm (after the variant's own).
    :param env_params: Extra ``-params`` per (environment, Zoo algorithm), after the previous ones.
    :param env_timesteps: ``n_timesteps`` per environment, where it differs.
    :param env_variants: Variants per environment, where they differ from ``variants``.
    :param comparable: Whether the numbers are meant to be compared with the paper's.
    :param description: One line for listings and the report.
    :param not_run_here: Why the suite's runs do not fit the project's CPU machines (empty when they do); the report
        prints it and shows the smoke suite's run of the same variant and environment in cells without a run.
    """

    name: str
    envs: tuple[str, ...]
    variants: tuple[str, ...]
    n_timesteps: int
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    eval_freq: int = 10_000
    eval_episodes: int = 10
    params: dict[str, tuple[str, ...]] = field(default_factory=dict)
    env_params: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    env_timesteps: dict[str, int] = field(default_factory=dict)
    env_variants: dict[str, tuple[str, ...]] = field(default_factory=dict)
    comparable: bool = True
    description: str = ""
    not_run_here: str = ""

    def variants_for(self, env: str) -> tuple[str, ...]:
        """
        :param env: Environment id.
        :return: The variants run on ``env``.
        """
        return self.env_variants.get(env, self.variants)

    def timesteps_for(self, env: str) -> int:
        """
        :param env: Environment id.
        :return: Training steps of each run on ``env``.
        """
        return self.env_timesteps.get(env, self.n_timesteps)


SUITES: dict[str, Suite] = {
    "mujoco100k": Suite(
        "mujoco100k",
        MUJOCO_ENVS,
        ("qwr-lse", "sac", "ppo", "qwr-max", "qwr-avg"),
        100_000,
        description="MuJoCo v5, 100K steps (paper Table 1)",
    ),
    "atari100k": Suite(
        "atari100k",
        ATARI_ENVS,
        ("qwr-lse", "ppo", "dqn"),
        100_000,
        # The Zoo's DQN starts learning after 100K steps (its budget is 10M): start after 1600 as Data-Efficient
        # Rainbow does in the 100K setting.
        params={"dqn": ("learning_starts:1600",)},
        description="Atari NoFrameskip-v4, 100K interactions (paper Table 2)",
        not_run_here="with the paper's 1000 + 1000 updates per 1000 interactions, a QWR run costs about 75 times "
        "DQN per interaction on the 2-core CPU machines (about two days per game; see 'Speed on Atari'): a GPU job",
    ),
    "mujoco1m": Suite(
        "mujoco1m",
        MUJOCO_ENVS,
        ("qwr-lse", "sac", "ppo"),
        1_000_000,
        params={"qwr": ("backup_temperature:1.0", "backup_scale:'std'")},
        description="MuJoCo v5, 1M steps, QWR with backup_temperature 1.0 and backup_scale 'std' (paper Table 3)",
        not_run_here="a 1M-step QWR run takes about 8.5 hours on one core of the CPU machines (33 steps/s in the "
        "100K suite), longer than a 3-hour working session, and the Zoo cannot resume a stopped run",
    ),
    "smoke": Suite(
        "smoke",
        ("Pendulum-v1", "Hopper-v5", "PongNoFrameskip-v4"),
        ("qwr-lse", "sac"),
        3_000,
        seeds=(0, 1),
        eval_freq=1_000,
        params={"qwr": SMOKE_QWR_PARAMS, "sac": ("learning_starts:500",)},
        env_params={("PongNoFrameskip-v4", "qwr"): ("buffer_size:1000",)},
        env_timesteps={"PongNoFrameskip-v4": 1_000},
        env_variants={"PongNoFrameskip-v4": ("qwr-lse",)},
        comparable=False,
        description="a few thousand steps, QWR with 100 + 100 updates per iteration (CPU-sized)",
    ),
}


@dataclass(frozen=True)
class RunSpec:
    """
    One run of a suite.

    :param suite: Suite name.
    :param variant: Variant name.
    :param algo: The Zoo's ``--algo``.
    :param env: Environment id.
    :param seed: Seed.
    :param n_timesteps: Training steps.
    :param params: All ``-params`` entries.
    :param eval_freq: Steps between checkpoint evaluations.
    :param eval_episodes: Episodes per evaluation.
    """

    suite: str
    variant: str
    algo: str
    env: str
    seed: int
    n_timesteps: int
    params: tuple[str, ...]
    eval_freq: int
    eval_episodes: int

    @property
    def name(self) -> str:
        """Run name: ``<variant>__<env>__seed<k>``."""
        return f"{self.variant}__{self.env}__seed{self.seed}"

    def log_folder(self, runs_dir: Path = RUNS_DIR) -> Path:
        """
        :param runs_dir: Root of the run logs.
        :return: The run's log folder (the Zoo's ``-f``).
        """
        return runs_dir / self.suite / self.name

    def summary_path(self, results_dir: Path = RESULTS_DIR) -> Path:
        """
        :param results_dir: Root of the summaries.
        :return: Path of the run's summary JSON.
        """
        return results_dir / self.suite / f"{self.name}.json"

    def train_command(self, runs_dir: Path = RUNS_DIR, device: str = "auto") -> list[str]:
        """
        :param runs_dir: Root of the run logs.
        :param device: Torch device (``--device`` of the Zoo).
        :return: The Zoo command that trains this run.
        """
        command = [
            sys.executable,
            "-m",
            "sb3_qwr.zoo",
            "train",
            "--algo",
            self.algo,
            "--env",
            self.env,
            "--seed",
            str(self.seed),
            "-f",
            str(self.log_folder(runs_dir)),
            "--eval-freq",
            str(self.eval_freq),
            "--eval-episodes",
            str(self.eval_episodes),
            "-n",
            str(self.n_timesteps),
            "--device",
            device,
            "--vec-env",
            "dummy",
        ]
        if self.params:
            command += ["-params", *self.params]
        return command


def expand_suite(
    suite: Suite,
    variants: Sequence[str] | None = None,
    envs: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    extra_params: Sequence[str] = (),
) -> list[RunSpec]:
    """
    The runs of a suite, optionally restricted to some variants, environments and seeds.

    :param suite: The suite.
    :param variants: Variants to keep (all of the suite's when ``None``).
    :param envs: Environments to keep (all when ``None``).
    :param seeds: Seeds (the suite's defaults when ``None``).
    :param extra_params: ``-params`` entries for every run, after all others (an ablation).
    :return: The runs, ordered by seed, then environment, then variant (so that early seeds of every cell finish
        first).
    """
    for name in variants or ():
        if name not in VARIANTS:
            raise ValueError(f"Unknown variant {name!r}; choose from {', '.join(VARIANTS)}")
    for env in envs or ():
        if env not in suite.envs:
            raise ValueError(f"{env!r} is not in suite {suite.name!r} ({', '.join(suite.envs)})")
    runs = []
    for seed in suite.seeds if seeds is None else seeds:
        for env in suite.envs:
            if envs is not None and env not in envs:
                continue
            for name in suite.variants_for(env):
                if variants is not None and name not in variants:
                    continue
                variant = VARIANTS[name]
                params = _merge_params(
                    variant.params,
                    suite.params.get(variant.algo, ()),
                    suite.env_params.get((env, variant.algo), ()),
                    extra_params,
                )
                runs.append(
                    RunSpec(
                        suite=suite.name,
                        variant=name,
                        algo=variant.algo,
                        env=env,
                        seed=int(seed),
                        n_timesteps=suite.timesteps_for(env),
                        params=params,
                        eval_freq=suite.eval_freq,
                        eval_episodes=suite.eval_episodes,
                    )
                )
    return runs


def _merge_params(*groups: Sequence[str]) -> tuple[str, ...]:
    """
    Join ``-params`` entries; a later entry replaces an earlier one of the same key (in place).

    :param groups: Groups of ``key:value`` entries.
    :return: The merged entries.
    """
    merged: dict[str, str] = {}
    for group in groups:
        for entry in group:
            merged[entry.split(":", 1)[0]] = entry
    return tuple(merged.values())


def is_finished(spec: RunSpec, results_dir: Path = RESULTS_DIR) -> bool:
    """
    :param spec: A run.
    :param results_dir: Root of the summaries.
    :return: Whether the run is finished (its summary exists).
    """
    return spec.summary_path(results_dir).is_file()


def expected_duration(spec: RunSpec, results_dir: Path = RESULTS_DIR) -> float | None:
    """
    How long a run is expected to take: the median wall time (training plus final evaluation) of the finished runs
    of the same suite, variant and environment, or else of the same suite and variant on any environment.

    :param spec: A run.
    :param results_dir: Root of the summaries.
    :return: Seconds, or ``None`` when no comparable run has finished yet.
    """
    same_env, same_variant = [], []
    for path in sorted((results_dir / spec.suite).glob(f"{spec.variant}__*.json")):
        try:
            summary = json.loads(path.read_text())
            seconds = float(summary["train_wall_time_s"]) + float(summary.get("final_eval_wall_time_s", 0.0))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if summary.get("n_timesteps") != spec.n_timesteps:  # the glob already fixes the variant
            continue
        same_variant.append(seconds)
        if summary.get("env") == spec.env:
            same_env.append(seconds)
    durations = same_env or same_variant
    return float(statistics.median(durations)) if durations else None


def parse_deadline(text: str, now: datetime | None = None) -> datetime:
    """
    :param text: ``HH:MM`` (local time, today, or tomorrow when that time has passed) or an ISO 8601 date and time.
    :param now: The current local time (``datetime.now()`` when ``None``).
    :return: The deadline as an aware datetime.
    """
    now = (now or datetime.now()).astimezone()
    try:
        clock = datetime.strptime(text, "%H:%M")
    except ValueError:
        try:
            deadline = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"--deadline {text!r}: give HH:MM or an ISO date and time such as 2026-11-28T13:10") from None
        return deadline.astimezone() if deadline.tzinfo is None else deadline
    deadline = now.replace(hour=clock.hour, minute=clock.minute, second=0, microsecond=0)
    return deadline if deadline > now else deadline + timedelta(days=1)


def find_zoo_run_dir(spec: RunSpec, runs_dir: Path = RUNS_DIR) -> Path | None:
    """
    The Zoo's folder of a run, ``<log folder>/<algo>/<env>_<id>`` with the highest id.

    :param spec: A run.
    :param runs_dir: Root of the run logs.
    :return: The folder, or ``None`` when there is none.
    """
    pattern = str(spec.log_folder(runs_dir) / spec.algo / f"{glob.escape(spec.env)}_*")
    candidates = []
    for path in glob.glob(pattern):
        suffix = path.rsplit("_", 1)[-1]
        if suffix.isdigit() and os.path.isdir(path):
            candidates.append((int(suffix), Path(path)))
    return max(candidates)[1] if candidates else None


def package_versions() -> dict[str, str | None]:
    """
    :return: Installed versions of the packages that matter for the results (``None`` when missing).
    """
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def machine_info() -> dict[str, Any]:
    """
    :return: Platform, processor, CPU count, torch threads and GPU (``None`` without CUDA) of this process.
    """
    import torch as th

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": th.get_num_threads(),
        "gpu": th.cuda.get_device_name(0) if th.cuda.is_available() else None,
    }


def final_evaluation(
    zoo_run_dir: Path, algo: str, env_id: str, n_episodes: int, seed: int, device: str = "auto"
) -> dict[str, Any]:
    """
    Evaluate the final model of a Zoo run: ``n_episodes`` episodes of the deterministic policy, on a test
    environment built as the Zoo's ``enjoy`` builds it (wrappers, frame stack, frozen ``VecNormalize``
    statistics, the run's ``env_kwargs``). Returns are those of the Monitor below the wrappers (for Atari: the
    game score of full games, rewards unclipped).

    :param zoo_run_dir: ``<log folder>/<algo>/<env>_<id>``.
    :param algo: The Zoo's algorithm name.
    :param env_id: Environment id.
    :param n_episodes: Number of episodes.
    :param seed: Seed of the evaluation environment.
    :param device: Torch device.
    :return: ``returns``, ``lengths``, ``mean``, ``std``, ``deterministic``, ``wall_time_s`` and ``machine``.
    """
    import yaml
    from rl_zoo3.utils import ALGOS, create_test_env, get_saved_hyperparams
    from stable_baselines3.common.evaluation import evaluate_policy

    from sb3_qwr.zoo.registry import register_qwr

    register_qwr(inference=True)
    try:
        import ale_py
        import gymnasium

        gymnasium.register_envs(ale_py)
    except ImportError:
        pass

    start = time.perf_counter()
    model_path = zoo_run_dir / f"{env_id}.zip"
    stats_path = zoo_run_dir / env_id
    hyperparams, maybe_stats_path = get_saved_hyperparams(str(stats_path), norm_reward=False, test_mode=True)
    env_kwargs: dict[str, Any] = {}
    config_kwargs = hyperparams.pop("env_kwargs", None)
    if isinstance(config_kwargs, str):
        config_kwargs = eval(config_kwargs)  # the Zoo's way of writing dicts in its yml files
    env_kwargs.update(config_kwargs or {})
    args_path = stats_path / "args.yml"
    if args_path.is_file():
        with open(args_path) as file:
            loaded_args = yaml.load(file, Loader=yaml.UnsafeLoader)
        env_kwargs.update(loaded_args.get("env_kwargs") or {})
    env = create_test_env(
        env_id,
        n_envs=1,
        stats_path=maybe_stats_path,
        seed=seed,
        log_dir=None,
        should_render=False,
        hyperparams=hyperparams,
        env_kwargs=env_kwargs,
    )
    load_kwargs: dict[str, Any] = {}
    if algo in ("sac", "td3", "ddpg", "dqn", "qrdqn", "tqc", "crossq"):
        load_kwargs["buffer_size"] = 1
    custom_objects = {"learning_rate": 0.0, "lr_schedule": lambda _: 0.0, "clip_range": lambda _: 0.0}
    if algo == "qwr":
        custom_objects = {}
    model = ALGOS[algo].load(str(model_path), env=env, device=device, custom_objects=custom_objects, **load_kwargs)
    returns, lengths = evaluate_policy(
        model, env, n_eval_episodes=n_episodes, deterministic=True, return_episode_rewards=True, warn=False
    )
    env.close()
    returns_array = np.asarray(returns, dtype=float)
    return {
        "returns": returns_array.tolist(),
        "lengths": [int(length) for length in lengths],
        "mean": float(returns_array.mean()),
        "std": float(returns_array.std()),
        "deterministic": True,
        "wall_time_s": time.perf_counter() - start,
        "machine": machine_info(),
    }


def checkpoint_evaluations(zoo_run_dir: Path) -> dict[str, Any]:
    """
    The checkpoint evaluations of a Zoo run (``evaluations.npz`` of its ``EvalCallback``).

    :param zoo_run_dir: ``<log folder>/<algo>/<env>_<id>``.
    :return: ``timesteps``, per-checkpoint ``mean`` and ``std`` returns, all episode ``returns`` and mean
        ``lengths`` (empty lists when the run has no ``evaluations.npz``).
    """
    path = zoo_run_dir / "evaluations.npz"
    if not path.is_file():
        return {"timesteps": [], "mean": [], "std": [], "returns": [], "mean_lengths": []}
    with np.load(path) as data:
        results = np.asarray(data["results"], dtype=float)
        timesteps = np.asarray(data["timesteps"])
        lengths = np.asarray(data["ep_lengths"], dtype=float) if "ep_lengths" in data else np.zeros_like(results)
    return {
        "timesteps": [int(step) for step in timesteps],
        "mean": results.mean(axis=1).tolist(),
        "std": results.std(axis=1).tolist(),
        "returns": results.tolist(),
        "mean_lengths": lengths.mean(axis=1).tolist(),
    }


def build_summary(spec: RunSpec, zoo_run_dir: Path, final_eval: dict[str, Any], timing: dict[str, Any]) -> dict[str, Any]:
    """
    The summary of a finished run.

    :param spec: The run.
    :param zoo_run_dir: ``<log folder>/<algo>/<env>_<id>``.
    :param final_eval: Output of :func:`final_evaluation`.
    :param timing: ``train_wall_time_s`` (training process, including its checkpoint evaluations), ``started`` and
        ``finished`` (ISO timestamps), and ``command`` (the Zoo command).
    :return: The summary (JSON-serializable).
    """
    train_time = timing.get("train_wall_time_s")
    machine = dict(final_eval.get("machine", {}))
    return {
        "summary_version": SUMMARY_VERSION,
        "suite": spec.suite,
        "variant": spec.variant,
        "algo": spec.algo,
        "env": spec.env,
        "seed": spec.seed,
        "n_timesteps": spec.n_timesteps,
        "params": list(spec.params),
        "eval_freq": spec.eval_freq,
        "eval_episodes": spec.eval_episodes,
        "final_eval": {key: final_eval[key] for key in ("mean", "std", "returns", "lengths", "deterministic")},
        "checkpoint_evals": checkpoint_evaluations(zoo_run_dir),
        "train_wall_time_s": train_time,
        "final_eval_wall_time_s": final_eval.get("wall_time_s"),
        "steps_per_s": spec.n_timesteps / train_time if train_time else None,
        "started": timing.get("started"),
        "finished": timing.get("finished"),
        "command": timing.get("command"),
        "run_dir": _repo_relative(str(zoo_run_dir)),
        "versions": package_versions(),
        "machine": machine,
    }


def child_env(threads: int = 1) -> dict[str, str]:
    """
    :param threads: Torch/BLAS threads of each child process.
    :return: The environment of the child processes.
    """
    env = dict(os.environ)
    for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[key] = str(threads)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    return env


def _repo_relative(text: str) -> str:
    """
    :param text: A command-line argument.
    :return: ``text`` relative to the repository root when it is an absolute path inside it.
    """
    if os.path.isabs(text) and Path(text).resolve().is_relative_to(REPO_ROOT):
        return os.path.relpath(text, REPO_ROOT)
    return text


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def trained_timesteps(zoo_run_dir: Path, env_id: str) -> int:
    """
    :param zoo_run_dir: ``<log folder>/<algo>/<env>_<id>``.
    :param env_id: Environment id.
    :return: ``num_timesteps`` of the final model saved by the Zoo (0 when there is no readable model).
    """
    try:
        with zipfile.ZipFile(zoo_run_dir / f"{env_id}.zip") as archive:
            return int(json.loads(archive.read("data"))["num_timesteps"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return 0


class RunFailed(RuntimeError):
    """A child process of a run exited with an error."""


def execute_run(
    spec: RunSpec, runs_dir: Path = RUNS_DIR, results_dir: Path = RESULTS_DIR, device: str = "auto"
) -> dict[str, Any]:
    """
    Train (unless a trained model exists), evaluate (unless ``final_eval.json`` exists) and summarize one run.

    :param spec: The run.
    :param runs_dir: Root of the run logs.
    :param results_dir: Root of the summaries.
    :param device: Torch device.
    :return: The summary, also written to ``spec.summary_path(results_dir)``.
    """
    folder = spec.log_folder(runs_dir)
    timing_path = folder / "timing.json"
    final_path = folder / "final_eval.json"
    zoo_dir = find_zoo_run_dir(spec, runs_dir)
    trained = zoo_dir is not None and timing_path.is_file() and trained_timesteps(zoo_dir, spec.env) >= spec.n_timesteps
    if not trained:
        if folder.exists():
            shutil.rmtree(folder)  # an interrupted training: start again
        folder.mkdir(parents=True)
        command = spec.train_command(runs_dir, device)
        started = _now()
        start = time.perf_counter()
        with open(folder / "train.log", "w") as log:
            code = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT, env=child_env(), cwd=REPO_ROOT)
        if code != 0:
            raise RunFailed(f"training exited with {code}; see {folder / 'train.log'}")
        timing = {
            "train_wall_time_s": time.perf_counter() - start,
            "started": started,
            "finished": _now(),
            "command": ["python", *(_repo_relative(part) for part in command[1:])],
        }
        zoo_dir = find_zoo_run_dir(spec, runs_dir)
        if zoo_dir is None or not (zoo_dir / f"{spec.env}.zip").is_file():
            raise RunFailed(f"no final model after training; see {folder / 'train.log'}")
        # The Zoo saves the model and exits normally when interrupted (Ctrl-C): check the model is complete.
        steps = trained_timesteps(zoo_dir, spec.env)
        if steps < spec.n_timesteps:
            raise RunFailed(f"training stopped at {steps} of {spec.n_timesteps} steps; see {folder / 'train.log'}")
        timing_path.write_text(json.dumps(timing, indent=1))
        final_path.unlink(missing_ok=True)
    assert zoo_dir is not None
    if not final_path.is_file():
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "_final_eval",
            str(zoo_dir),
            spec.algo,
            spec.env,
            str(spec.eval_episodes),
            str(spec.seed + 10_000),
            device,
            str(final_path),
        ]
        with open(folder / "final_eval.log", "w") as log:
            code = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT, env=child_env(), cwd=REPO_ROOT)
        if code != 0 or not final_path.is_file():
            raise RunFailed(f"final evaluation exited with {code}; see {folder / 'final_eval.log'}")
    timing = json.loads(timing_path.read_text())
    summary = build_summary(spec, zoo_dir, json.loads(final_path.read_text()), timing)
    path = spec.summary_path(results_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=1) + "\n")
    tmp.replace(path)
    return summary


def _format_duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    """
    Thread-safe bookkeeping and printing of which runs are done, running, queued or failed.

    :param total: Number of runs to do (skipped ones excluded).
    :param skipped: Number of runs skipped because their summary exists.
    """

    def __init__(self, total: int, skipped: int) -> None:
        self.total = total
        self.skipped = skipped
        self.start = time.perf_counter()
        self.running: dict[str, float] = {}
        self.done: list[str] = []
        self.failed: list[str] = []
        self.deferred: list[str] = []
        self.lock = threading.Lock()

    def line(self) -> str:
        """
        :return: One status line.
        """
        now = time.perf_counter()
        with self.lock:
            queued = self.total - len(self.done) - len(self.failed) - len(self.deferred) - len(self.running)
            running = ", ".join(f"{name} ({_format_duration(now - t)})" for name, t in self.running.items())
            deferred = f", deferred {len(self.deferred)}" if self.deferred else ""
            return (
                f"[{_format_duration(now - self.start)}] done {len(self.done)}/{self.total} "
                f"(+{self.skipped} skipped), failed {len(self.failed)}{deferred}, queued {queued}, "
                f"running: {running or '-'}"
            )

    def event(self, name: str, state: str, message: str = "") -> None:
        """
        Record and print a change of state of a run.

        :param name: Run name.
        :param state: ``start``, ``done``, ``failed`` or ``deferred`` (not started: it would not end before the
            deadline).
        :param message: Extra text.
        """
        with self.lock:
            if state == "start":
                self.running[name] = time.perf_counter()
            else:
                self.running.pop(name, None)
                {"done": self.done, "failed": self.failed, "deferred": self.deferred}[state].append(name)
        print(f"{state:>6} {name} {message}".rstrip(), flush=True)
        print(self.line(), flush=True)


def run_suite(
    specs: Sequence[RunSpec],
    jobs: int = 1,
    runs_dir: Path = RUNS_DIR,
    results_dir: Path = RESULTS_DIR,
    device: str = "auto",
    progress_interval: float = 60.0,
    deadline: datetime | None = None,
) -> list[str]:
    """
    Run the unfinished runs among ``specs``, ``jobs`` at a time.

    :param specs: Runs.
    :param jobs: Runs at once.
    :param runs_dir: Root of the run logs.
    :param results_dir: Root of the summaries.
    :param device: Torch device.
    :param progress_interval: Seconds between status lines while runs go on.
    :param deadline: When set, a run starts only if its ``expected_duration`` ends before it (a run with no
        comparable finished run starts anyway); the others are deferred, to be resumed by a later call. For
        machines that are taken away at a known time: an unfinished run restarts from scratch.
    :return: Names of the failed runs.
    """
    todo = [spec for spec in specs if not is_finished(spec, results_dir)]
    progress = Progress(len(todo), len(specs) - len(todo))
    print(progress.line(), flush=True)

    cancelled = threading.Event()

    def work(spec: RunSpec) -> None:
        if cancelled.is_set():
            return
        if deadline is not None:
            expected = expected_duration(spec, results_dir)
            left = (deadline - datetime.now().astimezone()).total_seconds()
            if expected is not None and expected > left:
                progress.event(
                    spec.name,
                    "deferred",
                    f"expected {_format_duration(expected)}, {_format_duration(max(left, 0.0))} left before the deadline",
                )
                return
        progress.event(spec.name, "start")
        try:
            summary = execute_run(spec, runs_dir, results_dir, device)
        except Exception as error:
            progress.event(spec.name, "failed", str(error))
            return
        progress.event(
            spec.name,
            "done",
            f"final return {summary['final_eval']['mean']:.1f}, {summary['train_wall_time_s']:.0f} s, "
            f"{summary['steps_per_s']:.0f} steps/s",
        )

    stop = threading.Event()

    def report() -> None:
        while not stop.wait(progress_interval):
            print(progress.line(), flush=True)

    reporter = threading.Thread(target=report, daemon=True)
    reporter.start()
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        for future in [pool.submit(work, spec) for spec in todo]:
            future.result()
    except KeyboardInterrupt:
        # The children got the interrupt too; start no queued run (rerun the command to resume).
        cancelled.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        stop.set()
        pool.shutdown(wait=True)
    print(progress.line(), flush=True)
    if progress.deferred:
        print(f"deferred (rerun the command to do them): {', '.join(progress.deferred)}", flush=True)
    return progress.failed


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """
    :param argv: Command-line arguments (``sys.argv[1:]`` when ``None``).
    :return: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description="Run a benchmark suite through `python -m sb3_qwr.zoo train`.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("suite", nargs="?", choices=sorted(SUITES), help="suite to run")
    parser.add_argument("--algos", nargs="+", default=None, help=f"variants to run ({', '.join(VARIANTS)})")
    parser.add_argument("--envs", nargs="+", default=None, help="environments to run")
    parser.add_argument("--seeds", nargs="+", type=int, default=None, help="seeds (default: the suite's)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (each with one torch thread)")
    parser.add_argument("--device", default="auto", help="torch device of the runs (e.g. cpu, cuda)")
    parser.add_argument("--runs-dir", type=Path, default=RUNS_DIR, help="root of the run logs")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="root of the summaries")
    parser.add_argument("--progress-interval", type=float, default=60.0, help="seconds between status lines")
    parser.add_argument(
        "--deadline",
        default=None,
        help="HH:MM or ISO date and time: start no run expected (from finished runs of the same variant) to end later",
    )
    parser.add_argument(
        "--params",
        nargs="+",
        default=(),
        metavar="KEY:VALUE",
        help="extra Zoo -params for every run, after the suite's (an ablation: needs its own --results-dir)",
    )
    parser.add_argument("--list", action="store_true", help="print the runs (and whether done) and exit")
    args = parser.parse_args(argv)
    if args.params and args.results_dir.resolve() == RESULTS_DIR.resolve():
        parser.error(
            "--params changes the runs, so their summaries must not mix with the suite's: "
            "give them their own --results-dir (and --runs-dir), e.g. benchmarks/results/<ablation>"
        )
    if args.deadline is not None:
        try:
            args.deadline = parse_deadline(args.deadline)
        except ValueError as error:
            parser.error(str(error))
    if args.suite is None and not args.list:
        parser.error("a suite is required")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """
    Entry point: ``python benchmarks/run.py <suite> [--algos ...] [--envs ...] [--seeds ...] [--jobs N]``.

    :param argv: Command-line arguments (``sys.argv[1:]`` when ``None``).
    :return: Exit status (1 when a run failed).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "_final_eval":  # internal: the final evaluation of one run, in its own process
        zoo_dir, algo, env_id, episodes, seed, device, out = argv[1:8]
        result = final_evaluation(Path(zoo_dir), algo, env_id, int(episodes), int(seed), device)
        Path(out).write_text(json.dumps(result, indent=1))
        print(f"final evaluation: mean {result['mean']:.2f} +- {result['std']:.2f} over {len(result['returns'])}")
        return 0
    args = parse_args(argv)
    suites = [SUITES[args.suite]] if args.suite else list(SUITES.values())
    for suite in suites:
        specs = expand_suite(suite, args.algos, args.envs, args.seeds, args.params)
        if args.list:
            print(f"{suite.name}: {suite.description}")
            for spec in specs:
                state = "done" if is_finished(spec, args.results_dir) else "todo"
                print(f"  [{state}] {spec.name}  -n {spec.n_timesteps}  -params {' '.join(spec.params)}")
            continue
        failed = run_suite(
            specs, args.jobs, args.runs_dir, args.results_dir, args.device, args.progress_interval, args.deadline
        )
        if failed:
            print(f"{len(failed)} failed: {', '.join(failed)}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
