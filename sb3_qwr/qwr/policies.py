"""
Policies of QWR: the shared actor and :class:`~sb3_qwr.common.policies.QCritic`, the Q-network with the action
gate ``o * tanh(W a)`` of the paper (Section 4, Appendix 6.1).
"""

from stable_baselines3.common.torch_layers import (
    CombinedExtractor,
    NatureCNN,
)

from sb3_qwr.common.policies import QCritic, WeightedRegressionPolicy


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


__all__ = ["CnnPolicy", "MlpPolicy", "MultiInputPolicy", "QCritic", "QWRPolicy"]
