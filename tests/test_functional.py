"""The math of QWR against slow references written from the paper's definitions."""

import math

import numpy as np
import pytest
import torch as th

from sb3_qwr.common.functional import (
    ADVANTAGE_EPS,
    SCALE_EPS,
    advantage_weights,
    backup,
    normalize_advantages,
    td_lambda_target,
    weighted_scale,
)


def ref_scale(values: list[float], kind: str) -> float:
    mean = sum(values) / len(values)
    if kind == "mad":
        return sum(abs(v - mean) for v in values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def ref_backup_sampled(rows: list[list[float]], kind: str, tau: float, scale: str | None) -> list[float]:
    """F over k sampled values per row, s(X) one scalar over all values of all rows (Appendix 6.1, Eq. 6)."""
    everything = [x for row in rows for x in row]
    s = 1.0 if scale is None else ref_scale(everything, scale) + SCALE_EPS
    out = []
    for row in rows:
        if kind == "mean":
            out.append(sum(row) / len(row))
        elif kind == "max":
            out.append(max(row))
        else:
            out.append(tau * s * math.log(sum(math.exp(x / (tau * s)) for x in row) / len(row)))
    return out


@pytest.mark.parametrize("kind", ["lse", "max", "mean"])
@pytest.mark.parametrize("scale", ["mad", "std", None])
def test_backup_sampled_matches_reference(kind, scale):
    rng = np.random.default_rng(0)
    q = rng.normal(3.0, 2.0, size=(7, 4))
    got = backup(th.tensor(q), kind=kind, temperature=0.3, scale=scale)
    want = ref_backup_sampled(q.tolist(), kind, 0.3, scale)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-9, atol=1e-9)


def test_lse_interpolates_between_mean_and_max():
    q = th.tensor([[0.0, 1.0, 5.0, 2.0]], dtype=th.float64)
    mean, top = q.mean().item(), q.max().item()
    cold = backup(q, kind="lse", temperature=1e-3, scale=None).item()
    hot = backup(q, kind="lse", temperature=1e3, scale=None).item()
    assert abs(cold - top) < 1e-2
    assert abs(hot - mean) < 1e-2
    mid = backup(q, kind="lse", temperature=0.3, scale="mad").item()
    assert mean < mid < top


def test_lse_scale_is_translation_invariant_and_scale_covariant():
    rng = np.random.default_rng(1)
    q = th.tensor(rng.normal(size=(16, 4)))
    base = backup(q, kind="lse", temperature=0.3, scale="mad")
    shifted = backup(q + 100.0, kind="lse", temperature=0.3, scale="mad")
    scaled = backup(q * 10.0, kind="lse", temperature=0.3, scale="mad")
    np.testing.assert_allclose(shifted.numpy(), base.numpy() + 100.0, rtol=1e-9)
    np.testing.assert_allclose(scaled.numpy(), base.numpy() * 10.0, atol=1e-4)  # up to the 1e-6 in s(X)


def test_scale_mask_excludes_rows_from_the_scale():
    rng = np.random.default_rng(2)
    q = rng.normal(size=(6, 4))
    mask = np.array([True, True, False, True, False, True])
    q_with_junk = q.copy()
    q_with_junk[~mask] = 1e6
    got = backup(th.tensor(q_with_junk), kind="lse", temperature=0.3, scale="mad", scale_mask=th.tensor(mask))
    want = ref_backup_sampled(q[mask].tolist(), "lse", 0.3, "mad")
    np.testing.assert_allclose(got.numpy()[mask], want, rtol=1e-9)


