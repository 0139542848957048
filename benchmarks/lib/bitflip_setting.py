"""The BitFlip setting of the paper's Figure 1, shared by ``benchmarks/bitflip.py`` and ``bitflip_cloning.py``."""

from __future__ import annotations

from typing import Any


def algo_kwargs(
    algo: str,
    train_steps: int,
    steps_per_iteration: int,
    actor_learning_rate: float = 1e-4,
    critic_learning_rate: float = 5e-4,
) -> dict[str, Any]:
    """
    Constructor arguments of one algorithm: the shared Figure 1 settings, plus ``backup="mean"`` for QWR.

    :param algo: ``"qwr"`` or ``"awr"``.
    :param train_steps: Critic and actor updates per iteration (Figure 1: 300).
    :param steps_per_iteration: Environment interactions per iteration (Figure 1: 1000).
    :param actor_learning_rate: Shared actor learning rate (the paper does not give BitFlip's; Table 4: 1e-4).
    :param critic_learning_rate: Shared critic learning rate (Table 4: 5e-4).
    :return: Keyword arguments for the algorithm's constructor.
    """
    kwargs: dict[str, Any] = {
        "train_freq": steps_per_iteration,
        "n_critic_steps": train_steps,
        "n_actor_steps": train_steps,
        "actor_learning_rate": actor_learning_rate,
        "critic_learning_rate": critic_learning_rate,
    }
    if algo == "qwr":
        kwargs["backup"] = "mean"
    return kwargs
