"""Q-Value Weighted Regression (Kozakowski et al. 2021) as a Stable-Baselines3 off-policy algorithm."""

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, NamedTuple, TypeVar

import torch as th
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, PyTorchObs, Schedule, TensorDict

from sb3_qwr.common.base_class import WeightedRegressionAlgorithm
from sb3_qwr.common.buffers import concat_obs, flatten_obs
from sb3_qwr.common.checks import COMMON_HYPERPARAMETERS, Checker, check_hyperparameters, check_positive_int, one_of, positive
from sb3_qwr.common.functional import BACKUP_KINDS, SCALE_KINDS, advantage_weights, backup, td_lambda_target
from sb3_qwr.common.policies import CategoricalLogits
from sb3_qwr.common.type_aliases import ActorLoss, SequenceSamples, StateSamples
from sb3_qwr.offline.training import OfflineTrainingMixin
from sb3_qwr.qwr.policies import CnnPolicy, MlpPolicy, MultiInputPolicy, QCritic, QWRPolicy

#: Bound on the memory of one pass of the target network over several batches of a target window, by device type:
#: one batch per pass on the CPU (0: larger passes were slower there), 256 MiB on an accelerator, where each pass is
#: launch-bound (``docs/qwr.md``, "Speed").
TARGET_PASS_BYTES: dict[str, int] = {"cpu": 0, "cuda": 256 * 2**20}
DEFAULT_TARGET_PASS_BYTES = 256 * 2**20
#: The same bound for one pass of the critic over several batches of an actor phase (their advantage weights: the
#: critic is fixed during the phase), by device type; the CPU evaluates each batch in its own update.
ACTOR_PASS_BYTES: dict[str, int] = {"cpu": 0, "cuda": 256 * 2**20}


class TargetInputs(NamedTuple):
    """
    What a batch's critic target needs besides the target network's Q-values.

    :param data: The batch (every next ``mu`` set).
    :param next_obs: Its next states, ``(B * T, *obs_shape)``.
    :param actions: ``k`` actions sampled from ``mu`` at each next state, ``(B * T, k, action_dim)`` (``Box``).
    :param weights: ``mu``'s probabilities at each next state, ``(B * T, n_actions)`` (``Discrete``).
    """

    data: SequenceSamples
    next_obs: PyTorchObs
    actions: th.Tensor | None
    weights: th.Tensor | None


class ActorTargets(NamedTuple):
    """
    What one actor update regresses on, computed without gradients from the (fixed) critic.

    :param actions: ``(B, k, action_dim)`` actions sampled from the stored ``mu`` (``Box``); ``None`` for ``Discrete``.
    :param mu_probs: ``(B, n_actions)`` the stored ``mu``'s probabilities (``Discrete``); ``None`` for ``Box``.
    :param weights: The advantage weights of those actions, ``(B, k)`` (``Box``) or ``(B, n_actions)``.
    """

    actions: th.Tensor | None
    mu_probs: th.Tensor | None
    weights: th.Tensor


class WeightedStateSamples(NamedTuple):
    """
    A batch of the actor phase with its :class:`ActorTargets` already computed (in a pass over several batches).

    :param observations: ``s``, shape ``(B, *obs_shape)`` (or a dict of such tensors).
    :param mu: Parameters of the stored ``mu(.|s)``, shape ``(B, P)``.
    :param targets: The batch's actions and advantage weights.
    """

    observations: th.Tensor | TensorDict
    mu: th.Tensor
    targets: ActorTargets


SelfQWR = TypeVar("SelfQWR", bound="QWR")


def _pass_bytes(network: th.nn.Module, obs: PyTorchObs, rows: int, q_per_row: int, obs_dims: int) -> int:
    """
    :param network: The critic (or its target) of the pass.
    :param obs: The batch's observations (a dict of tensors for ``Dict`` observations).
    :param rows: How many states the pass evaluates.
    :param q_per_row: How many (state, action) rows each state gives.
    :param obs_dims: The leading batch axes of ``obs`` (1: ``(B, ...)``, 2: ``(B, T, ...)``).
    :return: A bound on the bytes of the pass: the states in float32 and the widest layer's activations on every
        (state, action) row, twice (inputs and outputs of a layer).
    """
    first = (0,) * obs_dims
    obs_numel = sum(v[first].numel() for v in obs.values()) if isinstance(obs, dict) else obs[first].numel()
    widest = max((m.out_features for m in network.modules() if isinstance(m, th.nn.Linear)), default=1)
    return 8 * (rows * obs_numel + rows * q_per_row * widest)


#: QWR's hyperparameters with their checkers: those of every weighted-regression algorithm, then its own.
QWR_HYPERPARAMETERS: dict[str, Checker] = {
    **COMMON_HYPERPARAMETERS,
    "n_action_samples": check_positive_int,
    "backup": one_of(BACKUP_KINDS),
    "backup_temperature": positive("tau of the log-sum-exp backup"),
    "backup_scale": one_of((*SCALE_KINDS, None)),
}


