"""PPO hyperparameters: the RL Zoo's ``ppo.yml`` with the MuJoCo v5 entries of sb3-qwr's ``hyperparams/ppo.yml``."""

from sb3_qwr.zoo.config import merged_hyperparams

hyperparams = merged_hyperparams("ppo")
