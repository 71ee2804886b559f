"""Every size and numerical threshold gradfit decides by, in one place, each with its reason.

Modules read these as ``limits.NAME`` when they run (never copy them at import), so a test or
an experiment can change one here and every path sees it.
"""

from __future__ import annotations

import numpy as np

EPS = float(np.finfo(np.float64).eps)

# ----- how data is held --------------------------------------------------------------------

# Up to this many cells (rows × columns) the design is built in memory and solved by dense QR
# with exact refinement (about 1 s a million cells when a problem needs it); above it, rows are
# reduced to sufficient statistics (memory about one chunk beyond the data itself).
SMALL_CELLS = 2_000_000

# Data files above this size are streamed (row groups / CSV chunks) when the run allows it, so
# memory stays about one chunk whatever the file's size; smaller files are read whole.
STREAM_FILES_ABOVE = 64 * 2**20

# Rows per chunk of a streaming pass when the caller does not say: about this many cells (8 MiB
# chunks amortise the per-chunk overhead; larger ones gain nothing measurable), 1,024 to 65,536 rows.
CHUNK_CELLS = 1 << 20
MIN_CHUNK_ROWS = 1024
MAX_CHUNK_ROWS = 65_536

# CSV cells parsed per chunk when a file is read whole: bounds memory whatever the file's width.
CSV_READ_CELLS = 4_000_000

# Mini-batches streamed from disk: a shuffle buffer of about 64 MiB of float64 rows, at most
# 1,048,576 rows.
SHUFFLE_BUFFER_BYTES = 64 * 2**20
MAX_SHUFFLE_BUFFER_ROWS = 1 << 20

# Arrays of at least this many values are checked for NaN/inf by one sum (a read, no temporary)
# instead of an elementwise test (which costs more than the sum below about a million values).
FINITE_SUM_CHECK_CELLS = 1_000_000

# ----- the Gram (Cholesky) fast path to sufficient statistics ------------------------------

# Above this condition number of the unit-length columns, κ²·eps (2e-10 at 1e3) in the triangle,
# which the standard errors inherit, is no longer negligible: use TSQR instead.
GRAM_MAX_CONDITION = 1e3
# Values per chunk of the Gram pass: 1.3 MB of float64 (8,192 rows of 20) stays in the L3 cache
# for the chunk's second and third products, and the pass makes a quarter of the calls that
# L2-sized chunks took, whose overhead weighed a third of the pass. The pass runs on one BLAS thread
# (least_squares.gram_stream.blas_threads_for), so a chunk this size wakes no threads. (Measured
# on 2 cores, 1,000,000 × 20, alternated with `X.T @ X` on one thread: 20,480 values a chunk took
# 1.98–2.42× that product, 81,920 1.64–1.80×, 163,840 1.54–1.93×.)
GRAM_CHUNK_CELLS = 163_840
# ... and at most this many rows a chunk: narrow rows in chunks this long run as fast as longer ones
# on large data (1,000,000 × 5: 28.2 ms against 26.3 at 32,768 rows) and faster on small data
# (10,000 × 5 as one chunk: 1.09 ms; in chunks of 8,192 rows: 0.90).
GRAM_MAX_CHUNK_ROWS = 8192
# The refinement pass is two matrix-vector products per chunk, bound by memory: chunks of 640 KiB
# (a quarter as many calls) took 16 ms instead of 22 at 1,000,000 × 20.
GRAM_REFINE_CHUNK_CELLS = 81_920
# The Gram path's refinement pass runs where it can change the answer by more than this relative
# (least_squares.gram: the Cholesky solution's eps·κ²·‖δ‖/‖θ‖, the residual sum of squares'
# eps·Σ target²/RSS, the target shifted by the first rows' answer where it would lose digits);
# a tenth of REFINE_ABOVE, so what the pass leaves never shows in the closed form's 13 digits.
GRAM_REFINE_ABOVE = 1e-14
# Rows the Gram path looks at before its pass: where the columns sit (their shift) and, on large
# data, the answer's first estimate (the target's shift): 4,096 rows place both well, and their
# normal equations (0.6 ms at 20 columns, on one BLAS thread) cost little beside the pass.
GRAM_HEAD_ROWS = 4096
# From this many cells the Gram path shifts the target by the first rows' answer where the
# residual sum of squares would otherwise need the refinement pass: finding that answer costs
# 0.4–0.6 ms, a second pass about 1 ns a cell (measured at 10,000 × 5: with the shift the fit took
# 4.0–4.1 ms, 3.3 without; the shift pays for itself above about a million cells).
GRAM_TARGET_SHIFT_CELLS = 1_000_000
# From this many cells a pass over rows in memory (the Gram pass, the residuals and their tests)
# runs its products of a few columns on one BLAS thread (least_squares.gram_sums.blas_threads_for):
# a second thread gains little on them, and one that waits for a core held by another library's
# spinning threads (SciPy's OpenBLAS after scikit-learn's lstsq, measured) holds each product up:
# at 100,000 × 10 the residual tests took 15 ms instead of 0.6. Below it the pass takes a
# millisecond or two, and setting the limit (2 × 26 µs) would weigh on it.
ONE_THREAD_PASS_CELLS = 1_000_000
# Wide data is bound by arithmetic, not memory: BLAS needs long chunks to run at full speed.
GRAM_MIN_CHUNK_ROWS = 1024
# Rows per block of the statistics' pass over rows in memory (robust covariances, influence): the
# design of a block is built as it is used, so memory stays a few MB whatever the rows.
STATS_BLOCK_ROWS = 8192
# Up to this many cells the Gram path refines with residuals in double-double
# (least_squares.extra_precise: the answer correctly rounded, as dense QR gives it) instead of one
# float64 pass. It costs about 100 ns a cell (1 ms at this size; a float64 pass, 1 ns a cell):
# the book data, the NIST sets and what a user types in by hand, not data that has to be fast.
EXTRA_PRECISE_CELLS = 10_000

