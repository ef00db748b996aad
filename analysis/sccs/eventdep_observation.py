"""Event-dependent observation periods (Farrington et al. 2011, JASA 106:417), generic.

API for the R layer
-------------------
``fit_eventdep_observation(observation, events, exposures=(), covariates=(), *, terms=None,
start=(0.1, 0.1, 0.1, 0.1), days_per_year=365.25, integrate_from="cut", censoring=None,
alpha=0.05) -> EventDepObservationResult``

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
* ``censoring=(model, params)``: weights from this censoring model at these parameters
  instead of the AIC choice at its optimum (e.g. R's local optimum, kept in
  ``.censoring[model].ends``).
* Result: ``.modelfit`` (DataFrame, rows ``Loglik``, ``AIC``; columns ``EWA EWI EGA EGI``),
  ``.chosen`` (the model with the smallest AIC), ``.censoring`` (per model a
  :class:`CensoringFit`: parameters, ``start`` (the winning start), ``starts``, ``ends``),
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

The four models are fitted by maximum likelihood from several starting points each (R's
``initval``, data-driven ones, the best points of a fixed grid, the sibling model's optimum;
:func:`fit_censoring_models`, :mod:`analysis.sccs._censoring`), keeping the best end point:
R's ``nlm`` from ``initval`` alone can stop at a worse local optimum (on R's own nrtdat example
it does for EWI, EGA and EGI, so the EWI weights and the coefficients differ from R's there;
``CensoringFit.starts``/``.ends`` keep every start's end point and ``censoring=`` refits at
any of them). The shape is bounded, ``log nu <= 20``: with ties in whole-day times a spike of
the second component on one tied value makes the likelihood unbounded, and past that bound
the gamma log-density is lost to rounding (``_MAX_LOG_NU``). The one with the smallest AIC
gives the weights, and the SCCS model is fitted
with the weights in place of the interval lengths (:class:`analysis.sccs.SCCS` with
``days = weight``). The interval
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from analysis.sccs import _censoring, _censoring_grad
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
    "censoring_loglik_elements",
    "fit_censoring_models",
    "fit_eventdep_observation",
    "integrate_censoring",
    "interval_weights",
]

#: Iterations of every start before only the two best of each (data set, model) go on.
_SCOUT_ITER = 15
#: Starts, besides ``"initval"`` (R's path, always followed), that go on after the scouting
#: (all five: with analytic derivatives the extra iterations cost about 20%, and following only
#: one or two of them ended below the full set on 13-40 of 184 measured fits).
_KEEP = 5
#: Further iterations of each model's winning start (see :func:`fit_censoring_models`).
_POLISH_ITER = 1000
#: Largest log shape (nu = 4.9e8) at which a censoring likelihood is evaluated: beyond it the
#: gamma log-density loses more than 1e-6 per case to rounding (lgamma(nu) ~ nu log nu ~ 1e10
#: times the machine epsilon) and the Weibull is a step; with ties in whole-day times a spike
#: of the second component on one tied value makes the likelihood grow without bound there
#: (measured: a simulated study of the teaching chapter on event-dependent observation reached
#: log nu = 304 and a log-likelihood of 4e118).
_MAX_LOG_NU = 20.0
#: The four censoring models, in R's order.
CENSORING_MODELS = ("EWA", "EWI", "EGA", "EGI")
#: Gauss-Legendre nodes and weights on [0, 1] for the age models' interval integrals.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)
_PANELS = 8
#: Panels of :func:`integrate_censoring` graded toward the end of observation.
_GRADED = 40


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
    """The parameters on their natural scale, and the logs and constants the likelihoods use
    (computed once per parameter vector, not per case)."""

    lam_a: np.ndarray  # 1 / rho
    lam_b: np.ndarray  # 1 / mu
    pi: np.ndarray
    nu: np.ndarray

    def __post_init__(self) -> None:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            self.log_la = np.log(self.lam_a)
            self.log_pi, self.log_1mpi = np.log(self.pi), np.log1p(-self.pi)
            self.rate = self.nu * self.lam_b  # gamma rate; nu lb in the Weibull density
            self.log_rate = np.log(self.rate)
            self.lgam_nu = special.gammaln(self.nu)

    @classmethod
    def of(cls, p: np.ndarray) -> _Params:
        """From one parameter vector (4,), or a batch (m, 4) as (m, 1) columns."""
        if p.ndim == 2:
            p = p.T[:, :, None]
        return cls(np.exp(-p[0]), np.exp(-p[1]), special.expit(p[2]), np.exp(p[3]))

    @classmethod
    def rows(cls, p: np.ndarray) -> _Params:
        """One parameter vector per element: ``p`` (..., 4) as four (...) arrays."""
        return cls(np.exp(-p[..., 0]), np.exp(-p[..., 1]), special.expit(p[..., 2]),
                   np.exp(p[..., 3]))

    def take(self, idx: np.ndarray) -> _Params:
        """The fields (arrays of the same shape) at ``idx`` (an index or a boolean mask)."""
        out = object.__new__(_Params)
        for k, v in vars(self).items():
            setattr(out, k, v[idx])
        return out

    def broadcast(self, shape: tuple[int, ...]) -> _Params:
        """Every field broadcast to ``shape`` (read-only views)."""
        out = object.__new__(_Params)
        for k, v in vars(self).items():
            setattr(out, k, np.broadcast_to(v, shape))
        return out


def _log_mix(q: _Params, log_a: np.ndarray, log_b: np.ndarray) -> np.ndarray:
    """log(pi exp(log_a) + (1 - pi) exp(log_b)), stably."""
    return np.logaddexp(q.log_pi + log_a, q.log_1mpi + log_b)


def _gamma_sf(x: np.ndarray, shape: np.ndarray, rate: np.ndarray) -> np.ndarray:
    s = special.gammaincc(shape, rate * x)
    return np.where(s == 0.0, 1e-9, s)  # R's guard against dividing by 0


def _log_gamma_pdf(x: np.ndarray, q: _Params) -> np.ndarray:
    return q.nu * q.log_rate + (q.nu - 1.0) * np.log(x) - q.rate * x - q.lgam_nu


def _branch(model: str, q: _Params, t: np.ndarray, end: np.ndarray, died: bool) -> np.ndarray:
    """Log-likelihood of the end of observation ``end`` given an event at ``t`` (years), for
    elements that all ended early (``died``: a density) or all as planned (a survival)."""
    s = end - t
    la, lb, nu = q.lam_a, q.lam_b, q.nu
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        exp_part = q.log_la - la * s if died else -la * s
        if model == "EWA":
            h = (end * lb) ** nu - (t * lb) ** nu
            g = q.log_rate + (nu - 1.0) * np.log(end * lb) - h if died else -h
        elif model == "EWI":
            g = -((s * lb) ** nu)
            if died:
                g = q.log_rate + (nu - 1.0) * np.log(s * lb) + g
        elif model == "EGA":
            log_st = np.log(_gamma_sf(t, nu, q.rate))
            g = (_log_gamma_pdf(end, q) if died
                 else np.log(special.gammaincc(nu, q.rate * end))) - log_st
        elif model == "EGI":
            g = _log_gamma_pdf(s, q) if died else np.log(special.gammaincc(nu, q.rate * s))
        else:
            raise EventDepObservationError(f"unknown censoring model {model!r}")
        return _log_mix(q, exp_part, g)


def _contribution(model: str, q: _Params, t: np.ndarray, end: np.ndarray,
                  present: np.ndarray) -> np.ndarray:
    """:func:`_branch` for elements of both kinds (``present`` 1: ended as planned)."""
    shape = np.broadcast_shapes(np.shape(t), np.shape(end), np.shape(present),
                                np.shape(q.lam_a), np.shape(q.nu))
    t, end, present = (np.broadcast_to(v, shape) for v in (t, end, present))
    q = q.broadcast(shape)
    out = np.empty(shape)
    for died in (True, False):
        k = present == (0 if died else 1)
        if k.any():
            out[k] = _branch(model, q.take(k), t[k], end[k], died)
    return out


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


def censoring_loglik_elements(model: str, params: np.ndarray, event: np.ndarray,
                              end: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Log-likelihood of censoring model ``model`` element by element, with one parameter
    vector per element: the building block of censoring models whose parameters depend on
    the case (or on the event age), such as OHDSI SelfControlledCaseSeries' (where
    ``log mu``, ``logit pi`` and ``log nu`` are linear in the log age or the event age).

    Parameters
    ----------
    model : str
        One of :data:`CENSORING_MODELS`.
    params : ndarray
        (..., 4): (log rho, log mu, logit pi, log nu) per element, broadcast against the
        other arguments' shape.
    event, end : ndarray
        Event and end-of-observation ages, in years.
    present : ndarray
        1 when observation ended as planned, 0 when it ended early.

    Returns
    -------
    ndarray
        The log-likelihoods, of the broadcast shape (non-finite where the model is not
        computable there).

    Examples
    --------
    >>> import numpy as np
    >>> ll = censoring_loglik_elements("EWI", np.zeros((2, 4)), np.array([1.0, 1.0]),
    ...                                np.array([2.0, 3.0]), np.array([1, 1]))
    >>> np.round(ll, 6).tolist()  # log(exp(-(end - event)))
    [-1.0, -2.0]
    """
    if model not in CENSORING_MODELS:
        raise EventDepObservationError(
            f"unknown censoring model {model!r} (one of {list(CENSORING_MODELS)})")
    with np.errstate(all="ignore"):
        return _contribution(model, _Params.rows(np.asarray(params, dtype=float)),
                             np.asarray(event, float), np.asarray(end, float),
                             np.asarray(present))


