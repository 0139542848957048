"""
Policies of QWR: the shared actor and a Q-network with the action gate ``o * tanh(W a)`` of the paper
(Section 4, Appendix 6.1; reference: ``trax/models/rl.py``).
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

from sb3_qwr.common.functional import logistic_tanh
from sb3_qwr.common.policies import WeightedRegressionPolicy


class QCritic(BaseModel):
    """
    Q-network of QWR: ``Q(s, a) = head(LayerNorm(Linear(body(s)) * tanh(W a)))``.

    The action enters through a multiplicative gate (``W`` is a linear map for ``Box`` actions and an
    embedding for ``Discrete`` actions), then LayerNorm as in the reference code, then ``critic_head_arch``
    ReLU layers and a scalar output. The observation body runs once per state and is broadcast over any number
    of actions (:meth:`embed_obs` + :meth:`q_values`), which is what makes the sampled backups cheap.

    The output is ``(1 - gamma) Q``: the reference code regresses the critic on targets scaled by
    ``(1 - gamma)`` and scales its outputs back by ``1 / (1 - gamma)``; :class:`~sb3_qwr.QWR` does that scaling.

    :param observation_space: Observation space.
    :param action_space: Action space (``Box`` or ``Discrete``).
    :param net_arch: Hidden layers of the observation body after the features extractor.
    :param features_extractor: Network to extract features.
    :param features_dim: Number of features.
    :param activation_fn: Activation function.
    :param action_embed_dim: Width of the gate ``o * tanh(W a)``.
    :param critic_head_arch: Hidden layers after the gate and LayerNorm.
    :param normalize_images: Whether to divide images by 255.
    """

    features_extractor: BaseFeaturesExtractor

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        net_arch: list[int],
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        activation_fn: type[nn.Module] = nn.ReLU,
        action_embed_dim: int = 256,
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
        self.discrete = isinstance(action_space, spaces.Discrete)
        body = create_mlp(features_dim, -1, net_arch, activation_fn)
        body_dim = net_arch[-1] if len(net_arch) > 0 else features_dim
        self.obs_body = nn.Sequential(*body, nn.Linear(body_dim, action_embed_dim))
        if isinstance(action_space, spaces.Discrete):
            self.action_embedding: nn.Module = nn.Embedding(int(action_space.n), action_embed_dim)
        else:
            self.action_embedding = nn.Linear(int(th.tensor(action_space.shape).prod()), action_embed_dim)
        self.norm = nn.LayerNorm(action_embed_dim)
        self.head = nn.Sequential(*create_mlp(action_embed_dim, 1, critic_head_arch, activation_fn))

    def embed_obs(self, obs: PyTorchObs) -> th.Tensor:
        """
        The observation half of the gate, ``Linear(body(s))``, shape ``(B, action_embed_dim)``.

        :param obs: Observations.
        """
        return self.obs_body(self.extract_features(obs, self.features_extractor))

    def q_values(self, obs_embedding: th.Tensor, actions: th.Tensor | None = None) -> th.Tensor:
        """
        Scaled Q-values of ``k`` actions per state from an observation embedding.

        :param obs_embedding: ``(B, E)`` from :meth:`embed_obs`.
        :param actions: ``(B, k, action_dim)`` (``(B, k, 1)`` class indices for Discrete). For Discrete,
            ``None`` evaluates every action.
        :return: ``(B, k)`` (``(B, n)`` for all discrete actions).
        """
        if self.discrete:
            assert isinstance(self.action_embedding, nn.Embedding)
            if actions is None:
                gate = logistic_tanh(self.action_embedding.weight).unsqueeze(0)  # (1, n, E)
            else:
                gate = logistic_tanh(self.action_embedding(actions.long().squeeze(-1)))  # (B, k, E)
        else:
            assert actions is not None, "Box actions must be given to the critic."
            gate = logistic_tanh(self.action_embedding(actions))
        hidden = self.norm(obs_embedding.unsqueeze(-2) * gate)
        return self.head(hidden).squeeze(-1)

    def forward(self, obs: PyTorchObs, actions: th.Tensor) -> th.Tensor:
        """
        Scaled ``Q(s, a)`` of one action per state.

        :param obs: ``B`` observations.
        :param actions: ``(B, action_dim)`` (``(B, 1)`` for Discrete).
        :return: ``(B, 1)``.
        """
        return self.q_values(self.embed_obs(obs), actions.unsqueeze(-2))


class QWRPolicy(WeightedRegressionPolicy):
    """
    Policy class (actor, critic and target critic) for QWR: the critic is a :class:`QCritic`, whose action
    gate ``o * tanh(W a)`` is ``action_embed_dim`` wide. The arguments are those of
    :class:`~sb3_qwr.common.policies.WeightedRegressionPolicy`.
    """

    critic: QCritic
    critic_target: QCritic

    def make_critic(self, features_extractor: BaseFeaturesExtractor | None = None) -> QCritic:
        critic_kwargs = self._update_features_extractor(self.critic_kwargs, features_extractor)
        return QCritic(**critic_kwargs).to(self.device)


MlpPolicy = QWRPolicy


class CnnPolicy(QWRPolicy):
    """
    QWR policy with the Nature CNN (Mnih et al. 2015) as the features extractor of actor and critic.

    Parameters as in :class:`QWRPolicy`; ``features_extractor_class`` defaults to ``NatureCNN`` and ``net_arch`` to
    ``[]`` after it.
    """

    default_features_extractor_class = NatureCNN


class MultiInputPolicy(QWRPolicy):
    """
    QWR policy for ``Dict`` observations (SB3's ``CombinedExtractor``).

    Parameters as in :class:`QWRPolicy`; ``features_extractor_class`` defaults to ``CombinedExtractor``.
    """

    default_features_extractor_class = CombinedExtractor
