"""Timing that holds on a shared, noisy machine: the two sides alternated, repeated, and compared
round by round.

A single timing proves nothing where another job may take a core for a second. So each round
times gradfit and its baseline back to back (in alternating order: AB, BA, AB …, so neither side
always runs on the other's warm caches or spinning threads), the ratio is taken within the
round, and a row reports the median ratio and its range over the rounds.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field


@dataclass
class Comparison:
    """Seconds of each side per round, in the order measured."""

    seconds: list[float] = field(default_factory=list)
    baseline_seconds: list[float] = field(default_factory=list)

    @property
    def ratios(self) -> list[float]:
        return [a / b for a, b in zip(self.seconds, self.baseline_seconds)]

    @property
    def ratio(self) -> float:
        """The median of the per-round ratios."""
        return statistics.median(self.ratios)

    @property
    def ratio_range(self) -> tuple[float, float]:
        return min(self.ratios), max(self.ratios)


def timed(fn) -> tuple[float, object]:
    """Seconds one call takes, and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def alternate(fn, baseline, rounds: int, warmup: bool = True) -> tuple[Comparison, object, object]:
    """Time ``fn`` and ``baseline`` in ``rounds`` alternating rounds (after one untimed call of
    each when ``warmup``); returns the comparison and the last result of each side."""
    result = base_result = None
    if warmup:
        result, base_result = fn(), baseline()
    comparison = Comparison()
    for k in range(rounds):
        if k % 2 == 0:
            a, result = timed(fn)
            b, base_result = timed(baseline)
        else:
            b, base_result = timed(baseline)
            a, result = timed(fn)
        comparison.seconds.append(a)
        comparison.baseline_seconds.append(b)
    return comparison, result, base_result


def median(values: list[float]) -> float:
    return statistics.median(values)