# ----- accuracy of the closed form ---------------------------------------------------------

# Refine the closed form in exact arithmetic when float64 QR's estimated relative error exceeds this.
REFINE_ABOVE = 1e-13
# ... and say so (a warning) where it cannot be refined only when fewer than about ten digits are
# left: at 1e-13 a warning about "this ill-conditioned problem" of condition number 24 (a million
# rows with columns away from zero) told the user nothing they could act on.
WARN_UNREFINED_ABOVE = 1e-10
# The refinement test judges each coefficient's relative error (least_squares.dense: the last
# extra-precise correction); one below this fraction of the largest (in unit-column units) is
# judged at this floor, so that a coefficient with no measurable effect buys no exact refinement.
REFINE_COMPONENT_FLOOR = 1e-6
# Steps of exact refinement at most (each gains about -log10(κ·eps) digits; Filip needs 3–4).
MAX_REFINE_STEPS = 12

# Belsley's rule of thumb flags condition indices of unit-length columns above 30; 1000 is well
# past "strong" collinearity (Longley: 4.3e4, Wampler: 2.2e3, Filip: 5.2e9).
COLLINEARITY_WARNING_ABOVE = 1e3

# ----- gradient descent --------------------------------------------------------------------

# A loss this many times the first epoch's has left any sensible basin: for full-batch gradient
# descent below the stable step the loss only falls, so such growth means divergence.
DIVERGENCE_FACTOR = 1e4

# --lr auto treats the curvature ratio L/μ as at most this (see least_squares.curvature.auto_lr).
AUTO_LR_CONDITION_CAP = 100.0

# The exact engine evaluates this many epochs per block: memory BLOCK × p floats whatever the epochs.
EXACT_EPOCH_BLOCK = 4096

# ----- what inputs may ask for ------------------------------------------------------------

# Every count an option gives (rows, epochs, batch sizes, patience …) is at most this: above any
# count a run can reach (2**53 float64 values are 64 PiB), and small enough that each count is
# exact as a float64 (JSON readers hold numbers as doubles) and fits C's long and NumPy's int64.
MAX_COUNT = 2**53

# Epochs at most: the history keeps every epoch's train loss, validation loss and rate (about
# 70 bytes each as Python floats), each checkpoint and the JSON output carry it, and the exact
# engine evaluates every epoch: a million epochs is about 70 MB of history. Gradient descent that
# needs more is ill-conditioned beyond what more epochs fix; gradfit solve gives the exact answer.
MAX_EPOCHS = 1_000_000

# Seeds are 0 to 2**32 - 1: NumPy's RandomState (the tutorial's start) accepts no more.
MAX_SEED = 2**32 - 1

# Each data column's magnitude (its largest |value|; an all-zero column is left to the rank
# check) must lie in [MIN_COLUMN_MAGNITUDE, MAX_COLUMN_MAGNITUDE]. Every path squares the data:
# the MSE and its gradient, XᵀX (the exact engine, the Gram path, the curvature behind
# lr='auto'), the residual and total sums of squares of the statistics. Sums of n squares of
# values up to 1e144 stay finite for any n up to 2**63 rows (n·1e288 < 1.8e308), and squares of
# values down to 1e-144 (1e-288) stay above 2**52 × the smallest normal float64 (2.2e-308), so
# they keep full precision instead of underflowing. One range for every path, so that the same
# data is fitted (or refused) alike by fit and solve, in memory, streamed or distributed.
MAX_COLUMN_MAGNITUDE = 1e144
MIN_COLUMN_MAGNITUDE = 1e-144

# ----- penalized least squares (least_squares/penalty.py) ---------------------------------

