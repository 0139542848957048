"""
``python -m sb3_qwr.datasets``: roll saved policies (and optionally a uniform random policy) out into a Minari
dataset, for offline training (the QWR paper's Figure 3 uses "50 trajectories of length 1000 collected by
diverse policies").

Usage::

    python -m sb3_qwr.datasets --env Hopper-v5 --policies ckpt1.zip ckpt2.zip --algo sac --episodes 50 \\
        --noise 0.1 --dataset-id hopper/diverse-v0 [--random 10] [--min-steps 50000] [--root DIR]

The episodes are shared round-robin among the policies; each policy acts deterministically (its mean or
arg-max) plus exploration noise: Gaussian noise of std ``noise`` in SB3's normalized ``[-1, 1]`` action units
for ``Box`` actions (then clipped to the bounds), a uniform random action with probability ``noise`` for
``Discrete`` actions. ``--random N`` adds N episodes of uniform random actions. The dataset is written with
``minari.create_dataset_from_buffers`` (no jax needed) under ``--root`` (default: ``MINARI_DATASETS_PATH`` or
``~/.minari/datasets``) and records the actions the environment received, in its own units.
"""

import argparse
import contextlib
import os
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecNormalize

from sb3_qwr.common.safe_pickle import load_pickle
from sb3_qwr.offline.actions import normalize_box_actions, unnormalize_box_actions

PolicyFn = Callable[[Any], Any]
RANDOM_SOURCE = "random"


def algo_classes() -> dict[str, type[BaseAlgorithm]]:
    """
    SB3's and sb3-contrib's (when installed) algorithms, by lower-case name (``sb3_qwr.datasets.algo_classes``
    adds QWR and AWR, which sit above this layer).

    :return: Name to class.
    """
    import stable_baselines3 as sb3

    classes: dict[str, type[BaseAlgorithm]] = {
        "a2c": sb3.A2C,
        "ddpg": sb3.DDPG,
        "dqn": sb3.DQN,
        "ppo": sb3.PPO,
        "sac": sb3.SAC,
        "td3": sb3.TD3,
    }
    try:
        import sb3_contrib
    except ImportError:  # pragma: no cover - optional
        return classes
    for name in ("ARS", "CrossQ", "QRDQN", "TQC", "TRPO"):
        if hasattr(sb3_contrib, name):
            classes[name.lower()] = getattr(sb3_contrib, name)
    return classes


@contextlib.contextmanager
def minari_root(root: str | os.PathLike | None) -> Iterator[None]:
    """
    Point Minari at ``root`` (``MINARI_DATASETS_PATH``) for the duration of the block; nothing when ``None``.

    :param root: Directory of the local Minari datasets.
    """
    if root is None:
        yield
        return
    previous = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = os.fspath(Path(root).resolve())
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("MINARI_DATASETS_PATH", None)
        else:
            os.environ["MINARI_DATASETS_PATH"] = previous


def noisy_policy(
    model: BaseAlgorithm | None,
    action_space: spaces.Space,
    noise: float,
    rng: np.random.Generator,
    deterministic: bool = True,
    obs_normalizer: Callable[[Any], Any] | None = None,
) -> PolicyFn:
    """
    A function from one observation to one action: the model's action plus exploration noise, or a uniform
    random action when ``model`` is ``None``.

    :param model: A trained SB3 / QWR model, or ``None`` for the uniform random policy.
    :param action_space: The environment's action space.
    :param noise: ``Box``: std of the Gaussian noise in normalized ``[-1, 1]`` units; ``Discrete``:
        probability of a uniform random action.
    :param rng: Random generator of the noise and of the random actions.
    :param deterministic: Whether the model acts with its deterministic action (before the noise).
    :param obs_normalizer: Applied to the observation before the model sees it (e.g. a saved VecNormalize's
        ``normalize_obs``).
    :return: The policy.
    """

    def random_action() -> Any:
        if isinstance(action_space, spaces.Box):
            return rng.uniform(action_space.low, action_space.high).astype(action_space.dtype)
        if isinstance(action_space, spaces.Discrete):
            return int(action_space.start + rng.integers(action_space.n))
        raise ValueError(f"Action space {action_space} is not supported: use Box or Discrete.")

    def act(obs: Any) -> Any:
        if model is None:
            return random_action()
        model_obs = obs_normalizer(obs) if obs_normalizer is not None else obs
        action, _ = model.predict(model_obs, deterministic=deterministic)
        if isinstance(action_space, spaces.Box):
            action = np.asarray(action).reshape(action_space.shape)
            if noise > 0:
                normalized = normalize_box_actions(action[None], action_space)[0]
                normalized = normalized + noise * rng.standard_normal(normalized.shape)
                action = unnormalize_box_actions(normalized[None], action_space)[0]
            return np.clip(action, action_space.low, action_space.high).astype(action_space.dtype)
        if isinstance(action_space, spaces.Discrete):
            if noise > 0 and rng.random() < noise:
                return random_action()
            return int(np.asarray(action).reshape(-1)[0])
        raise ValueError(f"Action space {action_space} is not supported: use Box or Discrete.")

    return act


