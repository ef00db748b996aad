"""Self-controlled case series (SCCS): the conditional Poisson model, generic and fast.

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
and ``tests/sccs/test_sccs_r.py`` checks it against R on every documented example.

The fit is a few small steps (:meth:`SCCS.fit`): check the arguments, read the columns, keep
and sort the cases and merge their rows with equal covariates, set terms with an infinite
estimate to their limit and run Newton-Raphson (:func:`analysis.sccs._kernels.solve_faces`,
shared with :func:`analysis.sccs.batched.fit_many`), then assemble a
:class:`~analysis.sccs.results.SCCSResults`.

Edge cases never give a silent wrong number:

* a term whose events all sit at the lowest (highest) value of the term within every case -- for
  a 0/1 dummy: **no events in the level** (all events in the level) -- has no finite maximum
  likelihood estimate. :class:`SCCSWarning` is raised; the term is reported with log-IRR
  ``-inf`` (``+inf``), IRR ``0`` (``inf``) and NaN standard error, CI and p; the other terms are
  estimated at the limit of the likelihood (the person-time the limit excludes is dropped), which
  is what the likelihood converges to as that coefficient runs off;
* a term that is zero for all person-time of the cases, a term that does not vary within any
  case, and the last of collinear terms are *aliased* (:func:`aliased_terms`): reported with
  NaN estimate and standard error, listed in ``aliased``, with an :class:`SCCSWarning` naming
  them, and the other terms estimated without them (R prints NA), as every fitter of the
  library does;
* non-convergence, and a coefficient so large that it is probably infinite (separation by a
  combination of terms), give :class:`SCCSWarning` (``converged`` is False in the first case);
* no cases, no events, missing or non-numeric values, days <= 0, and negative or fractional
  event counts raise :class:`SCCSError` naming the column and the rows.

Examples
--------
>>> import pandas as pd
>>> from analysis.sccs import SCCS
>>> data = pd.DataFrame({"id": [1, 1, 2, 2], "exposed": [0, 1, 0, 1],
...                      "days": [100, 50, 80, 40], "events": [1, 2, 2, 1]})
>>> fit = SCCS().fit(data, ["exposed"])
>>> round(float(fit.params["exposed"]), 3), fit.converged
(0.693, True)
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.sccs._kernels import (
    COLLINEAR,
    ZERO,
    Boundary,
    Cases,
    FaceError,
    FaceFit,
    _dot,
    case_scores,
    compress,
    conditional_loglik,
    solve_faces,
    structure,
    take_rows,
)
from analysis.sccs.errors import NotFittedError, SCCSError, SCCSWarning, linalg_guard
from analysis.sccs.results import LRTest, SCCSResults, _FitData

__all__ = [
    "SCCS",
    "LRTest",
    "SCCSError",
    "SCCSResults",
    "SCCSWarning",
    "conditional_loglik",
    "dummies",
]

#: |log-IRR| beyond which a converged coefficient is flagged as probably infinite
#: (IRR outside about [1e-9, 1e9]).
_HUGE_COEF = 20.0


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


def _check_arguments(
    data: pd.DataFrame, terms: Sequence[str] | str, columns: tuple[str, str, str], cov_type: str
) -> list[str]:
    """The terms as a list, after checking the arguments (not yet the values)."""
    id_col, events_col, days_col = columns
    if not isinstance(data, pd.DataFrame):
        raise SCCSError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    terms = [terms] if isinstance(terms, str) else list(terms)
    if cov_type not in ("model", "robust"):
        raise SCCSError(f"cov_type must be 'model' or 'robust', got {cov_type!r}")
    dup = sorted({t for t in terms if terms.count(t) > 1})
    if dup:
        raise SCCSError(f"terms repeated: {dup}")
    clash = [t for t in terms if t in set(columns)]
    if clash:
        raise SCCSError(f"terms {clash} are the id/events/days columns")
    missing = [c for c in [id_col, events_col, days_col, *terms] if c not in data.columns]
    if missing:
        raise SCCSError(f"missing column(s) {missing}; columns are {list(data.columns)}")
    if len(data) == 0:
        raise SCCSError("no intervals: the data has no rows")
    return terms


def _read_columns(
    data: pd.DataFrame, terms: list[str], columns: tuple[str, str, str]
) -> tuple[pd.Series, np.ndarray, np.ndarray, np.ndarray]:
    """Ids, events, days and the term matrix, each value checked (errors name the rows)."""
    id_col, events_col, days_col = columns
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
    return ids, y, days, X


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


# --------------------------------------------------------------------------------------------
# Cases: keep, sort, compress
# --------------------------------------------------------------------------------------------
@dataclass
class _Prepared:
    """The cases ready for the kernels, and what the results report about the data."""

    cases: Cases
    loglik_null: float
    loglik_shift: float
    fingerprint: tuple[np.ndarray, np.ndarray, np.ndarray]
    n_intervals: int


def _case_rows(
    ids: pd.Series, y: np.ndarray, days: np.ndarray, X: np.ndarray, events_col: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The rows of cases (>= 1 event) sorted by individual (stable): their individual codes,
    events, days and terms, then the unique ids and the events per code."""
    codes, uniques = _factorize_ids(ids)
    n_by_code = np.bincount(codes, weights=y, minlength=len(uniques))
    if n_by_code.sum() == 0:
        raise SCCSError(
            f"no events: column {events_col!r} is 0 in every row, so there are no cases"
        )
    order = np.flatnonzero(n_by_code[codes] > 0)
    if np.any(codes[order][1:] < codes[order][:-1]):
        order = order[np.argsort(codes[order], kind="stable")]
    if len(order) < len(codes) or np.any(order[1:] < order[:-1]):
        codes, y, days = codes[order], y[order], days[order]
        X = take_rows(X, order)
    return codes, y, days, X, uniques, n_by_code


