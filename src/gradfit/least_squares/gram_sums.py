"""The one pass every Gram path makes: the Gram matrix and column sums of shifted rows, chunk by
chunk (callers run it on one BLAS thread: :func:`blas_threads_for`); and the condition number
that judges the triangle they give.

The rows are shifted by an exact change of basis of ``[1 | x | y]`` (:class:`Shift`): the columns
by the first rows' means ``c``, so that the sums of columns far from zero do not cancel; the target
by the first rows' answer, ``y − t₀ − (x − c)·w₀``, so that where the columns nearly determine the
target its column is nearly the residual and the residual sum of squares no difference of large
sums. :mod:`gradfit.least_squares.gram` (rows in memory) and
:mod:`gradfit.least_squares.gram_stream` (streamed chunks) both fold their rows with
:func:`gram_sums`.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

from .. import limits

# Chunks of fewer columns fold on one BLAS thread: a block's product is ~1 MFlop, less than it
# costs to wake a second thread, and a thread parked on a busy core holds every product up.
# (Measured on 2 cores with other jobs running: the CPU time of a streamed solve of 12M × 11 was
# 1.34× one pyarrow pass with OpenBLAS's two threads, 1.00× with one.)
ONE_THREAD_BELOW = 64
# Values per block where columns are copied beside the ones and the target (Fortran-ordered rows):
# ~8,000 rows of [1 | x − c | y − Aθ₀] (≤ 1 MB at 16 columns) stay in a core's L2 while they are
# written, multiplied by w₀ and squared. Measured on 65,536 × 11 Parquet chunks: 1.2 ms a chunk;
# 1,024-row blocks 2.7 ms, the whole chunk as one block 2.5–8.7 ms; the row-wise products of
# C-ordered rows on the same chunk 3.4–7.5 ms (each chunk of rows a strided view).
COLUMN_BLOCK_CELLS = 100_000


@dataclass(frozen=True)
class Shift:
    """What the pass subtracts from ``[x | y]``, an exact change of basis of ``[1 | x | y]``:
    the columns become ``x − c`` and the target ``y − t₀ − (x − c)·w₀``.

    ``c`` (the first rows' means) keeps the Gram sums of columns far from zero from cancelling;
    ``t₀`` and ``w₀`` (the first rows' least-squares answer, where the target is nearly a linear
    function of the columns) leave the target column nearly the residual, so that the residual sum of
    squares is no difference of large sums and needs no second pass. Without them (``w₀`` zero,
    ``t₀`` the target's first mean) the target is only centred.
    """

    x: np.ndarray  # (d,) c
    t0: float
    w0: np.ndarray | None  # (d,), or None: the target is only centred

    def undo(self, p: int) -> np.ndarray:
        """``T⁻¹`` ``(p + 1, p + 1)``, unit upper triangular: ``[1, x, y] = [1, x − c, target] · T⁻¹``
        (with an intercept; without one only the target's ``w₀`` row)."""
        t_inverse = np.eye(p + 1)
        i0 = p - len(self.x)
        if i0:
            t_inverse[0, 1:p], t_inverse[0, p] = self.x, self.t0
        if self.w0 is not None:
            t_inverse[i0:p, p] = self.w0
        return t_inverse

    def theta0(self, intercept: bool) -> np.ndarray | None:
        """The first rows' answer in the shifted basis ``[1, x − c]`` (``None`` without one)."""
        if self.w0 is None:
            return None
        return np.concatenate([[self.t0], self.w0]) if intercept else self.w0

    def of_target(self, gram: np.ndarray, sums: np.ndarray, intercept: bool) -> tuple[np.ndarray, np.ndarray]:
        """The Gram matrix and column sums of ``[1, x − c, y − t₀]`` from those of the shifted
        target (``y − t₀ = (x − c)·w₀ + target``: sums of squares, nothing left to cancel)."""
        if self.w0 is None:
            return gram, sums
        i0, d = int(intercept), len(self.x)
        to_y = np.eye(len(gram))
        to_y[i0:i0 + d, -1] = self.w0
        return to_y.T @ gram @ to_y, sums @ to_y[i0:, i0:]


def chunk_rows(d: int, cells: int | None = None) -> int:
    """Rows per chunk for ``d`` columns: about ``cells`` values (default ``limits.GRAM_CHUNK_CELLS``,
    and then at most ``limits.GRAM_MAX_CHUNK_ROWS``)."""
    if cells is None:
        return max(limits.GRAM_MIN_CHUNK_ROWS, min(limits.GRAM_MAX_CHUNK_ROWS, limits.GRAM_CHUNK_CELLS // max(d, 1)))
    return max(limits.GRAM_MIN_CHUNK_ROWS, cells // max(d, 1))


def gram_sums(x: np.ndarray, y: np.ndarray, shift: Shift, intercept: bool):
    """Gram matrix and column sums of ``[1, x − c, target]`` (:class:`Shift`) in one read of ``x``:
    ``(p + 1, p + 1)`` (the ones row only with an intercept) and ``(d + 1,)``.

    Rows laid out row by row (C order, as NumPy makes them) are multiplied where they lie; columns
    laid out one after another (Fortran order, as Parquet and CSV columns are read) are copied
    block by block beside the ones and the target, and squared in one product.
    """
    by_columns = x.strides[0] == x.itemsize  # each column contiguous
    gram = (_sums_of_columns if by_columns else _sums_of_rows)(x, y, shift)  # (d + 2)², the ones row first
    return (gram if intercept else gram[1:, 1:]), gram[0, 1:].copy()


def _sums_of_rows(x: np.ndarray, y: np.ndarray, shift: Shift):
    """:func:`gram_sums` of rows in C order: the Gram matrix ``(d + 2)²`` of ``[1 | x − c | target]``.

    Chunk by chunk: ``(x − c)ᵀ(x − c)`` (BLAS syrk), ``(x − c)ᵀ·target`` and the column sums
    (two matrix-vector products with the chunk while it is in cache), and with a target shift the
    target ``y − t₀ − (x − c)·w₀`` first (a third). Without a shift of the columns the chunks are
    views of the caller's array; with one, each chunk is shifted into a small buffer.
    """
    n, d = x.shape
    rows = min(chunk_rows(d), n)
    shifted = bool(np.any(shift.x))
    x_buffer = np.empty((rows, d)) if shifted else None
    ones, target, fit = np.ones(rows), np.empty(rows), np.empty(rows)
    x_t_x, x_t_y, x_sums = np.zeros((d, d)), np.zeros(d), np.zeros(d)
    x_t_x_chunk, vector = np.empty((d, d)), np.empty(d)
    y_t_y = y_sum = 0.0
    for start in range(0, n, rows):
        block = x[start:start + rows]  # (m, d)
        m = len(block)
        if shifted:
            block = np.subtract(block, shift.x, out=x_buffer[:m])
        y_block = np.subtract(y[start:start + m], shift.t0, out=target[:m])
        if shift.w0 is not None:
            y_block -= np.matmul(block, shift.w0, out=fit[:m])
        x_t_x += np.matmul(block.T, block, out=x_t_x_chunk)  # BLAS syrk: the one product a chunk costs
        x_t_y += np.matmul(y_block, block, out=vector)
        x_sums += np.matmul(ones[:m], block, out=vector)  # (a reduction along axis 0 of C-ordered rows is slow)
        # Per chunk, not y @ y on the whole vector: a product that large wakes BLAS's threads,
        # which (measured) costs several times the product itself.
        y_t_y += float(y_block @ y_block)
        y_sum += float(y_block.sum())
    gram = np.empty((d + 2, d + 2))
    gram[0, 0] = n
    gram[1:d + 1, 1:d + 1] = x_t_x
    gram[0, 1:d + 1] = gram[1:d + 1, 0] = x_sums
    gram[1:d + 1, d + 1] = gram[d + 1, 1:d + 1] = x_t_y
    gram[0, d + 1] = gram[d + 1, 0] = y_sum
    gram[d + 1, d + 1] = y_t_y
    return gram


def _sums_of_columns(x: np.ndarray, y: np.ndarray, shift: Shift):
    """:func:`gram_sums` of columns in Fortran order: ``BᵀB`` ``(d + 2)²`` of ``B = [1 | x − c | target]``,
    ``B`` written block by block into one buffer (each column a contiguous copy) and squared in one
    product while the block is in cache."""
    n, d = x.shape
    block = np.empty((max(1, min(n, COLUMN_BLOCK_CELLS // (d + 2))), d + 2), order="F")
    block[:, 0] = 1.0
    total, product, fit = np.zeros((d + 2, d + 2)), np.empty((d + 2, d + 2)), np.empty(len(block))
    for start in range(0, n, len(block)):
        rows = block[:min(len(block), n - start)]
        np.subtract(x[start:start + len(rows)], shift.x, out=rows[:, 1:d + 1])  # the one copy
        np.subtract(y[start:start + len(rows)], shift.t0, out=rows[:, d + 1])
        if shift.w0 is not None:
            rows[:, d + 1] -= np.matmul(rows[:, 1:d + 1], shift.w0, out=fit[:len(rows)])
        total += np.matmul(rows.T, rows, out=product)  # BLAS syrk, on rows still in L2
    return total


def unit_condition(r: np.ndarray) -> float:
    """The condition number of the columns whose triangle is ``r``, scaled to unit length (inf
    for a zero column or a singular triangle)."""
    norms = np.linalg.norm(r, axis=0)
    if not np.all(norms > 0):
        return np.inf
    singular = np.linalg.svd(r / norms, compute_uv=False)
    return float(singular[0] / singular[-1]) if singular[-1] > 0 else np.inf


_controller = None  # threadpoolctl's view of the loaded BLAS libraries, made once


def blas_threads_for(width: int, cells: int | None = None):
    """A context that runs products of ``width`` columns on one BLAS thread below
    ``ONE_THREAD_BELOW`` columns (nothing changes without threadpoolctl, or for wider products).

    With ``cells`` (the values a pass reads), nothing changes below ``limits.ONE_THREAD_PASS_CELLS``
    either: such a pass takes a millisecond or two, and setting the limit and putting it back
    (2 × 26 µs) would weigh on it."""
    global _controller
    if width >= ONE_THREAD_BELOW or (cells is not None and cells < limits.ONE_THREAD_PASS_CELLS):
        return nullcontext()
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            return nullcontext()
        import scipy.linalg.lapack  # noqa: F401  (TSQR's LAPACK: loaded, so that the limit reaches it)

        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")
