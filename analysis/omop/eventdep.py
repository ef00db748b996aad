"""OHDSI's event-dependent observation periods: censoring models on the cases, interval weights.

With ``event_dependent_observation: true`` (SCCS design), OHDSI SelfControlledCaseSeries 6.0.0
(``R/SccsDataConversion.R`` ``addEventDependentObservationSettings``, ``R/EventDepObservation.R``
``fitModelsAndPickBest``, ``src/SccsConverter.cpp`` ``computeEventDepObsWeights``,
``src/WeightFunctions.cpp``) replaces each interval's length by a weight (Farrington et al. 2011):

1. **Data**: per case of the study population, its first outcome; in days,
   ``astart = age_at_obs_start + start_day``, ``aend = age_at_obs_start + end_day + 1``,
   ``aevent = age_at_obs_start + outcome_day + 1``, ``present`` = the observation period ended as
   planned (``noninformative_end_censor``); times in years (days / 365.25).
2. **Models**: the four mixtures of an exponential with a Weibull or gamma distribution of the age
   at the end of observation ("age": Weibull-Age, Gamma-Age, models 1 and 3) or of the interval
   since the event ("interval": Weibull-Interval, Gamma-Interval, 2 and 4), the likelihoods of
   :func:`analysis.sccs.eventdep_observation.censoring_loglik_elements` (one implementation
   with the library's R SCCS models). **OHDSI's parameterisation differs from R SCCS 1.7's**:
   seven parameters, not four, and no covariates: ``log rho = p1``,
   ``log mu = p2 + p3 z``, ``logit pi = p4 + p5 t``, ``log nu = p6 + p7 z``, with ``t`` the event
   age and ``z = log(astart)`` (age models) or ``log(t)`` (interval models).
3. **Fit and choice**: each model from OHDSI's one start (0.1 x 7) by a quasi-Newton method
   (scipy's BFGS in place of R's ``nlm``; R SCCS-style multiple starts are not used, as OHDSI);
   ``aic = 2 * 7 - 2 loglik``; a model that cannot be fitted gets AIC 999999999 and a warning;
   the smallest AIC wins, the first of equal ones (OHDSI; the library's R SCCS path compares the
   same AICs).
4. **Weights**: each interval of days ``[a, b]`` of a case gets the integral over the event age
   ``t`` from ``(age + a) / 365.25`` to ``(age + b + 1) / 365.25 - 1e-7`` of the chosen model's
   likelihood of the case's end of observation, times 365.25, where ``age`` is the age at
   observation start and the age models' ``z`` is ``log(age / 365.25)`` (OHDSI's converter, which
   differs from the fit's ``astart`` above). OHDSI integrates by adaptive Simpson (relative
   tolerance 1.5e-8); here composite Gauss-Legendre quadrature
   (:func:`analysis.sccs.eventdep_observation.integrate_censoring`), with panels graded toward
   the end of observation for the interval models (their integrand is singular there).
   A case with a weight that is not finite is removed with a warning, as OHDSI; OHDSI's
   constant-weight approximation of a tail where the weight function is not computable is not
   reproduced (those cases are removed too).

When the chosen model is an age model and the analysis has an age spline, the age spline is
dropped with a warning, as OHDSI ("Optimal censoring model adjusts for age").

Examples
--------
>>> import numpy as np
>>> p = np.zeros(7)
>>> params_at(2, p, np.array([20.0]), np.array([[21.0, 22.0]])).shape  # 2 nodes, 4 parameters
(1, 2, 4)
>>> CENSOR_MODEL_TYPES[2]
'Weibull-Interval'
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize

from analysis.sccs import SCCSWarning
from analysis.sccs.eventdep_observation import censoring_loglik_elements, integrate_censoring

__all__ = ["CENSOR_MODEL_TYPES", "CensorModel", "censor_model_data", "fit_censor_model",
           "params_at", "segment_weights"]

#: OHDSI's model numbers and their ``model_type`` in ``sccs_censor_model``.
CENSOR_MODEL_TYPES = {1: "Weibull-Age", 2: "Weibull-Interval", 3: "Gamma-Age",
                      4: "Gamma-Interval"}
_LIBRARY_NAME = {1: "EWA", 2: "EWI", 3: "EGA", 4: "EGI"}
_FAILED_AIC = 999999999.0
_N_PARAMS = 7
_YEAR = 365.25
_END_EPSILON = 1e-7  # OHDSI's converter ends an interval's integral this far before its end


@dataclass(frozen=True)
class CensorModel:
    """The chosen censoring model: OHDSI's ``censorModel`` (``model`` 1-4, ``p``, ``aic``), and
    the AIC of each model (``aics``).

    Examples
    --------
    >>> CensorModel(4, np.zeros(7), 10.0).model_type
    'Gamma-Interval'
    """

    model: int
    p: np.ndarray
    aic: float
    aics: dict[int, float] = field(default_factory=dict)

    @property
    def model_type(self) -> str:
        """OHDSI's name of the model (``sccs_censor_model.model_type``)."""
        return CENSOR_MODEL_TYPES[self.model]


