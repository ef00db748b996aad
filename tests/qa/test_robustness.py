"""Property-based tests of the study's intervals and SCCS fits (hypothesis).

What and why: the paper's numbers rest on the interval table (who was exposed on which day, where
each infection falls) and the conditional Poisson fit. These properties must hold for *any* valid
cohort, so hypothesis draws small random cohorts (1-5 patients, doses and infections inside and
outside observation, progressions, IgG measurements) and checks, through the study-level API
(:mod:`analysis.study`, which calls :mod:`analysis.sccs.intervals` and :mod:`analysis.sccs`):

1. conservation -- every observed day is in exactly one interval and every infection in
   observation is counted once; exposed, pre-exposure, fall/winter, progression and HGG person-days
   and events equal those of a naive day-by-day reference (Python sets; ``_helpers_qa``);
2. invariance to the row order of every cohort file;
3. invariance to splitting intervals: cutting intervals in two (engine level), or at season
   boundaries that the model ignores (study level), changes no estimate;
4. a never-exposed case leaves the exposure IRR unchanged, exactly: with only exposure terms in
   the model, case ``i`` never exposed contributes ``sum_j y_ij log(d_ij / D_i)`` to the
   conditional log-likelihood -- no ``beta`` in it -- so neither the estimate nor its curvature
   (hence SE) moves; a reference-group patient changes nothing at all (SCCS uses IVIG patients);
5. shifting every date by a constant changes nothing but the season: all fits without season
   adjustment are identical, interval tables are the same up to the shift.

Fits are compared as outcomes: the same estimates (or the same SCCSWarning/SCCSError/StudyError
message) either way. Deterministic (the project's hypothesis profile is derandomized) and bounded.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _helpers_qa import (
    Inf,
    Pt,
    load,
    naive_events,
    naive_exposed_days,
    naive_observed,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from analysis.sccs import SCCS, SCCSError
from analysis.study import StudyError, fit_sccs, study_intervals

#: Each example writes and loads CSV files (~50 ms); keep every property to a few seconds.
FEW = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

ORGANISMS = ["bacterial", "viral", "fungal", "unconfirmed"]


@st.composite
def patients(draw, pid: str, group: str | None = None) -> Pt:
    last = draw(st.integers(0, 240))
    length = last + 31
    ivig = draw(st.lists(st.integers(-70, length + 40), max_size=5))
    infections = draw(
        st.lists(
            st.builds(
                Inf,
                day=st.integers(-25, length + 25),
                grade=st.integers(1, 5),
                organism=st.sampled_from(ORGANISMS),
            ),
            max_size=6,
        )
    )
    progression = draw(st.lists(st.integers(-40, length), max_size=2))
    igg_days = draw(st.lists(st.integers(-120, length), max_size=3, unique=True))
    igg = tuple((d, draw(st.sampled_from([150.0, 350.0, 650.0, 900.0]))) for d in igg_days)
    return Pt(
        pid,
        start=draw(st.integers(16_400, 18_200)),  # 2014-11 .. 2019-10
        last=last,
        group=group or draw(st.sampled_from(["ivig", "ivig", "ivig", "reference"])),
        ivig=tuple(ivig),
        infections=tuple(infections),
        progression=tuple(progression),
        igg=igg,
    )


@st.composite
def cohorts(draw, min_size: int = 1, max_size: int = 5) -> list[Pt]:
    n = draw(st.integers(min_size, max_size))
    return [draw(patients(f"P{k:02d}")) for k in range(n)]


# --------------------------------------------------------------------------- helpers
def fit_outcome(cohort, **options) -> tuple:
    """A fit as comparable data: estimates and warnings, or the error and its message."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = fit_sccs(cohort, **options)
        except (StudyError, SCCSError) as exc:
            return ("error", type(exc).__name__, str(exc))
    return (
        "fit",
        fit.params.to_dict(),
        fit.bse.to_dict(),
        fit.n_cases,
        fit.n_events,
        sorted(str(w.message) for w in caught),
    )


def _close(a: dict, b: dict, rtol: float = 1e-8, atol: float = 1e-9) -> bool:
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = a[k], b[k]
        if math.isnan(x) or math.isnan(y) or math.isinf(x) or math.isinf(y):
            if not (x == y or (math.isnan(x) and math.isnan(y))):
                return False
        elif not math.isclose(x, y, rel_tol=rtol, abs_tol=atol):
            return False
    return True


#: |log-IRR| beyond which the engine warns that an estimate is probably infinite
#: (analysis.sccs.model._HUGE_COEF): Newton stops somewhere on a flat ridge, so the value is
#: not defined to any precision and only its sign is compared.
HUGE = 20.0


