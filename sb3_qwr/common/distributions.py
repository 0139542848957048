"""
The actor's distributions, now in :mod:`sb3_qwr.common.policies` beside the networks that use them; this module
keeps the names of 0.2 importable.
"""

from sb3_qwr.common.policies import (
    DEFAULT_ACTION_STD,
    DEFAULT_DISCRETE_EPSILON,
    ActionDistribution,
    CategoricalLogits,
    FixedStdGaussian,
    centered_mu,
    make_distribution,
)

__all__ = [
    "DEFAULT_ACTION_STD",
    "DEFAULT_DISCRETE_EPSILON",
    "ActionDistribution",
    "CategoricalLogits",
    "FixedStdGaussian",
    "centered_mu",
    "make_distribution",
]
