"""
Policies of AWR (Peng et al. 2019): the shared :class:`~sb3_qwr.common.policies.Actor` and a state-value
network ``V(s)`` with the observation body of QWR's Q-network (the action gate left out).
"""

from stable_baselines3.common.torch_layers import (
    CombinedExtractor,
    NatureCNN,
)

from sb3_qwr.common.policies import VCritic, WeightedRegressionPolicy


class AWRPolicy(WeightedRegressionPolicy):
    """
    Policy class (actor, value network and target value network) for AWR.

    The actor is QWR's (Gaussian with a fixed std for ``Box``, categorical for ``Discrete``); the critic is a
    :class:`VCritic`. The arguments are those of :class:`~sb3_qwr.common.policies.WeightedRegressionPolicy`, as for QWR, so
    that one ``policy_kwargs`` builds comparable networks for both algorithms (``action_embed_dim`` is the width
    of the value network's layer before its LayerNorm).
    """

    critic: VCritic
    critic_target: VCritic

    critic_class = VCritic


AWRMlpPolicy = AWRPolicy


class AWRCnnPolicy(AWRPolicy):
    """:class:`AWRPolicy` with the Nature CNN as features extractor (as QWR's ``CnnPolicy``)."""

    default_features_extractor_class = NatureCNN


class AWRMultiInputPolicy(AWRPolicy):
    """:class:`AWRPolicy` for ``Dict`` observations (SB3's ``CombinedExtractor``, as QWR's ``MultiInputPolicy``)."""

    default_features_extractor_class = CombinedExtractor


__all__ = ["AWRCnnPolicy", "AWRMlpPolicy", "AWRMultiInputPolicy", "AWRPolicy", "VCritic"]
