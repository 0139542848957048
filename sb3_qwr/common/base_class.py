"""
The base of the weighted-regression algorithms (QWR, AWR): collection that stores the sampling distribution
``mu`` of every step, and a training phase of critic updates then actor updates through named hooks.
"""

import itertools
from collections import defaultdict
from collections.abc import Iterator
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.base_class import maybe_make_env
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.policies import BaseModel
from stable_baselines3.common.type_aliases import (
    GymEnv,
    MaybeCallback,
    RolloutReturn,
    Schedule,
    TrainFreq,
    TrainFrequencyUnit,
)
from stable_baselines3.common.utils import FloatSchedule, update_learning_rate
from stable_baselines3.common.vec_env import VecEnv
from torch.nn import functional as F

from sb3_qwr.common.buffers import (
    DictWeightedRegressionReplayBuffer,
    SampleChunk,
    WeightedRegressionBufferMixin,
    WeightedRegressionReplayBuffer,
    buffer_class_for,
    check_buffer_arguments,
    make_online_buffer,
)
from sb3_qwr.common.checks import (
    COMMON_HYPERPARAMETERS,
    Checker,
    PhaseSnapshot,
    check_action_space,
    check_finite_transition,
    check_hyperparameters,
    check_policy_class,
)
from sb3_qwr.common.policies import Actor, WeightedRegressionPolicy
from sb3_qwr.common.precision import UpdatePrecisionMixin
from sb3_qwr.common.saving import SavingMixin
from sb3_qwr.common.torch_layers import is_convolutional
from sb3_qwr.common.type_aliases import ActorLoss, SequenceSamples

SelfWeightedRegression = TypeVar("SelfWeightedRegression", bound="WeightedRegressionAlgorithm")


