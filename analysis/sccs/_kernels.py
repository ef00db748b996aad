"""Numerical kernels of the SCCS conditional Poisson likelihood (private).

Everything here works on *sorted, case-only* arrays held in a :class:`Cases`: rows grouped by
case (``starts``, ``grp``), each case in one *block*. A block is one model with its own
coefficients: :class:`analysis.sccs.SCCS` fits one block, :func:`analysis.sccs.batched.fit_many`
fits many simulated data sets at once. With one block (``case_block is None``) the sums are
numpy's pairwise sums over all rows, exactly as a single fit always computed them; with many,
per-block sums are ``np.bincount``. The same functions serve both, so the single fit and the
batched fit share the likelihood, the Newton-Raphson driver, the compression of rows with
equal covariates and the rules for terms with an infinite estimate (:func:`solve_faces`).

The module holds numbers only; the words of errors and warnings are
:mod:`analysis.sccs.model`'s.

Examples
--------
>>> import numpy as np
>>> c = Cases.build(X=np.array([[1.0], [0.0]]), y=np.array([2.0, 3.0]),
...                 days=np.array([40.0, 200.0]), codes=np.array([0, 0]))
>>> fits, errors = solve_faces(c, tol=1e-10, max_iter=50)
>>> round(float(np.exp(fits[0].result.beta[0, 0])), 6)  # (2/40) / (3/200)
3.333333
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np

from analysis.sccs import _aliasing

#: Up to this many terms the O(rows) products are plain numpy loops over columns (pairwise
#: summation, single-threaded); beyond it BLAS. BLAS threads gain nothing on the thin
#: (rows x few) products of an SCCS fit and, on a busy machine, cost more than the work.
_SMALL_P = 8


# --------------------------------------------------------------------------------------------
# Data layout
# --------------------------------------------------------------------------------------------
@dataclass
class Cases:
    """Sorted, case-only arrays of one or many SCCS data sets (blocks).

    Attributes
    ----------
    X : ndarray, shape (n, q)
        Covariate rows (column-major).
    y, logd, days : ndarray, shape (n,)
        Events, log interval length (the offset) and interval length of each row.
    codes : ndarray, shape (n,)
        Case number of each row, non-decreasing (rows of a case are contiguous).
    n_ind : ndarray, shape (n_cases,)
        Events per case (all of a case's events, also those of rows dropped later).
    starts, grp : ndarray
        First row of each case; case index (0..n_cases-1) of each row.
    case_block : ndarray or None
        Block (model) of each case, ``None`` for a single block.
    n_blocks : int
        Number of blocks.
    extra : ndarray or None
        Any per-row values to carry along when rows are dropped (e.g. a term held fixed).
    """

    X: np.ndarray
    y: np.ndarray
    logd: np.ndarray
    days: np.ndarray
    codes: np.ndarray
    n_ind: np.ndarray
    starts: np.ndarray
    grp: np.ndarray
    case_block: np.ndarray | None = None
    n_blocks: int = 1
    row_block: np.ndarray | None = field(default=None, repr=False)
    extra: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.case_block is not None and self.row_block is None:
            self.row_block = self.case_block[self.grp]

    @classmethod
    def build(
        cls,
        X: np.ndarray,
        y: np.ndarray,
        days: np.ndarray,
        codes: np.ndarray,
        n_ind: np.ndarray | None = None,
        case_block: np.ndarray | None = None,
        n_blocks: int = 1,
        logd: np.ndarray | None = None,
    ) -> Cases:
        """Cases from rows sorted by non-decreasing ``codes`` (one code per case).

        Examples
        --------
        >>> import numpy as np
        >>> c = Cases.build(np.zeros((3, 1)), np.array([1.0, 0, 2]), np.ones(3),
        ...                 np.array([0, 0, 1]))
        >>> c.starts.tolist(), c.n_ind.tolist()
        ([0, 2], [1.0, 2.0])
        """
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        grp = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(codes)]))
        if n_ind is None:
            n_ind = np.bincount(grp, weights=y, minlength=len(starts))
        return cls(
            X=np.asfortranarray(X, dtype=float), y=y, logd=np.log(days) if logd is None else logd,
            days=days, codes=codes, n_ind=n_ind, starts=starts, grp=grp,
            case_block=case_block, n_blocks=n_blocks,
        )

    @property
    def q(self) -> int:
        """Number of terms (columns of ``X``)."""
        return self.X.shape[1]

    def take_rows(self, keep: np.ndarray) -> Cases:
        """The rows where ``keep`` is True (every case keeps at least one row)."""
        rows = np.flatnonzero(keep)
        codes = self.codes[rows]
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        grp = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(codes)]))
        return replace(
            self, X=take_rows(self.X, rows), y=self.y[rows], logd=self.logd[rows],
            days=self.days[rows], codes=codes, starts=starts, grp=grp, row_block=None,
            extra=None if self.extra is None else self.extra[rows],
        )

    def take_columns(self, cols: np.ndarray) -> Cases:
        """Only the terms ``cols`` (a copy of ``X``; the rest shared)."""
        if len(cols) == self.q and np.array_equal(cols, np.arange(self.q)):
            return self
        return replace(self, X=np.asfortranarray(self.X[:, cols]))

    def take_blocks(self, blocks: np.ndarray) -> tuple[Cases, np.ndarray]:
        """The cases of ``blocks`` (sorted block numbers), renumbered 0..len(blocks)-1.

        Returns the sub-data and, for each of its blocks, the original block number.
        """
        if self.case_block is None:
            return self, blocks
        new = np.full(self.n_blocks, -1)
        new[blocks] = np.arange(len(blocks))
        case_keep = new[self.case_block] >= 0
        rows = case_keep[self.grp]
        sub = self.take_rows(rows)
        sub.n_ind = self.n_ind[case_keep]
        sub.case_block = new[self.case_block[case_keep]]
        sub.n_blocks = len(blocks)
        sub.row_block = sub.case_block[sub.grp]
        return sub, blocks


def take_rows(X: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """X[rows] as a column-major (Fortran) array, column by column."""
    out = np.empty((len(rows), X.shape[1]), order="F")
    for k in range(X.shape[1]):
        out[:, k] = X[rows, k]
    return out


# --------------------------------------------------------------------------------------------
# Sums: one block (pairwise, as a single fit always did) or many (bincount)
# --------------------------------------------------------------------------------------------
def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """sum(a * b) with numpy's pairwise summation (accurate, no BLAS threads)."""
    return float(np.add.reduce(a * b))


def block_dot(a: np.ndarray, b: np.ndarray, index: np.ndarray | None, n_blocks: int) -> np.ndarray:
    """Per-block sums of ``a * b`` (shape ``(n_blocks,)``); ``index`` None = one block."""
    if index is None:
        return np.array([_dot(a, b)])
    return np.bincount(index, weights=a * b, minlength=n_blocks)


def case_sum(values: np.ndarray, grp: np.ndarray, n_groups: int) -> np.ndarray:
    """Per-case sums of a 1-D or 2-D array (bincount: faster than reduceat for the many short
    groups of SCCS data)."""
    if values.ndim == 1:
        return np.bincount(grp, weights=values, minlength=n_groups)
    out = np.empty((n_groups, values.shape[1]))
    for k in range(values.shape[1]):
        out[:, k] = np.bincount(grp, weights=values[:, k], minlength=n_groups)
    return out


def _linear_predictor(c: Cases, beta: np.ndarray) -> np.ndarray:
    """offset + X @ beta_block (a new array); ``beta`` has shape (n_blocks, q)."""
    X = c.X
    if c.row_block is None:
        b = beta[0]
        if X.shape[1] > _SMALL_P:
            return c.logd + X @ b
        eta = c.logd.copy()
        for k in range(X.shape[1]):
            if b[k] != 0.0:
                eta += b[k] * X[:, k]
        return eta
    eta = c.logd.copy()
    for k in range(X.shape[1]):
        eta += beta[c.row_block, k] * X[:, k]
    return eta


# --------------------------------------------------------------------------------------------
# Log-likelihood, gradient, Hessian
# --------------------------------------------------------------------------------------------
def loglik_parts(beta: np.ndarray, c: Cases) -> tuple[np.ndarray, np.ndarray]:
    """Log-likelihood of each block and the within-case probabilities p_ij at ``beta``.

    p_ij = d_ij exp(b.x_ij) / sum_k d_ik exp(b.x_ik), computed as exp(eta_ij - m_i) with
    m_i the linear predictor of the case's first row, or, if that could overflow, its
    maximum (log-sum-exp). The log-likelihood is
    ``sum_ij n_ij eta_ij - sum_i n_i log sum_j exp(eta_ij)`` with ``eta = log d + b.x``.

    Examples
    --------
    >>> import numpy as np
    >>> c = Cases.build(np.array([[1.0], [0.0]]), np.array([1.0, 1.0]), np.array([1.0, 1.0]),
    ...                 np.array([0, 0]))
    >>> ll, p = loglik_parts(np.zeros((1, 1)), c)
    >>> round(float(ll[0]), 6), p.tolist()   # 2 log(1/2)
    (-1.386294, [0.5, 0.5])
    """
    eta = _linear_predictor(c, beta)
    starts, grp = c.starts, c.grp
    m = eta[starts]
    z = eta - m[grp]
    if z.max() > 300.0:
        m = np.maximum.reduceat(eta, starts)
        z = eta - m[grp]
    e = np.exp(z, out=z)
    s = np.bincount(grp, weights=e, minlength=len(starts))
    case_block = c.case_block
    ll = block_dot(c.y, eta, c.row_block, c.n_blocks) - block_dot(
        c.n_ind, m + np.log(s), case_block, c.n_blocks
    )
    e /= s[grp]
    return ll, e


def _centred(c: Cases, p: np.ndarray) -> np.ndarray:
    """Rows centred on the case's expected row: x_ij - sum_k p_ik x_ik.

    A case's rows are contiguous, so its sums are ``np.add.reduceat`` over ``starts`` (7x
    faster than ``np.bincount`` per column on 340,000 rows x 17 columns, and pairwise sums).
    """
    X, grp, starts = c.X, c.grp, c.starts
    Xc = np.empty_like(X, order="F")
    if not len(starts):
        return Xc
    for k in range(X.shape[1]):
        xk = X[:, k]
        np.subtract(xk, np.add.reduceat(xk * p, starts)[grp], out=Xc[:, k])
    return Xc


def _weighted_gram(Xc: np.ndarray, w: np.ndarray) -> np.ndarray:
    """-Xc' diag(w) Xc for weights w >= 0, by BLAS ``dsyrk`` on sqrt(w) Xc (one triangle:
    4-7x faster than the general product on 340,000 x 17, equal to 3e-16 relative)."""
    from scipy.linalg import blas

    h = blas.dsyrk(-1.0, Xc * np.sqrt(w)[:, None], trans=1, lower=0)
    return np.triu(h) + np.triu(h, 1).T


def grad_hess(c: Cases, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient (n_blocks, q) and Hessian (n_blocks, q, q) of the log-likelihood.

    With xbar_i = sum_j p_ij x_ij (the case's expected covariate row) and the centred rows
    xc_ij = x_ij - xbar_i:  gradient = sum_ij (n_ij - n_i p_ij) xc_ij,
    Hessian = -sum_ij n_i p_ij xc_ij xc_ij^T.  Centring first keeps the Hessian accurate (no
    difference of two large sums).

    Examples
    --------
    >>> import numpy as np
    >>> c = Cases.build(np.array([[1.0], [0.0]]), np.array([2.0, 0.0]), np.array([1.0, 1.0]),
    ...                 np.array([0, 0]))
    >>> g, H = grad_hess(c, np.array([0.5, 0.5]))
    >>> float(g[0, 0]), float(H[0, 0, 0])   # 2 - 2 * 0.5; -2 * 0.5 * 0.5
    (1.0, -0.5)
    """
    q, B, rb = c.q, c.n_blocks, c.row_block
    w = c.n_ind[c.grp] * p
    r = c.y - w
    Xc = _centred(c, p)
    if rb is None:
        grad = np.array([_dot(Xc[:, k], r) for k in range(q)])
        if q > _SMALL_P:
            return grad[None], _weighted_gram(Xc, w)[None]
    else:
        grad = np.column_stack([np.bincount(rb, weights=Xc[:, k] * r, minlength=B)
                                for k in range(q)]) if q else np.zeros((B, 0))
    hess = np.empty((B, q, q))
    for a in range(q):
        wa = w * Xc[:, a]
        for b in range(a, q):
            hess[:, a, b] = hess[:, b, a] = -block_dot(wa, Xc[:, b], rb, B)
    return grad.reshape(B, q), hess


def case_scores(c: Cases, p: np.ndarray) -> np.ndarray:
    """Per-case score vectors sum_j (n_ij - n_i p_ij) x_ij (for the robust sandwich)."""
    r = c.y - c.n_ind[c.grp] * p
    return case_sum(c.X * r[:, None], c.grp, len(c.starts))


def conditional_loglik(
    beta: np.ndarray, X: np.ndarray, days: np.ndarray, events: np.ndarray, ids: np.ndarray
) -> float:
    r"""SCCS conditional Poisson log-likelihood of intervals aggregated per individual.

    For individual *i* with intervals *j* (covariate row x_ij, length d_ij days, n_ij events,
    n_i = sum_j n_ij)::

        loglik(b) = sum_ij n_ij (b.x_ij + log d_ij) - sum_i n_i log( sum_j d_ij exp(b.x_ij) )

    This is the product-multinomial likelihood of the SCCS model (Farrington 1995; Whitaker et
    al. 2006, Stat Med 25:1768, section 3): given n_i, the individual's events fall in interval j
    with probability d_ij exp(b.x_ij) / sum_k d_ik exp(b.x_ik). It equals, term for term, the
    log-likelihood of R's ``clogit(event ~ x + strata(indivL) + offset(log(interval)))`` in
    which each event has its own stratum holding a copy of the individual's intervals (the
    ``log d`` of the event's interval is included, as clogit includes the offset), and the
    Poisson log-likelihood with one fixed effect per individual once those effects are profiled
    out, up to a constant. Individuals without events contribute nothing.

    ``ids`` need not be sorted. This function is the slow, obvious reference used in tests; the
    fit uses the same formula on sorted arrays (:func:`loglik_parts`).

    Parameters
    ----------
    beta : array_like, shape (q,)
        Log rate ratios.
    X : ndarray, shape (n, q)
        Covariate rows.
    days, events, ids : ndarray, shape (n,)
        Interval length, event count and individual of each row.

    Returns
    -------
    float
        The log-likelihood.

    Examples
    --------
    One individual, 2 events in 40 exposed days and 3 in 200 unexposed days:

    >>> import numpy as np
    >>> from analysis.sccs import conditional_loglik
    >>> ll = conditional_loglik([0.0], np.array([[1.0], [0.0]]), np.array([40.0, 200.0]),
    ...                         np.array([2, 3]), np.array([1, 1]))
    >>> round(ll, 6)   # 2 log 40 + 3 log 200 - 5 log 240
    -4.130484
    """
    beta = np.asarray(beta, dtype=float)
    X = np.asarray(X, dtype=float).reshape(len(days), -1)
    _, inv = np.unique(np.asarray(ids), return_inverse=True)
    eta = X @ beta + np.log(np.asarray(days, dtype=float))
    y = np.asarray(events, dtype=float)
    n_i = np.bincount(inv, weights=y)
    m = np.full(n_i.shape, -np.inf)
    np.maximum.at(m, inv, eta)
    s = np.bincount(inv, weights=np.exp(eta - m[inv]))
    keep = n_i > 0
    return float(y @ eta - n_i[keep] @ (m[keep] + np.log(s[keep])))


# --------------------------------------------------------------------------------------------
# Compression of rows with equal covariates
# --------------------------------------------------------------------------------------------
def compress(
    X: np.ndarray, y: np.ndarray, days: np.ndarray, grp: np.ndarray, n_cases: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Merge each case's rows that share a covariate pattern (sum days and events).

    Exact for the SCCS likelihood up to the constant sum n_ij log d_ij, which the caller
    restores. Done in O(rows) with a bincount over (case, pattern) when every term takes few
    integer values (0/1 dummies, factor levels); returns None (no compression) otherwise or
    when it would not pay.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0], [0.0], [1.0], [0.0], [0.0]])
    >>> out = compress(X, np.array([1.0, 0, 1, 0, 0]), np.array([2.0, 3, 4, 5, 6]),
    ...                np.zeros(5, dtype=int), 1)
    >>> [a.ravel().tolist() for a in out]
    [[0.0, 1.0], [0.0, 2.0], [14.0, 6.0], [0, 0]]
    """
    n, p = X.shape
    if n <= 2 * n_cases:
        return None
    lo = np.array([X[:, k].min() for k in range(p)])
    hi = np.array([X[:, k].max() for k in range(p)])
    if not all(np.array_equal(X[:, k], np.round(X[:, k])) for k in range(p)):
        return None
    ranges = (hi - lo + 1).astype(np.int64)
    n_patterns = int(np.prod(ranges.astype(float)))
    if n_patterns * n_cases > 4 * n:
        return None
    radix = np.cumprod(np.r_[1, ranges[:-1]]).astype(np.int64)
    key = grp.astype(np.int64) * n_patterns
    for k in range(p):
        key += (X[:, k] - lo[k]).astype(np.int64) * radix[k]
    size = n_cases * n_patterns
    days_c = np.bincount(key, weights=days, minlength=size)
    idx = np.flatnonzero(days_c)             # days > 0, so present (case, pattern) pairs
    days_c = days_c[idx]
    y_c = np.bincount(key, weights=y, minlength=size)[idx]
    grp_c = idx // n_patterns
    code_c = idx % n_patterns
    X_c = np.empty((len(idx), p), order="F")
    for k in range(p):
        X_c[:, k] = lo[k] + (code_c // radix[k]) % ranges[k]
    return X_c, y_c, days_c, grp_c


# --------------------------------------------------------------------------------------------
# Structure: identifiability at b = 0, and terms with an infinite estimate
# --------------------------------------------------------------------------------------------
#: Kinds of structural problems, in the order they are checked.
ZERO, FLAT, COLLINEAR = "zero", "flat", "collinear"


@dataclass
class State:
    """Log-likelihood, probabilities, gradient and Hessian of every block at some ``beta``."""

    beta: np.ndarray
    ll: np.ndarray
    p: np.ndarray
    grad: np.ndarray
    hess: np.ndarray


def structure(c: Cases) -> tuple[State | None, list[tuple[str, list[int]] | None]]:
    """Check that every term is estimable in every block, judged at b = 0.

    A term is *zero* when it is 0 for all rows of the block; otherwise the library's aliasing
    rule decides (:mod:`analysis.sccs._aliasing`, on the rows, not on the information matrix):
    *flat* when it does not vary within any case, *collinear* when, centred within cases, it
    is a combination of the earlier terms (named with the ones it combines). Returns the state
    at b = 0 (the first Newton iterate; None without terms) and, per block, None or
    ``(kind, term indices)``.

    Examples
    --------
    >>> import numpy as np
    >>> c = Cases.build(np.array([[1.0], [1.0]]), np.array([1.0, 1.0]), np.ones(2),
    ...                 np.array([0, 0]))
    >>> structure(c)[1]      # constant within the only case
    [('flat', [0])]
    """
    q, B, rb = c.q, c.n_blocks, c.row_block
    problems: list[tuple[str, list[int]] | None] = [None] * B
    if q == 0:
        return None, problems
    if rb is None:
        nonzero = np.array([[bool(np.any(c.X[:, k])) for k in range(q)]])
    else:
        nonzero = np.column_stack([np.bincount(rb, weights=c.X[:, k] != 0, minlength=B) > 0
                                   for k in range(q)])
    for b in np.flatnonzero(~nonzero.all(axis=1)):
        problems[b] = (ZERO, np.flatnonzero(~nonzero[b]).tolist())
    beta = np.zeros((B, q))
    ll0, p = loglik_parts(beta, c)
    grad0, hess = grad_hess(c, p)
    w = c.n_ind[c.grp] * p
    found = _aliasing.detect(c.X, c.grp, w, row_block=rb, n_blocks=B)
    for b in np.flatnonzero(found.constant.any(axis=1)):
        if problems[b] is None:
            problems[b] = (FLAT, np.flatnonzero(found.constant[b]).tolist())
    dependent = [b for b in np.flatnonzero(found.dependent.any(axis=1)) if problems[b] is None]
    if dependent:
        rows_of = _block_rows(c)
        for b in dependent:
            problems[b] = (COLLINEAR, _collinear_terms(c, w, found, b, rows_of(b)))
    return State(beta, ll0, p, grad0, hess), problems


def _block_rows(c: Cases) -> Callable[[int], Any]:
    """Block -> its rows (one sort, then a slice per block)."""
    if c.row_block is None:
        return lambda b: slice(None)
    order = np.argsort(c.row_block, kind="stable")
    bounds = np.searchsorted(c.row_block[order], np.arange(c.n_blocks + 1))
    return lambda b: order[bounds[b]:bounds[b + 1]]


def _collinear_terms(c: Cases, w: np.ndarray, found: _aliasing.Aliasing, b: int,
                     rows: Any) -> list[int]:
    """The first dependent term of block ``b`` and the earlier kept terms it combines."""
    k = int(np.flatnonzero(found.dependent[b])[0])
    earlier = np.flatnonzero(~found.aliased[b, :k])
    return _aliasing.involved(c.X[rows], c.grp[rows], w[rows], k, earlier)


def boundary_sides(c: Cases) -> np.ndarray:
    """For each block and term: -1 (+1) if all its events sit at the case's lowest (highest)
    value of the term, else 0.

    Then the log-likelihood is monotone in that coefficient and the estimate is -inf (+inf).
    For a 0/1 dummy: no events in the level (all events in the level).

    Examples
    --------
    >>> import numpy as np
    >>> c = Cases.build(np.array([[1.0], [0.0]]), np.array([0.0, 3.0]), np.ones(2),
    ...                 np.array([0, 0]))
    >>> boundary_sides(c).tolist()
    [[-1]]
    """
    X, q, B = c.X, c.q, c.n_blocks
    sides = np.zeros((B, q), dtype=np.int8)
    if q == 0:
        return sides
    n_ind, starts = c.n_ind, c.starts
    case_lo = np.minimum.reduceat(X, starts, axis=0)
    case_hi = np.maximum.reduceat(X, starts, axis=0)
    if c.case_block is None:
        observed = np.array([[_dot(c.y, X[:, k]) for k in range(q)]])
        lo = np.add.reduce(n_ind[:, None] * case_lo, axis=0)[None]
        hi = np.add.reduce(n_ind[:, None] * case_hi, axis=0)[None]
        scale = np.array([np.abs(X[:, k]).max() for k in range(q)])[None] * n_ind.sum()
    else:
        cb = c.case_block
        observed = np.column_stack([block_dot(c.y, X[:, k], c.row_block, B) for k in range(q)])
        lo = case_sum(n_ind[:, None] * case_lo, cb, B)
        hi = case_sum(n_ind[:, None] * case_hi, cb, B)
        amax = np.zeros((B, q))
        np.maximum.at(amax, cb, np.maximum(np.abs(case_lo), np.abs(case_hi)))
        scale = amax * np.bincount(cb, weights=n_ind, minlength=B)[:, None]
    tol = 1e-12 * (scale + 1.0)
    sides[observed <= lo + tol] = -1
    sides[(sides == 0) & (observed >= hi - tol)] = 1
    return sides


def face_rows(c: Cases, k: int, side: int) -> np.ndarray:
    """Rows where term ``k`` is at its case's lowest (``side`` -1) or highest (+1) value: the
    rows that keep positive weight as its coefficient runs to -inf (+inf)."""
    xk = c.X[:, k]
    ext = (np.minimum if side < 0 else np.maximum).reduceat(xk, c.starts)
    return xk == ext[c.grp]


# --------------------------------------------------------------------------------------------
# Newton-Raphson, every block at once
# --------------------------------------------------------------------------------------------
def _solve(A: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve A_b s_b = g_b for every block; blocks with a singular A get ok = False."""
    try:
        return np.linalg.solve(A, g[..., None])[..., 0], np.ones(len(g), dtype=bool)
    except np.linalg.LinAlgError:
        out = np.zeros_like(g)
        ok = np.ones(len(g), dtype=bool)
        for b in range(len(g)):
            try:
                out[b] = np.linalg.solve(A[b], g[b])
            except np.linalg.LinAlgError:
                ok[b] = False
        return out, ok


@dataclass
class NewtonResult:
    """Per-block Newton-Raphson outcome (arrays over blocks)."""

    beta: np.ndarray
    ll: np.ndarray
    hess: np.ndarray
    p: np.ndarray
    converged: np.ndarray
    n_iter: np.ndarray
    max_grad: np.ndarray


def newton(c: Cases, state: State | None, tol: float, max_iter: int) -> NewtonResult:
    """Newton-Raphson with step halving for every block (blocks share no parameters).

    Starts from ``state`` (log-likelihood, probabilities, gradient and Hessian at its
    ``beta``), or from b = 0. A block stops when the relative change of its log-likelihood
    and its Newton decrement g'(-H)^-1 g are both below ``tol``; a step is halved (up to 59
    times) while it lowers the block's log-likelihood; a singular Hessian stops the block
    (not converged).

    Examples
    --------
    >>> import numpy as np
    >>> c = Cases.build(np.array([[1.0], [0.0]]), np.array([2.0, 3.0]),
    ...                 np.array([40.0, 200.0]), np.array([0, 0]))
    >>> r = newton(c, None, 1e-10, 50)
    >>> bool(r.converged[0]), round(float(np.exp(r.beta[0, 0])), 6)
    (True, 3.333333)
    """
    B, q = c.n_blocks, c.q
    if state is None:
        beta = np.zeros((B, q))
        ll, p = loglik_parts(beta, c)
        grad, hess = grad_hess(c, p) if q else (np.zeros((B, 0)), np.zeros((B, 0, 0)))
    else:
        beta, ll, p, grad, hess = state.beta, state.ll, state.p, state.grad, state.hess
    converged = np.zeros(B, dtype=bool)
    n_iter = np.zeros(B, dtype=np.int64)
    if q == 0:
        return NewtonResult(beta, ll, hess, p, ~converged, n_iter, np.zeros(B))
    stopped = np.zeros(B, dtype=bool)
    for _ in range(max_iter):
        todo = ~(converged | stopped)
        if not todo.any():
            break
        n_iter += todo
        step, ok = _solve(-hess, grad)
        stopped |= todo & ~ok
        todo &= ok
        if not todo.any():
            break
        step[~todo] = 0.0
        decrement = np.array([g @ s for g, s in zip(grad, step, strict=True)])
        t = np.ones(B)
        cand = beta + step
        ll_new, p_new = loglik_parts(cand, c)
        for _halve in range(59):
            bad = todo & ~(ll_new >= ll - 1e-12 * (1.0 + np.abs(ll)))
            if not bad.any():
                break
            t[bad] *= 0.5
            cand = beta + t[:, None] * step
            ll_new, p_new = loglik_parts(cand, c)
        change = np.abs(ll_new - ll)
        beta, ll, p = cand, ll_new, p_new
        grad, hess = grad_hess(c, p)
        converged |= todo & (change <= tol * (1.0 + np.abs(ll))) & (decrement <= tol)
    return NewtonResult(beta, ll, hess, p, converged, n_iter, np.abs(grad).max(axis=1))


class Ascent(NamedTuple):
    """Outcome of :func:`maximise`: the maximiser, the objective's value and auxiliary output
    there, the gradient and information (minus the Hessian) there, and convergence."""

    theta: np.ndarray
    value: float
    aux: Any
    grad: np.ndarray
    info: np.ndarray
    converged: bool
    n_iter: int


def maximise(
    objective: Callable[[np.ndarray], tuple[float, Any]],
    derivatives: Callable[[np.ndarray, Any], tuple[np.ndarray, np.ndarray]],
    theta0: np.ndarray,
    *,
    tol: float,
    max_iter: int,
) -> Ascent:
    """Newton-Raphson with step halving for one concave objective, the same rules as
    :func:`newton` applies to each block: for the fits whose likelihood is not the
    :class:`Cases` one (many-level factors, event weights, penalised splines).

    ``objective(theta)`` gives ``(value, aux)``; ``derivatives(theta, aux)`` the gradient and
    the information (minus the Hessian) from them. A step is halved (up to 59 times) while it
    lowers the value; the iteration stops when the relative change of the value and the Newton
    decrement ``g' info^-1 g`` are both below ``tol``.

    Examples
    --------
    >>> import numpy as np
    >>> def f(t):  # concave, maximum at t = (1, -2)
    ...     return float(-((t[0] - 1.0) ** 2) - 2.0 * (t[1] + 2.0) ** 2), None
    >>> def d(t, _):
    ...     return np.array([-2.0 * (t[0] - 1.0), -4.0 * (t[1] + 2.0)]), np.diag([2.0, 4.0])
    >>> r = maximise(f, d, np.zeros(2), tol=1e-10, max_iter=20)
    >>> r.theta.tolist(), r.converged, r.n_iter
    ([1.0, -2.0], True, 2)
    """
    theta = np.asarray(theta0, dtype=float)
    value, aux = objective(theta)
    grad, info = derivatives(theta, aux)
    for it in range(1, max_iter + 1):
        step = np.linalg.solve(info, grad)
        decrement = float(grad @ step)
        t = 1.0
        for _ in range(60):
            cand = theta + t * step
            new_value, new_aux = objective(cand)
            if new_value >= value - 1e-12 * (1.0 + abs(value)):
                break
            t *= 0.5
        change = abs(new_value - value)
        theta, value, aux = cand, new_value, new_aux
        grad, info = derivatives(theta, aux)
        if change <= tol * (1.0 + abs(value)) and decrement <= tol:
            return Ascent(theta, value, aux, grad, info, True, it)
    return Ascent(theta, value, aux, grad, info, False, max_iter)


# --------------------------------------------------------------------------------------------
# Faces: infinite estimates, then Newton on what is left
# --------------------------------------------------------------------------------------------
@dataclass
class Boundary:
    """One term set to its infinite limit: term index, side (-1/+1), and the days of case time
    it excluded, by block (the numbering of the top call of :func:`solve_faces`)."""

    term: int
    side: int
    days_excluded: dict[int, float]


@dataclass
class FaceFit:
    """A Newton fit of the blocks ``blocks`` on the terms ``active``, after ``path`` (the
    terms set to +-inf, in the order found). ``cases`` are the rows left."""

    blocks: np.ndarray
    active: np.ndarray
    path: list[Boundary]
    cases: Cases
    result: NewtonResult


@dataclass
class FaceError:
    """Blocks ``blocks`` whose terms ``terms`` (indices into all terms) are not estimable
    (``kind`` zero / flat / collinear), after the boundary terms ``path``."""

    blocks: np.ndarray
    kind: str
    terms: list[int]
    path: list[Boundary]


def solve_faces(
    c: Cases,
    tol: float,
    max_iter: int,
    *,
    active: np.ndarray | None = None,
    path: list[Boundary] | None = None,
    blocks: np.ndarray | None = None,
    start: np.ndarray | None = None,
    checked: bool = False,
) -> tuple[list[FaceFit], list[FaceError]]:
    """Fit every block, setting terms with an infinite estimate to their limit first.

    The rule (one for the single and the batched fit): check the terms' structure
    (:func:`structure`); find the first term whose events all sit at the case's lowest or
    highest value (:func:`boundary_sides`); its estimate is -inf or +inf, and the likelihood's
    limit drops the rows where the term is not at that extreme (zero weight); repeat on the
    other terms and the remaining rows; fit the rest by :func:`newton`. Blocks that reach
    different faces are fitted separately. ``start`` (n_blocks, q) warm-starts Newton;
    ``checked`` skips the structure check (the caller knows the terms are estimable).

    Examples
    --------
    >>> import numpy as np
    >>> c = Cases.build(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]),
    ...                 np.array([0.0, 2.0, 1.0]), np.ones(3), np.array([0, 0, 0]))
    >>> fits, errors = solve_faces(c, 1e-10, 50)
    >>> [(b.term, b.side) for b in fits[0].path], round(float(fits[0].result.beta[0, 0]), 6)
    ([(0, -1)], 0.693147)
    """
    active = np.arange(c.q) if active is None else active
    path = [] if path is None else path
    blocks = np.arange(c.n_blocks) if blocks is None else blocks
    state, problems = (None, [None] * c.n_blocks) if checked else structure(c)
    bad = np.array([pr is not None for pr in problems])
    errors = _face_errors(problems, blocks, active, path)
    fits: list[FaceFit] = []
    groups = _boundary_groups(c, bad)
    plain = groups.pop((-1, 0), np.zeros(0, dtype=np.int64))
    if len(plain):
        sub = c.take_blocks(plain)[0] if len(plain) < c.n_blocks else c
        if start is not None:
            state = _warm(sub, start[plain])
        elif len(plain) < c.n_blocks:
            state = None
        fits.append(FaceFit(blocks[plain], active, path, sub,
                            newton(sub, state, tol, max_iter)))
    for (k, side), members in groups.items():
        sub = c.take_blocks(members)[0] if len(members) < c.n_blocks else c
        keep = face_rows(sub, k, side)
        excluded = block_dot(sub.days, ~keep, sub.row_block, sub.n_blocks)
        rest = np.flatnonzero(np.arange(c.q) != k)
        step = [*path, Boundary(int(active[k]), side,
                                dict(zip(blocks[members].tolist(), excluded.tolist(),
                                         strict=True)))]
        f, e = solve_faces(sub.take_rows(keep).take_columns(rest), tol, max_iter,
                           active=active[rest], path=step, blocks=blocks[members],
                           start=None if start is None else start[members][:, rest],
                           checked=checked)
        fits += f
        errors += e
    return fits, errors


def _face_errors(
    problems: list[tuple[str, list[int]] | None], blocks: np.ndarray, active: np.ndarray,
    path: list[Boundary],
) -> list[FaceError]:
    """One :class:`FaceError` per (kind, terms) among the blocks' structural problems."""
    groups: dict[tuple[str, tuple[int, ...]], list[int]] = {}
    for b, pr in enumerate(problems):
        if pr is not None:
            groups.setdefault((pr[0], tuple(pr[1])), []).append(b)
    order = {ZERO: 0, FLAT: 1, COLLINEAR: 2}
    return [FaceError(blocks[members], kind, [int(active[k]) for k in terms], path)
            for (kind, terms), members in sorted(groups.items(), key=lambda g: order[g[0][0]])]


def _boundary_groups(c: Cases, bad: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
    """Blocks (not ``bad``) grouped by their first term at an infinite limit and its side;
    key ``(-1, 0)``: blocks without one."""
    sides = boundary_sides(c)
    sides[bad] = 0
    flagged = sides != 0
    first = np.full(c.n_blocks, -1)
    side = np.zeros(c.n_blocks, dtype=np.int64)
    if c.q:
        first = np.where(flagged.any(axis=1), flagged.argmax(axis=1), -1)
        side = np.where(first >= 0, sides[np.arange(c.n_blocks), np.maximum(first, 0)], 0)
    groups: dict[tuple[int, int], np.ndarray] = {}
    for k, sd in sorted(set(zip(first[~bad].tolist(), side[~bad].tolist(), strict=True))):
        groups[(k, sd)] = np.flatnonzero(~bad & (first == k) & (side == sd))
    return groups


def _warm(c: Cases, beta: np.ndarray) -> State:
    """The state at ``beta`` (warm start)."""
    beta = np.where(np.isfinite(beta), beta, 0.0)
    ll, p = loglik_parts(beta, c)
    grad, hess = grad_hess(c, p)
    return State(beta, ll, p, grad, hess)
