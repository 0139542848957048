"""
The benchmarks' statistics, in one module: the paper's median and half interquartile range, quartiles, and
rliable's interquartile mean and stratified bootstrap intervals (seeded, so a table regenerates byte for byte).
"""

import warnings
from collections.abc import Callable, Sequence

import numpy as np


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """
    :param values: The values.
    :return: Their 25th, 50th and 75th percentiles (numpy's linear interpolation).
    """
    q25, q50, q75 = np.percentile(np.asarray(values, dtype=float), [25, 50, 75])
    return float(q25), float(q50), float(q75)


def median_half_iqr(scores: Sequence[float]) -> tuple[float, float]:
    """
    :param scores: One score per seed.
    :return: The median and half the interquartile range (the paper's statistic).
    """
    q25, q50, q75 = quartiles(scores)
    return q50, (q75 - q25) / 2


def bootstrap_interval(
    matrix: np.ndarray, aggregate: Callable[[np.ndarray], float], reps: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """
    95% stratified bootstrap confidence interval of an aggregate of a ``(runs, tasks)`` score matrix (rliable).

    rliable's ``StratifiedBootstrap`` draws its resamples from NumPy's global generator, not from the
    ``random_state`` it is given (``update_indices`` calls ``np.random.choice``): the global one is seeded too, then
    restored, so that an interval does not depend on what was computed before it.

    :param matrix: ``(runs, tasks)`` scores.
    :param aggregate: The aggregate (e.g. ``rliable.metrics.aggregate_iqm``).
    :param reps: Bootstrap replications.
    :param seed: Seed of the bootstrap.
    :return: The interval's bounds.
    """
    from rliable import library

    global_state = np.random.get_state()
    np.random.seed(seed)
    try:
        with warnings.catch_warnings():  # arch's notice about its future default generator
            warnings.simplefilter("ignore", FutureWarning)
            _, intervals = library.get_interval_estimates(
                {"x": matrix}, lambda x: np.array([aggregate(x)]), reps=reps, random_state=np.random.RandomState(seed)
            )
    finally:
        np.random.set_state(global_state)
    low, high = intervals["x"][:, 0]
    return float(low), float(high)


def iqm_interval(scores: Sequence[float], reps: int = 2000, seed: int = 0) -> tuple[float, float | None, float | None]:
    """
    Interquartile mean of the scores of one task with its 95% stratified bootstrap confidence interval (rliable).

    :param scores: One score per seed.
    :param reps: Bootstrap replications.
    :param seed: Seed of the bootstrap.
    :return: The IQM and the interval's bounds (``None`` with fewer than 2 scores).
    """
    from rliable import metrics

    values = np.asarray(scores, dtype=float).reshape(-1, 1)  # (runs, tasks)
    iqm = float(metrics.aggregate_iqm(values))
    if len(values) < 2:
        return iqm, None, None
    low, high = bootstrap_interval(values, metrics.aggregate_iqm, reps, seed)
    return iqm, low, high
