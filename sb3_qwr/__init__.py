"""sb3-qwr: Q-Value Weighted Regression (Kozakowski et al. 2021) for Stable-Baselines3."""

import sb3_qwr.envs  # noqa: F401  (registers BitFlip-v0 and MinAtar's ids)
from sb3_qwr._legacy import register_legacy_modules
from sb3_qwr.awr import AWR
from sb3_qwr.common.buffers import (
    DictQWRReplayBuffer,
    DictWeightedRegressionReplayBuffer,
    QWRReplayBuffer,
    WeightedRegressionReplayBuffer,
)
from sb3_qwr.common.torch_layers import MinAtarCNN
from sb3_qwr.qwr import QWR, CnnPolicy, MlpPolicy, MultiInputPolicy, QWRPolicy

__version__ = "0.2.0"

register_legacy_modules()

__all__ = [
    "AWR",
    "QWR",
    "CnnPolicy",
    "DictQWRReplayBuffer",
    "DictWeightedRegressionReplayBuffer",
    "MinAtarCNN",
    "MlpPolicy",
    "MultiInputPolicy",
    "QWRPolicy",
    "QWRReplayBuffer",
    "WeightedRegressionReplayBuffer",
    "__version__",
]
