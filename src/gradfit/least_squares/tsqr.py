"""TSQR: fold chunks of rows into the R factor of ``[A | y]`` and per-column moments, in place.

The state is O(p²) (the ``(p+1, p+1)`` triangle, the scales, means, M2 and max |·|) plus one
reusable chunk buffer: arrays only. :class:`gradfit.least_squares.sufficient.SufficientStats` is
built on top (``SufficientStats.from_accumulator``, a snapshot of them). Each chunk
is copied once into a Fortran-ordered buffer (columns of extreme magnitude divided by a power of
two, exactly: see :meth:`Accumulator._rescale`) and factorised together with the running
triangle by LAPACK's ``dtpqrt`` (QR of a triangle stacked on a rectangle, blocked: level-3 BLAS).
Means and M2 are the chunk's own (two passes over the chunk) merged by Chan, Golub & LeVeque's
update, which has no ``Σx² − n·x̄²`` cancellation.
"""

from __future__ import annotations

import numpy as np

from ..errors import BadDataError

# Rescale a column (by a power of two, exactly) once its scale is this far from the one its
# largest value calls for: keeps the factor far from overflow whatever the first chunk looked like.
_RESCALE_BEYOND = 2.0 ** 16
# Columns whose max |·| lies within 2**±32 are not scaled at all (no pass over the chunk).
_ORDINARY_RANGE = 2.0 ** 32


