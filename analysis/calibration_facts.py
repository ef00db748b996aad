"""Day-level facts of any cohort, for the calibration table (contract day counting, vectorised).

:func:`cohort_facts` expands every patient's observation period into one row per day (patient,
day, on IVIG, pre-exposure windows, functional IgG level, fall/winter, progression window, events),
following the data contract's rules exactly; :func:`conditional_poisson` fits the self-controlled
case series likelihood (Poisson with one stratum per patient, conditioned on each patient's number
of events) by Newton's method. These serve as a quick, independent check of the synthetic cohort;
the book's analyses use :mod:`analysis.study` and :mod:`analysis.sccs`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

KEY = np.int64(1 << 21)
TABLES = ("patients", "ivig", "infections", "igg", "progression")


def day_number(values: Any) -> np.ndarray:
    """Dates (datetime64, Timestamp, ISO text) -> int days since 1970-01-01 (NaT -> min int)."""
    s = pd.to_datetime(pd.Series(values), errors="coerce")
    out = s.to_numpy("datetime64[ns]").astype("datetime64[D]").astype(np.int64)
    return out


def as_tables(cohort: Any) -> dict[str, pd.DataFrame]:
    """The five tables of a :class:`analysis.cohort.Cohort` or of a mapping of DataFrames."""
    if isinstance(cohort, Mapping):
        return {k: cohort[k] for k in TABLES}
    return {k: getattr(cohort, k) for k in TABLES}


def _last_le(keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Index of the last sorted key <= query for the same patient (key // KEY), else -1."""
    pos = np.searchsorted(keys, query, side="right") - 1
    ok = pos >= 0
    same = np.zeros(query.size, bool)
    same[ok] = keys[pos[ok]] // KEY == query[ok] // KEY
    return np.where(same, pos, -1)


@dataclass
class Facts:
    """Per-patient and per-day arrays of one cohort (patients in ``patients`` row order)."""

    patients: pd.DataFrame
    group: np.ndarray
    start: np.ndarray
    end: np.ndarray
    days: pd.DataFrame  # one row per observed patient-day
    inf: pd.DataFrame  # infections with pid (int), day, in_obs
    first_ivig: np.ndarray  # day of the earliest IVIG in ivig.csv (-1: none)
    doses: pd.DataFrame  # pid, day, dose
    baseline: np.ndarray  # first functional IgG within dara_start-90..+10 (NaN: none)
    igg_min_obs: np.ndarray  # lowest functional IgG measured in the observation period
    igg_before_first_ivig: np.ndarray  # latest functional IgG on or before the first IVIG


def functional_igg(igg: pd.DataFrame, heavy_by_id: pd.Series) -> np.ndarray:
    """Contract functional IgG: IgG - 1000 * M-spike for IgG myeloma (missing M = 0), floor 0."""
    total = pd.to_numeric(igg["igg_mg_dl"], errors="coerce").to_numpy(float)
    m = pd.to_numeric(igg.get("m_spike_g_dl"), errors="coerce")
    m = np.zeros(len(igg)) if m is None else np.nan_to_num(np.asarray(m, float), nan=0.0)
    is_g = (igg["patient_id"].map(heavy_by_id).astype(str) == "IgG").to_numpy()
    return np.where(is_g, np.maximum(total - 1000 * m, 0.0), total)


