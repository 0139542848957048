"""SAC hyperparameters: the RL Zoo's ``sac.yml`` with the MuJoCo v5 entries of sb3-qwr's ``hyperparams/sac.yml``."""

from sb3_qwr.zoo.config import merged_hyperparams

hyperparams = merged_hyperparams("sac")
