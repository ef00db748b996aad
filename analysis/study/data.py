"""A cohort's derived study tables, built once: :class:`StudyData`.

Every analysis of the paper starts from the same few derived tables: the observation periods
(contract: ``dara_start`` through the earliest of ``dara_last + 30``, ``death_date`` and
``last_contact``), the infections inside them, each outcome's event days, the functional IgG
measurements and the IgG level as a step function, and each patient's first IVIG dose.
:class:`StudyData` builds each of them the first time it is asked for and keeps it, so one call
of, say, :func:`analysis.paper.values.descriptive_values` computes the observation periods
once instead of once per helper.

:func:`study_data` returns the one :class:`StudyData` of a :class:`~analysis.study.cohort.Cohort`
(kept on the cohort, ``cohort.derived``, so it lives and dies with it; a cohort's tables are
treated as read-only). The module-level functions (:func:`observation_periods`,
:func:`infections_in_observation`, ...) are the public way to read these tables: they accept a
``Cohort`` or a ``StudyData`` and return a fresh copy, so a caller may modify what it gets
without touching the cache.

Examples
--------
>>> from analysis.study import load_cohort, study_data
>>> data = study_data(load_cohort("data/synthetic"))  # doctest: +SKIP
>>> data.observation[["patient_id", "start_day", "end_day", "days"]].head()  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import cached_property
from typing import TypeAlias

import numpy as np
import pandas as pd

from analysis.study.cohort import Cohort, observation_end
from analysis.study.definitions import (
    BASELINE_IGG_WINDOW,
    DAYS_PER_MONTH,
    OBS_END_CONTACT,
    OBS_END_DEATH,
    OBS_END_TAIL,
    OBS_TAIL_DAYS,
    Outcome,
    from_day,
    outcome_mask,
    to_day,
)

__all__ = [
    "CohortLike", "StudyData", "baseline_igg", "first_ivig", "functional_igg", "igg_measurements",
    "igg_on_days", "igg_steps", "infections_in_observation", "months_on_dara",
    "observation_periods",
    "observation_stops", "outcome_events", "study_data",
]


class StudyData:
    """The derived tables of one cohort, each computed on first use and then kept.

    Attributes are read-only views of the cache: use the module functions (which copy) when the
    result will be modified. ``memo(key, build)`` keeps any other derived table (the interval
    tables of :func:`analysis.study.models.study_intervals`) under a hashable key.
    """

    def __init__(self, cohort: Cohort) -> None:
        self.cohort = cohort
        self._memo: dict[Hashable, object] = {}

    def __repr__(self) -> str:
        return f"StudyData({self.cohort.name!r}, cached={sorted(map(str, self._memo))})"

    def memo(self, key: Hashable, build: Callable[[], object]) -> object:
        """The value kept under ``key``, built by ``build()`` the first time."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    # --- observation ----------------------------------------------------------------------
    @cached_property
    def observation(self) -> pd.DataFrame:
        """Observation periods of every patient (see :func:`observation_periods`)."""
        p = self.cohort.patients
        start_day = to_day(p["dara_start"])
        tail_day = to_day(p["dara_last"]) + OBS_TAIL_DAYS
        end_day = to_day(observation_end(p))
        death = p["death_date"].notna().to_numpy() & (to_day(p["death_date"]) == end_day)
        reason = np.where(end_day == tail_day, OBS_END_TAIL,
                          np.where(death, OBS_END_DEATH, OBS_END_CONTACT))
        return pd.DataFrame({
            "patient_id": p["patient_id"].astype(str).to_numpy(),
            "group": p["group"].astype(str).to_numpy(), "start": from_day(start_day),
            "end": from_day(end_day), "start_day": start_day, "end_day": end_day,
            "days": end_day - start_day + 1, "tail_end_day": tail_day, "end_reason": reason,
        })

    @cached_property
    def infections(self) -> pd.DataFrame:
        """Infections inside observation, both groups (see :func:`infections_in_observation`)."""
        obs = self.observation  # one row per patient, in patients.csv order
        inf = self.cohort.infections
        pos = self.cohort.patient_rows("infections")
        day = to_day(inf["date"])
        start = np.append(obs["start_day"].to_numpy(), 0)[pos]
        end = np.append(obs["end_day"].to_numpy(), 0)[pos]
        keep = (pos >= 0) & (day >= start) & (day <= end)
        inf = inf[keep].reset_index(drop=True)
        self._memo["infection_patient_rows"] = pos[keep]
        inf["group"] = obs["group"].to_numpy()[pos[keep]]
        inf["start_day"], inf["end_day"], inf["day"] = start[keep], end[keep], day[keep]
        grade = pd.to_numeric(inf["grade"], errors="coerce")
        inf["grade_group"] = _GRADE_GROUPS[(grade >= 3).to_numpy(dtype=bool).astype(np.intp)]
        return inf

    def _event_rows(self, outcome: Outcome, group: str | None) -> np.ndarray:
        """Rows of :attr:`infections` that are events of ``outcome`` in ``group``, in order."""
        inf = self.infections
        rows = np.arange(len(inf)) if group is None else np.flatnonzero(
            inf["group"].to_numpy() == group)
        if callable(outcome):  # a custom predicate sees the group's table, as documented
            return rows[outcome_mask(_in_group(inf, group), outcome)]
        return rows[outcome_mask(inf, outcome)[rows]]

    def events(self, outcome: Outcome = "all", group: str | None = "ivig",
               *, coded: bool = False) -> pd.DataFrame:
        """Onset days of ``outcome`` in observation (see :func:`outcome_events`); named outcomes
        are kept, a custom predicate is evaluated each time. ``coded``: ``id`` is a categorical
        over the patients' ids (:attr:`patient_ids`), for the interval builder's lookups."""
        def build() -> pd.DataFrame:
            rows = self._event_rows(outcome, group)
            ids = (self.coded_ids(self._memo["infection_patient_rows"][rows]) if coded
                   else self.infections["patient_id"].to_numpy()[rows])
            return pd.DataFrame({"id": ids, "day": self.infections["day"].to_numpy()[rows]})

        if callable(outcome):
            return build()
        return self.memo(("events", outcome, group, coded), build)  # type: ignore[return-value]

    @cached_property
    def patient_ids(self) -> pd.CategoricalDtype:
        """The patients' ids, as :attr:`observation` writes them, as a categorical dtype."""
        return pd.CategoricalDtype(pd.Index(self.observation["patient_id"]))

    def coded_ids(self, patient_rows: np.ndarray) -> pd.Categorical:
        """The ids of the patients at ``patient_rows`` (positions, -1: none) as a categorical
        over :attr:`patient_ids`: built from the loader's positions, so a lookup of these ids
        hashes each patient's id once, not every row's.

        Examples
        --------
        >>> from analysis.study import load_cohort, study_data
        >>> data = study_data(load_cohort("data/synthetic"))  # doctest: +SKIP
        >>> ids = data.coded_ids(data.cohort.patient_rows("ivig"))  # doctest: +SKIP
        >>> list(ids) == data.cohort.ivig["patient_id"].tolist()  # doctest: +SKIP
        True
        """
        return pd.Categorical.from_codes(patient_rows, dtype=self.patient_ids)

    # --- IVIG -----------------------------------------------------------------------------
    @cached_property
    def ivig_days(self) -> pd.DataFrame:
        """Every dated IVIG dose as ``id, day`` (file order; the exposure of the SCCS models)."""
        iv = self.cohort.ivig[self.cohort.ivig["date"].notna()]
        return pd.DataFrame({"id": iv["patient_id"].astype(str).to_numpy(),
                             "day": to_day(iv["date"])})

    @cached_property
    def ivig_coded(self) -> pd.DataFrame:
        """:attr:`ivig_days` with ``id`` coded as :meth:`coded_ids` does (same rows)."""
        date = self.cohort.ivig["date"].to_numpy()
        dated = ~np.isnat(date)
        rows = self.cohort.patient_rows("ivig")[dated]
        return pd.DataFrame({"id": self.coded_ids(rows), "day": to_day(date[dated])})

    @cached_property
    def first_ivig(self) -> pd.DataFrame:
        """First IVIG day overall and in observation (see :func:`first_ivig`)."""
        obs = self.observation[["patient_id", "start_day", "end_day"]]
        iv = self.ivig_days.rename(columns={"id": "patient_id"}).merge(obs, on="patient_id")
        first = iv.groupby("patient_id", sort=False)["day"].min().rename("first_ivig_day")
        in_obs = iv[(iv["day"] >= iv["start_day"]) & (iv["day"] <= iv["end_day"])]
        first_obs = in_obs.groupby("patient_id", sort=False)["day"].min().rename(
            "first_ivig_obs_day")
        return pd.concat([first, first_obs], axis=1).reset_index(names="patient_id")

    # --- IgG ------------------------------------------------------------------------------
    @cached_property
    def functional_igg(self) -> pd.DataFrame:
        """Functional IgG of every measurement (see :func:`functional_igg`)."""
        igg = self.cohort.igg
        heavy = self.cohort.patients.set_index("patient_id")["heavy_chain"]
        hc = igg["patient_id"].map(heavy)
        keep = (igg["igg_mg_dl"].notna() & igg["date"].notna()
                & igg["patient_id"].isin(heavy.index)).to_numpy(dtype=bool)
        igg, hc = igg[keep], hc[keep]
        total = igg["igg_mg_dl"].to_numpy(dtype=float)
        spike = np.nan_to_num(pd.to_numeric(igg["m_spike_g_dl"], errors="coerce").to_numpy(float))
        is_igg_type = (hc == "IgG").to_numpy(dtype=bool)
        day = to_day(igg["date"])
        order = np.lexsort((day, pd.factorize(igg["patient_id"])[0]))
        return pd.DataFrame({
            "patient_id": igg["patient_id"].to_numpy()[order],
            "date": igg["date"].to_numpy()[order],
            "day": day[order],
            "igg_mg_dl": total[order],
            "m_spike_g_dl": igg["m_spike_g_dl"].to_numpy()[order],
            "functional_igg": np.where(is_igg_type, np.maximum(total - 1000.0 * spike, 0.0),
                                       total)[order],
        })

    @cached_property
    def igg_measurements(self) -> pd.DataFrame:
        """One functional IgG per patient-day, the trough (see :func:`igg_measurements`)."""
        f = self.functional_igg
        code = pd.factorize(f["patient_id"])[0]
        order = np.lexsort((f["functional_igg"].to_numpy(), f["day"].to_numpy(), code))
        f = f.iloc[order]
        first = ~pd.DataFrame({"c": code[order], "d": f["day"].to_numpy()}).duplicated().to_numpy()
        f = f[first]
        return pd.DataFrame({"id": f["patient_id"].to_numpy(), "day": f["day"].to_numpy(),
                             "value": f["functional_igg"].to_numpy()})

    @cached_property
    def baseline_igg(self) -> pd.DataFrame:
        """Baseline functional IgG per patient (see :func:`baseline_igg`)."""
        m = self.igg_measurements  # one row per patient-day (trough), sorted by day
        obs = self.observation[["patient_id", "start_day"]]
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

    @cached_property
    def igg_steps(self) -> pd.DataFrame:
        """The IgG level on a day as one step table (see :func:`igg_steps`)."""
        base = self.baseline_igg.dropna(subset=["baseline_igg"])
        early = pd.DataFrame({"id": base["patient_id"].to_numpy(), "day": -(10**6),
                              "value": base["baseline_igg"].to_numpy()})
        steps = pd.concat([early, self.igg_measurements], ignore_index=True)
        return steps.sort_values(["id", "day"], kind="stable").reset_index(drop=True)


