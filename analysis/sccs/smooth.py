"""Smooth time effects for SCCS: age, season (cyclic) and calendar time as spline terms.

OHDSI's SelfControlledCaseSeries (``createAgeCovariateSettings``,
``createSeasonalityCovariateSettings``, ``createCalendarTimeCovariateSettings``) models age and
calendar time with cubic splines and the season with a cyclic cubic spline, assuming the rate is
constant within each calendar month (or month of age), optionally with a normal prior (a ridge
penalty) on the spline coefficients. This module does the same on the generic interval table of
:mod:`analysis.sccs.intervals`:

1. a :class:`SmoothTerm` carries the *splitter* that cuts every observation period at the
   segment boundaries (month starts, or given ages) -- an ordinary covariate of
   :func:`~analysis.sccs.intervals.build_intervals` (:class:`~analysis.sccs.intervals.Season` or
   :class:`~analysis.sccs.intervals.AgeGroups`) whose value is the segment's code;
2. the spline basis (patsy's ``bs()`` or cyclic ``cc()``) is evaluated **once per distinct
   segment** (a few dozen to a few hundred points), never per day or per interval, and the
   interval rows pick their row of that small matrix by the segment code. The design therefore
   has one float column per spline degree of freedom and nothing else; its size is
   ``rows x df``, which is what keeps 100,000 cases in memory and in seconds;
3. :func:`fit_smooth` fits the exposure terms and the spline terms together through the
   conditional Poisson engine (:class:`~analysis.sccs.SCCS`), or, with ``penalty > 0``, by a
   penalised Newton-Raphson on the same conditional log-likelihood with the quadratic penalty
   ``penalty / 2 * sum(gamma ** 2)`` on the spline coefficients only (OHDSI's regularisation
   with a normal prior of variance ``1 / penalty``).

Because the SCCS likelihood conditions on each individual's number of events, a time effect is
identified only up to a constant: ``bs()`` is used without its intercept column and ``cc()``
with patsy's centring constraint, and :meth:`SmoothFit.curve` reports the log relative
incidence centred on its mean over the segments.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from analysis.sccs import build_intervals
>>> from analysis.sccs.smooth import season, fit_smooth
>>> rng = np.random.default_rng(1)
>>> obs = pd.DataFrame({"id": range(200), "start": 0, "end": 729})
>>> ev = pd.DataFrame({"id": rng.integers(0, 200, 600), "day": rng.integers(0, 730, 600)})
>>> s = season(df=4)
>>> iv = build_intervals(obs, ev, covariates=[s.covariate])
>>> fit = fit_smooth(iv, [], [s])
>>> fit.params.index.tolist()
['season_1', 'season_2', 'season_3', 'season_4']
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import patsy

from analysis.sccs._penalty import maximise_penalised
from analysis.sccs._strata import grouped_loglik
from analysis.sccs.errors import linalg_guard
from analysis.sccs.intervals import AgeGroups, Covariate, Season
from analysis.sccs.model import SCCS, SCCSError, SCCSWarning, estimable_terms
from analysis.sccs.results import Estimates, SCCSResults

__all__ = [
    "SmoothFit",
    "SmoothTerm",
    "age",
    "calendar_time",
    "fit_smooth",
    "month_starts",
    "quantile_knots",
    "season",
]

#: Average days per month, for the midpoint of a month of age.
_DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class SmoothTerm:
    """One smooth time effect: a splitter for the interval builder and a spline basis.

    Build it with :func:`season`, :func:`calendar_time` or :func:`age`.

    Parameters
    ----------
    name:
        Name of the segment-code column in the interval table, and prefix of the basis columns
        ``<name>_1 .. <name>_df``.
    covariate:
        The splitter passed to :func:`~analysis.sccs.intervals.build_intervals` (its output
        column is ``name`` and holds the segment code).
    points:
        ``points[c]``: the value of the time variable at which segment code ``c`` is evaluated
        (mid-month, mid-segment); codes index this array directly.
    formula:
        The patsy term of the basis in the variable ``x`` (``bs(x, ...)`` or ``cc(x, ...)``).

    Examples
    --------
    >>> s = season(df=3)
    >>> s.design(np.array([1, 1, 7])).round(3).shape   # one row per interval, one column per df
    (3, 3)
    >>> bool(np.allclose(s.design(np.array([1])), s.basis([0.5])))   # January = x 0.5
    True
    """

    name: str
    covariate: Covariate
    points: np.ndarray
    formula: str
    _info: patsy.DesignInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        codes = np.flatnonzero(np.isfinite(self.points))
        dm = patsy.dmatrix(f"{self.formula} - 1", {"x": self.points[codes]})
        object.__setattr__(self, "_info", dm.design_info)

    @property
    def columns(self) -> list[str]:
        """Names of the basis columns (the model terms this effect adds).

        Examples
        --------
        >>> season(df=3).columns
        ['season_1', 'season_2', 'season_3']
        """
        return [f"{self.name}_{j + 1}" for j in range(len(self._info.column_names))]

    def basis(self, x: np.ndarray | Sequence[float]) -> np.ndarray:
        """The spline basis at time values ``x`` (rows) -- the same basis the fit uses.

        Examples
        --------
        >>> season(df=3).basis([0.5, 6.5]).shape   # mid-January and mid-July
        (2, 3)
        """
        x = np.asarray(x, dtype=float)
        return np.asarray(patsy.build_design_matrices([self._info], {"x": x})[0])

    def check_codes(self, codes: np.ndarray) -> np.ndarray:
        """The distinct segment codes, after checking that each has a point on the spline.

        Raises :class:`~analysis.sccs.SCCSError` naming the first offending interval row (as a
        spreadsheet counts, header = row 1) and the rule, e.g. an age outside the ``cuts``.

        Examples
        --------
        >>> season(df=3).check_codes(np.array([1, 7, 1])).tolist()
        [1, 7]
        >>> try:
        ...     season(df=3).check_codes(np.array([1, 99]))
        ... except SCCSError as err:
        ...     print(str(err)[:60])
        smooth term 'season', interval row 3, column season: segment
        """
        codes = np.asarray(codes)
        ok = (codes >= 0) & (codes < len(self.points))
        ok[ok] = np.isfinite(self.points[codes[ok]])
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise SCCSError(
                f"smooth term {self.name!r}, interval row {i + 2}, column {self.name}: segment "
                f"code {codes[i]!r} is outside the spline's segments (for age: every observed "
                "age must lie between the first and the last cut)"
            )
        return np.unique(codes)

    def design(self, codes: np.ndarray | pd.Series) -> pd.DataFrame:
        """Basis columns for interval rows with the given segment codes.

        The basis is evaluated once per distinct code and gathered, so the cost is
        O(rows x df) whatever the number of rows.

        Examples
        --------
        >>> list(season(df=3).design(np.array([1, 1, 7])).columns)
        ['season_1', 'season_2', 'season_3']
        """
        codes = np.asarray(codes)
        used = self.check_codes(codes)
        small = np.zeros((len(self.points), len(self.columns)))
        small[used] = self.basis(self.points[used])
        return pd.DataFrame(small[codes], columns=self.columns)


def month_starts(first_day: int, last_day: int) -> np.ndarray:
    """Day numbers (days since 1970-01-01) of every first of month from the month holding
    ``first_day`` to the first month starting after ``last_day``.

    Examples
    --------
    >>> month_starts(0, 40).tolist()   # 1970-01-01, 1970-02-01, 1970-03-01
    [0, 31, 59]
    """
    lo = np.datetime64(int(first_day), "D").astype("datetime64[M]")
    hi = np.datetime64(int(last_day), "D").astype("datetime64[M]") + 1
    months = np.arange(lo, hi + 1, dtype="datetime64[M]")
    return months.astype("datetime64[D]").astype(np.int64)


def quantile_knots(values: np.ndarray | Sequence[float], n: int) -> tuple[float, ...]:
    """``n`` interior knots at equally spaced quantiles (strictly inside 0 and 1) of ``values``.

    Examples
    --------
    >>> quantile_knots(range(101), 3)
    (25.0, 50.0, 75.0)
    """
    v = np.asarray(values, dtype=float)
    if n < 1 or v.size == 0:
        return ()
    q = np.quantile(v, np.arange(1, n + 1) / (n + 1))
    return tuple(float(k) for k in np.unique(q))


def _spline(kind: str, knots: Sequence[float], lo: float, hi: float, df: int | None = None) -> str:
    if kind == "cc":
        return f"cc(x, df={int(df)}, lower_bound={lo!r}, upper_bound={hi!r}, constraints='center')"
    inner = tuple(float(k) for k in knots if lo < k < hi)
    return f"bs(x, knots={inner!r}, lower_bound={lo!r}, upper_bound={hi!r}, degree=3)"


def season(df: int = 4, *, origin: pd.DataFrame | None = None, name: str = "season") -> SmoothTerm:
    """Cyclic cubic spline of the month of the year (OHDSI's seasonality covariate).

    Observation periods are split at every first of month (a 12-level
    :class:`~analysis.sccs.intervals.Season`), the rate is constant within a calendar month,
    and month ``m`` is evaluated at ``x = m - 0.5`` on the circle ``[0, 12)`` with patsy's
    ``cc(x, df)`` (centred, so that it is not confounded with each case's own baseline).

    Parameters
    ----------
    df:
        Degrees of freedom of the centred cyclic spline (number of model terms), >= 2.
    origin:
        As :class:`~analysis.sccs.intervals.Season`: ``id``, ``day`` = calendar day number of
        each individual's day 0 when the time axis is not calendar days (e.g. age).
    name:
        Column and term prefix.

    Examples
    --------
    >>> s = season(df=4)
    >>> s.columns
    ['season_1', 'season_2', 'season_3', 'season_4']
    >>> bool(np.allclose(s.basis([0.0]), s.basis([12.0])))   # periodic
    True
    """
    if df < 2:
        raise SCCSError("season: df must be >= 2")
    cov = Season(starts=tuple((m, 1) for m in range(1, 13)), origin=origin, name=name)
    points = np.r_[np.nan, np.arange(1, 13) - 0.5]
    return SmoothTerm(name, cov, points, _spline("cc", (), 0.0, 12.0, df))


def calendar_time(
    first_day: int,
    last_day: int,
    knots: int | Sequence[float] = 5,
    *,
    origin: pd.DataFrame | None = None,
    name: str = "calendar",
) -> SmoothTerm:
    """Cubic B-spline of calendar time, constant within each calendar month (OHDSI's
    calendar-time covariate).

    Parameters
    ----------
    first_day, last_day:
        Calendar day numbers (days since 1970-01-01) spanning every observation period.
    knots:
        Number of interior knots, equally spaced over the months, or the knots themselves (as
        calendar day numbers, e.g. :func:`quantile_knots` of the event days).
    origin:
        ``id``, ``day``: calendar day number of each individual's day 0 when the time axis is
        not calendar days; None when it is.
    name:
        Column and term prefix.

    Examples
    --------
    >>> c = calendar_time(0, 729, knots=2)   # 1970-1971
    >>> len(c.columns)                        # 2 interior knots + degree 3
    5
    """
    cuts = month_starts(first_day, last_day)
    # AgeGroups computes "day - origin"; calendar day = day + origin, hence the negated origin
    neg = None
    if origin is not None:
        neg = pd.DataFrame({"id": origin["id"], "day": -np.asarray(origin["day"], dtype=np.int64)})
    cov = AgeGroups(cuts=tuple(int(c) for c in cuts), origin=neg, name=name)
    return _segments(name, cov, cuts.astype(float), knots)


def age(
    cuts: Sequence[int] | np.ndarray,
    knots: int | Sequence[float] = 5,
    *,
    origin: pd.DataFrame | None = None,
    name: str = "age",
) -> SmoothTerm:
    """Cubic B-spline of age, constant within age segments ``cuts[k] .. cuts[k+1] - 1``.

    Parameters
    ----------
    cuts:
        Increasing ages in days at which observation is split (e.g. every month of age,
        ``np.arange(a0, a1, 30)``, as OHDSI does); every observed age must lie in
        ``cuts[0] .. cuts[-1] - 1``.
    knots:
        Number of interior knots, equally spaced, or the knots (ages in days, e.g.
        :func:`quantile_knots` of the ages at the events).
    origin:
        ``id``, ``day``: birth day of each individual on the time axis; None when the time axis
        is age.
    name:
        Column and term prefix.

    Examples
    --------
    >>> a = age(np.arange(0, 721, 30), knots=(180.0, 360.0))
    >>> len(a.columns)
    5
    """
    c = np.asarray(cuts, dtype=np.int64)
    if len(c) < 3 or np.any(np.diff(c) <= 0):
        raise SCCSError("age: cuts must be at least 3 increasing ages")
    cov = AgeGroups(cuts=tuple(int(v) for v in c), origin=origin, name=name)
    return _segments(name, cov, c.astype(float), knots)


def _segments(
    name: str, cov: Covariate, cuts: np.ndarray, knots: int | Sequence[float]
) -> SmoothTerm:
    """Spline over the segments between consecutive cuts; group g (1-based, as AgeGroups codes
    it) covers ``cuts[g-2] .. cuts[g-1] - 1`` and is evaluated at its midpoint. Group 1 (before
    the first cut) and the last group (from the last cut on) are outside the spline's range."""
    mids = (cuts[:-1] + cuts[1:] - 1) / 2.0
    points = np.r_[np.nan, np.nan, mids, np.nan]
    lo, hi = float(mids[0]), float(mids[-1])
    if isinstance(knots, int | np.integer):
        inner = tuple(np.linspace(lo, hi, int(knots) + 2)[1:-1]) if knots > 0 else ()
    else:
        inner = tuple(float(k) for k in knots)
    return SmoothTerm(name, cov, points, _spline("bs", inner, lo, hi))


# --------------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class SmoothFit(Estimates):
    """Result of :func:`fit_smooth`: log-IRRs of every term and the smooth effects.

    An :class:`~analysis.sccs.results.Estimates` (``params``, ``bse``, ``pvalues``,
    ``conf_int()``, ``cov_params()``, ``summary``, ``loglik``, ``n_cases``, ``n_events``,
    ``aliased``, ``converged``) plus:

    Attributes
    ----------
    penalty:
        The ridge penalty used (0: ordinary maximum likelihood). With a penalty the standard
        errors are those of the penalised information ``-H + penalty * I`` (the Bayesian
        covariance under OHDSI's normal prior); ``loglik`` is the unpenalised conditional
        log-likelihood at the estimate (R's convention, as :class:`~analysis.sccs.SCCS`'s).
    smooth:
        The :class:`SmoothTerm` objects, by name.
    sccs:
        The :class:`~analysis.sccs.SCCSResults` of the fit when ``penalty == 0``, else None.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.sccs import build_intervals
    >>> rng = np.random.default_rng(5)
    >>> obs = pd.DataFrame({"id": range(100), "start": 0, "end": 364})
    >>> ev = pd.DataFrame({"id": rng.integers(0, 100, 400), "day": rng.integers(0, 365, 400)})
    >>> s = season(df=3)
    >>> fit = fit_smooth(build_intervals(obs, ev, covariates=[s.covariate]), [], [s])
    >>> curve = fit.curve("season")        # log relative incidence by month, centred
    >>> len(curve), bool(abs(curve["log_rr"].mean()) < 1e-12)
    (12, True)
    """

    penalty: float = 0.0
    smooth: dict[str, SmoothTerm] = field(default_factory=dict)
    sccs: SCCSResults | None = None

    @classmethod
    def from_estimates(
        cls, beta: pd.Series, cov: np.ndarray, loglik: float, **fields: Any
    ) -> SmoothFit:
        """A fit from log-IRRs (named by term) and their covariance; ``fields`` as the class's.

        Examples
        --------
        >>> fit = SmoothFit.from_estimates(pd.Series({"x": np.log(2.0)}), np.array([[0.01]]),
        ...                                -1.0)
        >>> fit.summary.round(4)
              irr  ci_low  ci_high    p  log_irr   se       z
        term
        x     2.0   1.644    2.433  0.0   0.6931  0.1  6.9315
        """
        names = list(beta.index)
        return cls(beta.rename("log_irr").astype(float),
                   pd.Series(np.sqrt(np.diag(cov)), index=names, name="se"),
                   pd.DataFrame(cov, index=names, columns=names), float(loglik), **fields)

    def irr(self, term: str) -> float:
        """exp(coefficient) of one term.

        Examples
        --------
        >>> fit = SmoothFit.from_estimates(pd.Series({"x": np.log(2.0)}), np.eye(1), -1.0)
        >>> round(fit.irr("x"), 6)
        2.0
        """
        return float(np.exp(self.params[term]))

    def curve(self, name: str, x: np.ndarray | Sequence[float] | None = None) -> pd.DataFrame:
        """Log relative incidence of one smooth effect at ``x`` (default: its segments), centred
        on its mean over the segments; columns ``x``, ``log_rr``, ``rr``.

        Examples
        --------
        A season effect whose spline coefficients are all 0 is flat:

        >>> s = season(df=3)
        >>> fit = SmoothFit.from_estimates(pd.Series(0.0, index=s.columns),
        ...                                np.eye(len(s.columns)), -1.0, smooth={"season": s})
        >>> fit.curve("season", [0.5, 6.5])["rr"].tolist()
        [1.0, 1.0]
        """
        term = self.smooth[name]
        seg = term.points[np.isfinite(term.points)]
        xs = seg if x is None else np.asarray(x, dtype=float)
        beta = self.params[term.columns].to_numpy()
        centre = float((term.basis(seg) @ beta).mean())
        f = term.basis(xs) @ beta - centre
        return pd.DataFrame({"x": xs, "log_rr": f, "rr": np.exp(f)})


def fit_smooth(
    intervals: pd.DataFrame,
    terms: Sequence[str],
    smooth: Sequence[SmoothTerm],
    *,
    penalty: float = 0.0,
    tol: float = 1e-10,
    max_iter: int = 100,
    alpha: float = 0.05,
) -> SmoothFit:
    """Fit exposure ``terms`` together with smooth time effects.

    Parameters
    ----------
    intervals:
        Interval table (``id``, ``days``, ``events``, the ``terms`` columns and, for each smooth
        effect, its segment-code column, i.e. built with ``term.covariate`` among the
        covariates).
    terms:
        Ordinary numeric model terms (0/1 exposure dummies, ...), never penalised.
    smooth:
        :class:`SmoothTerm` effects; their basis columns are added as terms.
    penalty:
        Ridge penalty ``lambda`` on the spline coefficients: the fit maximises
        ``loglik - lambda / 2 * sum(gamma ** 2)``. 0 gives the maximum likelihood fit through
        :class:`~analysis.sccs.SCCS`.
    tol, max_iter:
        Newton-Raphson settings, as :class:`~analysis.sccs.SCCS`.
    alpha:
        Level of the Wald intervals of ``summary`` and ``conf_int()``.

    Returns
    -------
    SmoothFit

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from analysis.sccs import build_intervals
    >>> rng = np.random.default_rng(0)
    >>> obs = pd.DataFrame({"id": range(300), "start": 0, "end": 1094})
    >>> ev = pd.DataFrame({"id": rng.integers(0, 300, 900), "day": rng.integers(0, 1095, 900)})
    >>> c = calendar_time(0, 1094, knots=2)
    >>> iv = build_intervals(obs, ev, covariates=[c.covariate], merge=True)
    >>> ml, ridge = fit_smooth(iv, [], [c]), fit_smooth(iv, [], [c], penalty=100.0)
    >>> bool(np.abs(ridge.params).sum() < np.abs(ml.params).sum())   # shrunk towards 0
    True
    """
    terms = list(terms)
    if penalty < 0 or not np.isfinite(penalty):
        raise SCCSError(f"penalty must be a finite number >= 0, got {penalty}")
    missing = [s.name for s in smooth if s.name not in intervals.columns]
    if missing:
        raise SCCSError(
            f"smooth effect(s) {missing}: no segment column in the intervals; build them with "
            "each effect's .covariate among the covariates"
        )
    for s in smooth:  # on the caller's rows, so that an error names the caller's row
        s.check_codes(intervals[s.name].to_numpy())
    n = intervals.groupby("id", sort=False)["events"].transform("sum").to_numpy()
    data = intervals.loc[n > 0, ["id", "days", "events", *terms]].reset_index(drop=True)
    codes = {s.name: intervals.loc[n > 0, s.name].to_numpy() for s in smooth}
    by_name = {s.name: s for s in smooth}
    if penalty > 0.0:
        kept, aliased = estimable_terms(data, terms)
        fit = _penalised(data, kept, codes, float(penalty), by_name, tol, max_iter, alpha)
        return _with_aliased(fit, terms, aliased) if aliased else fit
    spline_cols: list[str] = []
    for s in smooth:
        d = s.design(codes[s.name])
        for c in d.columns:
            data[c] = d[c].to_numpy()
        spline_cols += s.columns
    fit = SCCS(tol=tol, max_iter=max_iter, alpha=alpha).fit(data, terms + spline_cols)
    return SmoothFit(fit.params.copy(), fit.bse.copy(), fit.cov_params(), float(fit.loglik),
                     fit.alpha, list(fit.aliased), fit.converged, fit.n_iter, fit.n_cases,
                     fit.n_events, 0.0, by_name, fit)


def _with_aliased(fit: SmoothFit, terms: list[str], aliased: list[str]) -> SmoothFit:
    """``fit`` with the ``aliased`` ordinary terms put back in the model's order, NaN."""
    names = terms + [n for n in fit.params.index if n not in terms]
    cov = fit.cov.reindex(index=names, columns=names)
    fit.params, fit.bse = fit.params.reindex(names), fit.bse.reindex(names)
    fit.cov, fit.aliased = cov, list(aliased)
    return fit


class _Structured:
    """The design [E, B_1[c_1], B_2[c_2], ...] kept as ordinary columns E plus, per smooth
    effect, a segment code per row and a small basis matrix B_s (segments x df): products with
    the design are bincounts over segments, so no rows x df matrix is ever formed."""

    def __init__(self, data: pd.DataFrame, terms: list[str], codes: dict[str, np.ndarray],
                 smooth: dict[str, SmoothTerm]) -> None:
        ids, _ = pd.factorize(data["id"], sort=False)
        order = np.argsort(ids, kind="stable")
        self.grp = ids[order]
        self.ncase = int(self.grp.max()) + 1
        self.E = data[terms].to_numpy(dtype=float)[order]
        self.y = data["events"].to_numpy(dtype=float)[order]
        self.days = data["days"].to_numpy(dtype=float)[order]
        self.logd = np.log(self.days)
        self.n_i = np.bincount(self.grp, weights=self.y, minlength=self.ncase)
        self.codes, self.B = [], []
        for name, term in smooth.items():
            used = term.check_codes(codes[name])
            c = np.asarray(codes[name])[order]
            small = np.zeros((len(term.points), len(term.columns)))
            small[used] = term.basis(term.points[used])
            self.codes.append(c.astype(np.intp))
            self.B.append(small)
        self.q = self.E.shape[1]
        self.sizes = [b.shape[1] for b in self.B]
        self.p = self.q + sum(self.sizes)

    def split(self, beta: np.ndarray) -> list[np.ndarray]:
        return np.split(beta, np.cumsum([self.q, *self.sizes])[:-1])

    def eta(self, beta: np.ndarray) -> np.ndarray:
        parts = self.split(beta)
        out = self.logd + self.E @ parts[0]
        for c, B, g in zip(self.codes, self.B, parts[1:], strict=True):
            out += (B @ g)[c]
        return out

    def xt(self, v: np.ndarray) -> np.ndarray:
        """Design' v (length p)."""
        out = [self.E.T @ v]
        for c, B in zip(self.codes, self.B, strict=True):
            out.append(B.T @ np.bincount(c, weights=v, minlength=B.shape[0]))
        return np.concatenate(out)

    def case_means(self, p: np.ndarray) -> np.ndarray:
        """xbar_i = sum_j p_ij x_ij for every case (cases x p)."""
        from scipy import sparse

        cols = [np.column_stack([np.bincount(self.grp, weights=self.E[:, k] * p,
                                             minlength=self.ncase) for k in range(self.q)])
                if self.q else np.zeros((self.ncase, 0))]
        for c, B in zip(self.codes, self.B, strict=True):
            S = sparse.csr_matrix((p, (self.grp, c)), shape=(self.ncase, B.shape[0]))
            cols.append(np.asarray(S @ B))
        return np.hstack(cols)

    def weighted_gram(self, w: np.ndarray) -> np.ndarray:
        """sum_ij w_ij x_ij x_ij' (p x p)."""
        offs = np.cumsum([0, self.q, *self.sizes])
        out = np.empty((self.p, self.p))
        out[:self.q, :self.q] = (self.E * w[:, None]).T @ self.E
        for s, (c, B) in enumerate(zip(self.codes, self.B, strict=True)):
            sl = slice(offs[s + 1], offs[s + 2])
            ew = np.column_stack([np.bincount(c, weights=w * self.E[:, k], minlength=B.shape[0])
                                  for k in range(self.q)]) if self.q else np.zeros((B.shape[0], 0))
            out[sl, :self.q] = B.T @ ew
            out[:self.q, sl] = out[sl, :self.q].T
            for t in range(s, len(self.B)):
                ct, Bt = self.codes[t], self.B[t]
                key = c * Bt.shape[0] + ct
                W = np.bincount(key, weights=w, minlength=B.shape[0] * Bt.shape[0])
                blk = B.T @ W.reshape(B.shape[0], Bt.shape[0]) @ Bt
                tl = slice(offs[t + 1], offs[t + 2])
                out[sl, tl] = blk
                out[tl, sl] = blk.T
        return out


def _penalised(
    data: pd.DataFrame, terms: list[str], codes: dict[str, np.ndarray], lam: float,
    smooth: dict[str, SmoothTerm], tol: float, max_iter: int, alpha: float,
) -> SmoothFit:
    """Penalised Newton-Raphson with step halving on loglik - lam/2 |gamma|^2 (the ridge of
    :func:`analysis.sccs._penalty.maximise_penalised`, shared with
    :func:`analysis.sccs.regularized.fit_regularized`), on the structured design
    (:class:`_Structured`)."""
    d = _Structured(data, terms, codes, smooth)
    names = terms + [c for s in smooth.values() for c in s.columns]
    pen = np.r_[np.zeros(d.q), np.full(d.p - d.q, lam)]

    def parts(beta: np.ndarray) -> tuple[float, np.ndarray]:
        return grouped_loglik(d.eta(beta), d.grp, d.ncase, d.y)

    def gradient_information(beta: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w = d.n_i[d.grp] * p
        xbar = d.case_means(p)
        return d.xt(d.y - w), d.weighted_gram(w) - (xbar * d.n_i[:, None]).T @ xbar

    fit = maximise_penalised(parts, gradient_information, np.zeros(d.p), np.zeros(d.p), pen,
                             tol=tol, max_iter=max_iter)
    if not fit.converged:
        warnings.warn("penalised Newton did not converge", SCCSWarning, stacklevel=3)
    beta, obj, n_iter = fit.theta, fit.value, fit.n_iter
    with linalg_guard("fit_smooth (penalised)"):
        cov = np.linalg.inv(fit.info)
    ll = obj + 0.5 * float(pen @ beta**2)
    return SmoothFit.from_estimates(
        pd.Series(beta, index=names), cov, ll, alpha=alpha, converged=bool(fit.converged),
        n_iter=n_iter,
        n_cases=d.ncase, n_events=int(d.y.sum()), penalty=lam, smooth=smooth)
