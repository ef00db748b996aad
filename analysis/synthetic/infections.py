"""Infections as a recurrent-event process, the IVIG start it prompts, and the exact-count step.

See :mod:`analysis.synthetic.events` for the rate model. This module

1. evaluates the daily rate of any (patient, day) from sorted-key lookups (:class:`RateState`);
2. simulates infections by thinning, first without IVIG to find when infections prompt IVIG, then
   again (same random numbers) with the IVIG schedule in place;
3. applies the documented *count-matching step* (:func:`match_counts`): the paper's exact numbers
   of infected patients and of infections are reached by removing or adding single infections,
   chosen at random with the model's own rates as weights (additions come from a reserve of
   candidate days; removals never take a patient's last infection or an infection that prompted
   IVIG). In the IVIG group the split of the infections to remove or add between on-IVIG and
   off-IVIG time is chosen so the crude pooled on/off rate ratio is as close as possible to the
   paper's IRR (the paper's rates cannot all be reproduced at once; see inconsistencies.md item 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.study import ON_IVIG_DAYS
from analysis.synthetic.events import KEY, RateModel, fall_winter, last_at_or_before, ragged_index
from analysis.synthetic.sampling import gumbel_top_k


@dataclass
class RateState:
    """Everything the daily rate depends on, as sorted keys for O(log n) lookups."""

    model: RateModel
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


def prompted_start(rng, pid, day, band, is_ivig, prior, low_igg, start, last, model):
    """First IVIG day for IVIG-group patients: prompted by infections, or by the prior year.

    Returns (ivig_start per patient, -1 for none; index of the prompting infection or -1).
    """
    n = start.size
    out = np.full(n, -1, dtype=np.int64)
    trig = np.full(n, -1, dtype=np.int64)
    # each infection prompts IVIG with probability q (higher at IgG < 400)
    q = np.minimum(model.prompt_prob * np.where(band >= 2, model.prompt_low_igg_mult, 1.0), 0.95)
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


def on_days(dose_pid, dose_day, start, end_obs, window: int = ON_IVIG_DAYS) -> np.ndarray:
    """Per-patient number of observed days on IVIG (union of [a, a+window-1], clipped).

    Generation, not analysis: the count-matching step needs the on-IVIG person-time of doses
    that exist only as arrays (the tables are assembled later), many times per seed. It counts
    the same days as :func:`analysis.study.study_intervals` (``on_ivig`` rows), which is what
    the analyses and the calibration table use; replacing it would change the generated cohort
    only if the two disagreed, and ``tests/test_simulate.py`` checks they agree.
    """
    n = start.size
    if dose_pid.size == 0:
        return np.zeros(n, np.int64)
    key = np.unique(dose_pid * KEY + dose_day)
    p, a = key // KEY, key % KEY
    nxt = np.r_[a[1:], np.iinfo(np.int64).max // 4]
    same = np.r_[p[1:] == p[:-1], False]
    hi = np.minimum(a + window - 1, np.where(same, nxt - 1, a + window - 1))
    lo = np.maximum(a, start[p])
    hi = np.minimum(hi, end_obs[p])
    return np.bincount(p, weights=np.maximum(hi - lo + 1, 0), minlength=n).astype(np.int64)


@dataclass
class Events:
    """In-observation infections (one row per infection) and their covariates."""

    pid: np.ndarray
    day: np.ndarray
    protected: np.ndarray  # prompted IVIG: never removed

    def take(self, keep: np.ndarray) -> Events:
        return Events(self.pid[keep], self.day[keep], self.protected[keep])

    def concat(self, pid, day) -> Events:
        return Events(np.r_[self.pid, pid], np.r_[self.day, day],
                      np.r_[self.protected, np.zeros(pid.size, bool)])


def _remove(rng, ev: Events, eligible: np.ndarray, count: int) -> Events:
    """Remove ``count`` eligible infections, never a patient's last one (rounds of one each)."""
    keep = np.ones(ev.pid.size, bool)
    n = int(ev.pid.max()) + 1 if ev.pid.size else 0
    while count > 0:
        per = np.bincount(ev.pid[keep], minlength=n)
        cand = np.flatnonzero(keep & eligible & ~ev.protected & (per[ev.pid] >= 2))
        if cand.size == 0:
            break
        # at most one per patient per round, chosen at random
        r = rng.uniform(size=cand.size)
        o = np.lexsort((r, ev.pid[cand]))
        one = cand[o][np.r_[True, ev.pid[cand][o][1:] != ev.pid[cand][o][:-1]]]
        pick = one[gumbel_top_k(rng, np.ones(one.size), min(count, one.size))]
        keep[pick] = False
        count -= pick.size
    return ev.take(keep)


