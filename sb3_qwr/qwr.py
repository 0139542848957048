"""Q-Value Weighted Regression (Kozakowski et al. 2021) as a Stable-Baselines3 off-policy algorithm."""

from collections import defaultdict
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.torch_layers import NatureCNN
from stable_baselines3.common.type_aliases import (
    GymEnv,
    MaybeCallback,
    PyTorchObs,
    RolloutReturn,
    Schedule,
    TrainFreq,
    TrainFrequencyUnit,
)
from stable_baselines3.common.utils import FloatSchedule, update_learning_rate
from stable_baselines3.common.vec_env import VecEnv
from torch.nn import functional as F

from sb3_qwr.buffers import DictQWRReplayBuffer, QWRReplayBuffer, QWRReplayBufferSamples, _QWRBufferMixin
from sb3_qwr.distributions import CategoricalLogits
from sb3_qwr.functional import BACKUP_KINDS, SCALE_KINDS, advantage_weights, backup, td_lambda_target
from sb3_qwr.offline import OfflineDataset, load_dataset_into, train_offline
from sb3_qwr.policies import Actor, CnnPolicy, MlpPolicy, MultiInputPolicy, QCritic, QWRPolicy

SelfQWR = TypeVar("SelfQWR", bound="QWR")


def check_qwr_hyperparameters(**params: Any) -> None:
    """
    Raise a ``ValueError`` naming the first out-of-range QWR hyperparameter (and how to fix it).

    :param params: Hyperparameters by constructor name.
    """
    positive_ints = ("n_action_samples", "n_step_horizon", "n_critic_steps", "n_actor_steps", "target_update_interval")
    for name in positive_ints:
        if name in params and (not isinstance(params[name], (int, np.integer)) or params[name] < 1):
            raise ValueError(f"`{name}` must be an integer >= 1, got {params[name]!r}.")
    if params.get("beta", 1.0) <= 0:
        raise ValueError(f"`beta` (the actor's temperature) must be > 0, got {params['beta']}.")
    if params.get("backup_temperature", 1.0) <= 0:
        raise ValueError(
            f"`backup_temperature` (tau of the log-sum-exp backup) must be > 0, got {params['backup_temperature']}."
        )
    if params.get("backup", "lse") not in BACKUP_KINDS:
        raise ValueError(f"Unknown `backup` {params['backup']!r}: use one of {BACKUP_KINDS}.")
    if params.get("backup_scale", "mad") not in (*SCALE_KINDS, None):
        raise ValueError(f"Unknown `backup_scale` {params['backup_scale']!r}: use one of {SCALE_KINDS} or None.")
    if not 0.0 <= params.get("td_lambda", 0.0) <= 1.0:
        raise ValueError(f"`td_lambda` must be in [0, 1], got {params['td_lambda']}.")
    if not 0.0 <= params.get("gamma", 0.0) < 1.0:
        raise ValueError(f"`gamma` must be in [0, 1), got {params['gamma']}.")
    if params.get("max_weight") is not None and params["max_weight"] <= 0:
        raise ValueError(f"`max_weight` must be > 0 or None (no clip), got {params['max_weight']}.")
    if params.get("max_grad_norm") is not None and params["max_grad_norm"] <= 0:
        raise ValueError(f"`max_grad_norm` must be > 0 or None (automatic), got {params['max_grad_norm']}.")
    if "batch_size" in params and params["batch_size"] < 1:
        raise ValueError(f"`batch_size` must be >= 1, got {params['batch_size']}.")
    if "batch_size" in params and "buffer_size" in params and params["batch_size"] > params["buffer_size"]:
        raise ValueError(
            f"`batch_size` ({params['batch_size']}) is larger than `buffer_size` ({params['buffer_size']}): "
            "lower the batch size or enlarge the replay buffer."
        )


