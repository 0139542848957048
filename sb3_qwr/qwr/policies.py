"""
Policies of QWR: the shared actor and a Q-network with the action gate ``o * tanh(W a)`` of the paper
(Section 4, Appendix 6.1; reference: ``trax/models/rl.py``).
"""

import torch as th
from gymnasium import spaces
from stable_baselines3.common.torch_layers import (
    CombinedExtractor,
    NatureCNN,
)
from stable_baselines3.common.type_aliases import PyTorchObs
from torch import nn
from torch.nn import functional as F

from sb3_qwr.common.functional import tanh_gate
from sb3_qwr.common.policies import CriticNetwork, WeightedRegressionPolicy


class QCritic(CriticNetwork):
    """
    Q-network of QWR: ``Q(s, a) = head(LayerNorm(Linear(body(s)) * tanh(W a)))``.

    The action enters through a multiplicative gate (``W`` is a linear map for ``Box`` actions and an
    embedding for ``Discrete`` actions), then LayerNorm as in the reference code, then ``critic_head_arch``
    ReLU layers and a scalar output. The observation body runs once per state and is broadcast over any number
    of actions (:meth:`embed_obs` + :meth:`q_values`), which is what makes the sampled backups cheap. The output
    is ``(1 - gamma) Q`` (:class:`~sb3_qwr.QWR` scales it back). Parameters as in
    :class:`~sb3_qwr.common.policies.CriticNetwork`, ``embed_dim`` being the width of the gate.
    """

    def build_action_gate(self, action_space: spaces.Space, embed_dim: int) -> None:
        self.discrete = isinstance(action_space, spaces.Discrete)
        if isinstance(action_space, spaces.Discrete):
            self.action_embedding: nn.Module = nn.Embedding(int(action_space.n), embed_dim)
        else:
            self.action_embedding = nn.Linear(int(th.tensor(action_space.shape).prod()), embed_dim)

    def q_values(self, obs_embedding: th.Tensor, actions: th.Tensor | None = None) -> th.Tensor:
        """
        Scaled Q-values of ``k`` actions per state from an observation embedding.

        :param obs_embedding: ``(B, E)`` from :meth:`embed_obs`.
        :param actions: ``(B, k, action_dim)`` (``(B, k, 1)`` class indices for Discrete). For Discrete,
            ``None`` evaluates every action.
        :return: ``(B, k)`` (``(B, n)`` for all discrete actions).
        """
        return self.head_output(self.gated_features(obs_embedding, actions)).squeeze(-1)

    def gated_features(self, obs_embedding: th.Tensor, actions: th.Tensor | None = None) -> th.Tensor:
        """
        What the head reads: ``LayerNorm(o * tanh(W a))`` for ``k`` actions per state.

        :param obs_embedding: ``(B, E)`` from :meth:`embed_obs`.
        :param actions: As in :meth:`q_values`.
        :return: ``(B, k, E)`` (``(B, n, E)`` for all discrete actions).
        """
        # ``2 z`` of the gate ``tanh(z)``, the doubling folded into the (small) weights: see ``tanh_gate``
        if self.discrete:
            assert isinstance(self.action_embedding, nn.Embedding)
            if actions is None:
                doubled = 2.0 * self.action_embedding.weight.unsqueeze(0)  # (1, n, E)
            else:
                doubled = 2.0 * self.action_embedding(actions.long().squeeze(-1))  # (B, k, E)
        else:
            assert actions is not None, "Box actions must be given to the critic."
            assert isinstance(self.action_embedding, nn.Linear)
            doubled = F.linear(actions, 2.0 * self.action_embedding.weight, 2.0 * self.action_embedding.bias)
        return self.norm(tanh_gate(obs_embedding.unsqueeze(-2), doubled))

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

    critic_class = QCritic


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
