"""Self-controlled case series (SCCS): the conditional Poisson fit, generic and fast.

The SCCS method (Farrington 1995; Whitaker, Farrington, Spiessens & Musonda 2006, *Tutorial in
biostatistics: the self-controlled case series method*, Stat Med 25:1768-1797; Farrington,
Whitaker & Ghebremichael-Weldeselassie 2018, *Self-Controlled Case Series Studies: A Modelling
Guide with R*) compares each case with itself: given that individual *i* had ``n_i`` events in
its observation period, the events are distributed over its intervals of constant covariates in
proportion to ``days x rate``. Conditioning on ``n_i`` removes every fixed individual effect
(frailty, sex, baseline risk), which is why only cases are needed.

This module knows nothing of any particular study. Its input is a table of intervals, one row
per (individual, interval of constant covariates), **aggregated per individual** (each interval
appears once, with its event count), as built by :mod:`analysis.sccs.intervals`:

====== ===== ====== ==========================================
id     days  events term columns (numeric: 0/1 dummies, ...)
====== ===== ====== ==========================================

The R package SCCS instead duplicates the observation period once per event (one ``clogit``
stratum per event, ``indivL``); both give the same likelihood (see :func:`conditional_loglik`),
and ``tests/test_sccs_r.py`` checks it against R on every documented example.

Typical use::

    from analysis.sccs.model import SCCS, dummies
    fit = SCCS().fit(intervals, ["on_ivig", "fall_winter"])
    fit.summary          # irr, ci_low, ci_high, p, log_irr, se, z
    fit.lr_test(SCCS().fit(intervals, ["fall_winter"]))

Edge cases never give a silent wrong number:

* a term whose events all sit at the lowest (highest) value of the term within every case — for
  a 0/1 dummy: **no events in the level** (all events in the level) — has no finite maximum
  likelihood estimate. :class:`SCCSWarning` is raised; the term is reported with log-IRR
  ``-inf`` (``+inf``), IRR ``0`` (``inf``) and NaN standard error, CI and p; the other terms are
  estimated at the limit of the likelihood (the person-time the limit excludes is dropped), which
  is what the likelihood converges to as that coefficient runs off;
* a term that is zero for all person-time of the cases, a term that does not vary within any
  case, and collinear terms raise :class:`SCCSError` naming the terms;
* non-convergence, and a coefficient so large that it is probably infinite (separation by a
  combination of terms), give :class:`SCCSWarning` (``converged`` is False in the first case);
* no cases, no events, missing or non-numeric values, days <= 0, and negative or fractional
  event counts raise :class:`SCCSError` naming the column and the rows.
"""

from __future__ import annotations

import math
import warnings
from collections import namedtuple
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "SCCS",
    "LRTest",
    "SCCSError",
    "SCCSWarning",
    "conditional_loglik",
    "dummies",
]

#: |log-IRR| beyond which a converged coefficient is flagged as probably infinite
#: (IRR outside about [1e-9, 1e9]).
_HUGE_COEF = 20.0

LRTest = namedtuple("LRTest", ["statistic", "df", "p"])
LRTest.__doc__ = "Likelihood-ratio test of a restricted model nested in a fuller one."


class SCCSError(ValueError):
    """The data or the model cannot give a valid SCCS estimate (message says why and where)."""


class SCCSWarning(UserWarning):
    """The fit ran but a number needs care: infinite estimate, non-convergence, ..."""


# --------------------------------------------------------------------------------------------
# Core numerics on sorted, case-only arrays
# --------------------------------------------------------------------------------------------


