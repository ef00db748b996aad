"""A small, hand-written valid cohort and helpers to break it, for the cohort/validate tests.

The expected counts in :data:`EXPECTED_SUMMARY` were worked out by hand from the rows below (the
comments mark each row that falls outside its patient's observation period, ``dara_start`` ..
``dara_last`` + 30 days), not produced by the code under test.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

PATIENTS_HEADER = [
    "patient_id", "group", "sex", "age_at_dara", "diagnosis_date", "dara_start", "dara_last",
    "heavy_chain", "light_chain", "lines_of_therapy", "prior_infections_12m", "iss", "riss",
    "high_risk_cyto", "prior_asct", "antiviral_ppx", "antibacterial_ppx", "antifungal_ppx",
    "best_response", "death_date", "last_contact", "notes",
]
# Spreadsheet rows: P001 = row 2, P002 = row 3, 007 = row 4, P004 = row 5, P005 = row 6.
PATIENTS = [
    ["P001", "ivig", "F", "65", "2014-05-10", "2016-01-04", "2016-12-19", "IgG", "kappa", "3", "2",
     "II", "II", "yes", "yes", "yes", "no", "no", "VGPR", "", "2018-01-01", "free text"],
    ["P002", "ivig", "M", "70", "2012-03-01", "2017-06-01", "2018-02-01", "IgA", "lambda", "2",
     "0", "III", "", "no", "no", "yes", "yes", "no", "PR", "2018-06-30", "", ""],
    ["007", "reference", "F", "58", "2015-09-09", "2018-03-15", "2018-09-30", "IgG", "kappa", "1",
     "1", "", "", "", "yes", "no", "no", "no", "CR", "", "2020-02-02", ""],
    ["P004", "reference", "M", "61", "2018-12-01", "2019-01-10", "2019-01-10", "none", "lambda",
     "4", "", "I", "I", "no", "no", "no", "no", "no", "SD", "", "", ""],
    ["P005", "ivig", "F", "72", "2016-07-07", "2019-03-01", "2019-09-01", "IgG", "both", "0", "5",
     "II", "III", "yes", "no", "yes", "yes", "yes", "sCR", "", "", ""],
]
IVIG_HEADER = ["patient_id", "date", "dose_g_per_kg"]
IVIG = [
    ["P001", "2016-02-01", "0.4"],
    ["P001", "2016-03-01", "0.45"],
    ["P001", "2017-01-18", "0.4"],   # dara_last + 30: last day inside
    ["P001", "2017-01-19", "0.4"],   # outside (after)
    ["P002", "2017-05-31", "0.5"],   # outside (day before dara_start)
    ["P002", "2017-07-01", ""],
    ["P005", "2019-06-01", "0.5"],
]
INFECTIONS_HEADER = ["patient_id", "date", "grade", "site", "organism", "anc", "alc"]
INFECTIONS = [
    ["P001", "2016-01-04", "3", "lower_respiratory", "bacterial", "1.2", "0.5"],
    ["P001", "2016-01-03", "2", "upper_respiratory", "viral", "", ""],  # outside (before)
    ["P002", "2017-08-10", "1", "urinary", "bacterial", "3.4", "1.1"],
    ["007", "2018-05-05", "2", "skin_soft_tissue", "fungal", "", ""],
    ["P004", "2019-02-09", "4", "bloodstream", "unconfirmed", "0.2", "0.3"],  # last day inside
    ["P004", "2019-02-10", "5", "other", "viral", "", ""],  # outside (after)
]
IGG_HEADER = ["patient_id", "date", "igg_mg_dl", "m_spike_g_dl"]
IGG = [
    ["P001", "2015-12-20", "800", "0.5"],   # outside (before)
    ["P001", "2016-04-01", "450", "0.2"],
    ["007", "2018-04-01", "1200", ""],
    ["P002", "2017-07-15", "300", ""],
]
PROGRESSION_HEADER = ["patient_id", "date"]
PROGRESSION = [
    ["P002", "2018-01-15"],
    ["007", "2019-01-01"],   # outside (after 2018-10-30)
]

FILES: dict[str, tuple[list[str], list[list[str]]]] = {
    "patients.csv": (PATIENTS_HEADER, PATIENTS),
    "ivig.csv": (IVIG_HEADER, IVIG),
    "infections.csv": (INFECTIONS_HEADER, INFECTIONS),
    "igg.csv": (IGG_HEADER, IGG),
    "progression.csv": (PROGRESSION_HEADER, PROGRESSION),
}

EXPECTED_SUMMARY = {
    "patients": 5,
    "patients_by_group": {"ivig": 3, "reference": 2},
    "ivig_doses": 7,
    "patients_with_ivig": 2 + 1,
    "infections": 6,
    "infections_by_group": {"ivig": 3, "reference": 3},
    "patients_with_infection": 4,
    "igg_measurements": 4,
    "progression_events": 2,
    "outside_observation": {"ivig_doses": 2, "infections": 2, "igg_measurements": 1,
                            "progression_events": 1},
    "dara_start_range": ["2016-01-04", "2019-03-01"],
    "observation_range": ["2016-01-04", "2019-10-01"],
    "event_date_range": ["2015-12-20", "2019-06-01"],
}


def to_csv(header: list[str], rows: list[list[str]]) -> str:
    """CSV text (``\\n`` line ends) of a header and rows."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def write_cohort(folder: Path) -> Path:
    """Write the valid cohort into ``folder`` (created if needed); return ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for file, (header, rows) in FILES.items():
        (folder / file).write_text(to_csv(header, rows), encoding="utf-8")
    return folder


def read_rows(folder: Path, file: str) -> list[list[str]]:
    """All rows of one file (header first) as lists of text."""
    with (folder / file).open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def write_rows(folder: Path, file: str, rows: list[list[str]]) -> None:
    """Overwrite one file with ``rows`` (header first)."""
    (folder / file).write_text(to_csv(rows[0], rows[1:]), encoding="utf-8")


def set_cell(folder: Path, file: str, row: int, column: str, value: str) -> None:
    """Set the cell at spreadsheet ``row`` (header = 1) and ``column`` of ``file`` to ``value``."""
    rows = read_rows(folder, file)
    rows[row - 1][rows[0].index(column)] = value
    write_rows(folder, file, rows)


def drop_column(folder: Path, file: str, column: str) -> None:
    """Remove ``column`` from ``file``."""
    rows = read_rows(folder, file)
    i = rows[0].index(column)
    write_rows(folder, file, [r[:i] + r[i + 1:] for r in rows])


def append_row(folder: Path, file: str, values: dict[str, str]) -> int:
    """Append a row (missing columns empty); return its spreadsheet row number."""
    rows = read_rows(folder, file)
    rows.append([values.get(c, "") for c in rows[0]])
    write_rows(folder, file, rows)
    return len(rows)