def same_estimates(params: tuple[dict, dict], bse: tuple[dict, dict]) -> bool:
    """Equal estimates and SEs (:func:`_close`); a probably infinite estimate only by sign."""
    (pa, pb), (sa, sb) = params, bse
    huge = {k for k, v in pa.items() if abs(v) > HUGE and math.isfinite(v)}
    if huge != {k for k, v in pb.items() if abs(v) > HUGE and math.isfinite(v)}:
        return False
    if any(math.copysign(1, pa[k]) != math.copysign(1, pb[k]) for k in huge):
        return False
    rest = [k for k in pa if k not in huge]
    return (pa.keys() == pb.keys() and _close({k: pa[k] for k in rest}, {k: pb[k] for k in rest})
            and _close({k: sa[k] for k in rest}, {k: sb[k] for k in rest}))


def same_outcome(a: tuple, b: tuple) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == "error":
        return a == b
    return same_estimates((a[1], b[1]), (a[2], b[2])) and a[3:] == b[3:]


#: Model options covering every term of the paper's models (and a non-default outcome).
MODELS: list[dict] = [
    {"outcome": "grade3"},
    {"pre_window": 60},
    {"adjust": ("season", "progression")},
    {"hgg": 400},
]
#: Models without the season term (invariant under a date shift).
NO_SEASON: list[dict] = [{}, {"pre_window": 60, "adjust": ("progression",)}, {"hgg": 400}]


def _rows(table: pd.DataFrame, pid: str) -> pd.DataFrame:
    return table[table["id"] == pid]


def _month(day: int) -> int:
    return (dt.date(1970, 1, 1) + dt.timedelta(days=day)).month


# --------------------------------------------------------------------------- 1. conservation
@FEW
@given(pts=cohorts())
def test_person_days_and_events_conserved(pts: list[Pt], tmp_path_factory) -> None:
    cohort = load(tmp_path_factory.mktemp("c"), pts)
    table = study_intervals(
        cohort, "all", pre_window=30, adjust=("season", "progression"), group=None
    )
    assert set(table["id"]) == {p.pid for p in pts}
    for p in pts:
        rows = _rows(table, p.pid).sort_values("start")
        observed = naive_observed(p)
        exposed = naive_exposed_days(p)
        events = naive_events(p)
        # tiling: contiguous, inclusive, covering exactly the observation period
        assert rows["start"].iloc[0] == p.obs_start and rows["end"].iloc[-1] == p.obs_end
        assert (rows["start"].to_numpy()[1:] == rows["end"].to_numpy()[:-1] + 1).all()
        assert (rows["days"] == rows["end"] - rows["start"] + 1).all()
        assert rows["days"].sum() == len(observed)
        assert rows["events"].sum() == len(events)
        on = rows["on_ivig"] == 1
        assert rows.loc[on, "days"].sum() == len(exposed)
        assert rows.loc[on, "events"].sum() == sum(e in exposed for e in events)
        # pre-exposure window: f-30 .. f-1 of the earliest dose (any date), exposure wins
        if p.ivig:
            f = p.start + min(p.ivig)
            pre = (set(range(f - 30, f)) & observed) - exposed
        else:
            pre = set()
        assert rows.loc[rows["pre_ivig"] == 1, "days"].sum() == len(pre)
        assert not ((rows["pre_ivig"] == 1) & on).any()
        # season: 1 October - 31 March
        fw = {d for d in observed if _month(d) in (10, 11, 12, 1, 2, 3)}
        assert rows.loc[rows["fall_winter"] == 1, "days"].sum() == len(fw)
        assert rows.loc[rows["fall_winter"] == 1, "events"].sum() == sum(e in fw for e in events)
        # progression: p .. p + 29
        prog = set().union(*(range(p.start + d, p.start + d + 30) for d in p.progression))
        prog &= observed
        assert rows.loc[rows["progression"] == 1, "days"].sum() == len(prog)


def _naive_igg_level(p: Pt, day: int) -> float | None:
    """Contract: latest measurement on or before ``day``; before the first, the baseline (first
    measurement within dara_start-90 .. dara_start+10); else unknown (IgA: functional = total)."""
    before = [(d, v) for d, v in p.igg if p.start + d <= day]
    if before:
        return max(before)[1]
    baseline = sorted((d, v) for d, v in p.igg if -90 <= d <= 10)
    return baseline[0][1] if baseline else None


