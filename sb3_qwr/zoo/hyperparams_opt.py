"""
Optuna sampler of QWR hyperparameters for the RL Zoo's ``-optimize``, over the considered ranges of Table 4.

``register_qwr`` puts :func:`sample_qwr_params` in ``rl_zoo3.hyperparams_opt.HYPERPARAMS_SAMPLER["qwr"]`` and
:func:`convert_qwr_params` in ``HYPERPARAMS_CONVERTER["qwr"]`` (used when a trial is loaded back with
``--storage ... --study-name ... --trial-id N``).
"""

from typing import Any

import optuna

from sb3_qwr.qwr import check_qwr_hyperparameters

#: Considered ranges of Table 4 of the paper, by QWR constructor argument. gamma (0.99) and lambda (0.95)
#: were not tuned in the paper and are not sampled.
QWR_SEARCH_SPACE: dict[str, list[Any]] = {
    "n_action_samples": [2, 4, 8, 32],
    "n_step_horizon": [1, 3, 7],
    "beta": [0.1, 0.3, 1.0, 3.0, 10.0],
    "backup": ["lse", "mean", "max"],
    "actor_learning_rate": [1e-4, 2e-4, 5e-4],
    "critic_learning_rate": [2e-4, 5e-4, 1e-3],
    "batch_size": [128, 256, 512],
    "buffer_size": [20_000, 50_000, 100_000, 200_000],
    "n_actor_steps": [1000, 2000, 3000],
    "n_critic_steps": [200, 500, 1000, 2000],
    "target_update_interval": [100, 200, 300],
}


def sample_qwr_params(trial: optuna.Trial, n_actions: int, n_envs: int, additional_args: dict[str, Any]) -> dict[str, Any]:
    """
    Sampler for QWR hyperparameters (the signature of the Zoo's ``HYPERPARAMS_SAMPLER`` entries).

    Every parameter of :data:`QWR_SEARCH_SPACE` is a categorical choice named after its constructor argument,
    so that a trial's parameters can be pasted into ``qwr.yml``. The number of action samples ``k`` is not
    sampled for ``Discrete`` action spaces (the Zoo passes ``n_actions=0`` then): QWR enumerates the actions
    there and does not use ``k``.

    :param trial: The Optuna trial.
    :param n_actions: Dimension of a ``Box`` action space, 0 otherwise.
    :param n_envs: Number of training environments (unused).
    :param additional_args: The Zoo's extra arguments (HER replay buffer settings; unused).
    :return: Keyword arguments of the ``QWR`` constructor.
    """
    sampled = {
        name: trial.suggest_categorical(name, choices)
        for name, choices in QWR_SEARCH_SPACE.items()
        if name != "n_action_samples" or n_actions > 0
    }
    return convert_qwr_params(sampled)


def convert_qwr_params(sampled_params: dict[str, Any]) -> dict[str, Any]:
    """
    Turn the parameters of a trial into ``QWR`` constructor arguments (the Zoo's ``HYPERPARAMS_CONVERTER``).

    The sampled names already are the constructor's, so this copies them after checking their ranges, so
    that a study from another version of the search space fails with a clear message.

    :param sampled_params: The trial's parameters (``trial.params``).
    :return: Keyword arguments of the ``QWR`` constructor.
    """
    hyperparams = dict(sampled_params)
    check_qwr_hyperparameters(**hyperparams)
    return hyperparams