def check_qwr_hyperparameters(**params: Any) -> None:
    """
    Raise a ``ValueError`` naming the first invalid QWR hyperparameter (and how to fix it), of any subset (a
    search space's: ``sb3_qwr.zoo.hyperparams_opt``).

    :param params: Hyperparameters by constructor name.
    """
    check_hyperparameters(QWR_HYPERPARAMETERS, params)


class QWR(OfflineTrainingMixin, WeightedRegressionAlgorithm):
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
    observation (SB3's ``handle_timeout_termination``; ``replay_buffer_kwargs=dict(handle_timeout_termination=False)``
    ends the targets there as the reference code does). A next state with no stored ``mu`` (the final
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
    :param precision: ``"fp32"`` (default), ``"bf16"`` (the networks' forward and backward passes under
        ``torch.autocast`` in bfloat16, everything else in float32) or ``"bf16-eval"`` (bfloat16 only in the passes
        without gradients: targets and the actor's advantage weights); faster on CPUs with AVX-512 BF16 or AMX and on
        recent GPUs, not the default because its score parity is not shown (details:
        :class:`~sb3_qwr.common.precision.UpdatePrecisionMixin`; measurements: ``docs/qwr.md``, "Speed").
    :param compile_updates: Compile the critic target and the actor loss with ``torch.compile`` at their first
        call: fused elementwise kernels, PyTorch's random stream, the eager math up to rounding; a C++ compiler is
        needed on a CPU (details: :class:`~sb3_qwr.common.precision.UpdatePrecisionMixin`). Off by default.
    :param replay_buffer_class: A replay buffer class that stores mu (``WeightedRegressionReplayBuffer``/
        ``DictWeightedRegressionReplayBuffer`` or a
        subclass); ``None`` picks one for the observation space.
    :param replay_buffer_kwargs: Keyword arguments of the replay buffer.
    :param optimize_memory_usage: Store each observation once in the replay buffer (SB3's option; it halves the
        memory of an Atari buffer); time-limit truncations then end the multi-step targets as terminations do
        (see :class:`~sb3_qwr.common.base_class.WeightedRegressionAlgorithm`).
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
    policy_base = QWRPolicy
    hyperparameters = QWR_HYPERPARAMETERS
    _uses_next_mu = True
    policy: QWRPolicy
    critic: QCritic
    critic_target: QCritic

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
            precision=precision,
            compile_updates=compile_updates,
            replay_buffer_class=replay_buffer_class,
            replay_buffer_kwargs=replay_buffer_kwargs,
            optimize_memory_usage=optimize_memory_usage,
            policy_kwargs=policy_kwargs,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            verbose=verbose,
            seed=seed,
            device=device,
            _init_setup_model=False,
        )
        self.n_action_samples = n_action_samples
        self.backup = backup
        self.backup_temperature = backup_temperature
        self.backup_scale = backup_scale
        if _init_setup_model:
            self._setup_model()

    def td_targets(self, data: SequenceSamples) -> th.Tensor:
        """
        The critic's regression target for a batch: the TD(lambda) combination of 1..T-step targets whose
        bootstraps are the backup ``F`` of the target network at the next states (Appendix 6.4).

        :param data: A batch from the replay buffer's ``sample``.
        :return: ``(B,)`` targets in return units.
        """
        inputs = self._target_inputs(data)
        return self._target_from_q_values(inputs, self._target_q_values(inputs.next_obs, inputs.actions))

    def window_td_targets(self, batches: list[SequenceSamples]) -> list[th.Tensor]:
        """
        The targets of one target window's batches as :meth:`td_targets` gives them, with the target
        network evaluated once on as many batches' next states as :data:`TARGET_PASS_BYTES` allows on the device
        (the actions at the next states drawn batch by batch first: the same random numbers in the same order as
        batch by batch). With ``compile_updates`` the compiled per-batch hook is used instead (one graph shape).

        :param batches: The window's batches, in update order.
        :return: Their ``(B,)`` targets.
        """
        budget = TARGET_PASS_BYTES.get(self.device.type, DEFAULT_TARGET_PASS_BYTES)
        group = budget // self._target_pass_bytes(batches[0]) if budget and len(batches) > 1 else 1
        if self.compile_updates or group <= 1:
            return [self._update_hooks["td_targets"](data) for data in batches]
        targets = []
        for first in range(0, len(batches), group):
            inputs = [self._target_inputs(data) for data in batches[first : first + group]]
            next_obs = concat_obs([item.next_obs for item in inputs])
            actions = None if inputs[0].actions is None else th.cat([item.actions for item in inputs])  # type: ignore[misc]
            q_values = self._target_q_values(next_obs, actions)
            sizes = [item.data.rewards.numel() for item in inputs]
            targets += [self._target_from_q_values(item, q) for item, q in zip(inputs, q_values.split(sizes), strict=True)]
        return targets

    def _target_inputs(self, data: SequenceSamples) -> TargetInputs:
        """
        :param data: A batch.
        :return: Its next states (flattened), and the actions sampled from their ``mu`` (``Box``) or ``mu``'s
            probabilities (``Discrete``).
        """
        batch, horizon = data.rewards.shape
        if data.missing_next_mu.numel() > 0:
            raise ValueError(
                "QWR's critic target needs mu at every next state, and this batch has next states without one: pass "
                "it through model.fill_next_mu(batch).samples first (the critic phase fills its batches itself)."
            )
        next_obs = flatten_obs(data.next_observations, batch * horizon)
        params = data.next_mu.reshape(batch * horizon, -1)
        distribution = self.actor.distribution
        if isinstance(distribution, CategoricalLogits):
            return TargetInputs(data, next_obs, None, distribution.probs(params))
        return TargetInputs(data, next_obs, distribution.sample(params, self.n_action_samples), None)

    def _target_q_values(self, next_obs: PyTorchObs, actions: th.Tensor | None) -> th.Tensor:
        """
        :param next_obs: ``(N, *obs_shape)`` next states.
        :param actions: ``(N, k, action_dim)`` sampled actions, or ``None`` for all the ``Discrete`` actions.
        :return: ``(N, k)`` (or ``(N, n_actions)``) target-network Q-values in return units, float32.
        """
        embedding = self.critic_target.embed_obs(next_obs)
        if actions is None:
            return self.critic_target.q_values(embedding).float() * self.q_scale
        return self.critic_target.q_values(embedding, actions).float() * self.q_scale

    def _target_from_q_values(self, inputs: TargetInputs, q_values: th.Tensor) -> th.Tensor:
        """
        :param inputs: What :meth:`_target_inputs` gave for a batch.
        :param q_values: The target network's Q-values at its next states.
        :return: ``(B,)`` TD(lambda) targets of the backup ``F`` (the scale of ``F`` over this batch alone).
        """
        data = inputs.data
        next_values = backup(
            q_values,
            inputs.weights,
            kind=self.backup,
            temperature=self.backup_temperature,
            scale=self.backup_scale,
            scale_mask=data.valid.reshape(-1),
        ).reshape(data.rewards.shape)
        return td_lambda_target(data.rewards, next_values, data.terminations, data.valid, self.gamma, self.td_lambda)

    def _target_pass_bytes(self, data: SequenceSamples) -> int:
        """:return: A bound on the bytes of one batch's target pass: its next states in float32 and the widest
        layer's activations on every (state, action) row, twice (inputs and outputs of a layer)."""
        per_state = 1 if isinstance(self.actor.distribution, CategoricalLogits) else self.n_action_samples
        return _pass_bytes(self.critic_target, data.next_observations, data.rewards.numel(), per_state, obs_dims=2)

    def sample_actor_batches(self, n_batches: int, batch_size: int) -> Iterator[StateSamples] | Iterator[WeightedStateSamples]:
        """
        States and their stored ``mu`` (Algorithm 2, line 17). Where :data:`ACTOR_PASS_BYTES` allows it on the device
        (and without ``compile_updates``), the batches come with their :class:`ActorTargets`, computed by one critic
        pass over as many batches as the budget holds (the critic is fixed during the actor phase; the actions drawn
        batch by batch first: the same random numbers in the same order as batch by batch).

        :param n_batches: Number of batches.
        :param batch_size: Minibatch size.
        :return: The batches.
        """
        batches = self.replay_buffer.sample_states_batches(n_batches, batch_size, env=self._vec_normalize_env)
        budget = ACTOR_PASS_BYTES.get(self.device.type, DEFAULT_TARGET_PASS_BYTES)
        if self.compile_updates or not budget or n_batches <= 1:
            return batches
        return self._with_actor_targets(batches, budget)

    def _with_actor_targets(self, batches: Iterator[StateSamples], budget: int) -> Iterator[WeightedStateSamples]:
        """
        :param batches: The actor phase's batches.
        :param budget: Bytes one critic pass may take.
        :return: The batches with their targets, computed in groups of as many batches as ``budget`` holds.
        """
        group: list[StateSamples] = []
        group_size = 0
        for data in batches:
            group.append(data)
            group_size = group_size or max(1, budget // self._actor_pass_bytes(data))
            if len(group) == group_size:
                yield from self._weighted(group)
                group = []
        if group:
            yield from self._weighted(group)

    def _weighted(self, group: list[StateSamples]) -> Iterator[WeightedStateSamples]:
        """:return: The batches of ``group`` with their targets (:meth:`_group_actor_targets`)."""
        for data, target in zip(group, self._group_actor_targets(group), strict=True):
            yield WeightedStateSamples(data.observations, data.mu, target)

    def _group_actor_targets(self, group: Sequence[StateSamples | SequenceSamples]) -> list[ActorTargets]:
        """
        The targets of the actor updates of several batches (Algorithm 2, lines 17-20), from one pass of the critic
        over all of them: ``k`` actions sampled from each stored ``mu(.|s)`` (batch by batch, in order) and their
        advantage weights; for ``Discrete`` every action, weighted by ``mu(a|s)``.

        :param group: The batches (only the states and their stored ``mu`` are read).
        :return: Their targets, in order.
        """
        distribution = self.actor.distribution
        sizes = [len(data.mu) for data in group]
        with th.no_grad(), th.autocast(self.device.type, th.bfloat16, enabled=self._bf16_eval):
            embedding = self.critic.embed_obs(concat_obs([data.observations for data in group]))
            if isinstance(distribution, CategoricalLogits):
                q_values = self.critic.q_values(embedding).float() * self.q_scale
                per_batch = zip(group, q_values.split(sizes), strict=True)
                return [self._actor_targets(None, distribution.probs(data.mu), q) for data, q in per_batch]
            actions = [distribution.sample(data.mu, self.n_action_samples) for data in group]
            q_values = self.critic.q_values(embedding, actions[0] if len(actions) == 1 else th.cat(actions))
            q_values = q_values.float() * self.q_scale
            return [self._actor_targets(a, None, q) for a, q in zip(actions, q_values.split(sizes), strict=True)]

    def _actor_pass_bytes(self, data: StateSamples) -> int:
        """:return: A bound on the bytes of one batch's critic pass in the actor phase (as :meth:`_target_pass_bytes`)."""
        n_actions = self.actor.distribution.param_dim if isinstance(self.actor.distribution, CategoricalLogits) else 0
        return _pass_bytes(self.critic, data.observations, len(data.mu), n_actions or self.n_action_samples, obs_dims=1)

    def _actor_targets(self, actions: th.Tensor | None, mu_probs: th.Tensor | None, q_values: th.Tensor) -> ActorTargets:
        """
        :param actions: A batch's sampled actions (``Box``), or ``None``.
        :param mu_probs: Its stored ``mu``'s probabilities (``Discrete``), or ``None``.
        :param q_values: The critic's Q-values of those actions, in return units.
        :return: The targets: ``w = min(exp(A_norm / beta), max_weight)``, ``A = Q(s, a_j) - mean_j Q(s, a_j)`` (the
            mean under ``mu`` for ``Discrete``).
        """
        if mu_probs is not None:
            values = (mu_probs * q_values).sum(dim=-1, keepdim=True)
            return ActorTargets(
                None, mu_probs, advantage_weights(q_values - values, self.beta, self.max_weight, weights=mu_probs)
            )
        values = q_values.mean(dim=-1, keepdim=True)
        return ActorTargets(actions, None, advantage_weights(q_values - values, self.beta, self.max_weight))

    def actor_targets(self, data: StateSamples | SequenceSamples) -> ActorTargets:
        """
        :param data: A batch (only the states and their stored ``mu`` are read).
        :return: The targets of its actor update (:meth:`_group_actor_targets` of the batch alone).
        """
        return self._group_actor_targets([data])[0]

    def actor_loss(self, data: StateSamples | SequenceSamples | WeightedStateSamples) -> ActorLoss:
        """
        Algorithm 2, lines 17-21: ``-mean_j w_j log pi(a_j|s)`` over ``k`` actions sampled from the stored
        ``mu(.|s)``, ``w = min(exp(A_norm / beta), max_weight)``, ``A = Q(s, a_j) - mean_j Q(s, a_j)``. For
        ``Discrete`` actions every action is weighted by ``mu(a|s)`` (exact expectations, Section 4.1).

        :param data: A batch of :meth:`sample_actor_batches` (with its targets or without), or of the buffer's
            ``sample``/``samples_at`` (only the states and their stored mu are read).
        :return: The loss and the weights' statistics.
        """
        targets = data.targets if isinstance(data, WeightedStateSamples) else self.actor_targets(data)
        weights = targets.weights
        if targets.mu_probs is not None:
            mu = targets.mu_probs
            log_pi = self.actor.distribution.log_probs(self.actor.dist_params(data.observations))  # type: ignore[attr-defined]
            loss = -(mu * weights * log_pi).sum(dim=-1).mean()
            return ActorLoss(loss, (mu * weights).sum(dim=-1), weights.max())
        assert targets.actions is not None
        log_pi = self.actor.log_prob(data.observations, targets.actions)
        return ActorLoss(-(weights * log_pi).mean(), weights.mean(dim=-1), weights.max())
