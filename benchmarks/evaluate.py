"""
Evaluation of a finished Zoo run: the final model (10 deterministic episodes on an environment built as the
Zoo's ``enjoy`` builds it) and the checkpoint evaluations of its ``EvalCallback``.

The runner calls the final evaluation in a process of its own::

    python -m benchmarks.evaluate <log folder>/<algo>/<env>_<id> --algo qwr --env Hopper-v5 --episodes 10 \\
        --seed 10000 --output final_eval.json
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.evaluation import evaluate_policy

from benchmarks.lib.records import provenance, write_json


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
    :return: ``returns``, ``lengths``, ``mean``, ``std``, ``deterministic``, ``wall_time_s`` and ``machine``; for
        QWR and AWR also ``reference_temperature`` (:func:`reference_temperature_evaluation`).
    """
    import yaml
    from huggingface_sb3 import EnvironmentName  # the Zoo's file names of an env id ("/" written "-")
    from rl_zoo3.utils import ALGOS, create_test_env, get_saved_hyperparams

    from sb3_qwr.zoo.registry import register_qwr

    register_qwr(inference=True)
    try:
        import ale_py
        import gymnasium

        gymnasium.register_envs(ale_py)
    except ImportError:
        pass

    start = time.perf_counter()
    model_path = zoo_run_dir / f"{EnvironmentName(env_id)}.zip"
    stats_path = zoo_run_dir / EnvironmentName(env_id)
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
    reference = reference_temperature_evaluation(model, env, n_episodes)
    env.close()
    returns_array = np.asarray(returns, dtype=float)
    result = {
        "returns": returns_array.tolist(),
        "lengths": [int(length) for length in lengths],
        "mean": float(returns_array.mean()),
        "std": float(returns_array.std()),
        "deterministic": True,
        "wall_time_s": time.perf_counter() - start,
        **provenance(),
    }
    if reference is not None:
        result["reference_temperature"] = reference
    return result


#: The authors' second evaluation samples actions at temperature 0.5: std 0.4 * 0.5 in the environment's units.
REFERENCE_EVAL_STD = 0.2


def reference_temperature_evaluation(model: Any, env: Any, n_episodes: int) -> dict[str, Any] | None:
    """
    The evaluation the authors' reference code reports beside the deterministic one: actions sampled from the
    actor's Gaussian at temperature 0.5, std 0.2 in the environment's units (trax ``SamplingAWR`` evaluates its
    policy at temperatures 0 and 0.5). For QWR and AWR with ``Box`` actions; ``None`` for other algorithms.

    :param model: The loaded model (its actor's std is changed).
    :param env: The evaluation environment.
    :param n_episodes: Episodes.
    :return: ``returns``, ``mean``, ``std`` and ``action_std`` (in the environment's units).
    """
    from sb3_qwr.common.base_class import WeightedRegressionAlgorithm
    from sb3_qwr.common.policies import FixedStdGaussian, normalized_action_std

    if not isinstance(model, WeightedRegressionAlgorithm) or not isinstance(model.actor.distribution, FixedStdGaussian):
        return None
    std = normalized_action_std(REFERENCE_EVAL_STD, model.action_space, "env")
    model.actor.distribution = FixedStdGaussian(model.actor.distribution.action_dim, std)
    returns, _ = evaluate_policy(
        model, env, n_eval_episodes=n_episodes, deterministic=False, return_episode_rewards=True, warn=False
    )
    returns_array = np.asarray(returns, dtype=float)
    return {
        "returns": returns_array.tolist(),
        "mean": float(returns_array.mean()),
        "std": float(returns_array.std()),
        "action_std": REFERENCE_EVAL_STD,
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


def main(argv: Sequence[str] | None = None) -> None:
    """
    Entry point: evaluate the final model of one Zoo run and write the result as JSON.

    :param argv: Command-line arguments (``sys.argv[1:]`` when ``None``).
    """
    parser = argparse.ArgumentParser(description="Final evaluation of a Zoo run (deterministic policy).")
    parser.add_argument("zoo_run_dir", type=Path, help="<log folder>/<algo>/<env>_<id>")
    parser.add_argument("--algo", required=True, help="the Zoo's algorithm name")
    parser.add_argument("--env", required=True, help="environment id")
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=10_000, help="seed of the evaluation environment")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--output", type=Path, required=True, help="JSON file to write")
    args = parser.parse_args(argv)
    result = final_evaluation(args.zoo_run_dir, args.algo, args.env, args.episodes, args.seed, args.device)
    write_json(args.output, result)
    print(f"final evaluation: mean {result['mean']:.2f} +- {result['std']:.2f} over {len(result['returns'])}")


if __name__ == "__main__":
    main()
