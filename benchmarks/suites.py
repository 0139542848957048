"""
Benchmark suites: which algorithm variants run on which environments, with which seeds, steps and Zoo
``-params``. Each (variant, environment, seed) of a suite is one :class:`RunSpec`, one ``python -m sb3_qwr.zoo
train`` process (``python -m benchmarks.run --list`` prints them expanded).

Variants: ``qwr-lse``, ``qwr-max``, ``qwr-avg`` are ``--algo qwr -params backup:'lse'|'max'|'mean'``;
``sac``, ``ppo``, ``dqn`` the Zoo's algorithms with their Zoo (and sb3-qwr ``hyperparams/``) settings.

* ``mujoco100k``: HalfCheetah-v5, Hopper-v5, Walker2d-v5, Humanoid-v5; qwr-lse, sac, ppo, qwr-max, qwr-avg;
  100K steps; seeds 0-4 (Table 1 of the paper).
* ``atari100k``: Boxing, Breakout, Freeway, Gopher, Pong, Seaquest (``NoFrameskip-v4``); qwr-lse, ppo, dqn;
  100K interactions (agent steps, 400K frames); seeds 0-4 (Table 2). DQN with ``learning_starts:1600`` (the
  Zoo's 100K would leave no step to learn in).
* ``mujoco1m``: the MuJoCo envs at 1M steps, QWR with ``backup_temperature:1.0 backup_scale:'std'`` (Table 3),
  SAC and PPO; seeds 0-4.
* ``minatar100k``: the five MinAtar games (``MinAtar/<Game>-v1``, Young and Tian 2019, the CPU-sized Atari);
  qwr-lse, dqn, ppo (then qwr-max, qwr-avg); 100K interactions; seeds 0-2. Every algorithm uses MinAtar's network
  (``sb3_qwr.MinAtarCNN``); settings in ``hyperparams/qwr.yml``, ``dqn.yml``, ``ppo.yml``.
* ``smoke``: a few thousand steps of Pendulum-v1 and Hopper-v5 (qwr-lse, sac) and 1000 steps of
  PongNoFrameskip-v4 (qwr-lse), with fewer QWR updates per iteration and a small replay buffer: checks the
  whole pipeline on a CPU; its numbers are not comparable with the paper.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.lib.records import RESULTS_DIR, RUNS_DIR


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
    "awr": Variant("awr", "awr", (), "AWR"),
    "sac": Variant("sac", "sac", (), "SAC"),
    "ppo": Variant("ppo", "ppo", (), "PPO"),
    "dqn": Variant("dqn", "dqn", (), "DQN"),
}

MUJOCO_ENVS = ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Humanoid-v5")
MINATAR_ENVS = tuple(f"MinAtar/{game}-v1" for game in ("Asterix", "Breakout", "Freeway", "Seaquest", "SpaceInvaders"))
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
        "100K suite), longer than a 3-hour working session: it continues across sessions from its checkpoint "
        "(benchmarks.run resumes it), which needs its run folder carried from one session's machine to the next",
    ),
    "minatar100k": Suite(
        "minatar100k",
        MINATAR_ENVS,
        ("qwr-lse", "dqn", "ppo", "qwr-max", "qwr-avg"),
        100_000,
        seeds=(0, 1, 2),
        description="MinAtar v1 (minimal action sets), 100K interactions, MinAtar's network for every algorithm",
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
class Ablation:
    """
    A suite's setting with one change, run into a results root of its own (``results/<name>/<suite>/``, logs in
    ``runs/<name>/``) so that it stays out of the suite's tables: ``python -m benchmarks.run <suite> --ablation
    <name> --params ...``. The report tables the declared ablations only, each beside the suite's runs of the same
    variant, environment and seeds.

    :param name: Its folder name.
    :param suite: The suite it changes.
    :param change: What changed, in words (the ``-params`` it adds are read from its summaries).
    """

    name: str
    suite: str
    change: str


#: Every ablation, declared once (the report and ``benchmarks.run --ablation`` read this list, not the folders).
ABLATIONS: dict[str, Ablation] = {
    ablation.name: ablation
    for ablation in (
        Ablation("mujoco100k_bf16", "mujoco100k", "every pass in bfloat16 autocast (issue Speed: score parity)"),
        Ablation("mujoco100k_bf16_compiled", "mujoco100k", "bfloat16 with the update hooks compiled"),
        Ablation("mujoco100k_bf16_f32out", "mujoco100k", "bfloat16 with the critics' output layer in float32 (e564685)"),
        Ablation("mujoco100k_head_init", "mujoco100k", "output layers initialized in [-0.01, 0.01]"),
        Ablation("mujoco100k_raw_obs", "mujoco100k", "observations not normalized (the settings before 2026-11-28)"),
        Ablation("mujoco100k_released", "mujoco100k", "the released trax config's learning rate, buffer, target sync, init"),
        Ablation("mujoco100k_std_env", "mujoco100k", "the Gaussian's std 0.4 in the environment's action units"),
    )
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
        """Run name: ``<variant>__<env>__seed<k>``, a ``/`` of the env id (``MinAtar/Breakout-v1``) written ``-``."""
        return f"{self.variant}__{self.env.replace('/', '-')}__seed{self.seed}"

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
        :return: The Zoo command that trains this run: it writes an exact checkpoint at every checkpoint evaluation
            and, run again after a stop, resumes from it (``--resume`` starts the run when there is none).
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
            "--checkpoint-freq",
            str(self.eval_freq),
            "--resume",
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
