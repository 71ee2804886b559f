"""Tests on the residuals, as at the bottom of statsmodels' OLS summary.

- skewness ``S = m₃ / m₂^{3/2}`` and kurtosis ``K = m₄ / m₂²`` (Pearson's, 3 for a normal
  sample) from the central moments ``m_k`` of the residuals;
- the omnibus test of normality, D'Agostino and Pearson's ``K² = Z_S² + Z_K²`` with ``Z_S``
  D'Agostino's (1970) transformed skewness and ``Z_K`` Anscombe and Glynn's (1983) transformed
  kurtosis, χ² with 2 degrees of freedom (``scipy.stats.normaltest``; undefined below 8 rows);
- Jarque–Bera, ``n/6 · (S² + (K − 3)²/4)``, χ² with 2 degrees of freedom;
- Durbin–Watson, ``Σ (e_t − e_{t−1})² / Σ e_t²`` (2 without serial correlation; rows in order).

The formulas are written out with :mod:`scipy.special` rather than taken from ``scipy.stats``,
which takes longer to import than the rest of a fit's statistics.
"""

from __future__ import annotations

import math

import numpy as np

DIAGNOSTIC_KEYS = ("omnibus", "omnibus_p", "skew", "kurtosis", "durbin_watson", "jarque_bera", "jarque_bera_p")


def moments(residuals: np.ndarray) -> tuple[float, float]:
    """Skewness and (Pearson) kurtosis of ``residuals``; NaN for constant residuals."""
    centred = residuals - residuals.mean()
    squares = centred * centred  # (products, not float powers: those cost 50 times as much)
    n = len(centred)
    m2 = float(squares.sum()) / n
    if m2 == 0:
        return math.nan, math.nan
    return float(squares @ centred) / n / m2 ** 1.5, float(squares @ squares) / n / m2 ** 2


def skew_z(skew: float, n: int) -> float:
    """D'Agostino's normal transform of the sample skewness (``n ≥ 8``)."""
    y = skew * math.sqrt((n + 1) * (n + 3) / (6.0 * (n - 2)))
    beta2 = 3.0 * (n * n + 27 * n - 70) * (n + 1) * (n + 3) / ((n - 2.0) * (n + 5) * (n + 7) * (n + 9))
    w2 = -1.0 + math.sqrt(2.0 * (beta2 - 1.0))
    delta = 1.0 / math.sqrt(0.5 * math.log(w2))
    alpha = math.sqrt(2.0 / (w2 - 1.0))
    y = 1.0 if y == 0 else y
    return delta * math.log(y / alpha + math.sqrt((y / alpha) ** 2 + 1.0))


def kurtosis_z(kurtosis: float, n: int) -> float:
    """Anscombe and Glynn's normal transform of the sample (Pearson) kurtosis (``n ≥ 5``)."""
    mean = 3.0 * (n - 1) / (n + 1)
    variance = 24.0 * n * (n - 2) * (n - 3) / ((n + 1) ** 2 * (n + 3) * (n + 5))
    x = (kurtosis - mean) / math.sqrt(variance)
    root_beta1 = 6.0 * (n * n - 5 * n + 2) / ((n + 7) * (n + 9)) * math.sqrt(6.0 * (n + 3) * (n + 5) /
                                                                              (n * (n - 2) * (n - 3)))
    a = 6.0 + 8.0 / root_beta1 * (2.0 / root_beta1 + math.sqrt(1.0 + 4.0 / root_beta1 ** 2))
    denominator = 1.0 + x * math.sqrt(2.0 / (a - 4.0))
    if denominator == 0:
        return math.nan
    term = math.copysign(abs((1.0 - 2.0 / a) / denominator) ** (1.0 / 3.0), denominator)
    return (1.0 - 2.0 / (9.0 * a) - term) / math.sqrt(2.0 / (9.0 * a))


def residual_tests(residuals: np.ndarray) -> dict[str, float]:
    """Every statistic of :data:`DIAGNOSTIC_KEYS` for ``residuals`` ``(n,)`` in row order.

    >>> e = np.array([0.3, -1.2, 0.8, 0.1, -0.4, 1.5, -0.9, 0.2, -0.6, 0.2])
    >>> {k: round(v, 4) for k, v in residual_tests(e).items()}  # as statsmodels' summary
    {'omnibus': 0.2675, 'omnibus_p': 0.8748, 'skew': 0.2675, 'kurtosis': 2.4537, 'durbin_watson': 3.2277, 'jarque_bera': 0.2437, 'jarque_bera_p': 0.8853}
    """
    skew, kurtosis = moments(residuals)
    squares = float(residuals @ residuals)
    steps = np.diff(residuals)
    durbin_watson = float(steps @ steps) / squares if squares > 0 else math.nan
    return normality_from_moments(len(residuals), skew, kurtosis, durbin_watson)


def normality_from_moments(n: int, skew: float, kurtosis: float, durbin_watson: float) -> dict[str, float]:
    """:func:`residual_tests` from the residuals' skewness, kurtosis and Durbin–Watson statistic
    (what a pass over streamed or shared rows sums up)."""
    from scipy.special import chdtrc

    jarque_bera = n / 6.0 * (skew ** 2 + (kurtosis - 3.0) ** 2 / 4.0)
    omnibus = skew_z(skew, n) ** 2 + kurtosis_z(kurtosis, n) ** 2 if n >= 8 and math.isfinite(skew) else math.nan
    return {"omnibus": omnibus, "omnibus_p": float(chdtrc(2, omnibus)), "skew": skew, "kurtosis": kurtosis,
            "durbin_watson": durbin_watson, "jarque_bera": jarque_bera, "jarque_bera_p": float(chdtrc(2, jarque_bera))}
