"""Covariance of the coefficients: classical, heteroscedasticity-robust, cluster-robust and HAC.

Every robust kind is a sandwich ``B · M · B`` with the bread ``B = (AᵀA)⁻¹`` and a middle ``M``
built from the rows' scores ``u_i = e_i a_i`` (``e_i`` the residual at the θ the statistics are
taken at, ``a_i`` the row of the design), as statsmodels' ``OLS.fit(cov_type=…)`` defines them:

=========  ==========================================================  ==========================
kind       middle ``M``                                                factor
=========  ==========================================================  ==========================
HC0        ``Σ e_i² a_i a_iᵀ``                                         1
HC1        as HC0                                                      ``n / (n − p)``
HC2        ``Σ e_i² / (1 − h_i) · a_i a_iᵀ``                          1
HC3        ``Σ e_i² / (1 − h_i)² · a_i a_iᵀ``                         1
cluster    ``Σ_g s_g s_gᵀ``, ``s_g = Σ_{i ∈ g} u_i``                 ``G/(G−1) · (n−1)/(n−p)``
HAC        ``Γ₀ + Σ_{l=1..L} w_l (Γ_l + Γ_lᵀ)``, ``Γ_l = Σ_t u_t u_{t−l}ᵀ``,   1
           Bartlett weights ``w_l = 1 − l/(L+1)`` (Newey–West)
=========  ==========================================================  ==========================

``h_i = a_iᵀ(AᵀA)⁻¹a_i`` is the leverage of row ``i``. The middle is accumulated block by block
over the rows in their order (:class:`Middle`), so rows in memory, streamed chunks and the
shares of several processes all go through the same sums. Inference follows statsmodels'
defaults: Student's t with ``n − p`` degrees of freedom for the classical covariance, the
normal distribution for every robust one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.per_row import label_codes, missing_labels
from ..errors import BadDataError, BadOptionError, option


def cov_option(kind: str) -> str:
    """``cov_type='HAC'`` in Python, ``--cov HAC`` on the command line (an upper-case kind is not a
    placeholder like ``PATH``)."""
    return option("cov_type", kind, python=f"cov_type={kind!r}")


def newey_west_lags(n: int) -> int:
    """Newey and West's (1994) rule of thumb for the HAC lag length: ``⌊4 (n/100)^(2/9)⌋``.

    >>> newey_west_lags(100), newey_west_lags(10_000)
    (4, 11)
    """
    return int(4 * (n / 100) ** (2 / 9))


@dataclass(frozen=True)
class CovarianceSpec:
    """Which covariance the statistics use, and what it needs from the rows.

    Attributes
    ----------
    kind : str
        One of :data:`gradfit.option_checks.COV_TYPES`.
    groups : numpy.ndarray or None
        ``(n,)`` integer cluster codes ``0 … G−1`` of the training rows (``cluster`` only);
        ``None`` when the labels arrive with each block of rows (a streamed file).
    n_groups : int
        ``G``, the number of clusters (0 until a pass has seen the labels).
    maxlags : int or None
        ``L``, the HAC lag length.
    """

    kind: str = "nonrobust"
    groups: np.ndarray | None = None
    n_groups: int = 0
    maxlags: int | None = None

    @property
    def robust(self) -> bool:
        return self.kind != "nonrobust"

    @property
    def use_t(self) -> bool:
        """Student's t (the classical covariance) or the normal distribution (robust), as statsmodels."""
        return not self.robust

    @property
    def distribution(self) -> str:
        """``"t"`` or ``"normal"``: the distribution of the tests and intervals."""
        return "t" if self.use_t else "normal"

    @property
    def needs_leverage(self) -> bool:
        return self.kind in ("HC2", "HC3")

    def describe(self) -> str:
        """The summary header's ``Covariance Type`` cell: ``HC1``, ``cluster (12 groups)``, ``HAC (4 lags)``."""
        if self.kind == "cluster":
            return f"cluster ({self.n_groups} groups)"
        if self.kind == "HAC":
            return f"HAC ({self.maxlags} lags)"
        return self.kind

    def to_dict(self) -> dict:
        out = {"cov_type": self.kind}
        if self.kind == "cluster":
            out["n_groups"] = self.n_groups
        if self.kind == "HAC":
            out["maxlags"] = self.maxlags
        return out


