"""From validated columns to what gradient descent sees: polynomial terms and standardization.

Standardization is fitted on the training rows only and undone on the way out, so coefficients,
the trace and predictions are always reported on the original scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import BadDataError, BadOptionError, option
from ..floats import fast_two_sum, two_product
from .validate import Problem, check_magnitudes


def polynomial_features(x: np.ndarray, degree: int, name: str) -> tuple[np.ndarray, list[str]]:
    """Columns ``x, x², …, x^degree`` of one feature.

    Parameters
    ----------
    x : numpy.ndarray
        ``(n, 1)``: exactly one feature.
    degree : int
        Highest power, at least 1.

    Returns
    -------
    columns : numpy.ndarray
        ``(n, degree)``.
    names : list of str
        ``["x", "x^2", …]``.

    Examples
    --------
    >>> cols, names = polynomial_features(np.array([[2.0], [3.0]]), 3, "x")
    >>> cols.tolist(), names
    ([[2.0, 4.0, 8.0], [3.0, 9.0, 27.0]], ['x', 'x^2', 'x^3'])
    """
    if x.ndim != 2 or x.shape[1] != 1:
        raise BadOptionError(
            "poly", degree, f"polynomial terms need exactly one feature, got {x.shape[1]}", choose_one_feature(),
        )
    powers = np.arange(1, degree + 1)
    return x ** powers, [name] + [f"{name}^{k}" for k in powers[1:]]


def polynomial_design(x: np.ndarray, degree: int, intercept: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Columns ``[1,] x, x², …, x^degree`` as float64 values and their rounding errors.

    Powers are carried in double-double arithmetic (Dekker's exact product), so
    ``design + design_lo`` equals the exact powers of the float64 ``x`` to about 1e-30 relative;
    pass both to :func:`gradfit.lstsq`.

    Parameters
    ----------
    x : numpy.ndarray
        ``(n,)`` values.
    degree : int
        Highest power, at least 1.
    intercept : bool
        Whether to put a column of ones first.

    Returns
    -------
    design, design_lo : numpy.ndarray
        ``(n, degree + intercept)`` each.

    Raises
    ------
    BadOptionError
        When ``degree`` is not a whole number of at least 1.

    Examples
    --------
    >>> design, lo = polynomial_design(np.array([0.1, 3.0]), 3)
    >>> design[:, 3].tolist(), lo[:, 3].tolist()  # 0.1**3 is 0.0010000000000000002 - 7.1e-20
    ([0.0010000000000000002, 27.0], [-7.112366251504908e-20, 0.0])
    """
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or degree < 1:
        raise BadOptionError("degree", degree, "must be a whole number of at least 1", "e.g. degree=2 for x, x²")
    x = np.asarray(x, dtype=np.float64).reshape(-1)  # (n,)
    hi, lo = x, np.zeros_like(x)  # x**k == hi + lo to ~k·eps² relative
    columns, errors = [hi], [lo]
    for _ in range(2, degree + 1):
        product, error = two_product(hi, x)
        hi, lo = fast_two_sum(product, error + lo * x)
        columns.append(hi)
        errors.append(lo)
    if intercept:
        columns.insert(0, np.ones_like(x))
        errors.insert(0, np.zeros_like(x))
    # Dekker's split overflows beyond ~1e300; such entries keep their float64 value alone.
    return np.column_stack(columns), np.nan_to_num(np.column_stack(errors), nan=0.0, posinf=0.0, neginf=0.0)


def poly_fix() -> str:
    """How to bring polynomial terms whose magnitude float64 cannot square back into range."""
    return f"lower {option('poly')}, or rescale the feature (its k-th power scales by the factor to the k)"


def choose_one_feature(from_file: bool = False) -> str:
    """How to choose the one feature polynomial terms need, for the end of a message:
    ``--features`` on the command line; from Python a column of ``x``, or ``features=`` for a file."""
    python = "features=['COL']" if from_file else "x[:, [j]] (a single column of x)"
    return f"choose one with {option('features', python=python)}"


