"""The study's SCCS models: interval data, one fit, and the menu of every model the paper reports.

* :func:`study_intervals` -- per-patient intervals of constant exposure and covariates with their
  days and event counts (the contract's day counting, built by the generic
  :func:`analysis.sccs.intervals.build_intervals`); adjustments are asked for in one way,
  ``adjust=("season", "progression")``, and any extra generic covariate (an
  :class:`~analysis.sccs.intervals.EventWindow`, :class:`~analysis.sccs.intervals.Season`, ...)
  can be added with ``covariates=``;
* :func:`model_terms` / :func:`fit_sccs` -- one of the paper's SCCS models on the IVIG group's
  cases (:class:`analysis.sccs.SCCS`), terms named ``on_ivig``, ``pre_ivig``, ``fall_winter``,
  ``progression``, ``igg_below_<T>``;
* :data:`PAPER_MODELS` / :func:`sccs_menu` -- every SCCS model of the Results (primary all-grade
  and grade 3-4, bacterial, viral, 30/60-day pre-exposure windows, progression- and
  season-adjusted, HGG < 700/400/200), fitted in one call as one tidy table; the paper layer
  names each term by its ``targets.yaml`` id (:func:`analysis.paper.values.sccs_ids`), so the book
  and the audit pair our numbers with the paper's without retyping any;
  :func:`analysis.study.descriptive.figure1_rows` does the same for the paper's Figure 1.

A chapter's Methods step reads like the paper::

    intervals = study_intervals(cohort, outcome="all", cases_only=True)
    fit = SCCS().fit(intervals, ["on_ivig"])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.sccs import SCCS, SCCSResults, try_fit
from analysis.sccs.intervals import EventWindow, Exposure, Season, StepCovariate, build_intervals
from analysis.study.data import CohortLike, study_data
from analysis.study.definitions import (
    ON_IVIG_DAYS,
    PROGRESSION_DAYS,
    Outcome,
    StudyError,
    check_adjust,
    check_options,
    check_outcome,
    outcome_label,
    to_day,
)


# --- interval table ------------------------------------------------------------------------------
def _covariates(cohort: CohortLike, adjust: tuple[str, ...], hgg: int | None,
                igg_level: bool) -> list[Any]:
    """The generic covariates behind the study's adjustments and IgG level."""
    data = study_data(cohort)
    covariates: list[Any] = []
    if "season" in adjust:
        # level 1 starts 1 April (spring/summer), level 2 starts 1 October (fall/winter)
        covariates.append(Season(starts=((4, 1), (10, 1)), name="season"))
    if "progression" in adjust:
        pr = data.cohort.progression[data.cohort.progression["date"].notna()]
        covariates.append(EventWindow(
            "progression",
            pd.DataFrame({"id": pr["patient_id"].astype(str).to_numpy(),
                          "day": to_day(pr["date"])}),
            length=PROGRESSION_DAYS,
        ))
    if hgg is not None or igg_level:
        base = data.baseline_igg.dropna(subset=["baseline_igg"])
        covariates.append(StepCovariate(
            "igg", data.igg_measurements,
            initial=pd.DataFrame({"id": base["patient_id"], "value": base["baseline_igg"]}),
            thresholds=(float(hgg),) if hgg is not None else (),
        ))
    return covariates


def _study_columns(table: pd.DataFrame, pre_window: int | None, hgg: int | None,
                   extra: Sequence[Any]) -> pd.DataFrame:
    """The engine's interval table in the study's coding (0/1 terms, HGG days known only)."""
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
    for cov in extra:  # extra covariates keep the engine's columns as they are
        for col in table.columns:
            if col == cov.name or col.startswith(f"{cov.name}_"):
                out[col] = table[col].to_numpy()
    if hgg is not None:
        below = table[f"igg_below_{hgg:g}"].to_numpy(float)
        keep = ~np.isnan(below)
        out = out[keep].copy()
        out[f"igg_below_{hgg}"] = below[keep].astype(np.int64)
    return out


