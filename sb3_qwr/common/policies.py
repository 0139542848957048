"""
The networks of the weighted-regression algorithms and what they sample from, in one place:

* the actor's two distributions on flat parameter vectors (the vectors the replay buffer stores as ``mu``):
  :class:`FixedStdGaussian` for ``Box`` actions, ``N(mean, std^2)`` per dimension in SB3's normalized action
  space ``[-1, 1]`` with a fixed std (0.4 in the paper) stored beside the mean, so that a dataset or a later
  change of std keeps each transition's own ``mu`` (parameters ``[mean, std]``); :class:`CategoricalLogits` for
  ``Discrete`` actions (parameters: the logits). Both work on tensors of any leading shape; ``n_samples`` adds
  a sample axis just before the action axis;
* the :class:`Actor` (observation body, then the distribution's parameters);
* the critics: :class:`CriticNetwork` (their shared structure), QWR's :class:`QCritic` ``Q(s, a)`` with the
  action gate ``o * tanh(W a)`` of the paper (Section 4, Appendix 6.1; reference: ``trax/models/rl.py``) and
  AWR's :class:`VCritic` ``V(s)``;
* :class:`WeightedRegressionPolicy`, an actor with a critic and its target copy, whose critic class each
  algorithm's policy chooses (``critic_class``).
"""

import functools
import math
from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import BaseModel, BasePolicy
from stable_baselines3.common.preprocessing import is_image_space, is_image_space_channels_first
from stable_baselines3.common.torch_layers import (
    BaseFeaturesExtractor,
    FlattenExtractor,
    create_mlp,
    get_actor_critic_arch,
)
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from torch import nn
from torch.nn import functional as F

from sb3_qwr.common.checks import check_positive
from sb3_qwr.common.functional import tanh_gate
from sb3_qwr.common.torch_layers import is_convolutional

#: Std of the Gaussian actor and of a dataset's ``mu``, in SB3's normalized ``[-1, 1]`` action units: the paper's
#: 0.4 (Section 4.4, Table 4), the one default of the package.
DEFAULT_ACTION_STD = 0.4
#: Smoothing ``eps`` of the ``mu`` centred on a ``Discrete`` action (the offline convention chosen here).
DEFAULT_DISCRETE_EPSILON = 0.01


class ActionDistribution:
    """Interface of the actor's distributions (parameters in, samples and log-probabilities out)."""

    param_dim: int

    def params(self, head_output: th.Tensor) -> th.Tensor:
        """Parameters from the actor head's output, shape ``(..., param_dim)``."""
        raise NotImplementedError

    def sample(self, params: th.Tensor, n_samples: int) -> th.Tensor:
        """``n_samples`` actions per state: ``(..., n_samples, action_dim)``; class indices for Discrete."""
        raise NotImplementedError

    def mode(self, params: th.Tensor) -> th.Tensor:
        """The most likely action: the mean (Box) or the arg-max (Discrete)."""
        raise NotImplementedError

    def log_prob(self, params: th.Tensor, actions: th.Tensor) -> th.Tensor:
        """
        Log-density of ``actions`` of shape ``(..., k, action_dim)`` under ``params`` of shape ``(..., P)``.

        :return: ``(..., k)``.
        """
        raise NotImplementedError