#: ``grade_group`` of an infection by ``grade >= 3`` (False, True).
_GRADE_GROUPS = np.array(["1-2", "3-4"], dtype=object)

#: What the study functions accept: a loaded cohort, or its :class:`StudyData`.
CohortLike: TypeAlias = Cohort | StudyData

def study_data(cohort: CohortLike) -> StudyData:
    """The one :class:`StudyData` of ``cohort`` (built on first use, kept while it lives).

    Examples
    --------
    >>> from analysis.study import load_cohort, study_data
    >>> cohort = load_cohort("data/synthetic")  # doctest: +SKIP
    >>> study_data(cohort) is study_data(cohort)  # doctest: +SKIP
    True
    """
    if isinstance(cohort, StudyData):
        return cohort
    data = cohort.derived.get("study_data")
    if data is None:  # kept on the cohort itself: freed with it (no global registry)
        data = cohort.derived["study_data"] = StudyData(cohort)
    return data


def _in_group(table: pd.DataFrame, group: str | None) -> pd.DataFrame:
    if group is None:
        return table
    return table[table["group"].to_numpy() == group].reset_index(drop=True)


# --- public readers (each returns a copy) ---------------------------------------------------
def observation_periods(cohort: CohortLike, group: str | None = None) -> pd.DataFrame:
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
    return _in_group(study_data(cohort).observation, group).copy()


