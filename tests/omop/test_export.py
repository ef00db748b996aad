"""The results tables: OHDSI's schema, min-cell-count censoring, estimates equal to the library's
fitter on the same intervals, the set id, and no partial output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.omop.errors import OmopError
from analysis.omop.export import censor, results_tables, specification, write_results
from analysis.omop.run import exposures_outcome_set_id, murmur3_32, run_analyses
from analysis.omop.spec import parse_specification
from analysis.sccs import SCCS
from tests.omop import _fixtures as fx

SPEC = {
    "exposures_outcome_list": [{"outcome_id": 3, "exposures": [{"exposure_id": 1}]}],
    "sccs_analysis_list": [
        {"analysis_id": 1, "description": "SCCS",
         "create_sccs_interval_data_args": {"era_covariate_settings": [
             {"label": "Exposure", "include_era_ids": ["exposureId"], "start": 0, "end": 29,
              "end_anchor": "era start", "exposure_of_interest": True,
              "profile_likelihood": True},
             {"label": "Pre", "include_era_ids": ["exposureId"], "start": -30, "end": -1,
              "end_anchor": "era start"}]}},
        {"analysis_id": 2, "description": "SCRI",
         "create_scri_interval_data_args": {
             "era_covariate_settings": {"label": "Exposure", "include_era_ids": ["exposureId"],
                                        "start": 0, "end": 29, "end_anchor": "era start",
                                        "exposure_of_interest": True},
             "control_interval_settings": {"start": -120, "end": -31,
                                           "end_anchor": "era start"}}}]}


def _data(n: int = 60, seed: int = 1):
    """n cases observed 0..729 days, exposed once, events more frequent in the 30 exposed days."""
    rng = np.random.default_rng(seed)
    starts = rng.integers(200, 500, n)
    c = fx.cases([(i + 1, f"p{i % (n - 3)}", 0, 729, 20_000, 8507, "2010-01-01")
                  for i in range(n)])
    rows = [("rx", i + 1, 1, int(s), int(s) + 9) for i, s in enumerate(starts)]
    for i, s in enumerate(starts):
        k = 1 + rng.poisson(0.5)
        days = np.where(rng.random(k) < 0.3, s + rng.integers(0, 30, k), rng.integers(0, 730, k))
        rows += [("hoi", i + 1, 3, int(d), int(d)) for d in days]
    e = fx.eras(rows)
    r = fx.era_ref([("rx", 1, "drug 1", "2009-01-01", "2015-01-01"),
                    ("hoi", 3, "outcome 3", "2009-01-01", "2015-01-01")])
    return fx.sccs_data(c, e, r)


@pytest.fixture(scope="module")
def run():
    spec = parse_specification(SPEC)
    data = _data()
    results = list(run_analyses(spec, lambda *a: data))
    return spec, results


def test_every_table_has_ohdsi_columns_in_order(run) -> None:
    spec, results = run
    tables = results_tables(spec, results, "test", 5)
    sp = specification()
    for name, df in tables.items():
        assert list(df.columns) == sp.loc[sp["table_name"] == name, "column_name"].tolist(), name
    assert len(tables["sccs_result"]) == 2  # one exposure of interest per analysis
    assert set(tables["sccs_diagnostics_summary"]["ease_diagnostic"]) == {"NOT EVALUATED"}


@pytest.mark.filterwarnings("ignore::analysis.sccs.SCCSWarning")
def test_estimates_equal_the_library_fit_on_the_same_intervals(run) -> None:
    _, results = run
    for r in results:
        iv = r.data.intervals
        terms = [t for t in r.data.terms if iv[t].any()]
        ref = SCCS().fit(iv, terms, id_col="case_id")
        got = r.model.estimates.loc[1000, "log_rr"]
        assert got == pytest.approx(float(ref.params["cov_1000"]), abs=1e-12)
        ci = ref.conf_int(method="profile").loc["cov_1000"]
        assert r.rows[0]["log_lb95"] == pytest.approx(float(ci["lower"]), abs=1e-12)
        # OHDSI's standard error from the profile interval's width
        se = (ci["upper"] - ci["lower"]) / (2 * 1.959963984540054)
        assert r.rows[0]["se_log_rr"] == pytest.approx(float(se), rel=1e-12)


def test_scri_uses_only_risk_and_control_days(run) -> None:
    _, results = run
    scri = next(r for r in results if r.analysis.analysis_id == 2)
    # every case contributes at most 30 risk days and 90 control days
    per_case = scri.data.intervals.groupby("case_id")["days"].sum()
    assert (per_case <= 120).all()


def test_min_cell_count_censors_as_ohdsi() -> None:
    df = pd.DataFrame({"n": [0, 1, 4, 5, 6, None]})
    assert censor(df, ["n"], 5)["n"].tolist()[:5] == [0, -5, -5, 5, 6]


def test_counts_below_threshold_are_censored_in_the_files(run, tmp_path) -> None:
    spec, results = run
    out = write_results(results_tables(spec, results, "test", 10_000), tmp_path / "out")
    att = pd.read_csv(out / "sccs_attrition.csv")
    res = pd.read_csv(out / "sccs_result.csv")
    # every count of this small data set is below 10,000 and above 0
    for col in ("outcome_subjects", "outcome_events", "outcome_observation_periods"):
        assert set(att[col]) == {-10_000} and set(res[col]) == {-10_000}
    # no person id in any file
    text = "".join(p.read_text() for p in out.glob("*.csv"))
    assert "p1" not in text and "p12," not in text


def test_no_partial_output_on_error(run, tmp_path) -> None:
    spec, results = run
    tables = results_tables(spec, results, "test", 5)
    tables["sccs_zz_bad"] = object()  # cannot be written
    with pytest.raises(AttributeError):
        write_results(tables, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_with_other_files_is_refused_and_left_untouched(run, tmp_path) -> None:
    """Replacing --out removed the whole folder: a user's file in it was lost. Now only a
    folder of a previous run's sccs_*.csv tables is replaced; any other file refuses the write."""
    spec, results = run
    tables = results_tables(spec, results, "test", 5)
    out = write_results(tables, tmp_path / "out")
    assert write_results(tables, out) == out  # a previous run's folder is replaced
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.csv" for n in tables)
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OmopError, match=r"--out .*out: holds notes.txt.*refusing"):
        write_results(tables, out)
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folder left