class FixedStdGaussian(ActionDistribution):
    """
    Diagonal Gaussian with a fixed standard deviation (not learned), as in the paper.

    :param action_dim: Number of action dimensions.
    :param std: The fixed standard deviation in the normalized action space: one for every dimension, or one per
        dimension (``action_dim`` values).
    """

    def __init__(self, action_dim: int, std: float | Sequence[float] | np.ndarray = DEFAULT_ACTION_STD):
        stds = np.asarray(std, dtype=np.float64).reshape(-1)
        if stds.size not in (1, action_dim):
            raise ValueError(
                f"`action_std` has {stds.size} values for {action_dim} action dimensions: give 1 or {action_dim}."
            )
        for value in stds:
            check_positive("action_std", float(value), "the fixed std of the Gaussian actor, in [-1, 1] action units")
        self.action_dim = action_dim
        #: The std, a float when it is the same in every dimension, else an array of ``action_dim``.
        self.std: float | np.ndarray = float(stds[0]) if stds.size == 1 else stds.astype(np.float32)
        self.param_dim = 2 * action_dim
        self._std_tensors: dict[tuple[th.device, th.dtype], th.Tensor] = {}

    def params(self, head_output: th.Tensor) -> th.Tensor:
        if isinstance(self.std, float):
            return th.cat([head_output, th.full_like(head_output, self.std)], dim=-1)
        key = (head_output.device, head_output.dtype)
        if key not in self._std_tensors:  # one host-to-device copy per device and dtype
            self._std_tensors[key] = th.as_tensor(self.std, device=head_output.device, dtype=head_output.dtype)
        return th.cat([head_output, self._std_tensors[key].expand_as(head_output)], dim=-1)

    def split(self, params: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        """Mean and std, each of shape ``(..., action_dim)``."""
        return params[..., : self.action_dim], params[..., self.action_dim :]

    def sample(self, params: th.Tensor, n_samples: int) -> th.Tensor:
        mean, std = self.split(params)
        mean, std = mean.unsqueeze(-2), std.unsqueeze(-2)
        noise = th.randn((*mean.shape[:-2], n_samples, self.action_dim), device=params.device, dtype=params.dtype)
        return mean + std * noise

    def mode(self, params: th.Tensor) -> th.Tensor:
        return self.split(params)[0]

    def log_prob(self, params: th.Tensor, actions: th.Tensor) -> th.Tensor:
        mean, std = self.split(params)
        mean, std = mean.unsqueeze(-2), std.unsqueeze(-2)
        z = (actions - mean) / std
        return (-0.5 * z.square() - th.log(std) - 0.5 * math.log(2 * math.pi)).sum(dim=-1)


class CategoricalLogits(ActionDistribution):
    """
    Categorical distribution over ``n`` actions given by logits.

    :param n_actions: Number of actions.
    """

    def __init__(self, n_actions: int):
        self.n_actions = n_actions
        self.param_dim = n_actions

    def params(self, head_output: th.Tensor) -> th.Tensor:
        return head_output

    def probs(self, params: th.Tensor) -> th.Tensor:
        """``mu(a|s)`` for every action, ``(..., n)``."""
        return F.softmax(params, dim=-1)

    def log_probs(self, params: th.Tensor) -> th.Tensor:
        """``log mu(a|s)`` for every action, ``(..., n)``."""
        return F.log_softmax(params, dim=-1)

    def sample(self, params: th.Tensor, n_samples: int) -> th.Tensor:
        flat = params.reshape(-1, self.n_actions)
        draws = th.multinomial(self.probs(flat), n_samples, replacement=True)
        return draws.reshape(*params.shape[:-1], n_samples, 1)

    def mode(self, params: th.Tensor) -> th.Tensor:
        return params.argmax(dim=-1, keepdim=True)

    def log_prob(self, params: th.Tensor, actions: th.Tensor) -> th.Tensor:
        log_p = self.log_probs(params).unsqueeze(-2).expand(*actions.shape[:-1], self.n_actions)
        return log_p.gather(-1, actions.long()).squeeze(-1)


def make_distribution(
    action_space: spaces.Space, action_std: float | Sequence[float] | np.ndarray = DEFAULT_ACTION_STD
) -> ActionDistribution:
    """
    The QWR distribution for an action space.

    :param action_space: ``Box`` or ``Discrete``.
    :param action_std: Fixed std of the Gaussian in normalized units, one or one per dimension (``Box`` only).
    :return: The distribution.
    """
    if isinstance(action_space, spaces.Box):
        return FixedStdGaussian(int(math.prod(action_space.shape)), action_std)
    if isinstance(action_space, spaces.Discrete):
        return CategoricalLogits(int(action_space.n))
    raise ValueError(
        f"The weighted-regression actor supports Box and Discrete action spaces, not {type(action_space).__name__}: "
        "wrap the environment so that it exposes one of them."
    )


def centered_mu(
    actions: np.ndarray,
    action_space: spaces.Space,
    action_std: float | np.ndarray = DEFAULT_ACTION_STD,
    discrete_epsilon: float = DEFAULT_DISCRETE_EPSILON,
) -> np.ndarray:
    """
    Parameters of a sampling distribution ``mu`` centered on given actions, for transitions whose real ``mu`` is
    unknown (datasets, transitions added to a replay buffer by hand): the convention of the paper's offline
    experiments (Section 4.4). ``Box``: a Gaussian ``[mean = action, std = action_std]`` in SB3's normalized
    ``[-1, 1]`` units, the units the replay buffer stores. ``Discrete``: the logits of the smoothed one-hot
    ``(1 - eps) * onehot(a) + eps / n`` (see :func:`sb3_qwr.offline.buffer.dataset_mu`).

    :param actions: ``(N, *action_shape)`` actions, ``Box`` ones in ``[-1, 1]`` units, ``Discrete`` ones as
        indices from 0.
    :param action_space: ``Box`` or ``Discrete``.
    :param action_std: Std of the Gaussian (``Box``), one or one per dimension.
    :param discrete_epsilon: Smoothing ``eps`` in ``(0, 1)`` (``Discrete``).
    :return: ``(N, P)`` float32 parameters.
    """
    actions = np.asarray(actions)
    if isinstance(action_space, spaces.Box):
        stds = np.asarray(action_std, dtype=np.float64).reshape(-1)
        for value in stds:
            check_positive("action_std", float(value), "the std of mu around each action")
        means = actions.reshape(len(actions), -1).astype(np.float32)
        return np.concatenate([means, np.broadcast_to(stds.astype(np.float32), means.shape)], axis=1)
    if isinstance(action_space, spaces.Discrete):
        if not 0.0 < discrete_epsilon < 1.0:
            raise ValueError(f"`discrete_epsilon` must be in (0, 1), got {discrete_epsilon}.")
        n_actions = int(action_space.n)
        index = actions.reshape(len(actions)).astype(np.int64)
        probs = np.full((len(actions), n_actions), discrete_epsilon / n_actions)
        probs[np.arange(len(actions)), index] += 1.0 - discrete_epsilon
        return np.log(probs).astype(np.float32)
    raise ValueError(f"Action space {action_space} is not supported: the actor needs Box or Discrete.")


NetworkT = TypeVar("NetworkT", bound=nn.Module)


class ImageInputMixin:
    """
    The image path of the actor and the critics: SB3's image observations (``uint8`` frames, channels first, as
    after ``VecTransposeImage``) are laid out ``channels_last`` while still ``uint8`` (oneDNN's layout for
    convolutions on the CPU, at a quarter of the bytes of a float copy) and converted to floating point once, in the
    autocast dtype when a bfloat16 autocast is on (the cast the first convolution would make anyway), then divided
    by 255 as SB3's ``preprocess_obs`` does. Other observations go through SB3's ``extract_features`` unchanged.
    """

    observation_space: spaces.Space
    normalize_images: bool

    def extract_features(self, obs: PyTorchObs, features_extractor: BaseFeaturesExtractor) -> th.Tensor:
        """
        :param obs: Observations.
        :param features_extractor: The extractor to run on them.
        :return: The features.
        """
        if isinstance(obs, th.Tensor) and obs.dtype == th.uint8 and obs.dim() == 4 and self.images_channels_first:
            device = obs.device.type
            dtype = th.get_autocast_dtype(device) if th.is_autocast_enabled(device) else th.float32
            return features_extractor(obs.contiguous(memory_format=th.channels_last).to(dtype) / 255.0)
        return super().extract_features(obs, features_extractor)  # type: ignore[misc]

    @functools.cached_property
    def images_channels_first(self) -> bool:
        """Whether the observations are images SB3 normalizes, with the channels first (read once per network)."""
        space = self.observation_space
        return (
            self.normalize_images
            and is_image_space(space, check_channels=False, normalized_image=False)
            and is_image_space_channels_first(space)  # type: ignore[arg-type]
        )


class Actor(ImageInputMixin, BasePolicy):
    """
    The actor of QWR and AWR: observation body, then a linear head giving the Gaussian mean (``Box``; the std is fixed)
    or the categorical logits (``Discrete``).

    For ``Box`` the distribution lives in SB3's normalized action space ``[-1, 1]``; ``forward`` clips the
    action into it and ``predict`` maps it to the environment's bounds.

    :param observation_space: Observation space.
    :param action_space: Action space (``Box`` or ``Discrete``).
    :param net_arch: Hidden layers after the features extractor.
    :param features_extractor: Network to extract features.
    :param features_dim: Number of features.
    :param activation_fn: Activation function.
    :param action_std: Fixed std of the Gaussian in normalized units, one or one per dimension (``Box`` only).
    :param normalize_images: Whether to divide images by 255.
    :param head_init_range: If set, the head's weights start uniform in ``[-r, r]`` and its bias at zero;
        ``None`` keeps PyTorch's default ``Linear`` initialization.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        net_arch: list[int],
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        activation_fn: type[nn.Module] = nn.ReLU,
        action_std: float | list[float] = DEFAULT_ACTION_STD,
        normalize_images: bool = True,
        head_init_range: float | None = None,
    ):
        if head_init_range is not None and not head_init_range > 0:
            raise ValueError(
                f"head_init_range must be > 0 (the half-width of the uniform initialization of the policy head), "
                f"got {head_init_range}; pass None for PyTorch's default initialization"
            )
        super().__init__(
            observation_space,
            action_space,
            features_extractor=features_extractor,
            normalize_images=normalize_images,
            squash_output=isinstance(action_space, spaces.Box),
        )
        self.net_arch = net_arch
        self.features_dim = features_dim
        self.activation_fn = activation_fn
        self.action_std = action_std
        self.distribution: ActionDistribution = make_distribution(action_space, action_std)
        head_dim = self.distribution.param_dim // 2 if isinstance(action_space, spaces.Box) else self.distribution.param_dim
        self.latent_pi = nn.Sequential(*create_mlp(features_dim, -1, net_arch, activation_fn))
        last_dim = net_arch[-1] if len(net_arch) > 0 else features_dim
        self.head = nn.Linear(last_dim, head_dim)
        self.head_init_range = head_init_range
        if head_init_range is not None:
            nn.init.uniform_(self.head.weight, -head_init_range, head_init_range)
            nn.init.zeros_(self.head.bias)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            {
                "net_arch": self.net_arch,
                "features_dim": self.features_dim,
                "activation_fn": self.activation_fn,
                "action_std": self.action_std,
                "head_init_range": self.head_init_range,
                "features_extractor": self.features_extractor,
            }
        )
        return data

    def dist_params(self, obs: PyTorchObs) -> th.Tensor:
        """
        Parameters of ``pi(.|s)``: ``[mean, std]`` (Box) or logits (Discrete), shape ``(B, P)``, float32.

        :param obs: Observations.
        """
        features = self.extract_features(obs, self.features_extractor)
        # float32 whatever the autocast: the distribution's math (log-densities, softmax) needs its precision.
        return self.distribution.params(self.head(self.latent_pi(features)).float())

    def log_prob(self, obs: PyTorchObs, actions: th.Tensor) -> th.Tensor:
        """
        ``log pi(a_j | s)`` for ``k`` actions per state.

        :param obs: ``B`` observations.
        :param actions: ``(B, k, action_dim)`` (class indices of shape ``(B, k, 1)`` for Discrete).
        :return: ``(B, k)``.
        """
        return self.distribution.log_prob(self.dist_params(obs), actions)

    def forward(self, obs: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        params = self.dist_params(obs)
        actions = self.distribution.mode(params) if deterministic else self.distribution.sample(params, 1).squeeze(-2)
        if isinstance(self.action_space, spaces.Box):
            return actions.clamp(-1.0, 1.0)
        return actions.squeeze(-1)

    def _predict(self, observation: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        return self(observation, deterministic)


class CriticNetwork(ImageInputMixin, BaseModel):
    """
    The critics' shared structure: ``head(LayerNorm(gate(Linear(body(s)))))``, the observation body, a ``Linear``
    to ``embed_dim``, LayerNorm as in the reference code, ``critic_head_arch`` ReLU layers and a scalar output.
    A subclass adds its action gate through :meth:`build_action_gate` (QWR's ``Q(s, a)``; AWR's ``V(s)`` has none).
    The output is ``(1 - gamma)`` times the value: the reference code regresses its critics on targets scaled by
    ``(1 - gamma)``, and the algorithms scale the outputs back.

    :param observation_space: Observation space.
    :param action_space: Action space.
    :param net_arch: Hidden layers of the observation body after the features extractor.
    :param features_extractor: Network to extract features.
    :param features_dim: Number of features.
    :param activation_fn: Activation function.
    :param embed_dim: Width of the layer before the LayerNorm (the width of QWR's action gate).
    :param critic_head_arch: Hidden layers after the LayerNorm (default ``[256]``).
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
        embed_dim: int = 256,
        critic_head_arch: list[int] | None = None,
        normalize_images: bool = True,
    ):
        super().__init__(
            observation_space, action_space, features_extractor=features_extractor, normalize_images=normalize_images
        )
        critic_head_arch = [256] if critic_head_arch is None else critic_head_arch
        body = create_mlp(features_dim, -1, net_arch, activation_fn)
        body_dim = net_arch[-1] if len(net_arch) > 0 else features_dim
        self.obs_body = nn.Sequential(*body, nn.Linear(body_dim, embed_dim))
        self.build_action_gate(action_space, embed_dim)
        self.norm = nn.LayerNorm(embed_dim)
        self.head = nn.Sequential(*create_mlp(embed_dim, 1, critic_head_arch, activation_fn))

    def build_action_gate(self, action_space: spaces.Space, embed_dim: int) -> None:
        """
        Hook: create the modules through which the action enters (none for a state-value critic).

        :param action_space: Action space.
        :param embed_dim: Width of the gate.
        """

    def embed_obs(self, obs: PyTorchObs) -> th.Tensor:
        """
        The observation embedding ``Linear(body(s))``, shape ``(B, embed_dim)``.

        :param obs: Observations.
        """
        return self.obs_body(self.extract_features(obs, self.features_extractor))

    @property
    def output_layer(self) -> nn.Linear:
        """The scalar output layer: the last module of ``head``."""
        output = self.head[-1]
        assert isinstance(output, nn.Linear), f"the critic's head ends with {type(output).__name__}, not its output layer"
        return output

    def head_output(self, hidden: th.Tensor) -> th.Tensor:
        """
        The head on the normalized embedding, its last (scalar) layer in float32 whatever the autocast: the
        advantages are small differences of values near ``(1 - gamma) Q``, and a bfloat16 output (8 bits of
        mantissa) rounds them by a sizeable fraction (measured: ``docs/qwr.md``, "Speed"). A no-op with
        ``precision="fp32"``.

        :param hidden: ``(..., embed_dim)`` after the LayerNorm (and the action gate).
        :return: ``(..., 1)`` scaled values, float32.
        """
        if not th.is_autocast_enabled(hidden.device.type):
            return self.head(hidden)
        *layers, output = self.head
        for layer in layers:
            hidden = layer(hidden)
        with th.autocast(hidden.device.type, enabled=False):
            return output(hidden.float())


class QCritic(CriticNetwork):
    """
    Q-network of QWR: ``Q(s, a) = head(LayerNorm(Linear(body(s)) * tanh(W a)))``.

    The action enters through a multiplicative gate (``W`` is a linear map for ``Box`` actions and an
    embedding for ``Discrete`` actions), then LayerNorm as in the reference code, then ``critic_head_arch``
    ReLU layers and a scalar output. The observation body runs once per state and is broadcast over any number
    of actions (:meth:`embed_obs` + :meth:`q_values`), which is what makes the sampled backups cheap. The output
    is ``(1 - gamma) Q`` (:class:`~sb3_qwr.QWR` scales it back). Parameters as in
    :class:`CriticNetwork`, ``embed_dim`` being the width of the gate.
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


class VCritic(CriticNetwork):
    """
    State-value network of AWR: ``V(s) = head(LayerNorm(Linear(body(s))))``.

    It is :class:`QCritic` without the action gate ``* tanh(W a)`` (the same
    :class:`CriticNetwork`, whose parameters it takes), so that AWR and QWR compare
    critics of the same size. Like ``QCritic`` the output is ``(1 - gamma) V`` (:class:`~sb3_qwr.AWR` scales it
    back).
    """

    def forward(self, obs: PyTorchObs, actions: th.Tensor | None = None) -> th.Tensor:
        """
        Scaled ``V(s)``.

        :param obs: ``B`` observations.
        :param actions: Ignored. Accepted so that the value network can stand where QWR's training loop calls
            ``critic(observations, actions)``.
        :return: ``(B, 1)``.
        """
        return self.head_output(self.norm(self.embed_obs(obs)))


#: Values of the policy's ``weight_init``.
WEIGHT_INITS = ("pytorch", "reference")
#: Values of the policy's ``action_std_units``.
ACTION_STD_UNITS = ("normalized", "env")
#: Half-width of the uniform initialization of the output layers in the authors' reference code.
REFERENCE_OUTPUT_RANGE = 0.01


def normalized_action_std(action_std: float, action_space: spaces.Space, units: str) -> float | list[float]:
    """
    :param action_std: The Gaussian's std in ``units``.
    :param action_space: The action space (``Box``: its bounds convert units; otherwise unused).
    :param units: ``"normalized"`` (SB3's ``[-1, 1]`` units) or ``"env"`` (the environment's units).
    :return: The std in normalized units: ``action_std`` itself, or one value per dimension for ``"env"``.
    """
    if units == "normalized" or not isinstance(action_space, spaces.Box):
        return action_std
    half_range = (action_space.high.astype(np.float64) - action_space.low.astype(np.float64)).reshape(-1) / 2.0
    return [float(action_std / value) for value in half_range]


def reference_init(network: nn.Module, output: nn.Linear, output_range: float | None) -> None:
    """
    The initialization of the authors' reference code (trax's ``Dense``): Glorot-uniform weights and normal
    biases of std 1e-6 in every ``Linear`` and ``Conv2d`` layer, then the output layer's weights uniform in
    ``[-output_range, output_range]``.

    :param network: The network, initialized in place.
    :param output: Its output layer.
    :param output_range: Half-width of the output layer's weights (``None``: Glorot-uniform as the others).
    """
    for module in network.modules():
        if isinstance(module, nn.Linear | nn.Conv2d):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.normal_(module.bias, std=1e-6)
    if output_range is not None:
        nn.init.uniform_(output.weight, -output_range, output_range)


def default_optimizer_kwargs(optimizer_class: type[th.optim.Optimizer]) -> dict[str, Any]:
    """
    The optimizer's keyword arguments when the user gives none: for Adam, the reference code's ``eps=1e-5`` and
    ``fused=True`` (PyTorch >= 2.4, on the CPU and CUDA): the same Adam update computed in one kernel per step
    instead of a dozen per parameter tensor (faster: ``docs/qwr.md``, "Speed").

    :param optimizer_class: The optimizer class.
    :return: Its default keyword arguments.
    """
    if optimizer_class is not th.optim.Adam:
        return {}
    fused_available = tuple(int(part) for part in th.__version__.split(".")[:2]) >= (2, 4)
    return {"eps": 1e-5, "fused": True} if fused_available else {"eps": 1e-5}


class WeightedRegressionPolicy(BasePolicy):
    """
    Policy base of the weighted-regression algorithms: an :class:`Actor`, a critic and its target copy, each
    network with its own optimizer. A subclass says which critic through ``critic_class`` (QWR's ``Q(s, a)``,
    AWR's ``V(s)``); everything else is shared.

    :param observation_space: Observation space.
    :param action_space: Action space (``Box`` or ``Discrete``).
    :param lr_schedule: Learning rate schedule used to create the optimizers (QWR sets the actor and critic
        learning rates itself at every iteration).
    :param net_arch: Hidden layers after the features extractor, for the actor (``pi``) and the critic's
        observation body (``qf``): a list for both or ``dict(pi=[...], qf=[...])``. Default ``[256, 256]``
        for MLP (the paper's MuJoCo networks) and ``[]`` after the Nature CNN.
    :param activation_fn: Activation function.
    :param action_std: Fixed std of the Gaussian actor in the normalized action space (paper: 0.4).
    :param action_embed_dim: Width of the critic's action gate ``o * tanh(W a)``.
    :param critic_head_arch: Critic layers after the gate and LayerNorm (default ``[256]``).
    :param features_extractor_class: Features extractor to use; ``None`` takes the class's
        ``default_features_extractor_class`` (``FlattenExtractor``, the Nature CNN for ``CnnPolicy``, SB3's
        ``CombinedExtractor`` for ``MultiInputPolicy``).
    :param features_extractor_kwargs: Keyword arguments to pass to the features extractor.
    :param normalize_images: Whether to divide images by 255.
    :param optimizer_class: The optimizer to use (Adam).
    :param optimizer_kwargs: Keyword arguments of the optimizer, excluding the learning rate
        (default for Adam: ``eps=1e-5`` as in the reference code, and PyTorch's fused implementation, which
        computes the same update in one kernel; see :func:`default_optimizer_kwargs`).
    :param head_init_range: If set, the actor's head (Gaussian mean or logits) starts with weights uniform in
        ``[-r, r]`` and a zero bias, as the reference code's ``Policy.head_init_range`` (0.01 in its MuJoCo
        configs). Default ``None``: PyTorch's ``Linear`` initialization, that of every published sb3-qwr result.
    :param weight_init: ``"pytorch"`` (default: PyTorch's initialization of every layer) or ``"reference"``: the
        authors' reference code's (trax's ``Dense`` defaults): Glorot-uniform weights and near-zero biases
        (normal, std 1e-6) in every ``Linear`` and ``Conv2d`` layer, and the output layers of the actor and of the
        critic uniform in ``[-0.01, 0.01]`` (the actor's range is ``head_init_range`` when given).
    :param action_std_units: Units of ``action_std``: ``"normalized"`` (default: SB3's ``[-1, 1]`` action units)
        or ``"env"``: the environment's own units, as in the authors' reference code, which explores with std 0.4
        around actions in the environment's units. The std then differs per dimension,
        ``action_std / ((high - low) / 2)`` in normalized units: 0.4 on HalfCheetah, Hopper and Walker2d (bounds
        ±1), 1.0 on Humanoid (bounds ±0.4).
    """

    actor: Actor
    critic: CriticNetwork
    critic_target: CriticNetwork
    #: The critic's class: the hook of an algorithm's policy (QWR's ``QCritic``, AWR's ``VCritic``).
    critic_class: ClassVar[type[CriticNetwork]]
    #: Features extractor when ``features_extractor_class`` is ``None`` (set by ``CnnPolicy`` and ``MultiInputPolicy``).
    default_features_extractor_class: ClassVar[type[BaseFeaturesExtractor]] = FlattenExtractor

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        action_std: float = DEFAULT_ACTION_STD,
        action_embed_dim: int = 256,
        critic_head_arch: list[int] | None = None,
        features_extractor_class: type[BaseFeaturesExtractor] | None = None,
        features_extractor_kwargs: dict[str, Any] | None = None,
        normalize_images: bool = True,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        head_init_range: float | None = None,
        weight_init: str = "pytorch",
        action_std_units: str = "normalized",
    ):
        if weight_init not in WEIGHT_INITS:
            raise ValueError(f"Unknown `weight_init` {weight_init!r}: use one of {WEIGHT_INITS}.")
        if action_std_units not in ACTION_STD_UNITS:
            raise ValueError(f"Unknown `action_std_units` {action_std_units!r}: use one of {ACTION_STD_UNITS}.")
        if optimizer_kwargs is None:
            optimizer_kwargs = default_optimizer_kwargs(optimizer_class)
        if features_extractor_class is None:
            features_extractor_class = self.default_features_extractor_class
        super().__init__(
            observation_space,
            action_space,
            features_extractor_class,
            features_extractor_kwargs,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
            normalize_images=normalize_images,
            squash_output=isinstance(action_space, spaces.Box),
        )
        if net_arch is None:
            net_arch = [] if is_convolutional(features_extractor_class) else [256, 256]
        actor_arch, critic_arch = get_actor_critic_arch(net_arch)
        self.net_arch = net_arch
        self.activation_fn = activation_fn
        self.action_std = action_std
        self.action_embed_dim = action_embed_dim
        self.critic_head_arch = [256] if critic_head_arch is None else critic_head_arch
        net_args = {
            "observation_space": self.observation_space,
            "action_space": self.action_space,
            "activation_fn": activation_fn,
            "normalize_images": normalize_images,
        }
        self.head_init_range = head_init_range
        self.weight_init = weight_init
        self.action_std_units = action_std_units
        if weight_init == "reference" and head_init_range is None:
            head_init_range = REFERENCE_OUTPUT_RANGE
        self._actor_head_range = head_init_range
        self.actor_kwargs = {
            **net_args,
            "net_arch": actor_arch,
            "action_std": normalized_action_std(action_std, action_space, action_std_units),
            "head_init_range": head_init_range,
        }
        self.critic_kwargs = {
            **net_args,
            "net_arch": critic_arch,
            "embed_dim": action_embed_dim,
            "critic_head_arch": self.critic_head_arch,
        }
        self._build(lr_schedule)

    def _build(self, lr_schedule: Schedule) -> None:
        self.actor = self.make_actor()
        self.actor.optimizer = self.optimizer_class(  # type: ignore[call-arg]
            self.actor.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
        )
        self.critic = self.make_critic()
        if self.weight_init == "reference":
            reference_init(self.actor, self.actor.head, self._actor_head_range)
            reference_init(self.critic, self.critic.output_layer, REFERENCE_OUTPUT_RANGE)
        self.critic.optimizer = self.optimizer_class(  # type: ignore[call-arg]
            self.critic.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
        )
        self.critic_target = self.make_critic()
        self.critic_target.load_state_dict(self.critic.state_dict())
        self.critic_target.set_training_mode(False)
        self.critic_target.requires_grad_(False)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            {
                "net_arch": self.net_arch,
                "activation_fn": self.activation_fn,
                "action_std": self.action_std,
                "action_embed_dim": self.action_embed_dim,
                "critic_head_arch": self.critic_head_arch,
                "head_init_range": self.head_init_range,
                "weight_init": self.weight_init,
                "action_std_units": self.action_std_units,
                "lr_schedule": self._dummy_schedule,
                "optimizer_class": self.optimizer_class,
                "optimizer_kwargs": self.optimizer_kwargs,
                "features_extractor_class": self.features_extractor_class,
                "features_extractor_kwargs": self.features_extractor_kwargs,
            }
        )
        return data

    def make_actor(self, features_extractor: BaseFeaturesExtractor | None = None) -> Actor:
        actor_kwargs = self._update_features_extractor(self.actor_kwargs, features_extractor)
        return self._placed(Actor(**actor_kwargs))

    def make_critic(self, features_extractor: BaseFeaturesExtractor | None = None) -> CriticNetwork:
        """
        Build the critic (and, called again, its target copy): a ``critic_class`` from ``self.critic_kwargs``.

        :param features_extractor: A features extractor to share, or ``None`` for a new one.
        :return: The critic, on the policy's device.
        """
        critic_kwargs = self._update_features_extractor(self.critic_kwargs, features_extractor)
        return self._placed(self.critic_class(**critic_kwargs))

    def _placed(self, network: NetworkT) -> NetworkT:
        """
        :param network: A new actor or critic.
        :return: It on the policy's device; for SB3's image observations with its convolution weights
            ``channels_last``, the layout its inputs get (:class:`ImageInputMixin`).
        """
        network = network.to(self.device)
        if isinstance(network, ImageInputMixin) and network.images_channels_first:
            network = network.to(memory_format=th.channels_last)  # type: ignore[call-overload]
        return network

    def forward(self, obs: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        return self._predict(obs, deterministic=deterministic)

    def _predict(self, observation: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        return self.actor(observation, deterministic)

    def set_training_mode(self, mode: bool) -> None:
        """
        Put the actor and critic in training or evaluation mode (the target critic stays in evaluation mode).

        :param mode: True for training mode.
        """
        self.actor.set_training_mode(mode)
        self.critic.set_training_mode(mode)
        self.training = mode