def observation_stops(cohort: CohortLike) -> pd.DataFrame:
    """What the contract's death and last-contact rule removes, per group and reason.

    One row per ``group`` (``ivig``, ``reference``, ``all``) and ``end_reason`` (``death``,
    ``last contact``, ``any``): ``patients`` whose observation ends before ``dara_last + 30`` for
    that reason and ``days_removed`` (the observed days the paper's rule alone would have
    counted: ``tail_end_day - end_day``). Zero rows are kept, so a cohort without early ends
    reads 0 everywhere.
    """
    obs = study_data(cohort).observation
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


def months_on_dara(cohort: CohortLike) -> np.ndarray:
    """Months on daratumumab per patient (``patients.csv`` order): ``(dara_last - dara_start)``
    days / :data:`~analysis.study.definitions.DAYS_PER_MONTH` (Table 1's "Months on dara": time
    on treatment, not observation; the tail, death and last contact do not enter).
    """
    p = study_data(cohort).cohort.patients
    return (to_day(p["dara_last"]) - to_day(p["dara_start"])) / DAYS_PER_MONTH


def infections_in_observation(cohort: CohortLike, group: str | None = None) -> pd.DataFrame:
    """Infections dated inside their patient's observation period, with helper columns.

    Adds ``day`` (int), ``group``, ``start_day``, ``end_day`` and ``grade_group`` (``"1-2"`` or
    ``"3-4"``; grade >= 3 counts as 3-4) to the contract columns. File order is kept.
    """
    return _in_group(study_data(cohort).infections, group).copy()


