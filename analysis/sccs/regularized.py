"""Regularised SCCS: the conditional Poisson model with a prior on some terms (Cyclops' fit).

OHDSI's SelfControlledCaseSeries fits the terms whose settings say ``allowRegularization`` with
a prior, through Cyclops: by default ``createPrior("laplace", useCrossValidation = TRUE)``, the
prior variance chosen by ten-fold cross-validation over cases; the exposures of interest and
every term with ``allowRegularization = FALSE`` are excluded from the prior. This module does
the same on the library's interval tables.

* :class:`Prior` is ``createPrior``: ``prior_type`` ``"laplace"`` (an L1 penalty
  ``lambda |b|`` with Cyclops' parametrisation ``lambda = sqrt(2 / variance)``: the Laplace
  density with that variance) or ``"normal"`` (a ridge ``b^2 / (2 variance)``), ``variance``,
  ``exclude`` (terms without prior) and ``use_cross_validation``.
* :class:`Control` is ``createControl``'s cross-validation part: ``cv_type`` (``"auto"``:
  Cyclops' search; ``"grid"``), ``fold``, ``cv_repetitions``, ``starting_variance``, ``seed``,
  and the grid's ``lower_limit``, ``upper_limit``, ``grid_steps``.
* :func:`fit_regularized` maximises the penalised conditional log-likelihood
  (:func:`analysis.sccs._penalty.maximise_penalised`: proximal Newton with exact
  coordinate-wise soft thresholds, so a Laplace prior gives exact zeros) on the kernels of
  :class:`~analysis.sccs.SCCS` and returns a :class:`RegularizedFit`.

Cross-validation (``selectorType = "byPid"``): the cases are dealt at random (``seed``) into
``fold`` folds, once per repetition, and the same folds serve every variance tried. For a
variance, the model is fitted on all folds but one and the held-out cases' conditional
log-likelihood (their predictive log-likelihood) is computed, for every fold and repetition;
the score of the variance is their mean. ``cv_type="auto"`` is Cyclops' (BBR's) search: start
at ``starting_variance``, step by a factor of 10 (first towards more penalty) until the best
score is bracketed, then fit a quadratic in log-variance to the scores (weighted by 1 / their
standard deviation over folds) and move to its maximum, until the predicted gain is below 1% or
the move below a factor 1.5; the variance used is that last maximum. Where Cyclops would walk on
(50 steps at most) when three variances score the same (the penalised terms are 0 at all of
them, so the prior changes no prediction), the search stops at the starting variance.
``cv_type="grid"`` tries
``grid_steps`` variances evenly spaced in log between the limits and keeps the best.

As OHDSI reports them, penalised terms have no standard error or confidence interval (``bse``
NaN); the unpenalised terms have Wald standard errors from the penalised information of the
terms not at 0 (Cyclops' ``confint`` profiles them instead). Aliased terms follow the library's
one rule (NaN, listed in ``aliased``, an :class:`~analysis.sccs.SCCSWarning`).

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(3)
>>> n = 200
>>> data = pd.DataFrame({"id": np.repeat(np.arange(n), 3), "days": 100.0,
...                      "exposed": np.tile([1.0, 0.0, 0.0], n),
...                      "noise": rng.integers(0, 2, 3 * n).astype(float)})
>>> data["events"] = rng.poisson(np.where(data["exposed"] == 1, 0.6, 0.3))
>>> fit = fit_regularized(data, ["exposed", "noise"],
...                       Prior("laplace", variance=0.01, exclude=("exposed",)))
>>> fit.penalized, float(fit.params["noise"]), bool(np.isnan(fit.bse["noise"]))
(['noise'], 0.0, True)
>>> round(float(fit.params["exposed"]), 2)   # the truth: log(2) = 0.69
0.76
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from analysis.sccs._kernels import Ascent, Cases, grad_hess, loglik_parts
from analysis.sccs._penalty import kkt_violation, maximise_penalised
from analysis.sccs._stats import normal_quantile
from analysis.sccs.errors import SCCSError, SCCSWarning, linalg_guard
from analysis.sccs.model import (
    _HUGE_COEF,
    _check_arguments,
    _prepare_cases,
    _read_columns,
    convergence_messages,
    estimable_terms,
)
from analysis.sccs.results import Estimates

__all__ = ["Control", "Prior", "RegularizedFit", "fit_regularized"]

PRIOR_TYPES = ("laplace", "normal")
CV_TYPES = ("auto", "grid")

#: Cyclops' auto-search: step factor, relative predicted gain and log-variance move that stop it.
_STEP, _STOP_GAIN, _STOP_MOVE, _MAX_STEPS = 10.0, 0.01, math.log(1.5), 50
#: A profile limit is sought up to this many times 4 standard errors from the estimate.
_MAX_WIDTH = 64


def _positive(name: str, value: float) -> float:
    v = float(value)
    if not (math.isfinite(v) and v > 0.0):
        raise SCCSError(f"{name} must be a finite number > 0, got {value!r}")
    return v


@dataclass(frozen=True)
class Prior:
    """Cyclops' ``createPrior``: the prior on the penalised terms.

    Parameters
    ----------
    prior_type : {"laplace", "normal"}
        Laplace (L1 penalty ``sqrt(2 / variance) |b|``) or normal (``b^2 / (2 variance)``).
    variance : float
        The prior variance (> 0); the starting point is :class:`Control`'s with
        cross-validation.
    exclude : sequence of str
        Terms without prior (OHDSI: the exposures of interest and every term whose settings do
        not allow regularisation).
    use_cross_validation : bool
        Choose the variance by cross-validation (:class:`Control`).

    Examples
    --------
    >>> Prior("laplace", variance=0.5).penalties(["a", "b"])
    (array([2., 2.]), array([0., 0.]))
    >>> Prior("normal", variance=0.5, exclude=("a",)).penalties(["a", "b"])
    (array([0., 0.]), array([0., 2.]))
    """

    prior_type: str = "laplace"
    variance: float = 1.0
    exclude: tuple[str, ...] = ()
    use_cross_validation: bool = False

    def __post_init__(self) -> None:
        if self.prior_type not in PRIOR_TYPES:
            raise SCCSError(f"prior_type must be one of {list(PRIOR_TYPES)}, got "
                            f"{self.prior_type!r}")
        _positive("variance", self.variance)
        exclude = (self.exclude,) if isinstance(self.exclude, str) else tuple(self.exclude)
        object.__setattr__(self, "exclude", exclude)

    def penalties(self, terms: Sequence[str], variance: float | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
        """``(l1, l2)`` per term at ``variance`` (default the prior's): the L1 weights
        ``sqrt(2 / v)`` of a Laplace prior or the ridge weights ``1 / v`` of a normal one, 0 for
        excluded terms."""
        v = self.variance if variance is None else _positive("variance", variance)
        on = np.array([t not in self.exclude for t in terms], dtype=float)
        if self.prior_type == "laplace":
            return on * math.sqrt(2.0 / v), np.zeros(len(on))
        return np.zeros(len(on)), on / v


@dataclass(frozen=True)
class Control:
    """Cyclops' ``createControl``, the cross-validation settings (OHDSI's defaults).

    Parameters
    ----------
    cv_type : {"auto", "grid"}
        Cyclops' auto-search from ``starting_variance``, or a grid search.
    fold, cv_repetitions : int
        Folds of cases, and how many times the cases are dealt into folds.
    starting_variance : float
        Where the auto-search starts (OHDSI: 0.1).
    seed : int
        Seed of the random folds: the same seed gives the same folds and the same fit.
    lower_limit, upper_limit, grid_steps :
        The grid of ``cv_type="grid"`` (Cyclops' defaults 0.01, 20, 10).

    Examples
    --------
    >>> Control().fold, Control().starting_variance
    (10, 0.1)
    """

    cv_type: str = "auto"
    fold: int = 10
    cv_repetitions: int = 1
    starting_variance: float = 0.1
    seed: int = 1
    lower_limit: float = 0.01
    upper_limit: float = 20.0
    grid_steps: int = 10

    def __post_init__(self) -> None:
        if self.cv_type not in CV_TYPES:
            raise SCCSError(f"cv_type must be one of {list(CV_TYPES)}, got {self.cv_type!r}")
        for name, low in (("fold", 2), ("cv_repetitions", 1), ("grid_steps", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < low:
                raise SCCSError(f"{name} must be a whole number >= {low}, got {v!r}")
        _positive("starting_variance", self.starting_variance)
        if _positive("lower_limit", self.lower_limit) > _positive("upper_limit",
                                                                    self.upper_limit):
            raise SCCSError("lower_limit must be <= upper_limit")


@dataclass(eq=False)
class RegularizedFit(Estimates):
    """Result of :func:`fit_regularized`: an :class:`~analysis.sccs.results.Estimates`.

    ``params`` are the penalised estimates (exactly 0 for a Laplace-penalised term the data do
    not move off 0); ``bse`` is NaN for penalised terms (no interval, as OHDSI reports them);
    ``loglik`` is the unpenalised conditional log-likelihood at the estimate.

    Attributes
    ----------
    prior : Prior
        The prior as given.
    variance : float
        The prior variance used (chosen by cross-validation when asked).
    penalized : list of str
        The terms with a prior.
    objective : float
        The penalised log-likelihood at the estimate (``loglik`` minus the penalty).
    kkt : float
        Largest violation of the optimality conditions at the estimate (0 at the exact maximum).
    cv : pandas.DataFrame or None
        The cross-validation: one row per variance tried, in order, with ``variance``,
        ``mean_loglik`` and ``sd_loglik`` (the held-out conditional log-likelihood over folds and
        repetitions, up to a constant that does not depend on the variance).

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"id": [1, 1, 2, 2], "x": [0, 1, 0, 1],
    ...                      "days": [100, 50, 80, 40], "events": [1, 2, 2, 1]})
    >>> fit = fit_regularized(data, ["x"], Prior("normal", variance=1.0))
    >>> round(float(fit.params["x"]), 4)   # the root of 3 - 6 e^b / (2 + e^b) - b
    0.4148
    >>> bool(fit.summary["ci_low"].isna().all())   # no interval for a penalised term
    True
    """

    prior: Prior = field(default_factory=Prior)
    variance: float = math.nan
    penalized: list[str] = field(default_factory=list)
    objective: float = math.nan
    kkt: float = math.nan
    cv: pd.DataFrame | None = None
    problem: _Problem | None = field(default=None, repr=False)

    def profile(self, term: str, values: Sequence[float] | np.ndarray) -> np.ndarray:
        """Penalised profile log-likelihood of ``term`` at ``values``.

        At each value the term is fixed (an offset) and the penalised log-likelihood is
        maximised over the other coefficients, the prior variance held at :attr:`variance`;
        the fixed term's own penalty is included (Cyclops' ``getCyclopsProfileLogLikelihood``
        with ``includePenalty = TRUE``). Its maximum, at the estimate, is :attr:`objective`.

        Examples
        --------
        >>> import pandas as pd
        >>> data = pd.DataFrame({"id": [1, 1, 2, 2], "x": [0, 1, 0, 1],
        ...                      "days": [100, 50, 80, 40], "events": [1, 2, 2, 1]})
        >>> fit = fit_regularized(data, ["x"], Prior("normal", variance=1.0))
        >>> bool(abs(fit.profile("x", [fit.params["x"]])[0] - fit.objective) < 1e-12)
        True
        """
        if self.problem is None or term not in self.problem.kept:
            raise SCCSError(f"no profile for {term!r}: not an estimated term of this fit "
                            f"({[] if self.problem is None else self.problem.kept})")
        return np.array([self.problem.profile(term, float(v), self.params)
                         for v in np.asarray(values, dtype=float)])

    def profile_conf_int(self, terms: Sequence[str] | None = None,
                         alpha: float | None = None) -> pd.DataFrame:
        """Profile-likelihood intervals (log scale) of unpenalised terms, from :meth:`profile`.

        The limits are where the penalised profile drops ``chi2_1(1 - alpha) / 2`` below its
        maximum (Cyclops' ``confint`` with ``includePenalty = TRUE``, what OHDSI reports for
        the covariates it does not regularise); a limit the profile never reaches within 64
        standard errors is -inf or +inf. Columns ``lower``, ``upper``; default terms: every
        unpenalised, estimated term.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> data = pd.DataFrame({"id": [1, 1, 2, 2], "x": [0, 1, 0, 1],
        ...                      "days": [100, 50, 80, 40], "events": [1, 2, 2, 1]})
        >>> fit = fit_regularized(data, ["x"], Prior(variance=1.0, exclude=("x",)))
        >>> ci = fit.profile_conf_int()
        >>> bool(ci.loc["x", "lower"] < fit.params["x"] < ci.loc["x", "upper"])
        True
        """
        free = [t for t in (self.problem.kept if self.problem else []) if t not in self.penalized]
        terms = free if terms is None else list(terms)
        bad = [t for t in terms if t not in free]
        if bad:
            raise SCCSError(f"no profile interval for {bad}: penalised or not estimated (OHDSI "
                            "reports no interval for regularised terms)")
        a = self.alpha if alpha is None else float(alpha)
        drop = normal_quantile(1.0 - a / 2.0) ** 2 / 2.0
        rows = [_profile_limits(self, t, drop) for t in terms]
        return pd.DataFrame(rows, columns=["lower", "upper"], index=pd.Index(terms, name="term"),
                            dtype=float)


@dataclass
class _Problem:
    """What a fit keeps to profile: the sorted, compressed cases of its estimated terms
    (``kept``), their penalties, the constant restoring the uncompressed log-likelihood, and
    the fit settings."""

    cases: Cases
    kept: list[str]
    l1: np.ndarray
    l2: np.ndarray
    shift: float
    tol: float
    max_iter: int

    def profile(self, term: str, value: float, params: pd.Series) -> float:
        """The penalised log-likelihood with ``term`` fixed at ``value``, the rest maximised
        (started from ``params``)."""
        j = self.kept.index(term)
        rest = np.array([k for k in range(len(self.kept)) if k != j], dtype=np.intp)
        c = self.cases
        fixed = replace(c.take_columns(rest), logd=c.logd + c.X[:, j] * value)
        own = self.l1[j] * abs(value) + 0.5 * self.l2[j] * value**2
        if not len(rest):
            return float(loglik_parts(np.zeros((1, 0)), fixed)[0][0]) + self.shift - own
        start = np.nan_to_num(params[[self.kept[k] for k in rest]].to_numpy(dtype=float),
                              nan=0.0, posinf=0.0, neginf=0.0)
        fit = _fit_cases(fixed, self.l1[rest], self.l2[rest], self.tol, self.max_iter, start)
        return fit.value + self.shift - own


def _profile_limits(fit: RegularizedFit, term: str, drop: float) -> tuple[float, float]:
    """Where the profile of ``term`` is ``drop`` below the maximum, on each side (bracketed
    from 4 standard errors outwards, doubling, then Brent's method)."""
    from scipy.optimize import brentq

    b, se = float(fit.params[term]), float(fit.bse[term])
    step = 4.0 * se if math.isfinite(se) and se > 0 else 1.0

    def below(v: float) -> float:
        return fit.objective - float(fit.profile(term, [v])[0]) - drop

    limits = []
    for side in (-1.0, 1.0):
        width = step
        while below(b + side * width) < 0.0 and width < _MAX_WIDTH * step:
            width *= 2.0
        end = b + side * width
        limits.append(brentq(below, b, end, xtol=1e-8) if below(end) >= 0.0
                      else side * math.inf)
    return limits[0], limits[1]


def fit_regularized(
    data: pd.DataFrame,
    terms: Sequence[str],
    prior: Prior | None = None,
    control: Control | None = None,
    *,
    id_col: str = "id",
    events_col: str = "events",
    days_col: str = "days",
    tol: float = 1e-8,
    max_iter: int = 200,
    alpha: float = 0.05,
    start: Mapping[str, float] | None = None,
) -> RegularizedFit:
    """Fit the SCCS model with a prior on the terms not in ``prior.exclude``.

    Parameters
    ----------
    data : pandas.DataFrame
        The interval table :meth:`analysis.sccs.SCCS.fit` reads.
    terms : sequence of str
        Model terms.
    prior : Prior, optional
        Default ``Prior()`` (Laplace, variance 1, no cross-validation).
    control : Control, optional
        Cross-validation settings (default ``Control()``), used when
        ``prior.use_cross_validation``.
    id_col, events_col, days_col : str
        Column names.
    tol, max_iter :
        The fit stops when the optimality conditions hold to ``tol`` (gradient units).
    alpha : float
        Level of the Wald intervals of ``summary`` (unpenalised terms only).
    start : mapping of str to float, optional
        Starting values by term (others 0) of the final fit: the maximum does not depend on
        them (the problem is concave), the number of iterations does (profiles refit from
        the full fit).

    Returns
    -------
    RegularizedFit

    Raises
    ------
    SCCSError
        Bad input (column, rows and rule, as :meth:`analysis.sccs.SCCS.fit`), bad prior or
        control, an excluded term that is not a model term, or fewer cases than folds.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> n = 300
    >>> data = pd.DataFrame({"id": np.repeat(np.arange(n), 2), "days": 50.0,
    ...                      "x": np.tile([1.0, 0.0], n)})
    >>> data["events"] = rng.poisson(np.where(data["x"] == 1, 0.4, 0.2))
    >>> a = fit_regularized(data, ["x"], Prior(use_cross_validation=True), Control(seed=7))
    >>> b = fit_regularized(data, ["x"], Prior(use_cross_validation=True), Control(seed=7))
    >>> a.variance == b.variance, len(a.cv) > 2
    (True, True)
    """
    prior = Prior() if prior is None else prior
    control = Control() if control is None else control
    columns = (id_col, events_col, days_col)
    terms = _check_arguments(data, terms, columns, "model")
    unknown = [t for t in prior.exclude if t not in terms]
    if unknown:
        raise SCCSError(f"prior.exclude names {unknown}, which are not model terms {terms}")
    kept, aliased = estimable_terms(data, terms, id_col=id_col, events_col=events_col,
                                    days_col=days_col)
    ids, y, days, X = _read_columns(data, terms, columns)
    prepared = _prepare_cases(ids, y, days, np.asfortranarray(X[:, [terms.index(t)
                                                                      for t in kept]]),
                              events_col)
    cases = prepared.cases
    table = None
    variance = prior.variance
    if prior.use_cross_validation and any(t not in prior.exclude for t in kept):
        variance, table = _cross_validate(cases, kept, prior, control, tol, max_iter)
    l1, l2 = prior.penalties(kept, variance)
    theta0 = None if start is None else np.array([float(start.get(t, 0.0)) for t in kept])
    fit = _fit_cases(cases, l1, l2, tol, max_iter, theta0)
    return _result(fit, cases, terms, kept, aliased, l1, l2, prior, variance, table,
                   prepared.loglik_shift, alpha, (tol, max_iter))


# --------------------------------------------------------------------------------------------
# The fit on sorted, compressed cases
# --------------------------------------------------------------------------------------------
def _fit_cases(c: Cases, l1: np.ndarray, l2: np.ndarray, tol: float, max_iter: int,
               start: np.ndarray | None = None) -> Ascent:
    """The penalised maximum on ``c`` (one block), from ``start`` (default 0)."""

    def objective(beta: np.ndarray) -> tuple[float, np.ndarray]:
        ll, p = loglik_parts(beta[None], c)
        return float(ll[0]), p

    def derivatives(beta: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g, h = grad_hess(c, p)
        return g[0], -h[0]

    theta0 = np.zeros(c.q) if start is None else np.asarray(start, dtype=float)
    return maximise_penalised(objective, derivatives, theta0, l1, l2, tol=tol,
                              max_iter=max_iter)


def _result(
    fit: Ascent, c: Cases, terms: list[str], kept: list[str], aliased: list[str],
    l1: np.ndarray, l2: np.ndarray, prior: Prior, variance: float, table: pd.DataFrame | None,
    shift: float, alpha: float, settings: tuple[float, int],
) -> RegularizedFit:
    """Assemble the result; warn as the single fit does about convergence."""
    tol, max_iter = settings
    beta = fit.theta
    penalized = (l1 > 0) | (l2 > 0)
    huge = [kept[j] for j in range(len(kept)) if abs(beta[j]) > _HUGE_COEF]
    violation = float(kkt_violation(fit.grad, beta, l1).max(initial=0.0))
    for msg in convergence_messages(bool(fit.converged), max_iter, violation, huge):
        warnings.warn(msg, SCCSWarning, stacklevel=3)
    q = len(terms)
    cov = np.full((q, q), np.nan)
    active = np.flatnonzero(~penalized | (beta != 0.0))
    free = np.flatnonzero(~penalized)
    if len(free):
        with linalg_guard("fit_regularized (standard errors)"):
            inv = np.linalg.inv(fit.info[np.ix_(active, active)])
        pos = [list(active).index(j) for j in free]
        where = [terms.index(kept[j]) for j in free]
        cov[np.ix_(where, where)] = inv[np.ix_(pos, pos)]
    params = pd.Series(np.nan, index=terms, name="log_irr")
    params[kept] = beta
    loglik = fit.value + float(l1 @ np.abs(beta)) + 0.5 * float(l2 @ beta**2)
    return RegularizedFit(
        params=params, bse=pd.Series(np.sqrt(np.diag(cov)), index=terms, name="se"),
        cov=pd.DataFrame(cov, index=terms, columns=terms), loglik=loglik + shift, alpha=alpha,
        aliased=list(aliased), converged=bool(fit.converged), n_iter=int(fit.n_iter),
        n_cases=len(c.starts), n_events=int(c.n_ind.sum()), prior=prior,
        variance=float(variance), penalized=[kept[j] for j in np.flatnonzero(penalized)],
        objective=fit.value + shift, kkt=violation, cv=table,
        problem=_Problem(c, kept, l1, l2, shift, tol, max_iter),
    )


# --------------------------------------------------------------------------------------------
# Cross-validation over cases
# --------------------------------------------------------------------------------------------
def _subset(c: Cases, keep: np.ndarray) -> Cases:
    """The cases where ``keep`` (one bool per case) is True."""
    rows = keep[c.grp]
    return Cases.build(c.X[rows], c.y[rows], c.days[rows], c.grp[rows], n_ind=c.n_ind[keep],
                       logd=c.logd[rows])


def case_folds(n_cases: int, control: Control) -> np.ndarray:
    """Fold of every case in every repetition (``cv_repetitions x n_cases``), seeded.

    Each repetition deals a random permutation of the cases into ``fold`` folds of sizes
    differing by at most one.

    Examples
    --------
    >>> f = case_folds(7, Control(fold=3, cv_repetitions=2, seed=1))
    >>> f.shape, sorted(np.bincount(f[0]).tolist())
    ((2, 7), [2, 2, 3])
    """
    if n_cases < control.fold:
        raise SCCSError(f"cross-validation with fold={control.fold} needs at least "
                        f"{control.fold} cases; there are {n_cases}")
    rng = np.random.default_rng(control.seed)
    out = np.empty((control.cv_repetitions, n_cases), dtype=np.int64)
    for r in range(control.cv_repetitions):
        out[r, rng.permutation(n_cases)] = np.arange(n_cases) % control.fold
    return out


class _Scorer:
    """Mean and SD of the held-out log-likelihood at a variance, on fixed folds."""

    def __init__(self, c: Cases, kept: list[str], prior: Prior, control: Control,
                 tol: float, max_iter: int) -> None:
        self.splits = [(_subset(c, labels != k), _subset(c, labels == k))
                       for labels in case_folds(len(c.starts), control)
                       for k in range(control.fold)]
        self.kept, self.prior, self.tol, self.max_iter = kept, prior, tol, max_iter
        self.tried: dict[float, tuple[float, float]] = {}
        self.warm: list[np.ndarray | None] = [None] * len(self.splits)

    def __call__(self, variance: float) -> tuple[float, float]:
        if variance not in self.tried:
            l1, l2 = self.prior.penalties(self.kept, variance)
            scores = []
            for s, (train, test) in enumerate(self.splits):
                # warm start from the fold's last fit: the maximum is the same, sooner
                beta = _fit_cases(train, l1, l2, self.tol, self.max_iter, self.warm[s]).theta
                self.warm[s] = beta
                scores.append(float(loglik_parts(beta[None], test)[0][0]))
            s = np.asarray(scores)
            self.tried[variance] = (float(s.mean()), float(s.std(ddof=1)) if len(s) > 1
                                    else 0.0)
        return self.tried[variance]


def _cross_validate(c: Cases, kept: list[str], prior: Prior, control: Control, tol: float,
                    max_iter: int) -> tuple[float, pd.DataFrame]:
    """The chosen variance and the table of the variances tried."""
    score = _Scorer(c, kept, prior, control, tol, max_iter)
    if control.cv_type == "grid":
        grid = np.exp(np.linspace(math.log(control.lower_limit), math.log(control.upper_limit),
                                  control.grid_steps))
        for v in grid:
            score(float(v))
        chosen = max(score.tried, key=lambda v: score.tried[v][0])
    else:
        chosen = _auto_search(score, control.starting_variance)
    table = pd.DataFrame([(v, m, s) for v, (m, s) in score.tried.items()],
                         columns=["variance", "mean_loglik", "sd_loglik"])
    return chosen, table


def _auto_search(score: _Scorer, start: float) -> float:
    """Cyclops' (BBR's) uni-modal search in log-variance (see the module docstring)."""
    v = start
    for _ in range(_MAX_STEPS):
        score(v)
        v, go = _next_variance(score.tried)
        if not go:
            return v
    return max(score.tried, key=lambda x: score.tried[x][0])


def _next_variance(tried: dict[float, tuple[float, float]]) -> tuple[float, bool]:
    """The next variance to try and whether to go on (False: the returned one is chosen)."""
    xs = sorted(tried)
    means = np.array([tried[x][0] for x in xs])
    best = xs[int(np.argmax(means))]
    if len(xs) == 1:
        return xs[0] / _STEP, True
    if len(xs) == 2:
        return (xs[0] / _STEP, True) if means[0] > means[1] else (xs[1] * _STEP, True)
    if means.max() - means.min() <= 1e-12 * abs(means.max()):  # flat: the prior changes nothing
        return next(iter(tried)), False
    if best == xs[0]:
        return best / _STEP, best / _STEP > 0.0
    if best == xs[-1]:
        return best * _STEP, math.isfinite(best * _STEP)
    c0, c1, c2 = _quadratic_fit(np.log(xs), means, np.array([tried[x][1] for x in xs]))
    if not c2 < 0.0:  # not concave: keep the best tried
        return best, False
    top = -c1 / (2.0 * c2)
    expected = c0 - c1 * c1 / (4.0 * c2)
    maxval = float(means.max())
    stop = (maxval == 0.0 or (expected - maxval) / abs(maxval) < _STOP_GAIN
            or abs(top - math.log(best)) < _STOP_MOVE)
    return float(math.exp(top)), not stop


def _quadratic_fit(x: np.ndarray, y: np.ndarray, sd: np.ndarray) -> tuple[float, float, float]:
    """Weighted least squares of y on (1, x, x^2), weights 1 / sd (a zero sd counts as the
    smallest positive one; equal weights when none is positive)."""
    positive = sd[sd > 0]
    floor = positive.min() if len(positive) else 1.0
    root_w = 1.0 / np.sqrt(np.maximum(sd, floor))
    A = np.column_stack([np.ones_like(x), x, x * x])
    coef = np.linalg.lstsq(A * root_w[:, None], y * root_w, rcond=None)[0]
    return float(coef[0]), float(coef[1]), float(coef[2])
