"""Specification checks, OHDSI's study-population rules and interval rules on hand-computed cases.

Every expected number below is worked out by hand from OHDSI SelfControlledCaseSeries 6.0.0's
rules (R/StudyPopulation.R, src/SccsConverter.cpp, R/ScriDataConversion.R), written in comments.
"""

from __future__ import annotations

import copy

import pandas as pd
import pytest
import yaml

from analysis.omop.design import build_interval_data
from analysis.omop.errors import OmopError
from analysis.omop.population import create_study_population
from analysis.omop.spec import (
    CreateStudyPopulationArgs,
    EraCovariateSettings,
    IntervalDataArgs,
    load_specification,
    parse_specification,
)
from tests.omop import _fixtures as fx

EUNOMIA_SPEC = "data/omop/eunomia-ohdsi-test.yaml"


# -- specification --------------------------------------------------------------------------


def _spec() -> dict:
    with open(EUNOMIA_SPEC, encoding="utf-8") as f:
        return yaml.safe_load(f)


def test_eunomia_specification_pairs_follow_ohdsi_exclusion() -> None:
    spec = load_specification(EUNOMIA_SPEC)
    # 4 sets x 2 analyses, minus set 2 (exposure 1, outcome 4) under both analyses
    assert [(eo.outcome_id, a.analysis_id) for _, eo, a in spec.pairs()] == [
        (3, 1), (3, 2), (4, 1), (4, 2), (999, 1), (999, 2)]
    a1, a2 = spec.sccs_analysis_list
    assert (a1.design, a2.design) == ("SCCS", "SCRI")
    assert a1.interval_args.era_covariate_settings[2].pre_exposure is True
    assert a2.interval_args.control_interval.start == -180


@pytest.mark.parametrize("path, value, message", [
    (("sccs_analysis_list", 0, "create_study_population_args", "naive_period"), -1,
     "sccs_analysis_list[0].create_study_population_args.naive_period: must be a non-negative "
     "integer (got -1)"),
    (("sccs_analysis_list", 1, "create_scri_interval_data_args", "control_interval_settings",
      "end_anchor"), "era middle",
     "sccs_analysis_list[1].create_scri_interval_data_args.control_interval_settings.end_anchor: "
     "must be one of 'era start', 'era end'"),
    (("exposures_outcome_list", 0, "outcome_id"), "three",
     "exposures_outcome_list[0].outcome_id: must be an integer"),
    (("sccs_analysis_list", 0, "create_study_population_args", "first_outcome_only"), "yes",
     "sccs_analysis_list[0].create_study_population_args.first_outcome_only: must be true or "
     "false"),
    (("sccs_analysis_list", 0, "create_sccs_interval_data_args", "era_covariate_settings", 0,
      "stat"), 1,
     "sccs_analysis_list[0].create_sccs_interval_data_args.era_covariate_settings[0].stat: "
     "unknown key"),
    (("sccs_analysis_list", 0, "create_sccs_interval_data_args", "event_dependent_observation"),
     "yes", "create_sccs_interval_data_args.event_dependent_observation: must be true or false"),
    (("sccs_analysis_list", 0, "create_sccs_interval_data_args", "era_covariate_settings", 1,
      "include_era_ids"), ["exposureId9"], "'exposureId9' is not the exposure_id_ref"),
    (("sccs_analysis_list", 0, "get_db_sccs_data_args", "custom_covariate_ids"), ["x9"],
     "get_db_sccs_data_args.custom_covariate_ids: 'x9' is not the exposure_id_ref"),
    (("sccs_analysis_list", 0, "get_db_sccs_data_args", "custom_covariate_ids"), [1.5],
     "get_db_sccs_data_args.custom_covariate_ids[0]: must be an integer id or an exposure"),
    (("custom_covariate_table",), "drug_era",
     "custom_covariate_table: must be one of 'cohort', 'condition_era'"),
])
def test_specification_errors_name_the_key(path: tuple, value: object, message: str) -> None:
    data = copy.deepcopy(_spec())
    node = data
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    with pytest.raises(OmopError) as err:
        parse_specification(data)
    assert message in str(err.value)