def rollout_episode(env: gym.Env, policy: PolicyFn, seed: int | None, episode_id: int) -> Any:
    """
    Play one episode and return it as a Minari ``EpisodeBuffer`` (``T + 1`` observations, ``T`` actions).

    :param env: The environment (with its time limit).
    :param policy: Observation to action.
    :param seed: Seed of the reset.
    :param episode_id: Id of the episode in the dataset.
    :return: The episode.
    """
    from minari.data_collector import EpisodeBuffer

    obs, _ = env.reset(seed=seed)
    observations, actions, rewards, terminations, truncations = [obs], [], [], [], []
    done = False
    while not done:
        action = policy(obs)
        obs, reward, terminated, truncated, _ = env.step(action)
        observations.append(obs)
        actions.append(action)
        rewards.append(float(reward))
        terminations.append(bool(terminated))
        truncations.append(bool(truncated))
        done = terminated or truncated
    if isinstance(observations[0], dict):
        stacked_obs: Any = {key: np.stack([o[key] for o in observations]) for key in observations[0]}
    else:
        stacked_obs = np.stack(observations)
    return EpisodeBuffer(
        id=episode_id,
        seed=seed,
        observations=stacked_obs,
        actions=np.stack([np.asarray(a) for a in actions]),
        rewards=rewards,
        terminations=terminations,
        truncations=truncations,
    )


@dataclass
class DatasetSummary:
    """
    What :func:`make_dataset` collected.

    :param dataset_id: Id of the Minari dataset.
    :param path: Directory of the dataset.
    :param n_episodes: Number of episodes.
    :param n_steps: Number of steps.
    :param returns_by_source: Episode returns, by policy path (or ``"random"``).
    """

    dataset_id: str
    path: str
    n_episodes: int
    n_steps: int
    returns_by_source: dict[str, list[float]] = field(default_factory=dict)

    @property
    def average_return(self) -> float:
        """Mean return over all episodes of the dataset."""
        returns = [r for values in self.returns_by_source.values() for r in values]
        return float(np.mean(returns))


def load_obs_normalizer(path: str | os.PathLike, trusted: bool = False) -> Callable[[Any], Any]:
    """
    The observation normalization of a VecNormalize saved with ``VecNormalize.save`` (RL Zoo's
    ``vecnormalize.pkl``), as a function of one observation.

    :param path: The pickle.
    :param trusted: Unpickle without restriction (the file may run code); by default the file may only name
        the classes a ``VecNormalize`` file is made of (:func:`sb3_qwr.offline.safe_load`).
    :return: The normalizing function.
    """
    vec_normalize = load_pickle(path, trusted=trusted)
    if not isinstance(vec_normalize, VecNormalize):
        raise ValueError(f"{os.fspath(path)} holds a {type(vec_normalize).__name__}, not a VecNormalize.")
    vec_normalize.training = False
    return vec_normalize.normalize_obs


