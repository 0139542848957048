"""
The base of the weighted-regression algorithms (QWR, AWR): collection that stores the sampling distribution
``mu`` of every step, a training phase of critic updates then actor updates through named hooks, logging,
saving, and offline training on a fixed dataset (Section 4.4 of the QWR paper).
"""

import copy
import io
import itertools
import pathlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, NamedTuple, TypeVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common import utils
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, ConvertCallback
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.policies import BaseModel
from stable_baselines3.common.save_util import load_from_pkl
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

from sb3_qwr.common.buffers import (
    DictQWRReplayBuffer,
    QWRReplayBuffer,
    QWRReplayBufferSamples,
    QWRStateSamples,
    _QWRBufferMixin,
)
from sb3_qwr.common.callbacks import OfflineProgressBarCallback
from sb3_qwr.common.checks import check_action_space, check_common_hyperparameters, check_finite, check_positive
from sb3_qwr.common.compile import compile_hook
from sb3_qwr.common.dataset_buffer import DEFAULT_ACTION_STD, DEFAULT_DISCRETE_EPSILON, make_replay_buffer
from sb3_qwr.common.distributions import FixedStdGaussian
from sb3_qwr.common.policies import Actor, WeightedRegressionPolicy
from sb3_qwr.common.torch_layers import is_convolutional
from sb3_qwr.offline import OfflineDataset, as_offline_dataset
from sb3_qwr.resume import resume, save_checkpoint

SelfWeightedRegression = TypeVar("SelfWeightedRegression", bound="WeightedRegressionAlgorithm")


class ActorLoss(NamedTuple):
    """
    What an actor update minimizes, and the advantage weights it used (for the logs and for diagnostics).

    :param loss: The scalar loss.
    :param state_weights: ``(B,)`` the regression weight each state of the batch received in total: its
        advantage weight (AWR), the mean over its ``k`` sampled actions (QWR, ``Box``), or the expectation under
        ``mu`` (QWR, ``Discrete``). Their mean is the logged ``train/advantage_weight_mean``; how they differ
        between states says which data the actor imitates (``benchmarks/offline_weights.py``).
    :param weight_max: Largest advantage weight of the batch.
    """

    loss: th.Tensor
    state_weights: th.Tensor
    weight_max: th.Tensor