class Accumulator:
    """Folds chunks of rows into the R factor of ``[A | y]`` and per-column moments, in place;
    memory O(chunk · p).

    The state is public: ``n`` rows seen, ``r_aug`` ``(p + 1, p + 1)`` (its upper triangle is R
    of ``[A | y] / scale``), ``scale`` ``(p + 1,)`` the powers of two the columns of ``[A | y]``
    are divided by, and ``mean``, ``m2``, ``max_abs`` ``(d + 1,)`` per column of ``[x | y]``.

    Parameters
    ----------
    d : int
        Features per row (columns of ``x``, polynomial terms included).
    intercept : bool
        Prepend the column of ones.
    names : list of str, optional
        Parameter names, intercept first (for messages).

    Examples
    --------
    >>> acc = Accumulator(1)
    >>> acc.add(np.array([[0.0], [1.0]]), np.array([1.0, 3.0]))
    >>> acc.add(np.array([[2.0]]), np.array([5.0]))
    >>> r = np.triu(acc.r_aug)  # y = 1 + 2x: θ = R⁻¹z, and no residual (ρ = 0)
    >>> acc.n, np.linalg.solve(r[:2, :2], r[:2, 2]).round(12).tolist(), float(abs(r[2, 2])) < 1e-12
    (3, [1.0, 2.0], True)
    """

    def __init__(self, d: int, intercept: bool = True, names: list[str] | None = None) -> None:
        self.d, self.intercept = int(d), bool(intercept)
        self.p = self.d + int(self.intercept)
        width = self.p + 1
        self.names = tuple(names) if names else None
        if self.names is not None and len(self.names) != self.p:
            raise BadDataError(f"got {len(self.names)} parameter names for {self.p} parameters "
                               f"({'intercept and ' if intercept else ''}{self.d} features); give one name each")
        self.n = 0
        self.r_aug = np.zeros((width, width), order="F")  # zeros are a valid start for the QR
        self.scale = np.ones(width)
        self.mean = np.zeros(self.d + 1)
        self.m2 = np.zeros(self.d + 1)
        self.max_abs = np.zeros(self.d + 1)
        self._buffer = np.empty(0)

    @classmethod
    def from_stats(cls, stats) -> "Accumulator":
        """Continue accumulating from existing statistics: anything with this class's state
        (``d``, ``intercept``, ``names``, ``n``, ``r_aug``, ``scale``, ``mean``, ``m2``, ``max_abs``),
        such as a :class:`gradfit.least_squares.sufficient.SufficientStats`; its arrays are copied."""
        acc = cls(stats.d, stats.intercept, list(stats.names) if stats.names else None)
        acc.n = stats.n
        acc.r_aug = np.asfortranarray(stats.r_aug).copy()
        acc.scale, acc.mean = stats.scale.copy(), stats.mean.copy()
        acc.m2, acc.max_abs = stats.m2.copy(), stats.max_abs.copy()
        return acc

    def add(self, x, y) -> None:
        """Fold in the rows ``x`` ``(m, d)``, ``y`` ``(m,)`` (any real dtype; not modified).

        Raises
        ------
        BadDataError
            Wrong shapes, or a NaN or infinite value (naming its row, counted over all chunks).
        """
        x, y = _chunk_arrays(x, y, self.d)
        m = len(y)
        if m == 0:
            return
        i0 = int(self.intercept)
        block = self._block(m)  # (m, p + 1), Fortran order: LAPACK's layout, contiguous columns
        data = block[:, i0:]  # (m, d + 1): x, then y
        if self.intercept:
            block[:, 0] = 1.0
        data[:, :-1] = x  # the one copy of the chunk (and the conversion to float64)
        data[:, -1] = y
        # Largest and smallest of each column (contiguous): the range, and NaN/inf detection.
        hi, lo = data.max(axis=0), data.min(axis=0)  # (d + 1,)
        if not (np.isfinite(hi).all() and np.isfinite(lo).all()):
            _raise_non_finite(x, y, self.n)
        self.max_abs = np.maximum(self.max_abs, np.maximum(np.abs(hi), np.abs(lo)))
        self._rescale(self.max_abs)
        for j in np.flatnonzero(self.scale[i0:] != 1.0):  # only columns of extreme magnitude
            data[:, j] /= self.scale[i0 + j]  # exact: a power of two
        self._add_moments(data, m)
        self._fold(block)
        self.n += m

    def add_stats(self, other) -> None:
        """Fold in the statistics of other rows (anything with this class's state; see
        :meth:`gradfit.least_squares.sufficient.SufficientStats.merge`)."""
        self.max_abs = np.maximum(self.max_abs, other.max_abs)
        self._rescale(self.max_abs)
        other_r = np.asfortranarray(other.r_aug * (other.scale / self.scale))  # exact: powers of two
        self._fold(other_r)
        self._merge_moments(other.n, other.mean, other.m2)
        self.n += other.n

    # ----- inside -----------------------------------------------------------------------

    def _block(self, m: int) -> np.ndarray:
        """A reusable Fortran-ordered ``(m, p + 1)`` buffer (the QR overwrites it)."""
        size = m * (self.p + 1)
        if self._buffer.size < size:
            self._buffer = np.empty(size)
        return self._buffer[:size].reshape((m, self.p + 1), order="F")

    def _rescale(self, max_abs: np.ndarray) -> None:
        """Keep every column's values far from overflow and underflow (in squares too).

        Householder QR is exactly invariant under scaling a column by a power of two (bit for bit:
        the reflectors are scale-free and each column is transformed linearly), so scaling cannot
        make columns of different magnitudes "swamp" one another; it only guards the range. A
        column stays unscaled while its max |·| lies within 2**±32, else it is divided by the
        power of two nearest its max |·|; a scale moves only when more than 2**16 off, and R's
        column is moved with it (exactly).
        """
        i0 = int(self.intercept)
        target = np.ones_like(self.scale)
        target[i0:] = range_scale(max_abs)
        far = (target > self.scale * _RESCALE_BEYOND) | (target < self.scale / _RESCALE_BEYOND)
        if far.any():
            new = np.where(far, target, self.scale)
            self.r_aug *= self.scale / new  # column j times a power of two: exact (barring underflow)
            self.scale = new

    def _add_moments(self, columns: np.ndarray, m: int) -> None:
        """This chunk's mean and M2 (two passes over the chunk, in its scaled units) merged in."""
        scale = self.scale[int(self.intercept):]  # (d + 1,)
        chunk_mean = columns.sum(axis=0) / m  # (d + 1,); contiguous columns: pairwise sums
        deviation = columns - chunk_mean  # (m, d + 1)
        chunk_m2 = np.einsum("ij,ij->j", deviation, deviation)
        with np.errstate(over="ignore", invalid="ignore"):  # M2 of columns beyond ~1e150: inf, as numpy's var
            self._merge_moments(m, chunk_mean * scale, chunk_m2 * scale ** 2)

    def _merge_moments(self, m: int, mean: np.ndarray, m2: np.ndarray) -> None:
        """Chan, Golub & LeVeque: mean and M2 of two disjoint sets of rows (``self.n`` and ``m``)."""
        total = self.n + m
        delta = mean - self.mean
        with np.errstate(over="ignore", invalid="ignore"):
            self.mean = self.mean + delta * (m / total)
            self.m2 = self.m2 + m2 + delta * delta * (self.n * m / total)

    def _fold(self, block: np.ndarray) -> None:
        """``R ← R factor of [R; block]`` by LAPACK's triangular-pentagonal QR (block is overwritten)."""
        from scipy.linalg.lapack import dtpqrt

        nb = min(self.p + 1, 32)  # LAPACK's block size: speed only
        r, _, _, info = dtpqrt(0, nb, self.r_aug, block, overwrite_a=1, overwrite_b=1)
        if info != 0:  # only for invalid arguments, which would be a bug here
            raise RuntimeError(f"LAPACK dtpqrt failed with info={info}")
        self.r_aug = r


