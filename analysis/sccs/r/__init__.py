"""An R-compatible interface to the SCCS library: the functions of the R package SCCS 1.7.

A user porting an R script translates it line by line::

    # R
    itp.mod3 <- standardsccs(event~mmr+age, indiv=case, astart=sta, aend=end, aevent=itp,
                             adrug=mmr, aedrug=mmr+42, expogrp=c(0,15,29),
                             agegrp=c(427,488,549,610,671), data=itpdat)
    # Python
    from analysis.sccs import r
    itp_mod3 = r.standardsccs("event ~ mmr + age", indiv="case", astart="sta", aend="end",
                              aevent="itp", adrug="mmr", aedrug="mmr+42", expogrp=[0, 15, 29],
                              agegrp=[427, 488, 549, 610, 671], data=itpdat)
    itp_mod3.summary          # coef, exp_coef, se, z, p, lower95, upper95 by R's names

Conventions (R's argument names and meanings, package SCCS 1.7 by Ghebremichael-Weldeselassie,
Whitaker and Farrington; Farrington, Whitaker & Ghebremichael-Weldeselassie 2018, *Self-Controlled
Case Series Studies: A Modelling Guide with R*):

* a column argument (``indiv``, ``astart``, ``aend``, ``aevent``, ``adrug``, ``aedrug``,
  ``censor``, ``dob``) is a column name or an expression on the columns (``"mmr+42"``), evaluated
  with :meth:`pandas.DataFrame.eval`;
* several drug columns are a list: ``adrug=["rv", "rvd2"]`` is R's ``cbind(rv, rvd2)`` (doses of
  one exposure in the ``"multi"`` format, separate exposures in ``"stack"``), a list of lists is
  R's ``list(cbind(...), cbind(...))``; ``aedrug`` has the same shape;
* ``expogrp``/``washout``: numbers (R's ``c(0, 15, 29)``), or one list per exposure type (R's
  ``list(c(0, 8), c(0, 8))``); ``sameexpopar``: a bool or one per type; ``agegrp``: the first day
  of each age group after the first; ``seasongrp``: ddmm season starts (``101`` = 0101, 1
  January) with ``dob`` as ddmmyyyy;
* the formula is a string, ``"event ~ mmr + age"``, ``"event ~ factor(sex)*mmr"``,
  ``"event ~ ns + relevel(age, ref=21)"``, expanded by patsy with R's treatment contrasts; the
  exposures, ``age`` and ``season`` are factors (reference = lowest level present), other
  variables are columns of ``data`` (constant within an event).

There is one engine underneath: the arguments become the inputs of
:func:`analysis.sccs.intervals.build_intervals`, and the models are fitted by
:class:`analysis.sccs.SCCS` (and the extensions' library functions). Deliberate differences from
R: a factor level that covers no time gets no coefficient (R reports NA); in a model R would give a
huge coefficient for a level without events, the engine reports an infinite estimate with a
warning.

Examples
--------
>>> import pandas as pd
>>> from analysis.sccs import r
>>> d = pd.DataFrame({"case": [1, 2, 3], "sta": [1, 1, 1], "end": [100, 100, 100],
...                   "ev": [10, 60, 80], "vac": [5, 10, 70]})
>>> fit = r.standardsccs("event ~ vac", indiv="case", astart="sta", aend="end", aevent="ev",
...                      adrug="vac", aedrug="vac+20", data=d)
>>> # 2 events in 63 exposed days, 1 in 237 other days: (2/63) / (1/237)
>>> round(float(fit.summary.loc["vac1", "exp_coef"]), 4)
7.5238
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.sccs.r._args import RError, inputs
from analysis.sccs.r._formula import aliased, design, variables
from analysis.sccs.r._result import RFit, RLRTest, summary_table

__all__ = ["RError", "RFit", "RLRTest", "formatdata", "intervals", "lrtsccs", "samplesize",
           "semisccs", "standardsccs"]


def _strata(x: Any) -> pd.DataFrame:
    """R's ``formatdata`` output from translated inputs."""
    from analysis.sccs.intervals import build_intervals, to_event_strata

    ev = x.events
    iv = build_intervals(x.observation, ev[["id", "day"]], x.exposures, x.covariates)
    st = to_event_strata(iv, ev[["id", "day"]])
    factors = [c for c in ("season", "age") if c in st.columns] + x.exposure_names
    out = st[["indivL", "event", "eventday", "lower", "upper", "interval", *factors]].copy()
    k = st["indivL"].to_numpy() - 1
    obs = x.observation.set_index("id")
    out["indiv"] = st["indiv"].to_numpy()
    out["aevent"] = ev["day"].to_numpy()[k]
    out["astart"] = obs["start"].reindex(out["indiv"]).to_numpy()
    out["aend"] = obs["end"].reindex(out["indiv"]).to_numpy()
    for c in ev.columns[2:]:
        out[c] = ev[c].to_numpy()[k]
    return out


