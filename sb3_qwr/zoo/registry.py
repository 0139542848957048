"""Registration of QWR and AWR in the RL Zoo's tables: algorithms (``rl_zoo3.ALGOS``) and QWR's Optuna samplers."""

import io
import pathlib
from typing import Any, ClassVar

import rl_zoo3.exp_manager
import torch as th
from rl_zoo3.hyperparams_opt import HYPERPARAMS_CONVERTER, HYPERPARAMS_SAMPLER
from rl_zoo3.utils import ALGOS
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.type_aliases import GymEnv

from sb3_qwr.awr import AWR
from sb3_qwr.common.torch_layers import MinAtarCNN
from sb3_qwr.qwr import QWR
from sb3_qwr.zoo.hyperparams_opt import convert_qwr_params, sample_qwr_params

#: The algorithm's name on the Zoo's command line (``--algo qwr``) and in its log folders.
QWR_ZOO_NAME = "qwr"
#: AWR's (the paper's baseline), with the shipped ``hyperparams/awr.yml``.
AWR_ZOO_NAME = "awr"
#: The Zoo names of the algorithms of this package (their default hyperparameter files ship with it).
ZOO_NAMES = (QWR_ZOO_NAME, AWR_ZOO_NAME)

#: Names that the string values of a hyperparameter file (``policy_kwargs: "dict(features_extractor_class=
#: MinAtarCNN)"``) may use, for every algorithm: the Zoo evaluates those strings in the namespace of its
#: ``rl_zoo3.exp_manager`` module, which knows ``nn`` and ``th`` but none of sb3-qwr's classes.
ZOO_HYPERPARAMS_NAMES: dict[str, Any] = {"MinAtarCNN": MinAtarCNN}


class _InferenceLoad:
    """
    An algorithm as the Zoo's ``enjoy`` and ``record_video`` load it: with a one-transition replay buffer.

    Those scripts pass ``buffer_size=1`` to ``load`` only for a list of off-policy algorithms written in their
    code; without it, loading would allocate the full replay buffer saved with the model (gigabytes for Atari)
    only to run the policy. An explicit ``buffer_size`` keyword still wins.
    """

    #: The algorithm whose ``load`` this one calls (the model it returns is of that class).
    algorithm: ClassVar[type[BaseAlgorithm]]

    @classmethod
    def load(
        cls,
        path: str | pathlib.Path | io.BufferedIOBase,
        env: GymEnv | None = None,
        device: th.device | str = "auto",
        custom_objects: dict[str, Any] | None = None,
        print_system_info: bool = False,
        force_reset: bool = True,
        **kwargs: Any,
    ) -> BaseAlgorithm:
        """
        Load a model saved by the algorithm's ``save`` with a replay buffer of size 1 (see its ``load``).

        :param path: Path to the zip file of the model.
        :param env: The environment to run the loaded model on.
        :param device: Device on which the model runs.
        :param custom_objects: Objects replacing those saved with the model.
        :param print_system_info: Whether to print the system info of the saved model and the current one.
        :param force_reset: Force a ``reset()`` before training.
        :param kwargs: Attributes to change in the model (``buffer_size`` defaults to 1 here).
        :return: The loaded model.
        """
        kwargs.setdefault("buffer_size", 1)
        return cls.algorithm.load(
            path,
            env=env,
            device=device,
            custom_objects=custom_objects,
            print_system_info=print_system_info,
            force_reset=force_reset,
            **kwargs,
        )


class InferenceQWR(_InferenceLoad, QWR):  # type: ignore[misc]
    """``QWR`` loaded with a one-transition replay buffer (see :class:`_InferenceLoad`)."""

    algorithm = QWR


class InferenceAWR(_InferenceLoad, AWR):  # type: ignore[misc]
    """``AWR`` loaded with a one-transition replay buffer (see :class:`_InferenceLoad`)."""

    algorithm = AWR


def register_qwr(inference: bool = False) -> None:
    """
    Make QWR known to the RL Zoo of this process: ``rl_zoo3.ALGOS["qwr"]`` (the dict that ``train``, ``enjoy``,
    ``record_video`` and the ``ExperimentManager`` read) and the Optuna ``HYPERPARAMS_SAMPLER``/
    ``HYPERPARAMS_CONVERTER`` tables, and sb3-qwr's classes that hyperparameter files name
    (:data:`ZOO_HYPERPARAMS_NAMES`) to the Zoo's namespace. Call it before the Zoo's entry points build their argument parsers.

    :param inference: Register :class:`InferenceQWR` (loads with a one-transition replay buffer) instead of
        ``QWR``: for ``enjoy`` and ``record_video``, which only run the policy.
    """
    ALGOS[QWR_ZOO_NAME] = InferenceQWR if inference else QWR
    ALGOS[AWR_ZOO_NAME] = InferenceAWR if inference else AWR
    for name, value in ZOO_HYPERPARAMS_NAMES.items():
        setattr(rl_zoo3.exp_manager, name, value)
    HYPERPARAMS_SAMPLER[QWR_ZOO_NAME] = sample_qwr_params
    HYPERPARAMS_CONVERTER[QWR_ZOO_NAME] = convert_qwr_params