def _pow2(values: np.ndarray) -> np.ndarray:
    """The power of two nearest each (positive) value."""
    return np.exp2(np.round(np.log2(values)))


def range_scale(max_abs: np.ndarray) -> np.ndarray:
    """1 for columns of ordinary magnitude (max |·| within 2**±32, or all zero), else the power of
    two nearest their max |·|: what to divide columns by to keep them clear of over- and underflow.

    >>> range_scale(np.array([0.0, 3.0, 1e12, 1e-12])).tolist()
    [1.0, 1.0, 1099511627776.0, 9.094947017729282e-13]
    """
    ordinary = (max_abs == 0) | ((max_abs >= _ORDINARY_RANGE ** -1) & (max_abs <= _ORDINARY_RANGE))
    return np.where(ordinary, 1.0, _pow2(np.where(max_abs > 0, max_abs, 1.0)))


def _chunk_arrays(x, y, d: int) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 1 and d == 1:
        x = x[:, None]
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if x.ndim != 2 or x.shape[1] != d or y.ndim != 1 or len(y) != len(x):
        raise BadDataError(f"a chunk has x of shape {x.shape} and y of shape {y.shape}; expected (m, {d}) and (m,) "
                           "with the same number of rows m in every chunk")
    for label, array in (("x", x), ("y", y)):
        if array.dtype.kind not in "biuf":
            raise BadDataError(f"{label} must be numeric, got dtype {array.dtype}; convert it to float64")
    return x, y


def _raise_non_finite(x: np.ndarray, y: np.ndarray, offset: int):
    bad_x = ~np.isfinite(x).all(axis=1) if x.dtype.kind == "f" else np.zeros(len(x), dtype=bool)
    bad_y = ~np.isfinite(y) if y.dtype.kind == "f" else np.zeros(len(y), dtype=bool)
    row = int(np.argmax(bad_x | bad_y))
    if bad_x[row]:
        col = int(np.argmax(~np.isfinite(x[row])))
        label, value = f"x has a non-finite value at row {offset + row}, column {col}", x[row, col]
    else:
        label, value = f"y has a non-finite value at row {offset + row}", y[row]
    what = "missing (NaN)" if np.isnan(value) else "infinite"
    raise BadDataError(f"{label} ({what}); remove or fill those rows before fitting")
