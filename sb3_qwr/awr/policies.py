"""
Policies of AWR (Peng et al. 2019): the shared :class:`~sb3_qwr.common.policies.Actor` and a state-value
network ``V(s)`` with the observation body of QWR's Q-network (the action gate left out).
"""

import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import BaseModel
from stable_baselines3.common.torch_layers import (
    BaseFeaturesExtractor,
    CombinedExtractor,
    NatureCNN,
    create_mlp,
)
from stable_baselines3.common.type_aliases import PyTorchObs
from torch import nn

from sb3_qwr.common.policies import WeightedRegressionPolicy


class VCritic(BaseModel):
    """
    State-value network of AWR: ``V(s) = head(LayerNorm(Linear(body(s))))``.

    It is :class:`~sb3_qwr.qwr.policies.QCritic` without the action gate ``* tanh(W a)``: the same observation body,
    ``Linear`` to ``embed_dim``, LayerNorm, ``critic_head_arch`` ReLU layers and a scalar output, so that AWR and
    QWR compare critics of the same size. Like ``QCritic`` the output is ``(1 - gamma) V``
    (:class:`~sb3_qwr.AWR` scales it back).

    :param observation_space: Observation space.
    :param action_space: Action space (unused by the network; kept for SB3's ``BaseModel``).
    :param net_arch: Hidden layers of the observation body after the features extractor.
    :param features_extractor: Network to extract features.
    :param features_dim: Number of features.
    :param activation_fn: Activation function.
    :param embed_dim: Width of the linear layer before the LayerNorm (QWR's ``action_embed_dim``).
    :param critic_head_arch: Hidden layers after the LayerNorm.
    :param normalize_images: Whether to divide images by 255.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        net_arch: list[int],
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        activation_fn: type[nn.Module] = nn.ReLU,
        embed_dim: int = 256,
        critic_head_arch: list[int] | None = None,
        normalize_images: bool = True,
    ):
        super().__init__(
            observation_space,
            action_space,
            features_extractor=features_extractor,
            normalize_images=normalize_images,
        )
        critic_head_arch = [256] if critic_head_arch is None else critic_head_arch
        body = create_mlp(features_dim, -1, net_arch, activation_fn)
        body_dim = net_arch[-1] if len(net_arch) > 0 else features_dim
        self.obs_body = nn.Sequential(*body, nn.Linear(body_dim, embed_dim))
        self.norm = nn.LayerNorm(embed_dim)
        self.head = nn.Sequential(*create_mlp(embed_dim, 1, critic_head_arch, activation_fn))

    def forward(self, obs: PyTorchObs, actions: th.Tensor | None = None) -> th.Tensor:
        """
        Scaled ``V(s)``.

        :param obs: ``B`` observations.
        :param actions: Ignored. Accepted so that the value network can stand where QWR's training loop calls
            ``critic(observations, actions)``.
        :return: ``(B, 1)``.
        """
        assert self.features_extractor is not None
        features = self.extract_features(obs, self.features_extractor)
        return self.head(self.norm(self.obs_body(features)))


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

    def make_critic(self, features_extractor: BaseFeaturesExtractor | None = None) -> VCritic:
        critic_kwargs = self._update_features_extractor(self.critic_kwargs, features_extractor)
        critic_kwargs["embed_dim"] = critic_kwargs.pop("action_embed_dim")
        return VCritic(**critic_kwargs).to(self.device)


AWRMlpPolicy = AWRPolicy


class AWRCnnPolicy(AWRPolicy):
    """:class:`AWRPolicy` with the Nature CNN as features extractor (as QWR's ``CnnPolicy``)."""

    default_features_extractor_class = NatureCNN


class AWRMultiInputPolicy(AWRPolicy):
    """:class:`AWRPolicy` for ``Dict`` observations (SB3's ``CombinedExtractor``, as QWR's ``MultiInputPolicy``)."""

    default_features_extractor_class = CombinedExtractor


__all__ = ["AWRCnnPolicy", "AWRMlpPolicy", "AWRMultiInputPolicy", "AWRPolicy", "VCritic"]
