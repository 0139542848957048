"""
Environments: ``BitFlip-v0`` of the QWR paper (Section 2.2), registered with gymnasium on import, and
:class:`SpacesOnlyEnv` (spaces without a simulator, for offline training).
"""

from gymnasium.envs.registration import register, registry

from sb3_qwr.envs.bitflip import BitFlipEnv
from sb3_qwr.envs.spaces_only import SpacesOnlyEnv

__all__ = ["BitFlipEnv", "SpacesOnlyEnv"]

if "BitFlip-v0" not in registry:
    register(id="BitFlip-v0", entry_point="sb3_qwr.envs.bitflip:BitFlipEnv", kwargs={"n_bits": 10})
