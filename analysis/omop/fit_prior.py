"""OHDSI's ``fitSccsModel`` when covariates allow regularisation: the library's prior fit.

OHDSI (``R/ModelFitting.R``) fits the model with Cyclops' prior when any covariate setting says
``allowRegularization``; the prior's ``exclude`` is every other covariate (exposures of
interest, covariates that do not allow regularisation, the end-of-observation covariate 99).
Here the fit is :func:`analysis.sccs.regularized.fit_regularized` with the analysis'
``fit_sccs_model_args.prior`` and ``control`` (:mod:`analysis.omop.spec`), and the estimates
follow OHDSI's rules:

* a regularised covariate has no confidence interval, standard error or ``llr``, and is left out
  of the estimates when its estimate is exactly 0 and its id is 1000 or more (an era covariate;
  the splines, ids 100-399, are kept);
* the other covariates (those OHDSI computes an interval for) get profile-likelihood 95%
  intervals of the penalised log-likelihood (Cyclops' ``confint(includePenalty = TRUE)``): the
  log-likelihood maximised over every other coefficient, the prior variance held at the chosen
  one, with the covariate fixed (:meth:`analysis.sccs.regularized.RegularizedFit.profile` and
  ``profile_conf_int``), ``se_log_rr = (ub - lb) / (2 x 1.96)``, and ``llr`` the maximum minus
  that profile at 0; likelihood profiles (``profile_likelihood``) are the same function on the
  profile grid;
* ``prior_variance`` is the variance used (cross-validated when asked).

Examples
--------
>>> import numpy as np, pandas as pd
>>> from analysis.omop.spec import FitSccsModelArgs
>>> rng = np.random.default_rng(1)
>>> n = 60
>>> iv = pd.DataFrame({"case_id": np.repeat(np.arange(n), 3), "days": 60.0,
...                    "cov_1000": np.tile([1.0, 0, 0], n),
...                    "cov_1001": np.tile([0.0, 1, 0], n)})
>>> iv["events"] = rng.poisson(np.where(iv["cov_1000"] == 1, 0.5, 0.25))
>>> m = fit_with_prior(iv, ["cov_1000", "cov_1001"], {1001}, [], FitSccsModelArgs(), set(),
...                    set())
>>> m.status, 1001 in m.estimates.index, m.prior_variance > 0    # 1001 shrunk to exactly 0
('OK', False, True)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

import pandas as pd

from analysis.omop.design import IntervalData
from analysis.omop.fit import _EMPTY, SccsModel, _grid, no_model
from analysis.omop.spec import FitSccsModelArgs, IntervalDataArgs
from analysis.omop.time_effects import AGE_ID, CALENDAR_ID, SEASON_ID
from analysis.sccs import SCCSError, SCCSWarning
from analysis.sccs._stats import normal_quantile
from analysis.sccs.regularized import RegularizedFit, fit_regularized

__all__ = ["fit_with_prior", "regularized_ids"]

_Z = normal_quantile(0.975)


def regularized_ids(data: IntervalData, args: IntervalDataArgs) -> set[int]:
    """Covariate ids whose settings allow regularisation: era covariates with
    ``allow_regularization`` and the components of a spline whose settings say so.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from analysis.omop.spec import EraCovariateSettings, IntervalDataArgs, SplineSettings
    >>> era = EraCovariateSettings(include_era_ids=(5,), allow_regularization=True)
    >>> data = SimpleNamespace(settings=[(era, [1000, 1001], [5, 5])],
    ...                        time_effects=SimpleNamespace(ci={200: False, 201: False}))
    >>> args = IntervalDataArgs("SCCS", (era,), season=SplineSettings(allow_regularization=True))
    >>> sorted(regularized_ids(data, args))
    [200, 201, 1000, 1001]
    """
    out = {c for s, ids, _ in data.settings if s.allow_regularization for c in ids}
    for base, spline in ((AGE_ID, args.age), (SEASON_ID, args.season),
                         (CALENDAR_ID, args.calendar_time)):
        if spline is not None and spline.allow_regularization:
            out |= {c for c in data.time_effects.ci if base <= c < base + 100}
    return out


def fit_with_prior(intervals: pd.DataFrame, terms: list[str], regularized: set[int],
                   profile_ids: list[int], args: FitSccsModelArgs, no_ci: set[int],
                   reference: set[int]) -> SccsModel:
    """Fit with the prior on the ``regularized`` covariate ids (see the module docstring).

    The arguments are those of :func:`analysis.omop.fit.fit_sccs_model`, plus ``regularized``;
    ``args.prior`` must not be None (``prior_type: none`` fits without a prior there).

    Examples
    --------
    A normal prior (a ridge) on covariate 1001 keeps it, without an interval:

    >>> import pandas as pd
    >>> from analysis.omop.spec import FitSccsModelArgs
    >>> from analysis.sccs.regularized import Prior
    >>> iv = pd.DataFrame({"case_id": [1, 1, 1, 2, 2, 2], "cov_1000": [1, 0, 0, 1, 0, 0],
    ...                    "cov_1001": [0, 1, 0, 0, 1, 0], "days": 30,
    ...                    "events": [2, 1, 0, 1, 1, 1]})
    >>> m = fit_with_prior(iv, ["cov_1000", "cov_1001"], {1001}, [],
    ...                    FitSccsModelArgs(prior=Prior("normal", variance=0.5)), set(), set())
    >>> m.estimates[["log_lb95", "log_ub95"]].isna().all(axis=1).tolist()
    [False, True]
    """
    fixed = {f"cov_{c}" for c in reference}
    used = [t for t in terms if intervals[t].to_numpy().any() and t not in fixed]
    if intervals.empty or int(intervals["events"].sum()) == 0 or not used:
        return no_model("Could not estimate because there was no data")
    penalised = [t for t in used if int(t[4:]) in regularized]
    prior = replace(args.prior, exclude=tuple(t for t in used if t not in penalised))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SCCSWarning)
            fit = fit_regularized(intervals, used, prior, args.control, id_col="case_id")
            need_ci = [t for t in used if t not in penalised and int(t[4:]) not in no_ci
                       and t not in fit.aliased]
            est = _estimates(fit, used, need_ci)
            grid = _grid(args)
            profiles = {cid: pd.DataFrame({"log_rr": grid,
                                           "log_likelihood": fit.profile(f"cov_{cid}", grid)})
                        for cid in profile_ids if f"cov_{cid}" in used
                        and f"cov_{cid}" not in penalised and f"cov_{cid}" not in fit.aliased}
    except SCCSError as exc:
        return no_model(f"Error: {exc}")
    held = sorted(int(t[4:]) for t in fixed if t in terms)
    if held:
        est = pd.concat([est, pd.DataFrame({c: 0.0 if c == "log_rr" else math.nan
                                            for c in _EMPTY.columns},
                                           index=pd.Index(held, name="covariate_id"))])
    return SccsModel(est.sort_index(), float(fit.loglik), profiles, prior_variance=fit.variance)


def _estimates(fit: RegularizedFit, used: list[str], need_ci: list[str]) -> pd.DataFrame:
    """OHDSI's estimates table: intervals and llr of ``need_ci``; zero regularised era
    covariates dropped."""
    limits = fit.profile_conf_int(need_ci, alpha=0.05)
    ci = {t: (limits.loc[t, "lower"], limits.loc[t, "upper"]) for t in need_ci}
    llr = {t: fit.objective - float(fit.profile(t, [0.0])[0]) for t in need_ci}
    est = pd.DataFrame({
        "log_rr": fit.params[used].to_numpy(dtype=float),
        "log_lb95": [ci.get(t, (math.nan, math.nan))[0] for t in used],
        "log_ub95": [ci.get(t, (math.nan, math.nan))[1] for t in used],
        "llr": [llr.get(t, math.nan) for t in used],
    }, index=pd.Index([int(t[4:]) for t in used], name="covariate_id"))
    est["se_log_rr"] = (est["log_ub95"] - est["log_lb95"]) / (2 * _Z)
    drop = (est["log_rr"] == 0.0) & est["se_log_rr"].isna() & (est.index >= 1000)
    return est.loc[~drop, _EMPTY.columns]