class WeightedRegressionAlgorithm(OffPolicyAlgorithm):
    """
    Base of the off-policy weighted-regression algorithms (QWR's Algorithm 2, AWR's Algorithm 1 in the QWR
    paper): every ``train_freq`` interactions, ``n_critic_steps`` critic updates then ``n_actor_steps`` actor
    updates on batches drawn from a replay buffer that stores, for every transition, the parameters of the
    distribution ``mu(.|s)`` the action was sampled from.

    A subclass supplies its policies (``policy_aliases``) and three hooks:

    * :meth:`critic_target_values`: the critic's regression target for a batch of multi-step sequences;
    * :meth:`sample_actor_batches`: the batches of the actor updates;
    * :meth:`actor_loss`: the weighted-regression loss of the actor on that batch.

    Shared choices, from the QWR authors' reference code (trax ``SamplingAWR``) unless said: the critic regresses
    ``(1 - gamma)`` times its target (``q_scale`` maps its outputs back); Adam with ``eps=1e-5``; the gradient
    norm is clipped at ``max_grad_norm`` (0.5 with a CNN features extractor, 50 otherwise). All environment
    steps, warm-up included, are taken by the actor (never uniformly at random), so that every stored
    transition has a ``mu`` of the actor's family; SB3's ``action_noise`` is not supported for that reason.
    ``train_freq`` in steps counts interactions summed over the ``n_envs`` environments (the paper's 1000
    interactions per iteration).

    :param policy: The policy model to use.
    :param env: The environment to learn from (if registered in Gym, can be str).
    :param actor_learning_rate: Actor learning rate; a float or a schedule of the remaining progress (1 to 0).
    :param critic_learning_rate: Critic learning rate; a float or a schedule. It is also SB3's ``learning_rate``.
    :param buffer_size: Size of the replay buffer.
    :param learning_starts: Number of interactions collected (by the actor) before the first training phase.
    :param batch_size: Minibatch size of both the critic and the actor updates.
    :param gamma: Discount factor.
    :param train_freq: Environment interactions collected between training phases.
    :param n_critic_steps: Critic updates per training phase; -1: as many as interactions were collected since
        the last phase (SB3's ``gradient_steps=-1``), which keeps the paper's one update per interaction
        whatever ``train_freq`` (with ``train_freq=1000`` it is the paper's 1000).
    :param n_actor_steps: Actor updates per training phase; -1 as for ``n_critic_steps``.
    :param target_update_interval: Critic updates between hard copies of the critic into its target.
    :param n_step_horizon: Horizon ``T`` of the multi-step targets.
    :param td_lambda: Lambda of the truncated TD(lambda) combination of the 1..T-step targets.
    :param beta: Temperature of the actor's weights ``exp(A / beta)``.
    :param max_weight: Clip ``w_max`` of the actor's weights; ``None`` disables it.
    :param max_grad_norm: Clip of the global gradient norm of each update; ``None``: 0.5 for a CNN features
        extractor, 50 otherwise.
    :param precision: ``"fp32"`` (default), ``"bf16"`` or ``"bf16-eval"``. ``"bf16-eval"``: bfloat16 only in the
        passes without gradients (critic targets, the advantages of the actor's weights), float32 in every pass
        that trains; its score parity with float32 is being measured (``benchmarks/RESULTS.md``). ``"bf16"``: the
        networks' forward and backward passes under
        ``torch.autocast`` in bfloat16 (matmuls with float32 accumulation, as TPUs ran the paper's own runs),
        with float32 weights, optimizer states, targets, backups, TD(lambda) sums, advantage normalization and
        losses. On CPUs with AVX-512 BF16 or AMX and on recent GPUs it is faster: 1.3-1.4x per 1000 Hopper-v5 steps
        on one thread of this project's CPU, 1.5x with ``compile_updates`` (``benchmarks/RESULTS.md``, "Speed");
        elsewhere it may be slower than ``"fp32"``. Not the default: on Walker2d-v5 at 100K its 5 seeds scored
        below float32's (median 796 against 1650, lower on four seeds), on HalfCheetah-v5 the same (3 seeds, 3316
        against 3310). Those runs had the critic's output layer in bfloat16; in float32, as it is now
        (:meth:`~sb3_qwr.common.policies.CriticNetwork.head_output`), Walker2d-v5 still gave 742 (4 seeds).
    :param compile_updates: Compile the hooks of the updates (the critic target and the actor loss) with
        ``torch.compile`` (inductor) at their first call: their elementwise work (the critic's gate, LayerNorm and
        ReLU over the sampled pairs, backup, TD(lambda), advantage weights) runs in a few fused kernels, the matmuls
        in the same library kernels as eager mode, the random draws from PyTorch's own generator; the math is the
        eager one up to floating-point rounding. Compiling takes seconds at the first training phase and needs a C++
        compiler on a CPU (Triton on a GPU). Off by default; with ``precision="bf16"`` it is the fastest path on
        this project's CPU (``benchmarks/RESULTS.md``, "Speed").
    :param replay_buffer_class: A QWR replay buffer class (``QWRReplayBuffer``/``DictQWRReplayBuffer`` or a
        subclass); ``None`` picks one for the observation space.
    :param replay_buffer_kwargs: Keyword arguments of the replay buffer.
    :param optimize_memory_usage: Store each observation once in the replay buffer (SB3's option; it halves the
        memory of an Atari buffer). Time-limit truncations then end the multi-step targets as terminations do
        (``handle_timeout_termination=False``, what SB3 requires and the authors' reference code does), since
        the final observation of a truncated episode is overwritten by the next reset. Not for ``Dict``
        observations.
    :param policy_kwargs: Additional arguments to be passed to the policy on creation.
    :param stats_window_size: Window size for the rollout logging (episodes).
    :param tensorboard_log: The log location for tensorboard (if None, no logging).
    :param verbose: Verbosity level: 0 no output, 1 info, 2 debug.
    :param seed: Seed for the pseudo random generators.
    :param device: Device (cpu, cuda, ...) on which the code should be run ("auto" picks cuda if available).
    :param _init_setup_model: Whether or not to build the network at the creation of the instance (a subclass
        with arguments of its own passes ``False`` and builds it once they are set).
    """

    policy: WeightedRegressionPolicy
    actor: Actor
    critic: BaseModel
    critic_target: BaseModel
    replay_buffer: QWRReplayBuffer | DictQWRReplayBuffer  # type: ignore[assignment]
    _offline_iteration: int

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
        self._check_policy_class(policy)
        check_common_hyperparameters(
            actor_learning_rate=actor_learning_rate,
            critic_learning_rate=critic_learning_rate,
            n_step_horizon=n_step_horizon,
            n_critic_steps=n_critic_steps,
            n_actor_steps=n_actor_steps,
            target_update_interval=target_update_interval,
            beta=beta,
            td_lambda=td_lambda,
            gamma=gamma,
            max_weight=max_weight,
            max_grad_norm=max_grad_norm,
            precision=precision,
            compile_updates=compile_updates,
            batch_size=batch_size,
            buffer_size=buffer_size,
        )
        if replay_buffer_class is not None and not issubclass(replay_buffer_class, _QWRBufferMixin):
            raise ValueError(
                f"{type(self).__name__} needs a replay buffer that stores the sampling distribution, got "
                f"{replay_buffer_class.__name__}: leave `replay_buffer_class=None` or pass a subclass of "
                "QWRReplayBuffer / DictQWRReplayBuffer."
            )
        if replay_buffer_kwargs and "optimize_memory_usage" in replay_buffer_kwargs:
            raise ValueError(
                f"Pass optimize_memory_usage to {type(self).__name__} itself ({type(self).__name__}(..., "
                "optimize_memory_usage=True)), not in `replay_buffer_kwargs`: the algorithm gives it to its buffer."
            )
        if env is not None and not isinstance(env, str):
            check_action_space(env.action_space, type(self).__name__)  # before SB3's own (less helpful) assertions
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
            gradient_steps=-1 if -1 in (n_critic_steps, n_actor_steps) else 1,
            replay_buffer_class=replay_buffer_class,
            replay_buffer_kwargs=replay_buffer_kwargs,
            optimize_memory_usage=optimize_memory_usage,
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
            check_action_space(self.action_space, type(self).__name__)
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

    #: Whether the critic target reads ``mu`` at the next states (QWR's sampled backup; AWR's ``V`` does not): the
    #: critic phase then has the next states without a stored ``mu`` filled by :meth:`current_dist_params`, once
    #: per sampled chunk.
    _uses_next_dist_params: ClassVar[bool] = False
    #: Constructor arguments checked again when a model is loaded (``load``'s keyword arguments and
    #: ``custom_objects`` replace saved values without going through ``__init__``).
    _checked_arguments: ClassVar[tuple[str, ...]] = (
        "actor_learning_rate",
        "critic_learning_rate",
        "n_step_horizon",
        "n_critic_steps",
        "n_actor_steps",
        "target_update_interval",
        "beta",
        "td_lambda",
        "gamma",
        "max_weight",
        "max_grad_norm",
        "precision",
        "compile_updates",
        "batch_size",
    )  # not buffer_size: a model loaded for inference (the Zoo's enjoy) gets a one-transition buffer
    #: The hooks that ``compile_updates`` compiles (``torch.compile``). Not the critic's own forward and backward
    #: in its update: compiled too, it was no faster (13.8 ms per update pair either way, bf16, one CPU thread).
    _compilable_hooks: ClassVar[tuple[str, ...]] = ("critic_target_values", "actor_loss")

    @property
    def _updates_per_interaction(self) -> bool:
        """Whether a phase makes one update per interaction collected (``n_critic_steps`` or ``n_actor_steps`` -1)."""
        return -1 in (self.n_critic_steps, self.n_actor_steps)

    def _check_hyperparameters(self) -> None:
        """Check the model's hyperparameters as the constructor does (``_setup_model`` calls it, at load too)."""
        check_common_hyperparameters(**{name: getattr(self, name) for name in self._checked_arguments if hasattr(self, name)})

    def _check_policy_class(self, policy: Any) -> None:
        if isinstance(policy, str) or (isinstance(policy, type) and issubclass(policy, self._policy_base())):
            return
        name = getattr(policy, "__name__", type(policy).__name__)
        module = getattr(policy, "__module__", "?")
        raise ValueError(
            f"{type(self).__name__} needs one of its own policies ({', '.join(self.policy_aliases)} or a subclass of "
            f"{self._policy_base().__name__}), got {name} from {module}. When loading a file, this means it was saved "
            "by another algorithm: load it with that algorithm's class."
        )

    def _policy_base(self) -> type[WeightedRegressionPolicy]:
        """:return: The class every policy of the algorithm subclasses (the base of its ``policy_aliases``)."""
        bases = [policy for policy in self.policy_aliases.values() if isinstance(policy, type)]
        common = [cls for cls in bases[0].__mro__ if all(issubclass(b, cls) for b in bases)]
        return next(cls for cls in common if issubclass(cls, WeightedRegressionPolicy))

    def _setup_model(self) -> None:
        self._check_policy_class(self.policy_class)
        self._check_hyperparameters()
        check_action_space(self.action_space, type(self).__name__)
        if self.replay_buffer_class is None:
            dict_obs = isinstance(self.observation_space, spaces.Dict)
            self.replay_buffer_class = DictQWRReplayBuffer if dict_obs else QWRReplayBuffer
        self.replay_buffer_kwargs["n_steps"] = self.n_step_horizon
        if self.optimize_memory_usage:
            # SB3 needs it: the final observation of a truncated episode is overwritten by the next reset.
            self.replay_buffer_kwargs.setdefault("handle_timeout_termination", False)
        super()._setup_model()
        self._create_aliases()
        self.actor_lr_schedule = FloatSchedule(self.actor_learning_rate)
        self.critic_lr_schedule = FloatSchedule(self.critic_learning_rate)
        if self.max_grad_norm is None:
            cnn = is_convolutional(self.policy.features_extractor_class)
            self._max_grad_norm = 0.5 if cnn else 50.0
        else:
            self._max_grad_norm = float(self.max_grad_norm)
        # The critic regresses (1 - gamma) times its target: q_scale maps its outputs back to returns.
        self.q_scale = 1.0 / (1.0 - self.gamma)
        self._last_dist_params: np.ndarray | None = None
        self._compiled_hooks: dict[str, Callable[..., Any]] = {}

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

        :param learning_starts: Unused (see above).
        :param action_noise: Unused (not supported).
        :param n_envs: Number of environments.
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
        self._check_finite_transition("reward", reward)
        self._check_finite_transition("next observation", new_obs)
        replay_buffer.stage_dist_params(self._last_dist_params)
        super()._store_transition(replay_buffer, buffer_action, new_obs, reward, dones, infos)

    def _check_finite_transition(self, what: str, value: np.ndarray | dict[str, np.ndarray]) -> None:
        """
        Stop before a non-finite observation or reward reaches the actor or the replay buffer (where it would turn
        every parameter NaN at the next training phase).

        :param what: What ``value`` is, for the message.
        :param value: Array (or dict of arrays) from the environment.
        """
        for array in value.values() if isinstance(value, dict) else (value,):
            array = np.asarray(array)
            if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
                bad = array[~np.isfinite(array)].flat[0]
                raise ValueError(
                    f"The environment returned a non-finite {what} ({bad}) at step {self.num_timesteps}: "
                    f"{type(self).__name__} stopped before using it. Find where it comes from with SB3's "
                    "VecCheckNan wrapper (env = VecCheckNan(env, raise_exception=True)), or clip it in the environment."
                )

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
            raise ValueError(
                f"{type(self).__name__} does not support action_noise: its exploration is the actor's own Gaussian."
            )
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
        if self.env is not None and self.replay_buffer is not None and self.replay_buffer.n_envs != self.env.num_envs:
            raise ValueError(
                f"The replay buffer has {self.replay_buffer.n_envs} env column(s) but the environment has "
                f"{self.env.num_envs} envs (a buffer filled by load_dataset has one): continue online with "
                f"{self.replay_buffer.n_envs} env(s), or train with a new buffer (a model built for the new environment)."
            )
        if (reset_num_timesteps or self._last_obs is None) and self.replay_buffer is not None:
            self.replay_buffer.truncate_last_trajectory()
        total, callback = super()._setup_learn(total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar)
        # Later observations are checked once, as the next observation of the step that returned them.
        assert self._last_obs is not None
        self._check_finite_transition("observation", self._last_obs)
        return total, callback

    # Training
    def train(self, gradient_steps: int, batch_size: int = 256) -> None:
        """
        Run training phases, each ``n_critic_steps`` critic updates then ``n_actor_steps`` actor updates.
        ``learn`` calls it once per iteration.

        :param gradient_steps: Number of training phases (1 per iteration in ``learn``); when ``n_critic_steps``
            or ``n_actor_steps`` is -1, one phase, and ``gradient_steps`` is the number of interactions collected
            since the last one (SB3's ``gradient_steps=-1``), the count of those updates.
        :param batch_size: Minibatch size.
        """
        phases, n_critic, n_actor = 1, self.n_critic_steps, self.n_actor_steps
        if self._updates_per_interaction:
            n_critic = gradient_steps if n_critic == -1 else n_critic
            n_actor = gradient_steps if n_actor == -1 else n_actor
        else:
            phases = gradient_steps
        snapshot = self._snapshot()
        update_learning_rate(self.critic.optimizer, self.critic_lr_schedule(self._current_progress_remaining))
        update_learning_rate(self.actor.optimizer, self.actor_lr_schedule(self._current_progress_remaining))
        stats: dict[str, list[th.Tensor]] = defaultdict(list)
        for _ in range(phases):
            # Each phase trains one network; the other only evaluates (evaluation mode, as SB3 keeps its targets:
            # BatchNorm statistics do not move and Dropout is off on the target side).
            self.actor.set_training_mode(False)
            self.critic.set_training_mode(True)
            self._train_critic(batch_size, stats, n_critic)
            self.critic.set_training_mode(False)
            self.actor.set_training_mode(True)
            self._train_actor(batch_size, stats, n_actor)
        self.policy.set_training_mode(False)
        self._check_finite_training(stats, snapshot)
        self._n_updates += phases * (n_critic + n_actor)
        self._log_training_stats(stats)

    def _snapshot(self) -> dict[str, Any]:
        """:return: Copies of the networks' and optimizers' states, to restore if the phase goes non-finite."""
        return {
            "policy": {key: value.clone() for key, value in self.policy.state_dict().items()},
            "actor.optimizer": copy.deepcopy(self.actor.optimizer.state_dict()),
            "critic.optimizer": copy.deepcopy(self.critic.optimizer.state_dict()),
        }

    def _check_finite_training(self, stats: dict[str, list[th.Tensor]], snapshot: dict[str, Any]) -> None:
        """
        One check per training phase (no device synchronization inside the update loops): if a target or a loss
        went non-finite, restore the networks and optimizers as they were before the phase and raise.

        :param stats: The phase's per-update values.
        :param snapshot: The states before the phase (:meth:`_snapshot`).
        """
        for name in ("target", "critic_loss", "actor_loss"):
            if not stats[name]:
                continue
            values = th.cat([value.reshape(-1) for value in stats[name]])
            if bool(th.isfinite(values).all()):
                continue
            self.policy.load_state_dict(snapshot["policy"])
            self.actor.optimizer.load_state_dict(snapshot["actor.optimizer"])
            self.critic.optimizer.load_state_dict(snapshot["critic.optimizer"])
            raise FloatingPointError(
                f"{type(self).__name__}: a non-finite {name.replace('_', ' ')} appeared in the training phase at "
                f"step {self.num_timesteps}; the networks and optimizers are restored to their state before it. "
                "Check the observations and rewards for NaN or inf (SB3's VecCheckNan wrapper finds where they come "
                "from) and the hyperparameters (learning rates, beta, max_weight)."
            )

    def _train_critic(self, batch_size: int, stats: dict[str, list[th.Tensor]], n_updates: int | None = None) -> None:
        # All the phase's batches are drawn in a few chunks (the buffer does not change during a phase)
        n_updates = self.n_critic_steps if n_updates is None else n_updates
        fill_missing = self.current_dist_params if self._uses_next_dist_params else None
        batches = self.replay_buffer.sample_batches(
            n_updates, batch_size, env=self._vec_normalize_env, fill_missing=fill_missing
        )
        batch_iterator, done = iter(batches), 0
        while done < n_updates:
            # Hard copy of the critic into its target every target_update_interval updates. The target network is
            # then fixed until the next copy, so the targets of all the window's batches are computed before its
            # updates (hook of the algorithm: in a few large passes where it can), with the same random draws.
            window = list(itertools.islice(batch_iterator, min(self.target_update_interval, n_updates - done)))
            self.critic_target.load_state_dict(self.critic.state_dict())
            with th.no_grad(), self._autocast():
                targets = self.critic_window_targets(window)
            for data, target in zip(window, targets, strict=True):
                # Critic update: the scaled critic regresses the scaled target (the loss in float32)
                with self._autocast(trains=True):
                    prediction = self.critic(data.observations, data.actions).squeeze(-1).float()
                loss = F.mse_loss(prediction, target / self.q_scale)
                self.critic.optimizer.zero_grad()
                loss.backward()
                th.nn.utils.clip_grad_norm_(self.critic.parameters(), self._max_grad_norm)
                self.critic.optimizer.step()
                stats["critic_loss"].append(loss.detach())
                stats["q_mean"].append(prediction.detach().mean() * self.q_scale)
                stats["target"].append(target)
            done += len(window)

    def _train_actor(self, batch_size: int, stats: dict[str, list[th.Tensor]], n_updates: int | None = None) -> None:
        n_updates = self.n_actor_steps if n_updates is None else n_updates
        actor_loss_fn = self._hook("actor_loss")
        for data in self.sample_actor_batches(n_updates, batch_size):
            # Weighted regression of the actor (hooks of the algorithm)
            with self._autocast(trains=True):  # the hook evaluates its weights under _autocast() itself
                actor_loss = actor_loss_fn(data)
            self.actor.optimizer.zero_grad()
            actor_loss.loss.backward()
            th.nn.utils.clip_grad_norm_(self.actor.parameters(), self._max_grad_norm)
            self.actor.optimizer.step()
            stats["actor_loss"].append(actor_loss.loss.detach())
            stats["weight_mean"].append(actor_loss.state_weights.detach().mean())
            stats["weight_max"].append(actor_loss.weight_max.detach())

    def current_dist_params(self, obs: PyTorchObs) -> th.Tensor:
        """
        The current actor's distribution parameters (no gradient, under :meth:`_autocast`): what the critic target
        uses at a next state whose ``mu`` is not stored.

        :param obs: Observations.
        :return: ``(B, P)`` parameters, float32.
        """
        with th.no_grad(), self._autocast():
            return self.actor.dist_params(obs)

    def _hook(self, name: str) -> Callable[..., Any]:
        """
        :param name: A hook's name.
        :return: The bound hook; with ``compile_updates`` and a name in ``_compilable_hooks`` (a subclass may leave
            one out), compiled by ``torch.compile`` at its first call (rebuilt after a load, never saved).
        """
        if not self.compile_updates or name not in self._compilable_hooks:
            return getattr(self, name)
        if name not in self._compiled_hooks:
            self._compiled_hooks[name] = compile_hook(getattr(self, name), name, type(self).__name__)
        return self._compiled_hooks[name]

    def _autocast(self, trains: bool = False) -> th.autocast:
        """
        :param trains: Whether the pass trains (its output is differentiated) or only evaluates (targets, the
            advantages of the actor's weights, the actor's distribution where no ``mu`` is stored).
        :return: The context of the networks' passes: bfloat16 autocast with ``precision="bf16"`` (every pass) or
            ``"bf16-eval"`` (the passes that only evaluate), a no-op otherwise. Hooks cast network outputs to
            float32 (``.float()``) before any reduction.
        """
        enabled = self.precision == "bf16" or (self.precision == "bf16-eval" and not trains)
        return th.autocast(self.device.type, dtype=th.bfloat16, enabled=enabled)

    def critic_target_values(self, data: QWRReplayBufferSamples) -> th.Tensor:
        """
        Hook: the critic's regression target for a batch of multi-step sequences, in return units (float32; called
        under :meth:`_autocast` and ``no_grad``).

        :param data: A batch from the replay buffer's ``sample``.
        :return: ``(B,)`` targets.
        """
        raise NotImplementedError

    def critic_window_targets(self, batches: list[QWRReplayBufferSamples]) -> list[th.Tensor]:
        """
        Hook: the targets of the batches of one target window (between two copies of the critic into its target,
        so the target network is the same for all; called under :meth:`_autocast` and ``no_grad``). By default
        :meth:`critic_target_values` (compiled with ``compile_updates``) on each batch in turn; an algorithm may
        compute them in fewer, larger passes, drawing the same random numbers in the same order.

        :param batches: The window's batches, in update order.
        :return: Their ``(B,)`` targets, in the same order.
        """
        critic_target_values = self._hook("critic_target_values")
        return [critic_target_values(data) for data in batches]

    def sample_actor_batches(
        self, n_batches: int, batch_size: int
    ) -> Iterator[QWRReplayBufferSamples] | Iterator[QWRStateSamples]:
        """
        Hook: the batches of an actor phase, one per update (drawn in chunks by the replay buffer).

        :param n_batches: Number of batches (``n_actor_steps``).
        :param batch_size: Minibatch size.
        :return: The batches.
        """
        raise NotImplementedError

    def actor_loss(self, data: Any) -> ActorLoss:
        """
        Hook: the actor's weighted-regression loss on a batch of :meth:`sample_actor_batches` (float32; called under
        :meth:`_autocast`).

        :param data: The batch.
        :return: The loss and the advantage weights' statistics.
        """
        raise NotImplementedError

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
        self: SelfWeightedRegression,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 4,
        tb_log_name: str | None = None,
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfWeightedRegression:
        """
        SB3's ``learn``; the TensorBoard run is named after the algorithm (``QWR_1``, ``AWR_1``) unless
        ``tb_log_name`` says otherwise.
        """
        return super().learn(
            total_timesteps=total_timesteps,
            callback=callback,
            log_interval=log_interval,
            tb_log_name=type(self).__name__ if tb_log_name is None else tb_log_name,
            reset_num_timesteps=reset_num_timesteps,
            progress_bar=progress_bar,
        )

    # Exact resume (sb3_qwr.resume)
    def save_checkpoint(self, path: str | pathlib.Path) -> pathlib.Path:
        """
        Write a checkpoint from which :meth:`resume` continues this run exactly (see :mod:`sb3_qwr.resume`); call it
        between ``learn`` calls, or let :class:`sb3_qwr.resume.CheckpointCallback` call it during ``learn``.

        :param path: The checkpoint file (replaced atomically).
        :return: The path written.
        """
        return save_checkpoint(self, path)

    @classmethod
    def resume(
        cls: type[SelfWeightedRegression],
        path: str | pathlib.Path,
        env: VecEnv,
        device: th.device | str = "auto",
        trusted: bool = False,
    ) -> SelfWeightedRegression:
        """
        Rebuild a stopped run from its checkpoint on a freshly built environment of the same kind; continue it with
        ``model.learn(sb3_qwr.resume.remaining_timesteps(model), reset_num_timesteps=False)``.

        :param path: The checkpoint file.
        :param env: A ``DummyVecEnv`` built as the stopped run's; the checkpoint restores its episodes and seeds.
        :param device: Torch device of the resumed model.
        :param trusted: Unpickle without restriction (the file may then run code).
        :return: The resumed model.
        """
        return resume(path, env, algorithm=cls, device=str(device), trusted=trusted)  # type: ignore[return-value]

    # Saving
    def _excluded_save_params(self) -> list[str]:
        return [
            *super()._excluded_save_params(),
            "actor",
            "critic",
            "critic_target",
            "actor_lr_schedule",
            "critic_lr_schedule",
            "_last_dist_params",
            "_compiled_hooks",
        ]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        return ["policy", "actor.optimizer", "critic.optimizer"], []

    def load_replay_buffer(self, path: str | pathlib.Path | io.BufferedIOBase, truncate_last_traj: bool = True) -> None:
        """
        SB3's ``load_replay_buffer`` (it unpickles the file: load only files you trust), refusing a buffer this
        model cannot train on before it replaces the current one: one that does not store the sampling
        distributions (SAC's, DQN's, ...: read those with ``load_dataset``), or one whose multi-step horizon or
        spaces differ from the model's.

        :param path: Path to the pickled replay buffer.
        :param truncate_last_traj: Unused (HER only, as in SB3).
        """
        buffer = load_from_pkl(path, self.verbose)
        name = f"{type(self).__name__}.load_replay_buffer"
        if not isinstance(buffer, QWRReplayBuffer | DictQWRReplayBuffer):
            raise ValueError(
                f"{name}: the file holds a {type(buffer).__name__}, which does not store the distribution each action "
                "was sampled from. To train on its transitions, use model.load_dataset(path) (the paper's mu around "
                "each action) or sb3_qwr.offline.from_replay_buffer(path)."
            )
        if buffer.n_steps != self.n_step_horizon:
            raise ValueError(
                f"{name}: the buffer samples {buffer.n_steps}-step sequences but the model's n_step_horizon is "
                f"{self.n_step_horizon}: build the model with n_step_horizon={buffer.n_steps}, or set "
                f"replay_buffer.n_steps = {self.n_step_horizon} after loading to train with the model's horizon."
            )
        for what, ours, theirs in (
            ("observation", self.observation_space, buffer.observation_space),
            ("action", self.action_space, buffer.action_space),
        ):
            if ours != theirs:
                raise ValueError(f"{name}: the buffer's {what} space {theirs} is not the model's {ours}.")
        buffer.device = self.device
        self.replay_buffer = buffer

    # Offline training (Section 4.4 of the QWR paper)
    def load_dataset(
        self,
        dataset: Any,
        buffer_size: int | None = None,
        action_std: float | None = None,
        discrete_epsilon: float = DEFAULT_DISCRETE_EPSILON,
        minari_root: str | None = None,
        trusted: bool = False,
    ) -> OfflineDataset:
        """
        Validate a fixed dataset and replace the replay buffer by one holding it, for :meth:`learn_offline`.

        The dataset is checked against the model's spaces before anything is replaced (a ``ValueError`` names
        the malformed field). Each transition gets the paper's sampling policy ``mu`` (Section 4.4): a Gaussian
        centered on the dataset action (in SB3's normalized ``[-1, 1]`` units) with std ``action_std``
        (0.4) for ``Box`` actions; for ``Discrete`` actions the smoothed one-hot
        ``(1 - eps) * onehot(a) + eps / n`` (see :func:`sb3_qwr.common.dataset_buffer.dataset_dist_params`). The
        new buffer has one env column: to continue online afterwards, use a single environment.

        :param dataset: An :class:`~sb3_qwr.offline.OfflineDataset`; a path to an ``.npz`` file of arrays
            (``observations``, ``actions``, ``rewards``, ``terminations``, ``truncations``), to a replay buffer
            saved with ``save_replay_buffer`` (e.g. SAC's ``.pkl``) or to a Minari dataset directory; a Minari
            dataset id; a ``minari.MinariDataset``; or an SB3 replay buffer.
        :param buffer_size: Capacity of the new replay buffer; ``None`` sizes it to the dataset (a smaller one
            keeps the last transitions).
        :param action_std: Std of ``mu`` for ``Box`` actions; ``None`` uses the actor's fixed std (0.4 by default,
            the paper's). mu stands for the policy that collected the data: Q is learned for mu and the actor
            regresses on ``k`` actions sampled from it around each dataset action, weighted by how they compare with
            each other. Keep the paper's 0.4 even when the data was collected with less noise: measured with
            ``benchmarks/offline.py`` (``benchmarks/RESULTS.md``, "Offline") on 50K-step datasets from three SAC
            checkpoints each acting with noise 0.2, QWR with mu's std 0.4 against 0.2 scored a median of 853
            against 611 on HalfCheetah-v5 (4 and 3 seeds; dataset average 406, AWR 661), 807 against 550.5 on
            Walker2d-v5 (4 seeds against seed 0; dataset average 962, AWR 479) and 760 against 560 on Hopper-v5 (4
            and 3 seeds; dataset average 420, AWR 506); a wider 0.8 fell back to 498 on Walker2d (seed 0). Only on a
            small dataset (Hopper-v5, 7,473 steps collected with noise 0.1) was a std equal to the noise better (0.1:
            308, one seed; 0.4: median 205 of 4, below the dataset's average of 281). On Walker2d-v5 the final score of an
            offline run (QWR's and AWR's alike) swings by about 1000 from one iteration to the next: score several
            iterations (``learn_offline(callback=EvalCallback(..., eval_freq=1))``) or seeds before comparing.
        :param discrete_epsilon: Smoothing ``eps`` of ``mu`` for ``Discrete`` actions, in ``(0, 1)``.
        :param minari_root: Directory of the local Minari datasets to look a dataset id up in (default:
            ``MINARI_DATASETS_PATH`` or ``~/.minari/datasets``).
        :param trusted: For a saved replay buffer (a pickle): unpickle it as SB3 does, which runs whatever code
            the file names. By default such a file may only name the classes replay buffers are made of, and
            anything else raises ``sb3_qwr.offline.UntrustedPickleError`` before it runs. ``.npz`` files and
            Minari datasets never run code.
        :return: The loaded dataset.
        """
        if action_std is not None:
            check_positive("action_std", action_std, "the std of mu around each dataset action")
        if not 0.0 < check_finite("discrete_epsilon", discrete_epsilon) < 1.0:
            raise ValueError(f"`discrete_epsilon` must be in (0, 1), got {discrete_epsilon!r}.")
        offline_dataset = as_offline_dataset(dataset, minari_root=minari_root, trusted=trusted)
        distribution = self.actor.distribution
        mu_std: float | np.ndarray = DEFAULT_ACTION_STD
        if action_std is not None:
            mu_std = action_std
        elif isinstance(distribution, FixedStdGaussian):
            mu_std = distribution.std
        self.replay_buffer = make_replay_buffer(
            offline_dataset,
            self.observation_space,
            self.action_space,
            buffer_size=buffer_size,
            n_steps=self.n_step_horizon,
            device=self.device,
            action_std=mu_std,
            discrete_epsilon=discrete_epsilon,
            replay_buffer_class=self.replay_buffer_class,  # type: ignore[arg-type]
            replay_buffer_kwargs=self.replay_buffer_kwargs,
        )
        return offline_dataset

    def learn_offline(
        self: SelfWeightedRegression,
        n_iterations: int = 30,
        callback: MaybeCallback = None,
        log_interval: int = 1,
        progress_bar: bool = False,
        tb_log_name: str | None = None,
        reset_num_timesteps: bool = True,
    ) -> SelfWeightedRegression:
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
        :param tb_log_name: The name of the run for TensorBoard logging (default ``<Algorithm>_offline``).
        :param reset_num_timesteps: Whether to count the iterations from 0 in a new TensorBoard run (and reset
            ``num_timesteps``, as ``learn`` does) or to continue.
        :return: The trained model.
        """
        if isinstance(n_iterations, (bool, np.bool_)) or not isinstance(n_iterations, (int, np.integer)) or n_iterations < 0:
            raise ValueError(f"`n_iterations` must be an integer >= 0, got {n_iterations!r}.")
        if log_interval < 1:
            raise ValueError(f"`log_interval` must be >= 1, got {log_interval}.")
        if self._updates_per_interaction:
            raise ValueError(
                "n_critic_steps=-1 / n_actor_steps=-1 count updates per interaction collected, and offline training "
                "collects none: set them to numbers (model.n_critic_steps = model.n_actor_steps = 1000, the paper's)."
            )
        buffer = self.replay_buffer
        if buffer is None or buffer.size() == 0:
            raise ValueError("The replay buffer is empty: call model.load_dataset(...) before model.learn_offline(...).")
        if tb_log_name is None:
            tb_log_name = f"{type(self).__name__}_offline"

        start_time = time.time_ns()
        if reset_num_timesteps or not hasattr(self, "_offline_iteration"):
            self._offline_iteration = 0
        if reset_num_timesteps:
            self.num_timesteps = 0
            self._episode_num = 0
        if not self._custom_logger:
            self._logger = utils.configure_logger(self.verbose, self.tensorboard_log, tb_log_name, reset_num_timesteps)
        if isinstance(callback, list):
            callback = CallbackList(callback)
        if not isinstance(callback, BaseCallback):
            callback = ConvertCallback(callback)
        if progress_bar:
            callback = CallbackList([callback, OfflineProgressBarCallback(n_iterations)])
        callback.init_callback(self)

        callback.on_training_start(locals(), globals())
        for iteration in range(n_iterations):
            # Learning rate schedules see the progress through the offline iterations.
            self._current_progress_remaining = 1.0 - iteration / max(n_iterations, 1)
            self.train(1, self.batch_size)
            self._offline_iteration += 1
            step = self._offline_iteration
            if (iteration + 1) % log_interval == 0 or iteration + 1 == n_iterations:
                elapsed = max((time.time_ns() - start_time) / 1e9, 1e-9)
                self.logger.record("offline/iteration", step)
                self.logger.record("offline/n_transitions", buffer.size() * buffer.n_envs)
                self.logger.record("time/time_elapsed", int(elapsed), exclude="tensorboard")
                self.logger.dump(step=step)
            callback.update_locals(locals())
            if not callback.on_step():
                break
        callback.on_training_end()
        return self