def formatdata(indiv: Any, astart: Any, aend: Any, aevent: Any, adrug: Any, aedrug: Any,
               expogrp: Any = None, washout: Any = None, sameexpopar: Any = None,
               agegrp: Any = None, seasongrp: Any = None, dob: Any = None,
               cov: Any = None, dataformat: str = "stack", *,
               data: pd.DataFrame) -> pd.DataFrame:
    """R's ``formatdata``: one stratum per event, each a copy of the case's observation period
    cut into intervals of constant exposure level, age group and season.

    Parameters
    ----------
    indiv, astart, aend, aevent:
        Case id; first and last day of observation (inclusive); day of the event.
    adrug, aedrug:
        First day of each exposure and last day of its risk period (``"mmr+42"``).
    expogrp, washout, sameexpopar, agegrp, seasongrp, dob, dataformat:
        As in R (see the module docstring).
    cov:
        Column names of fixed covariates to carry along (R's ``cov``).
    data:
        The data frame, one row per event (``"multi"``) or per event and exposure (``"stack"``).

    Returns
    -------
    DataFrame with R's columns ``indivL, event, eventday, lower, upper, interval``, then
    ``season`` (if used), ``age`` and one integer level column per exposure type, then ``indiv,
    aevent, astart, aend`` and the covariates.

    Examples
    --------
    >>> import pandas as pd
    >>> toy = pd.DataFrame({"case": [1, 1, 2], "sta": [1, 1, 10], "end": [100, 100, 80],
    ...                     "ev": [25, 60, 55], "ex": [20, 20, 45]})
    >>> fd = formatdata(indiv="case", astart="sta", aend="end", aevent="ev", adrug="ex",
    ...                 aedrug="ex+10", expogrp=[0, 5], agegrp=[50], data=toy)
    >>> fd.loc[fd.indivL == 3, ["lower", "upper", "event", "age", "ex"]].to_numpy().tolist()
    [[10, 44, 0, 1, 0], [45, 49, 0, 1, 1], [50, 55, 1, 2, 2], [56, 80, 0, 2, 0]]
    """
    covs = [] if cov is None else [cov] if isinstance(cov, str) else list(cov)
    x = inputs(data, indiv, astart, aend, aevent, adrug, aedrug, expogrp=expogrp,
               washout=washout, sameexpopar=sameexpopar, agegrp=agegrp, seasongrp=seasongrp,
               dob=dob, cov=covs, dataformat=dataformat)
    return _strata(x)


def intervals(indiv: Any, astart: Any, aend: Any, aevent: Any, adrug: Any, aedrug: Any,
              expogrp: Any = None, washout: Any = None, sameexpopar: Any = None,
              agegrp: Any = None, seasongrp: Any = None, dob: Any = None,
              dataformat: str = "stack", *, data: pd.DataFrame) -> pd.DataFrame:
    """The same data as :func:`formatdata`, one copy of each case's intervals (not one per
    event): :func:`analysis.sccs.intervals.build_intervals`'s table (``id, start, end, days,
    events`` and the level columns), as the diagnostics and the Python API take it.
    ``attrs["exposures"]`` lists the exposure columns.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"case": [1, 1], "sta": 1, "end": 100, "ev": [25, 60], "ex": 20})
    >>> iv = intervals(indiv="case", astart="sta", aend="end", aevent="ev", adrug="ex",
    ...                aedrug="ex+10", data=d)
    >>> iv[["start", "end", "events", "ex"]].to_numpy().tolist()
    [[1, 19, 0, 0], [20, 30, 1, 1], [31, 100, 1, 0]]
    """
    from analysis.sccs.intervals import build_intervals

    x = inputs(data, indiv, astart, aend, aevent, adrug, aedrug, expogrp=expogrp,
               washout=washout, sameexpopar=sameexpopar, agegrp=agegrp, seasongrp=seasongrp,
               dob=dob, dataformat=dataformat)
    out = build_intervals(x.observation, x.events[["id", "day"]], x.exposures, x.covariates)
    out.attrs["exposures"] = list(x.exposure_names)
    return out


def _covariates(formula: str, exposures: list[str], data: pd.DataFrame,
                special: tuple[str, ...] = ("event", "age", "season")) -> list[str]:
    """R's fixed covariates: the formula's variables that are not event, age, season or an
    exposure (they must be columns of ``data``)."""
    out = [v for v in variables(formula) if v not in special and v not in exposures]
    missing = [v for v in out if v not in data.columns]
    if missing:
        raise RError(f"formula {formula!r}: {missing} are neither exposures (adrug), age, "
                     f"season nor columns of the data ({list(data.columns)})")
    return out


def _exposure_names(adrug: Any, aedrug: Any, dataformat: str) -> list[str]:
    from analysis.sccs.r._args import exposure_groups, first_name

    return [first_name(g[0][0]) for g in exposure_groups(adrug, aedrug, dataformat)]


