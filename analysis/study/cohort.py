"""Load a cohort folder, check it against the data contract, and return typed tables.

A cohort is a folder of five CSV files (``patients.csv``, ``ivig.csv``, ``infections.csv``,
``igg.csv``, ``progression.csv``) plus an optional ``cohort.yaml`` with metadata; the contract is
``data/README.md``. :func:`load_cohort` either returns a complete, typed :class:`Cohort` or raises
:class:`CohortError` listing *every* problem found (file, spreadsheet row, column, rule) — never a
partly loaded cohort and never a traceback from deep inside pandas.

Validation runs the contract's column rules as vectorised pandas checks (presence, required
values, dates, numbers, ranges, categories, unique ids), then the rules that relate columns or files
(``dara_last >= dara_start``, ``diagnosis_date <= dara_start``, ``death_date`` and
``last_contact`` not before ``dara_start``, no dated record after ``death_date``, known
``patient_id``); see :mod:`analysis.study.contract` for the reasons. Items outside a patient's
observation period (``dara_start`` .. the earliest of ``dara_last`` + 30 days, ``death_date`` and
``last_contact``: :func:`observation_end`) are not errors: :meth:`Cohort.summary` counts them.

Example::

    from analysis.study.cohort import load_cohort
    cohort = load_cohort("data/synthetic")
    cohort.patients.groupby("group").size()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.study.contract import (
    CONTRACT,
    Problem,
    RawTable,
    parse_dates,
    parse_numbers,
    parsed_column,
)
from analysis.study.contract import validate_folder as _validate_folder

#: Days after ``dara_last`` that still belong to the observation period (contract).
OBS_TAIL_DAYS: int = 30
#: Optional patient columns that end observation early when given (contract): nobody is at risk
#: after death, and nobody can be seen to have an infection after the last contact.
OBS_STOP_COLUMNS: tuple[str, ...] = ("death_date", "last_contact")
#: How many problems ``str(CohortError)`` lists before "... and N more".
MAX_LISTED: int = 50

__all__ = ["MAX_LISTED", "OBS_STOP_COLUMNS", "OBS_TAIL_DAYS", "Cohort", "CohortError", "Problem",
           "load_cohort", "observation_end"]


def observation_end(patients: pd.DataFrame) -> pd.Series:
    """Last observed day of each patient (contract): the earliest of ``dara_last + 30`` days,
    ``death_date`` and ``last_contact`` (each only when given), as Timestamps.

    This is the one implementation of the contract's end of observation; everything that needs
    the observation period (:func:`analysis.study.observation_periods`, the validator's count of
    items outside it) reads it from here.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"dara_last": pd.to_datetime(["2019-03-01", "2019-03-01"]),
    ...                   "death_date": pd.to_datetime(["2019-03-10", None]),
    ...                   "last_contact": pd.to_datetime([None, None])})
    >>> observation_end(p).dt.strftime("%Y-%m-%d").tolist()
    ['2019-03-10', '2019-03-31']
    """
    end = pd.to_datetime(patients["dara_last"]) + pd.Timedelta(days=OBS_TAIL_DAYS)
    for column in OBS_STOP_COLUMNS:
        if column in patients.columns:
            stop = pd.to_datetime(patients[column])
            end = end.where(stop.isna() | (stop >= end), stop)
    return end.astype("datetime64[ns]")


class CohortError(Exception):
    """The cohort folder does not follow the data contract.

    ``problems`` holds every problem found (sorted by file, row, column); ``str(error)`` starts
    with ``"PATH: N problems"`` and lists the first :data:`MAX_LISTED` problems, one per line,
    followed by ``... and K more`` if there are more. ``format(limit=None)`` lists them all.
    """

    def __init__(self, path: str | Path, problems: list[Problem]) -> None:
        self.path = str(path)
        self.problems: list[Problem] = list(problems)
        super().__init__(self.format())

    def headline(self) -> str:
        """``"PATH: N problems"`` (singular for one)."""
        n = len(self.problems)
        return f"{self.path}: {n} problem{'s' if n != 1 else ''}"

    def format(self, limit: int | None = MAX_LISTED) -> str:
        """Headline plus the problems, one per line; at most ``limit`` of them (None = all)."""
        shown = self.problems if limit is None or limit <= 0 else self.problems[:limit]
        lines = [self.headline(), *(f"  {p}" for p in shown)]
        if len(shown) < len(self.problems):
            lines.append(f"  ... and {len(self.problems) - len(shown)} more")
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class Cohort:
    """A validated cohort: one typed DataFrame per contract file, rows in file order.

    Every contract column is present (optional ones all-NA when the file lacks them), extra columns
    are dropped; ``patient_id`` and categories are ``str`` (object dtype, NA for unknown), dates
    ``datetime64[ns]``, whole numbers pandas ``Int64``, other numbers ``float64``.
    """

    path: Path
    name: str
    synthetic: bool
    metadata: dict[str, Any] = field(repr=False)
    patients: pd.DataFrame = field(repr=False)
    ivig: pd.DataFrame = field(repr=False)
    infections: pd.DataFrame = field(repr=False)
    igg: pd.DataFrame = field(repr=False)
    progression: pd.DataFrame = field(repr=False)
    #: Derived tables kept with the cohort (:func:`analysis.study.data.study_data`); the cohort's
    #: tables are read-only once loaded, so what is derived from them stays valid.
    derived: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    #: attribute name of each event table and the summary key it is reported under
    EVENT_TABLES = (("ivig", "ivig_doses"), ("infections", "infections"),
                    ("igg", "igg_measurements"), ("progression", "progression_events"))

    def patient_rows(self, table: str) -> np.ndarray:
        """Position in :attr:`patients` of the ``patient_id`` of each row of ``table`` (a table
        name such as ``"ivig"``; -1 where the id is missing or unknown).

        Computed once per table and kept (:func:`load_cohort` keeps the validator's, which
        looked up each distinct id once), so joins by patient are integer indexing.

        Examples
        --------
        >>> cohort = load_cohort("data/synthetic")
        >>> rows = cohort.patient_rows("ivig")
        >>> bool((cohort.patients["patient_id"].to_numpy()[rows]
        ...       == cohort.ivig["patient_id"].to_numpy()).all())
        True
        """
        key = f"patient_rows:{table}"
        rows = self.derived.get(key)
        if rows is None:
            index = pd.Index(self.patients["patient_id"])
            rows = index.get_indexer(getattr(self, table)["patient_id"])
            self.derived[key] = rows
        return rows

    def outside_observation(self, table: str) -> pd.Series:
        """Boolean Series, aligned with ``getattr(self, table)``: row dated outside its patient's
        observation period (``dara_start`` .. :func:`observation_end`, both inclusive)."""
        events = getattr(self, table)
        pos = self.patient_rows(table)  # every id is known (validated)
        start = self.patients["dara_start"].to_numpy()[pos]
        end = observation_end(self.patients).to_numpy()[pos]
        date = events["date"].to_numpy()
        return pd.Series((date < start) | (date > end), index=events.index)

    def summary(self) -> dict[str, Any]:
        """Counts for the ``validate`` report, JSON-ready (plain ints and ISO date strings)."""
        pts = self.patients
        groups = {g: int(n) for g, n in pts["group"].value_counts().sort_index().items()}
        group_of = pts.set_index("patient_id")["group"]
        inf_groups = self.infections["patient_id"].map(group_of).value_counts().sort_index()
        obs_end = observation_end(pts)
        event_dates = pd.concat([getattr(self, t)["date"] for t, _ in self.EVENT_TABLES])

        def iso(value: Any) -> str | None:
            return None if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")

        return {
            "name": self.name,
            "path": str(self.path),
            "synthetic": bool(self.synthetic),
            "patients": len(pts),
            "patients_by_group": groups,
            "ivig_doses": len(self.ivig),
            "patients_with_ivig": int(self.ivig["patient_id"].nunique()),
            "infections": len(self.infections),
            "infections_by_group": {g: int(n) for g, n in inf_groups.items()},
            "patients_with_infection": int(self.infections["patient_id"].nunique()),
            "igg_measurements": len(self.igg),
            "progression_events": len(self.progression),
            "outside_observation": {
                key: int(self.outside_observation(t).sum()) for t, key in self.EVENT_TABLES},
            "dara_start_range": [iso(pts["dara_start"].min()), iso(pts["dara_start"].max())],
            "observation_range": [iso(pts["dara_start"].min()), iso(obs_end.max())],
            "event_date_range": [iso(event_dates.min()), iso(event_dates.max())],
        }


def _typed(table: RawTable | None, file: str) -> pd.DataFrame:
    """Contract columns of one validated raw table, converted to their types, in file order.

    Dates and numbers are the validator's parsed values (:func:`parsed_column`), not parsed
    again; the frame is built once from the columns' arrays (no index reset, no block copy).
    """
    raw = table.frame if table is not None else pd.DataFrame()
    out: dict[str, Any] = {}
    for spec in CONTRACT[file]:
        if spec.name in raw.columns:
            assert table is not None
            if spec.kind in ("date", "int", "float"):
                values = parsed_column(table, spec.name)
            else:
                values = raw[spec.name].astype(object)
        else:
            values = pd.Series(np.nan, index=raw.index, dtype=object)
            if spec.kind == "date":
                values = parse_dates(values)
            elif spec.kind in ("int", "float"):
                values = parse_numbers(values)
        if spec.kind == "date":
            values = values.astype("datetime64[ns]", copy=False)
        elif spec.kind == "int":
            values = values.astype("Int64", copy=False)
        elif spec.kind == "float":
            values = values.astype("float64", copy=False)
        out[spec.name] = values.array
    return pd.DataFrame(out, index=pd.RangeIndex(len(raw)), copy=False)


def load_cohort(path: str | Path) -> Cohort:
    """Read and validate the cohort folder ``path``; return a :class:`Cohort`.

    Raises :class:`CohortError` (with every problem in ``.problems``) if the folder does not exist,
    is not a folder, or any file breaks the data contract (``data/README.md``).
    """
    folder = Path(path)
    if not folder.exists():
        raise CohortError(path, [Problem(str(path), None, None, "no such folder")])
    if not folder.is_dir():
        raise CohortError(path, [Problem(str(path), None, None,
                                         "not a folder (a cohort is a folder of CSV files)")])
    tables, metadata, problems = _validate_folder(folder)
    if problems:
        raise CohortError(path, problems)
    typed = {file.removesuffix(".csv"): _typed(tables.get(file), file) for file in CONTRACT}
    name = metadata.get("name") or folder.resolve().name
    cohort = Cohort(path=folder, name=str(name),
                    synthetic=bool(metadata.get("synthetic", False)), metadata=dict(metadata),
                    **typed)
    for file, table in tables.items():  # the validator's lookups of every patient_id
        if table.patient_rows is not None:
            cohort.derived[f"patient_rows:{file.removesuffix('.csv')}"] = table.patient_rows
    return cohort
