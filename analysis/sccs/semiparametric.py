"""Semiparametric SCCS: the age effect is a free step at every distinct event age (generic).

API for the R layer
-------------------
``fit_semiparametric(intervals, events, terms, *, age_origin=None, age_prefix="age",
unique_days=False, tol=1e-10, max_iter=100, alpha=0.05) -> SemiparametricResult``

* ``intervals``: a :func:`analysis.sccs.intervals.build_intervals` table (``id, start, end`` and
  the term columns; any extra fixed-covariate or interaction columns the caller adds, e.g.
  ``factor(sex)2`` and ``factor(sex)2:mmr1``, are just more numeric columns).
* ``events``: ``id, day`` (R's ``aevent``); ``unique_days=True`` counts an individual's repeated
  events on one day once, as R's ``semisccs`` does.
* ``terms``: the term columns in R's formula order. A term that is aliased (constant within every
  case, or a combination of earlier terms and the age steps) is reported as NaN, not an error;
  so is an age step the data cannot estimate (see Method), as R prints NA.
* ``age_origin``: ``None`` (the day numbers are ages, as in R) or a DataFrame ``id, day`` (day
  number of birth).
* Result: ``.params``, ``.bse`` (Series: the terms, then ``f"{age_prefix}{age}"`` for every
  distinct event age but the first, R's ``factor(age)`` levels: pass
  ``age_prefix="factor(age)"``), ``.summary`` (``coef, exp_coef, se, z, p, lower95, upper95``),
  ``.loglik``, ``.aliased``, ``.cov_params()``.

Method
------
Farrington & Whitaker (2006, J R Stat Soc C 55:553) leave the age effect unspecified: the
incidence of individual *i* at age *t* is ``exp(phi_i + alpha(t) + b . x_i(t))`` with ``alpha`` an
arbitrary function. Its maximum likelihood estimate puts all the age information on the distinct
event ages ``t_1 < ... < t_K``: the likelihood is that of a conditional Poisson (multinomial) model
in which case *i* is "at risk" on the event ages inside its observation period, with one free
parameter per event age (the first is the reference) and no interval-length offset::

    l(b, a) = sum_ik n_ik (b . x_i(t_k) + a_k) - sum_i n_i log sum_{k: t_k observed by i}
              exp(b . x_i(t_k) + a_k).

R's ``semisccs`` fits this as ``clogit(event ~ terms + factor(age) + strata(indivL))``, i.e. an
exact Cox partial likelihood with one stratum per event, which expands every age level into a
dummy column. Here the age levels stay an integer index: one Newton-Raphson step forms the
gradient and the dense ``(p + K)`` information matrix from the cases x ages probability matrix
(:mod:`analysis.sccs._strata`), so the cost is O(cases x K^2 + K^3) per step and the fit
converges in a handful of steps. The information matrix is dense: ``K`` up to a few thousand
distinct event ages is practical (K = 5,000 needs 200 MB for it); the cases x ages
probabilities are formed in chunks of at most 4 million cells.

A term that is a function of age alone (e.g. age groups) is aliased with the age steps; it is
reported as NaN (R's ``coxph`` would instead report one of the age steps as NA, since its age
dummies come after the terms). An age step is estimable only relative to the ages linked to the
reference age by cases observing both (a chain of overlapping observation periods); in a run of
event ages that no case links to the reference (cases observed on disjoint periods of age, or an
age seen only by cases that observe no other event age), the last step is aliased and reported
as NaN, as R's ``clogit`` prints NA for it.

Examples
--------
>>> import pandas as pd
>>> from analysis.sccs.intervals import Exposure, build_intervals
>>> obs = pd.DataFrame({"id": range(1, 6), "start": 1, "end": 100})
>>> ev = pd.DataFrame({"id": [1, 2, 3, 4, 5], "day": [5, 20, 20, 5, 20]})
>>> doses = pd.DataFrame({"id": [1, 2, 3, 4, 5], "day": [1, 41, 11, 51, 1]})
>>> iv = build_intervals(obs, ev, [Exposure("x", doses, ((0, 9),))])
>>> fit = fit_semiparametric(iv, ev, ["x"])
>>> fit.params.round(4).to_dict()
{'x': 0.9892, 'age20': 0.6654}
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.sccs import _aliasing, _strata
from analysis.sccs.errors import SCCSError, SCCSWarning
from analysis.sccs.results import Estimates, estimates

__all__ = [
    "SemiparametricError", "SemiparametricResult", "fit_semiparametric", "semiparametric_strata",
]


class SemiparametricError(SCCSError):
    """Bad input to :func:`fit_semiparametric` (the message names the column and the rule).

    Examples
    --------
    >>> import pandas as pd
    >>> iv = pd.DataFrame({"id": [1], "start": [1], "end": [60]})
    >>> try:
    ...     fit_semiparametric(iv, pd.DataFrame({"id": [1], "day": [5]}), ["x"])
    ... except SemiparametricError as err:
    ...     print(err)
    intervals: missing column(s) ['x']
    """


class SemiparametricResult(Estimates):
    """What :func:`fit_semiparametric` returns: :class:`analysis.sccs.results.Estimates`
    (``params``, ``bse``, ``pvalues``, ``conf_int()``, ``summary``, ``loglik``, ``n_cases``,
    ``n_events``, ``aliased``, ``cov_params()``) plus ``terms`` and ``ages`` (the distinct event
    ages; the first is the reference).

    Examples
    --------
    >>> import pandas as pd
    >>> iv = pd.DataFrame({"id": [1, 1, 2, 2, 3, 3], "start": [1, 11, 1, 31, 1, 11],
    ...                    "end": [10, 60, 30, 60, 10, 60], "x": [1, 0, 0, 1, 1, 0]})
    >>> ev = pd.DataFrame({"id": [1, 2, 2, 3], "day": [5, 20, 40, 40]})
    >>> fit = fit_semiparametric(iv, ev, ["x"])
    >>> fit.ages.tolist(), fit.n_cases, fit.n_events, round(fit.loglik, 6)
    ([5, 20, 40], 3, 4, -3.972288)
    >>> fit.summary.round(4)
              irr  ci_low  ci_high       p  log_irr      se       z
    term
    x      2.1528  0.1662  27.8774  0.5573   0.7667  1.3067  0.5868
    age20  1.6344  0.0530  50.3846  0.7788   0.4913  1.7492  0.2808
    age40  2.1528  0.1662  27.8774  0.5573   0.7667  1.3067  0.5868
    """

    terms: list[str]
    ages: np.ndarray


def _sorted_intervals(intervals: pd.DataFrame, terms: Sequence[str]) -> pd.DataFrame:
    need = ["id", "start", "end", *terms]
    missing = [c for c in need if c not in intervals.columns]
    if missing:
        raise SemiparametricError(f"intervals: missing column(s) {missing}")
    iv = intervals[need].copy()
    for c in terms:
        v = pd.to_numeric(iv[c], errors="coerce")
        if v.isna().any():
            row = int(np.flatnonzero(v.isna().to_numpy())[0])
            raise SemiparametricError(
                f"intervals, row {row + 2}, column {c!r}: missing or non-numeric term value")
        iv[c] = v.astype(float)
    iv["_code"] = pd.factorize(iv["id"], sort=False)[0]
    return iv.sort_values(["_code", "start"], kind="stable")


def semiparametric_strata(
    intervals: pd.DataFrame,
    events: pd.DataFrame,
    terms: Sequence[str],
    *,
    age_origin: pd.DataFrame | None = None,
    unique_days: bool = False,
) -> tuple[_strata.Strata, np.ndarray, np.ndarray, np.ndarray]:
    """The long (case, event age) rows of the semiparametric likelihood.

    Returns ``(strata, y, ages, case_ids)``: the rows (one per case and distinct event age
    inside the case's observation, sorted by case), the event counts, the distinct event ages
    and the case ids (stratum order). Events outside observation or of unknown ids are ignored.

    Examples
    --------
    >>> import pandas as pd
    >>> iv = pd.DataFrame({"id": [1, 1, 2], "start": [1, 11, 1], "end": [10, 60, 60],
    ...                    "x": [1, 0, 0]})
    >>> ev = pd.DataFrame({"id": [1, 2], "day": [5, 20]})
    >>> st, y, ages, cases = semiparametric_strata(iv, ev, ["x"])
    >>> ages.tolist(), y.tolist(), st.X[:, 0].tolist()
    ([5, 20], [1.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0])
    """
    iv = _sorted_intervals(intervals, terms)
    code = iv["_code"].to_numpy()
    ids = iv["id"].to_numpy()
    n_ind = int(code.max()) + 1 if len(code) else 0
    first = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    uid = ids[first]
    start = iv["start"].to_numpy(np.int64)
    end = iv["end"].to_numpy(np.int64)
    lo = np.minimum.reduceat(start, first) if n_ind else np.zeros(0, np.int64)
    hi = np.maximum.reduceat(end, first) if n_ind else np.zeros(0, np.int64)
    origin = np.zeros(n_ind, np.int64)
    if age_origin is not None:
        o = pd.Series(age_origin["day"].to_numpy(np.int64), index=age_origin["id"].to_numpy())
        o = o[~o.index.duplicated()].reindex(uid)
        if o.isna().any():
            raise SemiparametricError(f"age_origin: no birth day for id {o.index[o.isna()][0]!r}")
        origin = o.to_numpy(np.int64)
    ev = events[["id", "day"]]
    if unique_days:
        ev = ev.drop_duplicates()
    e_idx = pd.Index(uid).get_indexer(ev["id"])
    e_day = pd.to_numeric(ev["day"], errors="coerce").to_numpy(float)
    ok = (e_idx >= 0) & np.isfinite(e_day)
    e_idx, e_day = e_idx[ok], e_day[ok].astype(np.int64)
    inside = (e_day >= lo[e_idx]) & (e_day <= hi[e_idx])
    e_idx, e_day = e_idx[inside], e_day[inside]
    if len(e_idx) == 0:
        raise SemiparametricError("events: no event inside an observation period")
    e_age = e_day - origin[e_idx]
    ages = np.unique(e_age)
    K = len(ages)
    cases = np.unique(e_idx)
    # every case x every event age inside its observation (ages sorted: a contiguous range)
    a_lo = np.searchsorted(ages, lo[cases] - origin[cases], side="left")
    a_hi = np.searchsorted(ages, hi[cases] - origin[cases], side="right")
    cnt = a_hi - a_lo
    row_case = np.repeat(np.arange(len(cases)), cnt)
    k = np.repeat(a_lo, cnt) + (np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    ind = cases[row_case]
    day = ages[k] + origin[ind]
    # the interval holding each (case, day): intervals are sorted by (individual, start)
    stride = int(max(end.max() - start.min(), 0)) + 2
    base = int(start.min())
    key_end = code.astype(np.int64) * stride + (end - base)
    pos = np.searchsorted(key_end, ind.astype(np.int64) * stride + (day - base), side="left")
    bad = start[np.minimum(pos, len(start) - 1)] > day
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise SemiparametricError(
            f"intervals: individual {uid[ind[j]]!r} has no interval holding day {day[j]} "
            "(observation periods must be contiguous)")
    X = np.asfortranarray(iv[list(terms)].to_numpy(float)[pos])
    cp = np.searchsorted(cases, e_idx)
    row = (np.cumsum(cnt) - cnt)[cp] + np.searchsorted(ages, e_age) - a_lo[cp]
    y = np.bincount(row, minlength=len(k)).astype(float)
    st = _strata.Strata(row_case.astype(np.int64), X, k - 1, K - 1, np.zeros(len(k)))
    return st, y, ages, uid[cases]


def _aliased_steps(st: _strata.Strata) -> np.ndarray:
    """The age steps (factor levels) that the data cannot estimate, as R's ``coxph`` finds them.

    A case links the event ages it observes, which are a contiguous run of the sorted ages; the
    steps are identified only relative to the ages linked to the reference (the first age) by
    a chain of cases. Each run of ages not linked to the reference has one free step too many,
    and R's ``clogit`` (columns checked in order) reports its last age as NA: that step is
    aliased here too. An age that only cases observing no other event age see is such a run
    on its own.
    """
    n_ages = st.n_levels + 1  # age index k = level + 1; k = 0 is the reference
    if n_ages < 2 or not len(st.group):
        return np.zeros(0, np.int64)
    k = st.level + 1
    first = np.flatnonzero(np.r_[True, st.group[1:] != st.group[:-1]])
    lo, hi = np.minimum.reduceat(k, first), np.maximum.reduceat(k, first)
    # cover[j] > 0: some case observes both ages j and j + 1
    diff = np.bincount(lo, minlength=n_ages) - np.bincount(hi, minlength=n_ages)
    cover = np.cumsum(diff)[:-1]
    ends = np.r_[np.flatnonzero(cover == 0), n_ages - 1]
    starts = np.r_[0, ends[:-1] + 1]
    return (ends[starts > 0] - 1).astype(np.int64)


def _aliased_terms(st: _strata.Strata, y: np.ndarray) -> np.ndarray:
    """Indices of the terms aliased by the library's rule (:mod:`analysis.sccs._aliasing`):
    constant within every case, or a combination of the age steps and earlier terms."""
    _, prob0 = _strata.probabilities(st, np.zeros(st.n_params), y)
    p = st.X.shape[1]
    no_terms = _strata.Strata(st.group, st.X[:, :0], st.level, st.n_levels, st.offset)
    _, level_info, _ = _strata.score_and_information(no_terms, prob0, y)
    n_s = np.bincount(st.group, weights=y, minlength=st.n_strata)
    found = _aliasing.detect(st.X, st.group, n_s[st.group] * prob0, level=st.level,
                             level_info=level_info)
    return np.flatnonzero(found.aliased[0]).astype(np.int64) if p else np.zeros(0, np.int64)


def _drop_steps(st: _strata.Strata, bad: np.ndarray) -> tuple[_strata.Strata, np.ndarray]:
    """``st`` with the age steps ``bad`` fixed at 0 (as the reference), the others renumbered."""
    if not len(bad):
        return st, bad
    new = np.arange(st.n_levels) - np.searchsorted(bad, np.arange(st.n_levels))
    new[bad] = -1
    level = np.where(st.level >= 0, new[np.maximum(st.level, 0)], -1)
    return _strata.Strata(st.group, st.X, level, st.n_levels - len(bad), st.offset), bad


def fit_semiparametric(
    intervals: pd.DataFrame,
    events: pd.DataFrame,
    terms: Sequence[str],
    *,
    age_origin: pd.DataFrame | None = None,
    age_prefix: str = "age",
    unique_days: bool = False,
    tol: float = 1e-10,
    max_iter: int = 100,
    alpha: float = 0.05,
) -> SemiparametricResult:
    """Fit the semiparametric SCCS model (age effect free at every distinct event age).

    Parameters
    ----------
    intervals:
        Interval table (``id, start, end`` and the ``terms`` columns), e.g. from
        :func:`analysis.sccs.intervals.build_intervals`; one contiguous observation period per
        individual.
    events:
        ``id, day``: the event days. Events outside observation are ignored.
    terms:
        Numeric term columns, in the order R's formula gives them. An aliased term (constant
        within every case, or a combination of earlier terms and the age steps) is NaN in the
        result, as R prints NA.
    age_origin:
        ``None`` (day numbers are ages) or ``id, day`` (the day number of each birth).
    age_prefix:
        Name prefix of the age-step parameters (R: ``"factor(age)"``).
    unique_days:
        Count an individual's repeated events on one day once (R's ``semisccs``).
    tol, max_iter:
        Newton-Raphson convergence tolerance and iteration limit.
    alpha:
        Level of the Wald intervals of ``summary``.

    Returns
    -------
    SemiparametricResult
        ``params``/``bse`` over the terms then the age steps ``f"{age_prefix}{age}"`` (every
        distinct event age but the first, the reference), ``summary``, ``loglik`` (the
        conditional log-likelihood, no offset, as R's ``clogit``), ``aliased``, ``ages``.

    Examples
    --------
    >>> import pandas as pd
    >>> iv = pd.DataFrame({"id": [1, 1, 2, 2, 3, 3], "start": [1, 11, 1, 31, 1, 11],
    ...                    "end": [10, 60, 30, 60, 10, 60], "x": [1, 0, 0, 1, 1, 0]})
    >>> ev = pd.DataFrame({"id": [1, 2, 2, 3], "day": [5, 20, 40, 40]})
    >>> fit = fit_semiparametric(iv, ev, ["x"])
    >>> fit.params.index.tolist()
    ['x', 'age20', 'age40']
    """
    terms = list(terms)
    st, y, ages, case_ids = semiparametric_strata(
        intervals, events, terms, age_origin=age_origin, unique_days=unique_days)
    names = terms + [f"{age_prefix}{a}" for a in ages[1:]]
    p = len(terms)
    st, bad_steps = _drop_steps(st, _aliased_steps(st))
    bad = _aliased_terms(st, y)
    keep = np.setdiff1d(np.arange(len(names)), np.r_[bad, p + bad_steps].astype(np.int64))
    if len(bad):
        st = _strata.Strata(st.group, np.asfortranarray(np.delete(st.X, bad, axis=1)),
                            st.level, st.n_levels, st.offset)
    try:
        theta, ll, info, converged, n_iter = _strata.newton(st, y, tol=tol, max_iter=max_iter)
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        raise SemiparametricError(
            "the information matrix became singular while fitting: probably an infinite "
            "estimate (a term or an age step whose events all fall on one side, e.g. every "
            "event of the cases observing an age on that age); check the terms "
            f"{[n for n in names if n in terms]} and the event ages") from None
    res = estimates(names, theta, cov, keep, ll, alpha=alpha, converged=converged,
                    n_iter=n_iter, n_cases=len(case_ids), n_events=int(y.sum()))
    if res.aliased:
        warnings.warn(f"semiparametric SCCS: {res.aliased} are aliased (a term or age step "
                      "the data do not determine: zero, constant within every case, or a "
                      "linear combination of others within cases); reported as NaN (R prints "
                      "NA) and the other terms estimated without them", SCCSWarning,
                      stacklevel=2)
    big = [n for n, b in zip(names, res.params, strict=True) if abs(b) > 20.0]
    if not converged:
        warnings.warn(f"semiparametric SCCS: no convergence in {max_iter} Newton iterations; "
                      "the estimates are not reliable", SCCSWarning, stacklevel=2)
    if big:
        warnings.warn(f"semiparametric SCCS: |coef| > 20 for {big}: probably infinite (the "
                      "term or age step separates the events); do not report it",
                      SCCSWarning, stacklevel=2)
    out = SemiparametricResult(**vars(res))
    out.terms, out.ages = terms, ages
    return out