def make_dataset(
    env_id: str,
    dataset_id: str,
    policies: Sequence[str | os.PathLike] = (),
    algo: str = "sac",
    episodes: int = 50,
    noise: float = 0.1,
    random_episodes: int = 0,
    root: str | os.PathLike | None = None,
    seed: int = 0,
    deterministic: bool = True,
    min_steps: int = 0,
    vecnormalize: Sequence[str | os.PathLike | None] | None = None,
    env_kwargs: dict[str, Any] | None = None,
    description: str | None = None,
    verbose: int = 1,
    algorithms: Mapping[str, type[BaseAlgorithm]] | None = None,
) -> DatasetSummary:
    """
    Roll saved policies (plus optional random episodes) out into a new local Minari dataset.

    :param env_id: Gymnasium id of the environment (its default time limit applies).
    :param dataset_id: Id of the new dataset, e.g. ``"hopper/diverse-v0"`` (must not exist yet).
    :param policies: Paths of models saved with ``model.save`` (``.zip``); the ``episodes`` are shared
        round-robin among them.
    :param algo: Algorithm of the saved models (see :func:`algo_classes`).
    :param episodes: Number of episodes played by the policies (in total).
    :param noise: Exploration noise (see :func:`noisy_policy`).
    :param random_episodes: Number of additional episodes of uniform random actions.
    :param root: Directory of the local Minari datasets (default: ``MINARI_DATASETS_PATH`` or
        ``~/.minari/datasets``).
    :param seed: Seed of the resets (episode ``i`` resets with ``seed + i``) and of the noise.
    :param deterministic: Whether the policies act with their deterministic action before the noise.
    :param min_steps: Keep adding policy episodes (continuing the round-robin) until the policies' episodes hold
        at least this many steps: on tasks whose episodes end early (Hopper, Walker2d), ``episodes`` alone
        gives a much smaller dataset than the paper's "50 trajectories of length 1000".
    :param vecnormalize: Optional VecNormalize pickle per policy (``None`` entries for none).
    :param env_kwargs: Keyword arguments of ``gym.make``.
    :param description: Description stored in the dataset's metadata.
    :param verbose: Print a summary.
    :param algorithms: The classes that load the saved models, by lower-case name (default: :func:`algo_classes`).
    :return: A summary of the collected dataset.
    """
    import minari

    if episodes < 0 or random_episodes < 0:
        raise ValueError("The numbers of episodes must be >= 0.")
    if episodes > 0 and not policies:
        raise ValueError("`episodes` > 0 needs at least one policy (or use only `random_episodes`).")
    if episodes + random_episodes == 0:
        raise ValueError("The dataset would be empty: ask for episodes or random episodes.")
    if min_steps < 0:
        raise ValueError(f"`min_steps` must be >= 0, got {min_steps}.")
    if min_steps > 0 and episodes == 0:
        raise ValueError("`min_steps` > 0 needs policy episodes (`episodes` > 0 and policies).")
    if vecnormalize is not None and len(vecnormalize) != len(policies):
        raise ValueError("Give one VecNormalize path (or None) per policy.")
    classes = algo_classes() if algorithms is None else dict(algorithms)
    if policies and algo.lower() not in classes:
        raise ValueError(f"Unknown algorithm {algo!r}: use one of {sorted(classes)}.")
    env = gym.make(env_id, **(env_kwargs or {}))
    env.action_space.seed(seed)
    rng = np.random.default_rng(seed)

    sources: list[tuple[str, PolicyFn]] = []
    for index, path in enumerate(policies):
        model = classes[algo.lower()].load(os.fspath(path), device="cpu")
        normalizer_path = None if vecnormalize is None else vecnormalize[index]
        normalizer = load_obs_normalizer(normalizer_path) if normalizer_path else None
        sources.append((os.fspath(path), noisy_policy(model, env.action_space, noise, rng, deterministic, normalizer)))
    random_policy = noisy_policy(None, env.action_space, 0.0, rng)
    buffers: list[Any] = []
    returns_by_source: dict[str, list[float]] = {}

    def play(source: str, policy: PolicyFn) -> int:
        episode = rollout_episode(env, policy, seed + len(buffers), len(buffers))
        buffers.append(episode)
        returns_by_source.setdefault(source, []).append(float(np.sum(episode.rewards)))
        return len(episode.rewards)

    policy_steps = 0
    index = 0
    while index < episodes or policy_steps < min_steps:
        policy_steps += play(*sources[index % len(sources)])
        index += 1
    for _ in range(random_episodes):
        play(RANDOM_SOURCE, random_policy)
    env.close()

    if description is None:
        parts = [f"{len(v)} episodes of {k} (mean return {np.mean(v):.1f})" for k, v in returns_by_source.items()]
        description = f"{env_id}: " + "; ".join(parts) + f". Box noise std {noise} in [-1, 1] units."
    with minari_root(root), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is set to None.*")
        dataset = minari.create_dataset_from_buffers(
            dataset_id=dataset_id,
            buffer=buffers,
            env=env_id,
            algorithm_name=f"{algo} policies with noise {noise}" if policies else "random",
            author="sb3-qwr",
            author_email="n/a",
            code_permalink="sb3_qwr/offline/collect.py",
            description=description,
        )
        path = os.fspath(minari.storage.get_dataset_path(dataset_id))
    summary = DatasetSummary(
        dataset_id=dataset_id,
        path=path,
        n_episodes=len(buffers),
        n_steps=int(dataset.total_steps),
        returns_by_source=returns_by_source,
    )
    if verbose:
        print(f"Wrote {summary.n_episodes} episodes ({summary.n_steps} steps) to {summary.path}")
        for source, returns in returns_by_source.items():
            print(f"  {source}: {len(returns)} episodes, mean return {np.mean(returns):.1f}")
        print(f"  average return of the dataset: {summary.average_return:.1f}")
    return summary


