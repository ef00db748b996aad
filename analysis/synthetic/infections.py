"""Infections as a recurrent-event process, the IVIG start it prompts, and the exact-count step.

See :mod:`analysis.synthetic.events` for the rate model. This module

1. evaluates the daily rate of any (patient, day) from sorted-key lookups (:class:`RateState`);
2. simulates infections by thinning, first without IVIG to find when infections prompt IVIG, then
   again (same random numbers) with the IVIG schedule in place;
3. applies the *exact-count step* (:func:`thin_to_counts`): the process is drawn with more
   infections than the paper counts (``TruthParameters.overshoot``), then whole patients are
   cleared (chosen by their number of infections only) and single infections removed uniformly
   at random (never a patient's last) until each group has the paper's number of infected patients
   and of infections. The step never looks at exposure status or at timing relative to IVIG, so it
   keeps every within-patient rate ratio in expectation: it moves no estimate towards a target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.synthetic.events import (
    KEY,
    TruthParameters,
    fall_winter,
    last_at_or_before,
    ragged_index,
)
from analysis.synthetic.sampling import gumbel_top_k


@dataclass
class RateState:
    """Everything the daily rate depends on, as sorted keys for O(log n) lookups."""

    model: TruthParameters
    start: np.ndarray
    end_obs: np.ndarray
    frailty: np.ndarray
    base: np.ndarray  # per patient, infections per year at reference conditions
    igg_key: np.ndarray  # sorted pid*KEY+day of measurements
    igg_val: np.ndarray  # functional IgG aligned with igg_key
    prog_key: np.ndarray  # sorted
    dose_key: np.ndarray  # sorted (may be empty)

    @classmethod
    def build(cls, model, start, end_obs, frailty, base, igg_pid, igg_day, functional, prog_pid,
              prog_day, dose_pid=None, dose_day=None) -> RateState:
        ik = igg_pid * KEY + igg_day
        o = np.argsort(ik, kind="stable")
        dk = np.zeros(0, np.int64) if dose_pid is None else np.sort(dose_pid * KEY + dose_day)
        return cls(model, start, end_obs, frailty, base, ik[o], functional[o],
                   np.sort(prog_pid * KEY + prog_day), dk)

    def covariates(self, pid: np.ndarray, day: np.ndarray) -> dict[str, np.ndarray]:
        """HGG band, fall/winter, progression window and on-IVIG flags at (pid, day)."""
        q = pid * KEY + day
        pos = last_at_or_before(self.igg_key, q)
        # before the first measurement: the first measurement (the baseline) stands
        first = np.searchsorted(self.igg_key, pid * KEY)
        pos = np.where(pos >= 0, pos, np.minimum(first, self.igg_key.size - 1))
        igg = self.igg_val[pos]
        band = self.model.hgg_band(igg)
        pp = last_at_or_before(self.prog_key, q)
        prog = np.zeros(pid.size, bool)
        ok = pp >= 0
        prog[ok] = (q[ok] - self.prog_key[pp[ok]]) < self.model.progression_days
        on = np.zeros(pid.size, bool)
        if self.dose_key.size:
            dp = last_at_or_before(self.dose_key, q)
            ok = dp >= 0
            on[ok] = (q[ok] - self.dose_key[dp[ok]]) < self.model.ivig_days
        early = (day - self.start[pid]) < self.model.early_days
        return {"igg": igg, "band": band, "fw": fall_winter(day), "prog": prog, "on": on,
                "early": early}

    def rate(self, pid: np.ndarray, day: np.ndarray, cov: dict | None = None) -> np.ndarray:
        """Infections per day."""
        m = self.model
        c = cov or self.covariates(pid, day)
        rr = np.asarray(m.hgg_rr)[c["band"]]
        rr = rr * np.where(c["fw"], m.fall_winter_rr, 1.0)
        rr = rr * np.where(c["prog"], m.progression_rr, 1.0)
        rr = rr * np.where(c["on"], m.ivig_rr, 1.0)
        rr = rr * np.where(c["early"], m.early_rr, 1.0)
        return self.base[pid] * self.frailty[pid] * rr / 365.25

    def max_rate(self) -> np.ndarray:
        """Upper bound of the daily rate per patient (for thinning)."""
        m = self.model
        top = max(m.hgg_rr) * m.fall_winter_rr * m.progression_rr * max(m.early_rr, 1.0)
        return self.base * self.frailty * top / 365.25


def uniform_days(rng, start, end_obs, counts) -> tuple[np.ndarray, np.ndarray]:
    """``counts[i]`` uniform whole days in ``[start_i, end_obs_i]`` for each patient."""
    owner, _ = ragged_index(counts)
    span = (end_obs - start + 1)[owner]
    day = start[owner] + np.minimum((rng.uniform(size=owner.size) * span).astype(np.int64),
                                    span - 1)
    return owner.astype(np.int64), day


def expected_counts(state: RateState, rpid, rday) -> np.ndarray:
    """Per-patient expected infections in observation, estimated from reserve days."""
    n = state.start.size
    r = state.rate(rpid, rday)
    s = np.bincount(rpid, weights=r, minlength=n)
    c = np.bincount(rpid, minlength=n)
    return np.where(c > 0, s / np.maximum(c, 1), 0.0) * (state.end_obs - state.start + 1)


def prompt_probability(band: np.ndarray, model: TruthParameters) -> np.ndarray:
    """Probability that an infection in a patient of the IVIG group prompts IVIG, by HGG band.

    ``model.prompt_prob``, times ``model.prompt_low_igg_mult`` at IgG < 400 (band 2 or 3),
    capped at 0.95.
    """
    return np.minimum(model.prompt_prob * np.where(band >= 2, model.prompt_low_igg_mult, 1.0),
                      0.95)


def prompted_start(rng, pid, day, band, is_ivig, prior, low_igg, start, last, model):
    """First IVIG day for IVIG-group patients: prompted by infections, or by the prior year.

    Returns (ivig_start per patient, -1 for none; index of the prompting infection or -1).
    """
    n = start.size
    out = np.full(n, -1, dtype=np.int64)
    trig = np.full(n, -1, dtype=np.int64)
    q = prompt_probability(band, model)
    prompts = is_ivig[pid] & (rng.uniform(size=pid.size) < q)
    delay = rng.integers(model.delay_days[0], model.delay_days[1] + 1, size=n)
    order = np.lexsort((day, pid))
    cand = order[prompts[order]]
    if cand.size:
        firsts = cand[np.r_[True, pid[cand][1:] != pid[cand][:-1]]]
        out[pid[firsts]] = day[firsts] + delay[pid[firsts]]
        trig[pid[firsts]] = firsts
    # prior-year infections alone may prompt IVIG from the start of daratumumab
    p_prior = np.minimum(model.prior_path_per_infection * prior
                         + model.low_igg_path * low_igg, 0.7)
    early = is_ivig & (rng.uniform(size=n) < p_prior)
    early_day = start + rng.integers(0, model.early_start_days + 1, size=n)
    use_early = early & ((out < 0) | (early_day < out))
    out[use_early] = early_day[use_early]
    trig[use_early] = -1
    # too late (after the last dose of daratumumab) or never prompted: the physician starts it
    # anyway at some point of the course (the group is defined by receiving IVIG)
    late = is_ivig & ((out < 0) | (out > last))
    wait = rng.exponential(model.fallback_mean_days, size=n).astype(np.int64)
    out[late] = np.minimum(start + wait, last)[late]
    trig[late] = -1
    capped = is_ivig & (out > start + model.max_start_days)
    out[capped] = start[capped] + model.max_start_days
    trig[capped] = -1
    out = np.minimum(out, np.where(is_ivig, last, out))
    out[~is_ivig] = -1
    return out, trig


def fill_patients(rng: np.random.Generator, state: RateState, lmax: np.ndarray, pid: np.ndarray,
                  day: np.ndarray, members: np.ndarray, n_patients: int,
                  max_rounds: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Redraw the process of patients without an infection until ``n_patients`` members have one.

    The patients to complete are drawn among the members without an infection with their
    expected number of infections as weight; each one's whole infection process (same rate, new
    random numbers) is drawn again until it yields at least one infection, and those infections
    are added. That is the process conditioned on at least one infection, which leaves the
    distribution of a patient's infection days given their number unchanged (all a self-controlled
    case series uses); it looks neither at exposure status nor at timing relative to IVIG.
    """
    n = state.start.size
    per = np.bincount(pid[np.isin(pid, members)], minlength=n)
    none = members[per[members] == 0]
    need = n_patients - (members.size - none.size)
    if need <= 0 or none.size == 0:
        return pid, day
    span = (state.end_obs - state.start + 1).astype(float)
    w = state.base[none] * state.frailty[none] * span[none]
    todo = none[gumbel_top_k(rng, np.maximum(w, 1e-12), need)]
    add_pid, add_day = [], []
    for _ in range(max_rounds):
        if todo.size == 0:
            break
        counts = rng.poisson(lmax[todo] * span[todo])
        cp, cd = uniform_days(rng, state.start[todo], state.end_obs[todo], counts)
        cp = todo[cp]
        ok = rng.uniform(size=cp.size) < state.rate(cp, cd) / lmax[cp]
        add_pid.append(cp[ok])
        add_day.append(cd[ok])
        todo = np.setdiff1d(todo, cp[ok])
    return np.r_[pid, *add_pid], np.r_[day, *add_day]


