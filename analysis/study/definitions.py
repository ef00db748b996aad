"""The study's own definitions, in one place, and each SCCS analysis of the paper as one call.

Lancman et al. (Haematologica 2026) compare infection rates of myeloma patients on daratumumab
during the 30 days after each IVIG dose ("on IVIG") with the rest of their observed time
("observation"), within patients, with a self-controlled case series (SCCS). This module turns the
data contract's day counting (``data/README.md``, binding) into the inputs of the generic engine:

* :func:`observation_periods` -- ``dara_start`` through the earliest of ``dara_last + 30`` days,
  ``death_date`` and ``last_contact``, ends inclusive (:func:`observation_stops` counts what
  death and last contact remove);
* :func:`outcome_mask` / :func:`outcome_events` -- which infections count for an outcome (all,
  grade 3-4, bacterial, viral, the other grades, types and sites of Figure 1, or a custom
  predicate) and their onset days;
* :func:`igg_steps` -- the functional IgG level as a step function (the contract's "IgG level on a
  day", with the baseline window ``dara_start - 90 .. dara_start + 10``);
* :func:`study_intervals` -- per-patient intervals of constant exposure/covariates with their days
  and event counts, built by the generic :func:`analysis.sccs.intervals.build_intervals`;
* :func:`fit_sccs` -- one SCCS model (:class:`analysis.sccs.SCCS`), terms named ``on_ivig``,
  ``pre_ivig``, ``fall_winter``, ``progression``, ``igg_below_<T>``;
* :func:`analysis.study.models.sccs_menu` -- every SCCS model the paper reports, as one tidy table
  with the matching ``targets.yaml`` ids (also reachable as ``study.sccs_menu``).

Descriptive quantities (rates, HGG, Table 2) live in :mod:`analysis.study.descriptive`; the Cox
models of time to first IVIG in :mod:`analysis.study.cox`.

Dates become integer day numbers (days since 1970-01-01) everywhere, as in the project API.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.sccs import DAYS_PER_YEAR as _SCCS_DAYS_PER_YEAR
from analysis.study.cohort import OBS_TAIL_DAYS as _CONTRACT_OBS_TAIL_DAYS
from analysis.study.cohort import observation_end

if TYPE_CHECKING:  # pragma: no cover - typing only
    from analysis.sccs import SCCS
    from analysis.study.cohort import Cohort

# --- Study constants (the paper's design, data contract v1) ----------------------------------
#: Observation ends this many days after the last daratumumab dose (Methods: "thirty days after");
#: the contract's constant, defined once in :mod:`analysis.study.cohort` (the validator counts items
#: outside observation with it).
OBS_TAIL_DAYS: int = _CONTRACT_OBS_TAIL_DAYS
#: What ends a patient's observation (:func:`observation_periods` ``end_reason``).
OBS_END_TAIL: str = f"dara_last + {OBS_TAIL_DAYS}"
OBS_END_DEATH: str = "death"
OBS_END_CONTACT: str = "last contact"
#: A dose on day ``a`` exposes days ``a .. a + ON_IVIG_DAYS - 1`` ("within 30 days after IVIG").
ON_IVIG_DAYS: int = 30
#: A progression on day ``p`` marks days ``p .. p + PROGRESSION_DAYS - 1`` (sensitivity covariate).
PROGRESSION_DAYS: int = 30
#: Pre-exposure windows (days before the first IVIG) of the indication-bias diagnostic.
PRE_WINDOWS: tuple[int, ...] = (30, 60)
#: Hypogammaglobulinemia cut-offs in mg/dL: any (<700), moderate or worse (<400), severe (<200).
HGG_THRESHOLDS: tuple[int, ...] = (700, 400, 200)
#: Fall/winter months (1 October to 31 March); the rest is spring/summer.
FALL_WINTER_MONTHS: tuple[int, ...] = (10, 11, 12, 1, 2, 3)
#: Outcomes of the paper's SCCS models (the ``sccs`` command's choices).
OUTCOMES: tuple[str, ...] = ("all", "grade3", "bacterial", "viral")
#: Contract infection sites, and the two that make up "respiratory".
SITES: tuple[str, ...] = ("upper_respiratory", "lower_respiratory", "gastrointestinal", "urinary",
                          "skin_soft_tissue", "bloodstream", "other")
RESPIRATORY: tuple[str, ...] = ("upper_respiratory", "lower_respiratory")
#: Contract organism categories (``unconfirmed``: no microbiological confirmation).
ORGANISMS: tuple[str, ...] = ("bacterial", "viral", "fungal", "unconfirmed")
#: Every named outcome, in the order of the paper's Figure 1 (grade, type, site): the SCCS
#: outcomes above, grade 1-2, fungal infections, respiratory (upper + lower) and each site.
#: :func:`outcome_mask` defines each one; any function of the infections table returning a
#: boolean mask is accepted as a custom outcome as well.
NAMED_OUTCOMES: tuple[str, ...] = ("all", "grade12", "grade3", "bacterial", "viral", "fungal",
                                   "respiratory", *SITES)
#: Human-readable outcome labels (for tables, figures and the CLI).
OUTCOME_LABELS: dict[str, str] = {
    "all": "all-grade infections",
    "grade12": "grade 1-2 infections",
    "grade3": "grade 3-4 infections",
    "bacterial": "bacterial infections",
    "viral": "viral infections",
    "fungal": "fungal infections",
    "respiratory": "respiratory infections",
    "upper_respiratory": "upper respiratory infections",
    "lower_respiratory": "lower respiratory infections",
    "gastrointestinal": "gastrointestinal infections",
    "urinary": "urinary tract infections",
    "skin_soft_tissue": "skin and soft tissue infections",
    "bloodstream": "bloodstream infections",
    "other": "infections at other sites",
}
#: An outcome: a name of :data:`NAMED_OUTCOMES`, or a predicate ``infections -> boolean mask``
#: (one value per row of the infections table, contract columns plus those added by
#: :func:`infections_in_observation`).
Outcome = str | Callable[[pd.DataFrame], Any]
#: Baseline IgG window: first measurement within ``dara_start - 90 .. dara_start + 10`` days.
BASELINE_IGG_WINDOW: tuple[int, int] = (-90, 10)
#: Adjustments accepted by :func:`fit_sccs` (time-varying covariates of the sensitivity analyses).
ADJUSTMENTS: tuple[str, ...] = ("season", "progression")
#: Days per year for rates per patient-year (contract) and per month for "months" (365.25 / 12).
DAYS_PER_YEAR: float = _SCCS_DAYS_PER_YEAR  # the SCCS library's rate convention
DAYS_PER_MONTH: float = 30.4375
#: Exposure level codes in the interval table.
LEVEL_OBSERVATION, LEVEL_ON_IVIG, LEVEL_PRE_IVIG = 0, 1, -1


class StudyError(ValueError):
    """A request the study cannot answer (unknown outcome, no cases, bad option)."""


# --- day numbers -------------------------------------------------------------------------------
def to_day(values: pd.Series | pd.Index | np.ndarray) -> np.ndarray:
    """Dates -> int64 day numbers (days since 1970-01-01); NaT becomes the int64 minimum.

    Callers drop missing dates before converting; the sentinel only keeps the dtype integral.
    Values already of a datetime64 dtype (every loaded cohort) skip ``pd.to_datetime``, which
    dominated the cost of small cohorts (the simulator's seed search fits thousands of models).
    """
    arr = np.asarray(values)
    if not np.issubdtype(arr.dtype, np.datetime64):
        arr = np.asarray(pd.to_datetime(values), dtype="datetime64[ns]")
    return arr.astype("datetime64[D]").astype("int64")


def from_day(days: np.ndarray | pd.Series) -> pd.Series:
    """Int day numbers -> pandas Timestamps (for display columns)."""
    return pd.Series(np.asarray(days, dtype="int64").astype("datetime64[D]").astype(
        "datetime64[ns]"))


def month_of_day(days: np.ndarray) -> np.ndarray:
    """Calendar month (1-12) of int day numbers, vectorised."""
    d = np.asarray(days, dtype="int64").astype("datetime64[D]")
    return (d.astype("datetime64[M]").astype("int64") % 12 + 1).astype("int64")


# --- observation periods and events ----------------------------------------------------------
def observation_periods(cohort: Cohort, group: str | None = None) -> pd.DataFrame:
    """Each patient's observation period (contract): ``dara_start`` through the earliest of
    ``dara_last + OBS_TAIL_DAYS``, ``death_date`` and ``last_contact``.

    Returns one row per patient (file order) with columns ``patient_id, group, start, end``
    (Timestamps), ``start_day, end_day`` (int day numbers, inclusive), ``days``
    (``end_day - start_day + 1``), ``tail_end_day`` (``dara_last + OBS_TAIL_DAYS``, where the
    paper's rule alone would end it) and ``end_reason`` (``"dara_last + 30"``, ``"death"`` or
    ``"last contact"``: what ends it; a tie goes to the tail, then death). ``group`` restricts to
    ``"ivig"`` or ``"reference"``. The end itself is :func:`analysis.study.cohort.observation_end`,
    the one implementation of the rule; :func:`observation_stops` counts what it removes.

    Examples
    --------
    >>> from analysis.study import load_cohort, observation_periods
    >>> obs = observation_periods(load_cohort("data/synthetic"), "ivig")  # doctest: +SKIP
    >>> obs[["patient_id", "start_day", "end_day", "days", "end_reason"]].head()  # doctest: +SKIP
    """
    p = cohort.patients
    ids = p["patient_id"].astype(str).to_numpy()
    groups = p["group"].astype(str).to_numpy()
    start_day = to_day(p["dara_start"])
    tail_day = to_day(p["dara_last"]) + OBS_TAIL_DAYS
    end_day = to_day(observation_end(p))
    death = p["death_date"].notna().to_numpy() & (to_day(p["death_date"]) == end_day)
    reason = np.where(end_day == tail_day, OBS_END_TAIL,
                      np.where(death, OBS_END_DEATH, OBS_END_CONTACT))
    if group is not None:  # on arrays: filtering the whole patients table costs more
        keep = groups == group
        ids, groups, start_day, end_day = ids[keep], groups[keep], start_day[keep], end_day[keep]
        tail_day, reason = tail_day[keep], reason[keep]
    return pd.DataFrame({
        "patient_id": ids, "group": groups, "start": from_day(start_day),
        "end": from_day(end_day), "start_day": start_day, "end_day": end_day,
        "days": end_day - start_day + 1, "tail_end_day": tail_day, "end_reason": reason,
    })


def observation_stops(cohort: Cohort) -> pd.DataFrame:
    """What the contract's death and last-contact rule removes, per group and reason.

    One row per ``group`` (``ivig``, ``reference``, ``all``) and ``end_reason`` (``death``,
    ``last contact``, ``any``): ``patients`` whose observation ends before ``dara_last + 30`` for
    that reason and ``days_removed`` (the observed days the paper's rule alone would have
    counted: ``tail_end_day - end_day``). Zero rows are kept, so a cohort without early ends
    reads 0 everywhere.
    """
    obs = observation_periods(cohort)
    obs = obs.assign(removed=obs["tail_end_day"] - obs["end_day"])
    early = obs[obs["end_reason"] != OBS_END_TAIL]
    rows = []
    for group in ("ivig", "reference", "all"):
        g = early if group == "all" else early[early["group"] == group]
        for reason in (OBS_END_DEATH, OBS_END_CONTACT, "any"):
            r = g if reason == "any" else g[g["end_reason"] == reason]
            rows.append({"group": group, "end_reason": reason, "patients": len(r),
                         "days_removed": int(r["removed"].sum())})
    return pd.DataFrame(rows)


def months_on_dara(cohort: Cohort) -> np.ndarray:
    """Months on daratumumab per patient (``patients.csv`` order): ``(dara_last - dara_start)``
    days / :data:`DAYS_PER_MONTH` (Table 1's "Months on dara"; the observation tail not counted).
    """
    p = cohort.patients
    return (to_day(p["dara_last"]) - to_day(p["dara_start"])) / DAYS_PER_MONTH


def _check_outcome(outcome: Outcome) -> None:
    if callable(outcome):
        return
    if not isinstance(outcome, str) or outcome not in NAMED_OUTCOMES:
        raise StudyError(
            f"unknown outcome {outcome!r}; choose one of {', '.join(NAMED_OUTCOMES)}, or pass a "
            "function of the infections table returning a boolean mask"
        )


def outcome_label(outcome: Outcome) -> str:
    """Readable name of an outcome (plural, e.g. "grade 3-4 infections"); a custom predicate is
    named by its ``__name__`` ("infections of the custom outcome" for a lambda)."""
    if callable(outcome):
        name = getattr(outcome, "__name__", "")
        return "infections of the custom outcome" if name in ("", "<lambda>") else \
            f"{name.replace('_', ' ')} infections"
    return OUTCOME_LABELS[outcome]


def outcome_mask(infections: pd.DataFrame, outcome: Outcome) -> np.ndarray:
    """Boolean mask of the infections that count for ``outcome`` (the one definition of each).

    ``all``: every episode; ``grade3``: CTCAE grade >= 3 (the paper's "grade 3-4"; no grade 5
    occurred, the contract counts grade >= 3); ``grade12``: grade 1-2; ``bacterial`` / ``viral``
    / ``fungal``: microbiologically confirmed organism; ``respiratory``: upper or lower
    respiratory tract; a site name: that site. A callable is applied to ``infections`` and must
    return one boolean per row (missing values count as False).
    """
    _check_outcome(outcome)
    n = len(infections)
    if callable(outcome):
        raw = outcome(infections)
        values = raw.to_numpy() if isinstance(raw, (pd.Series, pd.Index)) else np.asarray(raw)
        if values.shape != (n,):
            raise StudyError(f"custom outcome returned {values.size} values for {n} infections")
        try:
            return pd.array(values, dtype="boolean").fillna(False).to_numpy(dtype=bool)
        except (TypeError, ValueError) as exc:
            raise StudyError(f"custom outcome must return booleans ({exc})") from None
    if outcome == "all":
        return np.ones(n, dtype=bool)
    if outcome in ("grade3", "grade12"):
        grade = pd.to_numeric(infections["grade"], errors="coerce")
        hit = grade >= 3 if outcome == "grade3" else grade < 3
        return hit.fillna(False).to_numpy(dtype=bool)
    if outcome in ORGANISMS:
        return (infections["organism"].astype("string") == outcome).fillna(False).to_numpy(
            dtype=bool)
    sites = RESPIRATORY if outcome == "respiratory" else (outcome,)
    return infections["site"].astype("string").isin(list(sites)).fillna(False).to_numpy(
        dtype=bool)


def infections_in_observation(cohort: Cohort, group: str | None = None) -> pd.DataFrame:
    """Infections dated inside their patient's observation period, with helper columns.

    Adds ``day`` (int), ``group``, ``start_day``, ``end_day`` and ``grade_group`` (``"1-2"`` or
    ``"3-4"``; grade >= 3 counts as 3-4) to the contract columns. File order is kept.
    """
    obs = observation_periods(cohort, group)
    inf = cohort.infections
    # position of each infection's patient; -1 (another group) lands on an appended sentinel
    pos = pd.Index(obs["patient_id"]).get_indexer(inf["patient_id"])
    day = to_day(inf["date"])
    start = np.append(obs["start_day"].to_numpy(), 0)[pos]
    end = np.append(obs["end_day"].to_numpy(), 0)[pos]
    keep = (pos >= 0) & (day >= start) & (day <= end)
    inf = inf[keep].reset_index(drop=True)
    inf["group"] = obs["group"].to_numpy()[pos[keep]]
    inf["start_day"], inf["end_day"], inf["day"] = start[keep], end[keep], day[keep]
    grade = pd.to_numeric(inf["grade"], errors="coerce")
    inf["grade_group"] = np.where(grade >= 3, "3-4", "1-2")
    return inf.reset_index(drop=True)


def outcome_events(
    cohort: Cohort, outcome: Outcome = "all", group: str | None = "ivig"
) -> pd.DataFrame:
    """Onset days of the ``outcome`` infections in observation: columns ``id, day``.

    Several infections on one day are several rows (they count several times).
    """
    inf = infections_in_observation(cohort, group)
    inf = inf[outcome_mask(inf, outcome)]
    return pd.DataFrame({"id": inf["patient_id"].to_numpy(), "day": inf["day"].to_numpy()})


# --- IgG ---------------------------------------------------------------------------------------
def functional_igg(cohort: Cohort) -> pd.DataFrame:
    """Functional IgG of every measurement (contract): IgG myeloma subtracts the M-spike.

    For ``heavy_chain == "IgG"``: ``igg_mg_dl - 1000 * m_spike_g_dl`` floored at 0 (a missing
    M-spike counts as 0); otherwise ``igg_mg_dl``. Returns ``patient_id, date, day, igg_mg_dl,
    m_spike_g_dl, functional_igg`` sorted by patient (order of first appearance) and day;
    measurements without an IgG value or date, or of unknown patients, are dropped.
    """
    igg = cohort.igg
    heavy = cohort.patients.set_index("patient_id")["heavy_chain"]
    hc = igg["patient_id"].map(heavy)
    keep = (igg["igg_mg_dl"].notna() & igg["date"].notna() & igg["patient_id"].isin(heavy.index)
            ).to_numpy(dtype=bool)
    igg, hc = igg[keep], hc[keep]
    total = igg["igg_mg_dl"].to_numpy(dtype=float)
    spike = np.nan_to_num(pd.to_numeric(igg["m_spike_g_dl"], errors="coerce").to_numpy(float))
    is_igg_type = (hc == "IgG").to_numpy(dtype=bool)
    day = to_day(igg["date"])
    code = pd.factorize(igg["patient_id"])[0]
    order = np.lexsort((day, code))
    out = pd.DataFrame({
        "patient_id": igg["patient_id"].to_numpy()[order],
        "date": igg["date"].to_numpy()[order],
        "day": day[order],
        "igg_mg_dl": total[order],
        "m_spike_g_dl": igg["m_spike_g_dl"].to_numpy()[order],
        "functional_igg": np.where(is_igg_type, np.maximum(total - 1000.0 * spike, 0.0),
                                   total)[order],
    })
    return out


def baseline_igg(cohort: Cohort, functional: pd.DataFrame | None = None) -> pd.DataFrame:
    """Baseline functional IgG per patient: the first measurement dated within
    ``dara_start - 90 .. dara_start + 10`` (Table 1 note). Columns ``patient_id, baseline_day,
    baseline_igg`` for every patient, in ``patients.csv`` order (NaN where none).
    ``functional`` is :func:`functional_igg` if already computed. Several measurements on the
    baseline day count as that day's trough, as in :func:`igg_measurements` (so the baseline
    does not depend on the row order of ``igg.csv`` and equals the level from that day on)."""
    m = igg_measurements(cohort, functional)  # one row per patient-day (trough), sorted by day
    obs = observation_periods(cohort)[["patient_id", "start_day"]]
    start = m["id"].map(obs.set_index("patient_id")["start_day"]).to_numpy()
    lo, hi = BASELINE_IGG_WINDOW
    rel = m["day"].to_numpy() - start
    m = m[(rel >= lo) & (rel <= hi)]
    first = m.drop_duplicates("id", keep="first").set_index("id")  # sorted by day
    return pd.DataFrame({
        "patient_id": obs["patient_id"].to_numpy(),
        "baseline_day": obs["patient_id"].map(first["day"]).to_numpy(dtype=float),
        "baseline_igg": obs["patient_id"].map(first["value"]).to_numpy(dtype=float),
    })


def igg_measurements(cohort: Cohort, functional: pd.DataFrame | None = None) -> pd.DataFrame:
    """Functional IgG per patient and measurement day: columns ``id, day, value``.

    Several measurements on one day: the lowest functional value counts (a trough; the paper
    measured troughs "to reflect the maximal severity of HGG").
    """
    f = functional_igg(cohort) if functional is None else functional
    code = pd.factorize(f["patient_id"])[0]
    order = np.lexsort((f["functional_igg"].to_numpy(), f["day"].to_numpy(), code))
    f = f.iloc[order]
    first = ~pd.DataFrame({"c": code[order], "d": f["day"].to_numpy()}).duplicated().to_numpy()
    f = f[first]
    return pd.DataFrame({"id": f["patient_id"].to_numpy(), "day": f["day"].to_numpy(),
                         "value": f["functional_igg"].to_numpy()})


def igg_steps(cohort: Cohort) -> pd.DataFrame:
    """The contract's "IgG level on a day" as one step table: columns ``id, day, value``.

    The level on day ``d`` is the value of the latest row with ``day <= d``. Each patient with a
    baseline measurement gets an extra first row at ``day = -10**6`` (before any date) carrying
    the baseline value, so days before the first real measurement take the baseline; patients
    without one have no such row, and their days before the first measurement are unknown.
    (:func:`study_intervals` passes the baseline as ``StepCovariate.initial`` instead.)
    """
    functional = functional_igg(cohort)
    base = baseline_igg(cohort, functional).dropna(subset=["baseline_igg"])
    early = pd.DataFrame({"id": base["patient_id"].to_numpy(), "day": -(10**6),
                          "value": base["baseline_igg"].to_numpy()})
    steps = pd.concat([early, igg_measurements(cohort, functional)], ignore_index=True)
    return steps.sort_values(["id", "day"], kind="stable").reset_index(drop=True)


def igg_on_days(cohort: Cohort, ids: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Functional IgG level (contract rule) of patient ``ids[i]`` on day ``days[i]`` (NaN: unknown).

    Vectorised as one backward ``merge_asof`` of the queries on :func:`igg_steps`.
    """
    steps = igg_steps(cohort)
    query = pd.DataFrame(
        {"id": np.asarray(ids).astype(str), "day": np.asarray(days, dtype="int64")}
    )
    query["_row"] = np.arange(len(query))
    if steps.empty or query.empty:
        return np.full(len(query), np.nan)
    steps = steps.assign(id=steps["id"].astype(str)).sort_values("day", kind="stable")
    merged = pd.merge_asof(
        query.sort_values("day", kind="stable"), steps, on="day", by="id", direction="backward"
    )
    return merged.sort_values("_row")["value"].to_numpy(dtype=float)


# --- IVIG ------------------------------------------------------------------------------------
def first_ivig(cohort: Cohort) -> pd.DataFrame:
    """Earliest IVIG day per patient in ``ivig.csv`` (any date, as the pre-window rule needs) and
    the earliest one inside the observation period (the Cox event). Columns ``patient_id,
    first_ivig_day, first_ivig_obs_day`` for patients with any IVIG."""
    obs = observation_periods(cohort)[["patient_id", "start_day", "end_day"]]
    iv = cohort.ivig[cohort.ivig["date"].notna()]
    iv = iv.assign(day=to_day(iv["date"])).merge(obs, on="patient_id")
    first = iv.groupby("patient_id", sort=False)["day"].min().rename("first_ivig_day")
    in_obs = iv[(iv["day"] >= iv["start_day"]) & (iv["day"] <= iv["end_day"])]
    first_obs = in_obs.groupby("patient_id", sort=False)["day"].min().rename("first_ivig_obs_day")
    return pd.concat([first, first_obs], axis=1).reset_index(names="patient_id")


# --- interval table and SCCS fits --------------------------------------------------------------
def _normalise_adjust(adjust: Sequence[str] | str | None) -> tuple[str, ...]:
    if adjust is None:
        return ()
    items = (adjust,) if isinstance(adjust, str) else tuple(adjust)
    bad = [a for a in items if a not in ADJUSTMENTS]
    if bad:
        raise StudyError(
            f"unknown adjustment {bad[0]!r}; choose from {', '.join(ADJUSTMENTS)}"
        )
    return tuple(dict.fromkeys(items))


def _check_options(pre_window: int | None, hgg: int | None) -> None:
    if pre_window is not None and (int(pre_window) != pre_window or pre_window < 1):
        raise StudyError(
            f"pre-exposure window must be a whole number of days >= 1, got {pre_window}"
        )
    if hgg is not None and hgg not in HGG_THRESHOLDS:
        raise StudyError(
            f"HGG threshold must be one of {', '.join(map(str, HGG_THRESHOLDS))} mg/dL, got {hgg}"
        )


def study_intervals(
    cohort: Cohort,
    outcome: Outcome = "all",
    *,
    pre_window: int | None = None,
    adjust: Sequence[str] | str | None = (),
    hgg: int | None = None,
    group: str | None = "ivig",
    season: bool = False,
    igg_level: bool = False,
    cases_only: bool = False,
) -> pd.DataFrame:
    """Per-patient intervals of constant exposure and covariates, with days and ``outcome`` events.

    Built by :func:`analysis.sccs.intervals.build_intervals` from the contract's day counting and
    merged (adjacent rows with equal covariates are one row). Columns: ``id, start, end, days,
    events, on_ivig`` (0/1), then as requested ``pre_ivig`` (0/1; days ``f - W .. f - 1`` before
    the earliest IVIG ``f``, exposure wins), ``fall_winter`` (0/1; ``adjust`` has "season" or
    ``season=True``), ``progression`` (0/1; ``p .. p + 29``), ``igg`` (functional IgG level on the
    day; ``hgg`` or ``igg_level=True``) and ``igg_below_<hgg>`` (0/1). With ``hgg`` the days of
    unknown IgG level are dropped (they leave HGG models only). ``group=None`` keeps both groups;
    ``cases_only`` keeps patients with >= 1 event in the remaining rows.
    """
    from analysis.sccs.intervals import (
        EventWindow,
        Exposure,
        Season,
        StepCovariate,
        build_intervals,
    )

    _check_outcome(outcome)
    adjust = _normalise_adjust(adjust)
    _check_options(pre_window, hgg)
    obs = observation_periods(cohort, group)
    observation = pd.DataFrame(
        {"id": obs["patient_id"], "start": obs["start_day"], "end": obs["end_day"]}
    )
    events = outcome_events(cohort, outcome, group)
    iv = cohort.ivig[cohort.ivig["date"].notna()]
    exposure = Exposure(
        "on_ivig",
        pd.DataFrame({"id": iv["patient_id"].astype(str).to_numpy(), "day": to_day(iv["date"])}),
        windows=((0, ON_IVIG_DAYS - 1),),
        pre_window=int(pre_window) if pre_window else None,
    )
    covariates: list[Any] = []
    if season or "season" in adjust:
        # level 1 starts 1 April (spring/summer), level 2 starts 1 October (fall/winter)
        covariates.append(Season(starts=((4, 1), (10, 1)), name="season"))
    if "progression" in adjust:
        pr = cohort.progression[cohort.progression["date"].notna()]
        covariates.append(EventWindow(
            "progression",
            pd.DataFrame({"id": pr["patient_id"].astype(str).to_numpy(),
                          "day": to_day(pr["date"])}),
            length=PROGRESSION_DAYS,
        ))
    if hgg is not None or igg_level:
        functional = functional_igg(cohort)
        base = baseline_igg(cohort, functional).dropna(subset=["baseline_igg"])
        covariates.append(StepCovariate(
            "igg",
            igg_measurements(cohort, functional),
            initial=pd.DataFrame({"id": base["patient_id"], "value": base["baseline_igg"]}),
            thresholds=(float(hgg),) if hgg is not None else (),
        ))
    table = build_intervals(observation, events, [exposure], covariates, merge=True)
    out = table[["id", "start", "end", "days", "events"]].copy()
    out["on_ivig"] = (table["on_ivig"].to_numpy() > 0).astype(np.int64)
    if pre_window:
        out["pre_ivig"] = table["on_ivig_pre"].to_numpy().astype(np.int64)
    if "season" in table:
        out["fall_winter"] = (table["season"].to_numpy() == 2).astype(np.int64)
    if "progression" in table:
        out["progression"] = table["progression"].to_numpy().astype(np.int64)
    if "igg" in table:
        out["igg"] = table["igg"].to_numpy(float)
    if hgg is not None:
        below = table[f"igg_below_{hgg:g}"].to_numpy(float)
        keep = ~np.isnan(below)
        out = out[keep].copy()
        out[f"igg_below_{hgg}"] = below[keep].astype(np.int64)
    if cases_only:
        n = out.groupby("id", sort=False)["events"].transform("sum")
        out = out[n.to_numpy() > 0]
    return out.reset_index(drop=True)


def model_terms(
    pre_window: int | None = None,
    adjust: Sequence[str] | str | None = (),
    hgg: int | None = None,
    ivig: bool | None = None,
) -> list[str]:
    """Term names of one SCCS model, in order.

    ``on_ivig`` is in every model except the HGG models, which the paper reports unadjusted
    (design-implied.md: "three separate binary models"); ``ivig=True`` adds it there too.
    """
    adjust = _normalise_adjust(adjust)
    with_ivig = (hgg is None) if ivig is None else bool(ivig)
    terms = ["on_ivig"] if with_ivig else []
    if pre_window:
        terms.append("pre_ivig")
    if "season" in adjust:
        terms.append("fall_winter")
    if "progression" in adjust:
        terms.append("progression")
    if hgg is not None:
        terms.append(f"igg_below_{hgg}")
    return terms


def fit_sccs(
    cohort: Cohort,
    outcome: Outcome = "all",
    *,
    pre_window: int | None = None,
    adjust: Sequence[str] | str | None = (),
    hgg: int | None = None,
    ivig: bool | None = None,
) -> SCCS:
    """Fit one of the paper's SCCS models on the IVIG group's cases; returns the fitted SCCS.

    Cases are the ``ivig``-group patients with at least one ``outcome`` event in observation
    (others carry no information in the conditional likelihood). Terms: see :func:`model_terms`.
    Raises :class:`StudyError` when there are no cases.
    """
    from analysis.sccs import SCCS

    terms = model_terms(pre_window, adjust, hgg, ivig)
    data = study_intervals(
        cohort, outcome, pre_window=pre_window, adjust=adjust, hgg=hgg, cases_only=True
    )
    if data.empty or int(data["events"].sum()) == 0:
        where = " on days with a known IgG level" if hgg is not None else ""
        raise StudyError(
            f"no cases: no IVIG-group patient has any {outcome_label(outcome)} in their "
            f"observation period{where}, so the SCCS model cannot be fitted"
        )
    return SCCS().fit(data, terms)
