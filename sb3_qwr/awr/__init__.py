from sb3_qwr.awr.awr import AWR
from sb3_qwr.awr.policies import AWRCnnPolicy, AWRMlpPolicy, AWRMultiInputPolicy, AWRPolicy, VCritic

__all__ = ["AWR", "AWRCnnPolicy", "AWRMlpPolicy", "AWRMultiInputPolicy", "AWRPolicy", "VCritic"]