class WeightedRegressionAlgorithm(UpdatePrecisionMixin, SavingMixin, OffPolicyAlgorithm):
    """
    Base of the off-policy weighted-regression algorithms (QWR's Algorithm 2, AWR's Algorithm 1 in the QWR
    paper): every ``train_freq`` interactions, ``n_critic_steps`` critic updates then ``n_actor_steps`` actor
    updates on batches of a replay buffer that stores, for every transition, the parameters of the distribution
    ``mu(.|s)`` its action was sampled from. A subclass supplies ``policy_aliases`` and their ``policy_base``, its
    ``hyperparameters`` (name -> checker) and three hooks: :meth:`td_targets` (the critic's target for a batch of
    multi-step sequences), :meth:`sample_actor_batches` and :meth:`actor_loss` (the actor's weighted regression).

    Shared choices, from the QWR authors' reference code (trax ``SamplingAWR``) unless said: the critic regresses
    ``(1 - gamma)`` times its target (``q_scale`` maps its outputs back); Adam with ``eps=1e-5``; the gradient
    norm clipped at ``max_grad_norm``. Every environment step, warm-up included, is taken by the actor, so every
    stored transition has a ``mu`` of the actor's family (SB3's ``action_noise`` is not supported for that reason);
    ``train_freq`` in steps counts interactions summed over the ``n_envs`` environments.

    :param policy: The policy model to use.
    :param env: The environment to learn from (if registered in Gym, can be str).
    :param actor_learning_rate: Actor learning rate; a float or a schedule of the remaining progress (1 to 0).
    :param critic_learning_rate: Critic learning rate (also SB3's ``learning_rate``); a float or a schedule.
    :param buffer_size: Size of the replay buffer.
    :param learning_starts: Number of interactions collected (by the actor) before the first training phase.
    :param batch_size: Minibatch size of both the critic and the actor updates.
    :param gamma: Discount factor.
    :param train_freq: Environment interactions collected between training phases.
    :param n_critic_steps: Critic updates per training phase; -1: one per interaction collected since the last.
    :param n_actor_steps: Actor updates per training phase; -1 as for ``n_critic_steps``.
    :param target_update_interval: Critic updates between hard copies of the critic into its target.
    :param n_step_horizon: Horizon ``T`` of the multi-step targets (also the replay buffer's).
    :param td_lambda: Lambda of the truncated TD(lambda) combination of the 1..T-step targets.
    :param beta: Temperature of the actor's weights ``exp(A / beta)``.
    :param max_weight: Clip ``w_max`` of the actor's weights; ``None`` disables it.
    :param max_grad_norm: Clip of each update's gradient norm; ``None``: 0.5 with a CNN extractor, 50 otherwise.
    :param precision: ``"fp32"``, ``"bf16"`` or ``"bf16-eval"`` (:class:`~sb3_qwr.common.precision.UpdatePrecisionMixin`).
    :param compile_updates: Compile the update hooks with ``torch.compile`` (the eager math up to rounding).
    :param replay_buffer_class: A buffer class that stores ``mu``; ``None`` picks one for the observation space.
    :param replay_buffer_kwargs: Keyword arguments of the replay buffer (not its horizon: ``n_step_horizon``).
    :param optimize_memory_usage: Store each observation once (SB3's option); time-limit truncations then end the
        multi-step targets as terminations do (``handle_timeout_termination=False``). Not for ``Dict`` observations.
    :param policy_kwargs: Additional arguments to be passed to the policy on creation.
    :param stats_window_size: Window size for the rollout logging (episodes).
    :param tensorboard_log: The log location for tensorboard (if None, no logging).
    :param verbose: Verbosity level: 0 no output, 1 info, 2 debug.
    :param seed: Seed for the pseudo random generators.
    :param device: Device (cpu, cuda, ...) on which the code should be run ("auto" picks cuda if available).
    :param _init_setup_model: Whether to build the networks now (a subclass with arguments of its own passes
        ``False`` and builds them once they are set).
    """

    policy: WeightedRegressionPolicy
    actor: Actor
    critic: BaseModel
    critic_target: BaseModel
    replay_buffer: WeightedRegressionReplayBuffer | DictWeightedRegressionReplayBuffer  # type: ignore[assignment]

    #: The class every policy of the algorithm subclasses (the base of its ``policy_aliases``).
    policy_base: ClassVar[type[WeightedRegressionPolicy]] = WeightedRegressionPolicy
    #: Each hyperparameter with its checker, declared once; checked by :meth:`_setup_model` (construction and load).
    hyperparameters: ClassVar[dict[str, Checker]] = COMMON_HYPERPARAMETERS
    #: Whether the critic target reads ``mu`` at the next states (QWR's backup): then :meth:`fill_next_mu` per chunk.
    _uses_next_mu: ClassVar[bool] = False
    #: What the critic estimates, in the name of its logged mean (``train/q_mean``, ``train/v_mean``).
    _critic_value_name: ClassVar[str] = "q"

    def __init__(
        self,
        policy: str | type[WeightedRegressionPolicy],
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
        precision: str = "fp32",
        compile_updates: bool = False,
        replay_buffer_class: type[ReplayBuffer] | None = None,
        replay_buffer_kwargs: dict[str, Any] | None = None,
        optimize_memory_usage: bool = False,
        policy_kwargs: dict[str, Any] | None = None,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        _init_setup_model: bool = True,
    ):
        check_policy_class(policy, self.policy_base, list(self.policy_aliases), type(self).__name__)
        check_buffer_arguments(batch_size, buffer_size, replay_buffer_class, replay_buffer_kwargs, type(self).__name__)
        env = maybe_make_env(env, verbose)  # as SB3 does, to check the action space before SB3's own assertions
        if env is not None:
            check_action_space(env.action_space, type(self).__name__)
            self._checked_action_space = env.action_space
        gradient_steps = -1 if -1 in (n_critic_steps, n_actor_steps) else 1
        super().__init__(
            policy, env, critic_learning_rate, buffer_size, learning_starts, batch_size, tau=1.0, gamma=gamma,
            train_freq=train_freq, gradient_steps=gradient_steps, replay_buffer_class=replay_buffer_class,
            replay_buffer_kwargs=replay_buffer_kwargs, optimize_memory_usage=optimize_memory_usage,
            policy_kwargs=policy_kwargs, stats_window_size=stats_window_size, tensorboard_log=tensorboard_log,
            verbose=verbose, device=device, seed=seed, sde_support=False, support_multi_env=True,
        )  # fmt: skip
        self.actor_learning_rate = actor_learning_rate
        self.critic_learning_rate = critic_learning_rate
        self.n_critic_steps = n_critic_steps
        self.n_actor_steps = n_actor_steps
        self.target_update_interval = target_update_interval
        self.n_step_horizon = n_step_horizon
        self.td_lambda = td_lambda
        self.beta = beta
        self.max_weight = max_weight
        self.max_grad_norm = max_grad_norm
        self.precision = precision
        self.compile_updates = compile_updates
        if _init_setup_model:
            self._setup_model()

    @property
    def _updates_per_interaction(self) -> bool:
        """Whether a phase makes one update per interaction collected (``n_critic_steps`` or ``n_actor_steps`` -1)."""
        return -1 in (self.n_critic_steps, self.n_actor_steps)

    def _setup_model(self) -> None:
        """Check the hyperparameters and the action space (here once, at construction and at load), then build."""
        check_policy_class(self.policy_class, self.policy_base, list(self.policy_aliases), type(self).__name__)
        check_hyperparameters(self.hyperparameters, vars(self), type(self).__name__)
        if self.__dict__.get("_checked_action_space") is not self.action_space:  # at load
            check_action_space(self.action_space, type(self).__name__)
        self.replay_buffer_kwargs.pop("n_steps", None)  # what 0.2 wrote into the kwargs it saved
        if self.optimize_memory_usage:  # SB3 needs it: a truncated episode's final observation is overwritten
            self.replay_buffer_kwargs.setdefault("handle_timeout_termination", False)
        if self.replay_buffer_class is None:
            self.replay_buffer_class = buffer_class_for(self.observation_space)
        if self.replay_buffer is None:  # built here, with the horizon given explicitly (SB3 then keeps it)
            self.replay_buffer = make_online_buffer(self)
        super()._setup_model()
        self._create_aliases()
        self.actor_lr_schedule = FloatSchedule(self.actor_learning_rate)
        self.critic_lr_schedule = FloatSchedule(self.critic_learning_rate)
        cnn = is_convolutional(self.policy.features_extractor_class)  # the reference code's clips: 0.5 CNN, 50 MLP
        self._max_grad_norm = (0.5 if cnn else 50.0) if self.max_grad_norm is None else float(self.max_grad_norm)
        self.q_scale = 1.0 / (1.0 - self.gamma)  # the critic regresses (1 - gamma) times its target
        self._last_mu: np.ndarray | None = None
        self._compiled_hooks = {}  # filled by _hook, never saved
        self._resolve_update_context()

    def _create_aliases(self) -> None:
        self.actor = self.policy.actor
        self.critic = self.policy.critic
        self.critic_target = self.policy.critic_target

    # Collection
    def _sample_action(self, learning_starts: int, action_noise: Any = None, n_envs: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """
        Sample each env's action from the actor, keeping its distribution (the step's ``mu``) for
        :meth:`_store_transition`; warm-up steps too (a uniform action would have no ``mu`` to store).

        :param learning_starts: Unused (see above).
        :param action_noise: Unused (not supported).
        :param n_envs: Number of environments.
        :return: The action for the environment (clipped and rescaled for ``Box``) and for the buffer (the sample).
        """
        assert self._last_obs is not None, "self._last_obs was not set"
        obs_tensor, _ = self.policy.obs_to_tensor(self._last_obs)
        with th.no_grad():
            params = self.actor.dist_params(obs_tensor)
            sampled = self.actor.distribution.sample(params, 1).squeeze(-2)
            # one device-to-host copy for both (class indices are exact in float32)
            both = th.cat([params, sampled.to(params.dtype)], dim=-1).cpu().numpy()
        self._last_mu, sampled_np = both[:, : params.shape[-1]], both[:, params.shape[-1] :]
        if isinstance(self.action_space, spaces.Box):
            buffer_action = sampled_np.reshape((n_envs, *self.action_space.shape))
            return self.policy.unscale_action(np.clip(buffer_action, -1.0, 1.0)), buffer_action
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
        """SB3's (terminal observations, VecNormalize), the buffer's ``add`` given the step's ``mu``."""
        assert isinstance(replay_buffer, WeightedRegressionBufferMixin) and self._last_mu is not None
        check_finite_transition("reward", reward, self.num_timesteps, type(self).__name__)
        check_finite_transition("next observation", new_obs, self.num_timesteps, type(self).__name__)
        with_mu = replay_buffer.with_mu(self._last_mu)
        super()._store_transition(with_mu, buffer_action, new_obs, reward, dones, infos)  # type: ignore[arg-type]

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
        """SB3's; ``train_freq`` in steps counts interactions summed over the envs (the paper's 1000 per iteration)."""
        if action_noise is not None:
            raise ValueError(f"{type(self).__name__} does not support action_noise: the actor's distribution explores.")
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
        if self.env is not None and self.replay_buffer is not None:
            self.replay_buffer.check_n_envs(self.env.num_envs)
        # The env is about to be reset: close the buffer's open episode (no multi-step sequence across the reset).
        if (reset_num_timesteps or self._last_obs is None) and self.replay_buffer is not None:
            self.replay_buffer.truncate_last_trajectory()
        total, callback = super()._setup_learn(total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar)
        # Later observations are checked once, as the next observation of the step that returned them.
        assert self._last_obs is not None
        check_finite_transition("observation", self._last_obs, self.num_timesteps, type(self).__name__)
        return total, callback

    # Training
    def train(self, gradient_steps: int, batch_size: int = 256) -> None:
        """
        Training phases (``learn`` runs one per iteration), each ``n_critic_steps`` then ``n_actor_steps`` updates.

        :param gradient_steps: Number of phases; with ``n_critic_steps`` or ``n_actor_steps`` -1, one phase, and
            this is the number of interactions collected since the last one (SB3's ``gradient_steps=-1``).
        :param batch_size: Minibatch size.
        """
        if self._update_context != (self.precision, self.compile_updates, self.device):  # changed since setup
            self._resolve_update_context()
        phases, n_critic, n_actor = 1, self.n_critic_steps, self.n_actor_steps
        if self._updates_per_interaction:
            n_critic = gradient_steps if n_critic == -1 else n_critic
            n_actor = gradient_steps if n_actor == -1 else n_actor
        else:
            phases = gradient_steps
        snapshot = PhaseSnapshot(self.policy, {"actor": self.actor.optimizer, "critic": self.critic.optimizer})
        update_learning_rate(self.critic.optimizer, self.critic_lr_schedule(self._current_progress_remaining))
        update_learning_rate(self.actor.optimizer, self.actor_lr_schedule(self._current_progress_remaining))
        stats: dict[str, list[th.Tensor]] = defaultdict(list)
        for _ in range(phases):
            # Each phase trains one network; the other only evaluates (evaluation mode, as SB3 keeps its targets).
            self.actor.set_training_mode(False)
            self.critic.set_training_mode(True)
            self._train_critic(batch_size, stats, n_critic)
            self.critic.set_training_mode(False)
            self.actor.set_training_mode(True)
            self._train_actor(batch_size, stats, n_actor)
        self.policy.set_training_mode(False)
        snapshot.check_finite(stats, self.num_timesteps, type(self).__name__)
        self._n_updates += phases * (n_critic + n_actor)
        self._log_training_stats(stats)

    def _train_critic(self, batch_size: int, stats: dict[str, list[th.Tensor]], n_updates: int) -> None:
        batch_iterator, done = self._critic_batches(n_updates, batch_size), 0
        while done < n_updates:
            # Hard copy of the critic into its target every target_update_interval updates; the target network is
            # then fixed, so the window's targets are computed before its updates (with the same random draws).
            window = list(itertools.islice(batch_iterator, min(self.target_update_interval, n_updates - done)))
            self.critic_target.load_state_dict(self.critic.state_dict())
            with th.no_grad(), th.autocast(self.device.type, th.bfloat16, enabled=self._bf16_eval):
                targets = self.window_td_targets(window)
            for data, target in zip(window, targets, strict=True):
                # Critic update: the scaled critic regresses the scaled target (the loss in float32)
                with th.autocast(self.device.type, th.bfloat16, enabled=self._bf16_train):
                    prediction = self.critic(data.observations, data.actions).squeeze(-1).float()
                loss = F.mse_loss(prediction, target / self.q_scale)
                self._gradient_step(self.critic, loss)
                stats["critic_loss"].append(loss.detach())
                stats["critic_value"].append(prediction.detach().mean() * self.q_scale)
                stats["target"].append(target)
            done += len(window)

    def _critic_batches(self, n_batches: int, batch_size: int) -> Iterator[SequenceSamples]:
        """:return: The critic phase's batches, drawn in chunks (the buffer does not change during a phase), their
        missing next ``mu`` filled once per chunk if the target reads it."""
        for chunk in self.replay_buffer.sample_chunks(n_batches, batch_size, env=self._vec_normalize_env):
            yield from (self.fill_next_mu(chunk) if self._uses_next_mu else chunk).batches()

    def fill_next_mu(self, chunk: SampleChunk | SequenceSamples) -> SampleChunk:
        """
        The one place where a missing ``mu`` is filled: next states without one (an episode's final observation,
        a step not yet written) get the current actor's distribution, in one pass for the chunk.

        :param chunk: A chunk of the buffer's ``sample_chunks``, or one batch of ``sample``.
        :return: The chunk with every next ``mu`` set (``.samples`` is the batch when one was given).
        """
        if isinstance(chunk, SequenceSamples):
            chunk = SampleChunk(chunk, np.array([chunk.missing_next_mu.numel()]))
        if chunk.samples.missing_next_mu.numel() == 0:
            return chunk
        rows, next_obs = chunk.missing_next_states()
        with th.no_grad(), th.autocast(self.device.type, th.bfloat16, enabled=self._bf16_eval):
            return chunk.with_next_mu(rows, self.actor.dist_params(next_obs))

    def _train_actor(self, batch_size: int, stats: dict[str, list[th.Tensor]], n_updates: int) -> None:
        actor_loss_fn = self._update_hooks["actor_loss"]
        for data in self.sample_actor_batches(n_updates, batch_size):
            with th.autocast(self.device.type, th.bfloat16, enabled=self._bf16_train):
                actor_loss = actor_loss_fn(data)
            self._gradient_step(self.actor, actor_loss.loss)
            stats["actor_loss"].append(actor_loss.loss.detach())
            stats["weight_mean"].append(actor_loss.state_weights.detach().mean())
            stats["weight_max"].append(actor_loss.weight_max.detach())

    def _gradient_step(self, network: BaseModel, loss: th.Tensor) -> None:
        """One optimizer step of ``network`` on ``loss``, its gradient norm clipped at ``max_grad_norm``."""
        network.optimizer.zero_grad()
        loss.backward()
        th.nn.utils.clip_grad_norm_(network.parameters(), self._max_grad_norm)
        network.optimizer.step()

    def td_targets(self, data: SequenceSamples) -> th.Tensor:
        """
        Hook: the critic's target for a batch of multi-step sequences, float32 in return units (under ``no_grad``).

        :param data: A batch (every next ``mu`` set, :meth:`fill_next_mu`, if the algorithm reads it).
        :return: ``(B,)`` targets.
        """
        raise NotImplementedError

    def window_td_targets(self, batches: list[SequenceSamples]) -> list[th.Tensor]:
        """
        Hook: the targets of one target window's batches (one target network for all). By default
        :meth:`td_targets` on each in turn; an algorithm may use fewer, larger passes with the same random draws.

        :param batches: The window's batches, in update order.
        :return: Their ``(B,)`` targets, in the same order.
        """
        return [self._update_hooks["td_targets"](data) for data in batches]

    def sample_actor_batches(self, n_batches: int, batch_size: int) -> Iterator[Any]:
        """
        Hook: the batches of an actor phase, one per update, as :meth:`actor_loss` takes them. :param n_batches: How
        many. :param batch_size: Their size. :return: The batches.
        """
        raise NotImplementedError

    def actor_loss(self, data: Any) -> ActorLoss:
        """
        Hook: the actor's weighted-regression loss (float32). :param data: A batch of :meth:`sample_actor_batches`.
        :return: The loss and the advantage weights' statistics.
        """
        raise NotImplementedError

    def _log_training_stats(self, stats: dict[str, list[th.Tensor]]) -> None:
        # One host transfer per iteration, none inside the update loops.
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/actor_learning_rate", self.actor.optimizer.param_groups[0]["lr"])
        self.logger.record("train/critic_learning_rate", self.critic.optimizer.param_groups[0]["lr"])
        values: dict[str, th.Tensor] = {}
        if stats["critic_loss"]:
            targets = th.cat(stats["target"])
            values["critic_loss"] = th.stack(stats["critic_loss"]).mean()
            values[f"{self._critic_value_name}_mean"] = th.stack(stats["critic_value"]).mean()
            values.update(
                target_mean=targets.mean(), target_std=targets.std(), target_min=targets.min(), target_max=targets.max()
            )
        if stats["actor_loss"]:
            values["actor_loss"] = th.stack(stats["actor_loss"]).mean()
            values["advantage_weight_mean"] = th.stack(stats["weight_mean"]).mean()
            values["advantage_weight_max"] = th.stack(stats["weight_max"]).max()
        for name, value in zip(values, th.stack(list(values.values())).tolist() if values else [], strict=True):
            self.logger.record(f"train/{name}", value)

    def learn(
        self: SelfWeightedRegression,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 4,
        tb_log_name: str | None = None,
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfWeightedRegression:
        """SB3's ``learn``; the TensorBoard run is named after the algorithm (``QWR_1``, ``AWR_1``) by default."""
        tb_log_name = type(self).__name__ if tb_log_name is None else tb_log_name
        return super().learn(total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar)