def covariance_spec(kind: str = "nonrobust", *, groups=None, maxlags=None, n_rows: int,
                    n_groups: int = 0) -> CovarianceSpec:
    """A checked :class:`CovarianceSpec` for ``n_rows`` training rows.

    ``groups`` are the cluster labels of those rows (any hashable values: numbers or text),
    required for ``cluster`` and refused otherwise; ``maxlags`` is required for ``HAC``. With
    ``n_groups``, ``groups`` are codes already (of all the rows, this process holding some).
    """
    if kind == "cluster":
        if n_groups:
            return CovarianceSpec(kind, np.asarray(groups, dtype=np.intp), n_groups)
        codes, n_groups = cluster_codes(groups, n_rows)
        return CovarianceSpec(kind, codes, n_groups)
    if groups is not None:
        raise BadOptionError("cov_type", kind, "cluster labels were given, which only the cluster covariance uses",
                             f"add {cov_option('cluster')}, or leave {option('cluster')} out")
    if kind == "HAC":
        if maxlags is None:
            raise BadOptionError("cov_type", "HAC", "needs the number of lags",
                                 f"add {option('maxlags', newey_west_lags(n_rows))} (Newey and West's rule of thumb "
                                 f"for {n_rows} rows)")
        if maxlags >= n_rows:
            raise BadOptionError("maxlags", maxlags, f"must be below the number of training rows ({n_rows})",
                                 f"e.g. {option('maxlags', newey_west_lags(n_rows))}")
        return CovarianceSpec(kind, maxlags=int(maxlags))
    if maxlags is not None:
        raise BadOptionError("maxlags", maxlags, f"is for {cov_option('HAC')}, not {kind}",
                             f"add {cov_option('HAC')}, or leave {option('maxlags')} out")
    return CovarianceSpec(kind)


def cluster_codes(groups, n_rows: int) -> tuple[np.ndarray, int]:
    """Integer codes ``0 … G−1`` (in sorted label order) of ``n_rows`` cluster labels, and ``G``."""
    if groups is None:
        raise BadOptionError("cov_type", "cluster", "needs the cluster of every row",
                             f"add {option('cluster', 'COLUMN', python='cluster=labels (one per row)')}")
    labels = np.asarray(groups.to_numpy() if hasattr(groups, "to_numpy") else groups)
    if labels.ndim != 1 or len(labels) != n_rows:
        raise BadDataError(f"cluster has shape {labels.shape} but there are {n_rows} training rows; "
                           "give one cluster label per row")
    missing = missing_labels(labels)
    if missing.any():
        row = int(np.argmax(missing))
        raise BadDataError(f"cluster label of row {row} is missing ({labels[row]!r}); give every row a cluster")
    _, codes = label_codes(labels)
    n_groups = int(codes.max()) + 1
    if n_groups < 2:
        raise BadDataError(f"every row is in one cluster ({labels[0]!r}): cluster-robust errors need two or more "
                           "clusters (and many for the normal approximation to hold)")
    return codes.astype(np.intp), n_groups


