"""R's ``formatdata``, ``standardsccs`` and ``lrtsccs`` on the library's one engine
(:func:`analysis.sccs.intervals.build_intervals`, :class:`analysis.sccs.SCCS`).

Private to :mod:`analysis.sccs.r`, which re-exports the public functions and documents the
conventions.
"""


from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.sccs._stats import chi2_sf
from analysis.sccs.r._args import RError, inputs
from analysis.sccs.r._formula import aliased, design, variables
from analysis.sccs.r._result import RFit, RLRTest
from analysis.sccs.results import wald_table


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
    unit = st["indiv"].to_numpy()
    out["indiv"] = x.case_ids(unit)
    out["aevent"] = ev["day"].to_numpy()[k]
    out["astart"] = obs["start"].reindex(unit).to_numpy()
    out["aend"] = obs["end"].reindex(unit).to_numpy()
    for c in ev.columns[2:]:
        out[c] = ev[c].to_numpy()[k]
    return out


def formatdata(indiv: Any, astart: Any, aend: Any, aevent: Any, adrug: Any, aedrug: Any,
               expogrp: Any = None, washout: Any = None, sameexpopar: Any = None,
               agegrp: Any = None, seasongrp: Any = None, dob: Any = None,
               cov: Any = None, dataformat: str = "stack", *,
               data: pd.DataFrame, pairing: str = "r") -> pd.DataFrame:
    """R's ``formatdata``: one stratum per event, each a copy of the case's observation period
    cut into intervals of constant exposure level, age group and season.

    As in R, each event has its own stratum, observation period (``astart``/``aend`` of its
    rows) and exposures: in the ``"stack"`` format the episodes on the rows of the same case
    and event day, in the ``"multi"`` format the dose columns of its row, paired as R 1.7 pairs
    them where a case's rows disagree (usually a data error; ``pairing``, and
    :mod:`analysis.sccs.r._units`); an :class:`analysis.sccs.errors.SCCSWarning` names such
    cases. ``indivL`` numbers the events
    case by case as R does; within such a case the events with the same values come together.

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
    pairing:
        Beyond R: ``"r"`` (default) pairs a case's exposures with its events as R 1.7 does,
        ``"row"`` gives each event its own row's (they differ only where a case's rows disagree;
        see :func:`analysis.sccs.r.inputs`).

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
    covs = [] if cov is None else [cov] if isinstance(cov, str) else cov
    if not isinstance(covs, list | tuple) or not all(isinstance(c, str) for c in covs):
        raise RError(f"cov: expected column names, got {cov!r}")
    x = inputs(data, indiv, astart, aend, aevent, adrug, aedrug, expogrp=expogrp,
               washout=washout, sameexpopar=sameexpopar, agegrp=agegrp, seasongrp=seasongrp,
               dob=dob, cov=covs, dataformat=dataformat, pairing=pairing)
    return _strata(x)


def intervals(indiv: Any, astart: Any, aend: Any, aevent: Any, adrug: Any, aedrug: Any,
              expogrp: Any = None, washout: Any = None, sameexpopar: Any = None,
              agegrp: Any = None, seasongrp: Any = None, dob: Any = None,
              dataformat: str = "stack", *, data: pd.DataFrame, pre_window: int | None = None,
              end_probe: int | None = None, pairing: str = "r") -> pd.DataFrame:
    """The same data as :func:`formatdata`, one copy of each case's intervals (not one per
    event): :func:`analysis.sccs.intervals.build_intervals`'s table (``id, start, end, days,
    events`` and the level columns), as the diagnostics and the Python API take it.
    ``attrs["exposures"]`` lists the exposure columns.

    Where some case's event rows disagree (see :func:`formatdata` and the warning), each
    distinct set of rows of such a case is a unit with its own intervals, ``id`` is then a unit
    number and ``attrs["indiv"]`` maps unit numbers to cases.

    Two windows R does not have, for the diagnostics: ``pre_window`` adds the 0/1 column
    ``<exposure>_pre`` for the ``pre_window`` days before each case's first exposure (of the
    first exposure type), ``end_probe`` the 0/1 column ``end_probe`` for the last
    ``end_probe`` days of each observation period.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"case": [1, 1], "sta": 1, "end": 100, "ev": [25, 60], "ex": 20})
    >>> iv = intervals(indiv="case", astart="sta", aend="end", aevent="ev", adrug="ex",
    ...                aedrug="ex+10", data=d)
    >>> iv[["start", "end", "events", "ex"]].to_numpy().tolist()
    [[1, 19, 0, 0], [20, 30, 1, 1], [31, 100, 1, 0]]
    """
    import dataclasses

    from analysis.sccs.intervals import EventWindow, build_intervals

    x = inputs(data, indiv, astart, aend, aevent, adrug, aedrug, expogrp=expogrp,
               washout=washout, sameexpopar=sameexpopar, agegrp=agegrp, seasongrp=seasongrp,
               dob=dob, dataformat=dataformat, pairing=pairing)
    exposures, covariates = list(x.exposures), list(x.covariates)
    if pre_window is not None:
        exposures[0] = dataclasses.replace(exposures[0], pre_window=int(pre_window))
    if end_probe is not None:
        obs = x.observation
        covariates.append(EventWindow("end_probe", pd.DataFrame(
            {"id": obs["id"], "day": obs["end"] - int(end_probe) + 1}), int(end_probe)))
    out = build_intervals(x.observation, x.events[["id", "day"]], exposures, covariates)
    out.attrs["exposures"] = list(x.exposure_names)
    if x.case_of is not None:
        out.attrs["indiv"] = x.case_of.to_dict()
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


def fit_design(X: pd.DataFrame, ids: np.ndarray, events: np.ndarray, days: np.ndarray,
               model: str, n_cases: int) -> RFit:
    """Fit the conditional Poisson (clogit) model of the design ``X`` with R's aliasing rule.

    ``ids`` are the strata (R's ``indivL``), ``days`` the interval lengths (R's
    ``offset(log(interval))``) or weights (``offset(logw)``). The one fitter is
    :class:`analysis.sccs.SCCS`; aliased columns are left out of the fit and reported as NaN.

    Examples
    --------
    Two cases, a 0/1 exposure column ``x`` and a column ``x2`` equal to it (aliased):

    >>> import numpy as np
    >>> import pandas as pd
    >>> X = pd.DataFrame({"x": [1, 0, 1, 0], "x2": [1, 0, 1, 0]})
    >>> fit = fit_design(X, ids=np.array([1, 1, 2, 2]), events=np.array([2, 1, 1, 1]),
    ...                  days=np.array([30, 70, 30, 70]), model="standardsccs", n_cases=2)
    >>> fit.summary["exp_coef"].round(4).to_dict()
    {'x': 3.5, 'x2': nan}
    """
    import warnings

    from analysis.sccs import SCCS

    names = list(X.columns)
    mask = aliased(X.to_numpy(dtype=float), ids, days, events)
    use = [n for n, a in zip(names, mask, strict=True) if not a]
    frame = pd.DataFrame({"__stratum": ids, "__event": events, "__days": days})
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
    return RFit(wald_table(names, coef.to_numpy(), se.to_numpy()), n_cases=int(n_cases),
                n_events=int(fit.n_events), model=model, loglik=float(fit.loglik),
                loglik_null=float(fit.loglik_null), fit=fit,
                warnings=[str(w.message) for w in caught])


def _fit_strata(X: pd.DataFrame, strata: pd.DataFrame, model: str) -> RFit:
    """:func:`fit_design` on :func:`formatdata`'s strata."""
    if not (strata["event"] > 0).any():
        raise RError("aevent: no event lies within its observation period (astart to aend), so "
                     "there is nothing to fit")
    cases = strata.loc[strata["event"] > 0, "indiv"].nunique()
    return fit_design(X, strata["indivL"].to_numpy(), strata["event"].to_numpy(),
                      strata["interval"].to_numpy(), model, cases)


