"""Time-varying part of the synthetic cohort: IgG, progression, IVIG courses and infections.

Everything is vectorised over patients: per-patient schedules are built with ``np.repeat`` and
running counters, and "what was true on day d for patient i" is answered by a sorted-key lookup
(:func:`last_at_or_before`) instead of a patients x days grid, so a cohort of 100 000 patients is
as easy as one of 143.

Infections are a recurrent-event (Poisson) process with a daily rate

    rate_i(d) = base_g * frailty_i * HGG(own IgG_i(d)) * SEASON(d) * PROGRESSION_i(d)
                * EARLY_i(d) * IVIG_i(d)

whose parameters are the stated truth of the cohort (:class:`TruthParameters`, written as
``truth.json``). HGG follows the patient's own functional IgG, not the IgG IVIG adds to the
measured value, so ``IVIG_i(d)`` (``irr_on_ivig`` on the 30 days from each dose) is the whole,
true effect of IVIG. The rate is
simulated by *thinning*: candidate days are drawn at a per-patient upper bound ``rate_max_i``
(Poisson count, uniform placement) and kept with probability ``rate_i(d) / rate_max_i``. The
uniform numbers used for that are drawn once, so re-evaluating the rate after IVIG is scheduled
changes only the days IVIG affects (common random numbers).

IVIG is *event-dependent*: in the IVIG group every infection (before IVIG starts) prompts IVIG with
some probability (higher at low IgG); IVIG then starts a few weeks later (time to arrange it), so
the weeks before the first dose hold more infections than other off-IVIG time. That is the bias the
paper's pre-exposure diagnostic detects.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from analysis.study import DAYS_PER_MONTH, FALL_WINTER_MONTHS, month_of_day
from analysis.synthetic.registry import planted, truth_from_paper, tuned

KEY = np.int64(1 << 21)  # day numbers are < 2**21; key = patient * KEY + day
#: Polyclonal IgG recovery in responders (assumptions): share of responders who recover, start
#: (in multiples of the patient's decline time constant) and the level recovered to (mg/dL).
#: Chosen by hand until the reference group's time with HGG came near the paper's 88 %
#: (commit 37111be: 90 %), so that row of the audit is "tuned", not emergent.
_HGG_TIME = "res2_time_with_hgg_pct_ref"
RECOVERY_SHARE = tuned(0.6, _HGG_TIME, "RECOVERY_SHARE")
RECOVERY_START = tuned((0.9, 1.9), _HGG_TIME, "RECOVERY_START")
RECOVERY_LEVEL = tuned((600.0, 1000.0), _HGG_TIME, "RECOVERY_LEVEL")
#: The :class:`TruthParameters` field that is the true on-IVIG rate ratio of each SCCS outcome:
#: the IVIG multiplier acts on every infection, so bacterial and viral infections (organisms are
#: drawn after the infection, not from exposure) carry the all-grade effect.
ON_IVIG_TRUTH: dict[str, str] = {"all": "irr_on_ivig", "bacterial": "irr_on_ivig",
                                 "viral": "irr_on_ivig", "grade3": "irr_on_ivig_grade34"}


def _from_paper(target_id: str, scale: float = 1.0, whole: bool = False,
                truth: bool = False) -> Any:
    """A dataclass default read from the paper's targets (through the provenance gate):
    ``truth=True`` for the truth of an effect the analyses estimate (recorded as "truth set"),
    else a value planted in the cohort. The id is kept in the field's ``metadata["paper"]``."""
    read_paper = truth_from_paper if truth else planted

    def read() -> Any:
        v = float(read_paper(target_id)) * scale
        return round(v) if whole else v
    return field(default_factory=read, metadata={"paper": target_id})