def thin_to_counts(rng: np.random.Generator, pid: np.ndarray, keep: np.ndarray,
                   members: np.ndarray, n_patients: int | None,
                   n_events: int | None) -> tuple[np.ndarray, int]:
    """Exact counts by removal only, blind to exposure: the exact-count step.

    ``keep`` (bool per event, not changed) marks the events that count (all infections, or the
    grade 3-4 ones); ``members`` the patients of one group. If more than ``n_patients`` members
    have an event, whole patients are cleared, chosen with weight ``1 / count**2`` (their number of
    events only); if more than ``n_events`` events remain, single events are removed uniformly at
    random, never a patient's last one. Returns the new mask and the shortfall (events or patients
    missing because the draw had too few; 0 when both counts were reached).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> pid = np.array([0, 0, 0, 1, 2, 2])
    >>> out, short = thin_to_counts(rng, pid, np.ones(6, bool), np.array([0, 1, 2]), 2, 3)
    >>> int(out.sum()), len(set(pid[out])), short
    (3, 2, 0)
    """
    out = keep.copy()
    n = int(max(pid.max(initial=-1), members.max(initial=-1))) + 1
    mem = np.zeros(n, bool)
    mem[members] = True
    sel = out & mem[pid]
    per = np.bincount(pid[sel], minlength=n)
    have = np.flatnonzero(per > 0)
    short = 0
    if n_patients is not None:
        if have.size > n_patients:
            clear = have[gumbel_top_k(rng, 1.0 / per[have] ** 2.0, have.size - n_patients)]
            out &= ~np.isin(pid, clear)
        short += max(n_patients - have.size, 0)
    if n_events is not None:
        sel = np.flatnonzero(out & mem[pid])
        excess = sel.size - n_events
        if excess > 0:
            # each patient keeps one event chosen at random; the others may go, all alike
            key = rng.uniform(size=sel.size)
            o = np.lexsort((-key, pid[sel]))
            first = np.r_[True, pid[sel][o][1:] != pid[sel][o][:-1]]
            eligible = sel[o][~first]
            drop = eligible[gumbel_top_k(rng, np.ones(eligible.size), excess)]
            out[drop] = False
            short += max(excess - eligible.size, 0)
        else:
            short += -excess
    return out, int(short)
