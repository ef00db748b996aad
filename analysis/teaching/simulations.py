"""Simulation helpers for the book's teaching chapters on the self-controlled case series (SCCS).

The teaching chapters (``book/t*.md``) explain the SCCS method with small simulation studies whose
truth is known. This module holds what they share, so that the chapters stay short and the
simulations are tested (``tests/teaching/test_teaching.py``):

* :func:`simulate_cohorts` -- many small *dated* cohorts at once (vectorised over replicates and
  individuals): a Poisson event process per individual with a gamma frailty, one exposed block per
  exposed individual (an "IVIG course"), an optional selection of frail individuals into
  exposure (confounding by indication) and an optional event-triggered exposure start
  (event-dependent exposure, infections prompting IVIG) and an optional early end of
  observation whose rate the first event raises (event-dependent observation: death or loss to
  follow-up after an infection);
* :func:`first_events_only` and :func:`replicate_tables` -- first events, and one cohort's
  tables for the method's extensions (no batched form), fitted one by one with
  :func:`progress_map` and its progress bar;
* :func:`to_intervals` -- the per-individual interval table the SCCS engine
  (:class:`analysis.sccs.SCCS`) reads: ``rep, id, start, end, days, events, exposed, pre`` (with an
  optional pre-exposure window), built by the library's interval builder
  (:func:`analysis.sccs.intervals.build_intervals`);
* :func:`monte_carlo` -- a seeded, batched Monte Carlo runner with a ``tqdm`` progress bar that
  fits every batch of replicates at once with :func:`analysis.sccs.fit_many` (the engine's
  kernels and rules, each replicate with its own coefficients), and
  :func:`summarise` for bias, 95% CI coverage (with Monte Carlo standard errors) and power;
* :func:`between_group_rate_ratio` -- the naive comparison of exposed with never-exposed
  individuals that the SCCS is *not* (chapter on the reference group);
* :func:`wald_power` -- the large-sample power of the SCCS Wald test from each case's share of
  exposed time (Musonda, Farrington & Whitaker 2006, Stat Med 25:2618), to set beside the
  simulated power.

Conventions: days are integers counted from 0 (each individual's observation starts on day 0 and
ends on day ``end`` inclusive, so ``days = end - start + 1`` as everywhere in the project). Every
function is deterministic given its ``seed``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from analysis.sccs import DAYS_PER_YEAR  # the SCCS library's rate convention
from analysis.sccs.batched import fit_many
from analysis.sccs.intervals import Exposure, build_intervals

__all__ = [
    "Scenario",
    "TeachingCohorts",
    "between_group_rate_ratio",
    "coverage",
    "eventdep_observation_datasets",
    "first_cases",
    "first_events_only",
    "monte_carlo",
    "progress_map",
    "replicate_tables",
    "sccs_information",
    "scenario_intervals",
    "simulate_cohorts",
    "summarise",
    "time_effect",
    "to_intervals",
    "wald_power",
]


# --------------------------------------------------------------------------------------------
# Scenario and generator
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    """Parameters of a teaching cohort (all rates per individual, all times in days).

    Attributes
    ----------
    n_individuals:
        Individuals per cohort (cases *and* non-cases; the SCCS keeps the cases).
    irr:
        True incidence rate ratio during exposure (the effect the SCCS should recover).
    rate_per_year:
        Baseline event rate of an individual with frailty 1, per person-year.
    frailty_shape:
        Shape ``k`` of the gamma frailty (mean 1, variance ``1/k``); ``None`` for no frailty.
    obs_days:
        Observation length drawn uniformly from this inclusive range.
    exposure_days:
        Length of the exposed block ("IVIG course") drawn uniformly from this inclusive range.
    p_exposed:
        Probability that an individual of frailty 1 is ever exposed.
    selection:
        Log-odds of exposure per unit of log-frailty: 0 means exposure is independent of frailty;
        > 0 means frail individuals are the ones exposed (confounding by indication).
    trigger_prob:
        Event-dependent exposure: each event of an exposed individual prompts the start of
        exposure with this probability; exposure starts ``trigger_delay`` days after the first
        prompting event. Individuals without a prompting event start at a random day. 0 = no
        event dependence (start uniform over the observation period).
    trigger_delay:
        Inclusive range of the delay (days) from the prompting event to the start of exposure.
    end_rate_per_year:
        Event-dependent end of observation (death, loss to follow-up): observation ends early
        at this rate per person-year before an individual's first event; 0 = every observation
        period runs to its planned end (no early end at all).
    end_hr_after_event:
        The first event multiplies the rate of early end by this hazard ratio (1 = the end of
        observation does not depend on events; > 1 = the event raises the risk of death or
        loss to follow-up). Only the first event changes the rate.
    time_log_rr:
        A time effect shared by everyone (age, calendar time or time on treatment, on the
        scenario's day axis): points ``(day, log rate ratio)``, linearly interpolated and
        constant beyond the first and last point; ``()`` for none.
    exposure_start_share:
        The exposure starts (when no event prompts it) at a uniform share of the observation
        period in this range: ``(0, 1)`` anywhere, ``(0.5, 1)`` in its second half (an
        exposure that is more common at older ages or later in treatment).
    """

    n_individuals: int = 100
    irr: float = 0.5
    rate_per_year: float = 2.0
    frailty_shape: float | None = 1.0
    obs_days: tuple[int, int] = (180, 900)
    exposure_days: tuple[int, int] = (60, 360)
    p_exposed: float = 1.0
    selection: float = 0.0
    trigger_prob: float = 0.0
    trigger_delay: tuple[int, int] = (1, 30)
    end_rate_per_year: float = 0.0
    end_hr_after_event: float = 1.0
    time_log_rr: tuple[tuple[int, float], ...] = ()
    exposure_start_share: tuple[float, float] = (0.0, 1.0)

    def with_(self, **changes: Any) -> Scenario:
        """A copy with some parameters changed."""
        return replace(self, **changes)


@dataclass
class TeachingCohorts:
    """Many simulated dated cohorts, stacked (``rep`` numbers the cohort, ``id`` the individual).

    ``individuals``: rep, id, frailty, obs_end, exposed (bool), exp_start, exp_end (inclusive
    days; -1 when not exposed or when the exposure falls after the end of observation),
    planned_end (the end of observation had nothing cut it short) and censored (1 when
    observation ended early, before ``planned_end``; R's ``censor``).
    ``events``: rep, id, day (sorted). All days count from each individual's day 0.
    """

    individuals: pd.DataFrame
    events: pd.DataFrame
    scenario: Scenario
    n_reps: int

    def observation(self) -> pd.DataFrame:
        """Observation periods for :func:`analysis.sccs.intervals.build_intervals` (id, start,
        end)."""
        ind = self.individuals
        return pd.DataFrame({"id": _global_id(ind), "start": 0, "end": ind["obs_end"]})

    def exposure_table(self) -> pd.DataFrame:
        """Exposed blocks (id, start, end) for individuals exposed within observation."""
        ind = self.individuals[self.individuals["exp_start"] >= 0]
        return pd.DataFrame(
            {"id": _global_id(ind), "start": ind["exp_start"], "end": ind["exp_end"]}
        )

    def event_table(self) -> pd.DataFrame:
        """Events (id, day) with the same global ids as :meth:`observation`."""
        return pd.DataFrame({"id": _global_id(self.events), "day": self.events["day"]})


def _global_id(df: pd.DataFrame) -> np.ndarray:
    """A string id unique across replicates: ``"<rep>-<id>"``."""
    return (df["rep"].astype(str) + "-" + df["id"].astype(str)).to_numpy()


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def simulate_cohorts(
    scenario: Scenario, n_reps: int = 1, seed: int | np.random.Generator | None = 0
) -> TeachingCohorts:
    """Simulate ``n_reps`` independent dated cohorts of ``scenario`` (vectorised, no loops).

    Model (per individual *i*): frailty ``phi_i ~ Gamma(k, 1/k)``; observation days
    ``0 .. L_i - 1``; events form a Poisson process of rate ``phi_i * rate`` per day outside
    exposure and ``phi_i * rate * irr`` during exposure. The process is generated at the baseline
    rate over the whole period and then *thinned* (``irr < 1``: each event in the exposed block is
    kept with probability ``irr``) or *superposed* (``irr > 1``: extra events at rate
    ``(irr - 1) * phi_i * rate``) inside the exposed block. Because a Poisson process has
    independent increments, this stays exact when the exposure start depends on earlier events
    (``trigger_prob > 0``): the start depends only on events before it, and thinning acts only
    after it.

    With ``end_rate_per_year > 0`` the observation period can end early: an exponential time
    ``T0`` at that rate from day 0; if ``T0`` falls before the day of the first event, the
    individual's observation ends on day ``floor(T0)`` (no event observed); otherwise it ends
    ``floor(d + T1)`` with ``d`` the first event's day and ``T1`` exponential at the rate times
    ``end_hr_after_event`` (memorylessness makes this the piecewise-constant hazard). Events
    and exposure after the end are dropped. This is exact because the end depends only on the
    past, and the event process before the end is the one without early end.
    """
    s = scenario
    if n_reps < 1 or s.n_individuals < 1:
        raise ValueError("n_reps and n_individuals must be >= 1")
    if s.irr <= 0:
        raise ValueError(f"irr must be > 0, got {s.irr}")
    rng = _rng(seed)
    n = n_reps * s.n_individuals
    rep = np.repeat(np.arange(n_reps), s.n_individuals)
    ids = np.tile(np.arange(s.n_individuals), n_reps)
    if s.frailty_shape is None:
        frailty = np.ones(n)
    else:
        frailty = rng.gamma(s.frailty_shape, 1.0 / s.frailty_shape, size=n)
    obs_len = rng.integers(s.obs_days[0], s.obs_days[1] + 1, size=n)
    rate_day = s.rate_per_year / DAYS_PER_YEAR

    # exposure status: logistic in log-frailty
    logit = math.log(s.p_exposed / (1 - s.p_exposed)) if 0 < s.p_exposed < 1 else None
    if logit is None:
        exposed = np.full(n, s.p_exposed >= 1)
    else:
        lp = logit + s.selection * np.log(frailty)
        exposed = rng.random(n) < 1.0 / (1.0 + np.exp(-lp))
    dur = rng.integers(s.exposure_days[0], s.exposure_days[1] + 1, size=n)
    lo, hi = s.exposure_start_share
    random_start = ((lo + (hi - lo) * rng.random(n)) * obs_len).astype(np.int64)

    # baseline Poisson process: counts, then uniform continuous times -> days
    top = max(v for _, v in s.time_log_rr) if s.time_log_rr else 0.0
    counts = rng.poisson(frailty * rate_day * obs_len * math.exp(top))
    owner = np.repeat(np.arange(n), counts)
    t = rng.random(len(owner)) * obs_len[owner]
    if s.time_log_rr:  # thin to the time effect (rate ratio exp(f(t)) <= exp(top))
        keep = rng.random(len(t)) < np.exp(time_effect(s, t) - top)
        owner, t = owner[keep], t[keep]
    order = np.lexsort((t, owner))
    owner, t = owner[order], t[order]
    day = np.floor(t).astype(np.int64)

    start = random_start.copy()
    if s.trigger_prob > 0:
        prompts = (rng.random(len(owner)) < s.trigger_prob) & exposed[owner]
        first_prompt = np.full(n, -1, dtype=np.int64)
        idx = np.flatnonzero(prompts)
        # owner is sorted by (owner, time): the first prompting event per owner is the first index
        uniq, first_pos = np.unique(owner[idx], return_index=True)
        first_prompt[uniq] = day[idx[first_pos]]
        delay = rng.integers(s.trigger_delay[0], s.trigger_delay[1] + 1, size=n)
        has = first_prompt >= 0
        start = np.where(has, first_prompt + delay, random_start)
    end = np.minimum(start + dur - 1, obs_len - 1)
    inside = exposed & (start <= obs_len - 1)
    exp_start = np.where(inside, start, -1)
    exp_end = np.where(inside, end, -1)

    # thin / superpose inside the exposed block
    in_block = inside[owner] & (day >= exp_start[owner]) & (day <= exp_end[owner])
    if s.irr < 1:
        keep = ~in_block | (rng.random(len(owner)) < s.irr)
        owner, day = owner[keep], day[keep]
    elif s.irr > 1:
        block_len = np.where(inside, exp_end - exp_start + 1, 0)
        extra = rng.poisson(frailty * rate_day * (s.irr - 1.0) * block_len)
        x_owner = np.repeat(np.arange(n), extra)
        x_day = exp_start[x_owner] + (rng.random(len(x_owner)) * block_len[x_owner]).astype(
            np.int64
        )
        owner = np.concatenate([owner, x_owner])
        day = np.concatenate([day, x_day])
        o = np.lexsort((day, owner))
        owner, day = owner[o], day[o]

    planned_end = obs_len - 1
    obs_end = planned_end
    if s.end_rate_per_year > 0:
        obs_end = _early_end(rng, s, owner, day, planned_end)
        keep = day <= obs_end[owner]
        owner, day = owner[keep], day[keep]
        inside = exp_start >= 0
        inside &= exp_start <= obs_end
        exp_start = np.where(inside, exp_start, -1)
        exp_end = np.where(inside, np.minimum(exp_end, obs_end), -1)

    individuals = pd.DataFrame(
        {
            "rep": rep,
            "id": ids,
            "frailty": frailty,
            "obs_end": obs_end,
            "exposed": exposed,
            "exp_start": exp_start,
            "exp_end": exp_end,
            "planned_end": planned_end,
            "censored": (obs_end < planned_end).astype(np.int64),
        }
    )
    events = pd.DataFrame({"rep": rep[owner], "id": ids[owner], "day": day})
    return TeachingCohorts(individuals=individuals, events=events, scenario=s, n_reps=n_reps)


def time_effect(scenario: Scenario, t: np.ndarray | Sequence[float]) -> np.ndarray:
    """The scenario's log rate ratio at times ``t`` (days): ``time_log_rr`` interpolated.

    Examples
    --------
    >>> sc = Scenario(time_log_rr=((0, 1.0), (100, 0.0)))
    >>> time_effect(sc, [0, 50, 100, 400]).tolist()
    [1.0, 0.5, 0.0, 0.0]
    """
    t = np.asarray(t, dtype=float)
    if not scenario.time_log_rr:
        return np.zeros_like(t)
    x, y = zip(*scenario.time_log_rr, strict=True)
    if np.any(np.diff(x) <= 0):
        raise ValueError(f"time_log_rr: days must increase, got {x}")
    return np.interp(t, np.asarray(x, float), np.asarray(y, float))


def _early_end(rng: np.random.Generator, s: Scenario, owner: np.ndarray, day: np.ndarray,
               planned_end: np.ndarray) -> np.ndarray:
    """Last observed day under event-dependent early end (see :func:`simulate_cohorts`).

    ``owner``/``day``: the events, sorted by (owner, day); returns ``min(planned_end, end)``.
    """
    if s.end_hr_after_event <= 0:
        raise ValueError(f"end_hr_after_event must be > 0, got {s.end_hr_after_event}")
    n = len(planned_end)
    first = np.full(n, np.inf)
    uniq, pos = np.unique(owner, return_index=True)
    first[uniq] = day[pos]
    rate = s.end_rate_per_year / DAYS_PER_YEAR
    t0 = rng.exponential(1.0 / rate, size=n)
    t1 = rng.exponential(1.0 / (rate * s.end_hr_after_event), size=n)
    end = np.where(t0 < first, t0, first + t1)
    return np.minimum(planned_end, np.floor(np.minimum(end, 1e12)).astype(np.int64))


# --------------------------------------------------------------------------------------------
# Intervals
# --------------------------------------------------------------------------------------------
def to_intervals(
    cohorts: TeachingCohorts,
    *,
    pre_window: int = 0,
    cases_only: bool = True,
    exposed_only: bool = False,
    covariates: Sequence[Any] = (),
) -> pd.DataFrame:
    """Per-individual intervals of constant exposure, in the engine's input format.

    Columns: ``rep, id, start, end, days, events, exposed, pre`` -- ``exposed`` is 1 inside the
    exposed block; ``pre`` is 1 in the ``pre_window`` days just before it (clipped to the
    observation period; exposure takes precedence, as in the data contract). The intervals are
    built by the library's one interval builder,
    :func:`analysis.sccs.intervals.build_intervals` (``merge=True``), from the cohorts'
    observation periods, exposed blocks and events, with integer ids ``rep * n + id``. With
    ``cases_only`` (default) only individuals with at least one event are kept: the others
    contribute nothing to the SCCS likelihood. With ``exposed_only`` only individuals exposed
    within their observation period are kept (the "IVIG group"; the never-exposed add a
    constant to the likelihood). ``covariates`` (e.g.
    :class:`analysis.sccs.intervals.AgeGroups`, or the ``covariate`` of a smooth term of
    :mod:`analysis.sccs.smooth`, on the scenario's day axis) are passed to the builder and their
    columns kept.
    """
    ind = cohorts.individuals
    n = int(ind["id"].max()) + 1
    gid = ind["rep"].to_numpy() * n + ind["id"].to_numpy()
    has = ind["exp_start"].to_numpy() >= 0
    expo = pd.DataFrame({"id": gid[has], "day": ind["exp_start"].to_numpy()[has],
                         "end": ind["exp_end"].to_numpy()[has]})
    ev = cohorts.events
    iv = build_intervals(
        pd.DataFrame({"id": gid, "start": 0, "end": ind["obs_end"].to_numpy()}),
        pd.DataFrame({"id": ev["rep"].to_numpy() * n + ev["id"].to_numpy(),
                      "day": ev["day"].to_numpy()}),
        [Exposure("exposed", expo, windows=((0, None),), pre_window=pre_window or None)],
        list(covariates),
        merge=True,
    )
    row_id = iv["id"].to_numpy()
    out = pd.DataFrame(
        {
            "rep": row_id // n,
            "id": row_id % n,
            "start": iv["start"].to_numpy(),
            "end": iv["end"].to_numpy(),
            "days": iv["days"].to_numpy(),
            "events": iv["events"].to_numpy(),
            "exposed": (iv["exposed"].to_numpy() > 0).astype(np.int64),
            "pre": (iv["exposed_pre"].to_numpy().astype(np.int64) if pre_window > 0
                    else np.zeros(len(iv), dtype=np.int64)),
            **{c.name: iv[c.name].to_numpy() for c in covariates},
        }
    )
    keep = np.ones(len(out), dtype=bool)
    if cases_only:
        codes = np.searchsorted(gid, row_id)
        n_ev = np.bincount(codes, weights=out["events"].to_numpy(), minlength=len(gid))
        keep &= n_ev[codes] > 0
    if exposed_only:
        keep &= has[np.searchsorted(gid, row_id)]
    return out[keep].reset_index(drop=True)


def first_events_only(cohorts: TeachingCohorts) -> TeachingCohorts:
    """The same cohorts with only each individual's first event.

    The extensions for event-dependent exposure and observation use first events only (they
    model a non-recurrent event); the standard SCCS on the same data is then the like-for-like
    comparison. First events of a *recurrent* event are a valid SCCS only when the event is
    rare (otherwise the first event drifts towards the start of observation).
    """
    ev = cohorts.events
    first = ev[~ev.duplicated(["rep", "id"], keep="first")].reset_index(drop=True)
    return replace(cohorts, events=first)


def replicate_tables(cohorts: TeachingCohorts, rep: int, *, offset_days: int = 0
                     ) -> dict[str, pd.DataFrame]:
    """The library's inputs for cohort ``rep``, cases only (individuals with an event).

    Returns ``observation`` (``id, start, end, censored``; R's ``astart, aend, censor``),
    ``events`` (``id, day``) and ``exposure`` (``id, day, end``: the exposed block of each
    case exposed within observation; an :class:`analysis.sccs.intervals.Exposure` with
    ``windows=((0, None),)`` reads it, and :func:`analysis.sccs.eventdep_exposure.
    fit_eventdep_exposure` with a ``dose`` column of 1). ``id`` is the individual's number.
    All days are shifted by ``offset_days`` (an age at the start of observation: the censoring
    models of :func:`analysis.sccs.eventdep_observation.fit_eventdep_observation` read days as
    ages, and their "age" forms need ages above 0).
    """
    ind = cohorts.individuals[cohorts.individuals["rep"] == rep]
    ev = cohorts.events[cohorts.events["rep"] == rep]
    ind = ind[ind["id"].isin(ev["id"])]
    observation = pd.DataFrame({"id": ind["id"].to_numpy(), "start": offset_days,
                                "end": ind["obs_end"].to_numpy() + offset_days,
                                "censored": ind["censored"].to_numpy()})
    on = ind[ind["exp_start"] >= 0]
    exposure = pd.DataFrame({"id": on["id"].to_numpy(),
                             "day": on["exp_start"].to_numpy() + offset_days,
                             "end": on["exp_end"].to_numpy() + offset_days})
    events = pd.DataFrame({"id": ev["id"].to_numpy(), "day": ev["day"].to_numpy() + offset_days})
    return {"observation": observation, "events": events, "exposure": exposure}


def eventdep_observation_datasets(cohorts: TeachingCohorts, offset_days: int
                                  ) -> list[dict]:
    """Every replicate as the input of
    :func:`analysis.sccs.batched_ext.fit_many_eventdep_observation` (``observation``,
    ``events``, ``exposures``: one exposure ``exposed`` from its start to its end), days
    shifted by ``offset_days`` as in :func:`replicate_tables`.

    Examples
    --------
    >>> c = simulate_cohorts(Scenario(n_individuals=50), 2, seed=1)
    >>> d = eventdep_observation_datasets(c, offset_days=100)
    >>> len(d), sorted(d[0]), d[0]["exposures"][0].name
    (2, ['events', 'exposures', 'observation'], 'exposed')
    """
    out = []
    for rep in range(int(cohorts.individuals["rep"].max()) + 1):
        x = replicate_tables(cohorts, rep, offset_days=offset_days)
        out.append({"observation": x["observation"], "events": x["events"],
                    "exposures": [Exposure("exposed", x["exposure"], windows=((0, None),))]})
    return out


def between_group_rate_ratio(cohorts: TeachingCohorts) -> pd.DataFrame:
    """The naive between-group comparison, per replicate.

    ``rr_on``: event rate of exposed individuals *during exposure* divided by the rate of
    never-exposed individuals (what "IVIG patients on IVIG vs the reference group" compares);
    ``rr_ever``: whole-observation rate of ever-exposed divided by never-exposed individuals.
    Both are ratios of pooled rates (events / person-days), one row per ``rep``.
    """
    iv = to_intervals(cohorts, cases_only=False)
    R = cohorts.n_reps
    ind = cohorts.individuals
    ever = ind.set_index(["rep", "id"])["exp_start"].ge(0)
    ever_row = ever.reindex(pd.MultiIndex.from_arrays([iv["rep"], iv["id"]])).to_numpy()
    rep = iv["rep"].to_numpy()
    ev = iv["events"].to_numpy().astype(float)
    d = iv["days"].to_numpy().astype(float)
    on = iv["exposed"].to_numpy() == 1

    def rate(mask: np.ndarray) -> np.ndarray:
        e = np.bincount(rep[mask], weights=ev[mask], minlength=R)
        t = np.bincount(rep[mask], weights=d[mask], minlength=R)
        with np.errstate(divide="ignore", invalid="ignore"):
            return e / t

    never = rate(~ever_row)
    return pd.DataFrame(
        {
            "rep": np.arange(R),
            "rate_on": rate(ever_row & on) * DAYS_PER_YEAR,
            "rate_ever": rate(ever_row) * DAYS_PER_YEAR,
            "rate_never": never * DAYS_PER_YEAR,
            "rr_on": rate(ever_row & on) / never,
            "rr_ever": rate(ever_row) / never,
        }
    )


# --------------------------------------------------------------------------------------------
# Monte Carlo
# --------------------------------------------------------------------------------------------
def monte_carlo(
    make_data: Callable[[np.random.Generator, int], pd.DataFrame],
    terms: Sequence[str],
    n_reps: int,
    *,
    seed: int = 0,
    batch_size: int = 250,
    progress: bool = True,
    desc: str = "Monte Carlo",
    progress_file: Any = None,
) -> pd.DataFrame:
    """Run ``n_reps`` simulated analyses in batches, with a ``tqdm`` progress bar.

    ``make_data(rng, n)`` returns an interval table for ``n`` replicates (column ``rep`` in
    ``0 .. n-1``, plus ``id, days, events`` and the ``terms``). Batch ``b`` uses the generator
    seeded with ``(seed, b)``, so the results depend only on ``seed``, ``n_reps`` and
    ``batch_size`` -- never on the machine or on timing. Returns one row per replicate (global
    ``rep`` numbering) with, for each term ``t``, the columns of
    :meth:`analysis.sccs.BatchFit.frame` prefixed ``t:`` where they are term-specific
    (``log_irr``, ``se``, ``ci_low``, ``ci_high``, ``p``,
    ``finite``), and ``converged, n_cases, n_events``. The progress bar is the plain-text
    ``tqdm`` bar, written live to ``progress_file`` (default ``sys.stderr``). With
    ``progress_file="final"`` (what the book's chapters use) the bar is drawn into memory and
    only its final state is printed to stdout, one clean line per run without elapsed time or
    speed (so the page is the same from build to build), because a static page cannot replay the
    carriage returns of a live bar.
    """
    terms = list(terms)
    frames = []
    n_batches = math.ceil(n_reps / batch_size)
    with _progress_bar(n_reps, desc, progress, progress_file) as bar:
        for b in range(n_batches):
            n = min(batch_size, n_reps - b * batch_size)
            rng = np.random.default_rng([seed, b])
            data = make_data(rng, n)
            fit = fit_many(data, terms)
            base = fit.frame(terms[0])[["rep", "converged", "n_cases", "n_events"]]
            cols = {}
            for t in terms:
                f = fit.frame(t)
                for c in ("log_irr", "se", "ci_low", "ci_high", "p", "finite"):
                    cols[f"{t}:{c}"] = f[c].to_numpy()
            part = pd.concat([base, pd.DataFrame(cols)], axis=1)
            # replicates that have no case at all are absent from the fit: restore them as NaN
            part = part.set_index("rep").reindex(np.arange(n)).reset_index()
            part["rep"] += b * batch_size
            frames.append(part)
            bar.update(n)
    return pd.concat(frames, ignore_index=True)


@contextmanager
def _progress_bar(total: int, desc: str, progress: bool, progress_file: Any) -> Iterator[Any]:
    """The chapters' ``tqdm`` bar (see :func:`monte_carlo` for ``progress_file="final"``)."""
    import io
    import sys

    from tqdm import tqdm

    final = isinstance(progress_file, str) and progress_file == "final"
    if final:
        progress_file = io.StringIO()
    # the book's final line carries no timing (elapsed, rate): two builds print the same text
    bar_format = "{l_bar}{bar}| {n_fmt}/{total_fmt} {unit}s" if final else None
    with tqdm(
        total=total, desc=desc, disable=not progress, unit="cohort", mininterval=1.0,
        file=sys.stderr if progress_file is None else progress_file, bar_format=bar_format,
    ) as bar:
        yield bar
        if final and progress:
            bar.refresh()
            print(str(bar).strip())


def progress_map(
    func: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    desc: str = "Monte Carlo",
    progress: bool = True,
    progress_file: Any = None,
) -> list[Any]:
    """``[func(x) for x in items]`` with the chapters' ``tqdm`` progress bar.

    For the method's extensions that have no batched fitter (one fit per simulated cohort):
    the bar is the one of :func:`monte_carlo`, with the same ``progress_file`` options
    (``"final"``: one timing-free line on stdout, what the book's chapters use).

    Examples
    --------
    >>> progress_map(lambda x: x * x, [1, 2, 3], progress=False)
    [1, 4, 9]
    """
    out = []
    with _progress_bar(len(items), desc, progress, progress_file) as bar:
        for x in items:
            out.append(func(x))
            bar.update(1)
    return out


def coverage(lower: np.ndarray, upper: np.ndarray, truth: float) -> float:
    """Share of intervals ``[lower, upper]`` that contain ``truth`` (NaN intervals excluded)."""
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    ok = np.isfinite(lower) & np.isfinite(upper)
    if not ok.any():
        return float("nan")
    return float(np.mean((lower[ok] <= truth) & (truth <= upper[ok])))


def summarise(results: pd.DataFrame, term: str, truth_irr: float, alpha: float = 0.05) -> dict:
    """Operating characteristics of one term over Monte Carlo replicates.

    Returns plain floats/ints: ``n_reps``; ``n_valid`` (finite, converged estimates);
    ``bias`` (mean log-IRR minus the true log-IRR) and its Monte Carlo SE; ``median_irr``;
    ``emp_se`` (SD of the estimates) and ``mean_se`` (mean model SE); ``coverage`` of the 95% CI
    and its MC SE; ``power`` = share of all replicates rejecting IRR = 1 at ``alpha`` (replicates
    without a finite estimate count as not rejecting, which is conservative).
    """
    ok = results[f"{term}:finite"].eq(True) & results["converged"].eq(True)
    b = results.loc[ok, f"{term}:log_irr"].to_numpy()
    se = results.loc[ok, f"{term}:se"].to_numpy()
    truth = math.log(truth_irr)
    cov = coverage(
        results.loc[ok, f"{term}:ci_low"].to_numpy(),
        results.loc[ok, f"{term}:ci_high"].to_numpy(), truth_irr,
    )
    n_valid = int(ok.sum())
    rejected = (results[f"{term}:p"] < alpha) & ok
    power = float(rejected.mean())
    return {
        "n_reps": len(results),
        "n_valid": n_valid,
        "bias": float(b.mean() - truth),
        "bias_mcse": float(b.std(ddof=1) / math.sqrt(n_valid)),
        "median_irr": float(np.exp(np.median(b))),
        "emp_se": float(b.std(ddof=1)),
        "mean_se": float(se.mean()),
        "coverage": cov,
        "coverage_mcse": float(math.sqrt(cov * (1 - cov) / n_valid)),
        "power": power,
        "power_mcse": float(math.sqrt(power * (1 - power) / len(results))),
    }


def sccs_information(irr: float, exposed_share: np.ndarray, events: np.ndarray) -> np.ndarray:
    """Per-case Fisher information for ``log(irr)`` of a single binary exposure.

    Given its ``n_i`` events and the share ``r_i`` of its observed time that is exposed, each
    event of case *i* falls in exposed time with probability
    ``pi_i = r_i rho / (r_i rho + 1 - r_i)`` (the SCCS multinomial), so case *i* carries the
    information ``n_i pi_i (1 - pi_i)`` about ``log rho``.
    """
    r = np.asarray(exposed_share, dtype=float)
    n = np.asarray(events, dtype=float)
    pi = r * irr / (r * irr + 1 - r)
    return n * pi * (1 - pi)


def wald_power(
    irr: float | np.ndarray,
    exposed_share: np.ndarray,
    events: np.ndarray,
    *,
    n_cases: int | np.ndarray | None = None,
    alpha: float = 0.05,
) -> np.ndarray:
    """Large-sample power of the two-sided Wald test of IRR = 1 for one binary exposure.

    The information ``I`` is the sum of :func:`sccs_information` over the given cases, or, with
    ``n_cases``, ``n_cases`` times its mean (the given cases are then a sample of the kind of case
    the study will have). The Wald statistic is approximately normal with mean
    ``log(rho) sqrt(I)`` and variance 1, so the power is
    ``Phi(|log rho| sqrt(I) - z) + Phi(-|log rho| sqrt(I) - z)``, z = qnorm(1 - alpha/2).
    Musonda, Farrington & Whitaker (Stat Med 2006;25:2618-2631) derive SCCS sample sizes from the
    same per-event binomial. ``irr`` and ``n_cases`` broadcast against each other.
    """
    from scipy.stats import norm

    rho = np.asarray(irr, dtype=float)
    info_each = np.vectorize(
        lambda g: sccs_information(g, exposed_share, events).sum(), otypes=[float]
    )(rho)
    if n_cases is not None:
        info_each = info_each / len(np.asarray(events)) * np.asarray(n_cases, dtype=float)
    mu = np.abs(np.log(rho)) * np.sqrt(info_each)
    z = norm.ppf(1 - alpha / 2)
    return norm.cdf(mu - z) + norm.cdf(-mu - z)


def first_cases(intervals: pd.DataFrame, n_cases: int) -> pd.DataFrame:
    """Keep the first ``n_cases`` cases (in ``id`` order) of each replicate.

    Fixing the number of cases, rather than of individuals, is how SCCS sample sizes are stated.
    Replicates with fewer cases keep all they have (check ``n_cases`` in the results).
    """
    key = intervals[["rep", "id"]].drop_duplicates()
    key = key.assign(rank=key.groupby("rep").cumcount())
    keep = key[key["rank"] < n_cases]
    return intervals.merge(keep[["rep", "id"]], on=["rep", "id"], how="inner")


def scenario_intervals(
    scenario: Scenario, *, pre_window: int = 0, n_cases: int | None = None
) -> Callable[[np.random.Generator, int], pd.DataFrame]:
    """A ``make_data`` function for :func:`monte_carlo`: simulate, then build intervals.

    With ``n_cases``, each replicate keeps exactly its first ``n_cases`` cases (the scenario's
    ``n_individuals`` must be large enough to supply them; see :func:`first_cases`).
    """

    def make(rng: np.random.Generator, n: int) -> pd.DataFrame:
        iv = to_intervals(simulate_cohorts(scenario, n, rng), pre_window=pre_window)
        return iv if n_cases is None else first_cases(iv, n_cases)

    return make


# --------------------------------------------------------------------------------------------
# The classic R SCCS examples
# --------------------------------------------------------------------------------------------
def r_reference() -> dict:
    """The R SCCS 1.7 reference suite (``data/external/sccs-r/reference.json``)."""
    from analysis.teaching.r_examples import reference

    return reference()


@dataclass
class RExample:
    """One documented R example rebuilt from the raw dataset with the project's builder.

    ``intervals``: per-individual intervals from :func:`analysis.sccs.intervals.build_intervals`
    with
    0/1 dummy columns added; ``terms``: our term names in R's order; ``r_terms``: R's name for
    each of our terms; ``reference``: the example's entry in ``reference.json``.
    """

    name: str
    intervals: pd.DataFrame
    terms: list[str]
    r_terms: dict[str, str]
    reference: dict


def r_example(name: str) -> RExample:
    """Rebuild R example ``name`` (a key of ``reference.json["examples"]``) from its raw data.

    The intervals come from :func:`analysis.teaching.r_examples.example_intervals` (the one
    translation of
    ``formatdata``'s arguments, shared with the tests against R's interval files); factor levels
    then become dummies with R's reference levels (0 for exposures, the lowest age/season level,
    or the ``relevel`` reference), named after R's coefficients.
    """
    import re

    from analysis.sccs import dummies
    from analysis.teaching.r_examples import example_intervals, reference

    ex = reference()["examples"][name]
    a = ex["arguments"]
    iv = example_intervals(name)

    rhs = a["formula"].split("~", 1)[1]
    terms: list[str] = []
    r_terms: dict[str, str] = {}
    r_names = [c["term"] for c in ex["coefficients"]]
    for token in (t.strip() for t in rhs.split("+")):
        m = re.fullmatch(r"relevel\((\w+),\s*ref\s*=\s*(\d+)\)", token)
        col, ref, r_prefix = (m.group(1), int(m.group(2)), token) if m else (token, None, token)
        levels = sorted(pd.unique(iv[col]))
        if ref is None:
            ref = 0 if col in {e["name"] for e in a["exposures"]} else levels[0]
        dm = dummies(iv, col, ref)
        for c in dm.columns:
            iv[c] = dm[c]
            lev = c[len(col):]
            r_name = next(
                (r for r in r_names if r.replace(" ", "") == f"{r_prefix}{lev}".replace(" ", "")),
                None,
            )
            if r_name is None:
                raise ValueError(f"{name}: no R coefficient for our term {c!r}")
            terms.append(c)
            r_terms[c] = r_name
    return RExample(name=name, intervals=iv, terms=terms, r_terms=r_terms, reference=ex)