def censor_model_data(cases: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Step 1 of the module docstring: ``case_id, astart, aend, aevent, present`` (days).

    Examples
    --------
    >>> cases = pd.DataFrame({"case_id": [1], "age_at_obs_start": [7000], "start_day": [10],
    ...                       "end_day": [99], "noninformative_end_censor": [0]})
    >>> censor_model_data(cases, pd.DataFrame({"case_id": [1, 1], "outcome_day": [50, 20]}))
       case_id  astart  aend  aevent  present
    0        1    7010  7100    7021        0
    """
    first = outcomes.groupby("case_id", as_index=False)["outcome_day"].min()
    c = first.merge(cases, on="case_id", how="inner").sort_values("case_id", kind="stable")
    age = c["age_at_obs_start"].to_numpy(dtype=np.int64)
    return pd.DataFrame({
        "case_id": c["case_id"].to_numpy(),
        "astart": age + c["start_day"].to_numpy(dtype=np.int64),
        "aend": age + c["end_day"].to_numpy(dtype=np.int64) + 1,
        "aevent": age + c["outcome_day"].to_numpy(dtype=np.int64) + 1,
        "present": (c["noninformative_end_censor"].to_numpy() == 1).astype(np.int64)})


def params_at(model: int, p: np.ndarray, astart: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The library's four parameters (log rho, log mu, logit pi, log nu) of OHDSI's model
    ``model`` (1-4) at parameters ``p`` (7,), for start ages ``astart`` and event ages ``t``
    (years, broadcast together): shape (..., 4).

    Examples
    --------
    >>> p = np.array([1.0, 2.0, 0.5, 0.0, 0.1, 0.3, 0.0])
    >>> params_at(2, p, np.array([30.0]), np.array([np.e])).round(3).tolist()  # z = log t = 1
    [[1.0, 2.5, 0.272, 0.3]]
    """
    astart, t = np.broadcast_arrays(np.asarray(astart, float), np.asarray(t, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log(astart) if model in (1, 3) else np.log(t)
    return np.stack([np.full(t.shape, p[0]), p[1] + p[2] * z, p[3] + p[4] * t, p[5] + p[6] * z],
                    axis=-1)


def _minus_two_loglik(model: int, p: np.ndarray, d: dict[str, np.ndarray]) -> float:
    ll = censoring_loglik_elements(_LIBRARY_NAME[model], params_at(model, p, d["astart"],
                                                                   d["aevent"]),
                                   d["aevent"], d["aend"], d["present"])
    value = -2.0 * float(ll.sum())
    return value if math.isfinite(value) else 1e300


def _fit_one(model: int, d: dict[str, np.ndarray]) -> tuple[np.ndarray, float]:
    """(parameters, AIC) of one model from OHDSI's start; AIC 999999999 when it fails."""
    start = np.full(_N_PARAMS, 0.1)
    if _minus_two_loglik(model, start, d) >= 1e300:
        return np.zeros(_N_PARAMS), _FAILED_AIC
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        res = optimize.minimize(lambda x: _minus_two_loglik(model, x, d), start, method="BFGS",
                                options={"maxiter": 1000, "gtol": 1e-6})
    if not (np.isfinite(res.x).all() and res.fun < 1e300):
        return np.zeros(_N_PARAMS), _FAILED_AIC
    return np.asarray(res.x, float), 2.0 * _N_PARAMS + float(res.fun)


def fit_censor_model(cases: pd.DataFrame, outcomes: pd.DataFrame) -> CensorModel:
    """Steps 1-3 of the module docstring: fit the four models on the cases, pick the best.

    Parameters
    ----------
    cases, outcomes :
        A study population's ``cases`` (``case_id, age_at_obs_start, start_day, end_day,
        noninformative_end_censor``) and ``outcomes`` (``case_id, outcome_day``).

    Returns
    -------
    CensorModel

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> n = 40
    >>> cases = pd.DataFrame({"case_id": range(n), "age_at_obs_start": 20_000, "start_day": 0,
    ...                       "end_day": rng.integers(400, 3000, n),
    ...                       "noninformative_end_censor": rng.integers(0, 2, n)})
    >>> outcomes = pd.DataFrame({"case_id": range(n), "outcome_day": rng.integers(0, 399, n)})
    >>> m = fit_censor_model(cases, outcomes)
    >>> m.model in (1, 2, 3, 4), m.aic == min(m.aics.values()), m.p.shape
    (True, True, (7,))
    """
    data = censor_model_data(cases, outcomes)
    d = {k: data[k].to_numpy(dtype=float) / _YEAR for k in ("astart", "aend", "aevent")}
    d["present"] = data["present"].to_numpy()
    fits = {m: _fit_one(m, d) for m in (1, 2, 3, 4)}
    for m, (_, aic) in fits.items():
        if aic == _FAILED_AIC:
            name = CENSOR_MODEL_TYPES[m].replace("-", " (")
            warnings.warn(f"Could not fit exponential - {name}) mixture model", SCCSWarning,
                          stacklevel=2)
    aics = {m: aic for m, (_, aic) in fits.items()}
    best = min(aics, key=lambda m: (aics[m], m))
    return CensorModel(best, fits[best][0], aics[best], aics)


def segment_weights(censor: CensorModel, cases: pd.DataFrame, seg: pd.DataFrame) -> np.ndarray:
    """Step 4 of the module docstring: the weight of each segment (``case_id, seg_start,
    seg_end``, days of the observation period), in days; NaN where it is not computable.

    Examples
    --------
    A pure exponential (``pi`` = 1) with a mean of 1 year, for a case that ended as planned:
    the weight of an interval is ``365.25 * integral of exp(-(end - t))``, most near the end.

    >>> cases = pd.DataFrame({"case_id": [1], "age_at_obs_start": [7305], "end_day": [729],
    ...                       "noninformative_end_censor": [1]})
    >>> seg = pd.DataFrame({"case_id": [1, 1], "seg_start": [0, 365], "seg_end": [364, 729]})
    >>> m = CensorModel(2, np.array([0.0, 0.0, 0.0, 50.0, 0.0, 0.0, 0.0]), 0.0)
    >>> segment_weights(m, cases, seg).round(1).tolist()
    [85.0, 230.8]
    """
    c = cases.set_index("case_id").loc[seg["case_id"].to_numpy()]
    age = c["age_at_obs_start"].to_numpy(dtype=float)
    astart = age / _YEAR
    aend = (age + c["end_day"].to_numpy(dtype=float) + 1.0) / _YEAR
    present = (c["noninformative_end_censor"].to_numpy() == 1).astype(np.int64)
    lower = (age + seg["seg_start"].to_numpy(dtype=float)) / _YEAR
    upper = (age + seg["seg_end"].to_numpy(dtype=float) + 1.0) / _YEAR - _END_EPSILON
    with np.errstate(all="ignore"):
        w = integrate_censoring(_LIBRARY_NAME[censor.model],
                                lambda t: params_at(censor.model, censor.p, astart[:, None], t),
                                lower, upper, aend, present,
                                toward_end=censor.model in (2, 4)) * _YEAR
    return np.where(np.isfinite(w), w, np.nan)