def _prepare_cases(
    ids: pd.Series, y: np.ndarray, days: np.ndarray, X: np.ndarray, events_col: str
) -> _Prepared:
    """Keep and sort the cases' rows (:func:`_case_rows`), and merge a case's rows with
    identical covariates (exact: the likelihood depends on them only through their summed days
    and events; the sum n_ij log d_ij of the original rows is kept as ``loglik_shift`` so that
    the log-likelihood is unchanged)."""
    codes, y, days, X, uniques, n_by_code = _case_rows(ids, y, days, X, events_col)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    grp = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(codes)]))
    case_codes = codes[starts]
    n_ind = n_by_code[case_codes]
    d_ind = np.add.reduceat(days, starts, axis=0)
    logd = np.log(days)
    loglik_null = _dot(y, logd) - _dot(n_ind, np.log(d_ind))
    fingerprint = (np.asarray(uniques)[case_codes], n_ind, d_ind)

    packed = compress(X, y, days, grp, len(starts))
    shift = 0.0
    if packed is None:
        cases = Cases(X=np.asfortranarray(X), y=y, logd=logd, days=days, codes=codes,
                      n_ind=n_ind, starts=starts, grp=grp)
    else:
        X, y_c, days_c, grp_c = packed
        cases = Cases.build(X, y_c, days_c, grp_c, n_ind=n_ind)
        shift = loglik_null - (_dot(y_c, cases.logd) - _dot(n_ind, np.log(d_ind)))
    return _Prepared(cases, loglik_null, shift, fingerprint, len(codes))


# --------------------------------------------------------------------------------------------
# Words: the messages of errors and warnings (shared with the batched fit)
# --------------------------------------------------------------------------------------------
def boundary_message(name: str, side: int, days_excluded: float) -> str:
    """The warning for a term set to its infinite limit.

    Examples
    --------
    >>> boundary_message("x", -1, 30.0)[:60]
    "term 'x': every event of every case falls where the term is "
    """
    low = side < 0
    return (
        f"term {name!r}: every event of every case falls where the term is at its "
        f"{'lowest' if low else 'highest'} value for that case "
        f"({'no events in the level' if low else 'all events in the level'} "
        "for a 0/1 dummy), so its maximum likelihood estimate is "
        f"{'-inf (IRR 0)' if low else '+inf (IRR infinite)'}; it is reported as "
        "such with no standard error, and the other terms are estimated at that limit "
        f"(excluding the {days_excluded:g} days of case time it drives to zero weight)"
    )


