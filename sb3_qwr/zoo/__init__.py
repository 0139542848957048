"""
QWR in the RL Zoo (rl-zoo3), without forking it: ``python -m sb3_qwr.zoo train --algo qwr --env Pendulum-v1``.

``register_qwr()`` adds QWR to the Zoo's algorithm table and Optuna samplers; the command line
(``sb3_qwr.zoo.cli``) calls it before running the Zoo's own scripts, and points ``train`` at the hyperparameter
files shipped with sb3-qwr.
"""

from sb3_qwr.zoo.cli import main
from sb3_qwr.zoo.config import default_conf_file, hyperparams_file, merged_hyperparams
from sb3_qwr.zoo.exp_manager import QWRExperimentManager
from sb3_qwr.zoo.hyperparams_opt import QWR_SEARCH_SPACE, convert_qwr_params, sample_qwr_params
from sb3_qwr.zoo.registry import InferenceQWR, register_qwr

__all__ = [
    "QWR_SEARCH_SPACE",
    "InferenceQWR",
    "QWRExperimentManager",
    "convert_qwr_params",
    "default_conf_file",
    "hyperparams_file",
    "main",
    "merged_hyperparams",
    "register_qwr",
    "sample_qwr_params",
]
