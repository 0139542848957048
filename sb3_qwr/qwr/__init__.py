from sb3_qwr.qwr.policies import CnnPolicy, MlpPolicy, MultiInputPolicy, QCritic, QWRPolicy
from sb3_qwr.qwr.qwr import QWR, check_qwr_hyperparameters

__all__ = ["QWR", "CnnPolicy", "MlpPolicy", "MultiInputPolicy", "QCritic", "QWRPolicy", "check_qwr_hyperparameters"]
