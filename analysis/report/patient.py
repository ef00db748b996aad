"""One patient drawn with every definition of the study: which patient, and what the drawing shows.

Why a module: the definitions chapter illustrates the study's periods and thresholds on a single
IVIG patient. Which patient (the one on whom most definitions appear) and the periods drawn (built
by the same interval code as the SCCS models) are logic, tested here, not chapter code.

- :func:`definition_scores`: per IVIG patient, which definitions appear in their observation.
- :func:`illustrative_patient`: the patient with the highest score (ties: more infections, then
  observation order).
- :func:`patient_timeline`: that patient's observation, IVIG, pre-exposure windows, IgG,
  progression and infections, ready for :func:`analysis.report.figures.timeline_plot`, and the
  day and event counts the chapter quotes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis import study
from analysis.report import figures

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from analysis.study.cohort import Cohort

__all__ = ["PatientTimeline", "definition_scores", "illustrative_patient", "patient_timeline"]

#: A patient "has IgG values" to draw with at least this many IgG measurements.
MIN_IGG_MEASUREMENTS = 3


def _per_patient_count(frame: pd.DataFrame, ids: pd.Series) -> np.ndarray:
    return frame.groupby("patient_id").size().reindex(ids, fill_value=0).to_numpy()


def definition_scores(cohort: Cohort) -> pd.DataFrame:
    """Which of the study's definitions appear in each IVIG patient's observation period.

    Returns one row per IVIG-group patient (index ``patient_id``, in observation order) with
    ``infections`` (count in observation), ``igg`` (count of IgG measurements), and booleans
    ``ivig`` (a first IVIG dose in observation), ``progression`` (any progression date) and
    ``pre_window`` (the whole long pre-exposure window of :data:`analysis.study.PRE_WINDOWS` lies
    inside observation); ``score`` is the number of definitions shown: an infection, IVIG,
    progression, at least :data:`MIN_IGG_MEASUREMENTS` IgG values, the long window.

    Examples
    --------
    >>> from analysis.report import book
    >>> scores = definition_scores(book.load())
    >>> int(scores["score"].max()) <= 5
    True
    """
    pre_long = max(study.PRE_WINDOWS)
    obs = study.observation_periods(cohort, "ivig")
    ids = obs["patient_id"]
    first = study.first_ivig(cohort).set_index("patient_id")
    scores = pd.DataFrame(
        {
            "infections": _per_patient_count(study.infections_in_observation(cohort, "ivig"), ids),
            "igg": _per_patient_count(study.functional_igg(cohort), ids),
            "ivig": ids.map(first["first_ivig_obs_day"]).notna().to_numpy(),
            "progression": ids.isin(set(cohort.progression["patient_id"].astype(str))).to_numpy(),
            "pre_window": (ids.map(first["first_ivig_day"]) - obs["start_day"]
                           >= pre_long).to_numpy(),
        },
        index=pd.Index(ids.astype(str).to_numpy(), name="patient_id"),
    )
    scores["score"] = ((scores["infections"] > 0).astype(int) + scores["ivig"].astype(int)
                       + scores["progression"].astype(int)
                       + (scores["igg"] >= MIN_IGG_MEASUREMENTS).astype(int)
                       + scores["pre_window"].astype(int))
    return scores


def illustrative_patient(cohort: Cohort) -> str:
    """The IVIG patient on whom most definitions appear (see :func:`definition_scores`).

    Ties go to more infections in observation, then to the earlier patient in observation order,
    so the choice is deterministic. Raises :class:`analysis.study.StudyError` when the cohort has
    no IVIG-group patient.

    Examples
    --------
    >>> from analysis.report import book
    >>> isinstance(illustrative_patient(book.load()), str)
    True
    """
    scores = definition_scores(cohort)
    if scores.empty:
        raise study.StudyError("cohort: no IVIG-group patient to illustrate the definitions")
    scores["order"] = np.arange(len(scores))
    return str(scores.sort_values(["score", "infections", "order"],
                                  ascending=[False, False, True], kind="stable").index[0])


@dataclass(frozen=True)
class PatientTimeline:
    """One patient's observation period with every definition (see :func:`patient_timeline`).

    ``intervals`` is the patient's interval table of the long-window model (on IVIG, pre-exposure,
    progression and season); the other fields are the inputs of
    :func:`analysis.report.figures.timeline_plot`.
    """

    patient_id: str
    observation: tuple[int, int]
    intervals: pd.DataFrame
    on_ivig: pd.DataFrame
    ivig_doses: np.ndarray
    pre_windows: pd.DataFrame
    igg: pd.DataFrame
    progression: pd.DataFrame
    infections: pd.DataFrame

    def counts(self) -> dict[str, int]:
        """Days observed, on IVIG, in the long pre-exposure window and in fall/winter; IVIG doses,
        infections (all, on IVIG, off IVIG) in observation; the patient's IgG measurements."""
        iv = self.intervals
        on = iv["on_ivig"].to_numpy() == 1
        return {
            "days_observed": int(iv["days"].sum()),
            "days_on_ivig": int(iv.loc[on, "days"].sum()),
            "days_pre_long": int(iv.loc[iv["pre_ivig"] == 1, "days"].sum()),
            "days_fall_winter": int(iv.loc[iv["fall_winter"] == 1, "days"].sum()),
            "n_doses": len(self.ivig_doses),
            "n_infections": int(iv["events"].sum()),
            "n_infections_on": int(iv.loc[on, "events"].sum()),
            "n_infections_off": int(iv.loc[~on, "events"].sum()),
            "n_igg": len(self.igg),
        }

    def plot(self, title: str | None = None, **kwargs: Any) -> Figure:
        """The timeline figure (:func:`analysis.report.figures.timeline_plot`)."""
        return figures.timeline_plot(
            observation=self.observation, on_ivig=self.on_ivig, ivig_doses=self.ivig_doses,
            pre_windows=self.pre_windows, igg=self.igg[["day", "igg"]],
            progression=self.progression, infections=self.infections[["day", "grade"]],
            hgg_thresholds=study.HGG_THRESHOLDS, fall_winter_months=study.FALL_WINTER_MONTHS,
            title=title, **kwargs)