@FEW
@given(pts=cohorts())
def test_hgg_person_days_match_the_contract(pts: list[Pt], tmp_path_factory) -> None:
    cohort = load(tmp_path_factory.mktemp("c"), pts)
    table = study_intervals(cohort, "all", hgg=400, group=None)
    for p in pts:
        levels = {d: _naive_igg_level(p, d) for d in naive_observed(p)}
        known = {d for d, v in levels.items() if v is not None}
        below = {d for d in known if levels[d] < 400}
        rows = _rows(table, p.pid)
        assert rows["days"].sum() == len(known), p
        assert rows.loc[rows["igg_below_400"] == 1, "days"].sum() == len(below), p
        events = naive_events(p)
        assert rows["events"].sum() == sum(e in known for e in events)
        assert rows.loc[rows["igg_below_400"] == 1, "events"].sum() == sum(
            e in below for e in events
        )


# --------------------------------------------------------------------------- 2. row order
@FEW
@given(pts=cohorts(min_size=2), data=st.data())
def test_invariant_to_row_order(pts: list[Pt], data, tmp_path_factory) -> None:
    n_rows = {
        "patients.csv": len(pts),
        "ivig.csv": sum(len(p.ivig) for p in pts),
        "infections.csv": sum(len(p.infections) for p in pts),
        "igg.csv": sum(len(p.igg) for p in pts),
        "progression.csv": sum(len(p.progression) for p in pts),
    }
    order = {f: data.draw(st.permutations(range(n)), label=f) for f, n in n_rows.items()}
    a = load(tmp_path_factory.mktemp("a"), pts)
    b = load(tmp_path_factory.mktemp("b"), pts, order=order)
    for options in MODELS:
        fa, fb = fit_outcome(a, **options), fit_outcome(b, **options)
        assert same_outcome(fa, fb), (options, fa, fb)
    key = ["id", "start"]
    ta = study_intervals(a, pre_window=30, adjust=("season", "progression"), group=None)
    tb = study_intervals(b, pre_window=30, adjust=("season", "progression"), group=None)
    pd.testing.assert_frame_equal(
        ta.sort_values(key).reset_index(drop=True), tb.sort_values(key).reset_index(drop=True)
    )


# --------------------------------------------------------------------------- 3. splitting
@FEW
@given(pts=cohorts(), data=st.data())
def test_splitting_an_interval_changes_no_estimate(pts: list[Pt], data, tmp_path_factory) -> None:
    """Cutting interval (d, y) into (d1, y1) + (d2, y2) adds y1 log(d1/d) + y2 log(d2/d) to the
    log-likelihood, a constant: estimates, SEs and loglik - loglik_null are unchanged."""
    cohort = load(tmp_path_factory.mktemp("c"), pts)
    table = study_intervals(cohort, pre_window=30, adjust=("progression",), cases_only=True)
    terms = ["on_ivig", "pre_ivig", "progression"]
    splittable = table.index[table["days"] >= 2].tolist()
    assume(len(splittable) > 0)
    rows = data.draw(st.lists(st.sampled_from(splittable), min_size=1, max_size=4, unique=True))
    pieces = []
    for i, row in table.iterrows():
        if i in rows:
            d1 = data.draw(st.integers(1, int(row["days"]) - 1))
            y1 = data.draw(st.integers(0, int(row["events"])))
            pieces.append(row.copy().to_frame().T.assign(days=d1, events=y1))
            pieces.append(
                row.copy().to_frame().T.assign(days=row["days"] - d1, events=row["events"] - y1)
            )
        else:
            pieces.append(row.to_frame().T)
    split = pd.concat(pieces, ignore_index=True).astype(table.dtypes.to_dict())

    def run(t: pd.DataFrame) -> tuple:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            try:
                f = SCCS().fit(t, terms)
            except SCCSError as exc:
                return ("error", str(exc))
        return ("fit", f.params.to_dict(), f.bse.to_dict(), f.loglik - f.loglik_null)

    a, b = run(table), run(split)
    assert a[0] == b[0], (a, b)
    if a[0] == "fit":
        assert same_estimates((a[1], b[1]), (a[2], b[2])), (a, b)
        assert math.isclose(a[3], b[3], rel_tol=1e-8, abs_tol=1e-8)


@FEW
@given(pts=cohorts())
def test_season_cuts_do_not_change_an_unadjusted_fit(pts: list[Pt], tmp_path_factory) -> None:
    """Intervals cut at 1 April / 1 October (adjust="season") fitted without the season term give
    exactly the unadjusted model: the cuts only split intervals."""
    cohort = load(tmp_path_factory.mktemp("c"), pts)
    reference = fit_outcome(cohort)
    assume(reference[0] == "fit")
    table = study_intervals(cohort, adjust=("season",), cases_only=True)
    # every interval lies in one season, the one its flag says: October-March is fall/winter
    # (months read from the calendar here, not from the study's day arithmetic)
    for end in ("start", "end"):
        month = pd.to_datetime(table[end].to_numpy(), unit="D").month
        in_fw = np.isin(month, (10, 11, 12, 1, 2, 3)).astype(int)
        assert (table["fall_winter"].to_numpy() == in_fw).all(), end
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the same boundary warnings as the reference fit
        fit = SCCS().fit(table, ["on_ivig"])
    assert _close(fit.params.to_dict(), reference[1])
    assert _close(fit.bse.to_dict(), reference[2])


