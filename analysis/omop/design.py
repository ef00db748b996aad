"""OHDSI's interval data: era covariates, the end-of-observation era, the SCCS and SCRI designs.

The rules are those of ``src/SccsConverter.cpp``, ``R/SccsIntervalData.R`` and
``R/ScriDataConversion.R`` (SelfControlledCaseSeries 6.0.0), computed here with vectorised pandas
and numpy over all cases at once (days are counted from the observation period start, ends
inclusive):

1. **Covariate ids** (``addEraCovariateSettings``): era covariate settings ``i`` (from 1) get
   output ids from 1000 up, one per setting, or one per era id with ``stratify_by_id``; the
   end-of-observation covariate is 99 (SCCS only); a SCRI control interval gets the next id but
   is not a covariate.
2. **Merged eras**: per case and output id, the eras of the setting's era ids, sorted by start,
   are merged when they overlap or touch (an era starting on or before the day after the running
   end joins it); with ``first_occurrence_only`` only the first merged era is kept.
3. **Windows**: each merged era ``[s, e]`` gives ``[start + (e if start_anchor is 'era end'
   else s), end + (e if end_anchor is 'era end' else s)]``; a window starting before day 0 starts
   at day 0; a window reaching the next merged era's start ends the day before it; an empty
   window is dropped.
4. Windows are clipped to the case's observed days ``[start_day, end_day]`` and windows of one
   output id that overlap or touch are merged.
5. **Time covariates** (SCCS): age, season and calendar-time spline components per calendar
   month (:mod:`analysis.omop.time_effects`); with more cases than
   ``min_cases_for_time_covariates``, a case without any era covariate window is kept only if it
   is in a random sample of that many cases. **End of observation** (SCCS): covariate 99 on the
   last ``end_of_observation_era_length`` days (from ``start_day`` if shorter).
6. **Intervals**: the observed days are cut at every window start and every day after a window
   end; a case with a single such interval carries no information and is dropped. Intervals with
   the same set of covariates are summed (days, events on their days).
7. **SCRI**: intervals in no window (neither risk nor control) are dropped, and the control
   interval is the reference (not a covariate).

Covariate statistics (``computeCovariateStatistics``), per output id over the windows of step 4
of the cases kept: ``era_count``, ``day_count``, ``outcome_count`` (outcomes on window days), and
per case having the id: ``observation_period_count``, ``person_count`` (distinct persons),
``observed_day_count`` (``end_day + 1``, as OHDSI) and ``observed_outcome_count``.

Examples
--------
>>> import pandas as pd
>>> from analysis.omop.spec import EraCovariateSettings, IntervalDataArgs
>>> cases = pd.DataFrame({"case_id": [1], "person_id": ["p"], "start_day": [0], "end_day": [99]})
>>> outcomes = pd.DataFrame({"case_id": [1, 1], "outcome_day": [12, 60]})
>>> rx = pd.DataFrame({"era_type": ["rx"], "case_id": [1], "era_id": [5], "era_value": [1.0],
...                    "era_start_day": [10], "era_end_day": [14]})
>>> cov = EraCovariateSettings(include_era_ids=(5,), start=0, end=7, end_anchor="era start",
...                            exposure_of_interest=True)
>>> d = build_interval_data(cases, outcomes, rx, IntervalDataArgs("SCCS", (cov,),
...                         end_of_observation_era_length=0), {})
>>> d.intervals[["cov_1000", "days", "events"]].values.tolist()
[[0, 92, 1], [1, 8, 1]]
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.omop.errors import OmopError
from analysis.omop.spec import EraCovariateSettings, IntervalDataArgs
from analysis.omop.time_effects import TimeEffects, month_matrix, setup
from analysis.sccs import SCCSWarning

__all__ = ["END_OF_OBSERVATION_ID", "IntervalData", "build_interval_data", "covariate_ref"]

#: OHDSI's covariate id of the end-of-observation era.
END_OF_OBSERVATION_ID = 99
_FIRST_ID = 1000
_NEXT_ERA = 99999  # OHDSI's right censor after the last merged era


@dataclass(frozen=True)
class IntervalData:
    """Interval data of one exposures-outcome set under one analysis.

    Attributes
    ----------
    intervals : DataFrame
        ``case_id``, one 0/1 column ``cov_<id>`` per covariate, ``days``, ``events``.
    covariate_ref : DataFrame
        ``covariate_id, covariate_name, covariate_analysis_id, original_era_id,
        is_control_interval, pre_exposure`` (OHDSI's ``covariateRef``).
    covariate_statistics : DataFrame
        Per output id, the counts listed in the module docstring.
    settings : list of (EraCovariateSettings, output ids, era ids)
        The resolved era covariate settings (control interval excluded).
    design : str
        ``"SCCS"`` or ``"SCRI"``.
    time_effects : TimeEffects
        Knots and designs of the age, season and calendar-time splines (none for SCRI).
    """

    intervals: pd.DataFrame
    covariate_ref: pd.DataFrame
    covariate_statistics: pd.DataFrame
    settings: list[tuple[EraCovariateSettings, list[int], list[int]]]
    design: str
    time_effects: TimeEffects = field(default_factory=TimeEffects)

    @property
    def terms(self) -> list[str]:
        """The covariate columns of :attr:`intervals`."""
        return [c for c in self.intervals.columns if c.startswith("cov_")]


def _resolve(ids: tuple[Any, ...], refs: dict[str, int], rx_ids: list[int]) -> list[int]:
    """Era ids of a setting: a reference name this set does not define is -1, as OHDSI's
    reference table (no era has that id); no ids at all means every exposure era."""
    out = [int(refs.get(x, -1)) if isinstance(x, str) else int(x) for x in ids]
    return out if ids else list(rx_ids)


def covariate_ref(args: IntervalDataArgs, refs: dict[str, int], era_ref: pd.DataFrame | None = None
                  ) -> tuple[pd.DataFrame, list[tuple[EraCovariateSettings, list[int], list[int]]],
                             int | None]:
    """OHDSI's ``addEraCovariateSettings`` (+ the end-of-observation row for SCCS).

    ``refs`` maps exposure reference names (``"exposureId"``) to this set's exposure ids.

    Returns
    -------
    covariate_ref, settings, control_id
        ``settings`` holds ``(setting, output ids, era ids)`` in order, the control interval last
        (SCRI); ``control_id`` its output id, or None.
    """
    names = {} if era_ref is None or era_ref.empty else dict(
        zip(era_ref["era_id"].astype(int), era_ref["era_name"].astype(str), strict=False))
    rx_ids = [] if era_ref is None or era_ref.empty else sorted(
        era_ref.loc[era_ref["era_type"] != "hoi", "era_id"].astype(int))
    rows: list[dict[str, Any]] = []
    if args.design == "SCCS" and args.end_of_observation_era_length > 0:
        rows.append(_ref_row(END_OF_OBSERVATION_ID, "End of observation period", None, 0, False))
    every = list(args.era_covariate_settings) + (
        [args.control_interval] if args.control_interval is not None else [])
    settings, next_id, control_id = [], _FIRST_ID, None
    for i, s in enumerate(every, start=1):
        era_ids = [e for e in _resolve(s.include_era_ids, refs, rx_ids)
                   if e not in set(_resolve(s.exclude_era_ids, refs, []))]
        if s.is_control_interval or not s.stratify_by_id:
            out_ids = [next_id]
            if s.is_control_interval:
                control_id = next_id
            else:
                orig = era_ids[0] if len(era_ids) == 1 else 0
                rows.append(_ref_row(next_id, s.label, i, orig, s.pre_exposure))
        else:
            out_ids = list(range(next_id, next_id + len(era_ids)))
            rows += [_ref_row(o, f"{s.label}: {names.get(e, '')}", i, e, s.pre_exposure)
                     for o, e in zip(out_ids, era_ids, strict=True) if e in names]
        next_id += len(out_ids)
        settings.append((s, out_ids, era_ids))
    ref = pd.DataFrame(rows, columns=["covariate_id", "covariate_name", "covariate_analysis_id",
                                      "original_era_id", "is_control_interval", "pre_exposure"])
    return ref, settings, control_id


def _ref_row(cid: int, name: str, analysis: int | None, orig: int, pre: bool | None
             ) -> dict[str, Any]:
    return {"covariate_id": cid, "covariate_name": name, "covariate_analysis_id": analysis,
            "original_era_id": orig, "is_control_interval": False, "pre_exposure": bool(pre)}


def _merge_runs(df: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """Merge rows of ``start``/``end`` that overlap or touch, per ``key`` (sorted by start)."""
    if df.empty:
        return df.assign(block=pd.Series(dtype=np.int64))
    df = df.sort_values([*key, "start", "end"], kind="stable").reset_index(drop=True)
    same = np.ones(len(df), dtype=bool)
    for k in key:
        v = df[k].to_numpy()
        same[1:] &= v[1:] == v[:-1]
    same[0] = False
    running = df.groupby(key, sort=False)["end"].cummax().to_numpy()
    prev_end = np.r_[np.iinfo(np.int64).min, running[:-1]]
    new = ~same | (df["start"].to_numpy() > prev_end + 1)
    df["block"] = np.cumsum(new)
    return df.groupby([*key, "block"], sort=False, as_index=False).agg(
        start=("start", "min"), end=("end", "max"))


def _windows(eras: pd.DataFrame, settings: list[tuple[EraCovariateSettings, list[int], list[int]]]
             ) -> pd.DataFrame:
    """Steps 2-3: each setting's windows, one row per (case_id, cov_id, start, end)."""
    parts = []
    for s, out_ids, era_ids in settings:
        e = eras[eras["era_id"].isin(era_ids)]
        if e.empty:
            continue
        if s.stratify_by_id and not s.is_control_interval:
            cov = e["era_id"].map(dict(zip(era_ids, out_ids, strict=True)))
        else:
            cov = pd.Series(out_ids[0], index=e.index)
        m = _merge_runs(pd.DataFrame({"case_id": e["case_id"].to_numpy(),
                                      "cov_id": cov.to_numpy(dtype=np.int64),
                                      "start": e["era_start_day"].to_numpy(dtype=np.int64),
                                      "end": e["era_end_day"].to_numpy(dtype=np.int64)}),
                        ["case_id", "cov_id"])
        if s.first_occurrence_only:
            m = m.drop_duplicates(["case_id", "cov_id"], keep="first")
        nxt = m.groupby(["case_id", "cov_id"], sort=False)["start"].shift(-1)
        right = nxt.fillna(_NEXT_ERA).to_numpy(dtype=np.int64)
        start = s.start + np.where(s.start_anchor == "era end", m["end"], m["start"])
        end = s.end + np.where(s.end_anchor == "era end", m["end"], m["start"])
        start = np.maximum(start, 0)
        end = np.minimum(end, right - 1)
        w = pd.DataFrame({"case_id": m["case_id"].to_numpy(), "cov_id": m["cov_id"].to_numpy(),
                          "start": start, "end": end})
        parts.append(w[w["end"] >= w["start"]])
    cols = {"case_id": pd.Series(dtype=np.int64), "cov_id": pd.Series(dtype=np.int64),
            "start": pd.Series(dtype=np.int64), "end": pd.Series(dtype=np.int64)}
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(cols)


def _clip(windows: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    w = windows.merge(cases[["case_id", "start_day", "end_day"]], on="case_id")
    w = w[(w["end"] >= w["start_day"]) & (w["start"] <= w["end_day"])]
    w = w.assign(start=np.maximum(w["start"], w["start_day"]),
                 end=np.minimum(w["end"], w["end_day"]))
    return _merge_runs(w[["case_id", "cov_id", "start", "end"]], ["case_id", "cov_id"]).drop(
        columns="block", errors="ignore")


def _end_of_observation(cases: pd.DataFrame, length: int) -> pd.DataFrame:
    start = np.maximum(cases["end_day"].to_numpy() - length + 1, cases["start_day"].to_numpy())
    return pd.DataFrame({"case_id": cases["case_id"].to_numpy(), "cov_id": END_OF_OBSERVATION_ID,
                         "start": start, "end": cases["end_day"].to_numpy()})


def _segments(cases: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """Step 6: cut observed days at every window boundary; ``case_id, seg_start, seg_end``.

    The cut days of all cases in one sorted array of keys (case rank x 2^32 + day; days are
    0 or more, inside the observation period).
    """
    ids = np.concatenate([cases["case_id"].to_numpy(), cases["case_id"].to_numpy(),
                          windows["case_id"].to_numpy(), windows["case_id"].to_numpy()])
    days = np.concatenate([cases["start_day"].to_numpy(), cases["end_day"].to_numpy() + 1,
                           windows["start"].to_numpy(), windows["end"].to_numpy() + 1])
    uniq = np.sort(pd.unique(cases["case_id"].to_numpy()))  # windows are of these cases
    key = np.searchsorted(uniq, ids).astype(np.int64) << 32 | days.astype(np.int64)
    key.sort()
    key = key[np.r_[True, key[1:] != key[:-1]]] if len(key) else key
    rank, day = key >> 32, key & 0xFFFFFFFF
    same = rank[1:] == rank[:-1]
    return pd.DataFrame({"case_id": uniq[rank[:-1][same]].astype(np.int64),
                         "seg_start": day[:-1][same].astype(np.int64),
                         "seg_end": (day[1:][same] - 1).astype(np.int64)})


def _locate(seg: pd.DataFrame, case_ids: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Index of the segment holding each (case, day), or -1 (segments sorted by case, start)."""
    codes = pd.Index(pd.unique(seg["case_id"]))
    big = np.int64(1) << 32
    seg_key = codes.get_indexer(seg["case_id"]).astype(np.int64) * big + seg["seg_start"].to_numpy()
    c = codes.get_indexer(case_ids).astype(np.int64)
    key = c * big + days.astype(np.int64)
    idx = np.searchsorted(seg_key, key, side="right") - 1
    ok = (c >= 0) & (idx >= 0)
    idx = np.where(ok, idx, 0)
    ok &= seg["case_id"].to_numpy()[idx] == case_ids
    ok &= days <= seg["seg_end"].to_numpy()[idx]
    return np.where(ok, idx, -1)


def _statistics(windows: pd.DataFrame, cases: pd.DataFrame, outcomes: pd.DataFrame
                ) -> pd.DataFrame:
    cols = ["covariate_id", "person_count", "era_count", "day_count", "outcome_count",
            "observation_period_count", "observed_day_count", "observed_outcome_count"]
    if windows.empty:
        return pd.DataFrame(columns=cols)
    j = outcomes.merge(windows, on="case_id")
    hits = j[(j["outcome_day"] >= j["start"]) & (j["outcome_day"] <= j["end"])]
    per_id = windows.assign(days=windows["end"] - windows["start"] + 1).groupby("cov_id").agg(
        era_count=("days", "size"), day_count=("days", "sum"))
    per_id["outcome_count"] = hits.groupby("cov_id").size()
    n_out = outcomes.groupby("case_id").size().rename("n_out")
    having = windows[["case_id", "cov_id"]].drop_duplicates().merge(
        cases[["case_id", "person_id", "end_day"]], on="case_id").join(n_out, on="case_id")
    per_case = having.groupby("cov_id").agg(
        person_count=("person_id", "nunique"), observation_period_count=("case_id", "size"),
        observed_day_count=("end_day", lambda d: int((d + 1).sum())),
        observed_outcome_count=("n_out", "sum"))
    out = per_id.join(per_case).fillna(0).astype(np.int64).reset_index(names="covariate_id")
    return out[cols]


def build_interval_data(
    cases: pd.DataFrame,
    outcomes: pd.DataFrame,
    eras: pd.DataFrame,
    args: IntervalDataArgs,
    refs: dict[str, int],
    era_ref: pd.DataFrame | None = None,
    study_periods: list[tuple[int, int]] | None = None,
    segment_weights: Callable[[pd.DataFrame], np.ndarray] | None = None,
) -> IntervalData:
    """OHDSI's ``createSccsIntervalData`` / ``createScriIntervalData`` (see module docstring).

    Parameters
    ----------
    cases, outcomes :
        A :class:`~analysis.omop.population.StudyPopulation`'s ``cases`` (``case_id,
        person_id, start_day, end_day``) and ``outcomes`` (``case_id, outcome_day``).
    eras :
        ``SccsData.eras`` (the ``"rx"`` rows are used).
    args :
        The interval-data settings of the analysis.
    refs :
        Exposure reference names of the exposures-outcome set -> exposure ids.
    era_ref :
        ``SccsData.era_ref`` (era names for ``stratify_by_id``; all exposure eras when
        ``include_era_ids`` is empty).
    study_periods :
        Study periods as months (``year * 12 + month - 1``), for the calendar-time knots.
    segment_weights :
        Event-dependent observation (:mod:`analysis.omop.eventdep`): the weight of each segment
        (``case_id, seg_start, seg_end``) in place of its days, summed per pattern as OHDSI's
        converter does; a case with a weight that is not finite is removed with a warning.

    Returns
    -------
    IntervalData
    """
    for col in ("case_id", "person_id", "start_day", "end_day"):
        if col not in cases.columns:
            raise OmopError(f"study population cases: missing column {col!r}")
    ref, settings, control_id = covariate_ref(args, refs, era_ref)
    cases = cases.assign(start_day=np.floor(cases["start_day"]).astype(np.int64),
                         end_day=np.floor(cases["end_day"]).astype(np.int64))
    rx = eras[(eras["era_type"] != "hoi") & eras["case_id"].isin(cases["case_id"])]
    w = _clip(_windows(rx, settings), cases).assign(value=1.0)
    eff = TimeEffects()
    if args.design == "SCCS" and len(cases) and (args.age or args.season or args.calendar_time):
        eff = setup(cases, outcomes, args.age, args.season, args.calendar_time, study_periods)
    months = None  # the spline components per calendar month, wide (one row per month)
    if eff.any:
        cases = _time_covariate_cases(cases, w, args.min_cases_for_time_covariates)
        w = w[w["case_id"].isin(cases["case_id"])]
        months = month_matrix(cases, eff)
        rows = ref.to_dict("records")
        eoo = [r for r in rows if r["covariate_id"] == END_OF_OBSERVATION_ID]
        ref = pd.DataFrame(eoo + eff.ref_rows() + [r for r in rows if r not in eoo],
                           columns=ref.columns)
    if args.design == "SCCS" and args.end_of_observation_era_length > 0:
        w = pd.concat([w, _end_of_observation(cases, args.end_of_observation_era_length)
                       .assign(value=1.0)], ignore_index=True)
    seg = _segments(cases, w if months is None else pd.concat([w, months[0]]))
    n_seg = seg.groupby("case_id").size()
    keep = n_seg.index[n_seg > 1]
    seg = seg[seg["case_id"].isin(keep)].reset_index(drop=True)
    if segment_weights is not None:
        seg, keep = _weighted(seg, keep, segment_weights)
    w = w[w["case_id"].isin(keep)]
    if months is not None:
        in_kept = months[0]["case_id"].isin(keep).to_numpy()
        months = (months[0][in_kept], months[1], months[2][in_kept])
    kept_cases = cases[cases["case_id"].isin(keep)]
    kept_out = outcomes[outcomes["case_id"].isin(keep)]
    stats = _statistics(w, kept_cases, kept_out)  # era covariates and end of observation
    cov_ids = [int(c) for c in ref["covariate_id"]]
    intervals = _patterns(seg, w, kept_out, cov_ids, control_id, months)
    return IntervalData(intervals, ref, stats,
                        [t for t in settings if not t[0].is_control_interval], args.design, eff)


def _weighted(seg: pd.DataFrame, keep: pd.Index,
              weights: Callable[[pd.DataFrame], np.ndarray]) -> tuple[pd.DataFrame, pd.Index]:
    """Segments with their ``weight``; cases with a non-finite weight removed (OHDSI)."""
    seg = seg.assign(weight=weights(seg))
    bad = pd.unique(seg.loc[~np.isfinite(seg["weight"].to_numpy()), "case_id"])
    if len(bad):
        warnings.warn(f"Cannot compute the weight function of event-dependent observation for "
                      f"{len(bad)} observation period(s): removed from the analysis",
                      SCCSWarning, stacklevel=3)
        seg = seg[~seg["case_id"].isin(bad)].reset_index(drop=True)
        keep = keep[~keep.isin(bad)]
    return seg, keep


def _time_covariate_cases(cases: pd.DataFrame, windows: pd.DataFrame, n: int) -> pd.DataFrame:
    """OHDSI: beyond ``n`` cases, a case without era covariates needs to be in a sample of n."""
    if len(cases) <= n:
        return cases
    sample = np.random.default_rng(0).choice(cases["case_id"].to_numpy(), n, replace=False)
    keep = cases["case_id"].isin(windows["case_id"]) | cases["case_id"].isin(sample)
    return cases[keep]


def _covered(seg: pd.DataFrame, windows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(segment rows, window of each) of the segments each window covers."""
    first = _locate(seg, windows["case_id"].to_numpy(), windows["start"].to_numpy())
    last = _locate(seg, windows["case_id"].to_numpy(), windows["end"].to_numpy())
    n = last - first + 1
    rows = np.repeat(first, n) + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
    return rows, np.repeat(np.arange(len(windows)), n)


def _patterns(seg: pd.DataFrame, w: pd.DataFrame, outcomes: pd.DataFrame, cov_ids: list[int],
              control_id: int | None,
              months: tuple[pd.DataFrame, list[int], np.ndarray] | None = None) -> pd.DataFrame:
    """Steps 6-7: the 0/1 covariate pattern of each segment (and its spline values from
    ``months``: month windows, ids, values), summed per case and pattern."""
    all_ids = cov_ids + ([control_id] if control_id is not None else [])
    col = {c: i for i, c in enumerate(all_ids)}
    x = np.zeros((len(seg), len(all_ids)))
    if len(w) and len(seg):
        rows, which = _covered(seg, w)
        x[rows, w["cov_id"].map(col).to_numpy()[which]] = w["value"].to_numpy(float)[which]
    if months is not None and len(months[0]) and len(seg):
        rows, which = _covered(seg, months[0])
        x[rows[:, None], np.array([col[c] for c in months[1]])[None, :]] = months[2][which]
    events = np.zeros(len(seg), dtype=np.int64)
    if len(outcomes) and len(seg):
        at = _locate(seg, outcomes["case_id"].to_numpy(), outcomes["outcome_day"].to_numpy())
        np.add.at(events, at[at >= 0], 1)
    names = [f"cov_{c}" for c in cov_ids]
    df = pd.DataFrame(x[:, :len(cov_ids)], columns=names)
    df.insert(0, "case_id", seg["case_id"].to_numpy())
    df["days"] = (seg["weight"] if "weight" in seg.columns
                  else seg["seg_end"] - seg["seg_start"] + 1).to_numpy()
    df["events"] = events
    if control_id is not None:
        df = df[(x != 0).any(axis=1)]
    out = df.groupby(["case_id", *names], sort=True, as_index=False)[["days", "events"]].sum()
    dummies = [f"cov_{c}" for c in cov_ids if c < 100 or c >= _FIRST_ID]
    out[dummies] = out[dummies].astype(np.int8)  # 0/1 windows; spline values stay float
    return out[["case_id", *names, "days", "events"]]