def study_intervals(
    cohort: CohortLike,
    outcome: Outcome = "all",
    *,
    pre_window: int | None = None,
    adjust: Sequence[str] | str | None = (),
    hgg: int | None = None,
    group: str | None = "ivig",
    igg_level: bool = False,
    covariates: Sequence[Any] = (),
    cases_only: bool = False,
) -> pd.DataFrame:
    """Per-patient intervals of constant exposure and covariates, with days and ``outcome`` events.

    Built by :func:`analysis.sccs.intervals.build_intervals` from the contract's day counting and
    merged (adjacent rows with equal covariates are one row). Columns: ``id, start, end, days,
    events, on_ivig`` (0/1), then as requested ``pre_ivig`` (0/1; days ``f - W .. f - 1`` before
    the earliest IVIG ``f``, exposure wins), ``fall_winter`` (0/1; ``adjust`` has "season"),
    ``progression`` (0/1; ``p .. p + 29``; ``adjust`` has "progression"), ``igg`` (functional
    IgG level on the day; ``hgg`` or ``igg_level=True``) and ``igg_below_<hgg>`` (0/1), then the
    columns of each extra generic covariate in ``covariates`` (named as the engine names them).
    With ``hgg`` the days of unknown IgG level are dropped (they leave HGG models only).
    ``group=None`` keeps both groups; ``cases_only`` keeps patients with >= 1 event in the
    remaining rows. Tables without extra covariates are kept per cohort (:class:`StudyData`),
    and a copy is returned.

    Examples
    --------
    >>> from analysis.sccs import SCCS
    >>> from analysis.study import load_cohort, study_intervals
    >>> cohort = load_cohort("data/synthetic")  # doctest: +SKIP
    >>> intervals = study_intervals(cohort, outcome="all", pre_window=30, cases_only=True)
    ... # doctest: +SKIP
    >>> SCCS().fit(intervals, ["on_ivig", "pre_ivig"]).summary  # doctest: +SKIP
    """
    check_outcome(outcome)
    adjust = check_adjust(adjust)
    check_options(pre_window, hgg)
    pre_window = int(pre_window) if pre_window else None
    data = study_data(cohort)

    def build() -> pd.DataFrame:
        obs = _in_group(data.observation, group)
        observation = pd.DataFrame(
            {"id": obs["patient_id"], "start": obs["start_day"], "end": obs["end_day"]})
        exposure = Exposure("on_ivig", data.ivig_coded, windows=((0, ON_IVIG_DAYS - 1),),
                            pre_window=pre_window)
        table = build_intervals(
            observation, data.events(outcome, group, coded=True), [exposure],
            [*_covariates(data, adjust, hgg, igg_level), *covariates], merge=True)
        out = _study_columns(table, pre_window, hgg, covariates)
        if cases_only:
            n = out.groupby("id", sort=False)["events"].transform("sum")
            out = out[n.to_numpy() > 0]
        return out.reset_index(drop=True)

    if callable(outcome) or covariates:
        return build()
    key = ("intervals", outcome, pre_window, adjust, hgg, group, igg_level, cases_only)
    return data.memo(key, build).copy()  # type: ignore[union-attr]


def _in_group(table: pd.DataFrame, group: str | None) -> pd.DataFrame:
    return table if group is None else table[table["group"].to_numpy() == group]


# --- one model -----------------------------------------------------------------------------------
def model_terms(
    pre_window: int | None = None,
    adjust: Sequence[str] | str | None = (),
    hgg: int | None = None,
    ivig: bool | None = None,
) -> list[str]:
    """Term names of one SCCS model, in order.

    ``on_ivig`` is in every model except the HGG models, which the paper reports unadjusted
    (design-implied.md: "three separate binary models"); ``ivig=True`` adds it there too.

    Examples
    --------
    >>> model_terms(pre_window=30, adjust=("season",))
    ['on_ivig', 'pre_ivig', 'fall_winter']
    >>> model_terms(hgg=400)
    ['igg_below_400']
    """
    adjust = check_adjust(adjust)
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
    cohort: CohortLike,
    outcome: Outcome = "all",
    *,
    pre_window: int | None = None,
    adjust: Sequence[str] | str | None = (),
    hgg: int | None = None,
    ivig: bool | None = None,
) -> SCCSResults:
    """Fit one of the paper's SCCS models on the IVIG group's cases.

    Returns the fitted :class:`~analysis.sccs.SCCSResults`.

    Cases are the ``ivig``-group patients with at least one ``outcome`` event in observation
    (others carry no information in the conditional likelihood). Terms: see :func:`model_terms`.
    Raises :class:`StudyError` when there are no cases.

    Examples
    --------
    >>> from analysis.study import fit_sccs, load_cohort
    >>> fit = fit_sccs(load_cohort("data/synthetic"), "grade3", pre_window=30)  # doctest: +SKIP
    >>> fit.summary.loc["on_ivig", ["irr", "ci_low", "ci_high"]]  # doctest: +SKIP
    """
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