class Middle:
    """The sandwich's middle ``M``, accumulated over blocks of rows taken in their order.

    Parameters
    ----------
    spec : CovarianceSpec
    bread : numpy.ndarray
        ``(p, p)`` ``(AᵀA)⁻¹`` (needed for the leverages of HC2 and HC3).
    """

    def __init__(self, spec: CovarianceSpec, bread: np.ndarray) -> None:
        p = len(bread)
        self.spec, self.bread = spec, bread
        self.middle = np.zeros((p, p))
        self.scores = np.zeros((spec.n_groups, p)) if spec.kind == "cluster" else None  # (G, p)
        self.by_label: dict = {}  # streamed clusters: label → Σ scores, the labels seen with the blocks
        self.tail = np.zeros((0, p))  # HAC: the last L scores of the blocks before
        self.rows = 0

    def add(self, design: np.ndarray, residuals: np.ndarray, labels: np.ndarray | None = None) -> None:
        """Fold in the next block: ``design`` ``(m, p)`` and ``residuals`` ``(m,)`` at θ (and,
        for clusters streamed with their rows, the block's ``labels``)."""
        kind, m = self.spec.kind, len(residuals)
        factor = residuals
        if self.spec.needs_leverage:
            leverage = np.einsum("ij,ij->i", design @ self.bread, design)  # (m,)
            factor = residuals / (np.sqrt(1.0 - leverage) if kind == "HC2" else (1.0 - leverage))
        scores = design * factor[:, None]  # (m, p)
        if kind == "cluster" and self.spec.groups is None:
            self._add_labelled(scores, labels)
        elif kind == "cluster":
            codes = self.spec.groups[self.rows:self.rows + m]
            for j in range(scores.shape[1]):
                self.scores[:, j] += np.bincount(codes, weights=scores[:, j], minlength=self.spec.n_groups)
        elif kind == "HAC":
            self._add_lags(scores)
        else:
            self.middle += scores.T @ scores
        self.rows += m

    def _add_labelled(self, scores: np.ndarray, labels) -> None:
        """Σ scores per label of one block, folded into :attr:`by_label`."""
        unique, codes = label_codes(labels)
        sums = np.column_stack([np.bincount(codes, weights=scores[:, j], minlength=len(unique))
                                for j in range(scores.shape[1])])
        for key, row in zip(unique.tolist(), sums):
            self.by_label[key] = self.by_label[key] + row if key in self.by_label else row

    def _add_lags(self, scores: np.ndarray) -> None:
        """``Γ₀`` and the Bartlett-weighted ``Γ_l + Γ_lᵀ`` of pairs whose later row is in this block."""
        lags = self.spec.maxlags
        joined = np.concatenate([self.tail, scores])  # (k + m, p)
        k = len(self.tail)
        self.middle += scores.T @ scores
        for lag in range(1, lags + 1):
            start = max(k, lag)
            if start >= len(joined):
                continue
            gamma = joined[start:].T @ joined[start - lag:len(joined) - lag]
            self.middle += (1.0 - lag / (lags + 1.0)) * (gamma + gamma.T)
        self.tail = joined[-lags:] if lags else self.tail

    @property
    def n_groups(self) -> int:
        return len(self.by_label) if self.spec.groups is None else self.spec.n_groups

    def covariance(self, n: int) -> np.ndarray:
        """``(p, p)`` the robust covariance of the coefficients, from ``n`` rows in all."""
        scores = self.scores
        if self.spec.kind == "cluster" and self.spec.groups is None:
            if self.n_groups < 2:
                raise BadDataError(f"the cluster labels name {self.n_groups} cluster(s): cluster-robust errors need "
                                   "two or more (and many for the normal approximation to hold)")
            scores = np.array([self.by_label[key] for key in sorted(self.by_label, key=_sort_key)])
        middle = scores.T @ scores if scores is not None else self.middle
        cov = self.bread @ middle @ self.bread
        p = len(self.bread)
        if self.spec.kind == "HC1":
            cov *= n / (n - p)
        elif self.spec.kind == "cluster":
            groups = self.n_groups
            cov *= groups / (groups - 1.0) * (n - 1.0) / (n - p)
        return (cov + cov.T) / 2.0


def _sort_key(key):
    return (isinstance(key, str), key)


def robust_covariance(spec: CovarianceSpec, bread: np.ndarray, blocks, n: int) -> np.ndarray:
    """The robust covariance from ``blocks``: ``(design, residuals)`` pairs covering the rows in order."""
    middle = Middle(spec, bread)
    for block in blocks:
        middle.add(*block)
    if middle.rows != n:
        raise BadDataError(f"the covariance saw {middle.rows} rows of {n}; pass every row once")
    return middle.covariance(n)
