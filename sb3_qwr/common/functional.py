"""
The math of QWR as small pure functions on tensors.

Nothing here touches a network, a buffer or an environment: each function maps tensors to tensors, so the
tests can check it against a slow reference that follows the paper's definitions line by line.

* :func:`backup`: the critic's backup operator ``F`` over sampled (or enumerated) next actions, with the
  scale normalization of Appendix 6.1 (Eq. 6).
* :func:`td_lambda_target`: the truncated TD(lambda) combination of the 1..T-step targets (Appendix 6.4).
* :func:`advantage_weights`: the actor's weights ``min(exp(A_norm / beta), w_max)`` (Algorithm 2, line 20).
"""

from typing import Literal

import torch as th

BackupKind = Literal["lse", "max", "mean"]
ScaleKind = Literal["mad", "std"]

BACKUP_KINDS: tuple[str, ...] = ("lse", "max", "mean")
SCALE_KINDS: tuple[str, ...] = ("mad", "std")
# Added to the scale s(X) before dividing by it, as in the authors' reference code.
SCALE_EPS = 1e-6
# Added to the advantage standard deviation before dividing by it (reference code).
ADVANTAGE_EPS = 1e-5


def weighted_scale(
    values: th.Tensor,
    weights: th.Tensor,
    kind: str = "mad",
) -> th.Tensor:
    """
    One scalar measure of spread of all ``values``, each counted with its weight.

    With uniform weights this is the plain mean absolute deviation (``"mad"``) or standard deviation
    (``"std"``) of the whole tensor, which is what the reference code computes over the batch of sampled
    Q-values. Entries with weight 0 (padding, actions with ``mu(a|s) = 0``) do not count.

    :param values: Q-values, any shape.
    :param weights: Non-negative weights, same shape as ``values``.
    :param kind: ``"mad"`` (mean absolute deviation) or ``"std"`` (standard deviation).
    :return: A scalar tensor.
    """
    total = weights.sum().clamp_min(1e-12)
    # Entries with weight 0 may hold anything (even inf/nan): keep them out of every sum.
    safe_values = th.where(weights > 0, values, th.zeros_like(values))
    mean = (weights * safe_values).sum() / total
    deviation = safe_values - mean
    if kind == "mad":
        return (weights * deviation.abs()).sum() / total
    if kind == "std":
        return th.sqrt((weights * deviation.square()).sum() / total)
    raise ValueError(f"Unknown backup scale {kind!r}: use one of {SCALE_KINDS}.")


