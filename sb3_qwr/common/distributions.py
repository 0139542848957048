"""
The two action distributions of QWR, described by flat parameter vectors that the replay buffer stores.

* :class:`FixedStdGaussian` for ``Box`` actions: ``N(mean, std^2)`` per dimension in SB3's normalized action
  space ``[-1, 1]``, with a fixed std (0.4 in the paper) that is stored beside the mean so that a dataset or a
  later change of std keeps each transition's own ``mu``. Parameters: ``[mean, std]``.
* :class:`CategoricalLogits` for ``Discrete`` actions. Parameters: the logits.

Both work on tensors of any leading shape; ``n_samples`` adds a sample axis just before the action axis.
"""

import math

import torch as th
from gymnasium import spaces
from torch.nn import functional as F


class ActionDistribution:
    """Interface of the distributions of QWR (parameters in, samples and log-probabilities out)."""

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
    :param std: The fixed standard deviation in the normalized action space.
    """

    def __init__(self, action_dim: int, std: float = 0.4):
        if std <= 0:
            raise ValueError(f"The Gaussian std must be > 0, got {std}.")
        self.action_dim = action_dim
        self.std = std
        self.param_dim = 2 * action_dim

    def params(self, head_output: th.Tensor) -> th.Tensor:
        return th.cat([head_output, th.full_like(head_output, self.std)], dim=-1)

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


def make_distribution(action_space: spaces.Space, action_std: float = 0.4) -> ActionDistribution:
    """
    The QWR distribution for an action space.

    :param action_space: ``Box`` or ``Discrete``.
    :param action_std: Fixed std of the Gaussian (``Box`` only).
    :return: The distribution.
    """
    if isinstance(action_space, spaces.Box):
        return FixedStdGaussian(int(math.prod(action_space.shape)), action_std)
    if isinstance(action_space, spaces.Discrete):
        return CategoricalLogits(int(action_space.n))
    raise ValueError(
        f"QWR supports Box and Discrete action spaces, not {type(action_space).__name__}: "
        "wrap the environment so that it exposes one of them."
    )
