"""
Advantage Weighted Regression (Peng et al. 2019) in the form of the QWR paper's Algorithm 1, QWR's sibling on
the shared base: the same replay buffer, actor, training loop, TD(lambda) targets and advantage weights.
"""

from typing import Any, ClassVar, TypeVar

import torch as th
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule

from sb3_qwr.awr.policies import AWRCnnPolicy, AWRMlpPolicy, AWRMultiInputPolicy, AWRPolicy, VCritic
from sb3_qwr.common.base_class import ActorLoss, WeightedRegressionAlgorithm
from sb3_qwr.common.buffers import QWRReplayBufferSamples
from sb3_qwr.common.functional import advantage_weights, td_lambda_target
from sb3_qwr.common.utils import flatten_obs

SelfAWR = TypeVar("SelfAWR", bound="AWR")


class AWR(WeightedRegressionAlgorithm):
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
    the advantage estimator: the replay buffer (:class:`~sb3_qwr.QWRReplayBuffer`, whose stored ``mu`` AWR does not need but
    which provides the multi-step sequences), the actor (Gaussian with a fixed std for ``Box``, categorical for
    ``Discrete``), the TD(lambda) targets and the advantage normalization and clip
    (:func:`~sb3_qwr.common.functional.td_lambda_target`, :func:`~sb3_qwr.common.functional.advantage_weights`), the
    ``(1 - gamma)`` output scaling, Adam with ``eps=1e-5`` and the gradient clip. The critic statistics are
    logged under QWR's names (``train/q_mean`` is the mean of ``V``).

    :param policy: The policy model to use (``MlpPolicy``, ``CnnPolicy``, ``MultiInputPolicy``).
    :param env: The environment to learn from (if registered in Gym, can be str).
    :param actor_learning_rate: Actor learning rate; a float or a schedule of the remaining progress
        (from 1 to 0).
    :param critic_learning_rate: Value network learning rate; a float or a schedule. It is also SB3's
        ``learning_rate``.
    :param buffer_size: Size of the replay buffer.
    :param learning_starts: Number of interactions collected (by the actor) before the first training phase.
    :param batch_size: Minibatch size of both the critic and the actor updates.
    :param gamma: Discount factor.
    :param train_freq: Environment interactions collected between training phases (1000 per iteration in the
        QWR paper). With ``n_envs`` environments it counts interactions summed over them. A tuple
        ``(n, "episode")`` is accepted as in SB3.
    :param n_critic_steps: Value network updates per training phase.
    :param n_actor_steps: Actor updates per training phase.
    :param target_update_interval: Value updates between hard copies of the value network into its target.
    :param n_step_horizon: Horizon ``T`` of the multi-step returns.
    :param td_lambda: Lambda of the truncated TD(lambda) combination of the 1..T-step returns.
    :param beta: Temperature of the actor's weights ``exp(A / beta)``.
    :param max_weight: Clip ``w_max`` of the actor's weights (Peng et al. use 20); ``None`` disables it.
    :param max_grad_norm: Clip of the global gradient norm of each update; ``None``: 0.5 for a CNN features
        extractor, 50 otherwise.
    :param replay_buffer_class: A QWR replay buffer class (``QWRReplayBuffer``/``DictQWRReplayBuffer`` or a
        subclass); ``None`` picks one for the observation space.
    :param replay_buffer_kwargs: Keyword arguments of the replay buffer.
    :param policy_kwargs: Additional arguments to be passed to the policy on creation (``net_arch``,
        ``action_std``, ``action_embed_dim``, ...), the same as QWR's.
    :param stats_window_size: Window size for the rollout logging (episodes).
    :param tensorboard_log: The log location for tensorboard (if None, no logging).
    :param verbose: Verbosity level: 0 no output, 1 info, 2 debug.
    :param seed: Seed for the pseudo random generators.
    :param device: Device (cpu, cuda, ...) on which the code should be run ("auto" picks cuda if available).
    :param _init_setup_model: Whether or not to build the network at the creation of the instance.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": AWRMlpPolicy,
        "CnnPolicy": AWRCnnPolicy,
        "MultiInputPolicy": AWRMultiInputPolicy,
    }
    policy: AWRPolicy
    critic: VCritic
    critic_target: VCritic

    def __init__(
        self,
        policy: str | type[AWRPolicy],
        env: GymEnv | str,
        actor_learning_rate: float | Schedule = 1e-4,
        critic_learning_rate: float | Schedule = 5e-4,
        buffer_size: int = 50_000,
        learning_starts: int = 0,
        batch_size: int = 256,
        gamma: float = 0.99,
        train_freq: int | tuple[int, str] = 1000,
        n_critic_steps: int = 1000,
        n_actor_steps: int = 1000,
        target_update_interval: int = 100,
        n_step_horizon: int = 3,
        td_lambda: float = 0.95,
        beta: float = 1.0,
        max_weight: float | None = 20.0,
        max_grad_norm: float | None = None,
        replay_buffer_class: type[ReplayBuffer] | None = None,
        replay_buffer_kwargs: dict[str, Any] | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        _init_setup_model: bool = True,
    ):
        super().__init__(
            policy,
            env,
            actor_learning_rate=actor_learning_rate,
            critic_learning_rate=critic_learning_rate,
            buffer_size=buffer_size,
            learning_starts=learning_starts,
            batch_size=batch_size,
            gamma=gamma,
            train_freq=train_freq,
            n_critic_steps=n_critic_steps,
            n_actor_steps=n_actor_steps,
            target_update_interval=target_update_interval,
            n_step_horizon=n_step_horizon,
            td_lambda=td_lambda,
            beta=beta,
            max_weight=max_weight,
            max_grad_norm=max_grad_norm,
            replay_buffer_class=replay_buffer_class,
            replay_buffer_kwargs=replay_buffer_kwargs,
            policy_kwargs=policy_kwargs,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            verbose=verbose,
            seed=seed,
            device=device,
        )
        if _init_setup_model:
            self._setup_model()

    def td_returns(self, data: QWRReplayBufferSamples, value_net: VCritic) -> th.Tensor:
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
        next_values = value_net(next_obs).reshape(batch, horizon) * self.q_scale
        return td_lambda_target(data.rewards, next_values, data.terminations, data.valid, self.gamma, self.td_lambda)

    def critic_target_values(self, data: QWRReplayBufferSamples) -> th.Tensor:
        """
        The value network's regression target (Algorithm 1, line 8): the TD(lambda) return of the stored
        trajectory bootstrapped with the target network.

        :param data: A batch from the replay buffer's ``sample``.
        :return: ``(B,)`` targets in return units.
        """
        return self.td_returns(data, self.critic_target)

    def sample_actor_batch(self, batch_size: int) -> QWRReplayBufferSamples:
        """
        Transitions with the ``T`` transitions that follow them (for their returns).

        :param batch_size: Minibatch size.
        :return: The batch.
        """
        return self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)

    def actor_loss(self, data: QWRReplayBufferSamples) -> ActorLoss:
        """
        Algorithm 1, lines 10-14: ``-mean(w * log pi(a|s))`` on the buffer's actions,
        ``w = min(exp(A_norm / beta), max_weight)``, ``A = R - V(s)``.

        :param data: A batch of :meth:`sample_actor_batch`.
        :return: The loss and the weights' statistics.
        """
        with th.no_grad():
            returns = self.td_returns(data, self.critic)
            values = self.critic(data.observations).squeeze(-1) * self.q_scale
            weights = advantage_weights(returns - values, self.beta, self.max_weight)
        log_pi = self.actor.log_prob(data.observations, data.actions.unsqueeze(-2)).squeeze(-1)
        return ActorLoss(-(weights * log_pi).mean(), weights.mean(), weights.max())

    def learn(
        self: SelfAWR,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 4,
        tb_log_name: str = "AWR",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfAWR:
        return super().learn(
            total_timesteps=total_timesteps,
            callback=callback,
            log_interval=log_interval,
            tb_log_name=tb_log_name,
            reset_num_timesteps=reset_num_timesteps,
            progress_bar=progress_bar,
        )