def patient_timeline(cohort: Cohort, patient_id: str) -> PatientTimeline:
    """The periods of ``patient_id`` (an IVIG-group patient), built by the SCCS models' own code.

    The on-IVIG, progression and long pre-exposure runs come from the interval table of the model
    adjusted for progression and season with the long pre-exposure window; the short window from
    the model with the short one. Doses are those inside observation; IgG values are all of the
    patient's measurements (the step line before observation sets the level on its first day).
    Raises :class:`analysis.study.StudyError` when ``patient_id`` is not an IVIG-group patient.

    Examples
    --------
    >>> from analysis.report import book
    >>> cohort = book.load()
    >>> t = patient_timeline(cohort, illustrative_patient(cohort))
    >>> t.counts()["days_observed"] == t.observation[1] - t.observation[0] + 1
    True
    """
    pre_short, pre_long = study.PRE_WINDOWS
    obs = study.observation_periods(cohort, "ivig")
    row = obs[obs["patient_id"].astype(str) == patient_id]
    if row.empty:
        raise study.StudyError(f"cohort: patient_id {patient_id!r} is not an IVIG-group patient")
    start, end = int(row["start_day"].iloc[0]), int(row["end_day"].iloc[0])

    def mine(frame: pd.DataFrame, column: str = "patient_id") -> pd.DataFrame:
        return frame[frame[column].astype(str) == patient_id]

    long = mine(study.study_intervals(cohort, "all", pre_window=pre_long,
                                      adjust=("progression", "season"), group="ivig"), "id")
    short = mine(study.study_intervals(cohort, "all", pre_window=pre_short, group="ivig"), "id")
    doses = study.to_day(mine(cohort.ivig)["date"].dropna())
    return PatientTimeline(
        patient_id=patient_id,
        observation=(start, end),
        intervals=long,
        on_ivig=figures.flag_runs(long, "on_ivig"),
        ivig_doses=np.asarray(doses[(doses >= start) & (doses <= end)]),
        pre_windows=pd.concat([figures.flag_runs(long, "pre_ivig").assign(window=pre_long),
                               figures.flag_runs(short, "pre_ivig").assign(window=pre_short)],
                              ignore_index=True),
        igg=mine(study.functional_igg(cohort)).rename(columns={"functional_igg": "igg"}),
        progression=figures.flag_runs(long, "progression"),
        infections=mine(study.infections_in_observation(cohort, "ivig")),
    )
