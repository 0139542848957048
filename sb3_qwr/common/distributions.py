"""
The two action distributions of QWR, described by flat parameter vectors that the replay buffer stores.

* :class:`FixedStdGaussian` for ``Box`` actions: ``N(mean, std^2)`` per dimension in SB3's normalized action
  space ``[-1, 1]``, with a fixed std (0.4 in the paper) that is stored beside the mean so that a dataset or a
  later change of std keeps each transition's own ``mu``. Parameters: ``[mean, std]``.
* :class:`CategoricalLogits` for ``Discrete`` actions. Parameters: the logits.

Both work on tensors of any leading shape; ``n_samples`` adds a sample axis just before the action axis.
"""

import math
from collections.abc import Sequence

import numpy as np
import torch as th
from gymnasium import spaces
from torch.nn import functional as F

from sb3_qwr.common.checks import check_positive

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