@pytest.mark.parametrize("kind", ["lse", "max", "mean"])
def test_backup_discrete_is_the_expectation_under_mu(kind):
    rng = np.random.default_rng(3)
    q = rng.normal(size=(5, 6))
    mu = rng.dirichlet(np.ones(6), size=5)
    mu[0, 2] = 0.0  # an action mu never takes
    mu[0] /= mu[0].sum()
    q[0, 2] = 1e3  # must not win the max
    # Reference: mu-weighted scale over all entries, then per row the expectation under mu.
    weights = mu.reshape(-1)
    values = q.reshape(-1)
    m = (weights * values).sum() / weights.sum()
    s = (weights * np.abs(values - m)).sum() / weights.sum() + SCALE_EPS
    want = []
    for row_q, row_mu in zip(q, mu, strict=True):
        if kind == "mean":
            want.append(sum(p * x for p, x in zip(row_mu, row_q, strict=True)))
        elif kind == "max":
            want.append(max(x for p, x in zip(row_mu, row_q, strict=True) if p > 0))
        else:
            tau_s = 0.3 * s
            want.append(tau_s * math.log(sum(p * math.exp(x / tau_s) for p, x in zip(row_mu, row_q, strict=True) if p > 0)))
    got = backup(th.tensor(q), th.tensor(mu), kind=kind, temperature=0.3, scale="mad")
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-9)


def test_weighted_scale_uniform_matches_plain_statistics():
    x = np.random.default_rng(4).normal(size=(10, 3))
    w = np.ones_like(x)
    assert weighted_scale(th.tensor(x), th.tensor(w), "mad").item() == pytest.approx(ref_scale(x.ravel().tolist(), "mad"))
    assert weighted_scale(th.tensor(x), th.tensor(w), "std").item() == pytest.approx(ref_scale(x.ravel().tolist(), "std"))


def test_backup_rejects_unknown_names():
    q = th.zeros(2, 3)
    with pytest.raises(ValueError, match="Unknown backup"):
        backup(q, kind="softmax")
    with pytest.raises(ValueError, match="Unknown backup scale"):
        backup(q + th.arange(3.0), kind="lse", scale="iqr")


def n_step_target_ref(rewards, next_values, terminations, length, t, gamma):
    """Eq. 12 for one row: the t-step target, cut at the end of the sequence (length L)."""
    t = min(t, length)
    ret = sum(gamma**j * rewards[j] for j in range(t))
    if not terminations[t - 1]:
        ret += gamma**t * next_values[t - 1]
    return ret


def td_lambda_bruteforce(rewards, next_values, terminations, length, gamma, lam):
    """Eq. 13 with the weights that Eq. 13 leaves over on the last target: sum of weights is 1."""
    horizon = len(rewards)
    targets = [n_step_target_ref(rewards, next_values, terminations, length, t, gamma) for t in range(1, horizon + 1)]
    total = sum((1 - lam) * lam ** (t - 1) * targets[t - 1] for t in range(1, horizon))
    return total + lam ** (horizon - 1) * targets[horizon - 1]


def td_lambda_recursive(rewards, next_values, terminations, length, gamma, lam):
    """The reference code's recursion R_t = r_t + gamma ((1 - lam) V_{t+1} + lam R_{t+1}), cut at the end."""
    ret = None
    for t in reversed(range(length)):
        bootstrap = 0.0 if terminations[t] else next_values[t]
        ret = rewards[t] + gamma * (bootstrap if t == length - 1 else (1 - lam) * bootstrap + lam * ret)
    return ret


def random_sequences(rng, batch, horizon):
    rewards = rng.normal(size=(batch, horizon))
    next_values = rng.normal(5.0, 3.0, size=(batch, horizon))
    lengths = rng.integers(1, horizon + 1, size=batch)
    terminations = np.zeros((batch, horizon))
    for i, length in enumerate(lengths):
        if length < horizon and rng.random() < 0.5:
            terminations[i, length - 1] = 1.0  # ended by a termination, else by a truncation
    terminations[0, :] = 0.0
    lengths[0] = horizon  # one full row
    if batch > 1:
        lengths[1], terminations[1, :] = horizon, 0.0
        terminations[1, horizon - 1] = 1.0  # terminated at the last step of a full row
    valid = np.arange(horizon)[None, :] < lengths[:, None]
    return rewards, next_values, terminations, valid, lengths


