"""``solve``: the closed form and its statistics from a source's reference, without gradient descent."""

from __future__ import annotations

from .penalized import PenalizedReference, reference_of
from .references import covariance_for
from ..results.types import Params, SolveResult, StreamingSolveResult


def solve_source(source, cfg) -> SolveResult:
    """The least-squares answer of ``source``'s training rows and its statistics (at ``1 - cfg.alpha``,
    with the covariance ``cfg.cov_type``: :mod:`gradfit.least_squares.covariance`); with a penalty
    (``cfg.l1``, ``cfg.l2``) the penalized answer, its objective and KKT residual, and no
    classical statistics.

    A source that was streamed (or shared among processes) reports what only that knows: the
    error estimate of float64 QR, rows dropped, the sufficient statistics themselves.
    """
    # A streamed solve reports float64's accuracy in the result (needs_refinement), not as a warning.
    covariance = covariance_for(source, cfg.cov_type, cfg.maxlags, None)
    reference = reference_of(source, cfg, warn_unrefined=source.holds_rows)
    penalized = isinstance(reference, PenalizedReference)
    closed, origin, intercept = reference.closed, source.origin, source.problem.model_intercept
    common = dict(names=source.problem.feature_names, closed_form=Params.from_theta(closed.theta, intercept),
                  std_err=closed.std_err, stats=reference.statistics(closed.theta, cfg.alpha, covariance), refined=closed.refined,
                  penalty=reference.report() if penalized else None,
                  dataset=origin.dataset, target=origin.target, poly_degree=origin.degree, formula=origin.formula,
                  world_size=source.world_size)
    if not source.holds_rows:
        return StreamingSolveResult(**common, needs_refinement=closed.needs_refinement,
                                    estimated_error=closed.estimated_error, n_dropped=origin.n_dropped,
                                    sufficient=getattr(reference, "base", reference).sufficient)
    return SolveResult(**common)

