"""
MinAtar (Young and Tian 2019) for gymnasium: the ``MinAtar/<Game>-v0`` (all 6 actions) and ``-v1`` (each game's
minimal action set) ids, registered without importing MinAtar.

MinAtar 1.0.15 ships its gymnasium environments (``minatar.gym``) but registers them only when
``minatar.gym.register_envs()`` is called, which imports MinAtar and seaborn; gymnasium 1.x does not load its
entry point. :func:`register_minatar_envs` registers the same ids, with the same entry point and arguments, lazily:
the first ``gym.make`` imports MinAtar. It is called when :mod:`sb3_qwr` is imported, so that
``QWR("CnnPolicy", "MinAtar/Breakout-v1")`` and ``sb3-qwr train --env MinAtar/Breakout-v1`` work as they are.
"""

import importlib.util

from gymnasium.envs.registration import register, registry

#: MinAtar's games, by the name its ``Environment`` takes.
MINATAR_GAMES = ("asterix", "breakout", "freeway", "seaquest", "space_invaders")
#: The prefix of MinAtar's environment ids.
MINATAR_NAMESPACE = "MinAtar"
#: Episode cap, not in MinAtar: without one, a deterministic policy that avoids every end of episode (seen here:
#: PPO's greedy policy on Seaquest) makes an evaluation run forever. 10,000 steps is far beyond the episodes of
#: any game's learning policies at 100K steps (Freeway ends itself at 2,500).
MAX_EPISODE_STEPS = 10_000


def minatar_env_id(game: str, version: int = 1) -> str:
    """
    :param game: A MinAtar game (one of :data:`MINATAR_GAMES`).
    :param version: 1 for the minimal action set, 0 for all 6 actions.
    :return: The gymnasium id, e.g. ``MinAtar/SpaceInvaders-v1``.
    """
    return f"{MINATAR_NAMESPACE}/{game.title().replace('_', '')}-v{version}"


def minatar_installed() -> bool:
    """:return: Whether the ``minatar`` package can be imported (``pip install "sb3-qwr[minatar]"``)."""
    return importlib.util.find_spec("minatar") is not None


def register_minatar_envs() -> bool:
    """
    Register MinAtar's ids with gymnasium, as ``minatar.gym.register_envs()`` does (plus a time limit of
    :data:`MAX_EPISODE_STEPS`), if MinAtar is installed and its ids are not registered yet.

    :return: Whether the ids are registered now.
    """
    if not minatar_installed():
        return False
    for game in MINATAR_GAMES:
        for version, minimal in ((0, False), (1, True)):
            env_id = minatar_env_id(game, version)
            if env_id not in registry:
                register(
                    id=env_id,
                    entry_point="minatar.gym:BaseEnv",
                    kwargs={"game": game, "use_minimal_action_set": minimal},
                    max_episode_steps=MAX_EPISODE_STEPS,
                )
    return True


def check_minatar_env_id(env_id: str) -> None:
    """
    Raise a clear error for a MinAtar id when MinAtar is not installed.

    :param env_id: A gymnasium id.
    """
    if env_id.startswith(f"{MINATAR_NAMESPACE}/") and not minatar_installed():
        raise ModuleNotFoundError(
            f"{env_id} is a MinAtar environment, and MinAtar is not installed: "
            'pip install "sb3-qwr[minatar]" (or pip install minatar==1.0.15)'
        )
