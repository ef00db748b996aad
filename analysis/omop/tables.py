"""OHDSI's descriptive results tables of a study population: time to event and spanning counts.

* :func:`time_to_event` is OHDSI's ``computeTimeToEvent`` (``R/Plots.R``): for each case's first
  exposure era of an exposure (among eras starting on or after ``start_day`` and before
  ``end_day``), outcomes per week relative to the era start (weeks -26 to 25, week 0 starting on
  the exposure day), split into exposed (on a day of one of the case's eras of that exposure) and
  unexposed, and the number of cases observed during each week.
* :func:`spans` is OHDSI's ``computeSpans`` (``R/Export.R``): per age month (or calendar month),
  the number of cases whose observation covers that month and the months before and after it.
  Two deviations, both slips in OHDSI 6.0.0: the first age month is computed from the age in days
  at the first observed day (OHDSI adds the start day in months to the age in days), and a month
  inside the range that no case covers counts 0 (OHDSI repeats the previous month's count).

Examples
--------
>>> import pandas as pd
>>> from analysis.omop.population import StudyPopulation
>>> cases = pd.DataFrame({"case_id": [1], "observation_period_start_date":
...     pd.to_datetime(["2020-01-15"]), "age_at_obs_start": [3652], "start_day": [0],
...     "end_day": [120]})
>>> pop = StudyPopulation(cases, pd.DataFrame({"case_id": [1], "outcome_day": [40]}),
...                       pd.DataFrame(), 3)
>>> spans(pop, "time")[["calendar_month", "cover_before_after_subjects"]].values.tolist()
[[2, 1], [3, 1]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.omop.population import StudyPopulation

__all__ = ["spans", "time_to_event"]

_MONTH_DAYS = 365.25 / 12
_WEEKS = np.arange(-26, 26)


def time_to_event(pop: StudyPopulation, eras: pd.DataFrame, exposure_id: int) -> pd.DataFrame:
    """OHDSI's ``computeTimeToEvent``: ``week, observed_subjects, events_exposed,
    events_unexposed`` for the weeks with at least one case observed.

    Examples
    --------
    >>> import pandas as pd
    >>> cases = pd.DataFrame({"case_id": [1], "start_day": [0], "end_day": [100]})
    >>> eras = pd.DataFrame({"era_type": ["rx"], "case_id": [1], "era_id": [7],
    ...                      "era_start_day": [50], "era_end_day": [53]})
    >>> pop = StudyPopulation(cases, pd.DataFrame({"case_id": [1], "outcome_day": [52]}),
    ...                       pd.DataFrame(), 3)
    >>> t = time_to_event(pop, eras, 7)
    >>> t.loc[t["week"] == 0, ["events_exposed", "events_unexposed"]].values.tolist()
    [[1, 0]]
    """
    cols = ["week", "observed_subjects", "events_exposed", "events_unexposed"]
    c = pop.cases[["case_id", "start_day", "end_day"]]
    e = eras[(eras["era_type"] == "rx") & (eras["era_id"] == exposure_id)].merge(c, on="case_id")
    e = e[(e["era_start_day"] >= e["start_day"]) & (e["era_start_day"] < e["end_day"])]
    if e.empty:
        return pd.DataFrame(columns=cols)
    first = e.groupby("case_id").agg(era_start_day=("era_start_day", "min"),
                                     start_day=("start_day", "first"),
                                     end_day=("end_day", "first")).reset_index()
    o = pop.outcomes.merge(first[["case_id", "era_start_day"]], on="case_id")
    o = o.assign(delta=o["outcome_day"] - o["era_start_day"])
    on = o[["case_id", "outcome_day"]].reset_index().merge(
        e[["case_id", "era_start_day", "era_end_day"]], on="case_id")
    hit = on[(on["outcome_day"] >= on["era_start_day"]) & (on["outcome_day"] <= on["era_end_day"])]
    o["exposed"] = o.index.isin(hit["index"])
    week = np.floor_divide(o["delta"].to_numpy(), 7)
    keep = (week >= _WEEKS[0]) & (week <= _WEEKS[-1])
    ev = pd.DataFrame({"week": week[keep], "exposed": o["exposed"].to_numpy()[keep]})
    exposed = ev.groupby("week")["exposed"].sum()
    total = ev.groupby("week").size()
    lo = (first["start_day"] - first["era_start_day"]).to_numpy()
    hi = (first["end_day"] - first["era_start_day"]).to_numpy()
    starts = _WEEKS * 7
    observed = ((hi[None, :] >= starts[:, None]) & (lo[None, :] < starts[:, None] + 7)).sum(axis=1)
    out = pd.DataFrame({"week": _WEEKS, "observed_subjects": observed})
    out["events_exposed"] = out["week"].map(exposed).fillna(0).astype(np.int64)
    out["events_unexposed"] = (out["week"].map(total).fillna(0).astype(np.int64)
                               - out["events_exposed"])
    return out[out["observed_subjects"] > 0].reset_index(drop=True)[cols]


def _month_of(dates: pd.Series) -> np.ndarray:
    return (dates.dt.year * 12 + dates.dt.month - 1).to_numpy(dtype=np.int64)


def spans(pop: StudyPopulation, variable: str = "age") -> pd.DataFrame:
    """OHDSI's ``computeSpans`` (see the module docstring).

    Returns
    -------
    DataFrame
        ``age_month`` (``variable="age"``) or ``calendar_year, calendar_month`` (``"time"``),
        and ``cover_before_after_subjects``.
    """
    c = pop.cases
    if variable == "age":
        start = np.ceil((c["age_at_obs_start"] + c["start_day"]) / _MONTH_DAYS).to_numpy() + 1
        end = np.floor((c["age_at_obs_start"] + c["end_day"]) / _MONTH_DAYS).to_numpy() - 1
    else:
        base = pd.to_datetime(c["observation_period_start_date"])
        start = _month_of(base + pd.to_timedelta(c["start_day"], unit="D")) + 1
        end = _month_of(base + pd.to_timedelta(c["end_day"], unit="D")) - 1
    start, end = start.astype(np.int64), end.astype(np.int64)
    keep = end > start
    start, end = start[keep], end[keep]
    if not len(start):
        counts = pd.DataFrame({"month": np.array([], dtype=np.int64),
                               "count": np.array([], dtype=np.int64)})
    else:
        lo, hi = int(start.min()), int(end.max())
        delta = np.zeros(hi - lo + 2, dtype=np.int64)
        np.add.at(delta, start - lo, 1)
        np.add.at(delta, end - lo, -1)
        counts = pd.DataFrame({"month": np.arange(lo, hi + 1), "count": np.cumsum(delta)[:-1]})
        nz = np.flatnonzero(counts["count"].to_numpy())
        counts = counts.iloc[nz[0]:nz[-1] + 1] if len(nz) else counts.iloc[:0]
    if variable == "age":
        return pd.DataFrame({"age_month": counts["month"].to_numpy(),
                             "cover_before_after_subjects": counts["count"].to_numpy()})
    m = counts["month"].to_numpy()
    return pd.DataFrame({"calendar_year": m // 12, "calendar_month": m % 12 + 1,
                         "cover_before_after_subjects": counts["count"].to_numpy()})