def structure_message(error: FaceError, terms: list[str]) -> str:
    """What is wrong with terms that cannot be estimated (zero, flat or collinear); the start of
    :func:`aliased_terms`' warning.

    Examples
    --------
    >>> from analysis.sccs._kernels import FaceError
    >>> structure_message(FaceError(np.array([0]), "flat", [0], []), ["sex"])[:40]
    "term(s) ['sex'] do not vary within any c"
    """
    names = [terms[k] for k in error.terms]
    note = (
        f" (after setting {sorted(terms[b.term] for b in error.path)} to their infinite limit)"
        if error.path else ""
    )
    if error.kind == ZERO:
        return (
            f"term(s) {names} are 0 for all person-time of the cases{note}: no person-time "
            "among cases in that level, so its effect cannot be estimated; drop the term"
        )
    if error.kind == COLLINEAR:
        return (
            f"collinear terms{note}: {names} are linearly dependent within cases (for "
            "example dummies of all levels of a factor, or a term equal to a sum of "
            "others); drop one of them"
        )
    return (
        f"term(s) {names} do not vary within any case{note}: a term constant within "
        "each individual is absorbed by the individual's own baseline and cannot be "
        "estimated in a self-controlled design; drop it"
    )


def aliased_terms(error: FaceError, terms: list[str]) -> tuple[list[str], str]:
    """The terms an estimability problem makes aliased, and the warning that says so.

    The library's one rule (:mod:`analysis.sccs.results`): a term that is zero or flat is
    aliased; of collinear terms, the last in the model's order is (as R's ``coxph``, which
    pivots it out), and the fit is tried again without it.

    Examples
    --------
    >>> from analysis.sccs._kernels import FaceError
    >>> aliased_terms(FaceError(np.array([0]), "collinear", [0, 2], []), ["a", "b", "c"])[0]
    ['c']
    """
    drop = [terms[k] for k in ([max(error.terms)] if error.kind == COLLINEAR else error.terms)]
    return drop, (f"{structure_message(error, terms)}. Aliased: {drop} reported as NaN "
                  "(R prints NA) and the other terms estimated without "
                  f"{'it' if len(drop) == 1 else 'them'}")


def estimable_terms(
    data: pd.DataFrame, terms: Sequence[str], *, id_col: str = "id",
    events_col: str = "events", days_col: str = "days",
) -> tuple[list[str], list[str]]:
    """``(kept, aliased)``: the terms the cases determine, and the others, by the library's one
    rule (:func:`aliased_terms`) judged at b = 0, with an :class:`SCCSWarning` per aliased set.

    For fitters that estimate further, always identified, parameters on top of these terms (a
    penalised spline: :func:`analysis.sccs.smooth.fit_smooth`); :meth:`SCCS.fit` itself also
    judges what is left after setting infinite estimates to their limit.

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"id": [1, 1, 2, 2], "x": [0, 1, 0, 1], "sex": [0, 0, 1, 1],
    ...                      "days": [10, 20, 10, 20], "events": [1, 1, 0, 2]})
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", SCCSWarning)
    ...     estimable_terms(data, ["x", "sex"])
    (['x'], ['sex'])
    """
    columns = (id_col, events_col, days_col)
    terms = _check_arguments(data, terms, columns, "model")
    ids, y, days, X = _read_columns(data, terms, columns)
    kept, aliased = list(terms), []
    while kept:
        prepared = _prepare_cases(ids, y, days,
                                  np.asfortranarray(X[:, [terms.index(t) for t in kept]]),
                                  events_col)
        problem = structure(prepared.cases)[1][0]
        if problem is None:
            break
        drop, message = aliased_terms(FaceError(np.array([0]), problem[0], problem[1], []), kept)
        warnings.warn(message, SCCSWarning, stacklevel=2)
        aliased += drop
        kept = [t for t in kept if t not in drop]
    return kept, aliased


def convergence_messages(
    converged: bool, max_iter: int, max_grad: float, huge: list[str]
) -> list[str]:
    """Warnings for non-convergence and for estimates that are probably infinite.

    Examples
    --------
    >>> convergence_messages(True, 50, 0.0, [])
    []
    """
    out = []
    if not converged:
        out.append(
            f"Newton-Raphson did not converge in {max_iter} iterations "
            f"(max |gradient| {max_grad:.3g}); the estimates are not reliable"
        )
    if huge:
        out.append(
            f"terms {huge} have |log-IRR| > {_HUGE_COEF:g}: the estimate is probably "
            "infinite (events separated by a combination of terms); do not report it"
        )
    return out