# --------------------------------------------------------------------------- 4. never exposed
@FEW
@given(pts=cohorts(), extra=patients("NEVER", group="ivig"))
def test_never_exposed_case_leaves_exposure_irr_unchanged(
    pts: list[Pt], extra: Pt, tmp_path_factory
) -> None:
    extra = Pt(**{**extra.__dict__, "ivig": ()})
    assume(naive_events(extra))  # it is a case
    base = load(tmp_path_factory.mktemp("a"), pts)
    more = load(tmp_path_factory.mktemp("b"), [*pts, extra])
    for options in ({}, {"pre_window": 30}, {"pre_window": 60, "outcome": "all"}):
        a = fit_outcome(base, **options)
        assume(a[0] == "fit")
        # a divergent estimate (|log-IRR| > 20, flagged "probably infinite") sits on a flat
        # likelihood where the stopping point is not defined to 1e-9: compare finite MLEs only
        b = fit_outcome(more, **options)
        assert b[0] == "fit", b
        if not any("probably infinite" in w for w in a[5]):
            assert _close(a[1], b[1], rtol=1e-9) and _close(a[2], b[2], rtol=1e-7), (options, a, b)
        assert b[3] == a[3] + 1 and b[4] == a[4] + len(naive_events(extra))


@FEW
@given(pts=cohorts(), extra=patients("REF", group="reference"))
def test_reference_patient_changes_no_sccs_fit(pts: list[Pt], extra: Pt, tmp_path_factory) -> None:
    base = load(tmp_path_factory.mktemp("a"), pts)
    more = load(tmp_path_factory.mktemp("b"), [*pts, extra])
    for options in ({}, {"pre_window": 60}, {"adjust": ("season", "progression")}):
        a, b = fit_outcome(base, **options), fit_outcome(more, **options)
        assert same_outcome(a, b), (options, a, b)


# --------------------------------------------------------------------------- 5. date shift
@FEW
@given(pts=cohorts(), shift=st.integers(-1500, 1500).filter(lambda k: k != 0))
def test_date_shift_changes_nothing_but_season(
    pts: list[Pt], shift: int, tmp_path_factory
) -> None:
    base = load(tmp_path_factory.mktemp("a"), pts)
    moved = load(tmp_path_factory.mktemp("b"), [p.shifted(shift) for p in pts])
    for options in NO_SEASON:
        a, b = fit_outcome(base, **options), fit_outcome(moved, **options)
        assert same_outcome(a, b), (options, a, b)
    opts = {"pre_window": 60, "adjust": ("progression",), "group": None}
    ta, tb = study_intervals(base, **opts), study_intervals(moved, **opts)
    assert (tb["start"] - ta["start"] == shift).all() and (tb["end"] - ta["end"] == shift).all()
    cols = [c for c in ta.columns if c not in ("start", "end")]
    pd.testing.assert_frame_equal(ta[cols], tb[cols])
    # with the season term the person-time is conserved but may move between seasons
    sa = study_intervals(base, adjust=("season",), group=None)
    sb = study_intervals(moved, adjust=("season",), group=None)
    assert sa["days"].sum() == sb["days"].sum() and sa["events"].sum() == sb["events"].sum()


def test_property_cohorts_exercise_the_interesting_cases(tmp_path: Path) -> None:
    """Guard against vacuous properties: the cohort strategy does reach finite SCCS fits and
    boundary (zero-events-in-a-level) fits, not only "no cases" errors."""
    from hypothesis import Phase, find

    counter = iter(range(10**6))

    def kind(pts: list[Pt]) -> tuple:
        out = fit_outcome(load(tmp_path / f"c{next(counter)}", pts))
        if out[0] != "fit":
            return (out[0],)
        return ("fit", np.isfinite(out[1]["on_ivig"]))

    once = settings(max_examples=300, database=None, derandomize=True, phases=[Phase.generate])
    finite = find(cohorts(min_size=2), lambda pts: kind(pts) == ("fit", True), settings=once)
    boundary = find(cohorts(min_size=2), lambda pts: kind(pts) == ("fit", False), settings=once)
    assert finite and boundary
