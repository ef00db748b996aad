"""Tests of analysis.study.cohort: loading a valid cohort and refusing every kind of malformed one.

The valid cohort is the hand-written one in ``_helpers_cohort``; each malformed case breaks one
thing in a fresh copy and checks the one problem it must produce: file, spreadsheet row (header =
row 1), column and rule.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _helpers_cohort import (
    EXPECTED_SUMMARY,
    FILES,
    PATIENTS,
    append_row,
    drop_column,
    read_rows,
    set_cell,
    to_csv,
    write_cohort,
    write_rows,
)

from analysis.study import study_data
from analysis.study.cohort import MAX_LISTED, Cohort, CohortError, Problem, load_cohort


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The valid cohort, written once per module; tests copy it before breaking it."""
    return write_cohort(tmp_path_factory.mktemp("template") / "cohort")


@pytest.fixture
def cohort_dir(template: Path, tmp_path: Path) -> Path:
    """A fresh writable copy of the valid cohort."""
    return Path(shutil.copytree(template, tmp_path / "cohort"))


def problems_of(folder: Path) -> list[Problem]:
    """The problems load_cohort reports for ``folder`` (fails the test if it loads)."""
    with pytest.raises(CohortError) as info:
        load_cohort(folder)
    return info.value.problems


# ----------------------------------------------------------------------------- the valid cohort


def test_valid_cohort_loads_with_contract_types(cohort_dir: Path) -> None:
    cohort = load_cohort(cohort_dir)
    assert isinstance(cohort, Cohort)
    assert cohort.name == "cohort" and cohort.synthetic is False and cohort.metadata == {}
    p = cohort.patients
    # file order, '007' kept as text
    assert list(p["patient_id"]) == ["P001", "P002", "007", "P004", "P005"]
    assert "notes" not in p.columns  # extra column dropped
    for col in ("diagnosis_date", "dara_start", "dara_last", "death_date", "last_contact"):
        assert p[col].dtype == "datetime64[ns]", col
    for col in ("lines_of_therapy", "prior_infections_12m"):
        assert p[col].dtype == "Int64", col
    assert p["age_at_dara"].dtype == "float64"  # years; the contract allows decimals
    assert p.loc[3, "prior_infections_12m"] is pd.NA  # empty cell = unknown
    assert p.loc[0, "dara_start"] == pd.Timestamp("2016-01-04")
    assert p.loc[2, "iss"] is None or pd.isna(p.loc[2, "iss"])
    assert cohort.infections["grade"].dtype == "Int64"
    assert list(cohort.infections["grade"]) == [3, 2, 1, 2, 4, 5]
    assert cohort.ivig["dose_g_per_kg"].dtype == "float64"
    assert pd.isna(cohort.ivig.loc[5, "dose_g_per_kg"])
    assert cohort.igg["igg_mg_dl"].tolist() == [800.0, 450.0, 1200.0, 300.0]
    assert list(cohort.progression.columns) == ["patient_id", "date"]
    assert cohort.progression["date"].dtype == "datetime64[ns]"


def test_summary_matches_hand_count(cohort_dir: Path) -> None:
    summary = load_cohort(cohort_dir).summary()
    for key, expected in EXPECTED_SUMMARY.items():
        assert summary[key] == expected, key


def test_observation_boundaries_are_inclusive(cohort_dir: Path) -> None:
    cohort = load_cohort(cohort_dir)
    # IVIG rows: on dara_last + 30 (inside), the day after (outside), the day before start (outside)
    assert cohort.outside_observation("ivig").tolist() == [False, False, False, True, True, False,
                                                          False]
    assert cohort.outside_observation("infections").tolist() == [False, True, False, False, False,
                                                                True]


def test_optional_columns_absent_are_all_na(cohort_dir: Path) -> None:
    for col in ("iss", "riss", "best_response", "death_date", "last_contact"):
        drop_column(cohort_dir, "patients.csv", col)
    drop_column(cohort_dir, "ivig.csv", "dose_g_per_kg")
    drop_column(cohort_dir, "infections.csv", "anc")
    drop_column(cohort_dir, "igg.csv", "m_spike_g_dl")
    cohort = load_cohort(cohort_dir)
    assert cohort.patients["iss"].isna().all()
    assert cohort.patients["death_date"].dtype == "datetime64[ns]"
    assert cohort.patients["death_date"].isna().all()
    assert cohort.ivig["dose_g_per_kg"].isna().all()
    assert cohort.infections["anc"].isna().all() and cohort.infections["alc"].notna().any()
    assert cohort.igg["m_spike_g_dl"].dtype == "float64"
    assert list(cohort.patients.columns)[-2:] == ["death_date", "last_contact"]