def main(argv: Sequence[str] | None = None, algorithms: Mapping[str, type[BaseAlgorithm]] | None = None) -> DatasetSummary:
    """
    Command line of ``python -m sb3_qwr.datasets``.

    :param argv: Arguments (default: ``sys.argv[1:]``).
    :param algorithms: The classes that load the saved models (see :func:`make_dataset`).
    :return: The summary of the written dataset.
    """
    parser = argparse.ArgumentParser(
        prog="python -m sb3_qwr.datasets",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--env", required=True, help="Gymnasium environment id, e.g. Hopper-v5")
    parser.add_argument("--dataset-id", required=True, help="id of the new Minari dataset, e.g. hopper/diverse-v0")
    parser.add_argument("--policies", nargs="*", default=[], help="saved models (.zip) that play the episodes")
    parser.add_argument("--algo", default="sac", help="algorithm of the saved models (sac, td3, ppo, qwr, ...)")
    parser.add_argument(
        "--episodes", type=int, default=None, help="episodes played by the policies, in total (default: 50 with policies)"
    )
    parser.add_argument("--noise", type=float, default=0.1, help="Box: Gaussian std in [-1, 1] units; Discrete: epsilon")
    parser.add_argument("--random", type=int, default=0, help="additional episodes of uniform random actions")
    parser.add_argument(
        "--min-steps", type=int, default=0, help="add policy episodes (round-robin) until they hold this many steps"
    )
    parser.add_argument("--stochastic", action="store_true", help="sample the policies' actions instead of their mode")
    parser.add_argument("--vecnormalize", nargs="*", default=None, help="VecNormalize pickle per policy ('-' for none)")
    parser.add_argument("--root", default=None, help="directory of the local Minari datasets")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    vecnormalize = None if args.vecnormalize is None else [None if p == "-" else p for p in args.vecnormalize]
    return make_dataset(
        env_id=args.env,
        dataset_id=args.dataset_id,
        policies=args.policies,
        algo=args.algo,
        episodes=(50 if args.policies else 0) if args.episodes is None else args.episodes,
        noise=args.noise,
        random_episodes=args.random,
        root=args.root,
        seed=args.seed,
        deterministic=not args.stochastic,
        vecnormalize=vecnormalize,
        min_steps=args.min_steps,
        algorithms=algorithms,
    )