def _group_reduce(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sum ``values`` (1-D or 2-D, rows sorted by individual) within each individual."""
    return np.add.reduceat(values, starts, axis=0)


def _case_sum(values: np.ndarray, grp: np.ndarray, n_groups: int) -> np.ndarray:
    """Per-individual sums of a 1-D or 2-D array (bincount: faster than reduceat for the
    many short groups of SCCS data)."""
    if values.ndim == 1:
        return np.bincount(grp, weights=values, minlength=n_groups)
    out = np.empty((n_groups, values.shape[1]))
    for k in range(values.shape[1]):
        out[:, k] = np.bincount(grp, weights=values[:, k], minlength=n_groups)
    return out


#: Up to this many terms the O(rows) products are plain numpy loops over columns (pairwise
#: summation, single-threaded); beyond it BLAS. BLAS threads gain nothing on the thin
#: (rows x few) products of an SCCS fit and, on a busy machine, cost more than the work.
_SMALL_P = 8


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """sum(a * b) with numpy's pairwise summation (accurate, no BLAS threads)."""
    return float(np.add.reduce(a * b))


def _linear_predictor(X: np.ndarray, beta: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """offset + X @ beta (a new array)."""
    if X.shape[1] > _SMALL_P:
        return offset + X @ beta
    eta = offset.copy()
    for k in range(X.shape[1]):
        if beta[k] != 0.0:
            eta += beta[k] * X[:, k]
    return eta


def _loglik_parts(
    beta: np.ndarray,
    X: np.ndarray,
    logd: np.ndarray,
    y: np.ndarray,
    n_ind: np.ndarray,
    starts: np.ndarray,
    grp: np.ndarray,
) -> tuple[float, np.ndarray]:
    """Log-likelihood and the within-individual probabilities p_ij at ``beta``.

    p_ij = d_ij exp(b.x_ij) / sum_k d_ik exp(b.x_ik), computed as exp(eta_ij - m_i) with
    m_i the linear predictor of the individual's first row, or, if that could overflow, its
    maximum (log-sum-exp).
    """
    eta = _linear_predictor(X, beta, logd)
    m = eta[starts]
    z = eta - m[grp]
    if z.max() > 300.0:
        m = np.maximum.reduceat(eta, starts)
        z = eta - m[grp]
    e = np.exp(z, out=z)
    s = np.bincount(grp, weights=e, minlength=len(starts))
    ll = _dot(y, eta) - _dot(n_ind, m + np.log(s))
    e /= s[grp]
    return ll, e


def _grad_hess(
    X: np.ndarray, y: np.ndarray, p: np.ndarray, n_ind: np.ndarray, starts: np.ndarray,
    grp: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian of the conditional log-likelihood.

    With xbar_i = sum_j p_ij x_ij (the individual's expected covariate row) and the centred rows
    xc_ij = x_ij - xbar_i:  gradient = sum_ij (n_ij - n_i p_ij) xc_ij,
    Hessian = -sum_ij n_i p_ij xc_ij xc_ij^T.  Centring first keeps the Hessian accurate (no
    difference of two large sums).
    """
    n_groups, q = len(starts), X.shape[1]
    w = n_ind[grp] * p
    r = y - w
    Xc = np.empty_like(X, order="F")
    for k in range(q):
        xk = X[:, k]
        Xc[:, k] = xk - np.bincount(grp, weights=xk * p, minlength=n_groups)[grp]
    grad = np.array([_dot(Xc[:, k], r) for k in range(q)])
    if q > _SMALL_P:
        return grad, -(Xc * w[:, None]).T @ Xc
    hess = np.empty((q, q))
    for a in range(q):
        wa = w * Xc[:, a]
        for b in range(a, q):
            hess[a, b] = hess[b, a] = -_dot(wa, Xc[:, b])
    return grad, hess


def _case_scores(
    X: np.ndarray, y: np.ndarray, p: np.ndarray, n_ind: np.ndarray, starts: np.ndarray,
    grp: np.ndarray,
) -> np.ndarray:
    """Per-individual score vectors sum_j (n_ij - n_i p_ij) x_ij (for the robust sandwich)."""
    r = y - n_ind[grp] * p
    return _case_sum(X * r[:, None], grp, len(starts))


def conditional_loglik(
    beta: Sequence[float] | np.ndarray,
    X: np.ndarray,
    days: np.ndarray,
    events: np.ndarray,
    ids: np.ndarray,
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
    fit uses the same formula on sorted arrays.
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


def _factorize_ids(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes 0..k-1 of the ids (in order of first appearance) and the unique ids.

    Fast path for numeric ids that are already sorted: a cumulative count of changes, no
    hashing. Otherwise hashing without sorting the ids: rows grouped by individual (as interval
    builders write them) then already have non-decreasing codes, and need no sort either.
    """
    values = ids.to_numpy()
    if pd.api.types.is_numeric_dtype(ids) and len(values) and np.all(values[1:] >= values[:-1]):
        change = np.r_[True, values[1:] != values[:-1]]
        return np.cumsum(change) - 1, values[change]
    codes, uniques = pd.factorize(ids, sort=False)
    return codes, np.asarray(uniques)


def _take_rows(X: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """X[rows] as a column-major (Fortran) array, column by column."""
    out = np.empty((len(rows), X.shape[1]), order="F")
    for k in range(X.shape[1]):
        out[:, k] = X[rows, k]
    return out


def _compress(
    X: np.ndarray, y: np.ndarray, days: np.ndarray, grp: np.ndarray, n_cases: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Merge each case's rows that share a covariate pattern (sum days and events).

    Exact for the SCCS likelihood up to the constant sum n_ij log d_ij, which the caller
    restores. Done in O(rows) with a bincount over (case, pattern) when every term takes few
    integer values (0/1 dummies, factor levels); returns None (no compression) otherwise or
    when it would not pay.
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


def _same_cases(
    a: tuple[np.ndarray, np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> bool:
    """Same case ids with the same events and total observed days (in any row order)."""
    if len(a[0]) != len(b[0]):
        return False
    fa = pd.DataFrame({"n": a[1], "d": a[2]}, index=pd.Index(a[0]))
    fb = pd.DataFrame({"n": b[1], "d": b[2]}, index=pd.Index(b[0]))
    try:
        fb = fb.reindex(fa.index)
    except (TypeError, ValueError):
        return False
    if fb.isna().to_numpy().any():
        return False
    return bool(
        np.array_equal(fa["n"].to_numpy(), fb["n"].to_numpy())
        and np.allclose(fa["d"].to_numpy(), fb["d"].to_numpy(), rtol=0, atol=1e-9)
    )


# --------------------------------------------------------------------------------------------
# Input checking
# --------------------------------------------------------------------------------------------


def _rows_text(data: pd.DataFrame, mask: np.ndarray, limit: int = 5) -> str:
    """Describe offending rows: position as a spreadsheet shows it (header = row 1) and label."""
    pos = np.flatnonzero(mask)
    parts = [f"row {k + 2} (index {data.index[k]!r})" for k in pos[:limit]]
    more = f" and {len(pos) - limit} more" if len(pos) > limit else ""
    return ", ".join(parts) + more


def _numeric_column(data: pd.DataFrame, col: str, what: str) -> np.ndarray:
    """Column as float64, with a clear error for non-numeric or missing values."""
    s = data[col]
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        raise SCCSError(f"column {col!r} ({what}) must be numeric, found dtype {s.dtype}")
    arr = s.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise SCCSError(
            f"column {col!r} ({what}): missing or non-finite value at {_rows_text(data, bad)}"
        )
    return arr


def dummies(
    data: pd.DataFrame,
    column: str,
    reference: Hashable,
    prefix: str | None = None,
    *,
    sep: str = "",
) -> pd.DataFrame:
    """Expand a factor column into 0/1 indicator columns, one per non-reference level.

    Columns are named ``f"{prefix}{sep}{level}"`` (``prefix`` defaults to ``column``), in sorted
    level order, which reproduces R's treatment contrasts and coefficient names (``mmr1``,
    ``age2``, ``season12``). Only levels present in ``data`` get a column: a level with no
    person-time would be an all-zero column, which the fit rejects anyway. Raises
    :class:`SCCSError` if the column is missing, has missing values, or lacks ``reference``.
    """
    if column not in data.columns:
        raise SCCSError(f"dummies: no column {column!r}")
    s = data[column]
    if s.isna().any():
        raise SCCSError(
            f"dummies: column {column!r} has missing values at "
            f"{_rows_text(data, s.isna().to_numpy())}"
        )
    levels = sorted(pd.unique(s))
    if reference not in levels:
        raise SCCSError(
            f"dummies: reference level {reference!r} does not occur in column {column!r} "
            f"(levels: {levels})"
        )
    prefix = column if prefix is None else prefix
    values = s.to_numpy()
    out = {
        f"{prefix}{sep}{lev}": (values == lev).astype(np.int64)
        for lev in levels
        if lev != reference
    }
    return pd.DataFrame(out, index=data.index)


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


class SCCS:
    """Conditional Poisson (SCCS) model fitted by Newton-Raphson; ``fit`` returns ``self``.

    Parameters
    ----------
    tol:
        Convergence tolerance: the fit stops when the relative change of the log-likelihood
        and the Newton decrement g'(-H)^-1 g (twice the log-likelihood gain still expected)
        are both below ``tol``. Newton converges quadratically, so the coefficients are then
        exact to far below 1e-8.
    max_iter:
        Maximum Newton iterations (a well-posed SCCS model needs 4-8).
    alpha:
        Default significance level of :meth:`conf_int` and ``summary`` (0.05 -> 95% CI with
        qnorm(0.975) as R uses).

    Attributes after :meth:`fit`
    ----------------------------
    params, bse:
        log-IRR estimates and standard errors (``pd.Series`` indexed by term).
    loglik, loglik_null:
        Log-likelihood at the estimate and at b = 0, in R's convention (the ``log d`` of each
        event's interval included), so they equal R clogit's values on R's intervals.
    converged, n_iter, max_abs_gradient:
        Convergence information.
    n_cases, n_events, n_intervals:
        Individuals with >= 1 event, their events, and their interval rows in the input.
    boundary_terms:
        ``{term: message}`` for terms with an infinite estimate (see the module docstring).
    warnings:
        The messages of every :class:`SCCSWarning` raised by the fit (for reports/CLI).
    cov_type:
        ``"model"`` or ``"robust"``.
    """

    def __init__(self, *, tol: float = 1e-10, max_iter: int = 50, alpha: float = 0.05) -> None:
        self.tol = float(tol)
        self.max_iter = int(max_iter)
        self.alpha = float(alpha)
        self._fitted = False

    # ---- fitting ---------------------------------------------------------------------------

    def fit(
        self,
        data: pd.DataFrame,
        terms: Sequence[str],
        *,
        id_col: str = "id",
        events_col: str = "events",
        days_col: str = "days",
        cov_type: str = "model",
    ) -> SCCS:
        """Fit the model to intervals aggregated per individual.

        ``data`` has one row per (individual, interval of constant covariates); ``terms`` are
        numeric columns (0/1 dummies, or any numeric covariate) entering the log rate linearly.
        Individuals without events are dropped (they carry no information). ``cov_type`` is
        ``"model"`` (inverse observed information, as R's clogit) or ``"robust"`` (sandwich
        clustered by individual, without small-sample correction).
        """
        self._fitted = False
        if not isinstance(data, pd.DataFrame):
            raise SCCSError(f"data must be a pandas DataFrame, got {type(data).__name__}")
        if isinstance(terms, str):
            terms = [terms]
        terms = list(terms)
        if cov_type not in ("model", "robust"):
            raise SCCSError(f"cov_type must be 'model' or 'robust', got {cov_type!r}")
        dup = sorted({t for t in terms if terms.count(t) > 1})
        if dup:
            raise SCCSError(f"terms repeated: {dup}")
        special = {id_col, events_col, days_col}
        clash = [t for t in terms if t in special]
        if clash:
            raise SCCSError(f"terms {clash} are the id/events/days columns")
        missing = [c for c in [id_col, events_col, days_col, *terms] if c not in data.columns]
        if missing:
            raise SCCSError(f"missing column(s) {missing}; columns are {list(data.columns)}")
        if len(data) == 0:
            raise SCCSError("no intervals: the data has no rows")

        ids = data[id_col]
        if ids.isna().any():
            raise SCCSError(
                f"column {id_col!r} (individual id): missing at "
                f"{_rows_text(data, ids.isna().to_numpy())}"
            )
        days = _numeric_column(data, days_col, "interval length in days")
        if (days <= 0).any():
            raise SCCSError(
                f"column {days_col!r}: interval length must be > 0 days, failing at "
                f"{_rows_text(data, days <= 0)}"
            )
        y = _numeric_column(data, events_col, "event count")
        bad = (y < 0) | (y != np.round(y))
        if bad.any():
            raise SCCSError(
                f"column {events_col!r}: event counts must be whole numbers >= 0, failing at "
                f"{_rows_text(data, bad)}"
            )
        X = np.empty((len(data), len(terms)), dtype=float, order="F")
        for k, t in enumerate(terms):
            X[:, k] = _numeric_column(data, t, "model term")

        # individuals: factorise, keep cases (>= 1 event), sort rows by individual (stable)
        codes, uniques = _factorize_ids(ids)
        n_by_code = np.bincount(codes, weights=y, minlength=len(uniques))
        if n_by_code.sum() == 0:
            raise SCCSError(
                f"no events: column {events_col!r} is 0 in every row, so there are no cases"
            )
        is_case_row = n_by_code[codes] > 0
        order = np.flatnonzero(is_case_row)
        if np.any(codes[order][1:] < codes[order][:-1]):
            order = order[np.argsort(codes[order], kind="stable")]
        if len(order) < len(codes) or np.any(order[1:] < order[:-1]):
            codes, y, days = codes[order], y[order], days[order]
            X = _take_rows(X, order)
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        grp = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(codes)]))
        case_codes = codes[starts]
        n_ind = n_by_code[case_codes]
        d_ind = _group_reduce(days, starts)

        self.terms = terms
        self.n_cases = len(starts)
        self.n_events = int(n_ind.sum())
        self.n_intervals = len(order)
        self.warnings: list[str] = []
        self._fingerprint = (np.asarray(uniques)[case_codes], n_ind, d_ind)
        logd = np.log(days)
        self.loglik_null = _dot(y, logd) - _dot(n_ind, np.log(d_ind))

        # exact compression: merge a case's intervals with identical covariates (the
        # likelihood depends on them only through their summed days and events), keeping the
        # sum n_ij log d_ij of the original rows so that the log-likelihood is unchanged
        packed = _compress(X, y, days, grp, self.n_cases)
        loglik_shift = 0.0
        if packed is not None:
            X, y, days, grp = packed
            codes = grp
            starts = np.flatnonzero(np.r_[True, grp[1:] != grp[:-1]])
            new_logd = np.log(days)
            loglik_shift = self.loglik_null - (_dot(y, new_logd) - _dot(n_ind, np.log(d_ind)))
            logd = new_logd

        # structural checks, then facial reduction for terms with infinite estimates
        X = np.asfortranarray(X)
        state0 = self._check_identifiable(X, y, logd, n_ind, starts, grp, terms, note="")
        beta_full = np.zeros(len(terms))
        active = np.arange(len(terms))
        boundary: dict[str, str] = {}
        while True:
            found = self._boundary_term(X[:, active], y, n_ind, starts, grp)
            if found is None:
                break
            k_local, side = found
            k = active[k_local]
            xk = X[:, k]
            ext = (np.minimum if side < 0 else np.maximum).reduceat(xk, starts)
            keep = xk == ext[grp]
            beta_full[k] = -np.inf if side < 0 else np.inf
            name = terms[k]
            msg = (
                f"term {name!r}: every event of every case falls where the term is at its "
                f"{'lowest' if side < 0 else 'highest'} value for that case "
                f"({'no events in the level' if side < 0 else 'all events in the level'} "
                "for a 0/1 dummy), so its maximum likelihood estimate is "
                f"{'-inf (IRR 0)' if side < 0 else '+inf (IRR infinite)'}; it is reported as "
                "such with no standard error, and the other terms are estimated at that limit "
                f"(excluding the {days[~keep].sum():g} days of case time it drives to zero weight)"
            )
            boundary[name] = msg
            self.warnings.append(msg)
            warnings.warn(msg, SCCSWarning, stacklevel=2)
            X, y, logd, days = _take_rows(X, np.flatnonzero(keep)), y[keep], logd[keep], days[keep]
            codes = codes[keep]
            starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
            grp = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(codes)]))
            active = active[active != k]
            state0 = self._check_identifiable(
                np.asfortranarray(X[:, active]), y, logd, n_ind, starts, grp,
                [terms[j] for j in active],
                note=f" (after setting {sorted(boundary)} to their infinite limit)",
            )
        self.boundary_terms = boundary

        Xa = X if len(active) == len(terms) else np.asfortranarray(X[:, active])
        beta, ll, hess, prob, converged, n_iter, max_grad = self._newton(
            Xa, y, logd, n_ind, starts, grp, state0
        )
        beta_full[active] = beta
        self.loglik = ll + loglik_shift
        self.converged = converged
        self.n_iter = n_iter
        self.max_abs_gradient = max_grad
        self.cov_type = cov_type

        p = len(terms)
        cov = np.full((p, p), np.nan)
        if len(active):
            inv_info = np.linalg.inv(-hess)
            if cov_type == "robust":
                meat_rows = _case_scores(Xa, y, prob, n_ind, starts, grp)
                inv_info = inv_info @ (meat_rows.T @ meat_rows) @ inv_info
            cov[np.ix_(active, active)] = inv_info
        self._cov = cov
        self.params = pd.Series(beta_full, index=terms, name="log_irr", dtype=float)
        self.bse = pd.Series(np.sqrt(np.diag(cov)), index=terms, name="se", dtype=float)

        if not converged:
            msg = (
                f"Newton-Raphson did not converge in {self.max_iter} iterations "
                f"(max |gradient| {max_grad:.3g}); the estimates are not reliable"
            )
            self.warnings.append(msg)
            warnings.warn(msg, SCCSWarning, stacklevel=2)
        huge = [terms[j] for j in active if abs(beta_full[j]) > _HUGE_COEF]
        if huge:
            msg = (
                f"terms {huge} have |log-IRR| > {_HUGE_COEF:g}: the estimate is probably "
                "infinite (events separated by a combination of terms); do not report it"
            )
            self.warnings.append(msg)
            warnings.warn(msg, SCCSWarning, stacklevel=2)
        self._fitted = True
        return self

    @staticmethod
    def _check_identifiable(
        X: np.ndarray, y: np.ndarray, logd: np.ndarray, n_ind: np.ndarray, starts: np.ndarray,
        grp: np.ndarray, names: list[str], note: str,
    ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray] | None:
        """Raise SCCSError for terms without person-time, without within-case variation, or
        collinear, judged on the information matrix at b = 0 (within-case weighted design).

        Returns the log-likelihood, probabilities, gradient and Hessian at b = 0, which are
        the first Newton iteration's (None without terms)."""
        if X.shape[1] == 0:
            return None
        zero = [names[k] for k in range(X.shape[1]) if not np.any(X[:, k])]
        if zero:
            raise SCCSError(
                f"term(s) {zero} are 0 for all person-time of the cases{note}: no person-time "
                "among cases in that level, so its effect cannot be estimated; drop the term"
            )
        ll0, p = _loglik_parts(np.zeros(X.shape[1]), X, logd, y, n_ind, starts, grp)
        grad0, hess = _grad_hess(X, y, p, n_ind, starts, grp)
        info = -hess
        w = n_ind[grp] * p
        scale = np.array([_dot(w, X[:, k] * X[:, k]) for k in range(X.shape[1])])
        diag = np.diag(info)
        flat = [names[k] for k in range(X.shape[1]) if diag[k] <= 1e-12 * scale[k]]
        if flat:
            raise SCCSError(
                f"term(s) {flat} do not vary within any case{note}: a term constant within "
                "each individual is absorbed by the individual's own baseline and cannot be "
                "estimated in a self-controlled design; drop it"
            )
        d = 1.0 / np.sqrt(diag)
        corr = info * d[:, None] * d[None, :]
        evals, evecs = np.linalg.eigh(corr)
        if evals[0] <= 1e-10 * max(evals[-1], 1.0):
            v = evecs[:, 0]
            involved = [names[k] for k in np.flatnonzero(np.abs(v) > 1e-3 * np.abs(v).max())]
            raise SCCSError(
                f"collinear terms{note}: {involved} are linearly dependent within cases (for "
                "example dummies of all levels of a factor, or a term equal to a sum of "
                "others); drop one of them"
            )
        return ll0, p, grad0, hess

    @staticmethod
    def _boundary_term(
        X: np.ndarray, y: np.ndarray, n_ind: np.ndarray, starts: np.ndarray, grp: np.ndarray
    ) -> tuple[int, int] | None:
        """First term whose events all sit at the case's min (side -1) or max (+1) of it.

        Then the log-likelihood is monotone in that coefficient and the estimate is infinite.
        """
        if X.shape[1] == 0:
            return None
        observed = np.array([_dot(y, X[:, k]) for k in range(X.shape[1])])
        lo = np.add.reduce(n_ind[:, None] * np.minimum.reduceat(X, starts, axis=0), axis=0)
        hi = np.add.reduce(n_ind[:, None] * np.maximum.reduceat(X, starts, axis=0), axis=0)
        tol = 1e-12 * (np.array([np.abs(X[:, k]).max() for k in range(X.shape[1])])
                       * n_ind.sum() + 1.0)
        for k in range(X.shape[1]):
            if observed[k] <= lo[k] + tol[k]:
                return k, -1
            if observed[k] >= hi[k] - tol[k]:
                return k, 1
        return None

    def _newton(
        self, X: np.ndarray, y: np.ndarray, logd: np.ndarray, n_ind: np.ndarray,
        starts: np.ndarray, grp: np.ndarray,
        state0: tuple[float, np.ndarray, np.ndarray, np.ndarray] | None,
    ) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, bool, int, float]:
        """Newton-Raphson from b = 0 with step halving; analytic gradient and Hessian.

        ``state0`` is (loglik, p, gradient, Hessian) at b = 0 if already computed."""
        p = X.shape[1]
        beta = np.zeros(p)
        if p == 0:
            ll, prob = _loglik_parts(beta, X, logd, y, n_ind, starts, grp)
            return beta, ll, np.zeros((0, 0)), prob, True, 0, 0.0
        if state0 is None:
            ll, prob = _loglik_parts(beta, X, logd, y, n_ind, starts, grp)
            grad, hess = _grad_hess(X, y, prob, n_ind, starts, grp)
        else:
            ll, prob, grad, hess = state0
        converged = False
        n_iter = 0
        for n_iter in range(1, self.max_iter + 1):  # noqa: B007 - n_iter is reported
            try:
                step = np.linalg.solve(-hess, grad)
            except np.linalg.LinAlgError:
                break
            decrement = float(grad @ step)
            t = 1.0
            for _ in range(60):
                cand = beta + t * step
                ll_new, prob_new = _loglik_parts(cand, X, logd, y, n_ind, starts, grp)
                if ll_new >= ll - 1e-12 * (1.0 + abs(ll)):
                    break
                t *= 0.5
            change = abs(ll_new - ll)
            beta, ll, prob = cand, ll_new, prob_new
            grad, hess = _grad_hess(X, y, prob, n_ind, starts, grp)
            if change <= self.tol * (1.0 + abs(ll)) and decrement <= self.tol:
                converged = True
                break
        return beta, ll, hess, prob, converged, n_iter, float(np.abs(grad).max())

    # ---- results ---------------------------------------------------------------------------

    def _require_fit(self) -> None:
        if not self._fitted:
            raise SCCSError("the model has not been fitted: call fit() first")

    def cov_params(self) -> pd.DataFrame:
        """Covariance matrix of the log-IRR estimates (NaN rows for infinite estimates)."""
        self._require_fit()
        return pd.DataFrame(self._cov, index=self.terms, columns=self.terms)

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """Wald confidence intervals on the log scale, columns ``lower`` and ``upper``."""
        self._require_fit()
        from scipy.stats import norm

        a = self.alpha if alpha is None else float(alpha)
        if not 0.0 < a < 1.0:
            raise SCCSError(f"alpha must be between 0 and 1, got {a}")
        z = float(norm.ppf(1.0 - a / 2.0))  # qnorm(0.975) = 1.959963984540054 for alpha 0.05
        lower = self.params - z * self.bse
        upper = self.params + z * self.bse
        return pd.DataFrame({"lower": lower, "upper": upper}, index=self.terms)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per term: irr, ci_low, ci_high, p, log_irr, se, z (CI at level 1 - alpha).

        p is the two-sided Wald p-value; z = log_irr / se. Infinite estimates have irr 0 or inf
        and NaN se, z, p and CI.
        """
        self._require_fit()
        from scipy.stats import norm

        ci = self.conf_int()
        z = self.params / self.bse
        with np.errstate(over="ignore"):
            out = pd.DataFrame(
                {
                    "irr": np.exp(self.params),
                    "ci_low": np.exp(ci["lower"]),
                    "ci_high": np.exp(ci["upper"]),
                    "p": 2.0 * norm.sf(np.abs(z)),
                    "log_irr": self.params,
                    "se": self.bse,
                    "z": z,
                },
                index=pd.Index(self.terms, name="term"),
            )
        return out

    def lr_test(self, restricted: SCCS) -> LRTest:
        """Likelihood-ratio test of ``restricted`` (nested) against this model.

        Nesting is checked as far as the data allow: the restricted model's terms must be a
        strict subset of this model's (by name), and both must be fitted to the same cases with
        the same events and the same total observed days per case (the interval cut points may
        differ, as in R's ``lrtsccs`` examples). The statistic is
        2[(loglik - loglik_null) - (loglik_r - loglik_null_r)], which equals
        2(loglik - loglik_r) when the intervals are the same and, like R's ``lrtsccs``, does not
        depend on how the observation periods were cut.
        """
        self._require_fit()
        restricted._require_fit()
        from scipy.stats import chi2

        extra = [t for t in restricted.terms if t not in self.terms]
        if extra:
            raise SCCSError(f"not nested: restricted model has terms {extra} not in this model")
        df = len(self.terms) - len(restricted.terms)
        if df <= 0:
            raise SCCSError("not nested: the restricted model must have fewer terms")
        if not _same_cases(self._fingerprint, restricted._fingerprint):
            raise SCCSError(
                "not nested: the two models were fitted to different data (cases, events per "
                "case or observed days per case differ)"
            )
        gain = self.loglik - self.loglik_null
        stat = 2.0 * (gain - (restricted.loglik - restricted.loglik_null))
        if stat < -1e-6 * (1.0 + abs(self.loglik)):
            raise SCCSError(
                f"not nested: the restricted model fits better (LR statistic {stat:.6g} < 0)"
            )
        stat = max(stat, 0.0)
        return LRTest(stat, df, float(chi2.sf(stat, df)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready results (non-finite numbers become None)."""
        self._require_fit()

        def num(v: float) -> float | None:
            v = float(v)
            return v if math.isfinite(v) else None

        s = self.summary.to_dict(orient="index")
        return {
            "n_cases": int(self.n_cases),
            "n_events": int(self.n_events),
            "n_intervals": int(self.n_intervals),
            "loglik": num(self.loglik),
            "loglik_null": num(self.loglik_null),
            "converged": bool(self.converged),
            "n_iter": int(self.n_iter),
            "cov_type": self.cov_type,
            "warnings": list(self.warnings),
            "terms": [
                {
                    "term": t,
                    "irr": num(s[t]["irr"]),
                    "ci_low": num(s[t]["ci_low"]),
                    "ci_high": num(s[t]["ci_high"]),
                    "p": num(s[t]["p"]),
                    "log_irr": num(s[t]["log_irr"]),
                    "se": num(s[t]["se"]),
                }
                for t in self.terms
            ],
        }

    def __repr__(self) -> str:
        if not self._fitted:
            return "SCCS(unfitted)"
        return (
            f"SCCS(terms={self.terms}, n_cases={self.n_cases}, n_events={self.n_events}, "
            f"loglik={self.loglik:.6f}, converged={self.converged})"
        )
