"""Small, explicit cohorts for the robustness, edge-case and privacy tests (H-qa).

What and why: property and edge-case tests need cohorts whose every date is chosen by the test,
so that the expected numbers can be worked out by hand (or by a deliberately naive reference
below) and never come from the code under test. A cohort is described as plain Python data
(:class:`Pt`: day offsets from ``dara_start``) and written as the five contract CSV files; the
project's own loader then reads it, so every test goes through the same path as a user's data.

The naive references (:func:`naive_exposed_days`, ...) use Python sets of day numbers: slow but
obviously right, and only ever run on a handful of patients.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

EPOCH = dt.date(1970, 1, 1)

PATIENT_COLUMNS = [
    "patient_id",
    "group",
    "sex",
    "age_at_dara",
    "diagnosis_date",
    "dara_start",
    "dara_last",
    "heavy_chain",
    "light_chain",
    "lines_of_therapy",
    "prior_infections_12m",
]


def iso(day: int) -> str:
    """Day number (days since 1970-01-01) -> ``YYYY-MM-DD``."""
    return (EPOCH + dt.timedelta(days=int(day))).isoformat()


def day_of(text: str) -> int:
    """``YYYY-MM-DD`` -> day number."""
    return (dt.date.fromisoformat(text) - EPOCH).days


@dataclass(frozen=True)
class Inf:
    """One infection, ``day`` as an offset from the patient's ``dara_start``."""

    day: int
    grade: int = 2
    organism: str = "bacterial"
    site: str = "lower_respiratory"


@dataclass(frozen=True)
class Pt:
    """One patient: ``start`` is the day number of ``dara_start``; all other days are offsets.

    ``last`` is the offset of ``dara_last`` (observation ends ``last + 30``), ``ivig`` and
    ``progression`` offsets of IVIG doses and progressions, ``igg`` (offset, mg/dL) pairs.
    """

    pid: str
    start: int = 17_000  # 2016-07-18
    last: int = 200
    group: str = "ivig"
    ivig: tuple[int, ...] = ()
    infections: tuple[Inf, ...] = ()
    progression: tuple[int, ...] = ()
    igg: tuple[tuple[int, float], ...] = ()
    heavy_chain: str = "IgA"
    extra: dict = field(default_factory=dict)

    @property
    def obs_start(self) -> int:
        return self.start

    @property
    def obs_end(self) -> int:
        return self.start + self.last + 30

    def shifted(self, days: int) -> Pt:
        """The same patient with every date moved by ``days`` (offsets are relative)."""
        return replace(self, start=self.start + days)


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def cohort_rows(patients: Sequence[Pt]) -> dict[str, tuple[list[str], list[list[object]]]]:
    """The five contract tables (header, rows) of a list of patients, in patient order."""
    pts, ivig, inf, igg, prog = [], [], [], [], []
    for p in patients:
        pts.append(
            [
                p.pid,
                p.group,
                "F",
                67,
                iso(p.start - 400),
                iso(p.start),
                iso(p.start + p.last),
                p.heavy_chain,
                "kappa",
                3,
                1,
            ]
        )
        ivig += [[p.pid, iso(p.start + a), 0.4] for a in p.ivig]
        inf += [[p.pid, iso(p.start + i.day), i.grade, i.site, i.organism] for i in p.infections]
        igg += [[p.pid, iso(p.start + d), v, ""] for d, v in p.igg]
        prog += [[p.pid, iso(p.start + d)] for d in p.progression]
    return {
        "patients.csv": (PATIENT_COLUMNS, pts),
        "ivig.csv": (["patient_id", "date", "dose_g_per_kg"], ivig),
        "infections.csv": (["patient_id", "date", "grade", "site", "organism"], inf),
        "igg.csv": (["patient_id", "date", "igg_mg_dl", "m_spike_g_dl"], igg),
        "progression.csv": (["patient_id", "date"], prog),
    }


def write_cohort(
    folder: Path, patients: Sequence[Pt], *, order: dict[str, Sequence[int]] | None = None
) -> Path:
    """Write ``patients`` as a contract cohort folder; ``order`` permutes each file's rows."""
    folder.mkdir(parents=True, exist_ok=True)
    for file, (header, rows) in cohort_rows(patients).items():
        if order and file in order:
            rows = [rows[i] for i in order[file]]
        _write(folder / file, header, rows)
    return folder


def load(folder: Path, patients: Sequence[Pt], **kw):  # -> analysis.study.cohort.Cohort
    """Write and load a cohort with the project's loader."""
    from analysis.study.cohort import load_cohort

    return load_cohort(write_cohort(folder, patients, **kw))


# --------------------------------------------------------------------------- naive references
def naive_observed(p: Pt) -> set[int]:
    """Observed day numbers: ``dara_start`` .. ``dara_last + 30`` inclusive."""
    return set(range(p.obs_start, p.obs_end + 1))


def naive_exposed_days(p: Pt) -> set[int]:
    """Days ``a .. a + 29`` of every dose ``a``, within observation (contract 'On IVIG')."""
    days: set[int] = set()
    for a in p.ivig:
        days |= set(range(p.start + a, p.start + a + 30))
    return days & naive_observed(p)


def naive_events(p: Pt, outcome: str = "all") -> list[int]:
    """Onset day numbers of ``outcome`` infections within observation (repeats kept)."""
    keep = {
        "all": lambda i: True,
        "grade3": lambda i: i.grade >= 3,
        "bacterial": lambda i: i.organism == "bacterial",
        "viral": lambda i: i.organism == "viral",
    }[outcome]
    obs = naive_observed(p)
    return [p.start + i.day for i in p.infections if keep(i) and p.start + i.day in obs]