# Coordinate descent only has to find the lasso's zero pattern: the answer on that pattern is then
# solved exactly (QR). A sweep that moves no coordinate by more than this fraction of the largest
# ends it; the sweeps are capped (a few seconds of Python at p = 100) and the pattern checked.
PENALTY_CD_TOL = 1e-7
PENALTY_CD_SWEEPS = 20_000
# Rounds of (coordinate descent, exact solve on the pattern) until the KKT conditions hold.
PENALTY_POLISH_ROUNDS = 6
# A warm start (a path's previous λ) tries its own zero pattern, then lets in the coordinate that
# breaks the KKT conditions most, one at a time, this many times, before coordinate descent: along
# a lasso path coefficients mostly enter one by one as λ falls.
PENALTY_WARM_ENTRIES = 4
# The KKT conditions hold when the stationarity residual is at most this times the size of the
# gradient's terms: far above rounding (≈ eps·κ), far below a wrong zero pattern (≈ the penalty).
PENALTY_KKT_EPS = 1e-9
# A penalty's weight (l1, l2) is at most this: the solvers scale it by the rows (n·l2, n·l1/2 with
# n < 2**53 stay below 1e166, their square roots and the Hessian's 2·l2 finite), and far below it
# every coefficient is already zero (lasso) or below 1e-100 of its least-squares value (ridge).
MAX_PENALTY = 1e150

# ----- the regularization path (pipeline/reg_path.py) -------------------------------------

# A path holds one row of coefficients per λ (and a CV fit per λ and fold): 10,000 values is a
# finer grid than any choice of λ can use (adjacent values 0.07% apart over the default 1e-3 range).
PATH_MAX_LAMBDAS = 10_000
# The top of a ridge path (l2='auto'): this many times the largest eigenvalue s_max of the
# unpenalized MSE's Gram on the penalized coefficients (½ its Hessian, the intercept projected out).
# Ridge shrinks the least-squares coefficients along each eigenvector by s/(s + l2) ≤ 1/101 there, so
# the path starts with every coefficient within 1% of zero, as a lasso path starts at exactly zero.
# Unless eps is given it ends at s_min / PATH_RIDGE_SHRINK, where each is within 1% of least squares
# along every eigenvector (s/(s + l2) ≥ 100/101), at most PATH_RIDGE_DECADES below the top (a Gram
# singular or nearly: fewer rows than parameters, collinear columns, where least squares has no end).
PATH_RIDGE_SHRINK = 100.0
PATH_RIDGE_DECADES = 10
# The lasso's (and elastic net's) grid ends at this fraction of λ_max unless eps is given (glmnet's
# and scikit-learn's default for n > p).
PATH_L1_EPS = 1e-3

# ----- processes under torchrun (scale/launch.py) -------------------------------------------

# How long a process waits for another (a collective, joining the group, the launcher's store)
# before it ends the run: the default of --timeout. A collective waits only for the slowest
# process, and the processes do the same work between collectives, so the wait is the gap between
# them: rank 0 writing a checkpoint, a report or plots while the others wait at the next collective,
# a process importing torch or reading its share of a file slower than the rest on a busy node —
# seconds, at most a minute or two for a multi-GB file on a slow disk. Five minutes is beyond
# every such gap and still frees a job's nodes soon after a peer stalls (torch's own default,
# 30 minutes, holds every process of the job for half an hour).
PROCESS_TIMEOUT = 300.0
# A week: a wait that long is a hang, and the bound keeps the value within what torch's
# timedelta and gloo's milliseconds hold.
MAX_PROCESS_TIMEOUT = 7 * 24 * 3600.0
# After a lost or stalled peer, how long the reporting process waits for the others to check in
# with the launcher's store, so that its message names the ranks that did not: the survivors see
# the same failure within milliseconds (a closed connection) or at the same timeout.
FAULT_CENSUS_SECONDS = 3.0
# Each store operation of that report waits at most this long (the store's host may be gone too).
FAULT_STORE_SECONDS = 5.0
# Under torchrun a signal can arrive twice: from a scheduler that signals every process (Slurm's
# scancel) and again from torchrun passing it on (measured 0.2-4.7 ms apart; a terminal's Ctrl-C
# reaches torchrun alone: its workers run in sessions of their own). A repeat within this time of
# the first counts as the same signal, not as the second one that aborts at once.
LAUNCHER_ECHO_SECONDS = 1.0

# A mini-batch fit of rows read whole holds them about once: its batches are drawn from the float64
# rows (pipeline/sources.RowBatches), with no float32 copy or epoch's gather beside them (measured
# growth on 0.5M- and 2.5M-row Parquet files, less the per-row vectors data/footprint counts apart:
# 0.93–1.10× the rows; it was 3.0× with the copy and the gather). 1.25 leaves the allocator room.
# A file whose rows would need more than the memory free is streamed through the shuffle buffer.
IN_MEMORY_PEAK = 1.25
