"""
Environments: ``BitFlip-v0`` of the QWR paper (Section 2.2) and, when MinAtar is installed, MinAtar's
``MinAtar/<Game>-v0|v1`` ids, both registered with gymnasium on import; :class:`SpacesOnlyEnv` (spaces without a
simulator, for offline training).
"""

from gymnasium.envs.registration import register, registry

from sb3_qwr.envs.bitflip import BitFlipEnv
from sb3_qwr.envs.minatar import MINATAR_GAMES, minatar_env_id, register_minatar_envs
from sb3_qwr.envs.spaces_only import SpacesOnlyEnv

__all__ = ["MINATAR_GAMES", "BitFlipEnv", "SpacesOnlyEnv", "minatar_env_id", "register_minatar_envs"]

if "BitFlip-v0" not in registry:
    register(id="BitFlip-v0", entry_point="sb3_qwr.envs.bitflip:BitFlipEnv", kwargs={"n_bits": 10})

register_minatar_envs()