def outcome_events(cohort: CohortLike, outcome: Outcome = "all",
                   group: str | None = "ivig") -> pd.DataFrame:
    """Onset days of the ``outcome`` infections in observation: columns ``id, day``.

    Several infections on one day are several rows (they count several times).
    """
    return study_data(cohort).events(outcome, group).copy()


def first_ivig(cohort: CohortLike) -> pd.DataFrame:
    """Earliest IVIG day per patient in ``ivig.csv`` (any date, as the pre-window rule needs) and
    the earliest one inside the observation period (the Cox event). Columns ``patient_id,
    first_ivig_day, first_ivig_obs_day`` for patients with any IVIG."""
    return study_data(cohort).first_ivig.copy()


def functional_igg(cohort: CohortLike) -> pd.DataFrame:
    """Functional IgG of every measurement (contract): IgG myeloma subtracts the M-spike.

    For ``heavy_chain == "IgG"``: ``igg_mg_dl - 1000 * m_spike_g_dl`` floored at 0 (a missing
    M-spike counts as 0); otherwise ``igg_mg_dl``. Returns ``patient_id, date, day, igg_mg_dl,
    m_spike_g_dl, functional_igg`` sorted by patient (order of first appearance) and day;
    measurements without an IgG value or date, or of unknown patients, are dropped.
    """
    return study_data(cohort).functional_igg.copy()


def igg_measurements(cohort: CohortLike) -> pd.DataFrame:
    """Functional IgG per patient and measurement day: columns ``id, day, value``.

    Several measurements on one day: the lowest functional value counts (a trough; the paper
    measured troughs "to reflect the maximal severity of HGG").
    """
    return study_data(cohort).igg_measurements.copy()


def baseline_igg(cohort: CohortLike) -> pd.DataFrame:
    """Baseline functional IgG per patient: the first measurement dated within
    ``dara_start - 90 .. dara_start + 10`` (Table 1 note). Columns ``patient_id, baseline_day,
    baseline_igg`` for every patient, in ``patients.csv`` order (NaN where none). Several
    measurements on the baseline day count as that day's trough, as in :func:`igg_measurements`
    (so the baseline does not depend on the row order of ``igg.csv`` and equals the level from
    that day on)."""
    return study_data(cohort).baseline_igg.copy()


def igg_steps(cohort: CohortLike) -> pd.DataFrame:
    """The contract's "IgG level on a day" as one step table: columns ``id, day, value``.

    The level on day ``d`` is the value of the latest row with ``day <= d``. Each patient with a
    baseline measurement gets an extra first row at ``day = -10**6`` (before any date) carrying
    the baseline value, so days before the first real measurement take the baseline; patients
    without one have no such row, and their days before the first measurement are unknown.
    (:func:`analysis.study.models.study_intervals` passes the baseline as
    ``StepCovariate.initial`` instead.)
    """
    return study_data(cohort).igg_steps.copy()


def igg_on_days(cohort: CohortLike, ids: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Functional IgG level (contract rule) of patient ``ids[i]`` on day ``days[i]`` (NaN: unknown).

    Vectorised as one backward ``merge_asof`` of the queries on :func:`igg_steps`.
    """
    steps = study_data(cohort).igg_steps
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
