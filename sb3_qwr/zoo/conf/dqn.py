"""DQN hyperparameters: the RL Zoo's ``dqn.yml`` with the MinAtar entries of sb3-qwr's ``hyperparams/dqn.yml``."""

from sb3_qwr.zoo.config import merged_hyperparams

hyperparams = merged_hyperparams("dqn")