def _path_messages(path: list[Boundary], terms: list[str], block: int = 0) -> dict[str, str]:
    """``{term: warning}`` for the terms set to their infinite limit, in the order found
    (``block``: which block's excluded days to report)."""
    return {terms[b.term]: boundary_message(terms[b.term], b.side, b.days_excluded[block])
            for b in path}


def _full_coefficients(fit: FaceFit, q: int) -> np.ndarray:
    """(n_blocks, q) log-IRRs: +-inf for the path's terms, Newton's values for the others."""
    beta = np.zeros((len(fit.blocks), q))
    for b in fit.path:
        beta[:, b.term] = -np.inf if b.side < 0 else np.inf
    beta[:, fit.active] = fit.result.beta
    return beta


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------
class SCCS:
    """Conditional Poisson (SCCS) model fitted by Newton-Raphson.

    :meth:`fit` returns a :class:`~analysis.sccs.results.SCCSResults` (``params``, ``bse``,
    ``conf_int()``, ``summary``, ``lr_test()``, ``to_dict()``).

    Parameters
    ----------
    tol : float
        Convergence tolerance: the fit stops when the relative change of the log-likelihood
        and the Newton decrement g'(-H)^-1 g (twice the log-likelihood gain still expected)
        are both below ``tol``. Newton converges quadratically, so the coefficients are then
        exact to far below 1e-8.
    max_iter : int
        Maximum Newton iterations (a well-posed SCCS model needs 4-8).
    alpha : float
        Default significance level of ``conf_int`` and ``summary`` (0.05 -> 95% CI with
        qnorm(0.975) as R uses).

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.sccs import SCCS
    >>> data = pd.DataFrame({"id": [1, 1, 2, 2], "exposed": [0, 1, 0, 1],
    ...                      "days": [100, 50, 80, 40], "events": [1, 2, 2, 1]})
    >>> fit = SCCS().fit(data, ["exposed"])
    >>> fit.summary.round(3)[["irr", "p"]]
             irr      p
    term
    exposed  2.0  0.396
    """

    def __init__(self, *, tol: float = 1e-10, max_iter: int = 50, alpha: float = 0.05) -> None:
        self.tol = float(tol)
        self.max_iter = int(max_iter)
        self.alpha = float(alpha)

    #: Attributes of the results, which an SCCS model does not have (fit() returns them).
    _RESULT_NAMES = frozenset({
        "params", "bse", "pvalues", "aliased", "cov", "summary", "conf_int", "cov_params",
        "lr_test", "to_dict", "loglik", "loglik_null", "converged", "n_iter", "n_cases",
        "n_events", "n_intervals", "terms", "boundary_terms", "warnings", "cov_type",
        "max_abs_gradient",
    })

    def __getattr__(self, name: str) -> None:
        if name in SCCS._RESULT_NAMES:
            raise NotFittedError(
                f"the model has not been fitted: SCCS has no {name!r}; fit() returns the "
                f"results (fit = SCCS().fit(data, terms); fit.{name})"
            )
        raise AttributeError(f"'SCCS' object has no attribute {name!r}")

    def __repr__(self) -> str:
        return f"SCCS(tol={self.tol:g}, max_iter={self.max_iter}, alpha={self.alpha:g})"

    def fit(
        self,
        data: pd.DataFrame,
        terms: Sequence[str],
        *,
        id_col: str = "id",
        events_col: str = "events",
        days_col: str = "days",
        cov_type: str = "model",
    ) -> SCCSResults:
        """Fit the model to intervals aggregated per individual.

        Parameters
        ----------
        data : pandas.DataFrame
            One row per (individual, interval of constant covariates).
        terms : sequence of str
            Numeric columns (0/1 dummies, or any numeric covariate) entering the log rate
            linearly.
        id_col, events_col, days_col : str
            Columns of the individual, the event count and the interval length in days.
        cov_type : {"model", "robust"}
            ``"model"``: inverse observed information, as R's clogit; ``"robust"``: sandwich
            clustered by individual, without small-sample correction.

        Returns
        -------
        SCCSResults
            The fitted model. Individuals without events are dropped (they carry no
            information).

        Raises
        ------
        SCCSError
            Bad input (the message names the column, rows and rule). Terms that cannot be
            estimated are aliased (NaN, with an :class:`SCCSWarning`), not an error.

        Examples
        --------
        >>> import pandas as pd
        >>> from analysis.sccs import SCCS
        >>> data = pd.DataFrame({"id": [1, 1, 2, 2], "exposed": [0, 1, 0, 1],
        ...                      "days": [100, 50, 80, 40], "events": [1, 2, 2, 1]})
        >>> SCCS().fit(data, ["exposed"]).n_events
        6
        """
        columns = (id_col, events_col, days_col)
        terms = _check_arguments(data, terms, columns, cov_type)
        ids, y, days, X = _read_columns(data, terms, columns)
        keep, aliased = list(range(len(terms))), []
        while True:
            names = [terms[k] for k in keep]
            cols = X if len(keep) == len(terms) else np.asfortranarray(X[:, keep])
            prepared = _prepare_cases(ids, y, days, cols, events_col)
            fits, errors = solve_faces(prepared.cases, self.tol, self.max_iter)
            if not errors:
                break
            drop, message = aliased_terms(errors[0], names)
            self._warn([message], stacklevel=2)
            aliased += drop
            keep = [k for k in keep if terms[k] not in drop]
        return self._results(fits[0], terms, names, prepared, cov_type, aliased)

    @staticmethod
    def _warn(messages: list[str], stacklevel: int) -> None:
        for msg in messages:
            warnings.warn(msg, SCCSWarning, stacklevel=stacklevel + 1)

    def _results(
        self, fit: FaceFit, terms: list[str], names: list[str], prepared: _Prepared,
        cov_type: str, aliased: list[str],
    ) -> SCCSResults:
        """Assemble the results of one fitted face on the terms ``names`` (the others are
        ``aliased``: NaN), and raise its warnings."""
        boundary = _path_messages(fit.path, names)
        res = fit.result
        sub = _full_coefficients(fit, len(names))[0]
        converged = bool(res.converged[0])
        huge = [names[j] for j in fit.active if abs(sub[j]) > _HUGE_COEF]
        messages = [*boundary.values(),
                    *convergence_messages(converged, self.max_iter, float(res.max_grad[0]), huge)]
        self._warn(messages, stacklevel=3)
        keep = [terms.index(t) for t in names]
        beta = np.full(len(terms), np.nan)
        beta[keep] = sub
        cov = np.full((len(terms), len(terms)), np.nan)
        cov[np.ix_(keep, keep)] = _covariance(fit, len(names), cov_type)
        return SCCSResults(
            model=self, terms=terms, beta=beta, cov=cov,
            loglik=float(res.ll[0]) + prepared.loglik_shift, loglik_null=prepared.loglik_null,
            converged=converged, n_iter=int(res.n_iter[0]),
            max_abs_gradient=float(res.max_grad[0]),
            counts=(len(prepared.cases.starts), int(prepared.cases.n_ind.sum()),
                    prepared.n_intervals),
            boundary_terms=boundary, warnings=messages, cov_type=cov_type,
            data=_FitData(prepared.cases, prepared.loglik_shift, prepared.fingerprint, names),
            aliased=aliased,
        )


