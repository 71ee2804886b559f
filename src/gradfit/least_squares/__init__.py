"""The exact answer every fit is checked against, and its statistics.

- ``dense.py``: ``lstsq``: Householder QR in float64, refined with double-double residuals
  (``extra_precise.py``) and, where the standard errors need it, in exact arithmetic
  (``exact_arithmetic.py``); ``closed_form.py`` the one result type of the closed form
  (``LeastSquares``) and its error estimate.
- ``sufficient.py``: ``SufficientStats``: rows reduced to the R factor of ``[A | y]`` and column
  moments, from which the closed form, loss, gradient and curvature follow in O(p²); built by
  TSQR (``tsqr.py``) or, for well-conditioned rows in memory, the Gram fast path (``gram.py``).
- ``statistics.py``: ``OLSStats`` (statsmodels-grade statistics at any θ); ``sufficient_ols.py``:
  ``SufficientOLSStats`` and ``RowsOLSStats`` (the same from sufficient statistics).
- ``curvature.py``: Hessian extremes and ``lr='auto'``; ``checks.py``: rank and collinearity.
"""