@dataclass(frozen=True)
class Scaling:
    """Centre and scale features and target with training-split statistics.

    With an intercept, ``z = (x - x_mean) / x_scale`` and ``t = (y - y_mean) / y_scale``
    (standard deviations). Without one, centring would change the model, so only the scale is
    divided out (root mean square) and the means are zero.

    Attributes
    ----------
    x_mean, x_scale : numpy.ndarray
        ``(d,)``.
    y_mean, y_scale : float
    """

    x_mean: np.ndarray
    x_scale: np.ndarray
    y_mean: float
    y_scale: float

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, intercept: bool) -> "Scaling":
        if intercept:
            x_mean, x_scale = x.mean(axis=0), x.std(axis=0)
            y_mean, y_scale = float(y.mean()), float(y.std())
        else:
            x_mean, x_scale = np.zeros(x.shape[1]), np.sqrt(np.mean(x ** 2, axis=0))
            y_mean, y_scale = 0.0, float(np.sqrt(np.mean(y ** 2)))
        # A constant column (or target) has nothing to scale; leave it as is.
        x_scale = np.where(x_scale > 0, x_scale, 1.0)
        return cls(x_mean, x_scale, y_mean, y_scale if y_scale > 0 else 1.0)

    def x(self, x: np.ndarray) -> np.ndarray:
        return (x - self.x_mean) / self.x_scale

    def y(self, y: np.ndarray) -> np.ndarray:
        return (y - self.y_mean) / self.y_scale

    def to_original(self, theta: np.ndarray, intercept: bool) -> np.ndarray:
        """Parameters fitted on scaled data, ``[a, v…]``, as parameters of the original data.

        ``w_j = y_scale · v_j / x_scale_j`` and ``b = y_mean + y_scale · a − Σ w_j · x_mean_j``.
        """
        v = theta[int(intercept):]
        w = self.y_scale * v / self.x_scale
        if not intercept:
            return w
        b = self.y_mean + self.y_scale * theta[0] - w @ self.x_mean
        return np.concatenate([[b], w])

    def to_scaled(self, theta: np.ndarray, intercept: bool) -> np.ndarray:
        """The inverse of :meth:`to_original`."""
        w = theta[int(intercept):]
        v = w * self.x_scale / self.y_scale
        if not intercept:
            return v
        a = (theta[0] - self.y_mean + w @ self.x_mean) / self.y_scale
        return np.concatenate([[a], v])

    def gradient_to_scaled(self, gradient: np.ndarray, intercept: bool) -> np.ndarray:
        """The MSE gradient at θ, ``(p,)``, as the gradient of the scale-free loss ``L / y_scale²``
        with respect to the scaled parameters (chain rule through :meth:`to_original`)::

            g̃_a = g_b / y_scale,    g̃_j = (g_wj − x_mean_j · g_b) / (x_scale_j · y_scale)
        """
        g_w = gradient[int(intercept):]
        if not intercept:
            return g_w / (self.x_scale * self.y_scale)
        g_b = gradient[0]
        return np.concatenate([[g_b / self.y_scale], (g_w - self.x_mean * g_b) / (self.x_scale * self.y_scale)])

    def to_dict(self) -> dict:
        return {"x_mean": self.x_mean.tolist(), "x_scale": self.x_scale.tolist(),
                "y_mean": self.y_mean, "y_scale": self.y_scale}


def expand_poly(problem, degree: int):
    """The problem with its single feature replaced by ``x, x², …, x^degree`` (both splits)."""
    name = problem.names[0] if problem.names else "x"
    if problem.n_features != 1:
        raise BadOptionError(
            "poly", degree, f"polynomial terms need exactly one feature, got {problem.n_features} "
            f"({', '.join(problem.names)})", choose_one_feature(),
        )
    names = polynomial_features(problem.x_train[:1], degree, name)[1]
    # Powers with their rounding errors (double-double), so the closed form is that of the exact
    # powers of the data: on NIST's Filip, rounded x**k alone costs seven digits.
    x_train, x_train_lo = polynomial_design(problem.x_train[:, 0], degree, intercept=False)
    x_val = None if problem.x_val is None else polynomial_features(problem.x_val, degree, name)[0]
    n_params = degree + int(problem.intercept)
    if len(x_train) < n_params:
        raise BadDataError(
            f"{len(x_train)} training rows for {n_params} parameters (degree {degree}): least squares needs "
            f"at least as many rows as parameters; lower {option('poly')} or add rows"
        )
    for label, block in (("training", x_train), ("validation", x_val)):
        if block is not None and not np.all(np.isfinite(block)):
            raise BadOptionError("poly", degree, f"x^{degree} overflows float64 on the {label} rows",
                                 "lower the degree or rescale x")
        if block is not None:
            check_magnitudes(block, [f"the polynomial term {term!r}" for term in names], poly_fix())
    return Problem(x_train, problem.y_train, x_val, problem.y_val, problem.intercept, names, x_train_lo,
                   cluster=problem.cluster, weights=problem.weights, val_weights=problem.val_weights)