def match_counts(rng, ev: Events, members: np.ndarray, state: RateState, n_patients: int,
                 n_events: int, reserve: tuple[np.ndarray, np.ndarray],
                 on_target: int | None = None, used: np.ndarray | None = None) -> Events:
    """Exact number of patients with an infection and of infections among ``members``.

    ``used`` (optional, updated in place) flags reserve days already turned into infections.

    ``on_target``: if given, the number of the group's infections that must be on IVIG.
    """
    n = state.start.size
    rpid, rday = reserve
    rcov = state.covariates(rpid, rday)
    rrate = state.rate(rpid, rday, rcov)
    used = np.zeros(rpid.size, bool) if used is None else used
    mem = np.zeros(n, bool)
    mem[members] = True
    in_group = mem[ev.pid]
    per = np.bincount(ev.pid[in_group], minlength=n)
    have = np.flatnonzero(mem & (per > 0))
    # 1. patients with at least one infection
    if have.size > n_patients:
        w = 1.0 / per[have] ** 2.0
        clear = have[gumbel_top_k(rng, w, have.size - n_patients)]
        drop = np.isin(ev.pid, clear)
        ev = ev.take(~drop)
    elif have.size < n_patients:
        none = np.flatnonzero(mem & (per == 0))
        lam = expected_counts(state, rpid, rday)[none]
        add_to = none[gumbel_top_k(rng, np.maximum(lam, 1e-9), n_patients - have.size)]
        ok = np.isin(rpid, add_to)
        idx = np.flatnonzero(ok)
        g = np.log(np.maximum(rrate[idx], 1e-300)) + rng.gumbel(size=idx.size)
        o = np.lexsort((-g, rpid[idx]))
        best = idx[o][np.r_[True, rpid[idx][o][1:] != rpid[idx][o][:-1]]]
        used[best] = True
        ev = ev.concat(rpid[best], rday[best])
    # 2. number of infections (and the on-IVIG share)
    steps = [(None, n_events)] if on_target is None else [
        (True, on_target), (False, n_events - on_target)]
    for flag, want in steps:
        in_group = mem[ev.pid]
        ev_on = state.covariates(ev.pid, ev.day)["on"]
        ev_mask = in_group if flag is None else in_group & (ev_on == flag)
        r_mask = np.ones(rpid.size, bool) if flag is None else rcov["on"] == flag
        have_n = int(ev_mask.sum())
        if have_n > want:
            ev = _remove(rng, ev, ev_mask, have_n - want)
        elif have_n < want:
            per = np.bincount(ev.pid[mem[ev.pid]], minlength=n)
            pool = np.flatnonzero(r_mask & ~used & mem[rpid] & (per[rpid] > 0))
            pick = pool[gumbel_top_k(rng, rrate[pool], want - have_n)]
            used[pick] = True
            ev = ev.concat(rpid[pick], rday[pick])
    return ev


def balance_within(rng, ev: Events, members: np.ndarray, state: RateState,
                   reserve: tuple[np.ndarray, np.ndarray], used: np.ndarray, t_on: np.ndarray,
                   rho: float, max_rounds: int = 200) -> Events:
    """Move off-IVIG infections between patients so the SCCS estimate equals the crude ratio.

    With one binary exposure the SCCS (conditional) estimate solves
    ``sum_i n_i p_i(rho) = E_on`` with ``p_i = rho T1_i / (rho T1_i + T0_i)`` (``n_i`` infections,
    ``T1_i``/``T0_i`` days on/off IVIG). After the count-matching step fixed ``E_on`` to give the
    crude pooled ratio ``rho``, this step moves single off-IVIG infections from patients with a
    high on-IVIG share to patients with a low one (or back) until the equation holds at ``rho``
    too, so within-patient and pooled comparisons agree, as they do in the paper (0.57 both).
    Totals per state, patients with an infection and infections that prompted IVIG are kept.
    """
    n = state.start.size
    rpid, rday = reserve
    roff = ~state.covariates(rpid, rday)["on"]
    rrate = state.rate(rpid, rday)
    mem = np.zeros(n, bool)
    mem[members] = True
    t_all = (state.end_obs - state.start + 1).astype(float)
    p = np.where(mem, rho * t_on / np.maximum(rho * t_on + (t_all - t_on), 1e-9), 0.0)
    for _ in range(max_rounds):
        on = state.covariates(ev.pid, ev.day)["on"]
        ing = mem[ev.pid]
        target_on = float((on & ing).sum())
        per = np.bincount(ev.pid[ing], minlength=n)
        d = float(np.sum(per * p)) - target_on
        if abs(d) < 0.5:
            break
        sign = 1.0 if d > 0 else -1.0  # d > 0: move from high-p patients to low-p patients
        donors_ev = np.flatnonzero(ing & ~on & ~ev.protected & (per[ev.pid] >= 2))
        pool = np.flatnonzero(roff & ~used & mem[rpid] & (per[rpid] >= 1))
        if donors_ev.size == 0 or pool.size == 0:
            break
        # one event per donor patient per round (a patient keeps at least one infection)
        r = rng.uniform(size=donors_ev.size)
        o = np.lexsort((r, ev.pid[donors_ev]))
        donors_ev = donors_ev[o][np.r_[True, ev.pid[donors_ev][o][1:] != ev.pid[donors_ev][o][:-1]]]
        k = int(min(donors_ev.size, pool.size, max(1, np.ceil(abs(d) / 0.6))))
        pd_ = sign * p[ev.pid[donors_ev]]
        pr_ = sign * p[rpid[pool]]
        a_ = donors_ev[gumbel_top_k(rng, np.exp(12 * (pd_ - pd_.max())), k)]
        b_ = pool[gumbel_top_k(rng, rrate[pool] * np.exp(-12 * (pr_ - pr_.min())), k)]
        a_ = a_[np.argsort(-sign * p[ev.pid[a_]], kind="stable")]
        b_ = b_[np.argsort(sign * p[rpid[b_]], kind="stable")]
        gain = sign * (p[ev.pid[a_]] - p[rpid[b_]])
        take = gain > 0
        take &= np.cumsum(np.where(take, gain, 0.0)) <= abs(d) + 0.25
        if not take.any():
            break
        a_, b_ = a_[take], b_[take]
        keep = np.ones(ev.pid.size, bool)
        keep[a_] = False
        used[b_] = True
        ev = ev.take(keep).concat(rpid[b_], rday[b_])
    return ev
