"""Environments of the QWR paper, registered with gymnasium on import: ``BitFlip-v0`` (Section 2.2)."""

from gymnasium.envs.registration import register, registry

from sb3_qwr.envs.bitflip import BitFlipEnv

__all__ = ["BitFlipEnv"]

if "BitFlip-v0" not in registry:
    register(id="BitFlip-v0", entry_point="sb3_qwr.envs.bitflip:BitFlipEnv", kwargs={"n_bits": 10})
