"""A second pass over rows that are not held together — streamed from a file, or shared among the
processes of a ``torchrun`` launch — for what needs every row's residual: the robust covariance's
middle and the residual tests.

Each process passes over its own rows in order (:class:`RowPass`) and keeps, besides its sums,
its first and last residuals and HAC scores: what pairs rows across the boundary with the process
before it. :func:`combine` adds the processes' parts in rank order, the boundaries included, so
the answer is the one a single pass over all the rows gives (to rounding).
"""

from __future__ import annotations

import math

import numpy as np

from .covariance import CovarianceSpec, Middle


class RowPass:
    """The sums of one process's rows, block by block in row order.

    Parameters
    ----------
    spec : CovarianceSpec
        The covariance (its middle is summed only when robust).
    bread : numpy.ndarray
        ``(p, p)`` ``(AᵀA)⁻¹``.
    """

    def __init__(self, spec: CovarianceSpec, bread: np.ndarray) -> None:
        self.spec = spec
        self.middle = Middle(spec, bread) if spec.robust else None
        self.powers = np.zeros(4)  # Σ e, Σ e², Σ e³, Σ e⁴
        self.steps = 0.0  # Σ (e_t − e_{t−1})² within this process's rows
        self.first = self.last = None
        # HAC: the first L scores, for the boundary with the process before
        self.head = np.zeros((0, len(bread))) if spec.kind == "HAC" else None
        self.rows = 0

    def add(self, design: np.ndarray, residuals: np.ndarray, labels=None) -> None:
        if not len(residuals):
            return
        if self.head is not None and len(self.head) < self.spec.maxlags:
            wanted = self.spec.maxlags - len(self.head)
            self.head = np.concatenate([self.head, design[:wanted] * residuals[:wanted, None]])
        if self.middle is not None:
            self.middle.add(design, residuals, labels)
        e = residuals
        squares = e * e  # (products and dot products: float powers and fsum cost 50 times as much)
        self.powers += [e.sum(), squares.sum(), squares @ e, squares @ squares]
        steps = np.diff(e) if self.last is None else np.diff(np.concatenate([[self.last], e]))
        self.steps += float(steps @ steps)
        self.first = float(e[0]) if self.first is None else self.first
        self.last = float(e[-1])
        self.rows += len(e)

    def part(self) -> dict:
        """What :func:`combine` needs of this process (plain arrays: all-gathered as they are)."""
        middle = self.middle
        return {"rows": self.rows, "powers": self.powers, "steps": self.steps, "first": self.first,
                "last": self.last, "head": self.head,
                "middle": None if middle is None else middle.middle,
                "scores": None if middle is None else middle.scores,
                "by_label": None if middle is None else middle.by_label,
                "tail": None if middle is None else middle.tail}


def row_blocks(chunks, theta: np.ndarray, intercept: bool):
    """``(design, residuals, labels)`` at ``theta`` of each ``(x, y)`` chunk, in order: a second
    pass (``labels``: the chunk's cluster labels, when the chunks carry them)."""
    for x, y in chunks:
        x = np.asarray(x, dtype=np.float64)
        x = x[:, None] if x.ndim == 1 else x
        design = np.column_stack([np.ones(len(x)), x]) if intercept else x
        yield design, np.asarray(y, dtype=np.float64).reshape(-1) - design @ theta, getattr(chunks, "chunk_labels",
                                                                                           None)


def combine(parts: list[dict], spec: CovarianceSpec, bread: np.ndarray, n: int) -> tuple[np.ndarray | None, dict]:
    """The robust covariance (``None`` when classical) and the residuals' sums of every process's
    ``parts``, in rank order: ``{"n", "powers", "durbin_watson"}``."""
    parts = [part for part in parts if part["rows"]]
    powers = np.sum([part["powers"] for part in parts], axis=0)
    steps = math.fsum(part["steps"] for part in parts)
    for before, after in zip(parts, parts[1:]):
        steps += (after["first"] - before["last"]) ** 2
    moments = {"n": sum(part["rows"] for part in parts), "powers": powers,
               "durbin_watson": steps / powers[1] if powers[1] > 0 else math.nan}
    if not spec.robust:
        return None, moments
    total = Middle(spec, bread)
    for part in parts:
        total.middle += part["middle"]
        if part["scores"] is not None:
            total.scores += part["scores"]
        for key, row in (part["by_label"] or {}).items():  # streamed clusters, merged by label
            total.by_label[key] = total.by_label[key] + row if key in total.by_label else row
    moments["n_groups"] = total.n_groups
    if spec.kind == "HAC":
        tail = parts[0]["tail"]
        for part in parts[1:]:
            total.middle += _cross_lags(tail, part["head"], spec.maxlags)
            tail = np.concatenate([tail, part["tail"]])[-spec.maxlags:] if spec.maxlags else tail
    return total.covariance(n), moments


def _cross_lags(tail: np.ndarray, head: np.ndarray, lags: int) -> np.ndarray:
    """The Bartlett-weighted ``Γ_l + Γ_lᵀ`` of the pairs whose earlier row is in ``tail`` (the rows
    before a boundary) and whose later row is in ``head`` (the rows after it)."""
    joined, k = np.concatenate([tail, head]), len(tail)
    cross = np.zeros((joined.shape[1], joined.shape[1]))
    for lag in range(1, lags + 1):
        later = np.arange(k, min(len(joined), k + lag))  # later rows whose partner lag rows back is in tail
        later = later[later - lag >= 0]
        if not len(later):
            continue
        gamma = joined[later].T @ joined[later - lag]
        cross += (1.0 - lag / (lags + 1.0)) * (gamma + gamma.T)
    return cross


def moment_tests(moments: dict) -> dict[str, float]:
    """The residual tests (:mod:`gradfit.least_squares.residual_tests`) from power sums."""
    from .residual_tests import normality_from_moments

    n, (s1, s2, s3, s4) = moments["n"], moments["powers"]
    mean = s1 / n
    m2 = s2 / n - mean * mean
    m3 = s3 / n - 3 * mean * s2 / n + 2 * mean ** 3
    m4 = s4 / n - 4 * mean * s3 / n + 6 * mean * mean * s2 / n - 3 * mean ** 4
    skew, kurtosis = (m3 / m2 ** 1.5, m4 / m2 ** 2) if m2 > 0 else (math.nan, math.nan)
    return normality_from_moments(n, skew, kurtosis, moments["durbin_watson"])
