"""The RL Zoo's ``ExperimentManager`` with what QWR's hyperparameter files need."""

from collections.abc import Callable
from typing import Any

from rl_zoo3.exp_manager import ExperimentManager
from rl_zoo3.utils import SimpleLinearSchedule
from stable_baselines3.common.callbacks import BaseCallback

from sb3_qwr.zoo.resume import ResumableExperimentManager

#: QWR's learning rates: the Zoo turns only ``learning_rate`` (and clip ranges) into schedules.
QWR_SCHEDULE_KEYS = ("actor_learning_rate", "critic_learning_rate")


class QWRExperimentManager(ResumableExperimentManager):
    """
    The Zoo's ``ExperimentManager`` with exact resume (:class:`~sb3_qwr.zoo.resume.ResumableExperimentManager`),
    used by ``python -m sb3_qwr.zoo train --algo qwr``, with two additions:

    * ``actor_learning_rate`` and ``critic_learning_rate`` accept the Zoo's linear schedule strings
      (``lin_1e-4``) like ``learning_rate`` does; numbers stay numbers.
    * ``env_kwargs`` given in a hyperparameter file reach the evaluation environment too (the Zoo applies them
      to the training environment only unless they come from ``--env-kwargs``), so that the Atari episode cap
      of ``qwr.yml`` holds in evaluation as in training. ``--eval-env-kwargs`` still takes precedence.
    """

    @staticmethod
    def _preprocess_schedules(hyperparams: dict[str, Any]) -> dict[str, Any]:
        hyperparams = ExperimentManager._preprocess_schedules(hyperparams)
        for key in QWR_SCHEDULE_KEYS:
            value = hyperparams.get(key)
            if isinstance(value, str):
                schedule, _, initial_value = value.partition("_")
                if schedule != "lin":
                    raise ValueError(f"Invalid value for {key}: {value!r}; use a number or 'lin_<initial value>'.")
                hyperparams[key] = SimpleLinearSchedule(float(initial_value))
        return hyperparams

    def _preprocess_hyperparams(
        self, hyperparams: dict[str, Any]
    ) -> tuple[dict[str, Any], Callable | None, list[BaseCallback], Callable | None]:
        processed = super()._preprocess_hyperparams(hyperparams)
        if self._eval_env_kwargs_args is None:
            self.eval_env_kwargs = self.env_kwargs
        return processed