def cohort_facts(cohort: Any, *, tail: int = 30, on_days: int = 30, prog_days: int = 30,
                 pre_windows: tuple[int, ...] = (30, 60)) -> Facts:
    """Expand the observation periods into patient-days with every contract covariate."""
    t = as_tables(cohort)
    p = t["patients"].reset_index(drop=True)
    ids = p["patient_id"].astype(str).to_numpy()
    index = pd.Series(np.arange(len(p)), index=ids)
    start = day_number(p["dara_start"])
    end = day_number(p["dara_last"]) + tail
    n = len(p)
    ndays = np.maximum(end - start + 1, 0)
    owner = np.repeat(np.arange(n), ndays)
    offs = np.cumsum(ndays) - ndays
    day = start[owner] + (np.arange(owner.size) - offs[owner])
    q = owner.astype(np.int64) * KEY + day
    # IVIG
    dv = t["ivig"]
    dpid = index.reindex(dv["patient_id"].astype(str)).to_numpy()
    ok = ~np.isnan(dpid)
    dpid = dpid[ok].astype(np.int64)
    dday = day_number(dv["date"])[ok]
    dose = pd.to_numeric(dv.get("dose_g_per_kg"), errors="coerce")
    dose = np.full(ok.sum(), np.nan) if dose is None else np.asarray(dose, float)[ok]
    dkey = np.sort(dpid * KEY + dday)
    on = np.zeros(owner.size, bool)
    if dkey.size:
        pos = _last_le(dkey, q)
        on[pos >= 0] = (q[pos >= 0] - dkey[pos[pos >= 0]]) < on_days
    first = np.full(n, -1, np.int64)
    if dpid.size:
        fmin = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(fmin, dpid, dday)
        first = np.where(fmin == np.iinfo(np.int64).max, -1, fmin)
    cols: dict[str, np.ndarray] = {"pid": owner, "day": day, "on": on}
    f = first[owner]
    for w in pre_windows:
        cols[f"pre{w}"] = (f >= 0) & (day >= f - w) & (day <= f - 1) & ~on
    # IgG level on each day (latest measurement; before it, the baseline -90..+10)
    g = t["igg"]
    gpid = index.reindex(g["patient_id"].astype(str)).to_numpy()
    gok = ~np.isnan(gpid)
    heavy = p.set_index(p["patient_id"].astype(str))["heavy_chain"]
    fv = functional_igg(g, heavy)[gok]
    gpid = gpid[gok].astype(np.int64)
    gday = day_number(g["date"])[gok]
    good = np.isfinite(fv)
    gpid, gday, fv = gpid[good], gday[good], fv[good]
    gkey = gpid * KEY + gday
    o = np.argsort(gkey, kind="stable")
    gkey, fv, gpid, gday = gkey[o], fv[o], gpid[o], gday[o]
    level = np.full(owner.size, np.nan)
    base = np.full(n, np.nan)
    low = np.full(n, np.inf)
    before_iv = np.full(n, np.nan)
    if gkey.size:
        ino = (gday >= start[gpid]) & (gday <= end[gpid])
        np.minimum.at(low, gpid[ino], fv[ino])
        has = first >= 0
        pos_iv = _last_le(gkey, np.arange(n, dtype=np.int64) * KEY + np.where(has, first, 0))
        okiv = has & (pos_iv >= 0)
        before_iv[okiv] = fv[pos_iv[okiv]]
        pos = _last_le(gkey, q)
        level[pos >= 0] = fv[pos[pos >= 0]]
        inwin = (gday >= start[gpid] - 90) & (gday <= start[gpid] + 10)
        bi = np.flatnonzero(inwin)
        if bi.size:
            _, firsts = np.unique(gpid[bi], return_index=True)
            base[gpid[bi[firsts]]] = fv[bi[firsts]]
        level = np.where(pos >= 0, level, base[owner])
        before_iv = np.where((first >= 0) & ~np.isfinite(before_iv), base, before_iv)
    cols["igg"] = level
    month = (day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12) + 1
    cols["fall_winter"] = (month >= 10) | (month <= 3)
    pr = t["progression"]
    ppid = index.reindex(pr["patient_id"].astype(str)).to_numpy()
    pok = ~np.isnan(ppid)
    pkey = np.sort(ppid[pok].astype(np.int64) * KEY + day_number(pr["date"])[pok])
    prog = np.zeros(owner.size, bool)
    if pkey.size:
        pos = _last_le(pkey, q)
        prog[pos >= 0] = (q[pos >= 0] - pkey[pos[pos >= 0]]) < prog_days
    cols["progression"] = prog
    # infections
    x = t["infections"]
    xpid = index.reindex(x["patient_id"].astype(str)).to_numpy()
    xok = ~np.isnan(xpid)
    xpid = np.where(xok, xpid, 0).astype(np.int64)
    xday = day_number(x["date"])
    in_obs = xok & (xday >= start[xpid]) & (xday <= end[xpid])
    grade = pd.to_numeric(x["grade"], errors="coerce").to_numpy(float)
    inf = pd.DataFrame({
        "pid": xpid, "day": xday, "in_obs": in_obs, "grade": grade,
        "site": x["site"].astype(str).to_numpy(), "organism": x["organism"].astype(str).to_numpy(),
        "anc": pd.to_numeric(x.get("anc"), errors="coerce").to_numpy(float)
        if "anc" in x else np.full(len(x), np.nan),
        "alc": pd.to_numeric(x.get("alc"), errors="coerce").to_numpy(float)
        if "alc" in x else np.full(len(x), np.nan),
    })
    row = offs[xpid] + (xday - start[xpid])
    for name, mask in (("events", in_obs), ("events_g34", in_obs & (grade >= 3)),
                       ("events_bacterial", in_obs & (inf["organism"] == "bacterial").to_numpy()),
                       ("events_viral", in_obs & (inf["organism"] == "viral").to_numpy())):
        cols[name] = np.bincount(row[mask], minlength=owner.size)[: owner.size]
    days = pd.DataFrame(cols)
    doses = pd.DataFrame({"pid": dpid, "day": dday, "dose": dose})
    low = np.where(np.isfinite(low), low, np.nan)
    return Facts(p, p["group"].astype(str).to_numpy(), start, end, days, inf, first, doses,
                 base, low, before_iv)


