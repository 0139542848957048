"""Small tensor helpers shared by the algorithms (observations may be tensors or dicts of tensors)."""

import torch as th
from stable_baselines3.common.type_aliases import PyTorchObs


def flatten_obs(obs: PyTorchObs, n: int) -> PyTorchObs:
    """
    Merge the batch and horizon axes of (possibly dict) observations: ``(B, T, ...) -> (B * T, ...)``.

    :param obs: Observations of shape ``(B, T, *obs_shape)`` (or a dict of such tensors).
    :param n: ``B * T``.
    :return: Observations of shape ``(n, *obs_shape)``.
    """
    if isinstance(obs, dict):
        return {key: value.reshape(n, *value.shape[2:]) for key, value in obs.items()}
    return obs.reshape(n, *obs.shape[2:])


def index_obs(obs: PyTorchObs, index: th.Tensor) -> PyTorchObs:
    """
    Select rows of (possibly dict) observations.

    :param obs: Observations of shape ``(N, *obs_shape)`` (or a dict of such tensors).
    :param index: ``(M,)`` row indices.
    :return: Observations of shape ``(M, *obs_shape)``.
    """
    if isinstance(obs, dict):
        return {key: value.index_select(0, index) for key, value in obs.items()}
    return obs.index_select(0, index)
