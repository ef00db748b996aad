"""The truth-recovery study of the extension models, and the bias taken apart by mechanism.

Two studies over cohorts drawn from the generator, each run once per code version and kept in
the build's cache (:func:`analysis.synthetic.recovery.cached`), so that the chapter "beyond the
paper" and the truth-recovery chapter show the same numbers from one run:

* :func:`extension_study` fits every on-IVIG model of the chapter "beyond the paper"
  (:data:`METHODS`: the pre-exposure windows, first infections with and without
  time-on-treatment groups, the 2009 event-dependent exposure estimator, the event-dependent
  observation model, the calendar and season splines, the semiparametric model) with the
  study functions that chapter calls (:mod:`analysis.study.extensions`). All of them estimate
  the same truth, the generator's ``irr_on_ivig``. The slow event-dependent observation model
  runs on fewer cohorts (``n_slow``), its Monte Carlo SE saying so.
* :func:`decomposition_study` switches mechanisms of the generator off (:data:`SCENARIOS`) and
  fits the unadjusted and the pre-window models on the same seeds under each.

The words the chapters print about these studies come from
:mod:`analysis.report.truth_words` (outside the code the studies' cache key covers, so rewording
a sentence does not rerun them).

Examples
--------
>>> from analysis.synthetic.recovery_ext import METHODS
>>> [m.key for m in METHODS][:3]
['primary', 'pre30', 'pre60']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.synthetic.events import TruthParameters
from analysis.synthetic.recovery import (
    RESULT_COLUMNS,
    _study_key,
    cached,
    recover,
    run_jobs,
    summarise,
)
from analysis.synthetic.seed_search import seed_score
from analysis.synthetic.simulate import simulate_cohort, to_cohort

__all__ = ["METHODS", "SCENARIOS", "Method", "Scenario", "decomposition_study",
           "decomposition_summary", "extension_study", "recover_methods", "summarise_methods"]

#: An estimate with a log-IRR or SE beyond this is on the boundary (a flat likelihood ridge: the
#: data hold no information on the term) and counted as not fitted.
DEGENERATE_LOG: float = 10.0


@dataclass(frozen=True)
class Method:
    """One on-IVIG model of the chapter "beyond the paper": the study function that fits it,
    its keyword arguments, the term read, and whether it is slow (fewer cohorts)."""

    key: str
    label: str
    fit: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    term: str = "on_ivig"
    slow: bool = False


def _pre_methods() -> tuple[Method, ...]:
    from analysis.study import PRE_WINDOWS

    return tuple(Method(f"pre{w}", f"{w}-day pre-IVIG window", "fit_sccs", {"pre_window": w})
                 for w in PRE_WINDOWS)


#: The models of the extension study, in the chapter's order.
METHODS: tuple[Method, ...] = (
    Method("primary", "Primary (all infections)", "fit_sccs"),
    *_pre_methods(),
    Method("first", "First infections only", "fit_first_infections"),
    Method("first_t", "First infections, time-on-treatment groups", "fit_first_infections",
           {"time_groups": True}),
    Method("fwh_dose", "2009 estimator, IVIG doses", "fit_eventdep_exposure_study",
           {"unit": "dose"}, "on_ivig1"),
    Method("fwh_course", "2009 estimator, IVIG courses", "fit_eventdep_exposure_study",
           {"unit": "course"}, "on_ivig1"),
    Method("fwh_dose_t", "2009 estimator, doses, time-on-treatment groups",
           "fit_eventdep_exposure_study", {"unit": "dose", "time_groups": True}, "on_ivig1"),
    Method("edo_death", "Event-dependent observation (death)", "fit_eventdep_observation_study",
           {"censor": "death"}, "on_ivig1", slow=True),
    Method("edo_death_or_stop", "Event-dependent observation (death or stop after infection)",
           "fit_eventdep_observation_study", {"censor": "death_or_stop"}, "on_ivig1", slow=True),
    Method("season_step", "Season as the paper's October-March step", "smooth_fits",
           {"part": "season_step"}),
    Method("calendar", "Calendar-time spline", "smooth_fits", {"part": "calendar"}),
    Method("season_spline", "Cyclic season spline", "smooth_fits", {"part": "season_spline"}),
    Method("both", "Calendar-time and season splines", "smooth_fits", {"part": "both"}),
    Method("semi", "Semiparametric time on treatment", "fit_semiparametric_time"),
)
#: Keyword arguments of :func:`analysis.study.extensions.smooth_fits` (the chapter's).
SMOOTH_ARGS: dict[str, int] = {"season_df": 4, "calendar_knots": 3}


def _fitter(name: str) -> Callable:
    from analysis import study
    from analysis.study import extensions

    return getattr(study, name, None) or getattr(extensions, name)


def _estimates(cohort, methods: Sequence[Method]) -> dict[str, tuple[float, ...]]:
    """(irr, ci_low, ci_high, se) of each method on ``cohort``; NaN when it cannot be fitted."""
    from analysis.sccs import try_fit

    smooth = None
    out = {}
    for m in methods:
        kw = {k: v for k, v in m.kwargs.items() if k != "part"}
        if m.fit == "smooth_fits":
            if smooth is None:
                smooth = try_fit(_fitter(m.fit), cohort, "all", **SMOOTH_ARGS).result
            fit = smooth.fits.get(m.kwargs["part"]) if smooth is not None else None
        else:
            fit = try_fit(_fitter(m.fit), cohort, "all", **kw).result
        if fit is None or m.term not in fit.summary.index:
            out[m.key] = (np.nan,) * 4
            continue
        r = fit.summary.loc[m.term]
        if not abs(float(r["log_irr"])) < DEGENERATE_LOG or not float(r["se"]) < DEGENERATE_LOG:
            out[m.key] = (np.nan,) * 4
            continue
        out[m.key] = (float(r["irr"]), float(r["ci_low"]), float(r["ci_high"]), float(r["se"]))
    return out


def _one_methods(job: tuple[int, TruthParameters, tuple[Method, ...]]) -> list[dict]:
    """Every method of ``job`` on the cohort of its seed (rows of :data:`RESULT_COLUMNS`)."""
    seed, truth, methods = job
    tables = simulate_cohort(seed, truth=truth)
    ok, _ = seed_score(tables)
    tv = float(truth.irr_on_ivig)
    rows = []
    for key, (irr, lo, hi, se) in _estimates(to_cohort(tables), methods).items():
        rows.append({"seed": seed, "estimand": key, "truth": tv, "irr": irr, "ci_low": lo,
                     "ci_high": hi, "log_irr": np.log(irr) if irr > 0 else np.nan, "se": se,
                     "covered": bool(lo <= tv <= hi), "marginal_ok": ok})
    return rows


def recover_methods(seeds: Iterable[int], truth: TruthParameters | None = None, *,
                    methods: Iterable[str] | None = None, workers: int = 1,
                    progress: bool = False) -> pd.DataFrame:
    """Fit the :data:`METHODS` (or those named in ``methods``) on the cohort of each seed.

    A model that cannot be fitted, or whose estimate is on the boundary (:data:`DEGENERATE_LOG`),
    gives NaN; :func:`summarise_methods` counts the cohorts each model was fitted on (``n``).

    One row per (seed, method), columns of :data:`analysis.synthetic.recovery.RESULT_COLUMNS`
    (``estimand`` holds the method key); the truth of every method is ``truth.irr_on_ivig``.

    Examples
    --------
    >>> r = recover_methods([0], methods=["primary", "first"])
    >>> list(r["estimand"]), bool((r["truth"] == TruthParameters().irr_on_ivig).all())
    (['primary', 'first'], True)
    """
    truth = truth or TruthParameters()
    chosen = tuple(m for m in METHODS if methods is None or m.key in set(methods))
    jobs = [(int(s), truth, chosen) for s in seeds]
    rows = run_jobs(_one_methods, jobs, workers=workers, progress=progress)
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def extension_study(n_cohorts: int = 200, n_slow: int = 50,
                    truth: TruthParameters | None = None, *, workers: int = 1,
                    cache_dir: str | Path | None = None) -> pd.DataFrame:
    """:func:`recover_methods` on seeds ``0 .. n_cohorts - 1`` (the slow methods on the first
    ``n_slow``), cached per size, truth and code (:func:`analysis.synthetic.recovery.cached`)."""
    truth = truth or TruthParameters()

    def compute() -> pd.DataFrame:
        fast = [m.key for m in METHODS if not m.slow]
        slow = [m.key for m in METHODS if m.slow]
        return pd.concat([recover_methods(range(n_cohorts), truth, methods=fast, workers=workers),
                          recover_methods(range(n_slow), truth, methods=slow, workers=workers)],
                         ignore_index=True)

    key = _study_key("extensions", n_cohorts, n_slow, truth.as_dict())
    return cached("truth-recovery-ext", key, compute, cache_dir)


def summarise_methods(results: pd.DataFrame) -> pd.DataFrame:
    """:func:`analysis.synthetic.recovery.summarise` over :data:`METHODS`."""
    return summarise(results, METHODS)


# --------------------------------------------------------------------------- decomposition
@dataclass(frozen=True)
class Scenario:
    """The generator with some mechanisms switched off (``off``: TruthParameters overrides)."""

    key: str
    label: str
    off: Mapping[str, Any] = field(default_factory=dict)

    def truth(self, base: TruthParameters) -> TruthParameters:
        """``base`` with this scenario's mechanisms switched off."""
        return replace(base, **dict(self.off))