def fit_design(X: pd.DataFrame, strata: pd.DataFrame, model: str) -> RFit:
    """Fit the conditional Poisson (clogit) model with R's aliasing rule; the one fitter is
    :class:`analysis.sccs.SCCS`, on R's per-event strata (``indivL``)."""
    import warnings

    from analysis.sccs import SCCS

    names = list(X.columns)
    mask = aliased(X.to_numpy(dtype=float), strata["indivL"].to_numpy(),
                   strata["interval"].to_numpy(), strata["event"].to_numpy())
    use = [n for n, a in zip(names, mask, strict=True) if not a]
    frame = pd.DataFrame({"__stratum": strata["indivL"].to_numpy(),
                          "__event": strata["event"].to_numpy(),
                          "__days": strata["interval"].to_numpy()})
    for n in use:
        frame[n] = X[n].to_numpy(dtype=float)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = SCCS().fit(frame, use, id_col="__stratum", events_col="__event",
                         days_col="__days")
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    coef = pd.Series(np.nan, index=names)
    se = pd.Series(np.nan, index=names)
    coef[use] = fit.params.to_numpy()
    se[use] = fit.bse.to_numpy()
    cases = strata.loc[strata["event"] > 0, "indiv"].nunique()
    return RFit(summary_table(names, coef.to_numpy(), se.to_numpy()), n_cases=int(cases),
                n_events=int(fit.n_events), model=model, loglik=float(fit.loglik),
                loglik_null=float(fit.loglik_null), fit=fit,
                warnings=[str(w.message) for w in caught])


def standardsccs(formula: str, indiv: Any, astart: Any, aend: Any, aevent: Any, adrug: Any,
                 aedrug: Any, expogrp: Any = None, washout: Any = None, sameexpopar: Any = None,
                 agegrp: Any = None, seasongrp: Any = None, dob: Any = None,
                 dataformat: str = "stack", *, data: pd.DataFrame) -> RFit:
    """R's ``standardsccs``: the standard SCCS model, ``clogit(formula + strata(indivL) +
    offset(log(interval)))`` on :func:`formatdata`'s strata.

    Arguments as :func:`formatdata`, plus the ``formula`` (a string, ``"event ~ mmr + age"``).
    Returns an :class:`RFit` whose ``summary`` is R's coefficient table by R's names.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"case": [1, 1, 2], "sta": [1, 1, 10], "end": [100, 100, 80],
    ...                   "ev": [25, 60, 55], "ex": [20, 20, 45]})
    >>> fit = standardsccs("event ~ ex", indiv="case", astart="sta", aend="end", aevent="ev",
    ...                    adrug="ex", aedrug="ex+10", data=d)
    >>> list(fit.summary.index), fit.n_events
    (['ex1'], 3)
    """
    expos = _exposure_names(adrug, aedrug, dataformat)
    covs = _covariates(formula, expos, data)
    strata = formatdata(indiv, astart, aend, aevent, adrug, aedrug, expogrp, washout,
                        sameexpopar, agegrp, seasongrp, dob, covs, dataformat, data=data)
    X = design(formula, strata, ["age", "season", *expos])
    return fit_design(X, strata, "standardsccs")


def lrtsccs(model1: RFit, model2: RFit) -> RLRTest:
    """R's ``lrtsccs``: |LR1 - LR2| on |df1 - df2| degrees of freedom, where LR is each model's
    likelihood-ratio statistic against its own null (so models with different interval cuts,
    as in R's examples, can be compared). Rounded to 4 significant digits as R prints it; the
    exact values are kept too.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"case": [1, 2, 3, 4], "sta": 1, "end": 100,
    ...                   "ev": [10, 60, 80, 30], "vac": [5, 10, 70, 50]})
    >>> args = dict(indiv="case", astart="sta", aend="end", aevent="ev", adrug="vac",
    ...             aedrug="vac+20", agegrp=[50], data=d)
    >>> lrt = lrtsccs(standardsccs("event ~ vac + age", **args),
    ...               standardsccs("event ~ age", **args))
    >>> lrt.test, lrt.df, lrt.pvalue
    (1.639, 1, 0.2005)
    """
    from scipy.stats import chi2

    for m in (model1, model2):
        if not isinstance(m, RFit) or m.logtest is None:
            raise RError("lrtsccs: both models must be fitted by standardsccs or semisccs")
    exact = abs(model1.logtest[0] - model2.logtest[0])
    df = abs(model1.df - model2.df)
    test = _signif(exact, 4)
    return RLRTest(test, df, _signif(float(chi2.sf(test, df)), 4), exact,
                   float(chi2.sf(exact, df)))


def _signif(x: float, digits: int) -> float:
    """R's ``signif``."""
    return float(f"{x:.{digits}g}")


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
             dataformat: str = "stack", *, data: pd.DataFrame) -> RFit:
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
                        sameexpopar, None, None, None, covs, dataformat, data=data)
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
    return RFit(summary_table(order, s["coef"].to_numpy(), s["se"].to_numpy()),
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

    def seq(x: Any) -> Any:
        return None if x is None else [float(v) for v in np.atleast_1d(x)]

    p_exposed = float(p) if np.ndim(p) == 0 else seq(p)
    return int(sample_size(float(eexpo), float(risk), int(astart), int(aend), p_exposed,
                           alpha=float(alpha), power=float(power), age_ri=seq(eage),
                           age_cuts=None if agegrp is None else [int(v) for v in
                                                                 np.atleast_1d(agegrp)]))
