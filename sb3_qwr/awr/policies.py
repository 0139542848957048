"""
Policies of AWR (Peng et al. 2019): the shared :class:`~sb3_qwr.common.policies.Actor` and a state-value
network ``V(s)`` with the observation body of QWR's Q-network (the action gate left out).
"""

import torch as th
from stable_baselines3.common.torch_layers import (
    CombinedExtractor,
    NatureCNN,
)
from stable_baselines3.common.type_aliases import PyTorchObs

from sb3_qwr.common.policies import CriticNetwork, WeightedRegressionPolicy


class VCritic(CriticNetwork):
    """
    State-value network of AWR: ``V(s) = head(LayerNorm(Linear(body(s))))``.

    It is :class:`~sb3_qwr.qwr.policies.QCritic` without the action gate ``* tanh(W a)`` (the same
    :class:`~sb3_qwr.common.policies.CriticNetwork`, whose parameters it takes), so that AWR and QWR compare
    critics of the same size. Like ``QCritic`` the output is ``(1 - gamma) V`` (:class:`~sb3_qwr.AWR` scales it
    back).
    """

    def forward(self, obs: PyTorchObs, actions: th.Tensor | None = None) -> th.Tensor:
        """
        Scaled ``V(s)``.

        :param obs: ``B`` observations.
        :param actions: Ignored. Accepted so that the value network can stand where QWR's training loop calls
            ``critic(observations, actions)``.
        :return: ``(B, 1)``.
        """
        return self.head_output(self.norm(self.embed_obs(obs)))


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