def backup(
    q_values: th.Tensor,
    weights: th.Tensor | None = None,
    kind: str = "lse",
    temperature: float = 0.3,
    scale: str | None = "mad",
    scale_mask: th.Tensor | None = None,
) -> th.Tensor:
    """
    The backup operator ``F`` of QWR, reducing the last dimension of ``q_values``.

    For ``k`` actions sampled from ``mu(.|s')`` use uniform weights (``weights=None``): then

    * ``"mean"``: ``F(X) = mean_j x_j`` (QWR-AVG),
    * ``"max"``: ``F(X) = max_j x_j`` (QWR-MAX),
    * ``"lse"``: ``F(X) = tau s(X) log( mean_j exp(x_j / (tau s(X))) )`` (QWR-LSE, Eq. 6),

    where ``s(X)`` is one scalar over the whole tensor (``scale_mask`` selects the rows that count), plus
    ``1e-6``; ``scale=None`` uses ``s(X) = 1`` (the paper's Section 2.3 form without normalization).

    For ``Discrete`` actions pass all Q-values and ``weights = mu(a|s)`` (Section 4.1, exact expectation):
    the mean becomes ``sum_a mu_a x_a``, the log-sum-exp ``tau s log(sum_a mu_a exp(x_a / (tau s)))`` and the
    max runs over the actions with ``mu_a > 0``.

    :param q_values: Q-values of shape ``(..., k)``.
    :param weights: Probabilities of shape ``(..., k)`` summing to 1 over the last dimension, or ``None``
        for uniform weights ``1 / k``.
    :param kind: ``"lse"``, ``"max"`` or ``"mean"``.
    :param temperature: ``tau`` of the log-sum-exp backup (must be > 0).
    :param scale: ``"mad"``, ``"std"`` or ``None`` (no normalization).
    :param scale_mask: Boolean tensor of shape ``q_values.shape[:-1]``: rows that enter ``s(X)``.
        ``None`` means all rows.
    :return: Tensor of shape ``q_values.shape[:-1]``.
    """
    if weights is None:
        weights = th.full_like(q_values, 1.0 / q_values.shape[-1])
    if kind == "mean":
        return (weights * th.where(weights > 0, q_values, th.zeros_like(q_values))).sum(dim=-1)
    if kind == "max":
        return th.where(weights > 0, q_values, th.full_like(q_values, -th.inf)).amax(dim=-1)
    if kind != "lse":
        raise ValueError(f"Unknown backup {kind!r}: use one of {BACKUP_KINDS}.")
    if temperature <= 0:
        raise ValueError(f"The log-sum-exp temperature must be > 0, got {temperature}.")
    if scale is None:
        s = th.ones((), dtype=q_values.dtype, device=q_values.device)
    else:
        scale_weights = weights if scale_mask is None else weights * scale_mask.unsqueeze(-1).to(weights.dtype)
        s = weighted_scale(q_values, scale_weights, scale) + SCALE_EPS
    tau_s = temperature * s
    # log(sum_j w_j exp(x_j / tau_s)) with log(0) = -inf for actions mu gives no mass.
    return tau_s * th.logsumexp(q_values / tau_s + th.log(weights), dim=-1)


def td_lambda_target(
    rewards: th.Tensor,
    next_values: th.Tensor,
    terminations: th.Tensor,
    valid: th.Tensor,
    gamma: float,
    td_lambda: float,
) -> th.Tensor:
    """
    Truncated TD(lambda) combination of the 1..T-step Q targets (Appendix 6.4, recursive form).

    Row ``i`` of the batch is a sequence of up to ``T`` transitions ``i, i+1, ..., i+T-1`` of one episode.
    The ``t``-step target (``t = 1..T``) is

        ``G_t = sum_{j<t} gamma^j r_j + gamma^t (1 - d_{t-1}) V_t``

    with ``V_t`` the backup value at the next observation of transition ``t - 1`` and ``d`` the true
    termination flag. The result is the recursive lambda-return of the reference code,

        ``(1 - lambda) sum_{t=1}^{L-1} lambda^(t-1) G_t + lambda^(L-1) G_L``,

    where ``L`` is the number of valid transitions in the row: the paper's Eq. 13 weights, with the weight
    they leave over put on the longest target, so that the weights sum to 1. A sequence ends (``L < T``)
    at a termination (no bootstrap), a time-limit truncation (bootstrap from the final observation) or the
    buffer's write position (bootstrap from the last stored next observation).

    :param rewards: ``(B, T)`` rewards ``r_0 .. r_{T-1}``.
    :param next_values: ``(B, T)`` backup values ``V_1 .. V_T`` at the next observation of each transition.
        Entries past the end of a sequence may hold anything (they are never used).
    :param terminations: ``(B, T)`` 1 where the transition ended the episode by a true termination.
    :param valid: ``(B, T)`` boolean, a prefix of True per row (the first entry must be True).
    :param gamma: Discount factor.
    :param td_lambda: Lambda in [0, 1].
    :return: ``(B,)`` targets.
    """
    horizon = rewards.shape[1]
    valid_f = valid.to(rewards.dtype)
    steps = th.arange(horizon, device=rewards.device, dtype=rewards.dtype)
    discounts = gamma**steps  # gamma^j, j = 0..T-1
    partial_returns = th.cumsum(rewards * discounts * valid_f, dim=1)  # sum_{j<t} gamma^j r_j, t = 1..T
    bootstrap = th.where(terminations > 0, th.zeros_like(next_values), next_values)
    bootstrap = th.where(valid, bootstrap, th.zeros_like(bootstrap))
    n_step_targets = partial_returns + gamma * discounts * bootstrap  # G_t, t = 1..T

    length = valid_f.sum(dim=1, keepdim=True)  # L
    t_index = steps + 1.0  # t = 1..T
    lambda_powers = td_lambda ** (t_index - 1.0)
    weights = th.where(t_index < length, (1.0 - td_lambda) * lambda_powers, th.zeros_like(lambda_powers))
    weights = th.where(t_index == length, lambda_powers.expand_as(weights), weights)
    return (weights * n_step_targets).sum(dim=1)