def check_qwr_action_space(action_space: spaces.Space) -> None:
    """
    Raise a ``ValueError`` unless QWR supports ``action_space`` (``Box`` with finite bounds, ``Discrete``).

    :param action_space: The environment's action space.
    """
    if isinstance(action_space, spaces.Discrete):
        return
    if isinstance(action_space, spaces.Box):
        if not (np.all(np.isfinite(action_space.low)) and np.all(np.isfinite(action_space.high))):
            raise ValueError(
                "QWR needs a Box action space with finite bounds (its Gaussian lives in [-1, 1] rescaled to "
                f"[low, high]), got {action_space}: clip the actions with a wrapper such as gymnasium's ClipAction."
            )
        return
    raise ValueError(
        f"QWR supports Box and Discrete action spaces, not {action_space}. "
        "For MultiDiscrete or MultiBinary actions, flatten them into one Discrete space with a wrapper, "
        "or use an algorithm that supports them (e.g. PPO)."
    )


class QWR(OffPolicyAlgorithm):
    """
    Q-Value Weighted Regression (QWR), Kozakowski, Kaiser, Michalewski, Mohiuddin, Kanska (2021),
    https://arxiv.org/abs/2102.06782 (Algorithm 2).

    Every ``train_freq`` interactions, ``n_critic_steps`` critic updates and then ``n_actor_steps`` actor updates
    on batches drawn from the replay buffer:

    * critic: Q-learning towards a truncated TD(lambda) combination of 1..T-step targets whose bootstrap is the
      backup ``F`` over ``n_action_samples`` actions sampled from the *stored* sampling policy ``mu(.|s')``
      and evaluated by a target network (hard copy every ``target_update_interval`` critic steps);
    * actor: regression on ``n_action_samples`` actions sampled from ``mu(.|s)``, weighted by
      ``min(exp(A_norm / beta), max_weight)`` with ``A = Q(s, a_j) - mean_j Q(s, a_j)``.

    For ``Discrete`` actions the expectations over ``mu`` are exact (Section 4.1): every action is evaluated
    and weighted by ``mu(a|s)``; ``n_action_samples`` is then unused.

    Choices not fixed by the paper, taken from the authors' reference code (trax ``SamplingAWR``) unless said:
    the scale ``s(X)`` of the log-sum-exp backup is one scalar over the batch (plus 1e-6); the recursive
    lambda-return puts the weight left over by Eq. 13 on the T-step target; the critic regresses
    ``(1 - gamma) Q``; Adam with ``eps=1e-5``; weights clipped at ``max_weight``; gradient norm clipped at 50
    (MLP) or 0.5 (CNN). Unlike the reference code, a time-limit truncation bootstraps from the final
    observation (SB3's ``handle_timeout_termination``). A next state with no stored ``mu`` (the final
    observation of an episode, or a step not yet written) uses the current actor's distribution. All
    environment steps, warm-up included, are taken by the actor (never uniformly at random), so every stored
    transition has a ``mu`` of the actor's family; SB3's ``action_noise`` is not supported for that reason.
    The reference code also normalizes MuJoCo observations with running statistics (a ``Normalize`` layer in
    front of both networks); here that is the environment's job, as everywhere in SB3: wrap it in
    ``VecNormalize(env, norm_reward=False)``, which the shipped Zoo hyperparameters do for the MuJoCo tasks.
    The reference code starts the policy head's weights uniform in ``[-0.01, 0.01]``; here that is
    ``policy_kwargs=dict(head_init_range=0.01)``, off by default (PyTorch's initialization).

    :param policy: The policy model to use (``MlpPolicy``, ``CnnPolicy``, ``MultiInputPolicy``).
    :param env: The environment to learn from (if registered in Gym, can be str).
    :param actor_learning_rate: Actor learning rate (``alpha_pi``, Table 4: 1e-4); a float or a schedule of
        the remaining progress (from 1 to 0).
    :param critic_learning_rate: Critic learning rate (``alpha_V``, Table 4: 5e-4); a float or a schedule.
        It is also SB3's ``learning_rate``.
    :param buffer_size: Size of the replay buffer (Table 4: 50K interactions).
    :param learning_starts: Number of interactions collected (by the actor) before the first training phase.
    :param batch_size: Minibatch size of both the critic and the actor updates (Table 4: 256).
    :param gamma: Discount factor.
    :param train_freq: Environment interactions collected between training phases (the paper's 1000 per
        iteration). With ``n_envs`` environments it counts interactions summed over them. A tuple
        ``(n, "episode")`` is accepted as in SB3.
    :param n_critic_steps: Critic updates per training phase (Table 4: 1000).
    :param n_actor_steps: Actor updates per training phase (Table 4: 1000).
    :param target_update_interval: Critic updates between hard copies of the critic into the target network
        (the paper's "update frequency", Table 4: 100).
    :param n_action_samples: Number ``k`` of actions sampled from ``mu`` for the backup and for the actor
        (Table 4: 4).
    :param n_step_horizon: Horizon ``T`` of the multi-step targets (the paper's "margin", Table 4: 3).
    :param td_lambda: Lambda of the truncated TD(lambda) combination of the 1..T-step targets (0.95).
    :param beta: Temperature of the actor's weights ``exp(A / beta)`` (Table 4: 1).
    :param max_weight: Clip ``w_max`` of the actor's weights (reference code: 20); ``None`` disables it.
    :param backup: Backup operator ``F``: ``"lse"`` (QWR-LSE, default), ``"max"`` (QWR-MAX) or
        ``"mean"`` (QWR-AVG).
    :param backup_temperature: Temperature ``tau`` of the log-sum-exp backup (0.3 for 100K, 1.0 for 1M).
    :param backup_scale: Scale ``s(X)`` of the log-sum-exp backup: ``"mad"`` (mean absolute deviation, 100K),
        ``"std"`` (1M) or ``None`` (no normalization).
    :param max_grad_norm: Clip of the global gradient norm of each update; ``None`` uses the reference code's
        values: 0.5 for a CNN features extractor, 50 otherwise.
    :param replay_buffer_class: A QWR replay buffer class (``QWRReplayBuffer``/``DictQWRReplayBuffer`` or a
        subclass); ``None`` picks one for the observation space.
    :param replay_buffer_kwargs: Keyword arguments of the replay buffer.
    :param policy_kwargs: Additional arguments to be passed to the policy on creation (``net_arch``,
        ``action_std``, ``action_embed_dim``, ...).
    :param stats_window_size: Window size for the rollout logging (episodes).
    :param tensorboard_log: The log location for tensorboard (if None, no logging).
    :param verbose: Verbosity level: 0 no output, 1 info, 2 debug.
    :param seed: Seed for the pseudo random generators.
    :param device: Device (cpu, cuda, ...) on which the code should be run ("auto" picks cuda if available).
    :param _init_setup_model: Whether or not to build the network at the creation of the instance.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": MlpPolicy,
        "CnnPolicy": CnnPolicy,
        "MultiInputPolicy": MultiInputPolicy,
    }
    policy: QWRPolicy
    actor: Actor
    critic: QCritic
    critic_target: QCritic
    replay_buffer: QWRReplayBuffer | DictQWRReplayBuffer  # type: ignore[assignment]

    def __init__(
        self,
        policy: str | type[QWRPolicy],
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
        n_action_samples: int = 4,
        n_step_horizon: int = 3,
        td_lambda: float = 0.95,
        beta: float = 1.0,
        max_weight: float | None = 20.0,
        backup: str = "lse",
        backup_temperature: float = 0.3,
        backup_scale: str | None = "mad",
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
        check_qwr_hyperparameters(
            n_action_samples=n_action_samples,
            n_step_horizon=n_step_horizon,
            n_critic_steps=n_critic_steps,
            n_actor_steps=n_actor_steps,
            target_update_interval=target_update_interval,
            beta=beta,
            backup=backup,
            backup_temperature=backup_temperature,
            backup_scale=backup_scale,
            td_lambda=td_lambda,
            gamma=gamma,
            max_weight=max_weight,
            max_grad_norm=max_grad_norm,
            batch_size=batch_size,
            buffer_size=buffer_size,
        )
        if replay_buffer_class is not None and not issubclass(replay_buffer_class, _QWRBufferMixin):
            raise ValueError(
                f"QWR needs a replay buffer that stores the sampling distribution, got {replay_buffer_class.__name__}: "
                "leave `replay_buffer_class=None` or pass a subclass of QWRReplayBuffer / DictQWRReplayBuffer."
            )
        if env is not None and not isinstance(env, str):
            check_qwr_action_space(env.action_space)  # before SB3's own (less helpful) assertions
        super().__init__(
            policy,
            env,
            critic_learning_rate,
            buffer_size,
            learning_starts,
            batch_size,
            tau=1.0,
            gamma=gamma,
            train_freq=train_freq,
            gradient_steps=1,
            replay_buffer_class=replay_buffer_class,
            replay_buffer_kwargs=replay_buffer_kwargs,
            policy_kwargs=policy_kwargs,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            verbose=verbose,
            device=device,
            seed=seed,
            sde_support=False,
            support_multi_env=True,
        )
        if env is not None:
            check_qwr_action_space(self.action_space)

        self.actor_learning_rate = actor_learning_rate
        self.critic_learning_rate = critic_learning_rate
        self.n_critic_steps = n_critic_steps
        self.n_actor_steps = n_actor_steps
        self.target_update_interval = target_update_interval
        self.n_action_samples = n_action_samples
        self.n_step_horizon = n_step_horizon
        self.td_lambda = td_lambda
        self.beta = beta
        self.max_weight = max_weight
        self.backup = backup
        self.backup_temperature = backup_temperature
        self.backup_scale = backup_scale
        self.max_grad_norm = max_grad_norm

        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        check_qwr_action_space(self.action_space)
        if self.replay_buffer_class is None:
            dict_obs = isinstance(self.observation_space, spaces.Dict)
            self.replay_buffer_class = DictQWRReplayBuffer if dict_obs else QWRReplayBuffer
        self.replay_buffer_kwargs["n_steps"] = self.n_step_horizon
        super()._setup_model()
        self._create_aliases()
        self.actor_lr_schedule = FloatSchedule(self.actor_learning_rate)
        self.critic_lr_schedule = FloatSchedule(self.critic_learning_rate)
        if self.max_grad_norm is None:
            cnn = issubclass(self.policy.features_extractor_class, NatureCNN)
            self._max_grad_norm = 0.5 if cnn else 50.0
        else:
            self._max_grad_norm = float(self.max_grad_norm)
        # The critic regresses (1 - gamma) Q: q_scale maps its outputs back to returns.
        self.q_scale = 1.0 / (1.0 - self.gamma)
        self._last_dist_params: np.ndarray | None = None

    def _create_aliases(self) -> None:
        self.actor = self.policy.actor
        self.critic = self.policy.critic
        self.critic_target = self.policy.critic_target

    # Collection
    def _sample_action(
        self,
        learning_starts: int,
        action_noise: Any = None,
        n_envs: int = 1,
    ) -> tuple[np.ndarray, np.ndarray]:
        """
        Sample each env's action from the actor's distribution and keep that distribution for the buffer.

        Unlike SB3's default, warm-up steps (before ``learning_starts``) are taken by the actor too: a uniform
        action would have no ``mu`` of the actor's family to store.

        :return: The action for the environment (clipped and rescaled to its bounds for ``Box``) and the action
            for the buffer (the unclipped sample in ``[-1, 1]`` units).
        """
        assert self._last_obs is not None, "self._last_obs was not set"
        obs_tensor, _ = self.policy.obs_to_tensor(self._last_obs)
        with th.no_grad():
            params = self.actor.dist_params(obs_tensor)
            sampled = self.actor.distribution.sample(params, 1).squeeze(-2)
        self._last_dist_params = params.cpu().numpy()
        sampled_np = sampled.cpu().numpy()
        if isinstance(self.action_space, spaces.Box):
            buffer_action = sampled_np.reshape((n_envs, *self.action_space.shape))
            action = self.policy.unscale_action(np.clip(buffer_action, -1.0, 1.0))
            return action, buffer_action
        buffer_action = sampled_np.reshape(n_envs).astype(np.int64)
        return buffer_action, buffer_action

    def _store_transition(
        self,
        replay_buffer: ReplayBuffer,
        buffer_action: np.ndarray,
        new_obs: np.ndarray | dict[str, np.ndarray],
        reward: np.ndarray,
        dones: np.ndarray,
        infos: list[dict[str, Any]],
    ) -> None:
        assert isinstance(replay_buffer, _QWRBufferMixin) and self._last_dist_params is not None
        replay_buffer.stage_dist_params(self._last_dist_params)
        super()._store_transition(replay_buffer, buffer_action, new_obs, reward, dones, infos)

    def collect_rollouts(
        self,
        env: VecEnv,
        callback: BaseCallback,
        train_freq: TrainFreq,
        replay_buffer: ReplayBuffer,
        action_noise: Any = None,
        learning_starts: int = 0,
        log_interval: int | None = None,
    ) -> RolloutReturn:
        """
        As SB3's, except that ``train_freq`` in steps counts interactions summed over the ``n_envs``
        environments (the paper's 1000 interactions per iteration), not steps of the vectorized environment.
        """
        if action_noise is not None:
            raise ValueError("QWR does not support action_noise: its exploration is the actor's own Gaussian.")
        if train_freq.unit == TrainFrequencyUnit.STEP and env.num_envs > 1:
            train_freq = TrainFreq(max(1, -(-train_freq.frequency // env.num_envs)), TrainFrequencyUnit.STEP)
        return super().collect_rollouts(env, callback, train_freq, replay_buffer, None, learning_starts, log_interval)

    def _setup_learn(
        self,
        total_timesteps: int,
        callback: MaybeCallback = None,
        reset_num_timesteps: bool = True,
        tb_log_name: str = "run",
        progress_bar: bool = False,
    ) -> tuple[int, BaseCallback]:
        # The env is about to be reset: close the open episode in the buffer so that no multi-step
        # sequence runs from it into the next one.
        if (reset_num_timesteps or self._last_obs is None) and self.replay_buffer is not None:
            assert isinstance(self.replay_buffer, _QWRBufferMixin)
            self.replay_buffer.truncate_last_trajectory()
        return super()._setup_learn(total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar)

    # Training
    def train(self, gradient_steps: int, batch_size: int = 256) -> None:
        """
        Run ``gradient_steps`` QWR training phases, each ``n_critic_steps`` critic updates then
        ``n_actor_steps`` actor updates (Algorithm 2, lines 6-22). ``learn`` calls it once per iteration.

        :param gradient_steps: Number of training phases (1 per iteration in ``learn``).
        :param batch_size: Minibatch size.
        """
        self.policy.set_training_mode(True)
        update_learning_rate(self.critic.optimizer, self.critic_lr_schedule(self._current_progress_remaining))
        update_learning_rate(self.actor.optimizer, self.actor_lr_schedule(self._current_progress_remaining))
        stats: dict[str, list[th.Tensor]] = defaultdict(list)
        for _ in range(gradient_steps):
            self._train_critic(batch_size, stats)
            self._train_actor(batch_size, stats)
        self._n_updates += gradient_steps * (self.n_critic_steps + self.n_actor_steps)
        self.policy.set_training_mode(False)
        self._log_training_stats(stats)

    def _train_critic(self, batch_size: int, stats: dict[str, list[th.Tensor]]) -> None:
        for step in range(self.n_critic_steps):
            if step % self.target_update_interval == 0:
                self.critic_target.load_state_dict(self.critic.state_dict())
            data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)
            with th.no_grad():
                target = self.critic_target_values(data)
            q_scaled = self.critic(data.observations, data.actions).squeeze(-1)
            loss = F.mse_loss(q_scaled, target / self.q_scale)
            self.critic.optimizer.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(self.critic.parameters(), self._max_grad_norm)
            self.critic.optimizer.step()
            stats["critic_loss"].append(loss.detach())
            stats["q_mean"].append(q_scaled.detach().mean() * self.q_scale)
            stats["target"].append(target)

    def critic_target_values(self, data: QWRReplayBufferSamples) -> th.Tensor:
        """
        The critic's regression target for a batch: the TD(lambda) combination of 1..T-step targets whose
        bootstraps are the backup ``F`` of the target network at the next states (Appendix 6.4).

        :param data: A batch from the replay buffer's ``sample``.
        :return: ``(B,)`` targets in return units.
        """
        batch, horizon = data.rewards.shape
        next_obs = _flatten_obs(data.next_observations, batch * horizon)
        params = data.next_dist_params.reshape(batch * horizon, -1)
        if data.missing_next_dist_params.numel() > 0:
            missing = data.missing_next_dist_params
            params = params.index_copy(0, missing, self.actor.dist_params(_index_obs(next_obs, missing)))
        embedding = self.critic_target.embed_obs(next_obs)
        distribution = self.actor.distribution
        if isinstance(distribution, CategoricalLogits):
            weights: th.Tensor | None = distribution.probs(params)
            q_values = self.critic_target.q_values(embedding) * self.q_scale
        else:
            weights = None
            actions = distribution.sample(params, self.n_action_samples)
            q_values = self.critic_target.q_values(embedding, actions) * self.q_scale
        next_values = backup(
            q_values,
            weights,
            kind=self.backup,
            temperature=self.backup_temperature,
            scale=self.backup_scale,
            scale_mask=data.valid.reshape(-1),
        ).reshape(batch, horizon)
        return td_lambda_target(data.rewards, next_values, data.terminations, data.valid, self.gamma, self.td_lambda)

    def _train_actor(self, batch_size: int, stats: dict[str, list[th.Tensor]]) -> None:
        distribution = self.actor.distribution
        for _ in range(self.n_actor_steps):
            data = self.replay_buffer.sample_states(batch_size, env=self._vec_normalize_env)
            with th.no_grad():
                embedding = self.critic.embed_obs(data.observations)
                if isinstance(distribution, CategoricalLogits):
                    mu = distribution.probs(data.dist_params)
                    q_values = self.critic.q_values(embedding) * self.q_scale
                    values = (mu * q_values).sum(dim=-1, keepdim=True)
                    weights = advantage_weights(q_values - values, self.beta, self.max_weight, weights=mu)
                else:
                    actions = distribution.sample(data.dist_params, self.n_action_samples)
                    q_values = self.critic.q_values(embedding, actions) * self.q_scale
                    values = q_values.mean(dim=-1, keepdim=True)
                    weights = advantage_weights(q_values - values, self.beta, self.max_weight)
            if isinstance(distribution, CategoricalLogits):
                log_pi = distribution.log_probs(self.actor.dist_params(data.observations))
                loss = -(mu * weights * log_pi).sum(dim=-1).mean()
                mean_weight = (mu * weights).sum(dim=-1).mean()
            else:
                log_pi = self.actor.log_prob(data.observations, actions)
                loss = -(weights * log_pi).mean()
                mean_weight = weights.mean()
            self.actor.optimizer.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(self.actor.parameters(), self._max_grad_norm)
            self.actor.optimizer.step()
            stats["actor_loss"].append(loss.detach())
            stats["weight_mean"].append(mean_weight)
            stats["weight_max"].append(weights.max())

    def _log_training_stats(self, stats: dict[str, list[th.Tensor]]) -> None:
        # One host transfer per iteration, none inside the update loops.
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/actor_learning_rate", self.actor.optimizer.param_groups[0]["lr"])
        self.logger.record("train/critic_learning_rate", self.critic.optimizer.param_groups[0]["lr"])
        if stats["critic_loss"]:
            targets = th.cat(stats["target"])
            self.logger.record("train/critic_loss", th.stack(stats["critic_loss"]).mean().item())
            self.logger.record("train/q_mean", th.stack(stats["q_mean"]).mean().item())
            self.logger.record("train/target_mean", targets.mean().item())
            self.logger.record("train/target_std", targets.std().item())
            self.logger.record("train/target_min", targets.min().item())
            self.logger.record("train/target_max", targets.max().item())
        if stats["actor_loss"]:
            self.logger.record("train/actor_loss", th.stack(stats["actor_loss"]).mean().item())
            self.logger.record("train/advantage_weight_mean", th.stack(stats["weight_mean"]).mean().item())
            self.logger.record("train/advantage_weight_max", th.stack(stats["weight_max"]).max().item())

    def learn(
        self: SelfQWR,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 4,
        tb_log_name: str = "QWR",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfQWR:
        return super().learn(
            total_timesteps=total_timesteps,
            callback=callback,
            log_interval=log_interval,
            tb_log_name=tb_log_name,
            reset_num_timesteps=reset_num_timesteps,
            progress_bar=progress_bar,
        )

    def _excluded_save_params(self) -> list[str]:
        return [
            *super()._excluded_save_params(),
            "actor",
            "critic",
            "critic_target",
            "actor_lr_schedule",
            "critic_lr_schedule",
            "_last_dist_params",
        ]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        return ["policy", "actor.optimizer", "critic.optimizer"], []

    # Offline training (Section 4.4), implemented in sb3_qwr.offline
    def load_dataset(
        self,
        dataset: Any,
        buffer_size: int | None = None,
        action_std: float | None = None,
        discrete_epsilon: float = 0.01,
        minari_root: str | None = None,
    ) -> OfflineDataset:
        """
        Validate a fixed dataset and replace the replay buffer by one holding it, for :meth:`learn_offline`.

        The dataset is checked against the model's spaces before anything is replaced (a ``ValueError`` names
        the malformed field). Each transition gets the paper's sampling policy ``mu`` (Section 4.4): a Gaussian
        centered on the dataset action (in SB3's normalized ``[-1, 1]`` units) with std ``action_std``
        (0.4) for ``Box`` actions; for ``Discrete`` actions the smoothed one-hot
        ``(1 - eps) * onehot(a) + eps / n`` (see :func:`sb3_qwr.offline.dataset_dist_params`). The new buffer
        has one env column: to continue online afterwards, use a single environment.

        :param dataset: An :class:`~sb3_qwr.offline.OfflineDataset`; a path to an ``.npz`` file of arrays
            (``observations``, ``actions``, ``rewards``, ``terminations``, ``truncations``), to a replay buffer
            saved with ``save_replay_buffer`` (e.g. SAC's ``.pkl``) or to a Minari dataset directory; a Minari
            dataset id; a ``minari.MinariDataset``; or an SB3 replay buffer.
        :param buffer_size: Capacity of the new replay buffer; ``None`` sizes it to the dataset (a smaller one
            keeps the last transitions).
        :param action_std: Std of ``mu`` for ``Box`` actions; ``None`` uses the actor's fixed std.
        :param discrete_epsilon: Smoothing ``eps`` of ``mu`` for ``Discrete`` actions, in ``(0, 1)``.
        :param minari_root: Directory of the local Minari datasets to look a dataset id up in (default:
            ``MINARI_DATASETS_PATH`` or ``~/.minari/datasets``).
        :return: The loaded dataset.
        """
        return load_dataset_into(self, dataset, buffer_size, action_std, discrete_epsilon, minari_root)

    def learn_offline(
        self: SelfQWR,
        n_iterations: int = 30,
        callback: MaybeCallback = None,
        log_interval: int = 1,
        progress_bar: bool = False,
        tb_log_name: str = "QWR_offline",
        reset_num_timesteps: bool = True,
    ) -> SelfQWR:
        """
        Train on the replay buffer filled by :meth:`load_dataset`, without any environment interaction
        (Section 4.4: 30 iterations). Each iteration is one online training phase, ``self.train(1,
        self.batch_size)``: ``n_critic_steps`` critic updates then ``n_actor_steps`` actor updates. The
        environment is never stepped (nor reset); ``num_timesteps`` does not grow.

        Each iteration records ``offline/iteration`` besides the ``train/*`` values of ``train`` and dumps the
        logs at that iteration, then calls the callbacks once (an ``EvalCallback`` with ``eval_freq=1``
        evaluates after every iteration; its own logs are dumped at ``num_timesteps``).

        :param n_iterations: Number of training iterations.
        :param callback: Callback(s) called once per iteration; returning ``False`` stops the training.
        :param log_interval: Dump the logs every ``log_interval`` iterations.
        :param progress_bar: Display a progress bar over the iterations using tqdm and rich.
        :param tb_log_name: The name of the run for TensorBoard logging.
        :param reset_num_timesteps: Whether to count the iterations from 0 in a new TensorBoard run (and reset
            ``num_timesteps``, as ``learn`` does) or to continue.
        :return: The trained model.
        """
        train_offline(self, n_iterations, callback, log_interval, progress_bar, tb_log_name, reset_num_timesteps)
        return self


def _flatten_obs(obs: PyTorchObs, n: int) -> PyTorchObs:
    """Merge the batch and horizon axes of (possibly dict) observations: ``(B, T, ...) -> (B * T, ...)``."""
    if isinstance(obs, dict):
        return {key: value.reshape(n, *value.shape[2:]) for key, value in obs.items()}
    return obs.reshape(n, *obs.shape[2:])


def _index_obs(obs: PyTorchObs, index: th.Tensor) -> PyTorchObs:
    """Select rows of (possibly dict) observations."""
    if isinstance(obs, dict):
        return {key: value.index_select(0, index) for key, value in obs.items()}
    return obs.index_select(0, index)