def test_bom_crlf_trailing_blank_lines_and_column_order_tolerated(cohort_dir: Path) -> None:
    header, rows = FILES["patients.csv"]
    order = list(reversed(header))
    text = to_csv(order, [[r[header.index(c)] for c in order] for r in rows])
    (cohort_dir / "patients.csv").write_bytes(
        b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode() + b"\r\n\r\n")
    ivig = (cohort_dir / "ivig.csv").read_text(encoding="utf-8")
    (cohort_dir / "ivig.csv").write_text(ivig + "\n\n\n", encoding="utf-8")
    cohort = load_cohort(cohort_dir)
    assert list(cohort.patients["patient_id"]) == ["P001", "P002", "007", "P004", "P005"]
    assert cohort.patients.columns[0] == "patient_id"
    assert len(cohort.ivig) == len(FILES["ivig.csv"][1])


def test_blank_line_in_middle_keeps_spreadsheet_row_numbers(cohort_dir: Path) -> None:
    text = (cohort_dir / "ivig.csv").read_text(encoding="utf-8").splitlines()
    text.insert(2, "")  # row 3 blank; the former row 3 is now row 4
    (cohort_dir / "ivig.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    assert len(load_cohort(cohort_dir).ivig) == len(FILES["ivig.csv"][1])
    set_cell(cohort_dir, "ivig.csv", 4, "date", "2016-02-30")
    (problem,) = problems_of(cohort_dir)
    assert (problem.file, problem.row, problem.column) == ("ivig.csv", 4, "date")


def test_metadata_from_cohort_yaml(cohort_dir: Path) -> None:
    (cohort_dir / "cohort.yaml").write_text(
        "name: demo cohort\nsynthetic: true\nseed: 7\ngenerator: test\n", encoding="utf-8")
    cohort = load_cohort(cohort_dir)
    assert (cohort.name, cohort.synthetic, cohort.metadata["seed"]) == ("demo cohort", True, 7)
    assert cohort.summary()["synthetic"] is True


def test_na_text_gets_a_hint(cohort_dir: Path) -> None:
    set_cell(cohort_dir, "patients.csv", 2, "age_at_dara", "NA")
    (problem,) = problems_of(cohort_dir)
    assert "empty cell" in str(problem)


# ----------------------------------------------------------------------------- malformed cohorts


@dataclass(frozen=True)
class Case:
    """One malformed cohort: how to break the valid one and the problem it must yield."""

    id: str
    breaks: Callable[[Path], None]
    file: str
    row: int | None
    column: str | None
    rule: str  # a phrase the rule must contain


def cell(file: str, row: int, column: str, value: str) -> Callable[[Path], None]:
    return lambda d: set_cell(d, file, row, column, value)


def patients_cell(row: int, column: str, value: str) -> Callable[[Path], None]:
    return cell("patients.csv", row, column, value)


DATE = "expected a date as YYYY-MM-DD"
CATEGORY = "expected one of"
WHOLE = "expected a whole number"
NUMBER = "expected a number"

CASES: list[Case] = [
    # dates that do not parse, one per date column
    Case("date-diagnosis", patients_cell(2, "diagnosis_date", "10/05/2014"),
         "patients.csv", 2, "diagnosis_date", DATE),
    Case("date-dara-start", patients_cell(3, "dara_start", "2017-13-01"),
         "patients.csv", 3, "dara_start", DATE),
    Case("date-dara-last", patients_cell(4, "dara_last", "2018-02-30"),
         "patients.csv", 4, "dara_last", DATE),
    Case("date-death", patients_cell(3, "death_date", "June 2018"),
         "patients.csv", 3, "death_date", DATE),
    Case("date-last-contact", patients_cell(2, "last_contact", "2018-1-1"),
         "patients.csv", 2, "last_contact", DATE),
    Case("date-ivig", cell("ivig.csv", 5, "date", "2017-01-18T10:00"),
         "ivig.csv", 5, "date", DATE),
    Case("date-infection", cell("infections.csv", 4, "date", "yesterday"),
         "infections.csv", 4, "date", DATE),
    Case("date-igg", cell("igg.csv", 2, "date", "20151220"), "igg.csv", 2, "date", DATE),
    Case("date-progression", cell("progression.csv", 3, "date", "2019-00-01"),
         "progression.csv", 3, "date", DATE),
    # date order
    Case("dara-last-before-start", patients_cell(3, "dara_last", "2017-05-31"),
         "patients.csv", 3, "dara_last", "before dara_start (2017-05-31 < 2017-06-01)"),
    # death and last contact (contract: observation ends at the earliest of dara_last + 30,
    # death_date and last_contact; P002 = row 3 died on 2018-06-30)
    Case("death-before-start", patients_cell(3, "death_date", "2017-05-01"),
         "patients.csv", 3, "death_date", "before dara_start (2017-05-01 < 2017-06-01)"),
    Case("last-contact-before-start", patients_cell(2, "last_contact", "2015-12-31"),
         "patients.csv", 2, "last_contact", "before dara_start (2015-12-31 < 2016-01-04)"),
    Case("infection-after-death", cell("infections.csv", 4, "date", "2018-07-01"),
         "infections.csv", 4, "date", "after the patient's death_date (2018-07-01 > 2018-06-30)"),
    Case("ivig-after-death", cell("ivig.csv", 7, "date", "2019-01-01"),
         "ivig.csv", 7, "date", "after the patient's death_date (2019-01-01 > 2018-06-30)"),
    Case("igg-after-death", cell("igg.csv", 5, "date", "2018-07-02"),
         "igg.csv", 5, "date", "after the patient's death_date (2018-07-02 > 2018-06-30)"),
    Case("progression-after-death", cell("progression.csv", 2, "date", "2020-01-15"),
         "progression.csv", 2, "date", "after the patient's death_date (2020-01-15 > 2018-06-30)"),
    Case("diagnosis-after-start", patients_cell(6, "diagnosis_date", "2019-03-02"),
         "patients.csv", 6, "diagnosis_date", "after dara_start (2019-03-02 > 2019-03-01)"),
    # counts: whole numbers >= 0; age: a number of years from 0 to 150
    Case("age-negative", patients_cell(2, "age_at_dara", "-65"),
         "patients.csv", 2, "age_at_dara", "must be from 0 to 150"),
    Case("age-not-number", patients_cell(3, "age_at_dara", "seventy"),
         "patients.csv", 3, "age_at_dara", NUMBER),
    Case("age-implausible", patients_cell(4, "age_at_dara", "1e308"),
         "patients.csv", 4, "age_at_dara", "must be from 0 to 150"),
    Case("lines-negative", patients_cell(5, "lines_of_therapy", "-1"),
         "patients.csv", 5, "lines_of_therapy", "must be >= 0"),
    Case("lines-not-number", patients_cell(2, "lines_of_therapy", "3+"),
         "patients.csv", 2, "lines_of_therapy", WHOLE),
    Case("prior-infections-not-number", patients_cell(6, "prior_infections_12m", "many"),
         "patients.csv", 6, "prior_infections_12m", WHOLE),
    Case("prior-infections-negative", patients_cell(2, "prior_infections_12m", "-2"),
         "patients.csv", 2, "prior_infections_12m", "must be >= 0"),
    # lab values and doses: numbers >= 0
    Case("igg-negative", cell("igg.csv", 3, "igg_mg_dl", "-450"),
         "igg.csv", 3, "igg_mg_dl", "must be >= 0"),
    Case("igg-not-number", cell("igg.csv", 4, "igg_mg_dl", "<200"),
         "igg.csv", 4, "igg_mg_dl", NUMBER),
    Case("igg-infinite", cell("igg.csv", 5, "igg_mg_dl", "inf"), "igg.csv", 5, "igg_mg_dl", NUMBER),
    Case("m-spike-negative", cell("igg.csv", 2, "m_spike_g_dl", "-0.5"),
         "igg.csv", 2, "m_spike_g_dl", "must be >= 0"),
    Case("m-spike-not-number", cell("igg.csv", 3, "m_spike_g_dl", "trace"),
         "igg.csv", 3, "m_spike_g_dl", NUMBER),
    Case("anc-negative", cell("infections.csv", 2, "anc", "-1.2"),
         "infections.csv", 2, "anc", "must be >= 0"),
    Case("alc-not-number", cell("infections.csv", 4, "alc", "low"),
         "infections.csv", 4, "alc", NUMBER),
    Case("dose-negative", cell("ivig.csv", 3, "dose_g_per_kg", "-0.45"),
         "ivig.csv", 3, "dose_g_per_kg", "must be >= 0"),
    Case("dose-not-number", cell("ivig.csv", 2, "dose_g_per_kg", "0,4"),
         "ivig.csv", 2, "dose_g_per_kg", NUMBER),
    # grade: whole number 1-5
    Case("grade-zero", cell("infections.csv", 2, "grade", "0"),
         "infections.csv", 2, "grade", "must be from 1 to 5"),
    Case("grade-six", cell("infections.csv", 3, "grade", "6"),
         "infections.csv", 3, "grade", "must be from 1 to 5"),
    Case("grade-fraction", cell("infections.csv", 4, "grade", "2.5"),
         "infections.csv", 4, "grade", WHOLE),
    Case("grade-roman", cell("infections.csv", 5, "grade", "III"),
         "infections.csv", 5, "grade", WHOLE),
    # categories outside their lists
    Case("cat-group", patients_cell(2, "group", "IVIG"), "patients.csv", 2, "group",
         "expected one of: ivig, reference"),
    Case("cat-sex", patients_cell(3, "sex", "male"), "patients.csv", 3, "sex", "M, F"),
    Case("cat-heavy-chain", patients_cell(4, "heavy_chain", "IgX"),
         "patients.csv", 4, "heavy_chain", "IgG, IgA, IgD, IgE, IgM, none"),
    Case("cat-light-chain", patients_cell(5, "light_chain", "Kappa"),
         "patients.csv", 5, "light_chain", "kappa, lambda, both"),
    Case("cat-iss", patients_cell(2, "iss", "2"), "patients.csv", 2, "iss", "I, II, III"),
    Case("cat-riss", patients_cell(3, "riss", "IV"), "patients.csv", 3, "riss", "I, II, III"),
    Case("cat-high-risk-cyto", patients_cell(4, "high_risk_cyto", "y"),
         "patients.csv", 4, "high_risk_cyto", "yes, no"),
    Case("cat-prior-asct", patients_cell(5, "prior_asct", "TRUE"),
         "patients.csv", 5, "prior_asct", "yes, no"),
    Case("cat-antiviral-ppx", patients_cell(6, "antiviral_ppx", "1"),
         "patients.csv", 6, "antiviral_ppx", "yes, no"),
    Case("cat-antibacterial-ppx", patients_cell(2, "antibacterial_ppx", "No"),
         "patients.csv", 2, "antibacterial_ppx", "yes, no"),
    Case("cat-antifungal-ppx", patients_cell(3, "antifungal_ppx", "maybe"),
         "patients.csv", 3, "antifungal_ppx", "yes, no"),
    Case("cat-best-response", patients_cell(4, "best_response", "nCR"),
         "patients.csv", 4, "best_response", "sCR, CR, VGPR, PR, MR, SD, PD"),
    Case("cat-site", cell("infections.csv", 6, "site", "lung"),
         "infections.csv", 6, "site", "upper_respiratory, lower_respiratory"),
    Case("cat-organism", cell("infections.csv", 7, "organism", "Bacterial"),
         "infections.csv", 7, "organism", "bacterial, viral, fungal, unconfirmed"),
    # patient ids
    Case("duplicate-patient-id", lambda d: write_rows(
        d, "patients.csv", [*read_rows(d, "patients.csv"), read_rows(d, "patients.csv")[2]]),
         "patients.csv", 7, "patient_id", "duplicate patient_id (first in row 3)"),
    Case("empty-patient-id", lambda d: write_rows(
        d, "patients.csv", [*read_rows(d, "patients.csv"), ["", *PATIENTS[0][1:]]]),
         "patients.csv", 7, "patient_id", "required value missing"),
    Case("blank-patient-id", lambda d: write_rows(
        d, "patients.csv", [*read_rows(d, "patients.csv"), [" ", *PATIENTS[0][1:]]]),
         "patients.csv", 7, "patient_id", "must not be blank"),
    Case("unknown-id-ivig", cell("ivig.csv", 8, "patient_id", "P006"),
         "ivig.csv", 8, "patient_id", "unknown patient_id"),
    Case("unknown-id-infections", cell("infections.csv", 2, "patient_id", "p001"),
         "infections.csv", 2, "patient_id", "unknown patient_id"),
    Case("unknown-id-igg", cell("igg.csv", 4, "patient_id", "7"),
         "igg.csv", 4, "patient_id", "unknown patient_id"),
    Case("unknown-id-progression", cell("progression.csv", 2, "patient_id", "P002 "),
         "progression.csv", 2, "patient_id", "unknown patient_id"),
    Case("empty-id-ivig", cell("ivig.csv", 2, "patient_id", ""),
         "ivig.csv", 2, "patient_id", "required value missing"),
    # required values missing (empty cells)
    Case("missing-dara-start", patients_cell(2, "dara_start", ""),
         "patients.csv", 2, "dara_start", "required value missing"),
    Case("missing-dara-last", patients_cell(6, "dara_last", ""),
         "patients.csv", 6, "dara_last", "required value missing"),
    Case("missing-group", patients_cell(4, "group", ""),
         "patients.csv", 4, "group", "required value missing"),
    Case("missing-ivig-date", cell("ivig.csv", 7, "date", ""),
         "ivig.csv", 7, "date", "required value missing"),
    Case("missing-grade", cell("infections.csv", 3, "grade", ""),
         "infections.csv", 3, "grade", "required value missing"),
    Case("missing-site", cell("infections.csv", 4, "site", ""),
         "infections.csv", 4, "site", "required value missing"),
    Case("missing-igg-value", cell("igg.csv", 2, "igg_mg_dl", ""),
         "igg.csv", 2, "igg_mg_dl", "required value missing"),
    Case("missing-progression-date", cell("progression.csv", 3, "date", ""),
         "progression.csv", 3, "date", "required value missing"),
    # missing required columns
    *[Case(f"missing-column-{file.removesuffix('.csv')}-{col}",
           (lambda f, c: lambda d: drop_column(d, f, c))(file, col), file, None, col,
           "required column missing")
      for file, col in [("patients.csv", "dara_start"), ("patients.csv", "sex"),
                        ("patients.csv", "prior_infections_12m"), ("ivig.csv", "date"),
                        ("infections.csv", "grade"), ("infections.csv", "organism"),
                        ("igg.csv", "igg_mg_dl"), ("progression.csv", "patient_id")]],
    # missing required files
    *[Case(f"missing-file-{file.removesuffix('.csv')}",
           (lambda f: lambda d: (d / f).unlink())(file), file, None, None, "required file missing")
      for file in FILES],
    # unreadable files
    Case("not-utf8", lambda d: (d / "infections.csv").write_bytes(
        (d / "infections.csv").read_bytes().replace(b"skin_soft_tissue", b"skin_\xe9")),
         "infections.csv", 5, None, "not valid UTF-8"),
    Case("empty-file", lambda d: (d / "igg.csv").write_bytes(b""),
         "igg.csv", None, None, "empty file"),
    Case("whitespace-only-file", lambda d: (d / "progression.csv").write_text("\n \n"),
         "progression.csv", None, None, "empty file"),
    Case("header-not-on-row-1", lambda d: (d / "ivig.csv").write_text(
        "\n" + (d / "ivig.csv").read_text()), "ivig.csv", 1, None, "header must be on the first"),
    Case("too-many-fields", lambda d: (d / "progression.csv").write_text(
        (d / "progression.csv").read_text() + "P002,2019-01-01,extra\n"),
         "progression.csv", 4, None, "3 fields but the header has 2"),
    Case("too-many-fields-first-row", lambda d: (d / "ivig.csv").write_text(
        (d / "ivig.csv").read_text().replace("P001,2016-02-01,0.4", "P001,2016-02-01,0.4,1")),
         "ivig.csv", 2, None, "4 fields but the header has 3"),
    Case("whole-number-too-large", patients_cell(4, "lines_of_therapy", "9223372036854775808"),
         "patients.csv", 4, "lines_of_therapy", "too large"),
    Case("duplicate-header", lambda d: write_rows(
        d, "progression.csv", [[*r, r[1]] for r in read_rows(d, "progression.csv")]),
         "progression.csv", 1, "date", "more than once"),
    Case("no-patients", lambda d: write_rows(d, "patients.csv",
                                             read_rows(d, "patients.csv")[:1])
         or [(d / f).write_text(",".join(FILES[f][0]) + "\n") for f in FILES],
         "patients.csv", None, None, "no patients"),
    Case("bad-cohort-yaml", lambda d: (d / "cohort.yaml").write_text("name: [unclosed\n"),
         "cohort.yaml", 2, None, "not readable YAML"),
    Case("cohort-yaml-types", lambda d: (d / "cohort.yaml").write_text("synthetic: maybe\n"),
         "cohort.yaml", None, "synthetic", "expected bool"),
]


def test_at_least_25_distinct_malformed_cases() -> None:
    assert len({c.id for c in CASES}) == len(CASES) >= 25


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_cohort_reports_the_problem(case: Case, cohort_dir: Path) -> None:
    case.breaks(cohort_dir)
    problems = problems_of(cohort_dir)
    assert len(problems) == 1, [str(p) for p in problems]
    (problem,) = problems
    assert (problem.file, problem.row, problem.column) == (case.file, case.row, case.column)
    assert case.rule in problem.rule
    text = str(problem)
    assert text.startswith(case.file)
    if case.row is not None:
        assert f"row {case.row}" in text
    if case.column is not None:
        assert f"column {case.column}" in text


def test_yaml_problem_row_is_reported(cohort_dir: Path) -> None:
    (cohort_dir / "cohort.yaml").write_text("name: ok\nseed: [1\n", encoding="utf-8")
    (problem,) = problems_of(cohort_dir)
    assert problem.file == "cohort.yaml" and "YAML" in problem.rule


@pytest.mark.parametrize("kind", ["file", "missing"])
def test_path_that_is_not_a_folder(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "cohort.csv"
    if kind == "file":
        path.write_text("patient_id\n", encoding="utf-8")
    with pytest.raises(CohortError) as info:
        load_cohort(path)
    (problem,) = info.value.problems
    assert problem.file == str(path) and problem.row is None
    assert ("not a folder" if kind == "file" else "no such folder") in problem.rule
    assert str(info.value).splitlines()[0] == f"{path}: 1 problem"


def test_all_problems_across_files_reported_together(cohort_dir: Path) -> None:
    set_cell(cohort_dir, "patients.csv", 3, "dara_last", "2017-01-01")
    set_cell(cohort_dir, "patients.csv", 4, "sex", "X")
    set_cell(cohort_dir, "ivig.csv", 2, "patient_id", "P999")
    set_cell(cohort_dir, "infections.csv", 3, "grade", "7")
    set_cell(cohort_dir, "igg.csv", 3, "igg_mg_dl", "")
    drop_column(cohort_dir, "progression.csv", "date")
    with pytest.raises(CohortError) as info:
        load_cohort(cohort_dir)
    got = [(p.file, p.row, p.column) for p in info.value.problems]
    assert got == [  # sorted by file (contract order), then row
        ("patients.csv", 3, "dara_last"), ("patients.csv", 4, "sex"),
        ("ivig.csv", 2, "patient_id"), ("infections.csv", 3, "grade"),
        ("igg.csv", 3, "igg_mg_dl"), ("progression.csv", None, "date"),
    ]
    lines = str(info.value).splitlines()
    assert lines[0] == f"{cohort_dir}: 6 problems"
    assert len(lines) == 7


def test_several_problems_in_one_cell_row_and_column(cohort_dir: Path) -> None:
    set_cell(cohort_dir, "infections.csv", 2, "grade", "x")
    set_cell(cohort_dir, "infections.csv", 2, "site", "lung")
    set_cell(cohort_dir, "infections.csv", 2, "anc", "-3")
    set_cell(cohort_dir, "infections.csv", 3, "grade", "9")
    rules = {(p.row, p.column): p.rule for p in problems_of(cohort_dir)}
    assert set(rules) == {(2, "grade"), (2, "site"), (2, "anc"), (3, "grade")}


def test_bad_date_is_not_reported_twice(cohort_dir: Path) -> None:
    # an unparseable dara_start must not also produce a "dara_last before dara_start" problem
    set_cell(cohort_dir, "patients.csv", 2, "dara_start", "soon")
    (problem,) = problems_of(cohort_dir)
    assert problem.column == "dara_start"


def test_listing_is_capped_but_problems_kept(cohort_dir: Path) -> None:
    n = MAX_LISTED + 12
    for _ in range(n):
        append_row(cohort_dir, "progression.csv", {"patient_id": "nobody", "date": "2019-01-01"})
    with pytest.raises(CohortError) as info:
        load_cohort(cohort_dir)
    error = info.value
    assert len(error.problems) == n
    lines = str(error).splitlines()
    assert lines[0] == f"{cohort_dir}: {n} problems"
    assert len(lines) == 1 + MAX_LISTED + 1 and lines[-1].strip() == "... and 12 more"
    assert len(error.format(limit=None).splitlines()) == n + 1


def test_problem_text_format() -> None:
    p = Problem("patients.csv", 7, "dara_last", "before dara_start (2019-03-01 < 2019-04-02)",
                "2019-03-01")
    assert str(p) == "patients.csv, row 7, column dara_last: before dara_start " \
                     "(2019-03-01 < 2019-04-02)"
    assert str(Problem("igg.csv", 3, "igg_mg_dl", "expected a number", "low")) == \
        "igg.csv, row 3, column igg_mg_dl: expected a number, got 'low'"
    assert str(Problem("ivig.csv", None, None, "required file missing")) == \
        "ivig.csv: required file missing"


def test_header_only_event_files_and_empty_optional_column(cohort_dir: Path) -> None:
    for file in ("ivig.csv", "progression.csv"):
        write_rows(cohort_dir, file, read_rows(cohort_dir, file)[:1])
    for row in range(2, 7):
        set_cell(cohort_dir, "patients.csv", row, "death_date", "")
    cohort = load_cohort(cohort_dir)
    assert cohort.ivig.empty and list(cohort.ivig.columns) == ["patient_id", "date",
                                                                "dose_g_per_kg"]
    assert cohort.ivig["date"].dtype == "datetime64[ns]"
    assert cohort.patients["death_date"].isna().all()
    summary = cohort.summary()
    assert (summary["ivig_doses"], summary["patients_with_ivig"]) == (0, 0)
    assert summary["outside_observation"]["progression_events"] == 0


def test_trailing_comma_on_every_line_is_tolerated(cohort_dir: Path) -> None:
    text = (cohort_dir / "igg.csv").read_text(encoding="utf-8")
    (cohort_dir / "igg.csv").write_text(text.replace("\n", ",\n"), encoding="utf-8")
    assert load_cohort(cohort_dir).igg["igg_mg_dl"].tolist() == [800.0, 450.0, 1200.0, 300.0]


# ----------------------------------------------------------------------------- death, last contact


def test_records_on_the_day_of_death_are_valid(cohort_dir: Path) -> None:
    # P002 died on 2018-06-30: an infection, a dose, an IgG value and a progression that day are
    # possible; observation ends that day (inclusive), so the infection counts as inside
    set_cell(cohort_dir, "infections.csv", 4, "date", "2018-06-30")
    set_cell(cohort_dir, "ivig.csv", 7, "date", "2018-06-30")
    set_cell(cohort_dir, "igg.csv", 5, "date", "2018-06-30")
    set_cell(cohort_dir, "progression.csv", 2, "date", "2018-06-30")
    set_cell(cohort_dir, "patients.csv", 3, "dara_last", "2018-06-15")
    cohort = load_cohort(cohort_dir)
    assert not cohort.outside_observation("infections").iloc[2]


def test_every_record_after_death_is_listed(cohort_dir: Path) -> None:
    # P001 (row 2) "dies" on 2016-02-15: the dose of 2016-03-01 (row 3), 2017-01-18 (row 4),
    # 2017-01-19 (row 5) and the IgG value of 2016-04-01 (row 3) come after it; its records of
    # 2016-01-03/04 and 2015-12-20 and 2016-02-01 do not. Other patients are untouched.
    set_cell(cohort_dir, "patients.csv", 2, "death_date", "2016-02-15")
    got = sorted((p.file, p.row, p.column) for p in problems_of(cohort_dir))
    assert got == [("igg.csv", 3, "date"), ("ivig.csv", 3, "date"), ("ivig.csv", 4, "date"),
                   ("ivig.csv", 5, "date")]


def test_unparseable_death_date_is_reported_once(cohort_dir: Path) -> None:
    set_cell(cohort_dir, "patients.csv", 2, "death_date", "2016-02-30")
    (problem,) = problems_of(cohort_dir)
    assert (problem.file, problem.row, problem.column) == ("patients.csv", 2, "death_date")


def test_death_and_last_contact_end_observation(cohort_dir: Path) -> None:
    # P001: start 2016-01-04, dara_last 2016-12-19 -> tail end 2017-01-18; last contact
    # 2016-06-30 ends it earlier, so its doses of 2017-01-18 (row 4) and 2016-03-01 (row 3) are
    # outside / inside. 007 (row 4): death 2018-05-05 (its infection day) ends observation before
    # the tail end 2018-10-30; its IgG of 2018-04-01 stays inside.
    set_cell(cohort_dir, "patients.csv", 2, "last_contact", "2016-06-30")
    set_cell(cohort_dir, "patients.csv", 4, "death_date", "2018-05-05")
    set_cell(cohort_dir, "progression.csv", 3, "date", "2018-05-05")
    cohort = load_cohort(cohort_dir)
    ivig_out = cohort.outside_observation("ivig").tolist()
    # rows: 2016-02-01 in, 2016-03-01 in, 2017-01-18 out (after last contact), 2017-01-19 out,
    # 2017-05-31 out (before start), 2017-07-01 in, 2019-06-01 in
    assert ivig_out == [False, False, True, True, True, False, False]
    assert cohort.outside_observation("progression").tolist() == [False, False]
    assert cohort.summary()["outside_observation"]["ivig_doses"] == 3


# ----------------------------------------------------------------------------- reused validation
# The validator parses every date and number column once and looks every patient_id up once (per
# distinct id); the typed tables, Cohort.patient_rows and the after-death rule read those results.
# Checked against independent computations, including blank lines (spreadsheet rows and positions
# differ) and a patient_id repeated in patients.csv (which death_date counts).

TABLES = ("patients", "ivig", "infections", "igg", "progression")


def with_blank_lines(folder: Path, file: str) -> None:
    """Insert a blank line after the header and another before the last row of ``file``."""
    lines = (folder / file).read_text().splitlines()
    lines = [lines[0], "", *lines[1:-1], "", lines[-1]]
    (folder / file).write_text("\n".join(lines) + "\n")


def test_patient_rows_equal_a_lookup_of_the_ids(cohort_dir: Path) -> None:
    for file in ("patients.csv", "ivig.csv", "igg.csv"):
        with_blank_lines(cohort_dir, file)
    cohort = load_cohort(cohort_dir)
    ids = pd.Index(cohort.patients["patient_id"])
    for table in TABLES:
        expected = ids.get_indexer(getattr(cohort, table)["patient_id"])
        assert (expected >= 0).all()
        np.testing.assert_array_equal(cohort.patient_rows(table), expected)


def test_typed_columns_equal_a_direct_parse(cohort_dir: Path) -> None:
    with_blank_lines(cohort_dir, "infections.csv")
    cohort = load_cohort(cohort_dir)
    rows = [r for r in read_rows(cohort_dir, "infections.csv")[1:] if r]
    text = pd.DataFrame(rows, columns=read_rows(cohort_dir, "infections.csv")[0])
    inf = cohort.infections
    assert inf.index.equals(pd.RangeIndex(len(rows)))
    pd.testing.assert_series_equal(inf["date"], pd.to_datetime(text["date"]), check_names=False)
    assert inf["grade"].dtype == "Int64"
    assert inf["grade"].tolist() == [int(g) for g in text["grade"]]
    anc = pd.to_numeric(text["anc"].replace("", np.nan))
    pd.testing.assert_series_equal(inf["anc"], anc, check_names=False)


def after_death(folder: Path) -> list[tuple[str, int | None, str]]:
    with pytest.raises(CohortError) as info:
        load_cohort(folder)
    return sorted((p.file, p.row, p.rule) for p in info.value.problems)


def test_repeated_id_takes_the_death_of_its_first_row_that_has_one(cohort_dir: Path) -> None:
    # P001 (row 2) has no death_date; its repeat (row 7) died on 2016-02-15, so P001's records
    # after that day are reported (as when row 2 itself has that death_date), and the repeat.
    row = append_row(cohort_dir, "patients.csv", {
        "patient_id": "P001", "group": "ivig", "dara_start": "2016-01-04",
        "dara_last": "2016-12-19", "death_date": "2016-02-15"})
    got = after_death(cohort_dir)
    rule = "after the patient's death_date ({} > 2016-02-15)"
    assert got == sorted([
        ("igg.csv", 3, rule.format("2016-04-01")),
        ("ivig.csv", 3, rule.format("2016-03-01")),
        ("ivig.csv", 4, rule.format("2017-01-18")),
        ("ivig.csv", 5, rule.format("2017-01-19")),
        ("patients.csv", row, "duplicate patient_id (first in row 2)"),
    ])


def test_repeated_id_with_two_deaths_takes_the_first(cohort_dir: Path) -> None:
    set_cell(cohort_dir, "patients.csv", 2, "death_date", "2017-01-01")
    set_cell(cohort_dir, "patients.csv", 2, "last_contact", "")
    row = append_row(cohort_dir, "patients.csv", {
        "patient_id": "P001", "group": "ivig", "dara_start": "2016-01-04",
        "dara_last": "2016-12-19", "death_date": "2016-02-15"})
    rule = "after the patient's death_date ({} > 2017-01-01)"
    assert after_death(cohort_dir) == sorted([
        ("ivig.csv", 4, rule.format("2017-01-18")),
        ("ivig.csv", 5, rule.format("2017-01-19")),
        ("patients.csv", row, "duplicate patient_id (first in row 2)"),
    ])


def test_coded_ids_are_the_patient_ids(cohort_dir: Path) -> None:
    data = study_data(load_cohort(cohort_dir))
    for outcome in ("all", "grade3"):
        plain, coded = data.events(outcome, None), data.events(outcome, None, coded=True)
        assert isinstance(coded["id"].dtype, pd.CategoricalDtype)
        assert coded["id"].astype(object).tolist() == plain["id"].tolist()
        assert coded["day"].tolist() == plain["day"].tolist()
    assert data.ivig_coded["id"].astype(object).tolist() == data.ivig_days["id"].tolist()
    assert data.ivig_coded["day"].tolist() == data.ivig_days["day"].tolist()