def conditional_poisson(pid: np.ndarray, x: np.ndarray, days: np.ndarray, events: np.ndarray,
                        max_iter: int = 50, tol: float = 1e-10) -> np.ndarray:
    """SCCS log rate ratios: Poisson likelihood conditioned on each patient's total events.

    ``x`` is (rows, terms); rows of patients without events are ignored. Returns the estimates
    (NaN where a term has no information, e.g. no events at one level).
    """
    x = np.asarray(x, float).reshape(len(pid), -1)
    tot = np.bincount(pid, weights=events)
    keep = (tot[pid] > 0) & (days > 0)
    pid, x, days, events = pid[keep], x[keep], days[keep], events[keep]
    _, pid = np.unique(pid, return_inverse=True)
    k = x.shape[1]
    beta = np.zeros(k)
    n_i = np.bincount(pid, weights=events)
    for _ in range(max_iter):
        eta = x @ beta
        w = days * np.exp(eta - eta.max())
        s = np.bincount(pid, weights=w)
        pr = w / s[pid]
        ex = np.stack([np.bincount(pid, weights=pr * x[:, j]) for j in range(k)], axis=1)
        grad = events @ x - n_i @ ex
        xc = x - ex[pid]
        hess = (xc * (pr * n_i[pid])[:, None]).T @ xc
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            return np.full(k, np.nan)
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            break
    if np.any(np.abs(beta) > 15):
        beta[np.abs(beta) > 15] = np.nan
    return beta


def sccs_irr(facts: Facts, terms: list[str], outcome: str = "events",
             group: str = "ivig", hgg: float | None = None) -> dict[str, float]:
    """IRRs of 0/1 day-level terms among the group's cases (one row per patient x pattern)."""
    d = facts.days
    d = d[facts.group[d["pid"].to_numpy()] == group]
    cols = list(terms)
    if hgg is not None:
        d = d[np.isfinite(d["igg"].to_numpy())]
        d = d.assign(hgg=(d["igg"] < hgg).to_numpy())
        cols = ["hgg", *cols]
    agg = d.groupby(["pid", *cols], sort=True).agg(days=("day", "size"),
                                                   events=(outcome, "sum")).reset_index()
    beta = conditional_poisson(agg["pid"].to_numpy(), agg[cols].to_numpy(float),
                               agg["days"].to_numpy(float), agg["events"].to_numpy(float))
    return {c: float(np.exp(b)) for c, b in zip(cols, beta, strict=True)}