def normalize_advantages(advantages: th.Tensor, weights: th.Tensor | None = None) -> th.Tensor:
    """
    Standardize advantages over the whole batch (Appendix 6.1, as in AWR): ``(A - mean) / (std + 1e-5)``.

    :param advantages: Advantages, any shape (``(B, k)`` for sampled actions, ``(B, n)`` for all actions).
    :param weights: Optional ``mu(a|s)`` of the same shape for enumerated discrete actions: mean and std are
        then the expectation under ``mu`` (each state counts once).
    :return: Normalized advantages, same shape.
    """
    if weights is None:
        weights = th.ones_like(advantages)
    total = weights.sum().clamp_min(1e-12)
    mean = (weights * advantages).sum() / total
    std = th.sqrt((weights * (advantages - mean).square()).sum() / total)
    return (advantages - mean) / (std + ADVANTAGE_EPS)


def advantage_weights(
    advantages: th.Tensor,
    beta: float,
    max_weight: float | None,
    weights: th.Tensor | None = None,
) -> th.Tensor:
    """
    The actor's regression weights ``min(exp(A_norm / beta), w_max)`` (Algorithm 2, line 20).

    The advantages are first normalized over the whole batch (:func:`normalize_advantages`); the clip at
    ``w_max`` comes from the authors' reference code (the paper does not mention it).

    :param advantages: ``Q(s, a_j) - V(s)``, any shape.
    :param beta: Temperature (> 0).
    :param max_weight: ``w_max``; ``None`` disables the clip.
    :param weights: Optional ``mu(a|s)`` for enumerated discrete actions (see :func:`normalize_advantages`).
    :return: Weights, same shape as ``advantages``.
    """
    normalized = normalize_advantages(advantages, weights)
    exp_weights = th.exp(normalized / beta)
    if max_weight is not None:
        exp_weights = exp_weights.clamp(max=max_weight)
    return exp_weights


def tanh_gate(obs_embedding: th.Tensor, doubled_preactivation: th.Tensor) -> th.Tensor:
    """
    The critic's action gate ``o * tanh(z)`` from ``2 z``, computed as ``2 o sigmoid(2 z) - o`` in one fused
    ``addcmul`` (``tanh(z) = 2 sigmoid(2 z) - 1``; the doubling is folded into the gate's weights by the caller).
    Faster on CPUs whose ``tanh`` kernel is not vectorized, and three passes fewer than ``o * (2 sigmoid(2 z) - 1)``
    (measured: ``docs/qwr.md``, "Speed"). The values agree with ``o * tanh(z)`` to float32 rounding (a few 1e-7 of
    ``o``); in bfloat16 the rounding is that of ``sigmoid``'s output.

    :param obs_embedding: ``o``, shape ``(..., 1, E)`` (broadcast over the actions).
    :param doubled_preactivation: ``2 z``, shape ``(..., k, E)``.
    :return: ``o * tanh(z)``, shape ``(..., k, E)``.
    """
    return th.addcmul(-obs_embedding, obs_embedding, th.sigmoid(doubled_preactivation), value=2.0)
