"""sb3-qwr: Q-Value Weighted Regression (Kozakowski et al. 2021) for Stable-Baselines3."""

import sb3_qwr.envs  # noqa: F401
from sb3_qwr.awr import AWR
from sb3_qwr.buffers import DictQWRReplayBuffer, QWRReplayBuffer
from sb3_qwr.policies import CnnPolicy, MlpPolicy, MultiInputPolicy, QWRPolicy
from sb3_qwr.qwr import QWR

__version__ = "0.1.0"

__all__ = [
    "AWR",
    "QWR",
    "CnnPolicy",
    "DictQWRReplayBuffer",
    "MlpPolicy",
    "MultiInputPolicy",
    "QWRPolicy",
    "QWRReplayBuffer",
    "__version__",
]
