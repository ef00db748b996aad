"""R's ``semisccs``, ``eventdepenexp``, ``eventdepenobs`` and ``samplesize``: R's arguments
translated for the library's extensions (:mod:`analysis.sccs.semiparametric`,
:mod:`analysis.sccs.eventdep_exposure`, :mod:`analysis.sccs.eventdep_observation`,
:mod:`analysis.sccs.power`).

Private to :mod:`analysis.sccs.r`, which re-exports the public functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.sccs.r._args import RError, age_cuts, column, inputs, number, where, whole_numbers
from analysis.sccs.r._args import days as day_values
from analysis.sccs.r._formula import design, variables
from analysis.sccs.r._result import RFit
from analysis.sccs.r._standard import _covariates, _exposure_names, fit_design, formatdata
from analysis.sccs.results import wald_table


def _top_level_colon(name: str) -> bool:
    """Is ``name`` an interaction column (``a1:b2``; a colon outside parentheses)?"""
    depth = 0
    for ch in name:
        depth += (ch == "(") - (ch == ")")
        if ch == ":" and depth == 0:
            return True
    return False


def semisccs(formula: str, indiv: Any, astart: Any, aend: Any, aevent: Any, adrug: Any,
             aedrug: Any, expogrp: Any = None, washout: Any = None, sameexpopar: Any = None,
             dataformat: str = "stack", *, data: pd.DataFrame, pairing: str = "r") -> RFit:
    """R's ``semisccs``: the semiparametric SCCS model (Farrington & Whitaker 2006), the age
    effect a free step at every distinct event age (R's ``factor(age)`` terms).

    Arguments as :func:`standardsccs` (no ``agegrp``: age is the semiparametric part). The
    fit is :func:`analysis.sccs.semiparametric.fit_semiparametric` on R's per-event strata, so
    an event's covariates are its own as in R; coefficients are in R's order (main effects,
    ``factor(age)<age>``, then interactions); an aliased term is NaN (R: NA).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"case": [1, 2, 3, 4], "sta": 1, "end": 100,
    ...                   "ev": [10, 60, 80, 30], "vac": [5, 10, 70, 50]})
    >>> fit = semisccs("event ~ vac", indiv="case", astart="sta", aend="end", aevent="ev",
    ...                adrug="vac", aedrug="vac+20", data=d)
    >>> list(fit.summary.index)
    ['vac1', 'factor(age)30', 'factor(age)60', 'factor(age)80']
    """
    from analysis.sccs.semiparametric import fit_semiparametric

    expos = _exposure_names(adrug, aedrug, dataformat)
    if "age" in variables(formula):
        raise RError(f"semisccs formula {formula!r}: age is the semiparametric part of the "
                     "model; leave it out of the formula")
    covs = _covariates(formula, expos, data, special=("event",))
    strata = formatdata(indiv, astart, aend, aevent, adrug, aedrug, expogrp, washout,
                        sameexpopar, None, None, None, covs, dataformat, data=data,
                        pairing=pairing)
    X = design(formula, strata, expos)
    intervals = pd.DataFrame({"id": strata["indivL"].to_numpy(),
                              "start": strata["lower"].to_numpy(),
                              "end": strata["upper"].to_numpy()})
    for c in X.columns:
        intervals[c] = X[c].to_numpy(dtype=float)
    first = strata.drop_duplicates("indivL")
    events = pd.DataFrame({"id": first["indivL"].to_numpy(), "day": first["aevent"].to_numpy()})
    fit = fit_semiparametric(intervals, events, list(X.columns), age_prefix="factor(age)")
    names = list(fit.params.index)
    inter = [n for n in X.columns if _top_level_colon(n)]
    order = [n for n in names if n not in inter] + inter
    s = fit.summary.loc[order]
    obs = first[["astart", "aend"]].to_numpy()
    ages = np.asarray(fit.ages)
    n_ages = (np.searchsorted(ages, obs[:, 1], side="right")
              - np.searchsorted(ages, obs[:, 0], side="left"))
    has = (first["aevent"] >= first["astart"]) & (first["aevent"] <= first["aend"])
    # at beta = 0 every observed event age is equally likely: the null log-likelihood
    null = -float(np.log(n_ages[has.to_numpy()]).sum())
    cases = first.loc[has, "indiv"].nunique()
    return RFit(wald_table(order, s["log_irr"].to_numpy(), s["se"].to_numpy()),
                n_cases=int(cases), n_events=int(fit.n_events), model="semisccs",
                loglik=float(fit.loglik), loglik_null=null, fit=fit)


def samplesize(eexpo: float, risk: float, astart: int, aend: int, p: Any, alpha: float = 0.05,
               power: float = 0.8, eage: Any = None, agegrp: Any = None) -> int:
    """R's ``samplesize`` (Musonda, Farrington & Whitaker 2006): the number of cases needed to
    detect the relative incidence ``eexpo`` in a ``risk``-day risk period within observation
    ``astart .. aend``, with ``p`` the proportion exposed (one number, or one per age group),
    ``eage`` the relative incidences of age groups 2.. starting on the days ``agegrp``.
    :func:`analysis.sccs.power.sample_size` does the work.

    Examples
    --------
    >>> samplesize(eexpo=2.5, risk=21, astart=366, aend=730, p=0.75, alpha=0.05, power=0.8)
    143
    """
    from analysis.sccs.power import sample_size

    def seq(x: Any, arg: str) -> Any:
        return None if x is None else [number(v, arg, low=0) for v in np.atleast_1d(x)]

    p_exposed = number(p, "p", low=0, high=1) if np.ndim(p) == 0 else seq(p, "p")
    args = (number(eexpo, "eexpo", low=0), number(risk, "risk", low=1),
            *whole_numbers([astart, aend], "astart, aend", increasing=True), p_exposed)
    kw = dict(alpha=number(alpha, "alpha", low=0, high=1),
              power=number(power, "power", low=0, high=1), age_ri=seq(eage, "eage"),
              age_cuts=age_cuts(agegrp) or None)
    try:
        return int(sample_size(*args, **kw))
    except ValueError as exc:  # the library's own checks (proportions, cut points, ...)
        raise RError(f"samplesize: {exc}") from None


def _one_type(adrug: Any, aedrug: Any, dataformat: str, function: str) -> None:
    """``function`` models one exposure type: fail, naming ``adrug``, when given more."""
    from analysis.sccs.r._args import exposure_groups, first_name

    groups = exposure_groups(adrug, aedrug, dataformat)
    if len(groups) != 1:
        names = [first_name(g[0][0]) for g in groups]
        how = ("in the stack format each column of adrug is an exposure type of its own; give "
               "the doses of one type as columns with dataformat='multi'"
               if dataformat == "stack" else "give its dose columns as one list")
        raise RError(f"adrug: {function} supports one exposure type, got {len(groups)} "
                     f"({', '.join(names)}); {how} (R 1.7 silently uses the first)")


def eventdepenexp(indiv: Any, astart: Any, aend: Any, aevent: Any, adrug: Any, aedrug: Any,
                  expogrp: Any = 0, sameexpopar: bool | None = True, agegrp: Any = None,
                  dataformat: str = "stack", verbose: bool = False,
                  tolerance: float | None = None, itermax: int | None = None, *,
                  data: pd.DataFrame, pairing: str = "r") -> RFit:
    """R's ``eventdepenexp``: SCCS with event-dependent exposures (Farrington, Whitaker & Hocine
    2009; the exposure history after each case's first event is not used).

    Arguments as R's (no formula: the model is the exposure, plus ``age`` with ``agegrp``).
    The fit is :func:`analysis.sccs.eventdep_exposure.fit_eventdep_exposure` (sandwich SEs);
    ``tolerance`` and ``itermax`` are passed on as its ``tol`` and ``max_iter`` when given (it
    solves the estimating equations by Newton's method, R by repeated Poisson fits), ``verbose``
    is accepted and ignored. As R's ``summary.sccs``, the 95% CI uses 1.96; there is no
    log-likelihood (``loglik`` is None).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"case": range(1, 7), "sta": 1, "end": 100,
    ...                   "ev": [15, 40, 70, 12, 90, 55], "vac": [10, 30, 60, 5, 20, 50]})
    >>> fit = eventdepenexp(indiv="case", astart="sta", aend="end", aevent="ev", adrug="vac",
    ...                     aedrug="vac+14", expogrp=1, data=d)
    >>> list(fit.summary.index)
    ['vac1']
    """
    from analysis.sccs.eventdep_exposure import fit_eventdep_exposure

    sameexpopar = True if sameexpopar is None else sameexpopar
    if not isinstance(sameexpopar, bool | np.bool_):
        raise RError(f"eventdepenexp: sameexpopar is one TRUE/FALSE, got {sameexpopar!r}")
    _one_type(adrug, aedrug, dataformat, "eventdepenexp")
    if expogrp is not None and min(whole_numbers(expogrp, "expogrp") or [0]) < 0:
        raise RError(f"expogrp: {expogrp!r} starts before the exposure; eventdepenexp allows no "
                     "pre-exposure risk period (R: 'Pre-exposure risk periods not allowed')")
    # the dose levels are the fitter's (same_params below), not formatdata's; R 1.7's
    # eventdepenexp reads the multi format's dose rows as they are (its own adrug_matrix only
    # for the stack format), so a case's first row keeps its own doses there
    own = "row" if dataformat == "multi" else pairing
    x = inputs(data, indiv, astart, aend, aevent, adrug, aedrug, expogrp=expogrp,
               agegrp=agegrp, dataformat=dataformat, pairing=own).first_events()
    ex = x.exposures[0]
    doses = ex.data.copy()
    if "dose" not in doses.columns:  # stack format: a case's episodes in order of their day
        doses = doses.sort_values(["id", "day"], kind="stable")
        doses["dose"] = doses.groupby("id", sort=False).cumcount() + 1
    covs = [c for c in x.covariates if c.name == "age"] if agegrp is not None else []
    kw: dict[str, Any] = {}
    if tolerance is not None:
        kw["tol"] = number(tolerance, "tolerance", low=0)
    if itermax is not None:
        kw["max_iter"] = whole_numbers(itermax, "itermax")[0]
    fit = fit_eventdep_exposure(x.observation, x.events[["id", "day"]], doses,
                                windows=ex.windows, covariates=covs,
                                same_params=bool(sameexpopar), name=ex.name, **kw)
    names = list(fit.params.index)
    table = wald_table(names, fit.params.to_numpy(), fit.bse.to_numpy(), z_ci=1.96)
    return RFit(table, n_cases=int(x.observation["id"].nunique()), n_events=len(x.events),
                model="eventdepenexp", fit=fit)


def _initval(initval: Any) -> tuple[float, ...]:
    """R's ``initval``: the starting values of the censoring models' parameters (R reads the
    first four)."""
    values = list(np.atleast_1d(np.asarray(initval, dtype=object)))
    if len(values) < 4:
        raise RError(f"initval: expected 4 starting values (R's initval reads 4), got "
                     f"{initval!r}")
    return tuple(number(v, "initval") for v in values[:4])


def eventdepenobs(formula: str, indiv: Any, astart: Any, aend: Any, aevent: Any, adrug: Any,
                  aedrug: Any, censor: Any, expogrp: Any = None, washout: Any = None,
                  sameexpopar: Any = None, agegrp: Any = None, dataformat: str = "stack",
                  covariates: Any = None, regress: bool = False, initval: Any = None, *,
                  data: pd.DataFrame, integrate_from: str = "start", pairing: str = "r") -> RFit:
    """R's ``eventdepenobs``: SCCS with event-dependent observation periods (Farrington et al.
    2011). Four censoring models (EWA, EWI, EGA, EGI) are fitted to the end of observation; the
    one with the smallest AIC weights the intervals, and ``formula`` is fitted as R's
    ``clogit(formula + strata + offset(log(weight)))``.

    ``censor`` is 1 when observation ended early (possibly because of the event), 0 when it
    ended as planned; ``initval`` the starting values of the four censoring parameters (R's
    default 0.1). The days are ages (``astart`` 0 or more). Only each case's first event is
    used, with a warning when there are more: R documents ``aevent`` as one event per case, and
    the method is for non-recurrent events (R 1.7's code, given several, treats each event as a
    case of its own). The censoring models with ``covariates`` or ``regress = TRUE`` are not
    implemented (an error says so). ``integrate_from="start"`` (default) integrates each
    interval's weight from its first day as R 1.7 does; ``"cut"`` covers the interval's whole
    days (see :func:`analysis.sccs.eventdep_observation.fit_eventdep_observation`, which does
    the work). The result has ``.modelfit`` (rows ``Loglik``, ``AIC``; columns ``EWA EWI EGA
    EGI``).

    Examples
    --------
    Sixty cases in R's format (one row per event); ``cen`` is 1 when death after the event
    ended observation early:

    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> n = 60
    >>> day = rng.integers(0, 3000, n)
    >>> death = day + rng.exponential(300, n).astype(int) + 1
    >>> cens = (death < 3650) & (rng.random(n) < 0.5)
    >>> d = pd.DataFrame({"case": range(1, n + 1), "sta": 0, "end": np.where(cens, death, 3650),
    ...                   "ev": day, "vac": rng.integers(0, 3000, n), "cen": cens.astype(int)})
    >>> fit = eventdepenobs("event ~ vac", indiv="case", astart="sta", aend="end", aevent="ev",
    ...                     adrug="vac", aedrug="vac+89", censor="cen", data=d)
    >>> fit.modelfit.round(2)
               EWA     EWI     EGA     EGI
    Loglik  -71.51  -71.09  -71.52  -71.04
    AIC     151.02  150.19  151.04  150.09
    >>> fit.summary.round(3)
           coef  exp_coef     se      z      p  lower95  upper95
    term
    vac1  0.682     1.978  0.622  1.096  0.273    0.584    6.698
    """
    from analysis.sccs.eventdep_observation import fit_eventdep_observation

    if covariates is not None or regress:
        raise RError("eventdepenobs: censoring models with covariates or regress=TRUE are not "
                     "implemented; leave covariates and regress out")
    expos = _exposure_names(adrug, aedrug, dataformat)
    covs = _covariates(formula, expos, data)
    if covs:
        raise RError(f"eventdepenobs formula {formula!r}: fixed covariates {covs} are not "
                     "supported (they cancel within cases); use the exposures and age")
    x = inputs(data, indiv, astart, aend, aevent, adrug, aedrug, expogrp=expogrp,
               washout=washout, sameexpopar=sameexpopar, agegrp=agegrp,
               dataformat=dataformat, pairing=pairing).first_events()
    flat = data.reset_index(drop=True)
    ages = day_values(column(flat, "astart", astart), "astart", astart)
    if (ages < 0).any():
        i = int(np.flatnonzero(ages < 0)[0])
        raise RError(f"row {i + 2}, {where('astart', astart)}: {ages[i]:g} is negative; "
                     "eventdepenobs reads the days as ages (its EWA and EGA censoring models "
                     "are distributions of the age at the end of observation)")
    cen = day_values(column(flat, "censor", censor), "censor", censor)
    bad = ~np.isin(cen, (0, 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise RError(f"row {i + 2}, {where('censor', censor)}: {cen[i]} is not 0 or 1 (1 = "
                     "observation ended early, 0 = ended as planned)")
    ind = column(flat, "indiv", indiv).to_numpy()
    per_case = pd.DataFrame({"id": ind, "censored": cen})
    if per_case.drop_duplicates()["id"].duplicated().any():
        i = int(np.flatnonzero(per_case.duplicated("id") & ~per_case.duplicated())[0])
        raise RError(f"row {i + 2}, {where('censor', censor)}: differs from an earlier row of "
                     "the same case; one censoring value per case")
    obs = x.observation.merge(per_case.drop_duplicates("id"), on="id", how="left")
    start = (0.1, 0.1, 0.1, 0.1) if initval is None else _initval(initval)
    covariates_ = [c for c in x.covariates if c.name == "age"] if agegrp is not None else []
    fit = fit_eventdep_observation(obs, x.events[["id", "day"]], x.exposures, covariates_,
                                   terms=[], start=start, integrate_from=integrate_from)
    iv = fit.intervals
    X = design(formula, iv, ["age", *expos])
    events = iv["events"].to_numpy()
    out = fit_design(X, iv["id"].to_numpy(), events, iv["weight"].to_numpy(),
                     "eventdepenobs", iv.loc[events > 0, "id"].nunique())
    out.modelfit = fit.modelfit
    out.fit = fit
    return out
