"""
Advantage Weighted Regression (Peng et al. 2019) in the form of the QWR paper's Algorithm 1, QWR's sibling on
the shared base: the same replay buffer, actor, training loop, TD(lambda) targets and advantage weights.
"""

from collections.abc import Iterator
from typing import ClassVar, TypeVar

import torch as th
from stable_baselines3.common.policies import BasePolicy

from sb3_qwr.awr.policies import AWRCnnPolicy, AWRMlpPolicy, AWRMultiInputPolicy, AWRPolicy, VCritic
from sb3_qwr.common.base_class import WeightedRegressionAlgorithm
from sb3_qwr.common.buffers import flatten_obs
from sb3_qwr.common.functional import advantage_weights, td_lambda_target
from sb3_qwr.common.type_aliases import ActorLoss, SequenceSamples
from sb3_qwr.offline.training import OfflineTrainingMixin

SelfAWR = TypeVar("SelfAWR", bound="AWR")


class AWR(OfflineTrainingMixin, WeightedRegressionAlgorithm):
    """
    Advantage Weighted Regression (AWR), Peng, Kumar, Zhang, Levine (2019), https://arxiv.org/abs/1910.00177,
    as written in Algorithm 1 of the QWR paper (Kozakowski et al. 2021), the baseline of its Figure 1.

    Every ``train_freq`` interactions, ``n_critic_steps`` value updates and then ``n_actor_steps`` actor
    updates on batches drawn from the replay buffer:

    * critic: a state-value network ``V(s)`` regressed on the return ``R`` of the stored trajectory, the
      truncated TD(lambda) combination of its 1..T-step returns (``T = n_step_horizon``) bootstrapped with a
      target copy of ``V`` (hard copy every ``target_update_interval`` updates);
    * actor: regression on the buffer's own actions, weighted by ``min(exp(A_norm / beta), max_weight)`` with
      ``A = R - V(s)``, the return bootstrapped with the current ``V`` (as Peng et al. recompute the
      returns with the value function just trained).

    Everything else is shared with :class:`~sb3_qwr.QWR` through their base
    :class:`~sb3_qwr.common.base_class.WeightedRegressionAlgorithm`, so that the two algorithms differ only in
    the advantage estimator: the replay buffer (:class:`~sb3_qwr.WeightedRegressionReplayBuffer`, whose stored ``mu`` AWR does
    not need but which provides the multi-step sequences), the actor (Gaussian with a fixed std for ``Box``, categorical for
    ``Discrete``), the TD(lambda) targets and the advantage normalization and clip
    (:func:`~sb3_qwr.common.functional.td_lambda_target`, :func:`~sb3_qwr.common.functional.advantage_weights`), the
    ``(1 - gamma)`` output scaling, Adam with ``eps=1e-5`` and the gradient clip. The critic's mean is logged as
    ``train/v_mean`` (QWR's as ``train/q_mean``).

    The constructor's arguments are those of the base (:class:`~sb3_qwr.common.base_class.WeightedRegressionAlgorithm`,
    whose defaults are the QWR paper's Table 4 values): QWR's without ``n_action_samples`` and the backup's,
    which have no meaning for a state-value critic. ``max_weight`` is Peng et al.'s 20.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": AWRMlpPolicy,
        "CnnPolicy": AWRCnnPolicy,
        "MultiInputPolicy": AWRMultiInputPolicy,
    }
    policy_base = AWRPolicy
    _critic_value_name = "v"
    policy: AWRPolicy
    critic: VCritic
    critic_target: VCritic

    def td_returns(self, data: SequenceSamples, value_net: VCritic) -> th.Tensor:
        """
        The return ``R`` of each sampled transition: the truncated TD(lambda) combination of the 1..T-step
        returns of its stored trajectory, bootstrapped with ``value_net`` at the next observations.

        :param data: A batch from the replay buffer's ``sample``.
        :param value_net: The value network of the bootstraps (the target network for the critic, the current
            one for the actor).
        :return: ``(B,)`` returns.
        """
        batch, horizon = data.rewards.shape
        next_obs = flatten_obs(data.next_observations, batch * horizon)
        next_values = value_net(next_obs).float().reshape(batch, horizon) * self.q_scale
        return td_lambda_target(data.rewards, next_values, data.terminations, data.valid, self.gamma, self.td_lambda)

    def td_targets(self, data: SequenceSamples) -> th.Tensor:
        """
        The value network's regression target (Algorithm 1, line 8): the TD(lambda) return of the stored
        trajectory bootstrapped with the target network.

        :param data: A batch from the replay buffer's ``sample``.
        :return: ``(B,)`` targets in return units.
        """
        return self.td_returns(data, self.critic_target)

    def sample_actor_batches(self, n_batches: int, batch_size: int) -> Iterator[SequenceSamples]:
        """
        Transitions with the ``T`` transitions that follow them (for their returns).

        :param n_batches: Number of batches.
        :param batch_size: Minibatch size.
        :return: The batches.
        """
        return self.replay_buffer.sample_batches(n_batches, batch_size, env=self._vec_normalize_env)

    def actor_loss(self, data: SequenceSamples) -> ActorLoss:
        """
        Algorithm 1, lines 10-14: ``-mean(w * log pi(a|s))`` on the buffer's actions,
        ``w = min(exp(A_norm / beta), max_weight)``, ``A = R - V(s)``.

        :param data: A batch of :meth:`sample_actor_batches`.
        :return: The loss and the weights' statistics.
        """
        with th.no_grad(), th.autocast(self.device.type, th.bfloat16, enabled=self._bf16_eval):
            returns = self.td_returns(data, self.critic)
            values = self.critic(data.observations).float().squeeze(-1) * self.q_scale
            weights = advantage_weights(returns - values, self.beta, self.max_weight)
        log_pi = self.actor.log_prob(data.observations, data.actions.unsqueeze(-2)).squeeze(-1)
        return ActorLoss(-(weights * log_pi).mean(), weights, weights.max())
