"""Event-dependent observation periods (Farrington et al. 2011, JASA 106:417), generic.

API for the R layer
-------------------
``fit_eventdep_observation(observation, events, exposures=(), covariates=(), *, terms=None,
start=(0.1, 0.1, 0.1, 0.1), days_per_year=365.25, alpha=0.05) -> EventDepObservationResult``

* ``observation``: ``id, start, end, censored`` (R's ``astart``, ``aend``, ``censor``: 1 when
  the observation period ended early, possibly because of the event; 0 when it ended as
  planned).
* ``events``: ``id, day`` (R's ``aevent``). Only each individual's first event inside
  observation is used, with an :class:`analysis.sccs.SCCSWarning` when there are later ones:
  the method is for non-recurrent events (Farrington et al. 2011), and R documents ``aevent``
  as "one event per case" (R 1.7's code, given several, silently treats each event as a case of
  its own, in the censoring models and in the SCCS strata; here they are not used).
* ``exposures``/``covariates``: as for :func:`analysis.sccs.intervals.build_intervals` (R's
  ``adrug``/``aedrug``/``expogrp`` via :meth:`analysis.sccs.intervals.Exposure.from_r`,
  ``agegrp`` via ``AgeGroups``).
* The days are ages (R's ``astart``, ``aend``, ``aevent``): ``start`` must be 0 or more.
* ``terms``: model terms (default: one dummy per non-zero exposure level and per non-reference
  covariate level, named ``f"{name}{level}"``: R's ``nrt1 .. nrt4``).
* ``start``: starting values of the four censoring-model parameters (R's ``initval``).
* ``integrate_from="start"`` reproduces R 1.7, which integrates the weight of an interval of
  days ``start .. end`` over ``[start, end]`` (one day short); the default ``"cut"`` integrates
  over the ``(start - 1, end]`` its days cover, from age 0 for an interval starting on day 0
  (there is no time before age 0; day 0 is its instant).
* As in R, an observation period ending on the event day is extended by one day.
* Result: ``.modelfit`` (DataFrame, rows ``Loglik``, ``AIC``; columns ``EWA EWI EGA EGI``),
  ``.chosen`` (the model with the smallest AIC), ``.censoring`` (fitted parameters per model),
  ``.params``, ``.bse``, ``.summary`` (``coef, exp_coef, se, z, p, lower95, upper95``),
  ``.intervals`` (with the ``weight`` of each interval), ``.fit`` (the weighted SCCS fit).

Method
------
When the event can cut the observation period short (death after a myocardial infarction, say),
the standard SCCS likelihood is biased. Farrington, Anaya-Izquierdo, Whitaker, Hocine, Douglas &
Smeeth (2011) replace the interval length by a weight: with ``t`` a possible event age, ``a`` and
``c`` the start and end of observation and ``delta = 1`` when the individual was still present at
the planned end (``censored = 0``), the likelihood of the end of observation given an event at
``t`` is, for a mixture of an exponential (probability ``pi``, mean ``rho``) and a second
distribution ``G``::

    delta = 0:  pi exp(-(c - t) / rho) / rho + (1 - pi) g_t(c)
    delta = 1:  pi exp(-(c - t) / rho)       + (1 - pi) S_t(c)

and the weight of an interval ``(u, v]`` is its integral over ``t`` from ``u`` to ``v``. ``G`` is
a Weibull (``W``) or gamma (``G``) distribution of the age at the end of observation, conditional
on survival to ``t`` ("age", ``A``), or of the interval ``c - t`` since the event ("interval",
``I``): models EWA, EWI, EGA and EGI, each with four parameters (``log rho``, ``log mu`` with
``mu`` the scale of ``G``, ``logit pi``, ``log nu`` with ``nu`` its shape; the gamma has rate
``nu / mu``). Times are in years (days / 365.25), as in R's ``eventdepenobs``.

The four models are fitted by maximum likelihood (BFGS on central-difference gradients from the
starting values, then from a second start, and polished by Newton steps; :func:`censoring_fit`),
the one with the smallest AIC gives the weights, and the SCCS model is fitted with the weights in
place of the interval lengths (:class:`analysis.sccs.SCCS` with ``days = weight``). The interval
integrals are closed forms for EWI and EGI (exponential, Weibull and gamma distribution
functions and ``int Q(a, r s) ds = s Q(a, r s) + (a / r) P(a + 1, r s)``) and composite
Gauss-Legendre quadrature (8 panels x 16 nodes) for EWA and EGA. As in R, an observation period
that ends on an event day is extended by one day and a weight below 1e-15 is set to 1e-15.
Censoring models with covariates (R's ``covariates``, ``regress``) are not implemented.

Examples
--------
>>> import pandas as pd
>>> from analysis.sccs.intervals import Exposure
>>> obs = pd.DataFrame({"id": range(1, 9), "start": 18000, "end": [18300, 18200, 18365, 18100,
...                     18250, 18365, 18150, 18365], "censored": [0, 1, 0, 1, 1, 0, 1, 0]})
>>> ev = pd.DataFrame({"id": range(1, 9), "day": [18020, 18190, 18100, 18090, 18010, 18300,
...                    18140, 18200]})
>>> ex = Exposure("x", pd.DataFrame({"id": range(1, 9), "day": 18000}), ((0, 27),))
>>> fit = fit_eventdep_observation(obs, ev, [ex])
>>> list(fit.modelfit.columns), list(fit.modelfit.index)
(['EWA', 'EWI', 'EGA', 'EGI'], ['Loglik', 'AIC'])
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special

from analysis.sccs.errors import SCCSError, SCCSWarning
from analysis.sccs.intervals import Covariate, Exposure, build_intervals
from analysis.sccs.model import SCCS
from analysis.sccs.results import Estimates, SCCSResults

__all__ = [
    "CENSORING_MODELS",
    "CensoringFit",
    "EventDepObservationError",
    "EventDepObservationResult",
    "censoring_fit",
    "censoring_loglik",
    "fit_eventdep_observation",
    "interval_weights",
]

#: The four censoring models, in R's order.
CENSORING_MODELS = ("EWA", "EWI", "EGA", "EGI")
#: Gauss-Legendre nodes and weights on [0, 1] for the age models' interval integrals.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)
_PANELS = 8


class EventDepObservationError(SCCSError):
    """Bad input to :func:`fit_eventdep_observation` (names the column, row and rule).

    Examples
    --------
    >>> import pandas as pd
    >>> obs = pd.DataFrame({"id": [1, 2], "start": 0, "end": 300, "censored": [0, 2]})
    >>> try:
    ...     fit_eventdep_observation(obs, pd.DataFrame({"id": [1, 2], "day": [10, 20]}))
    ... except EventDepObservationError as err:
    ...     print(err)
    observation, row 3, column 'censored': must be 0 or 1, got 2
    """


@dataclass
class _Params:
    lam_a: np.ndarray  # 1 / rho
    lam_b: np.ndarray  # 1 / mu
    pi: np.ndarray
    nu: np.ndarray

    @classmethod
    def of(cls, p: np.ndarray) -> _Params:
        """From one parameter vector (4,), or a batch (m, 4) as (m, 1) columns."""
        if p.ndim == 2:
            p = p.T[:, :, None]
        return cls(np.exp(-p[0]), np.exp(-p[1]), special.expit(p[2]), np.exp(p[3]))


def _log_mix(pi: np.ndarray, log_a: np.ndarray, log_b: np.ndarray) -> np.ndarray:
    """log(pi exp(log_a) + (1 - pi) exp(log_b)), stably."""
    with np.errstate(divide="ignore"):
        return np.logaddexp(np.log(pi) + log_a, np.log1p(-pi) + log_b)


def _gamma_sf(x: np.ndarray, shape: np.ndarray, rate: np.ndarray) -> np.ndarray:
    s = special.gammaincc(shape, rate * x)
    return np.where(s == 0.0, 1e-9, s)  # R's guard against dividing by 0


def _log_gamma_pdf(x: np.ndarray, shape: np.ndarray, rate: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return (shape * np.log(rate) + (shape - 1.0) * np.log(x) - rate * x
                - special.gammaln(shape))


def _contribution(model: str, q: _Params, t: np.ndarray, end: np.ndarray,
                  present: np.ndarray) -> np.ndarray:
    """Log-likelihood of the end of observation ``end`` given an event at ``t`` (years)."""
    s = end - t
    la, lb, nu = q.lam_a, q.lam_b, q.nu
    exp_sf = -la * s
    exp_pdf = np.log(la) - la * s
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if model == "EWA":
            h = (end * lb) ** nu - (t * lb) ** nu
            g_sf = -h
            g_pdf = np.log(nu * lb) + (nu - 1.0) * np.log(end * lb) - h
        elif model == "EWI":
            g_sf = -((s * lb) ** nu)
            g_pdf = np.log(nu * lb) + (nu - 1.0) * np.log(s * lb) + g_sf
        elif model == "EGA":
            rate = nu * lb
            st = _gamma_sf(t, nu, rate)
            g_sf = np.log(special.gammaincc(nu, rate * end)) - np.log(st)
            g_pdf = _log_gamma_pdf(end, nu, rate) - np.log(st)
        elif model == "EGI":
            rate = nu * lb
            g_sf = np.log(special.gammaincc(nu, rate * s))
            g_pdf = _log_gamma_pdf(s, nu, rate)
        else:
            raise EventDepObservationError(f"unknown censoring model {model!r}")
    return np.where(present == 1, _log_mix(q.pi, exp_sf, g_sf), _log_mix(q.pi, exp_pdf, g_pdf))


def censoring_loglik(model: str, params: Sequence[float], event: np.ndarray, end: np.ndarray,
                     present: np.ndarray) -> float:
    """Log-likelihood of censoring model ``model`` (one of :data:`CENSORING_MODELS`).

    ``params`` = (log rho, log mu, logit pi, log nu); ``event`` and ``end`` the event and
    end-of-observation ages in years, ``present`` 1 when observation ended as planned.

    Examples
    --------
    >>> import numpy as np
    >>> round(censoring_loglik("EWI", [0.0, 0.0, 0.0, 0.0], np.array([1.0]), np.array([2.0]),
    ...                        np.array([1])), 6)  # log(exp(-1)): both components survive 1 year
    -1.0
    """
    return float(_loglik_batch(model, np.asarray(params, dtype=float)[None, :], event, end,
                               present)[0])


def _loglik_batch(model: str, params: np.ndarray, event: np.ndarray, end: np.ndarray,
                  present: np.ndarray) -> np.ndarray:
    """Log-likelihoods at each row of ``params`` (m, 4), in one vectorised evaluation."""
    q = _Params.of(params)
    ll = _contribution(model, q, np.asarray(event, float), np.asarray(end, float),
                       np.asarray(present))
    return ll.sum(axis=-1)


@dataclass
class CensoringFit:
    """A fitted censoring model (what :func:`censoring_fit` returns): ``model``, ``params``
    (log rho, log mu, logit pi, log nu), ``loglik``, ``aic`` (``2 * 4 - 2 * loglik``) and
    ``max_abs_gradient`` (of the log-likelihood at the optimum, a convergence check).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([50.0, 51.0, 52.5, 60.0, 61.2, 55.0])
    >>> c = t + np.array([0.1, 2.0, 0.3, 1.5, 0.05, 3.0])
    >>> fit = censoring_fit("EWI", t, c, np.array([0, 1, 0, 1, 0, 1]))
    >>> fit.model, round(fit.loglik, 4), round(fit.aic, 4)
    ('EWI', -1.1723, 10.3446)
    """

    model: str
    params: np.ndarray
    loglik: float
    aic: float
    max_abs_gradient: float


def _num_grad(fb, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the batch function ``fb`` ((m, 4) -> (m,))."""
    e = np.eye(len(x)) * h
    v = fb(np.vstack([x + e, x - e]))
    return (v[: len(x)] - v[len(x):]) / (2 * h)


