"""Descriptive quantities of the study: rates, HGG, Table 2, labs at infection, sites, organisms.

Everything here is computed from the same day counting as the SCCS models
(:func:`analysis.study.study_intervals`), so person-time on and off IVIG, seasons and IgG levels
agree across the book. Conventions (documented because the paper does not state them):

* Rates are infections per patient-year, ``events / (days / 365.25)`` (contract). The paper's
  on/off-IVIG rates (1.78 vs 3.10) cannot be pooled rates of the same data as its seasonal rates
  (inconsistencies.md item 1), so both definitions are reported: ``rate_pooled`` (all events over
  all person-time of the cell) and ``rate_mean`` (the mean over patients with person-time in the
  cell of each patient's own rate; short stretches of person-time make single patients' rates
  volatile, which is why the two can differ a lot).
* "Months" are days / 30.4375 (= 365.25 / 12).
* HGG during the study period (Table 2): the lowest functional IgG *measured* within the
  observation period is below the threshold (a pre-daratumumab baseline does not count);
  see :func:`hgg_by_patient`, which the calibration table and the audit read as well.
* Time with HGG: share of a patient's observed days with a known functional IgG level that are
  below 700 mg/dL (the contract's "IgG level on a day"); the groups are compared with a
  two-sided Mann-Whitney U (Wilcoxon rank-sum) test, as the paper names no test.
* Labs at infection: ANC and ALC as recorded with the infection; proportions below 0.5 and 1.0
  (x10^3/uL, strict ``<`` as in the Results and Table 2; the Methods say ``<=``) among the
  infections of a grade group with that lab recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.sccs import try_fit
from analysis.study.data import (
    CohortLike,
    baseline_igg,
    first_ivig,
    igg_measurements,
    igg_on_days,
    infections_in_observation,
    months_on_dara,
    observation_periods,
    study_data,
)
from analysis.study.definitions import (
    DAYS_PER_MONTH,
    DAYS_PER_YEAR,
    HGG_THRESHOLDS,
    ON_IVIG_DAYS,
    ORGANISMS,
    PROGRESSION_DAYS,
    RESPIRATORY,
    SITES,
    Outcome,
    outcome_mask,
    to_day,
)
from analysis.study.models import fit_sccs, study_intervals

LAB_THRESHOLDS: tuple[float, ...] = (0.5, 1.0)


# --- person-time and labelled infections -----------------------------------------------------
def person_time(cohort: CohortLike) -> pd.DataFrame:
    """Days per patient x IVIG status x season, both groups.

    Columns ``patient_id, group, on_ivig, fall_winter, days`` (cells without days are absent).
    """
    iv = study_intervals(cohort, "all", group=None, adjust=("season",))
    cells = iv.groupby(["id", "on_ivig", "fall_winter"], as_index=False, sort=False)["days"].sum()
    groups = observation_periods(cohort).set_index("patient_id")["group"]
    cells.insert(1, "group", cells["id"].map(groups).to_numpy())
    return cells.rename(columns={"id": "patient_id"})


def labelled_infections(cohort: CohortLike) -> pd.DataFrame:
    """Infections in observation (both groups) with ``on_ivig``, ``fall_winter`` and ``period``.

    ``period`` is ``"on_ivig"`` / ``"observation"`` in the IVIG group and ``"reference"`` in the
    reference group. The status of the onset day is read off the interval table with a backward
    ``merge_asof`` on interval starts.
    """
    inf = infections_in_observation(cohort)
    iv = study_intervals(cohort, "all", group=None, adjust=("season",))
    lookup = iv[["id", "start", "on_ivig", "fall_winter"]].sort_values("start", kind="stable")
    q = inf.assign(_row=np.arange(len(inf)), id=inf["patient_id"]).sort_values("day", kind="stable")
    m = pd.merge_asof(q, lookup, left_on="day", right_on="start", by="id", direction="backward")
    m = m.sort_values("_row").reset_index(drop=True)
    inf["on_ivig"] = m["on_ivig"].to_numpy().astype(int)
    inf["fall_winter"] = m["fall_winter"].to_numpy().astype(int)
    inf["period"] = np.where(
        inf["group"] == "reference", "reference",
        np.where(inf["on_ivig"] == 1, "on_ivig", "observation"),
    )
    return inf


def _period_of(group: pd.Series, on_ivig: pd.Series) -> np.ndarray:
    return np.where(group == "reference", "reference",
                    np.where(on_ivig == 1, "on_ivig", "observation"))


# --- rates -----------------------------------------------------------------------------------
def infection_rates(cohort: CohortLike, outcome: Outcome = "all") -> pd.DataFrame:
    """Infection rates per patient-year by period and season, pooled and mean of per-patient rates.

    One row per (``period``, ``season``) with ``period`` in ``on_ivig``, ``observation``,
    ``ivig_all`` (the IVIG group's whole observed time) and ``reference``, and ``season`` in
    ``all``, ``fall_winter``, ``spring_summer``. Columns: ``period, season, n_patients`` (with
    person-time in the cell), ``events, days, person_years, rate_pooled, rate_mean``.
    """
    pt = person_time(cohort)
    pt["period"] = _period_of(pt["group"], pt["on_ivig"])
    inf = labelled_infections(cohort)
    inf = inf[outcome_mask(inf, outcome)]
    ev = inf.groupby(["patient_id", "on_ivig", "fall_winter"], sort=False).size().rename("events")
    pt = pt.merge(ev.reset_index(), on=["patient_id", "on_ivig", "fall_winter"], how="left")
    pt["events"] = pt["events"].fillna(0).astype(int)
    pt["season"] = np.where(pt["fall_winter"] == 1, "fall_winter", "spring_summer")
    ivig_all = pt[pt["group"] == "ivig"].assign(period="ivig_all")
    long = pd.concat([pt, ivig_all, pt.assign(season="all"),
                      ivig_all.assign(season="all")], ignore_index=True)
    per_patient = long.groupby(["period", "season", "patient_id"], as_index=False)[
        ["events", "days"]].sum()
    per_patient["rate"] = per_patient["events"] / (per_patient["days"] / DAYS_PER_YEAR)
    out = per_patient.groupby(["period", "season"], as_index=False).agg(
        n_patients=("patient_id", "size"), events=("events", "sum"), days=("days", "sum"),
        rate_mean=("rate", "mean"),
    )
    out["person_years"] = out["days"] / DAYS_PER_YEAR
    out["rate_pooled"] = out["events"] / out["person_years"]
    order = {"on_ivig": 0, "observation": 1, "ivig_all": 2, "reference": 3}
    seasons = {"all": 0, "fall_winter": 1, "spring_summer": 2}
    out = out.sort_values(["period", "season"], key=lambda s: s.map(order if s.name == "period"
                                                                    else seasons))
    cols = ["period", "season", "n_patients", "events", "days", "person_years", "rate_pooled",
            "rate_mean"]
    return out[cols].reset_index(drop=True)


def ivig_share_by_season(cohort: CohortLike) -> pd.DataFrame:
    """Share of the IVIG group's person-time that is on IVIG, by season (and overall).

    Columns ``season, on_ivig_days, days, share`` (share on a 0-1 scale).
    """
    pt = person_time(cohort)
    pt = pt[pt["group"] == "ivig"]
    pt = pt.assign(season=np.where(pt["fall_winter"] == 1, "fall_winter", "spring_summer"),
                   on_days=pt["days"] * pt["on_ivig"])
    both = pd.concat([pt, pt.assign(season="all")])
    out = both.groupby("season", as_index=False).agg(on_ivig_days=("on_days", "sum"),
                                                    days=("days", "sum"))
    out["share"] = out["on_ivig_days"] / out["days"]
    return out.sort_values("season", key=lambda s: s.map(
        {"all": 0, "fall_winter": 1, "spring_summer": 2})).reset_index(drop=True)


#: Categories of :func:`rates_by_category` (the paper's Figure 1: grade, type, site): category
#: name, kind, and the outcome (:func:`analysis.study.outcome_mask`) that defines it.
CATEGORIES: tuple[tuple[str, str, Outcome], ...] = (
    ("all", "all", "all"),
    ("grade_1_2", "grade", "grade12"),
    ("grade_3_4", "grade", "grade3"),
    *((o, "organism", o) for o in ("bacterial", "viral", "fungal")),
    ("unconfirmed", "organism",
     lambda inf: (inf["organism"].astype("string") == "unconfirmed").fillna(False)),
    ("respiratory", "site", "respiratory"),
    *((s, "site", s) for s in SITES),
)


def rates_by_category(cohort: CohortLike) -> pd.DataFrame:
    """Pooled rates per patient-year by infection category and period (Figure 1 context).

    Categories (:data:`CATEGORIES`): ``all``, ``grade_1_2``, ``grade_3_4``, each organism, each
    site and ``respiratory`` (upper + lower). Periods: ``on_ivig``, ``observation`` (IVIG group)
    and ``reference``. Columns ``category, kind`` (all/grade/organism/site), ``outcome`` (the
    outcome name for the SCCS models, None for ``unconfirmed``), ``period, events, days,
    person_years, rate``.
    """
    pt = person_time(cohort)
    pt["period"] = _period_of(pt["group"], pt["on_ivig"])
    days = pt.groupby("period")["days"].sum()
    inf = labelled_infections(cohort)
    frames = []
    for name, kind, outcome in CATEGORIES:
        mask = outcome_mask(inf, outcome)
        counts = inf.loc[mask, "period"].value_counts().reindex(days.index, fill_value=0)
        frames.append(pd.DataFrame({"category": name, "kind": kind,
                                    "outcome": outcome if isinstance(outcome, str) else None,
                                    "period": days.index, "events": counts.to_numpy(),
                                    "days": days.to_numpy()}))
    out = pd.concat(frames, ignore_index=True)
    out["person_years"] = out["days"] / DAYS_PER_YEAR
    out["rate"] = out["events"] / out["person_years"]
    return out


# --- per-patient descriptives -----------------------------------------------------------------
def hgg_by_patient(cohort: CohortLike) -> pd.DataFrame:
    """Per patient (both groups): HGG during the study period, and time spent with HGG.

    Columns ``patient_id, group, n_measured, min_igg, ever_below_700/400/200`` (bool),
    ``days_known, days_below_700/400/200`` and ``share_below_700`` (0-1; NaN if no known day).
    Two definitions, each used for one question (the book, the audit and the calibration table
    all read them from here):

    * "HGG during the study period" (Table 2; Results): ``min_igg`` is the lowest functional IgG
      *measured* within the patient's observation period (``n_measured`` measurement days; NaN if
      none) and ``ever_below_T`` is ``min_igg < T``. The paper's IgG troughs "were measured to
      reflect the maximal severity of HGG" during the study period, so a pre-daratumumab baseline
      value does not count here (inconsistencies.md item 6).
    * "Time with HGG": ``days_known`` / ``days_below_T`` count observed days by the contract's
      "IgG level on a day" rule (latest measurement on or before the day, the baseline before the
      first one), which is the right reading for a share of time (``share_below_700``).
    """
    iv = study_intervals(cohort, "all", group=None, igg_level=True)
    iv = iv[iv["igg"].notna()]
    cols = {"days_known": iv["days"]}
    for t in HGG_THRESHOLDS:
        cols[f"days_below_{t}"] = iv["days"] * (iv["igg"] < t)
    days = pd.DataFrame(cols).groupby(iv["id"].to_numpy()).sum()
    obs = observation_periods(cohort)
    m = igg_measurements(cohort)
    pos = pd.Index(obs["patient_id"]).get_indexer(m["id"])
    start = np.append(obs["start_day"].to_numpy(), 0)[pos]
    end = np.append(obs["end_day"].to_numpy(), -1)[pos]
    day = m["day"].to_numpy()
    m = m[(pos >= 0) & (day >= start) & (day <= end)]
    measured = m.groupby("id")["value"].agg(n_measured="size", min_igg="min")
    out = obs[["patient_id", "group"]].copy()
    out["n_measured"] = out["patient_id"].map(measured["n_measured"]).fillna(0).astype(int)
    out["min_igg"] = out["patient_id"].map(measured["min_igg"]).astype(float)
    for t in HGG_THRESHOLDS:
        out[f"ever_below_{t}"] = (out["min_igg"] < t).to_numpy(dtype=bool)
    for c in cols:
        out[c] = out["patient_id"].map(days[c]).fillna(0).astype(int)
    out["share_below_700"] = out["days_below_700"] / out["days_known"].replace(0, np.nan)
    return out.reset_index(drop=True)


def patient_summary(cohort: CohortLike) -> pd.DataFrame:
    """One row per patient (both groups) with the per-patient quantities of Table 2 and the text.

    Columns: ``patient_id, group, days`` (observed), ``months_on_dara`` ((dara_last - dara_start)
    / 30.4375), ``baseline_igg`` (functional, Table 1 window), ``igg_before_first_ivig``
    (functional IgG level on the day of the first IVIG in observation, contract rule: latest
    measurement on or before that day, else the baseline), ``on_ivig_days, prop_days_on_ivig``,
    ``n_ivig_doses`` (in observation), ``time_to_first_ivig_months`` (first IVIG in observation -
    dara_start), ``ivig_months`` (how long IVIG was given, "administered for a median of 7
    months": first to last dose in observation plus the last dose's 30-day on-IVIG window, in
    days / 30.4375; NaN without a dose), ``n_infections, n_infections_g34`` (in observation),
    ``time_to_first_infection_months`` (first onset - dara_start, in days / 30.4375), and the
    :func:`hgg_by_patient` columns.
    """
    obs = observation_periods(cohort)
    out = obs[["patient_id", "group", "start_day", "days"]].copy()
    out["months_on_dara"] = months_on_dara(cohort)
    out["baseline_igg"] = baseline_igg(cohort)["baseline_igg"].to_numpy(float)
    fi = first_ivig(cohort)[["patient_id", "first_ivig_obs_day"]]
    out = out.merge(fi, on="patient_id", how="left")
    has = out["first_ivig_obs_day"].notna().to_numpy()
    level = np.full(len(out), np.nan)
    if has.any():
        level[has] = igg_on_days(cohort, out.loc[has, "patient_id"].to_numpy(),
                                 out.loc[has, "first_ivig_obs_day"].to_numpy().astype("int64"))
    out["igg_before_first_ivig"] = level
    out["time_to_first_ivig_months"] = (out["first_ivig_obs_day"] - out["start_day"]
                                        ) / DAYS_PER_MONTH
    pt = person_time(cohort)
    on_days = (pt["days"] * pt["on_ivig"]).groupby(pt["patient_id"]).sum()
    out["on_ivig_days"] = out["patient_id"].map(on_days).fillna(0).astype(int)
    out["prop_days_on_ivig"] = out["on_ivig_days"] / out["days"]
    iv = study_data(cohort).ivig_days.rename(columns={"id": "patient_id"}).merge(
        obs[["patient_id", "start_day", "end_day"]], on="patient_id")
    iv = iv[(iv["day"] >= iv["start_day"]) & (iv["day"] <= iv["end_day"])]
    doses = iv.groupby("patient_id")["day"].agg(["size", "min", "max"])
    out["n_ivig_doses"] = out["patient_id"].map(doses["size"]).fillna(0).astype(int)
    span = doses["max"] - doses["min"] + ON_IVIG_DAYS
    out["ivig_months"] = out["patient_id"].map(span).astype(float) / DAYS_PER_MONTH
    inf = infections_in_observation(cohort)
    out["n_infections"] = out["patient_id"].map(inf.groupby("patient_id").size()).fillna(0).astype(
        int)
    g34 = inf[inf["grade_group"] == "3-4"].groupby("patient_id").size()
    out["n_infections_g34"] = out["patient_id"].map(g34).fillna(0).astype(int)
    first_inf = inf.groupby("patient_id")["day"].min()
    out["time_to_first_infection_months"] = (out["patient_id"].map(first_inf) - out["start_day"]
                                             ) / DAYS_PER_MONTH
    out = out.merge(hgg_by_patient(cohort).drop(columns="group"), on="patient_id", how="left")
    return out.drop(columns=["start_day", "first_ivig_obs_day"])


def first_infection_times(cohort: CohortLike) -> pd.DataFrame:
    """Time to first infection per patient (both groups), for Kaplan-Meier curves.

    Columns ``patient_id, group, time`` (days from the first daratumumab dose: the first onset in
    observation minus ``dara_start``, as ``time_to_first_infection_months`` of
    :func:`patient_summary`; without an infection, censored at the end of observation: the
    earliest of ``dara_last + 30``, death and last contact) and ``event`` (1: infected). Same
    layout as :func:`analysis.study.cox.cox_data`, so :func:`analysis.study.cox.kaplan_meier`
    takes it as is.
    """
    obs = observation_periods(cohort)
    first = infections_in_observation(cohort).groupby("patient_id")["day"].min()
    day = obs["patient_id"].map(first)
    event = day.notna().to_numpy()
    end = np.where(event, day.to_numpy(float), obs["end_day"].to_numpy(float))
    return pd.DataFrame({"patient_id": obs["patient_id"], "group": obs["group"],
                         "time": end - obs["start_day"].to_numpy(float),
                         "event": event.astype(int)})


def hgg_time_comparison(cohort: CohortLike) -> pd.DataFrame:
    """Share of time with HGG (< 700) per group, and the Mann-Whitney U test between groups.

    One row per group (``ivig``, ``reference``) with ``n`` (patients with a known IgG day),
    ``median, mean`` of the per-patient share, ``pooled`` (days below / days known), and the
    two-sided Mann-Whitney U ``statistic`` and ``p`` (same on both rows; NaN if a group is empty).
    """
    from scipy.stats import mannwhitneyu

    h = hgg_by_patient(cohort)
    h = h[h["days_known"] > 0]
    rows = []
    for g in ("ivig", "reference"):
        s = h[h["group"] == g]
        rows.append({"group": g, "n": len(s), "median": s["share_below_700"].median(),
                     "mean": s["share_below_700"].mean(),
                     "pooled": s["days_below_700"].sum() / s["days_known"].sum()
                     if len(s) else np.nan})
    a = h.loc[h["group"] == "ivig", "share_below_700"].to_numpy()
    b = h.loc[h["group"] == "reference", "share_below_700"].to_numpy()
    stat, p = (np.nan, np.nan)
    if len(a) and len(b):
        res = mannwhitneyu(a, b, alternative="two-sided")
        stat, p = float(res.statistic), float(res.pvalue)
    out = pd.DataFrame(rows)
    out["test"] = "Mann-Whitney U (Wilcoxon rank-sum), two-sided"
    out["statistic"] = stat
    out["p"] = p
    return out


# --- infections: labs, sites, organisms, summary --------------------------------------------
def labs_at_infection(cohort: CohortLike, group: str = "ivig") -> pd.DataFrame:
    """ANC and ALC at infection: distribution and proportions below 0.5 and 1.0 by grade group.

    Rows ``lab`` (anc/alc) x ``grade_group`` (``all``, ``1-2``, ``3-4``) x ``threshold`` (NaN for
    the distribution rows). Columns ``lab, grade_group, threshold, n`` (infections with the lab
    recorded), ``n_below, pct_below`` (0-100), ``median, min, max``.
    """
    inf = infections_in_observation(cohort, group)
    both = pd.concat([inf, inf.assign(grade_group="all")], ignore_index=True)
    rows = []
    for lab in ("anc", "alc"):
        d = both[both[lab].notna()]
        stats = d.groupby("grade_group")[lab].agg(["size", "median", "min", "max"])
        stats = stats.reindex(["all", "1-2", "3-4"])
        for gg, s in stats.iterrows():
            rows.append({"lab": lab, "grade_group": gg, "threshold": np.nan,
                         "n": int(np.nan_to_num(s["size"])), "median": s["median"],
                         "min": s["min"], "max": s["max"]})
            for thr in LAB_THRESHOLDS:
                below = int((d.loc[d["grade_group"] == gg, lab] < thr).sum())
                n = int(np.nan_to_num(s["size"]))
                rows.append({"lab": lab, "grade_group": gg, "threshold": thr, "n": n,
                             "n_below": below, "pct_below": 100.0 * below / n if n else np.nan})
    cols = ["lab", "grade_group", "threshold", "n", "n_below", "pct_below", "median", "min", "max"]
    return pd.DataFrame(rows, columns=cols)


def sites_and_organisms(cohort: CohortLike) -> pd.DataFrame:
    """Counts and percentages of infections by site and by organism, per group.

    Columns ``group, kind`` (site/organism), ``category, n, pct``. Site percentages are of all
    infections in observation (``respiratory`` = upper + lower is added); organism percentages of
    ``bacterial``/``viral``/``fungal`` are of the microbiologically confirmed infections (as the
    paper reports them), ``unconfirmed`` of all infections.
    """
    inf = infections_in_observation(cohort)
    frames = []
    for g, d in inf.groupby("group", sort=True):
        site = d["site"].astype("string").value_counts().reindex(list(SITES), fill_value=0)
        site = pd.concat([pd.Series({"respiratory": site[list(RESPIRATORY)].sum()}), site])
        frames.append(pd.DataFrame({"group": g, "kind": "site", "category": site.index,
                                    "n": site.to_numpy(), "pct": 100.0 * site.to_numpy() / len(d)}))
        org = d["organism"].astype("string").value_counts().reindex(list(ORGANISMS), fill_value=0)
        confirmed = org[["bacterial", "viral", "fungal"]].sum()
        denom = np.array([confirmed, confirmed, confirmed, len(d)], dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            pct = 100.0 * org.to_numpy() / denom
        frames.append(pd.DataFrame({"group": g, "kind": "organism", "category": org.index,
                                    "n": org.to_numpy(), "pct": pct}))
    return pd.concat(frames, ignore_index=True)


def infection_summary(cohort: CohortLike) -> pd.DataFrame:
    """Per group: patients, patients with >= 1 infection, infections, grade 3-4 patients and
    infections, fatal infections (grade 5), and infections at progression (onset within
    ``p .. p + 29`` of a progression date). Columns ``group, quantity, value``."""
    inf = infections_in_observation(cohort)
    progression = study_data(cohort).cohort.progression
    pr = progression[progression["date"].notna()]
    pr = pd.DataFrame({"patient_id": pr["patient_id"], "p": to_day(pr["date"])})
    pairs = inf[["patient_id", "day"]].reset_index().merge(pr, on="patient_id")
    near = pairs[(pairs["day"] >= pairs["p"]) & (pairs["day"] <= pairs["p"] + PROGRESSION_DAYS - 1)]
    inf["at_progression"] = inf.index.isin(near["index"].unique())
    grade = pd.to_numeric(inf["grade"], errors="coerce")
    inf["g34"] = (grade >= 3).fillna(False)
    inf["fatal"] = (grade == 5).fillna(False)
    pts = observation_periods(cohort)
    rows = []
    for g in ("ivig", "reference"):
        d = inf[inf["group"] == g]
        n = int((pts["group"] == g).sum())
        vals = {
            "patients": n,
            "patients_with_infection": d["patient_id"].nunique(),
            "infections": len(d),
            "patients_with_g34": d.loc[d["g34"], "patient_id"].nunique(),
            "infections_g34": int(d["g34"].sum()),
            "fatal_infections": int(d["fatal"].sum()),
            "infections_at_progression": int(d["at_progression"].sum()),
        }
        vals["pct_patients_with_infection"] = 100.0 * vals["patients_with_infection"] / n if n \
            else np.nan
        vals["pct_patients_with_g34"] = 100.0 * vals["patients_with_g34"] / n if n else np.nan
        vals["pct_infections_at_progression"] = (100.0 * vals["infections_at_progression"]
                                                 / len(d)) if len(d) else np.nan
        rows += [{"group": g, "quantity": k, "value": float(v)} for k, v in vals.items()]
    return pd.DataFrame(rows)


# --- the paper's Figure 1 ------------------------------------------------------------------
#: Rows of the paper's Figure 1 (infection rates by grade, type and site): outcome name of
#: :func:`analysis.study.outcome_mask`, the :func:`analysis.study.descriptive.rates_by_category`
#: category, and the row label.
FIGURE1_ROWS: tuple[tuple[str, str, str], ...] = (
    ("all", "all", "All infections"),
    ("grade12", "grade_1_2", "Grade 1-2"),
    ("grade3", "grade_3_4", "Grade 3-4"),
    ("bacterial", "bacterial", "Bacterial"),
    ("viral", "viral", "Viral"),
    ("fungal", "fungal", "Fungal"),
    ("respiratory", "respiratory", "Respiratory"),
    ("upper_respiratory", "upper_respiratory", "Upper respiratory"),
    ("lower_respiratory", "lower_respiratory", "Lower respiratory"),
    ("gastrointestinal", "gastrointestinal", "Gastrointestinal"),
    ("urinary", "urinary", "Urinary tract"),
    ("skin_soft_tissue", "skin_soft_tissue", "Skin and soft tissue"),
    ("bloodstream", "bloodstream", "Bloodstream"),
    ("other", "other", "Other sites"),
)
#: Columns of :func:`figure1_rows`.
FIGURE1_COLUMNS: list[str] = [
    "outcome", "kind", "label", "irr", "ci_low", "ci_high", "p", "n_cases", "n_events",
    "estimable", "reason", "events_on", "events_off", "events_reference", "rate_on", "rate_off",
    "rate_reference",
]


def figure1_rows(cohort: CohortLike,
                 rows: Sequence[tuple[str, str, str]] = FIGURE1_ROWS) -> pd.DataFrame:
    """The paper's Figure 1 as a table: per infection category, the on-IVIG IRR (SCCS, IVIG-group
    cases, :func:`analysis.study.fit_sccs`) and the pooled rates per patient-year on IVIG, in
    observation and in the reference group (:func:`analysis.study.descriptive.rates_by_category`).

    Columns :data:`FIGURE1_COLUMNS`. A category the cohort cannot estimate is kept, with
    ``estimable`` False, NaN estimates and the ``reason``: no cases, or every case's infections
    on one side (no infection on IVIG -> IRR 0; none in observation -> IRR infinite), or the
    engine's own error. The engine's warnings on an estimable row are in ``reason`` too.
    """
    rates = rates_by_category(cohort)
    ev = rates.pivot(index="category", columns="period", values="events")
    rt = rates.pivot(index="category", columns="period", values="rate")
    kind = rates.drop_duplicates("category").set_index("category")["kind"]

    def cell(t: pd.DataFrame, cat: str, period: str) -> float:
        return float(t.loc[cat, period]) if period in t.columns else float("nan")

    out = []
    for outcome, cat, label in rows:
        rec: dict[str, Any] = {"outcome": outcome, "kind": kind.get(cat, ""), "label": label,
                               "irr": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p": np.nan,
                               "n_cases": 0, "n_events": 0, "estimable": False, "reason": ""}
        fit, reason, caught = try_fit(fit_sccs, cohort, outcome)
        if fit is None:
            rec["reason"] = reason.split(":")[0] if reason.startswith("no cases") else reason
        else:
            s = fit.summary.loc["on_ivig"]
            rec.update(n_cases=int(fit.n_cases), n_events=int(fit.n_events))
            finite = all(np.isfinite(float(s[c])) for c in ("irr", "ci_low", "ci_high"))
            if finite and float(s["irr"]) > 0:
                rec.update(irr=float(s["irr"]), ci_low=float(s["ci_low"]),
                           ci_high=float(s["ci_high"]), p=float(s["p"]), estimable=True,
                           reason="; ".join(caught))
            elif float(s["irr"]) == 0:
                rec["reason"] = "no infection on IVIG among the cases"
            elif np.isposinf(float(s["irr"])):
                rec["reason"] = "no infection in observation among the cases"
            else:
                rec["reason"] = "; ".join(caught) or "the model gives no confidence interval"
        for period, col in (("on_ivig", "on"), ("observation", "off"), ("reference", "reference")):
            rec[f"events_{col}"] = cell(ev, cat, period)
            rec[f"rate_{col}"] = cell(rt, cat, period)
        out.append(rec)
    return pd.DataFrame(out, columns=FIGURE1_COLUMNS)
