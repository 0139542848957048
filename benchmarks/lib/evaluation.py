"""
The benchmarks' one evaluation callback, :class:`PeriodicEvaluation`: every benchmark that scores a model during
training (the quick start, BitFlip, offline and offline-to-online runs) does it with this class, giving it how it
scores (its environment, seeding, episodes) and when.
"""

from collections.abc import Callable
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback

#: When :class:`PeriodicEvaluation` counts: environment steps, callback calls (``learn_offline`` calls the callbacks
#: once per iteration), or training phases (at the start of the collection after one).
UNITS = ("steps", "calls", "phases")


class PeriodicEvaluation(BaseCallback):
    """
    Score the model every ``every`` units and keep the curve in :attr:`points`. Scoring only runs the policy, so
    training (and its random stream, when ``score`` uses its own environment) is that of a run without it.

    :param score: The model's episode returns now (the benchmark's protocol: environment, seed, episodes).
    :param every: Units between evaluations.
    :param unit: One of :data:`UNITS`.
    :param at_start: Also score before the first update (at the start of training).
    :param until: Score only while the count is below it (a run whose last point its own final score gives).
    :param on_point: Called with each new point (to print it or append it to a file).
    """

    def __init__(
        self,
        score: Callable[[BaseAlgorithm], list[float]],
        every: int = 1,
        unit: str = "steps",
        at_start: bool = False,
        until: int | None = None,
        on_point: Callable[[dict[str, Any]], None] | None = None,
    ):
        super().__init__()
        if unit not in UNITS:
            raise ValueError(f"Unknown `unit` {unit!r}: use one of {UNITS}.")
        if every < 1:
            raise ValueError(f"`every` must be >= 1, got {every}.")
        self.score, self.every, self.unit, self.at_start, self.until, self.on_point = (
            score,
            every,
            unit,
            at_start,
            until,
            on_point,
        )
        self.points: list[dict[str, Any]] = []
        self._phases = 0

    @property
    def returns(self) -> list[float]:
        """The mean return of each point."""
        return [point["return"] for point in self.points]

    def evaluate(self, count: int) -> None:
        """:param count: The count (of :attr:`unit`) the point is recorded at."""
        returns = [float(value) for value in self.score(self.model)]
        point = {"count": count, "timesteps": int(self.model.num_timesteps), "return": float(np.mean(returns))}
        self.points.append(point | {"returns": returns})
        if self.on_point is not None:
            self.on_point(point)

    def _due(self, count: int) -> bool:
        return count % self.every == 0 and (self.until is None or count < self.until)

    def _on_training_start(self) -> None:
        if self.at_start and not self.points:
            self.evaluate(0)

    def _on_rollout_start(self) -> None:
        if self.unit == "phases" and self.model._n_updates > 0:
            self._phases += 1
            if self._due(self._phases):
                self.evaluate(self._phases)

    def _on_step(self) -> bool:
        if self.unit == "steps" and self._due(self.num_timesteps):
            self.evaluate(self.num_timesteps)
        elif self.unit == "calls" and self._due(self.n_calls):
            self.evaluate(self.n_calls)
        return True
