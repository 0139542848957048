"""
Exact resume of stopped runs: :func:`save_checkpoint`, :func:`resume` and :class:`CheckpointCallback`, for QWR,
AWR and SB3's own algorithms (SAC, TD3, DQN, PPO, ...). See :mod:`sb3_qwr.resume.checkpoint` for what a checkpoint
holds and :mod:`sb3_qwr.resume.state` for how environments and random generators are captured.
"""

from sb3_qwr.resume.callback import CheckpointCallback
from sb3_qwr.resume.checkpoint import CheckpointError, read_checkpoint, remaining_timesteps, resume, save_checkpoint
from sb3_qwr.resume.state import ResumableEnv, UnsupportedEnvironmentError

__all__ = [
    "CheckpointCallback",
    "CheckpointError",
    "ResumableEnv",
    "UnsupportedEnvironmentError",
    "read_checkpoint",
    "remaining_timesteps",
    "resume",
    "save_checkpoint",
]