def test_exposure_of_interest_required() -> None:
    data = _spec()
    data["sccs_analysis_list"][1]["create_scri_interval_data_args"]["era_covariate_settings"][0][
        "exposure_of_interest"] = False
    with pytest.raises(OmopError, match=r"sccs_analysis_list\[1\].*exposure_of_interest: true"):
        parse_specification(data)


def test_bad_yaml_names_the_file(tmp_path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text("exposures_outcome_list: [\n", encoding="utf-8")
    with pytest.raises(OmopError, match=r"s\.yaml: not valid YAML"):
        load_specification(p)


# -- study population -----------------------------------------------------------------------


def _pop_data():
    c = fx.cases([(1, "a", 0, 999, 10_000, 8507, "2000-01-01"),
                  (2, "b", 0, 150, 12_000, 8532, "2000-01-01"),
                  (3, "a", 0, 400, 11_500, 8507, "2004-01-01")])
    e = fx.eras([("hoi", 1, 3, 100, 100), ("hoi", 1, 3, 500, 500), ("hoi", 2, 3, 50, 50),
                 ("hoi", 3, 3, 300, 300), ("rx", 1, 1, 600, 610)])
    r = fx.era_ref([("rx", 1, "drug 1", "2001-06-01", "2001-12-31"),
                    ("hoi", 3, "outcome 3", "2000-01-01", "2010-01-01")])
    return fx.sccs_data(c, e, r)


def _population(args: CreateStudyPopulationArgs, restrict: int | None = None):
    d = _pop_data()
    return create_study_population(d.cases, d.eras, d.era_ref, 3, args,
                                   base_attrition=d.metadata["attrition"],
                                   prevalences=d.metadata["prevalences"],
                                   restrict_era_id=restrict)


def test_naive_period_and_gender_attrition() -> None:
    pop = _population(CreateStudyPopulationArgs(naive_period=180, gender_concept_ids=(8507,)))
    # naive 180: case 1 observed 180..999 (outcome 100 dropped, 500 kept), case 2 gone
    # (180 >= 150), case 3 180..400 (outcome 300); person a twice: 1 subject, 2 events,
    # 2 periods, days (999-180+1) + (400-180+1) = 820 + 221 = 1041. Gender 8507: unchanged.
    att = pop.attrition
    assert att["description"].tolist() == ["All outcome occurrences",
                                           "Requiring 180 days naive period",
                                           "Restricting gender to concept(s) 8507"]
    assert att.iloc[1, 2:].tolist() == [1, 2, 2, 1041]
    assert att.iloc[2, 2:].tolist() == [1, 2, 2, 1041]
    assert pop.cases["case_id"].tolist() == [1, 3]
    assert pop.outcomes.to_numpy().tolist() == [[1, 500], [3, 300]]


def test_first_outcome_only_before_naive_period() -> None:
    pop = _population(CreateStudyPopulationArgs(first_outcome_only=True, naive_period=180))
    # first outcomes: case 1 day 100, case 2 day 50, case 3 day 300; all within observation:
    # subjects a, b = 2; 3 events; 3 periods; days 1000 + 151 + 401 = 1552.
    assert pop.attrition.iloc[1, 1:].tolist() == ["First outcome only", 2, 3, 3, 1552]
    # naive 180 removes case 1's only outcome (day 100) and case 2: case 3 alone, 221 days
    assert pop.attrition.iloc[2, 2:].tolist() == [1, 1, 1, 221]
    assert pop.cases["case_id"].tolist() == [3]


def test_age_limits() -> None:
    # min_age 30: 30 * 365.25 = 10957.5 days; case 1 (age 10000 at day 0) starts at day 957.5,
    # keeps outcome... none (100, 500 < 957.5); case 2 (12000) and case 3 (11500) unchanged.
    # max_age 32: round(33 * 365.25) - 1 = 12052 days: case 2 ends at day 52, case 3 at 552
    # (> 400, unchanged). Outcomes kept: case 2 day 50, case 3 day 300.
    pop = _population(CreateStudyPopulationArgs(min_age=30, max_age=32))
    assert pop.attrition.iloc[-1, 1:].tolist() == [
        "Restrict to age >= 30 & age <= 32", 2, 2, 2, 53 + 401]
    c2 = pop.cases.set_index("case_id").loc[2]
    assert (c2["end_day"], c2["noninformative_end_censor"]) == (52, 1)


def test_restrict_time_to_era() -> None:
    # era 1 observed 2001-06-01 .. 2001-12-31: case 1 (from 2000-01-01) keeps days 517..730;
    # its outcome on day 500 falls before: no outcome left in the restricted time for case 1;
    # case 3 (2004) is entirely after: dropped. Case 2 (2000, to day 150) too.
    pop = _population(CreateStudyPopulationArgs(), restrict=1)
    assert pop.attrition.iloc[-1, 1:].tolist() == [
        "Restricting to time when drug 1 was observed", 0, 0, 0, 0]
    assert pop.cases.empty and pop.restricted_time_to_era["era_id"] == 1


# -- interval data --------------------------------------------------------------------------

RISK = EraCovariateSettings(include_era_ids=(5,), start=0, end=7, end_anchor="era start",
                            exposure_of_interest=True, label="risk")
PRE = EraCovariateSettings(include_era_ids=(5,), start=-30, end=-1, end_anchor="era start",
                           label="pre")


def _intervals(rx: list[tuple], outcomes: list[int], settings, end_day: int = 99,
               eoo: int = 30, design: str = "SCCS", control=None) -> pd.DataFrame:
    c = pd.DataFrame({"case_id": [1], "person_id": ["p"], "start_day": [0], "end_day": [end_day]})
    o = pd.DataFrame({"case_id": [1] * len(outcomes), "outcome_day": outcomes})
    e = fx.eras([("rx", 1, 5, s, t) for s, t in rx])
    args = IntervalDataArgs(design, tuple(settings), control,
                            end_of_observation_era_length=eoo)
    d = build_interval_data(c, o, e, args, {})
    return d.intervals.drop(columns="case_id"), d


def test_touching_eras_merge_and_windows_anchor_on_era_start() -> None:
    # eras [10,14] and [15,20] touch (15 <= 14 + 1): one era [10,20]. Risk 0..7 from its
    # start: [10,17]; pre-exposure -30..-1: [-20,9] -> [0,9]; end of observation [70,99].
    # Segments: [0,9] pre, [10,17] risk, [18,69] none, [70,99] end of observation.
    iv, d = _intervals([(10, 14), (15, 20)], [5, 12, 80, 95], [RISK, PRE])
    expected = pd.DataFrame({"cov_99": [0, 0, 0, 1], "cov_1000": [0, 0, 1, 0],
                             "cov_1001": [0, 1, 0, 0], "days": [52, 10, 8, 30],
                             "events": [0, 1, 1, 2]})
    got = iv.sort_values(["cov_99", "cov_1000", "cov_1001"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    stats = d.covariate_statistics.set_index("covariate_id")
    # risk: 1 era of 8 days with 1 outcome; observed days end_day + 1 = 100, 4 outcomes
    assert stats.loc[1000].tolist() == [1, 1, 8, 1, 1, 100, 4]


def test_next_era_censors_the_window_and_windows_overlap() -> None:
    # eras [10,10] and [13,13] (13 > 11: two eras). Risk: [10,17] ends before the next era's
    # start -> [10,12]; [13,20]; merged (touch) -> [10,20]. Pre: [0,9] and [-17,12] -> [0,12].
    # Segments [0,9] pre; [10,12] pre+risk; [13,20] risk; [21,69] none; [70,99] end.
    iv, _ = _intervals([(10, 10), (13, 13)], [11], [RISK, PRE])
    rows = sorted(map(tuple, iv[["cov_99", "cov_1000", "cov_1001", "days", "events"]].to_numpy()))
    assert rows == [(0, 0, 0, 49, 0), (0, 0, 1, 10, 0), (0, 1, 0, 8, 0), (0, 1, 1, 3, 1),
                    (1, 0, 0, 30, 0)]


def test_first_occurrence_only_and_era_end_anchor() -> None:
    # first occurrence of eras [10,20], [50,60]: [10,20]; window from era end + 1 to era end
    # + 30: [21,50]. No end-of-observation era. Segments [0,20], [21,50], [51,99].
    s = EraCovariateSettings(include_era_ids=(5,), start=1, start_anchor="era end", end=30,
                             end_anchor="era end", first_occurrence_only=True,
                             exposure_of_interest=True)
    iv, _ = _intervals([(10, 20), (50, 60)], [30], [s], eoo=0)
    assert sorted(map(tuple, iv[["cov_1000", "days", "events"]].to_numpy())) == [(0, 70, 0),
                                                                             (1, 30, 1)]


def test_uninformative_case_is_dropped() -> None:
    # no exposure and no end-of-observation era: one segment, not informative
    iv, _ = _intervals([], [30], [RISK], eoo=0)
    assert iv.empty
    iv, _ = _intervals([], [30], [RISK], eoo=30)  # two segments: kept
    assert sorted(iv["days"]) == [30, 70]


def test_scri_keeps_risk_and_control_only() -> None:
    # obs [0,399]; era [200,205]; risk [200,207]; control -180..-1 from start: [20,199].
    # Days outside both are dropped; control is the reference: (0: 180 days, 1 event at 50),
    # (1: 8 days, 1 event at 202); the event on day 300 is in neither.
    control = EraCovariateSettings(start=-180, end=-1, end_anchor="era start",
                                   include_era_ids=(5,), is_control_interval=True)
    iv, d = _intervals([(200, 205)], [50, 202, 300], [RISK], end_day=399, eoo=0,
                       design="SCRI", control=control)
    assert sorted(map(tuple, iv.to_numpy())) == [(0, 180, 1), (1, 8, 1)]
    assert d.covariate_ref["covariate_id"].tolist() == [1000]


# -- descriptive tables ---------------------------------------------------------------------


def test_time_to_event_weeks_by_hand() -> None:
    from analysis.omop.population import StudyPopulation
    from analysis.omop.tables import time_to_event

    # observed days 0..99; first era of drug 7 starts day 30 (the one on day 80 is later);
    # outcomes: day 20 (delta -10: week -2, unexposed), day 31 (delta 1: week 0, on the era
    # 30..35: exposed), day 82 (delta 52: week 7, on the second era: exposed).
    # Observed weeks: delta from -30 to 69: weeks -5 (-35..-29) .. 9 (63..69).
    cases = pd.DataFrame({"case_id": [1], "start_day": [0], "end_day": [99]})
    e = fx.eras([("rx", 1, 7, 30, 35), ("rx", 1, 7, 80, 85), ("rx", 1, 8, 0, 5)])
    pop = StudyPopulation(cases, pd.DataFrame({"case_id": [1, 1, 1],
                                               "outcome_day": [20, 31, 82]}), pd.DataFrame(), 3)
    t = time_to_event(pop, e, 7).set_index("week")
    assert t.index.tolist() == list(range(-5, 10))
    assert (t["observed_subjects"] == 1).all()
    assert t.loc[[-2, 0, 7], ["events_exposed", "events_unexposed"]].to_numpy().tolist() == [
        [0, 1], [1, 0], [1, 0]]
    assert t[["events_exposed", "events_unexposed"]].to_numpy().sum() == 3


def test_calendar_spans_by_hand() -> None:
    from analysis.omop.population import StudyPopulation
    from analysis.omop.tables import spans

    # OHDSI's rule: month m counts when first month + 1 <= m < last month - 1.
    # case 1 observed 2020-01-10 .. 2020-06-20: Feb <= m < May; case 2 2020-03-01 ..
    # 2020-06-30: Apr <= m < May. (A case 2020-03-01 .. 2020-05-31 would count in no month.)
    cases = pd.DataFrame({"case_id": [1, 2], "observation_period_start_date":
                          pd.to_datetime(["2020-01-10", "2020-03-01"]),
                          "age_at_obs_start": [0, 0], "start_day": [0, 0],
                          "end_day": [162, 121]})
    pop = StudyPopulation(cases, pd.DataFrame(columns=["case_id", "outcome_day"]),
                          pd.DataFrame(), 3)
    s = spans(pop, "time")
    assert s[["calendar_month", "cover_before_after_subjects"]].to_numpy().tolist() == [
        [2, 1], [3, 1], [4, 2]]