@pytest.mark.parametrize("horizon", [1, 3, 7])
@pytest.mark.parametrize("lam", [0.0, 0.95, 1.0])
def test_td_lambda_matches_bruteforce_and_recursion(horizon, lam):
    rng = np.random.default_rng(horizon)
    gamma = 0.99
    rewards, next_values, terminations, valid, lengths = random_sequences(rng, 32, horizon)
    # Junk past the end of a sequence must not leak in.
    next_values_junk = np.where(valid, next_values, np.nan)
    got = td_lambda_target(
        th.tensor(rewards),
        th.tensor(next_values_junk),
        th.tensor(terminations),
        th.tensor(valid),
        gamma,
        lam,
    ).numpy()
    for i in range(32):
        args = (rewards[i], next_values[i], terminations[i], int(lengths[i]), gamma, lam)
        assert got[i] == pytest.approx(td_lambda_bruteforce(*args), rel=1e-9, abs=1e-9)
        assert got[i] == pytest.approx(td_lambda_recursive(*args), rel=1e-9, abs=1e-9)


def test_td_lambda_special_cases():
    gamma = 0.9
    rewards = th.tensor([[1.0, 2.0, 3.0]], dtype=th.float64)
    values = th.tensor([[10.0, 20.0, 30.0]], dtype=th.float64)
    full = th.ones(1, 3, dtype=th.bool)
    no_term = th.zeros(1, 3, dtype=th.float64)
    # lambda = 0: one-step Q-learning target.
    assert td_lambda_target(rewards, values, no_term, full, gamma, 0.0).item() == pytest.approx(1 + 0.9 * 10)
    # lambda = 1: the T-step target.
    want = 1 + 0.9 * 2 + 0.81 * 3 + 0.729 * 30
    assert td_lambda_target(rewards, values, no_term, full, gamma, 1.0).item() == pytest.approx(want)
    # Terminated at the first step: just the reward, whatever lambda is.
    first = th.tensor([[True, False, False]])
    term = th.tensor([[1.0, 0.0, 0.0]], dtype=th.float64)
    assert td_lambda_target(rewards, values, term, first, gamma, 0.95).item() == pytest.approx(1.0)
    # Truncated at the first step: bootstrap from the final observation.
    assert td_lambda_target(rewards, values, no_term, first, gamma, 0.95).item() == pytest.approx(1 + 0.9 * 10)


def test_advantage_weights_match_reference():
    rng = np.random.default_rng(5)
    q = rng.normal(size=(8, 4)) * 3
    adv = q - q.mean(axis=1, keepdims=True)
    flat = adv.ravel()
    mean = flat.mean()
    std = math.sqrt(((flat - mean) ** 2).mean())
    want = np.array([[min(math.exp((a - mean) / (std + ADVANTAGE_EPS) / 0.5), 3.0) for a in row] for row in adv])
    got = advantage_weights(th.tensor(adv), beta=0.5, max_weight=3.0).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-9)
    assert got.max() == pytest.approx(3.0)  # the clip is active on this data
    unclipped = advantage_weights(th.tensor(adv), beta=0.5, max_weight=None).numpy()
    assert unclipped.max() > 3.0


def test_normalize_advantages_with_mu_weights():
    rng = np.random.default_rng(6)
    adv = rng.normal(size=(4, 3))
    mu = rng.dirichlet(np.ones(3), size=4)
    got = normalize_advantages(th.tensor(adv), th.tensor(mu)).numpy()
    m = (mu * adv).sum() / mu.sum()
    s = math.sqrt((mu * (adv - m) ** 2).sum() / mu.sum())
    np.testing.assert_allclose(got, (adv - m) / (s + ADVANTAGE_EPS), rtol=1e-9)
