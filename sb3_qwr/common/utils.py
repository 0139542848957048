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


def concat_obs(observations: list[PyTorchObs]) -> PyTorchObs:
    """
    Concatenate (possibly dict) observations along the batch axis.

    :param observations: Observations of shapes ``(N_i, *obs_shape)`` (or dicts of such tensors, same keys).
    :return: Observations of shape ``(sum N_i, *obs_shape)``.
    """
    first = observations[0]
    if isinstance(first, dict):
        return {key: th.cat([obs[key] for obs in observations]) for key in first}  # type: ignore[index]
    return th.cat(observations)  # type: ignore[arg-type]