def _num_hess(fb, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    n = len(x)
    H = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = h
        H[:, i] = (_num_grad(fb, x + e) - _num_grad(fb, x - e)) / (2 * h)
    return (H + H.T) / 2


def censoring_fit(model: str, event: np.ndarray, end: np.ndarray, present: np.ndarray,
                  start: Sequence[float] = (0.1, 0.1, 0.1, 0.1)) -> CensoringFit:
    """Maximum likelihood fit of one censoring model (see the module docstring).

    BFGS from ``start`` and from a data-driven start (the log mean times to the end of
    observation, pi = 1/2, nu = 1), the better one polished by Newton steps on a
    finite-difference Hessian while they improve the log-likelihood.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([50.0, 51.0, 52.5, 60.0, 61.2, 55.0])
    >>> c = t + np.array([0.1, 2.0, 0.3, 1.5, 0.05, 3.0])
    >>> fit = censoring_fit("EWI", t, c, np.array([0, 1, 0, 1, 0, 1]))
    >>> fit.max_abs_gradient < 1e-4
    True
    """
    def nll_batch(p: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):  # trial points far out: inf/nan mean "worse"
            v = -_loglik_batch(model, p, event, end, present)
        return np.where(np.isfinite(v), v, 1e300)

    def nll(p: np.ndarray) -> float:
        return float(nll_batch(p[None, :])[0])

    s = end - event
    starts = [np.asarray(start, float)]
    if (present == 0).any() and (present == 1).any():
        starts.append(np.array([np.log(max(s[present == 0].mean(), 1e-3)),
                                np.log(max(s[present == 1].mean(), 1e-3)), 0.0, 0.0]))
    best = None
    for x0 in starts:
        r = optimize.minimize(nll, x0, jac=lambda p: _num_grad(nll_batch, p), method="BFGS",
                              options={"gtol": 1e-6, "maxiter": 2000})
        if best is None or r.fun < best.fun:
            best = r
    x, f = best.x, best.fun
    for _ in range(20):
        g = _num_grad(nll_batch, x)
        try:
            step = np.linalg.solve(_num_hess(nll_batch, x), g)
        except np.linalg.LinAlgError:
            break
        cand = x - step
        fc = nll(cand)
        if not fc < f:
            break
        x, f = cand, fc
    ll = -f
    return CensoringFit(model, x, ll, 2 * len(x) - 2 * ll,
                        float(np.abs(_num_grad(nll_batch, x)).max()))


def _diff_exp(x_near: np.ndarray, x_far: np.ndarray) -> np.ndarray:
    """exp(-x_near) - exp(-x_far) for x_near <= x_far, without cancellation."""
    with np.errstate(invalid="ignore", over="ignore"):
        out = np.exp(-x_near) * -np.expm1(-(x_far - x_near))
    return np.where(np.isinf(x_near), 0.0, out)


def _diff_p(a: np.ndarray, x_hi: np.ndarray, x_lo: np.ndarray) -> np.ndarray:
    """P(a, x_hi) - P(a, x_lo) (regularised lower gamma), from the smaller tail."""
    lower = special.gammainc(a, x_hi) - special.gammainc(a, x_lo)
    upper = special.gammaincc(a, x_lo) - special.gammaincc(a, x_hi)
    return np.where(special.gammainc(a, x_lo) > 0.5, upper, lower)


def interval_weights(model: str, params: Sequence[float], lower: np.ndarray, upper: np.ndarray,
                     end: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Integral over ``t`` in ``(lower, upper]`` of the censoring model's likelihood of the end
    of observation given an event at ``t`` (all in years): the weights of the intervals.

    Closed forms for EWI and EGI, composite Gauss-Legendre quadrature for EWA and EGA.

    Examples
    --------
    >>> import numpy as np
    >>> w = interval_weights("EWI", [0.0, 0.0, 0.0, 0.0], np.array([0.0, 1.0]),
    ...                      np.array([1.0, 2.0]), np.array([2.0, 2.0]), np.array([1, 1]))
    >>> np.round(w, 6).tolist()  # integral of exp(-(2 - t)) over (0, 1] and (1, 2]
    [0.232544, 0.632121]
    """
    q = _Params.of(np.asarray(params, dtype=float))
    lower, upper, end = (np.asarray(v, float) for v in (lower, upper, end))
    present = np.asarray(present)
    s1, s2 = end - lower, np.maximum(end - upper, 0.0)  # s1 >= s2
    la, lb, nu, pi = q.lam_a, q.lam_b, q.nu, q.pi
    exp_part = _diff_exp(la * s2, la * s1)
    if model == "EWI":
        with np.errstate(over="ignore"):
            x1, x2 = (s1 * lb) ** nu, (s2 * lb) ** nu
        sf = special.gamma(1.0 + 1.0 / nu) / lb * _diff_p(1.0 / nu, x1, x2)
        w1 = pi * exp_part / la + (1.0 - pi) * sf
        w0 = pi * exp_part + (1.0 - pi) * _diff_exp(x2, x1)
        return np.where(present == 1, w1, w0)
    if model == "EGI":
        a, r = nu, nu * lb

        def big_f(s: np.ndarray) -> np.ndarray:
            return s * special.gammaincc(a, r * s) + a / r * special.gammainc(a + 1.0, r * s)

        w1 = pi * exp_part / la + (1.0 - pi) * (big_f(s1) - big_f(s2))
        w0 = pi * exp_part + (1.0 - pi) * _diff_p(a, r * s1, r * s2)
        return np.where(present == 1, w1, w0)
    if model not in ("EWA", "EGA"):
        raise EventDepObservationError(f"unknown censoring model {model!r}")
    # composite Gauss-Legendre: _PANELS panels of 16 nodes on each interval
    u = (np.arange(_PANELS)[:, None] + (_GL_X[None, :] + 1.0) / 2.0).ravel() / _PANELS
    wq = np.tile(_GL_W / 2.0, _PANELS) / _PANELS
    width = (upper - lower)[:, None]
    t = lower[:, None] + width * u[None, :]
    f = np.exp(_contribution(model, q, t, end[:, None], present[:, None]))
    return (f * wq[None, :]).sum(axis=1) * width[:, 0]


class EventDepObservationResult(Estimates):
    """What :func:`fit_eventdep_observation` returns: :class:`analysis.sccs.results.Estimates`
    (``params``, ``bse``, ``pvalues``, ``conf_int()``, ``summary``, ``loglik``, ``n_cases``,
    ``n_events``, ``aliased``, ``cov_params()``; those of the weighted fit) plus ``modelfit`` (rows
    Loglik, AIC; columns EWA EWI EGA EGI), ``chosen``, ``censoring`` (:class:`CensoringFit` per
    model), ``intervals`` (with ``weight``) and ``fit`` (the weighted
    :class:`~analysis.sccs.results.SCCSResults`).

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.sccs.intervals import Exposure
    >>> obs = pd.DataFrame({"id": range(1, 9), "start": 18000, "end": [18300, 18200, 18365,
    ...                     18100, 18250, 18365, 18150, 18365],
    ...                     "censored": [0, 1, 0, 1, 1, 0, 1, 0]})
    >>> ev = pd.DataFrame({"id": range(1, 9), "day": [18020, 18190, 18100, 18090, 18010,
    ...                    18300, 18140, 18200]})
    >>> ex = Exposure("x", pd.DataFrame({"id": range(1, 9), "day": 18000}), ((0, 27),))
    >>> res = fit_eventdep_observation(obs, ev, [ex])
    >>> sorted(res.censoring) == sorted(CENSORING_MODELS), res.chosen in CENSORING_MODELS
    (True, True)
    >>> list(res.summary.index), bool((res.intervals["weight"] > 0).all())
    (['x1'], True)
    """

    modelfit: pd.DataFrame
    chosen: str
    censoring: dict[str, CensoringFit]
    intervals: pd.DataFrame
    fit: SCCSResults


def _observation(observation: pd.DataFrame) -> pd.DataFrame:
    """Validated observation periods: the columns, ``censored`` 0/1 and ``start`` an age."""
    need = ["id", "start", "end", "censored"]
    missing = [c for c in need if c not in observation.columns]
    if missing:
        raise EventDepObservationError(f"observation: missing column(s) {missing}")
    obs = observation[need].copy()
    cen = pd.to_numeric(obs["censored"], errors="coerce")
    bad = ~cen.isin([0, 1])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise EventDepObservationError(
            f"observation, row {row + 2}, column 'censored': must be 0 or 1, "
            f"got {obs['censored'].tolist()[row]!r}")
    obs["censored"] = cen.astype(int)
    negative = (pd.to_numeric(obs["start"], errors="coerce") < 0).to_numpy()
    if negative.any():
        row = int(np.flatnonzero(negative)[0])
        raise EventDepObservationError(
            f"observation, row {row + 2}, column 'start': must be 0 or more, got "
            f"{obs['start'].tolist()[row]!r}: the days are ages (the censoring models EWA and "
            "EGA are distributions of the age at the end of observation); shift them to days "
            "since birth or since an origin before every observation period")
    return obs


def _first_events(obs: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Each individual's first event inside its observation period (warns when there are
    later ones: the method is for non-recurrent events)."""
    missing = [c for c in ("id", "day") if c not in events.columns]
    if missing:
        raise EventDepObservationError(f"events: missing column(s) {missing}")
    info = obs.set_index("id")
    ev = events.loc[events["id"].isin(info.index), ["id", "day"]]
    day = pd.to_numeric(ev["day"], errors="coerce")
    inside = (day >= ev["id"].map(info["start"])) & (day <= ev["id"].map(info["end"]))
    ev = ev[inside.to_numpy()]
    if len(ev) == 0:
        raise EventDepObservationError("events: no event inside an observation period")
    first = ev.groupby("id", sort=False)["day"].min().reset_index()
    if len(first) < len(ev):
        warnings.warn(f"event-dependent observation periods: {len(ev) - len(first)} events "
                      "after each individual's first are not used (the method is for "
                      "non-recurrent events: first events only)", SCCSWarning, stacklevel=3)
    return first


def _extend_on_event_day(obs: pd.DataFrame, ev: pd.DataFrame) -> pd.DataFrame:
    """As in R, an observation period that ends on the (first) event day gains one day."""
    ends = pd.Series(obs["end"].to_numpy(), index=obs["id"].to_numpy())
    on_end = ev["id"].map(ends).to_numpy() == ev["day"].to_numpy()
    hit = obs["id"].isin(ev.loc[on_end, "id"])
    obs = obs.copy()
    obs.loc[hit, "end"] = obs.loc[hit, "end"] + 1
    return obs


def _default_terms(iv: pd.DataFrame, names: list[str]) -> list[str]:
    """One 0/1 column per non-zero exposure level and per non-reference covariate level."""
    terms: list[str] = []
    for name, is_exposure in names:
        levels = sorted(pd.unique(iv[name]))
        for lev in levels[1:] if not is_exposure else [v for v in levels if v != 0]:
            col = f"{name}{int(lev)}"
            iv[col] = (iv[name] == lev).astype(float)
            terms.append(col)
    return terms


def fit_eventdep_observation(
    observation: pd.DataFrame,
    events: pd.DataFrame,
    exposures: Sequence[Exposure] = (),
    covariates: Sequence[Covariate] = (),
    *,
    terms: Sequence[str] | None = None,
    start: Sequence[float] = (0.1, 0.1, 0.1, 0.1),
    days_per_year: float = 365.25,
    integrate_from: str = "cut",
    alpha: float = 0.05,
) -> EventDepObservationResult:
    """SCCS with event-dependent observation periods (Farrington et al. 2011).

    Parameters
    ----------
    observation:
        ``id, start, end, censored``: one observation period per individual; ``censored`` is 1
        when it ended early (possibly because of the event), 0 when it ended as planned.
        The days are ages (the "age" censoring models read them so): ``start`` 0 or more.
    events:
        ``id, day``: the events; only each individual's first event inside observation is used
        (a warning says when there are later ones; the method is for non-recurrent events).
        Its age enters the censoring models.
    exposures, covariates:
        As for :func:`analysis.sccs.intervals.build_intervals`.
    terms:
        Model terms: columns of the interval table, or ``None`` for one dummy per non-zero
        exposure level and per non-reference covariate level (``f"{name}{level}"``).
    start:
        Starting values of (log rho, log mu, logit pi, log nu) (R's ``initval``).
    days_per_year:
        The time unit of the censoring models (R: 365.25).
    integrate_from:
        ``"cut"``: the weight of an interval of days ``start .. end`` integrates over the
        continuous time ``(start - 1, end]`` that its days cover (from 0 when ``start`` is
        day 0: ages are not negative). ``"start"``: over
        ``[start, end]``, one day short, as R SCCS 1.7's ``eventdepenobs`` does (its one-day
        intervals get the weight 1e-15); use it to reproduce R.
    alpha:
        Level of the Wald intervals of ``summary``.

    Returns
    -------
    EventDepObservationResult
        ``modelfit``, ``chosen``, ``censoring``, ``params``, ``bse``, ``summary``,
        ``intervals``, ``fit`` (see the module docstring).

    Examples
    --------
    Sixty cases observed from day 0 to day 3650; about half die after their event (an
    exponential delay of mean 300 days), which ends observation early; one 90-day risk window
    after a dose on a random day:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from analysis.sccs.intervals import Exposure
    >>> rng = np.random.default_rng(1)
    >>> n = 60
    >>> day = rng.integers(0, 3000, n)
    >>> death = day + rng.exponential(300, n).astype(int) + 1
    >>> cens = (death < 3650) & (rng.random(n) < 0.5)
    >>> obs = pd.DataFrame({"id": range(n), "start": 0, "end": np.where(cens, death, 3650),
    ...                     "censored": cens.astype(int)})
    >>> ev = pd.DataFrame({"id": range(n), "day": day})
    >>> ex = Exposure("x", pd.DataFrame({"id": range(n), "day": rng.integers(0, 3000, n)}),
    ...               ((0, 89),))
    >>> res = fit_eventdep_observation(obs, ev, [ex])
    >>> res.modelfit.round(2)
               EWA     EWI     EGA     EGI
    Loglik  -71.52  -71.52  -71.52  -71.04
    AIC     151.04  151.05  151.05  150.09
    >>> res.chosen
    'EGI'
    >>> res.summary.round(3)
            irr  ci_low  ci_high      p  log_irr     se      z
    term
    x1    1.955   0.577    6.618  0.281     0.67  0.622  1.077
    """
    if integrate_from not in ("cut", "start"):
        raise EventDepObservationError(
            f"integrate_from must be 'cut' or 'start', got {integrate_from!r}")
    obs = _observation(observation)
    ev = _first_events(obs, events)
    obs = _extend_on_event_day(obs, ev)
    info = obs.set_index("id")
    t = ev["day"].to_numpy(float) / days_per_year
    c = ev["id"].map(info["end"]).to_numpy(float) / days_per_year
    present = 1 - ev["id"].map(info["censored"]).to_numpy()
    cens = {m: censoring_fit(m, t, c, present, start) for m in CENSORING_MODELS}
    modelfit = pd.DataFrame({m: [f.loglik, f.aic] for m, f in cens.items()},
                            index=["Loglik", "AIC"])
    chosen = min(CENSORING_MODELS, key=lambda m: cens[m].aic)
    iv = build_intervals(obs[["id", "start", "end"]], ev, exposures, covariates)
    iv_end = iv["id"].map(info["end"]).to_numpy(float) / days_per_year
    iv_present = 1 - iv["id"].map(info["censored"]).to_numpy()
    first = iv["start"].to_numpy(float)
    if integrate_from == "cut":  # day d covers (d - 1, d]; day 0, an age, starts at 0
        first = np.maximum(first - 1.0, 0.0)
    w = interval_weights(chosen, cens[chosen].params, first / days_per_year,
                         iv["end"].to_numpy() / days_per_year, iv_end, iv_present)
    if not np.isfinite(w).all():
        raise EventDepObservationError(
            f"censoring model {chosen} gives non-finite interval weights (fitted parameters "
            f"{np.round(cens[chosen].params, 4).tolist()}): the data do not determine it")
    iv["weight"] = np.maximum(w, 1e-15)
    if terms is None:
        names = [(e.name, True) for e in exposures] + [(cv.name, False) for cv in covariates
                                                        if cv.name in iv.columns]
        terms = _default_terms(iv, names)
    fit = SCCS(alpha=alpha).fit(iv, list(terms), days_col="weight")
    res = EventDepObservationResult(
        fit.params, fit.bse, fit.cov_params(), float(fit.loglik), alpha, list(fit.aliased),
        bool(fit.converged), int(fit.n_iter), int(fit.n_cases), int(fit.n_events))
    res.modelfit, res.chosen, res.censoring = modelfit, chosen, cens
    res.intervals, res.fit = iv, fit
    return res