def standardsccs(formula: str, indiv: Any, astart: Any, aend: Any, aevent: Any, adrug: Any,
                 aedrug: Any, expogrp: Any = None, washout: Any = None, sameexpopar: Any = None,
                 agegrp: Any = None, seasongrp: Any = None, dob: Any = None,
                 dataformat: str = "stack", *, data: pd.DataFrame, pairing: str = "r") -> RFit:
    """R's ``standardsccs``: the standard SCCS model, ``clogit(formula + strata(indivL) +
    offset(log(interval)))`` on :func:`formatdata`'s strata.

    Arguments as :func:`formatdata`, plus the ``formula`` (a string, ``"event ~ mmr + age"``).
    Returns an :class:`RFit` whose ``summary`` is R's coefficient table by R's names.

    ``age`` is R's factor of every age group ``1 .. len(agegrp) + 1``, the first the reference,
    as R builds it: a group covering no observed time gets NaN (R's NA), and where the first
    group is empty (a first ``agegrp`` cut before every ``astart``) its column of zeros leaves
    the others summing to one within every case, so the last group with time is aliased (NaN)
    and the other groups are relative to it, as R reports them. (The Python API,
    :func:`analysis.sccs.dummies` with :class:`analysis.sccs.SCCS`, takes the lowest group with
    time as its reference instead.)

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
    if "season" in variables(formula) and seasongrp is None:
        raise RError(f"formula {formula!r}: season needs seasongrp (and dob)")
    strata = formatdata(indiv, astart, aend, aevent, adrug, aedrug, expogrp, washout,
                        sameexpopar, agegrp, seasongrp, dob, covs, dataformat, data=data,
                        pairing=pairing)
    if agegrp is not None:  # R's factor holds every age group, with time or not
        levels = range(1, len(np.atleast_1d(agegrp)) + 2)
        strata["age"] = pd.Categorical(strata["age"], categories=levels)
    X = design(formula, strata, ["age", "season", *expos])
    return _fit_strata(X, strata, "standardsccs")


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
    for m in (model1, model2):
        if not isinstance(m, RFit) or m.logtest is None:
            raise RError("lrtsccs: both models must be fitted by standardsccs or semisccs")
    exact = abs(model1.logtest[0] - model2.logtest[0])
    df = abs(model1.df - model2.df)
    test = _signif(exact, 4)
    return RLRTest(test, df, _signif(chi2_sf(test, df), 4), exact,
                   chi2_sf(exact, df))


def _signif(x: float, digits: int) -> float:
    """R's ``signif``."""
    return float(f"{x:.{digits}g}")