def integrate_censoring(model: str, params_at: Callable[[np.ndarray], np.ndarray],
                        lower: np.ndarray, upper: np.ndarray, end: np.ndarray,
                        present: np.ndarray, toward_end: bool = False) -> np.ndarray:
    """Integral over ``t`` in ``(lower, upper]`` of the censoring model's likelihood of the
    end of observation given an event at ``t`` (years), with parameters that may depend on
    ``t``: composite Gauss-Legendre quadrature (16 nodes per panel).

    ``params_at(t)`` returns the parameters (n, k, 4) at the nodes ``t`` (n, k) of the n
    intervals. :func:`interval_weights` uses it for the age models with fixed parameters.
    Panels: 8 equal ones; with ``toward_end``, 40 panels geometric in ``end - t`` (each
    ``end - t`` range at most 1.7 times its start), for the interval models, whose density
    of ``end - t`` behaves as ``(end - t)^(nu - 1)`` near ``t = end``: equal panels lose up
    to 4% there when ``nu = 0.3`` (measured against the closed form), graded ones 2e-12.
    ``upper`` must then stay below ``end``.

    Examples
    --------
    >>> import numpy as np
    >>> w = integrate_censoring("EWI", lambda t: np.zeros((*t.shape, 4)), np.array([0.0]),
    ...                         np.array([1.0]), np.array([2.0]), np.array([1]))
    >>> round(float(w[0]), 6)  # integral of exp(-(2 - t)) over (0, 1]
    0.232544
    """
    lower, upper, end = (np.asarray(v, float) for v in (lower, upper, end))
    g = (_GL_X[None, :] + 1.0) / 2.0  # nodes on [0, 1] (1, 16)
    if toward_end:  # panel edges geometric in end - t, from end - lower down to end - upper
        s_hi = end - lower
        s_lo = np.maximum(end - upper, s_hi * 1e-12)
        frac = np.arange(_GRADED + 1) / _GRADED
        edges = s_hi[:, None] * (s_lo / s_hi)[:, None] ** frac[None, :]  # (n, panels + 1)
        left, width = edges[:, :-1], edges[:, 1:] - edges[:, :-1]  # width < 0: s decreases
        s_nodes = (left[:, :, None] + width[:, :, None] * g[None]).reshape(len(end), -1)
        t = end[:, None] - s_nodes
        wq = (-width[:, :, None] * _GL_W[None, None, :] / 2.0).reshape(len(end), -1)
        scale = 1.0
    else:
        u = (np.arange(_PANELS)[:, None] + g).ravel() / _PANELS
        wq = np.tile(_GL_W / 2.0, _PANELS)[None, :] / _PANELS
        t = lower[:, None] + (upper - lower)[:, None] * u[None, :]
        scale = upper - lower
    f = np.exp(censoring_loglik_elements(model, params_at(t), t, end[:, None],
                                         np.asarray(present)[:, None]))
    return (f * wq).sum(axis=1) * scale


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
    (log rho, log mu, logit pi, log nu), ``loglik``, ``aic`` (``2 * 4 - 2 * loglik``),
    ``max_abs_gradient`` (of the log-likelihood at the optimum, a convergence check), ``start``
    (the label of the starting point whose end point won, see :func:`fit_censoring_models`),
    ``starts`` (the log-likelihood reached from every starting point, by label) and ``ends``
    (the parameters reached from every starting point, by label).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([50.0, 51.0, 52.5, 60.0, 61.2, 55.0])
    >>> c = t + np.array([0.1, 2.0, 0.3, 1.5, 0.05, 3.0])
    >>> fit = censoring_fit("EWI", t, c, np.array([0, 1, 0, 1, 0, 1]))
    >>> fit.model, round(fit.loglik, 4), round(fit.aic, 4)
    ('EWI', -1.1723, 10.3446)
    >>> fit.start in fit.starts
    True
    """

    model: str
    params: np.ndarray
    loglik: float
    aic: float
    max_abs_gradient: float
    start: str = "initval"
    starts: dict[str, float] = field(default_factory=dict)
    ends: dict[str, np.ndarray] = field(default_factory=dict, repr=False)


def _objective(models: Sequence[str], event: np.ndarray, end: np.ndarray, present: np.ndarray,
               offsets: np.ndarray, owner_group: np.ndarray, owner_model: np.ndarray):
    """Negative log-likelihood ``fun(points, owner)`` and its derivatives
    ``derivs(points, owner) -> (gradient, Hessian)`` for :func:`_censoring.minimise`: the
    start ``owner`` fits model ``models[owner_model[owner]]`` to the cases
    ``offsets[g]:offsets[g + 1]`` of its data set ``g = owner_group[owner]``."""
    counts = np.diff(offsets)
    died = present == 0  # each data set's cases are sorted: ended early first
    n_died = np.add.reduceat(died.astype(np.int64), offsets[:-1]) if len(counts) else counts
    n_died = np.where(counts > 0, n_died, 0)
    blocks = ((True, offsets[:-1], n_died), (False, offsets[:-1] + n_died, counts - n_died))

    def parts(owner: np.ndarray):
        """(rows of the points, model, died?, point of each element, case of each element)
        in chunks of at most ``_censoring.chunks`` elements."""
        grp, mod = owner_group[owner], owner_model[owner]
        for mi in np.unique(mod):
            sel = np.flatnonzero(mod == mi)
            for part in _censoring.chunks(counts[grp[sel]]):
                s = sel[part]
                for is_died, first, n_all in blocks:
                    n = n_all[grp[s]]
                    point = np.repeat(np.arange(len(s)), n)
                    case = np.arange(n.sum()) + np.repeat(first[grp[s]] - (np.cumsum(n) - n), n)
                    yield s, models[mi], is_died, point, case

    def fun(points: np.ndarray, owner: np.ndarray) -> np.ndarray:
        out = np.zeros(len(points))
        with np.errstate(all="ignore"):
            for s, model, is_died, point, case in parts(owner):
                q = _Params.rows(points[s])  # constants per point, gathered per case
                ll = _branch(model, q.take(point), event[case], end[case], is_died)
                out[s] -= np.bincount(point, weights=ll, minlength=len(s))
        # trial points far out: inf/nan mean "worse"; so does a shape beyond _MAX_LOG_NU
        out[~np.isfinite(out) | (points[:, 3] > _MAX_LOG_NU)] = 1e300
        return out

    def derivs(points: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g, H = np.zeros((len(points), 4)), np.zeros((len(points), 4, 4))
        for s, model, is_died, point, case in parts(owner):
            _, gc, Hc = _censoring_grad.case_derivatives(model, points[s][point], event[case],
                                                         end[case], is_died)
            for j in range(4):
                g[s, j] -= np.bincount(point, weights=gc[:, j], minlength=len(s))
                for k in range(j, 4):
                    H[s, j, k] -= np.bincount(point, weights=Hc[:, j, k], minlength=len(s))
                    H[s, k, j] = H[s, j, k]
        return g, H

    return fun, derivs


def _fixed_starts(event: np.ndarray, end: np.ndarray, present: np.ndarray,
                  start: np.ndarray, age_model: bool) -> tuple[np.ndarray, np.ndarray]:
    """The starts ``"initval"``, ``"data"``, ``"exponential"`` of one data set (3, 4) and
    the centre of its grid (log rho, log mu) (see :func:`fit_censoring_models`)."""
    s = end - event
    died = present == 0
    s0 = s[died].mean() if died.any() else s.mean()
    s1 = s[~died].mean() if (~died).any() else s.mean()
    data = np.array([np.log(max(s0, 1e-3)), np.log(max(s1, 1e-3)), 0.0, 0.0])
    rho_mle = s.sum() / max(int(died.sum()), 1)  # exponential MLE of the time to the end
    expo = np.array([np.log(max(rho_mle, 1e-3)), data[1], 3.0, 0.0])
    mu = np.log(max(end.mean(), 1e-3)) if age_model else data[1]
    return np.vstack([start, data, expo]), np.array([data[0], mu, 0.0, 0.0])


def fit_censoring_models(
    event: np.ndarray, end: np.ndarray, present: np.ndarray, offsets: np.ndarray,
    start: Sequence[float] = (0.1, 0.1, 0.1, 0.1), models: Sequence[str] = CENSORING_MODELS,
) -> dict[str, list[CensoringFit]]:
    """Fit censoring models to one or many data sets at once, each from several starts.

    ``event``, ``end``, ``present`` hold the cases of all data sets one after the other; data
    set ``g`` is rows ``offsets[g]:offsets[g + 1]`` (one data set: ``offsets = [0, n]``); the
    order of a data set's rows does not matter (they are sorted first).
    Every (data set, model) is fitted by :func:`analysis.sccs._censoring.minimise` from the
    labelled starts ``"initval"`` (``start``, R's ``initval``), ``"data"``, ``"exponential"``,
    ``"grid1"``, ``"grid2"``, ``"grid3"`` (module :mod:`analysis.sccs._censoring`), then,
    when its sibling model (Weibull <-> gamma of the same form) is among ``models``, from
    the sibling's winner
    (label: the sibling's name). Every start first runs 15 iterations; then ``"initval"`` (R's
    path) and the ``_KEEP`` best other starts of each (data set, model) run to convergence
    (``_KEEP = 5``: all of them; following fewer lost optima, measured in
    ``benchmarks/README.md``). The best end point wins (ties go to the earlier start) and
    continues for up to 1,000 further iterations: where the likelihood's supremum lies at
    infinity along a curved ridge (e.g. EWA with log mu -> -infinity and nu -> 0), the walk
    is long. A data set's fits do not depend on the other data sets.

    Returns ``{model: [CensoringFit per data set]}``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([50.0, 51.0, 52.5, 60.0, 61.2, 55.0])
    >>> c = t + np.array([0.1, 2.0, 0.3, 1.5, 0.05, 3.0])
    >>> d = np.array([0, 1, 0, 1, 0, 1])
    >>> two = fit_censoring_models(np.r_[t, t], np.r_[c, c], np.r_[d, d], np.array([0, 6, 12]))
    >>> [round(f.loglik, 4) for f in two["EWI"]]
    [-1.1723, -1.1723]
    """
    models = list(models)
    event, end, present = (np.asarray(v, float) for v in (event, end, present))
    offsets = np.asarray(offsets, np.int64)
    # a canonical order of each data set's cases: the result does not depend on the row order
    set_of = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    order = np.lexsort((end, event, present, set_of))  # ended early first, then the others
    event, end, present = event[order], end[order], present[order]
    n_sets, n_mod = len(offsets) - 1, len(models)
    owner_group = np.repeat(np.arange(n_sets), n_mod)
    owner_model = np.tile(np.arange(n_mod), n_sets)
    fun, derivs = _objective(models, event, end, present, offsets, owner_group, owner_model)
    labels = ["initval", "data", "exponential", "grid1", "grid2", "grid3"]
    x0 = np.empty((n_sets * n_mod, len(labels), 4))
    centres = np.empty((n_sets * n_mod, 4))
    for o, (g, mi) in enumerate(zip(owner_group, owner_model, strict=True)):
        sl = slice(offsets[g], offsets[g + 1])
        x0[o, :3], centres[o] = _fixed_starts(event[sl], end[sl], present[sl],
                                              np.asarray(start, float), models[mi][2] == "A")
    grids = np.stack([_censoring.grid(c) for c in centres])  # (owners, 135, 4)
    n_grid = grids.shape[1]
    gv = fun(grids.reshape(-1, 4), np.repeat(np.arange(len(x0)), n_grid)).reshape(-1, n_grid)
    top = np.argsort(gv, axis=1, kind="stable")[:, :3]
    x0[:, 3:] = np.take_along_axis(grids, top[:, :, None], axis=1)
    n_st = len(labels)
    # every start runs a few iterations; the two best of each (data set, model) go on
    scout = _censoring.minimise(lambda p, o: fun(p, o // n_st), x0.reshape(-1, 4),
                                max_iter=_SCOUT_ITER, derivs=lambda p, o: derivs(p, o // n_st))
    x = scout.x.reshape(-1, n_st, 4)
    f = scout.f.reshape(-1, n_st)
    go_on = np.c_[np.zeros(len(f), np.int64),
                  1 + np.argsort(f[:, 1:], axis=1, kind="stable")[:, :_KEEP]]
    rows = np.repeat(np.arange(len(x)), go_on.shape[1])
    cols = go_on.ravel()
    opt = _censoring.minimise(lambda p, o: fun(p, rows[o]), x[rows, cols],
                              derivs=lambda p, o: derivs(p, rows[o]))
    x[rows, cols], f[rows, cols] = opt.x, opt.f
    rounds_x, rounds_f, all_labels = [x], [f], list(labels)
    sib = [models.index(_censoring.sibling(m)) if _censoring.sibling(m) in models else -1
           for m in models]
    if max(sib) >= 0:
        win = x[np.arange(len(x)), np.argmin(f, axis=1)]
        seed_owner = owner_group * n_mod + np.array(sib)[owner_model]
        has = np.array(sib)[owner_model] >= 0
        x2 = np.where(has[:, None], win[np.maximum(seed_owner, 0)], x0[:, 0])
        opt2 = _censoring.minimise(fun, x2, derivs=derivs)
        f2 = np.where(has, opt2.f, np.inf)
        rounds_x.append(opt2.x[:, None, :])
        rounds_f.append(f2[:, None])
        all_labels.append("sibling")
    X = np.concatenate(rounds_x, axis=1)
    Fv = np.concatenate(rounds_f, axis=1)
    best = np.argmin(Fv, axis=1)
    # the winner goes on (a long walk where the optimum is at infinity along a ridge)
    # (on finite differences: their step-1e-4 curvature walks a curved ridge in tens of
    # iterations where the exact one takes hundreds; measured on nrtdat's EWA, 16 against 474)
    polish = _censoring.minimise(fun, X[np.arange(len(X)), best], max_iter=_POLISH_ITER)
    Fv[np.arange(len(X)), best] = polish.f
    xb = polish.x
    grad = _censoring.central_gradient(fun, xb, np.arange(len(xb)))
    out: dict[str, list[CensoringFit]] = {m: [] for m in models}
    for o in range(len(xb)):
        m = models[owner_model[o]]
        names = [sibling_name if lab == "sibling" else lab for lab in all_labels
                 for sibling_name in [_censoring.sibling(m)]]
        fin = [k for k, v in enumerate(Fv[o]) if np.isfinite(v) and v < 1e300]
        reached = {names[k]: -float(Fv[o, k]) for k in fin}
        ends = {names[k]: (xb[o] if k == best[o] else X[o, k]).copy() for k in fin}
        ll = -float(Fv[o, best[o]])
        out[m].append(CensoringFit(m, xb[o].copy(), ll, 2 * 4 - 2 * ll,
                                   float(np.abs(grad[o]).max()), names[best[o]], reached, ends))
    return out


def censoring_fit(model: str, event: np.ndarray, end: np.ndarray, present: np.ndarray,
                  start: Sequence[float] = (0.1, 0.1, 0.1, 0.1)) -> CensoringFit:
    """Maximum likelihood fit of one censoring model (see the module docstring).

    Multi-start damped Newton (:func:`fit_censoring_models`, without the sibling round):
    the best of the starts ``"initval"`` (``start``), ``"data"``, ``"exponential"``,
    ``"grid1"``, ``"grid2"``, ``"grid3"``; ``.start`` says which won.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([50.0, 51.0, 52.5, 60.0, 61.2, 55.0])
    >>> c = t + np.array([0.1, 2.0, 0.3, 1.5, 0.05, 3.0])
    >>> fit = censoring_fit("EWI", t, c, np.array([0, 1, 0, 1, 0, 1]))
    >>> fit.max_abs_gradient < 1e-4
    True
    """
    if model not in CENSORING_MODELS:
        raise EventDepObservationError(f"unknown censoring model {model!r}")
    return fit_censoring_models(event, end, present, np.array([0, len(event)]), start,
                                (model,))[model][0]


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
    ``params`` is one vector (4,) or one per interval (n, 4).

    Examples
    --------
    >>> import numpy as np
    >>> w = interval_weights("EWI", [0.0, 0.0, 0.0, 0.0], np.array([0.0, 1.0]),
    ...                      np.array([1.0, 2.0]), np.array([2.0, 2.0]), np.array([1, 1]))
    >>> np.round(w, 6).tolist()  # integral of exp(-(2 - t)) over (0, 1] and (1, 2]
    [0.232544, 0.632121]
    """
    params = np.asarray(params, dtype=float)
    q = _Params.rows(params) if params.ndim == 2 else _Params.of(params)
    lower, upper, end = (np.asarray(v, float) for v in (lower, upper, end))
    present = np.asarray(present)
    s1, s2 = end - lower, np.maximum(end - upper, 0.0)  # s1 >= s2
    la, lb, nu, pi = q.lam_a, q.lam_b, q.nu, q.pi
    exp_part = _diff_exp(la * s2, la * s1)
    with np.errstate(all="ignore"):  # int exp(-la s) ds over [s2, s1]; la -> 0 (rho -> inf)
        exp_int = np.where(la * (s1 - s2) > 1e-12, exp_part / la, np.exp(-la * s2) * (s1 - s2))
    if model == "EWI":
        with np.errstate(over="ignore"):
            x1, x2 = (s1 * lb) ** nu, (s2 * lb) ** nu
        sf = special.gamma(1.0 + 1.0 / nu) / lb * _diff_p(1.0 / nu, x1, x2)
        w1 = pi * exp_int + (1.0 - pi) * sf
        w0 = pi * exp_part + (1.0 - pi) * _diff_exp(x2, x1)
        return np.where(present == 1, w1, w0)
    if model == "EGI":
        a, r = nu, nu * lb

        def big_f(s: np.ndarray) -> np.ndarray:
            return s * special.gammaincc(a, r * s) + a / r * special.gammainc(a + 1.0, r * s)

        w1 = pi * exp_int + (1.0 - pi) * (big_f(s1) - big_f(s2))
        w0 = pi * exp_part + (1.0 - pi) * _diff_p(a, r * s1, r * s2)
        return np.where(present == 1, w1, w0)
    if model not in ("EWA", "EGA"):
        raise EventDepObservationError(f"unknown censoring model {model!r}")
    per_interval = params[:, None, :] if params.ndim == 2 else params
    return integrate_censoring(model, lambda t: np.broadcast_to(per_interval, (*t.shape, 4)),
                               lower, upper, end, present)


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
    censoring: tuple[str, Sequence[float]] | None = None,
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
    censoring:
        ``None`` (the weights come from the censoring model with the smallest AIC, at its
        fitted optimum) or ``(model, params)``: the weights come from this censoring model at
        these parameters (log rho, log mu, logit pi, log nu), e.g. another local optimum
        (``res.censoring[m].ends``) or a sensitivity analysis; ``modelfit`` is still the four
        fits, ``chosen`` is ``model``.
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
    Loglik  -71.51  -71.09  -71.52  -71.04
    AIC     151.02  150.19  151.04  150.09
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
    cens = {m: f[0] for m, f in fit_censoring_models(t, c, present, np.array([0, len(t)]),
                                                     start).items()}
    modelfit = pd.DataFrame({m: [f.loglik, f.aic] for m, f in cens.items()},
                            index=["Loglik", "AIC"])
    chosen = min(CENSORING_MODELS, key=lambda m: cens[m].aic)
    weight_params = cens[chosen].params
    if censoring is not None:
        chosen, weight_params = censoring[0], np.asarray(censoring[1], float)
        if chosen not in CENSORING_MODELS or weight_params.shape != (4,):
            raise EventDepObservationError(
                f"censoring must be (model, 4 parameters) with model one of "
                f"{list(CENSORING_MODELS)}, got {censoring!r}")
    iv = build_intervals(obs[["id", "start", "end"]], ev, exposures, covariates)
    iv_end = iv["id"].map(info["end"]).to_numpy(float) / days_per_year
    iv_present = 1 - iv["id"].map(info["censored"]).to_numpy()
    first = iv["start"].to_numpy(float)
    if integrate_from == "cut":  # day d covers (d - 1, d]; day 0, an age, starts at 0
        first = np.maximum(first - 1.0, 0.0)
    w = interval_weights(chosen, weight_params, first / days_per_year,
                         iv["end"].to_numpy() / days_per_year, iv_end, iv_present)
    if not np.isfinite(w).all():
        raise EventDepObservationError(
            f"censoring model {chosen} gives non-finite interval weights (parameters "
            f"{np.round(weight_params, 4).tolist()}): the data do not determine it")
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