def test_a_previous_run_or_the_current_folder_is_written_in_place(run, tmp_path,
                                                                 monkeypatch) -> None:
    """A previous run's tables not written again go; '--out .' crashed (the working folder
    cannot be renamed) and left a temporary folder: now the files move into it."""
    spec, results = run
    tables = results_tables(spec, results, "test", 5)
    here = tmp_path / "here"
    here.mkdir()
    (here / "sccs_from_an_older_version.csv").write_text("x\n")
    monkeypatch.chdir(here)
    write_results(tables, ".")
    assert sorted(p.name for p in here.iterdir()) == sorted(f"{n}.csv" for n in tables)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here"]


def test_cli_refuses_such_a_folder_before_the_run(tmp_path, capsys) -> None:
    """The check comes before the CDM is opened: exit 2 and the user's file kept."""
    from analysis import PROJECT_ROOT
    from analysis.cli.main import main

    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "notes.txt").write_text("mine")
    code = main(["omop", "run", "--cdm", str(tmp_path / "absent.duckdb"), "--spec",
                 str(PROJECT_ROOT / "data/omop/eunomia-ohdsi-test.yaml"),
                 "--out", str(tmp_path / "results")])
    assert code == 2 and "holds notes.txt" in capsys.readouterr().err
    assert (tmp_path / "results" / "notes.txt").read_text() == "mine"


def test_murmur3_and_set_id() -> None:
    # published MurmurHash3_x86_32 test vectors (seed 0)
    assert murmur3_32(b"") == 0
    assert murmur3_32(b"hello") == 0x248BFA47
    assert murmur3_32(b"The quick brown fox jumps over the lazy dog") == 0x2E4FF723
    assert exposures_outcome_set_id(3, None, [1, 2]) == murmur3_32(b"3 NA 1 2") - 2**31
