"""The same SCCS model fitted to many data sets at once (Monte Carlo studies).

:func:`fit_many` fits one model separately in every replicate of a stacked table (column
``rep``): each replicate has its own coefficients. It is :meth:`analysis.sccs.SCCS.fit` run for
every replicate, with the same kernels and the same rules (:mod:`analysis.sccs._kernels`):
identical input checks, compression of rows with equal covariates, terms with an infinite
estimate set to their limit (reported as +-inf, the other terms estimated at that limit), and
Newton-Raphson with the same tolerance and step halving. The difference is speed: replicates
share no parameters, so every Newton step solves all the replicates' small systems in one call
and sums per replicate with ``np.bincount``; 1,000 cohorts of 100 cases take well under a
second, where 1,000 separate fits take many.

What differs from the single fit is only how problems are reported: warnings (infinite
estimates, non-convergence, aliased terms) are not raised but kept per replicate in
:attr:`BatchFit.notes`, and a replicate that cannot be fitted at all (no cases) gets NaN
estimates and its reason in :attr:`BatchFit.errors`. A replicate with aliased terms (a term
that is zero, flat or collinear: the library's one rule, NaN for those terms) is fitted by
:meth:`analysis.sccs.SCCS.fit` itself, and its aliased terms listed in
:attr:`BatchFit.aliased`.

Examples
--------
>>> import pandas as pd
>>> from analysis.sccs import fit_many
>>> data = pd.DataFrame({"rep": [0, 0, 1, 1], "id": [1, 1, 1, 1],
...                      "days": [40, 200, 30, 300], "events": [2, 3, 0, 2],
...                      "exposed": [1, 0, 1, 0]})
>>> fit = fit_many(data, ["exposed"])
>>> fit.frame("exposed")[["rep", "log_irr", "finite"]].round(4)
   rep  log_irr  finite
0    0    1.204    True
1    1     -inf   False
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.sccs._kernels import Cases, FaceFit, block_dot, compress, solve_faces
from analysis.sccs.errors import FitAttempt, SCCSError, try_fit
from analysis.sccs.model import (
    _HUGE_COEF,
    SCCS,
    _check_arguments,
    _full_coefficients,
    _path_messages,
    _read_columns,
    convergence_messages,
)
from analysis.sccs.results import wald_table

__all__ = ["BatchFit", "fit_many"]


@dataclass
class BatchFit:
    """Per-replicate SCCS estimates from :func:`fit_many`.

    Attributes
    ----------
    terms : list of str
        The model terms.
    reps : ndarray, shape (n_reps,)
        The replicate labels (sorted), one row of every array per replicate.
    coef, se : ndarray, shape (n_reps, n_terms)
        Log-IRR estimates and standard errors. A term with an infinite estimate has
        ``coef`` -inf or +inf and ``se`` NaN, as :meth:`analysis.sccs.SCCS.fit` reports it;
        a replicate that could not be fitted has NaN.
    finite : ndarray of bool, shape (n_reps, n_terms)
        True where the estimate is finite.
    converged, n_iter : ndarray, shape (n_reps,)
        Newton-Raphson convergence (False for replicates that could not be fitted).
    n_cases, n_events : ndarray, shape (n_reps,)
        Cases (individuals with >= 1 event) and their events.
    loglik, loglik_null : ndarray, shape (n_reps,)
        Log-likelihood at the estimate and at b = 0, as the single fit reports them.
    errors : list of (str or None)
        Why a replicate could not be fitted (the single fit's :class:`SCCSError` message).
    notes : list of list of str
        The warnings the single fit would have raised for the replicate.
    aliased : list of list of str
        The replicate's aliased terms (NaN ``coef`` and ``se``), as the single fit's.
    alpha : float
        Level of the Wald intervals of :meth:`frame`.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.sccs import fit_many
    >>> data = pd.DataFrame({"rep": [0, 0], "id": [1, 1], "days": [40, 200],
    ...                      "events": [2, 3], "exposed": [1, 0]})
    >>> fit = fit_many(data, ["exposed"])
    >>> round(float(fit.se[0, 0]), 6)   # 1 / sqrt(5 x 0.4 x 0.6)
    0.912871
    """

    terms: list[str]
    reps: np.ndarray
    coef: np.ndarray
    se: np.ndarray
    finite: np.ndarray
    converged: np.ndarray
    n_iter: np.ndarray
    n_cases: np.ndarray
    n_events: np.ndarray
    loglik: np.ndarray
    loglik_null: np.ndarray
    errors: list[str | None]
    notes: list[list[str]]
    alpha: float = 0.05
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    aliased: list[list[str]] = field(default_factory=list)

    def frame(self, term: str | None = None) -> pd.DataFrame:
        """One row per replicate for ``term`` (default: the first term).

        Columns: ``rep``, then the library's one summary schema
        (:data:`~analysis.sccs.results.SUMMARY_COLUMNS`: irr, ci_low, ci_high, p, log_irr, se,
        z; Wald limits at level 1 - alpha, NaN for infinite estimates), then ``finite``,
        ``converged``, ``n_cases``, ``n_events``. Each row is what the replicate's single fit
        reports in its ``summary`` row for ``term`` (a Monte Carlo table, one row per study).

        Examples
        --------
        >>> import pandas as pd
        >>> from analysis.sccs import fit_many
        >>> data = pd.DataFrame({"rep": [0, 0], "id": [1, 1], "days": [40, 200],
        ...                      "events": [2, 3], "exposed": [1, 0]})
        >>> list(fit_many(data, ["exposed"]).frame().columns)[:8]
        ['rep', 'irr', 'ci_low', 'ci_high', 'p', 'log_irr', 'se', 'z']
        """
        k = 0 if term is None else self.terms.index(term)
        table = wald_table([self.terms[k]] * len(self.reps), self.coef[:, k], self.se[:, k],
                           alpha=self.alpha).reset_index(drop=True)
        table.insert(0, "rep", self.reps)
        return table.assign(finite=self.finite[:, k], converged=self.converged,
                            n_cases=self.n_cases, n_events=self.n_events)


def fit_many(
    data: pd.DataFrame,
    terms: Sequence[str],
    *,
    rep_col: str = "rep",
    id_col: str = "id",
    events_col: str = "events",
    days_col: str = "days",
    tol: float = 1e-10,
    max_iter: int = 50,
    alpha: float = 0.05,
) -> BatchFit:
    """Fit the SCCS model separately in every replicate of ``data``, all at once.

    Parameters
    ----------
    data : pandas.DataFrame
        Stacked interval tables: the columns :meth:`analysis.sccs.SCCS.fit` reads, plus
        ``rep_col`` naming the replicate. An individual is (replicate, id).
    terms : sequence of str
        Model terms (numeric columns), the same in every replicate.
    rep_col, id_col, events_col, days_col : str
        Column names.
    tol, max_iter : float, int
        Newton-Raphson settings, as :class:`analysis.sccs.SCCS`.
    alpha : float
        Level of the Wald intervals of :meth:`BatchFit.frame`.

    Returns
    -------
    BatchFit
        Per-replicate estimates equal to ``SCCS(tol=tol, max_iter=max_iter).fit`` on the
        replicate's rows (to rounding; ``tests/sccs/test_sccs_batched.py`` checks it).

    Raises
    ------
    SCCSError
        Bad input, with the single fit's messages (column, rows, rule).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from analysis.sccs import SCCS, fit_many
    >>> rng = np.random.default_rng(1)
    >>> data = pd.DataFrame({"rep": np.repeat([0, 1], 20), "id": np.repeat(np.arange(20), 2),
    ...                      "days": 50, "exposed": np.tile([0, 1], 20),
    ...                      "events": rng.poisson(1.0, 40)})
    >>> many = fit_many(data, ["exposed"])
    >>> one = SCCS().fit(data[data["rep"] == 1], ["exposed"])
    >>> bool(np.isclose(many.coef[1, 0], one.params["exposed"], atol=1e-10))
    True
    """
    columns = (id_col, events_col, days_col)
    terms = _check_arguments(data, terms, columns, "model")
    if rep_col not in data.columns:
        raise SCCSError(f"missing column(s) {[rep_col]}; columns are {list(data.columns)}")
    if data[rep_col].isna().any():
        raise SCCSError(f"column {rep_col!r} (replicate): missing values")
    ids, y, days, X = _read_columns(data, terms, columns)
    reps, rep_code = np.unique(data[rep_col].to_numpy(), return_inverse=True)
    stacked = _stack(rep_code, len(reps), ids, y, days, X)
    out = _Scatter(len(reps), len(terms))
    out.n_cases, out.n_events = stacked.n_cases, stacked.n_events
    out.loglik_null = stacked.loglik_null
    has_cases = np.flatnonzero(stacked.n_cases > 0)
    for b in np.flatnonzero(stacked.n_cases == 0):
        out.errors[b] = (f"no events: column {events_col!r} is 0 in every row, so there are "
                         "no cases")
    if len(has_cases):
        cases = stacked.cases
        if len(has_cases) < len(reps):
            cases, _ = cases.take_blocks(has_cases)
        fits, errors = solve_faces(cases, tol, max_iter)
        for fit in fits:
            out.add_fit(fit, terms, has_cases, stacked.loglik_shift, max_iter)
        single = SCCS(tol=tol, max_iter=max_iter)
        for r in sorted({int(has_cases[b]) for err in errors for b in err.blocks}):
            out.add_single(r, try_fit(single.fit, data[rep_code == r], terms, id_col=id_col,
                                      events_col=events_col, days_col=days_col))
    return BatchFit(
        terms=terms, reps=reps, coef=out.coef, se=out.se, finite=np.isfinite(out.coef),
        converged=out.converged, n_iter=out.n_iter, n_cases=out.n_cases,
        n_events=out.n_events, loglik=out.loglik, loglik_null=out.loglik_null,
        errors=out.errors, notes=out.notes, alpha=float(alpha), aliased=out.aliased,
    )


@dataclass
class _Stacked:
    """Sorted, compressed cases of all replicates, and per-replicate counts."""

    cases: Cases
    n_cases: np.ndarray
    n_events: np.ndarray
    loglik_null: np.ndarray
    loglik_shift: np.ndarray


def _stack(
    rep_code: np.ndarray, n_reps: int, ids: pd.Series, y: np.ndarray, days: np.ndarray,
    X: np.ndarray,
) -> _Stacked:
    """Keep the cases, sort rows by case (replicate first), compress, as the single fit does."""
    id_code, uniques = pd.factorize(ids, sort=False)
    key = rep_code.astype(np.int64) * max(len(uniques), 1) + id_code  # one key per individual
    order = np.argsort(key, kind="stable")
    key = key[order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    per_individual = np.add.reduceat(y[order], first)
    is_case = np.repeat(per_individual > 0, np.diff(np.r_[first, len(key)]))
    if not is_case.any():
        raise SCCSError("no events: the events column is 0 in every row, so there are no cases")
    rows, codes = order[is_case], key[is_case]
    y, days, X = y[rows], days[rows], np.asfortranarray(X[rows])
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    grp = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(codes)]))
    case_block = rep_code[rows][starts]
    n_ind = np.add.reduceat(y, starts)
    d_ind = np.add.reduceat(days, starts)
    logd = np.log(days)
    row_block = case_block[grp]
    loglik_null = block_dot(y, logd, row_block, n_reps) - block_dot(
        n_ind, np.log(d_ind), case_block, n_reps)
    packed = compress(X, y, days, grp, len(starts))
    if packed is None:
        cases = Cases(X=X, y=y, logd=logd, days=days, codes=grp, n_ind=n_ind, starts=starts,
                      grp=grp, case_block=case_block, n_blocks=n_reps)
        shift = np.zeros(n_reps)
    else:
        Xc, yc, dc, gc = packed
        cases = Cases.build(Xc, yc, dc, gc, n_ind=n_ind, case_block=case_block,
                            n_blocks=n_reps)
        shift = loglik_null - (block_dot(yc, cases.logd, cases.row_block, n_reps)
                               - block_dot(n_ind, np.log(d_ind), case_block, n_reps))
    return _Stacked(
        cases=cases, n_cases=np.bincount(case_block, minlength=n_reps),
        n_events=np.bincount(case_block, weights=n_ind, minlength=n_reps).astype(np.int64),
        loglik_null=loglik_null, loglik_shift=shift,
    )


class _Scatter:
    """Per-replicate result arrays, filled face by face."""

    def __init__(self, n_reps: int, q: int) -> None:
        self.coef = np.full((n_reps, q), np.nan)
        self.se = np.full((n_reps, q), np.nan)
        self.converged = np.zeros(n_reps, dtype=bool)
        self.n_iter = np.zeros(n_reps, dtype=np.int64)
        self.loglik = np.full(n_reps, np.nan)
        self.errors: list[str | None] = [None] * n_reps
        self.notes: list[list[str]] = [[] for _ in range(n_reps)]
        self.aliased: list[list[str]] = [[] for _ in range(n_reps)]

    def add_fit(self, fit: FaceFit, terms: list[str], blocks: np.ndarray,
                shift: np.ndarray, max_iter: int) -> None:
        """Store a face's fits (``fit.blocks`` index ``blocks``, the replicate numbers)."""
        reps = blocks[fit.blocks]
        res = fit.result
        beta = _full_coefficients(fit, len(terms))
        self.coef[reps] = beta
        self.se[np.ix_(reps, fit.active)] = _standard_errors(res.hess)
        self.converged[reps] = res.converged
        self.n_iter[reps] = res.n_iter
        self.loglik[reps] = res.ll + shift[reps]
        for j, r in enumerate(reps):
            huge = [terms[k] for k in fit.active if abs(beta[j, k]) > _HUGE_COEF]
            self.notes[r] = [*_path_messages(fit.path, terms, int(fit.blocks[j])).values(),
                             *convergence_messages(bool(res.converged[j]), max_iter,
                                                   float(res.max_grad[j]), huge)]

    def add_single(self, r: int, attempt: FitAttempt) -> None:
        """Store replicate ``r``'s single fit (a replicate with aliased terms)."""
        fit, reason, caught = attempt
        self.notes[r] = list(caught)
        if fit is None:
            self.errors[r] = reason
            return
        self.coef[r], self.se[r] = fit.params.to_numpy(), fit.bse.to_numpy()
        self.converged[r], self.n_iter[r], self.loglik[r] = fit.converged, fit.n_iter, fit.loglik
        self.aliased[r] = list(fit.aliased)


def _standard_errors(hess: np.ndarray) -> np.ndarray:
    """sqrt(diag(inv(-H))) per block; NaN for a block whose Hessian is singular."""
    if hess.shape[1] == 0:
        return np.zeros((len(hess), 0))
    try:
        cov = np.linalg.inv(-hess)
    except np.linalg.LinAlgError:
        cov = np.full_like(hess, np.nan)
        for b in range(len(hess)):
            with contextlib.suppress(np.linalg.LinAlgError):
                cov[b] = np.linalg.inv(-hess[b])
    return np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