@dataclass(frozen=True)
class TruthParameters:
    """The data-generating truth of a synthetic cohort: every parameter of the mechanism.

    A cohort is drawn from these parameters; :meth:`as_dict` is written next to it as
    ``truth.json``. Defaults read from the paper (through
    :func:`analysis.synthetic.registry.planted`) are marked below; the others are the simulator's
    assumptions. The rate of infection of patient ``i`` on day ``d`` is

        base_g * frailty_i * HGG(own IgG_i(d)) * SEASON(d) * PROGRESSION_i(d) * EARLY_i(d)
        * IVIG_i(d)

    where ``IVIG_i(d)`` is ``irr_on_ivig`` on the 30 days from each dose and 1 otherwise, and
    HGG depends on the patient's *own* functional IgG (without the IgG that IVIG adds), so the
    whole effect of IVIG is ``irr_on_ivig``: it is the true value of the on-IVIG rate ratio the
    self-controlled case series estimates. Grade 3-4 infections are a share of all infections
    whose odds on IVIG are scaled so that their on-IVIG rate ratio is ``irr_on_ivig_grade34``.

    Examples
    --------
    >>> t = TruthParameters(irr_on_ivig=0.3)
    >>> t.irr_on_ivig, t.as_dict()["irr_on_ivig"]
    (0.3, 0.3)
    """

    # --- the effects the analyses estimate
    #: true on-IVIG rate ratio, all grades (default: the paper's estimate, sccs_allgrade_irr)
    irr_on_ivig: float = _from_paper("sccs_allgrade_irr", truth=True)
    #: true on-IVIG rate ratio of grade 3-4 infections (default: the paper's sccs_g34_irr)
    irr_on_ivig_grade34: float = _from_paper("sccs_g34_irr", truth=True)
    #: relative rate by the patient's own functional IgG band: >=700, 400-<700, 200-<400, <200
    hgg_rr: tuple[float, float, float, float] = (1.0, 1.2, 1.45, 3.0)
    fall_winter_rr: float = 1.25
    progression_rr: float = 3.0
    progression_days: int = 30
    early_rr: float = 1.8  # first weeks of daratumumab (weekly doses, steroids)
    early_days: int = 90
    ivig_days: int = 30
    # --- patients differ: gamma frailty (mean 1), rank-correlated with prior-year infections
    frailty_shape: float = 2.0  # variance 1 / shape
    frailty_prior_rho: float = 0.5
    # --- infections prompt IVIG (event-dependent exposure)
    prompt_prob: float = 0.5
    prompt_low_igg_mult: float = 1.4
    delay_days: tuple[int, int] = (21, 80)
    prior_path_per_infection: float = 0.05
    low_igg_path: float = 0.1
    early_start_days: int = 60
    fallback_mean_days: float = 150.0
    #: latest first IVIG (days after the first daratumumab dose): res1_time_to_first_ivig_max
    max_start_days: int = _from_paper("res1_time_to_first_ivig_max", DAYS_PER_MONTH, whole=True)
    # --- IVIG schedule
    dose_interval: int = 28
    short_interval: int = 21  # every 3 weeks for a few patients
    short_interval_prob: float = 0.2
    doses_median: float = 7.5
    doses_sdlog: float = 0.8
    second_course_prob: float = 0.35
    maintenance_prob: float = 0.2  # IVIG until the end of daratumumab
    half_life_days: float = 25.0
    increment_per_04g: float = 230.0  # mg/dL added at the peak by 0.4 g/kg
    # --- grade 3-4 share of infections (off IVIG; assumptions), multiplied by IgG band and
    # progression; drawn above the target counts, then thinned blind to exposure
    g34_prob_ivig: float = 0.36
    g34_prob_reference: float = 0.21
    g34_band_mult: tuple[float, float, float, float] = (1.0, 1.0, 1.3, 1.9)
    g34_progression_mult: float = 1.5
    # --- deaths: exponential survival from the first daratumumab dose with the paper's 5-year OS
    os_5yr_pct: float = _from_paper("res1_os_5yr_pct", truth=True)
    data_cut: str = "2025-06-30"
    # --- expected infections drawn, as a multiple of the paper's count, before exact thinning
    overshoot: float = 1.3

    def __post_init__(self) -> None:
        for name in ("irr_on_ivig", "irr_on_ivig_grade34"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive number, got {v}")

    @property
    def ivig_rr(self) -> float:
        """Multiplier of the all-grade rate on IVIG (the true all-grade rate ratio)."""
        return float(self.irr_on_ivig)

    @property
    def g34_on_ivig_odds(self) -> float:
        """Multiplier of the grade 3-4 share on IVIG, so grade 3-4 rate ratio = its truth."""
        return float(self.irr_on_ivig_grade34) / float(self.irr_on_ivig)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (tuples as lists), in field order."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    def hgg_band(self, igg: np.ndarray) -> np.ndarray:
        """0: >= 700, 1: 400-<700, 2: 200-<400, 3: < 200 (functional IgG, mg/dL)."""
        return (igg < 700).astype(np.int64) + (igg < 400) + (igg < 200)


def last_at_or_before(keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Index into sorted ``keys`` of the last key <= each query with the same patient, else -1."""
    pos = np.searchsorted(keys, query, side="right") - 1
    ok = pos >= 0
    same = np.zeros(query.size, dtype=bool)
    same[ok] = (keys[pos[ok]] // KEY) == (query[ok] // KEY)
    return np.where(same, pos, -1)


def ragged_index(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner, rank) for a ragged array with ``counts[i]`` items for owner ``i``."""
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(counts.size), counts)
    offsets = np.cumsum(counts) - counts
    rank = np.arange(owner.size) - offsets[owner]
    return owner, rank


def fall_winter(day: np.ndarray) -> np.ndarray:
    """True for 1 October - 31 March (the study's :data:`analysis.study.FALL_WINTER_MONTHS`)."""
    return np.isin(month_of_day(day), FALL_WINTER_MONTHS)


# --------------------------------------------------------------------------- progression
def simulate_progression(rng, start, last, responder) -> tuple[np.ndarray, np.ndarray]:
    """Progression dates: most courses end at progression; non-responders progress early."""
    n = start.size
    dur = last - start
    at_end = rng.uniform(size=n) < 0.6
    end_day = last - rng.integers(0, 21, size=n)
    early = (~responder) & (rng.uniform(size=n) < 0.7) & (dur > 150)
    early_day = start + rng.integers(45, 121, size=n)
    mid_n = rng.poisson(0.15 * np.maximum(dur - 120, 0) / 365.25)
    owner, _ = ragged_index(mid_n)
    span = np.maximum(dur[owner] - 120, 1)
    mid_day = start[owner] + 60 + (rng.uniform(size=owner.size) * span).astype(np.int64)
    pid = np.concatenate([np.flatnonzero(at_end), np.flatnonzero(early), owner])
    day = np.concatenate([end_day[at_end], early_day[early], mid_day])
    key = np.unique(pid.astype(np.int64) * KEY + day)  # one per patient-day, sorted
    return (key // KEY).astype(np.int64), (key % KEY).astype(np.int64)


# --------------------------------------------------------------------------- IgG
@dataclass
class IgGSeries:
    """Measurement schedule and the pieces needed to evaluate functional IgG with/without IVIG."""

    pid: np.ndarray
    day: np.ndarray
    latent: np.ndarray  # functional IgG without IVIG (mg/dL), noise included
    mspike: np.ndarray  # g/dL, NaN where not measured / not applicable
    is_igg_myeloma: np.ndarray  # per measurement


def simulate_igg_schedule(rng, start, end_obs, baseline_igg, nadir_band, heavy, responder,
                          prog_pid, prog_day) -> IgGSeries:
    """Baseline (1-60 days before dara) plus a measurement every 3-9 weeks into the tail."""
    n = start.size
    span = end_obs - start + 60
    m = (span // 21 + 2).astype(np.int64)
    owner, rank = ragged_index(m)
    gaps = rng.integers(21, 64, size=owner.size)
    gaps[rank == 0] = 0
    csum = np.cumsum(gaps)
    first = np.cumsum(m) - m
    rel = csum - csum[first][owner] + rng.integers(14, 35, size=n)[owner]
    rel[rank == 0] = -rng.integers(1, 61, size=n)
    keep = rel <= (end_obs - start + 20)[owner]
    keep |= rank == 0
    owner, rel = owner[keep], rel[keep]
    day = start[owner] + rel
    # latent functional IgG: decline from baseline towards a band-specific plateau
    lo = np.array([720.0, 420.0, 215.0, 80.0])
    hi = np.array([1050.0, 690.0, 390.0, 190.0])
    plateau = lo[nadir_band] + rng.uniform(size=n) * (hi - lo)[nadir_band]
    plateau = np.minimum(plateau, np.maximum(baseline_igg, lo[nadir_band]))
    tau = rng.uniform(90, 360, size=n)
    t = np.maximum(rel, 0).astype(float)
    b0 = baseline_igg[owner]
    latent = plateau[owner] + (b0 - plateau[owner]) * np.exp(-t / tau[owner])
    # polyclonal recovery: in responders, functional IgG climbs back from its plateau once the
    # myeloma is controlled (starting 0.9-1.9 decline times in, over 1-4 months), for many above
    # 700 mg/dL; enforce_nadir still pins each patient's lowest in-observation band
    rec = responder & (rng.uniform(size=n) < RECOVERY_SHARE)
    rec_from = tau * rng.uniform(*RECOVERY_START, size=n)
    rec_to = np.where(rec, rng.uniform(*RECOVERY_LEVEL, size=n), plateau)
    rec_tau = rng.uniform(30, 120, size=n)
    lag = np.maximum(t - rec_from[owner], 0.0)
    latent += np.maximum(rec_to - plateau, 0.0)[owner] * (1 - np.exp(-lag / rec_tau[owner]))
    latent *= np.exp(rng.normal(0, 0.07, size=owner.size))
    latent[rel < 0] = b0[rel < 0]
    # M-spike (g/dL) of IgG, IgA, IgD myeloma: falls with response, rises after progression
    has_m = heavy != "none"
    m0 = rng.uniform(0.4, 3.2, size=n)
    floor_frac = np.where(responder, rng.uniform(0.0, 0.3, size=n), rng.uniform(0.6, 1.1, size=n))
    frac = floor_frac[owner] + (1 - floor_frac[owner]) * np.exp(-t / 35.0)
    first_prog = np.full(n, np.iinfo(np.int64).max // 4)
    if prog_pid.size:
        np.minimum.at(first_prog, prog_pid, prog_day)
    since = np.clip((day - first_prog[owner]) / 60.0, 0, 1.5)
    ms = m0[owner] * (frac + 0.6 * since) * np.exp(rng.normal(0, 0.05, size=owner.size))
    ms = np.round(ms, 2)
    ms[ms < 0.05] = 0.0
    ms = np.where(has_m[owner], ms, np.nan)
    return IgGSeries(pid=owner.astype(np.int64), day=day.astype(np.int64), latent=latent,
                     mspike=ms, is_igg_myeloma=(heavy == "IgG")[owner])


def ivig_increment(series_pid, series_day, dose_pid, dose_day, dose_amt, model) -> np.ndarray:
    """IgG added by IVIG at each (pid, day): sum over earlier doses of amt * exp(-k (t - a))."""
    out = np.zeros(series_pid.size)
    if dose_pid.size == 0:
        return out
    k = np.log(2) / model.half_life_days
    dkey = dose_pid * KEY + dose_day
    order = np.argsort(dkey, kind="stable")
    dkey, dpid, dday, damt = dkey[order], dose_pid[order], dose_day[order], dose_amt[order]
    # running decayed sum S_j = S_{j-1} exp(-k (a_j - a_{j-1})) + amt_j, one pass per dose rank
    first = np.r_[True, dpid[1:] != dpid[:-1]]
    counts = np.diff(np.r_[np.flatnonzero(first), dpid.size])
    _, rank = ragged_index(counts)
    c = damt.astype(float).copy()
    for r in range(1, int(rank.max()) + 1):
        idx = np.flatnonzero(rank == r)
        c[idx] += c[idx - 1] * np.exp(-k * (dday[idx] - dday[idx - 1]))
    pos = last_at_or_before(dkey, series_pid * KEY + series_day)
    ok = pos >= 0
    out[ok] = c[pos[ok]] * np.exp(-(series_day[ok] - dday[pos[ok]]) * k)
    return out


def enforce_nadir(pid, day, functional, start, end_obs, nadir_band, rng) -> np.ndarray:
    """Make each patient's lowest in-observation functional IgG fall in their nadir band."""
    lo = np.array([700.0, 400.0, 200.0, 0.0])
    hi = np.array([np.inf, 700.0, 400.0, 200.0])
    f = np.round(functional)
    f[np.isin(f, [200.0, 400.0, 700.0])] -= 1.0  # never exactly on a threshold
    band = nadir_band[pid]
    inobs = (day >= start[pid]) & (day <= end_obs[pid])
    floor = lo[band] + 8.0
    f = np.where(inobs, np.maximum(f, np.where(band == 3, 20.0, floor)), f)
    # lowest in-observation value must be below the band's upper limit
    n = start.size
    big = np.where(inobs, f, np.inf)
    mins = np.full(n, np.inf)
    np.minimum.at(mins, pid, big)
    need = np.isfinite(hi[nadir_band]) & np.isfinite(mins) & (mins >= hi[nadir_band])
    if need.any():
        is_min = inobs & (f == mins[pid]) & need[pid]
        idx = np.flatnonzero(is_min)
        # one per patient (first occurrence)
        _, firsts = np.unique(pid[idx], return_index=True)
        idx = idx[firsts]
        b = band[idx]
        f[idx] = np.round(lo[b] + 8.0 + rng.uniform(size=idx.size) * (hi[b] - lo[b] - 16.0))
    return f


# --------------------------------------------------------------------------- IVIG schedule
def ivig_schedule(rng, ivig_start, last, model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Doses every 4 weeks (3 for a few) in one or two courses from each start (pid, day, g/kg)."""
    pids = np.flatnonzero(ivig_start >= 0)
    s = ivig_start[pids]
    k = np.round(np.exp(rng.normal(np.log(model.doses_median), model.doses_sdlog, size=pids.size)))
    # some patients stay on IVIG until daratumumab ends (one course; doses past it are dropped)
    maint = rng.uniform(size=pids.size) < model.maintenance_prob
    k = np.where(maint, 43, np.clip(k, 1, 43)).astype(np.int64)
    two = (rng.uniform(size=pids.size) < model.second_course_prob) & ~maint
    gap = np.where(two, rng.integers(60, 241, size=pids.size), 0)
    k1 = np.where(two, np.maximum(1, np.ceil(k * rng.uniform(0.3, 0.7, size=pids.size))), k)
    # one patient in five (at random; assumption) is dosed every 3 weeks instead of 4
    every = np.where(rng.uniform(size=pids.size) < model.short_interval_prob,
                     model.short_interval, model.dose_interval)
    owner, rank = ragged_index(k)
    day = s[owner] + rank * every[owner] + np.where(rank >= k1[owner], gap[owner], 0)
    day = day + np.where(rank > 0, rng.integers(-3, 4, size=owner.size), 0)
    keep = (day <= last[pids][owner] + 28) | (rank == 0)
    amt_choices = np.array([0.40, 0.45, 0.50])
    amt = amt_choices[rng.integers(0, 3, size=pids.size)]
    return pids[owner[keep]].astype(np.int64), day[keep].astype(np.int64), amt[owner[keep]]
