"""OHDSI's ``fitSccsModel`` (``R/ModelFitting.R``) with the library's conditional Poisson.

Every covariate with data (a non-zero column) is fitted by :class:`analysis.sccs.SCCS` without
a prior (covariates with ``allow_regularization`` are fitted under Cyclops' prior by
:mod:`analysis.omop.fit_prior` instead).
As Cyclops' ``confint`` does for OHDSI, the 95% confidence intervals are profile-likelihood
intervals (:meth:`~analysis.sccs.SCCSResults.conf_int` with ``method="profile"``);
``se_log_rr = (log_ub - log_lb) / (2 * 1.96)`` and ``llr`` = log-likelihood at the estimate
minus the profile log-likelihood at 0, as OHDSI. For covariates with ``profile_likelihood``, the
profile log-likelihood is evaluated on ``profile_grid``, or on 41 evenly spaced points of
``profile_bounds`` (Cyclops chooses its points adaptively; the curve is the same function).
A covariate whose column is 0 everywhere has no estimate (as a covariate absent from Cyclops' data).
An estimate at the boundary (no event, or every event, in the covariate's days) is -inf or +inf
with a one-sided interval (Cyclops reports a large finite value there).

Examples
--------
>>> import pandas as pd
>>> iv = pd.DataFrame({"case_id": [1, 1, 2, 2], "cov_1000": [0, 1, 0, 1],
...                    "days": [100, 50, 80, 40], "events": [1, 2, 2, 1]})
>>> m = fit_sccs_model(iv, ["cov_1000"], [], None)
>>> m.status, round(float(m.estimates.loc[1000, "log_rr"]), 3)
('OK', 0.693)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtri

from analysis.omop.spec import FitSccsModelArgs
from analysis.sccs import SCCS, SCCSError, SCCSWarning
from analysis.sccs.profile import profile_conf_int, profile_loglik

__all__ = ["SccsModel", "fit_sccs_model", "no_model"]

_Z = float(ndtri(0.975))  # the normal 97.5% quantile


@dataclass(frozen=True)
class SccsModel:
    """A fitted model: OHDSI's ``SccsModel`` (``estimates``, ``log_likelihood``, ``status``).

    Attributes
    ----------
    estimates : DataFrame
        Indexed by covariate id: ``log_rr, log_lb95, log_ub95, se_log_rr, llr``.
    log_likelihood : float
        On the library's scale (R's clogit convention).
    profiles : dict
        ``{covariate id: DataFrame(log_rr, log_likelihood)}``.
    status : str
        ``"OK"`` or why there is no estimate.
    prior_variance : float
        The variance of the prior (OHDSI's ``priorVariance``; 0 without regularisation, see
        :mod:`analysis.omop.fit_prior`).
    """

    estimates: pd.DataFrame
    log_likelihood: float = math.nan
    profiles: dict[int, pd.DataFrame] = field(default_factory=dict)
    status: str = "OK"
    prior_variance: float = 0.0


_EMPTY = pd.DataFrame(columns=["log_rr", "log_lb95", "log_ub95", "se_log_rr", "llr"],
                      index=pd.Index([], name="covariate_id", dtype=np.int64), dtype=float)


def no_model(status: str) -> SccsModel:
    """A model without estimates, with the reason (OHDSI's ``status``).

    Examples
    --------
    >>> no_model("Error: No cases left").estimates.empty
    True
    """
    return SccsModel(_EMPTY, status=status)


def _grid(args: FitSccsModelArgs | None) -> np.ndarray:
    if args is not None and args.profile_grid is not None:
        return np.asarray(args.profile_grid, dtype=float)
    lo, hi = (math.log(0.1), math.log(10)) if args is None or args.profile_bounds is None else (
        args.profile_bounds)
    return np.linspace(lo, hi, 41)


def fit_sccs_model(intervals: pd.DataFrame, terms: list[str], profile_ids: list[int],
                   args: FitSccsModelArgs | None, no_ci: set[int] | None = None,
                   reference: set[int] | None = None) -> SccsModel:
    """Fit the interval data (see the module docstring).

    Parameters
    ----------
    intervals :
        ``case_id``, the ``cov_<id>`` terms, ``days``, ``events``.
    terms :
        The covariate columns.
    profile_ids :
        Covariate ids whose likelihood profile is wanted.
    args :
        The fit settings (profile grid/bounds).
    no_ci :
        Covariate ids without confidence interval and ``llr`` (OHDSI: spline components unless
        ``compute_confidence_intervals``).
    reference :
        Covariate ids held at log RR 0 (not fitted): the last season component, since the
        cyclic basis sums to 1 in every month, which each case's own baseline already is
        (Cyclops' coordinate descent returns one of the equivalent solutions; this is another,
        with the same fitted rates).

    Returns
    -------
    SccsModel
    """
    fixed = {f"cov_{c}" for c in (reference or set())}
    used = [t for t in terms if intervals[t].to_numpy().any() and t not in fixed]
    if intervals.empty or int(intervals["events"].sum()) == 0 or not used:
        return no_model("Could not estimate because there was no data")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SCCSWarning)
            res = SCCS().fit(intervals, used, id_col="case_id")
            skip = {f"cov_{c}" for c in (no_ci or set())}
            # only the terms whose interval OHDSI computes (not the spline components)
            ci = profile_conf_int(res, terms=[t for t in used if t not in skip]).reindex(used)
    except SCCSError as exc:
        return no_model(f"Error: {exc}")
    ll0 = {t: float(profile_loglik(res, t, [0.0])[0])
           if np.isfinite(res.params[t]) and t not in skip else math.nan for t in used}
    est = pd.DataFrame({
        "log_rr": res.params[used].to_numpy(dtype=float),
        "log_lb95": ci.loc[used, "lower"].to_numpy(dtype=float),
        "log_ub95": ci.loc[used, "upper"].to_numpy(dtype=float),
        "llr": [res.loglik - ll0[t] for t in used],
    }, index=pd.Index([int(t[4:]) for t in used], name="covariate_id"))
    est["se_log_rr"] = (est["log_ub95"] - est["log_lb95"]) / (2 * _Z)
    held = sorted(int(t[4:]) for t in fixed if t in terms)
    est = est[_EMPTY.columns]
    if held:
        est = pd.concat([est, pd.DataFrame({c: 0.0 if c == "log_rr" else math.nan
                                            for c in _EMPTY.columns},
                                           index=pd.Index(held, name="covariate_id"))])
    est = est.sort_index()
    grid = _grid(args)
    profiles = {cid: pd.DataFrame({"log_rr": grid,
                                   "log_likelihood": profile_loglik(res, f"cov_{cid}", grid)})
                for cid in profile_ids
                if f"cov_{cid}" in used and np.isfinite(res.params[f"cov_{cid}"])}
    return SccsModel(est, float(res.loglik), profiles)
