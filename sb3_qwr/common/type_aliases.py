"""
The data types the weighted-regression algorithms pass around (as SB3's ``common/type_aliases.py``): the replay
buffer's batches and what an actor update returns.
"""

from typing import NamedTuple

import torch as th
from stable_baselines3.common.type_aliases import TensorDict


class SequenceSamples(NamedTuple):
    """
    A batch for the critic: transitions ``i`` with the ``T`` transitions that follow them.

    ``B`` is the batch size, ``T`` the horizon, ``P`` the number of distribution parameters.

    :param observations: ``s_i``, shape ``(B, *obs_shape)`` (a dict of such tensors for Dict observations).
    :param actions: ``a_i``, shape ``(B, action_dim)``.
    :param mu: parameters of ``mu(.|s_i)``, shape ``(B, P)``.
    :param next_observations: next observation of transitions ``i .. i+T-1``, shape ``(B, T, *obs_shape)``.
    :param next_mu: stored ``mu`` at those next observations, shape ``(B, T, P)``; zeros where no
        ``mu`` is stored (see ``missing_next_mu``).
    :param missing_next_mu: indices into the flattened ``B * T`` next states that have no stored
        ``mu`` (the final observation of an episode, or a step not yet written): the current actor's
        distribution is used there.
    :param rewards: rewards of transitions ``i .. i+T-1``, shape ``(B, T)``.
    :param terminations: 1 where the transition ended its episode by a true termination, shape ``(B, T)``.
    :param valid: True for the transitions that belong to the sequence (a prefix per row), shape ``(B, T)``.
    """

    observations: th.Tensor | TensorDict
    actions: th.Tensor
    mu: th.Tensor
    next_observations: th.Tensor | TensorDict
    next_mu: th.Tensor
    missing_next_mu: th.Tensor
    rewards: th.Tensor
    terminations: th.Tensor
    valid: th.Tensor


class StateSamples(NamedTuple):
    """
    A batch for the actor: states and the parameters of the policy that acted in them.

    :param observations: ``s``, shape ``(B, *obs_shape)`` (or a dict of such tensors).
    :param mu: parameters of ``mu(.|s)``, shape ``(B, P)``.
    """

    observations: th.Tensor | TensorDict
    mu: th.Tensor


class ActorLoss(NamedTuple):
    """
    What an actor update minimizes, and the advantage weights it used (for the logs and for diagnostics).

    :param loss: The scalar loss.
    :param state_weights: ``(B,)`` the regression weight each state of the batch received in total: its
        advantage weight (AWR), the mean over its ``k`` sampled actions (QWR, ``Box``), or the expectation under
        ``mu`` (QWR, ``Discrete``). Their mean is the logged ``train/advantage_weight_mean``.
    :param weight_max: Largest advantage weight of the batch.
    """

    loss: th.Tensor
    state_weights: th.Tensor
    weight_max: th.Tensor