def _covariance(fit: FaceFit, q: int, cov_type: str) -> np.ndarray:
    """Covariance of the finite estimates (NaN rows and columns for infinite ones)."""
    cov = np.full((q, q), np.nan)
    if len(fit.active):
        with linalg_guard("SCCS.fit (covariance)"):
            inv_info = np.linalg.inv(-fit.result.hess[0])
        if cov_type == "robust":
            meat_rows = case_scores(fit.cases, fit.result.p)
            inv_info = inv_info @ (meat_rows.T @ meat_rows) @ inv_info
        cov[np.ix_(fit.active, fit.active)] = inv_info
    return cov


# --------------------------------------------------------------------------------------------
# Factors
# --------------------------------------------------------------------------------------------
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
    person-time would be an all-zero column, which the fit rejects anyway.

    Parameters
    ----------
    data : pandas.DataFrame
        The table holding ``column``.
    column : str
        The factor column.
    reference : hashable
        The reference level (no column).
    prefix : str, optional
        Start of the column names (default ``column``).
    sep : str
        Between prefix and level.

    Returns
    -------
    pandas.DataFrame
        One int64 column per non-reference level, with ``data``'s index.

    Raises
    ------
    SCCSError
        If the column is missing, has missing values, or lacks ``reference``.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.sccs import dummies
    >>> dummies(pd.DataFrame({"age": [1, 2, 3, 1]}), "age", 1)
       age2  age3
    0     0     0
    1     1     0
    2     0     1
    3     0     0
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
