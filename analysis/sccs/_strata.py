"""Conditional Poisson likelihood on strata with a many-level factor (private kernel).

The extensions need what :class:`analysis.sccs.SCCS` does not offer through its public API:
event *weights* that are not whole numbers (event-dependent exposures) and a factor with
hundreds or thousands of levels (the age step at every event age of the semiparametric model)
that should not be expanded into dummy columns. This module computes, on long arrays sorted by
stratum, the log-likelihood

    l(b, a) = sum_r y_r eta_r - sum_s n_s log sum_{r in s} exp(eta_r),
    eta_r = offset_r + x_r . b + a[f_r],   n_s = sum_{r in s} y_r,

its gradient and its information matrix (minus the Hessian; dense, ``(p + K) x (p + K)``),
where ``f_r`` is the factor level of row r (``-1`` for the reference level, whose parameter is
fixed at 0). The information's factor block is built from the strata x levels matrix of
within-stratum probabilities in chunks, so the memory stays bounded for many strata.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.sccs._kernels import maximise

#: Cells of the strata x levels probability matrix formed at once.
_CHUNK_CELLS = 1 << 22


@dataclass
class Strata:
    """Long rows sorted by stratum (``group`` non-decreasing, 0 .. n_strata - 1)."""

    group: np.ndarray  # int64, row -> stratum
    X: np.ndarray  # float (rows, p), column-major
    level: np.ndarray  # int64, row -> factor level 0 .. K - 1, or -1 (reference)
    n_levels: int  # K
    offset: np.ndarray  # float (rows,)

    @property
    def n_strata(self) -> int:
        return int(self.group[-1]) + 1 if len(self.group) else 0

    @property
    def n_params(self) -> int:
        return self.X.shape[1] + self.n_levels


def eta(st: Strata, theta: np.ndarray) -> np.ndarray:
    """Linear predictor of every row."""
    p = st.X.shape[1]
    a = np.r_[theta[p:], 0.0]  # index -1 -> the reference's 0
    return st.offset + st.X @ theta[:p] + a[st.level]


def grouped_loglik(
    e: np.ndarray, group: np.ndarray, n_groups: int, y: np.ndarray
) -> tuple[float, np.ndarray]:
    """Conditional Poisson log-likelihood ``sum_r y_r e_r - sum_s n_s log sum_{r in s} exp(e_r)``
    of the linear predictors ``e`` and the within-group probabilities ``p_r`` (log-sum-exp
    shifted by each group's maximum), for any design that yields ``e`` (here and
    :mod:`analysis.sccs.smooth`'s penalised fit)."""
    m = np.full(n_groups, -np.inf)
    np.maximum.at(m, group, e)
    z = np.exp(e - m[group])
    s = np.bincount(group, weights=z, minlength=n_groups)
    n = np.bincount(group, weights=y, minlength=n_groups)
    ll = float(y @ e - n @ (m + np.log(s)))
    return ll, z / s[group]


def probabilities(st: Strata, theta: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Log-likelihood and within-stratum probabilities p_r at ``theta``."""
    return grouped_loglik(eta(st, theta), st.group, st.n_strata, y)


def score_and_information(
    st: Strata, prob: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradient, information (minus the Hessian) and residuals ``y - n_s p_r`` at ``prob``."""
    g, S, K = st.group, st.n_strata, st.n_levels
    X = st.X
    p = X.shape[1]
    n = np.bincount(g, weights=y, minlength=S)
    mu = n[g] * prob
    r = y - mu
    known = st.level >= 0
    lev = st.level[known]
    grad = np.r_[X.T @ r, np.bincount(lev, weights=r[known], minlength=K)]
    H = np.zeros((p + K, p + K))
    # x-x block: X' diag(mu) X - sum_s n_s xbar_s xbar_s'
    xbar = np.stack([np.bincount(g, weights=X[:, j] * prob, minlength=S) for j in range(p)],
                    axis=1) if p else np.zeros((S, 0))
    H[:p, :p] = (X * mu[:, None]).T @ X - (xbar * n[:, None]).T @ xbar
    if K:
        # level-level block: diag(sum mu) - sum_s n_s P_s P_s' ; x-level block likewise
        H[p:, p:][np.diag_indices(K)] = np.bincount(lev, weights=mu[known], minlength=K)
        for j in range(p):
            H[j, p:] = np.bincount(lev, weights=(mu * X[:, j])[known], minlength=K)
        rows_per = max(1, _CHUNK_CELLS // K)
        gk, lk, pk = g[known], lev, prob[known]  # rows are sorted by stratum
        bounds = np.searchsorted(gk, np.arange(0, S + rows_per, rows_per))
        for c, lo in enumerate(range(0, S, rows_per)):
            hi = min(S, lo + rows_per)
            a, b = bounds[c], bounds[c + 1]
            flat = (gk[a:b] - lo) * K + lk[a:b]
            P = np.bincount(flat, weights=pk[a:b], minlength=(hi - lo) * K).reshape(hi - lo, K)
            H[p:, p:] -= (P * n[lo:hi, None]).T @ P
            if p:
                H[:p, p:] -= (xbar[lo:hi] * n[lo:hi, None]).T @ P
        H[p:, :p] = H[:p, p:].T
    return grad, H, r


def newton(
    st: Strata,
    y: np.ndarray,
    *,
    tol: float = 1e-10,
    max_iter: int = 100,
    theta0: np.ndarray | None = None,
) -> tuple[np.ndarray, float, np.ndarray, bool, int]:
    """Maximise the log-likelihood by Newton-Raphson with step halving
    (:func:`analysis.sccs._kernels.maximise`).

    Returns ``(theta, loglik, information, converged, n_iter)``; ``information`` is minus the
    Hessian at ``theta``. Stops when the Newton decrement and the relative change of the
    log-likelihood are both below ``tol``."""
    theta = np.zeros(st.n_params) if theta0 is None else np.asarray(theta0, float).copy()
    fit = maximise(lambda t: probabilities(st, t, y),
                   lambda t, prob: score_and_information(st, prob, y)[:2],
                   theta, tol=tol, max_iter=max_iter)
    return fit.theta, fit.value, fit.info, fit.converged, fit.n_iter