# --- the paper's menu ----------------------------------------------------------------------------
@dataclass(frozen=True)
class SCCSModel:
    """One SCCS model the paper reports: its name and options. Which paper number each of its
    terms estimates is the paper layer's map (:data:`analysis.paper.values.SCCS_MODEL_IDS`).
    """

    model: str
    label: str
    outcome: str = "all"
    pre_window: int | None = None
    adjust: tuple[str, ...] = ()
    hgg: int | None = None
    note: str = ""


_G3_PRE_NOTE = "paper does not say which pre-window its grade 3+ adjusted IRR used; both fitted"

#: Every SCCS model of the paper (Results, Part one), in reading order.
PAPER_MODELS: tuple[SCCSModel, ...] = (
    SCCSModel("primary_all", "All-grade, on IVIG vs observation", "all"),
    SCCSModel("primary_grade3", "Grade 3-4, on IVIG vs observation", "grade3"),
    SCCSModel("bacterial", "Bacterial, on IVIG vs observation", "bacterial"),
    SCCSModel("viral", "Viral, on IVIG vs observation", "viral"),
    SCCSModel("pre30_all", "All-grade with 30-day pre-IVIG window", "all", pre_window=30),
    SCCSModel("pre60_all", "All-grade with 60-day pre-IVIG window", "all", pre_window=60),
    SCCSModel("pre30_grade3", "Grade 3-4 with 30-day pre-IVIG window", "grade3", pre_window=30,
              note=_G3_PRE_NOTE),
    SCCSModel("pre60_grade3", "Grade 3-4 with 60-day pre-IVIG window", "grade3", pre_window=60,
              note=_G3_PRE_NOTE),
    SCCSModel("progression_all", "All-grade adjusted for progression", "all",
              adjust=("progression",)),
    SCCSModel("season_all", "All-grade adjusted for season", "all", adjust=("season",)),
    SCCSModel("hgg700", "All-grade, functional IgG < 700 vs >= 700", "all", hgg=700),
    SCCSModel("hgg400", "All-grade, functional IgG < 400 vs >= 400", "all", hgg=400),
    SCCSModel("hgg200", "All-grade, functional IgG < 200 vs >= 200", "all", hgg=200),
)

#: Columns of :func:`sccs_menu`.
MENU_COLUMNS: list[str] = [
    "model", "label", "outcome", "term", "irr", "ci_low", "ci_high", "p", "log_irr", "se",
    "n_cases", "n_events", "loglik", "note", "warning",
]


def sccs_menu(cohort: CohortLike, models: Sequence[SCCSModel] = PAPER_MODELS) -> pd.DataFrame:
    """Every SCCS result of the paper on ``cohort``: one row per (model, term).

    Columns :data:`MENU_COLUMNS` (the paper's id of each row:
    :func:`analysis.paper.values.sccs_ids`).
    A model that cannot be fitted (e.g. no cases of that outcome) gives NaN rows with the reason in
    ``warning``; engine warnings (e.g. a level without events) are recorded there too.
    """
    rows: list[dict[str, Any]] = []
    for m in models:
        terms = model_terms(m.pre_window, m.adjust, m.hgg)
        base = {"model": m.model, "label": m.label, "outcome": m.outcome, "note": m.note}
        fit, reason, caught = try_fit(fit_sccs, cohort, m.outcome, pre_window=m.pre_window,
                                      adjust=m.adjust, hgg=m.hgg)
        if fit is not None:
            summary = fit.summary
            warn = "; ".join(caught) or None
            for term in terms:
                s = summary.loc[term]
                rows.append({
                    **base, "term": term, "irr": s["irr"], "ci_low": s["ci_low"],
                    "ci_high": s["ci_high"], "p": s["p"], "log_irr": s["log_irr"], "se": s["se"],
                    "n_cases": fit.n_cases, "n_events": fit.n_events, "loglik": fit.loglik,
                    "warning": warn,
                })
        else:
            for term in terms:
                rows.append({
                    **base, "term": term, "n_cases": 0, "n_events": 0, "warning": reason,
                })
    return pd.DataFrame(rows, columns=MENU_COLUMNS)