_NO_PROMPT = {"prompt_prob": 0.0}
_FLAT_HGG = {"hgg_rr": (1.0, 1.0, 1.0, 1.0)}
_NO_OTHER = {"early_rr": 1.0, "progression_rr": 1.0, "fall_winter_rr": 1.0}
#: The generator with mechanisms switched off, one at a time and together.
SCENARIOS: tuple[Scenario, ...] = (
    Scenario("all_on", "Every mechanism (the default truth)"),
    Scenario("no_prompt", "No prompting", _NO_PROMPT),
    Scenario("no_prompt_flat_hgg", "No prompting, flat HGG effect", {**_NO_PROMPT, **_FLAT_HGG}),
    Scenario("no_prompt_hgg_only", "No prompting, HGG the only other time-varying effect",
             {**_NO_PROMPT, **_NO_OTHER}),
    Scenario("none", "No prompting, no other time-varying effect",
             {**_NO_PROMPT, **_FLAT_HGG, **_NO_OTHER}),
)
#: Estimands of the decomposition (keys of :data:`analysis.synthetic.recovery.ESTIMANDS`).
DECOMPOSITION_ESTIMANDS: tuple[str, ...] = ("all", "all_pre60")


def decomposition_study(n_cohorts: int = 150, truth: TruthParameters | None = None, *,
                        scenarios: Sequence[Scenario] = SCENARIOS, workers: int = 1,
                        cache_dir: str | Path | None = None) -> pd.DataFrame:
    """The unadjusted and pre-window models on seeds ``0 .. n_cohorts - 1`` under each scenario
    (the same seeds, so scenarios differ by their mechanisms and not by their draws).

    Rows of :func:`analysis.synthetic.recovery.recover` with a ``scenario`` column; cached per
    size, truth, scenarios and code.

    Examples
    --------
    >>> d = decomposition_study(2, scenarios=SCENARIOS[-1:], cache_dir="/tmp/sccs-doctest")
    >>> sorted(d["scenario"].unique()), len(d)
    (['none'], 4)
    """
    truth = truth or TruthParameters()

    def compute() -> pd.DataFrame:
        parts = [recover(range(n_cohorts), s.truth(truth), estimands=DECOMPOSITION_ESTIMANDS,
                         workers=workers, progress=False).assign(scenario=s.key)
                 for s in scenarios]
        return pd.concat(parts, ignore_index=True)

    key = _study_key("decomposition", n_cohorts, truth.as_dict(),
                     [(s.key, dict(s.off)) for s in scenarios])
    return cached("truth-decomposition", key, compute, cache_dir)


def decomposition_summary(results: pd.DataFrame) -> pd.DataFrame:
    """:func:`analysis.synthetic.recovery.summarise` of :func:`decomposition_study` per scenario
    (a ``scenario`` and a ``scenario_label`` column first, scenarios in :data:`SCENARIOS`
    order)."""
    parts = []
    for s in SCENARIOS:
        r = results[results["scenario"] == s.key]
        if len(r):
            parts.append(summarise(r).assign(scenario=s.key, scenario_label=s.label))
    out = pd.concat(parts, ignore_index=True)
    return out[["scenario", "scenario_label", *[c for c in out if not c.startswith("scenario")]]]
