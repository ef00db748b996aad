"""Attributes of each infection: CTCAE grade, site, organism, ANC and ALC at onset.

Grade 3-4 status is drawn independently per infection (:func:`grade34_draw`: less likely on IVIG,
as the truth's grade 3-4 rate ratio says, more likely at very low IgG or at progression); the
exact-count step then thins it blind to exposure
(:func:`analysis.synthetic.infections.thin_to_counts`). Sites, organisms and ANC/ALC follow
mechanism weights that never look at exposure (lower respiratory and bloodstream infections more
often grade 3-4; lower ANC/ALC in grade 3-4), and the *number* in each category is fixed to the
paper's printed percentage by weighted sampling of exactly that many infections (Gumbel-top-k):
those percentages are planted. The organism of an infection does not depend on IVIG, so the true
on-IVIG rate ratio of bacterial and of viral infections is the all-grade one.
"""

from __future__ import annotations

import numpy as np

from analysis.synthetic.events import TruthParameters
from analysis.synthetic.registry import planted as target
from analysis.synthetic.sampling import allocate, gumbel_top_k

#: Share of infections with a microbiological diagnosis (assumption; the paper prints no
#: denominator), the non-respiratory site mix, and grade-3-4 odds factors (assumptions).
CONFIRMED_SHARE = 0.55
OTHER_SITES = {"gastrointestinal": 0.30, "urinary": 0.25, "skin_soft_tissue": 0.20,
               "bloodstream": 0.10, "other": 0.15}
LAB_MISSING = 0.04


def grade34_draw(rng: np.random.Generator, cov: dict[str, np.ndarray], base_p: np.ndarray,
                 truth: TruthParameters) -> np.ndarray:
    """Grade 3-4 (True) or 1-2 for each infection, drawn independently.

    The probability is ``base_p`` (per infection: its group's share) times the IgG-band and
    progression multipliers, times :attr:`TruthParameters.g34_on_ivig_odds` on IVIG, so that the
    grade 3-4 rate on IVIG over the rate off IVIG is ``truth.irr_on_ivig_grade34`` (capped at
    0.95, where the cap binds the ratio is a little nearer 1).
    """
    p = base_p * np.asarray(truth.g34_band_mult)[cov["band"]]
    p = p * np.where(cov["prog"], truth.g34_progression_mult, 1.0)
    p = p * np.where(cov["on"], truth.g34_on_ivig_odds, 1.0)
    return rng.uniform(size=p.size) < np.minimum(p, 0.95)


def grade_numbers(rng: np.random.Generator, g34: np.ndarray) -> np.ndarray:
    """CTCAE grade per infection: 3 or 4 (85:15) for grade 3-4, else 1 or 2 (35:65); none fatal."""
    u = rng.uniform(size=g34.size)
    return np.where(g34, np.where(u < 0.85, 3, 4), np.where(u < 0.35, 1, 2)).astype(np.int64)


def sites(rng, g34, members_mask, resp_pct, lrti_pct) -> np.ndarray:
    """Site per infection with the printed respiratory and lower-respiratory percentages."""
    out = np.full(g34.size, "other", dtype=object)
    idx = np.flatnonzero(members_mask)
    n = idx.size
    if n == 0:
        return out
    n_resp = round(resp_pct / 100 * n)
    n_lrti = round(lrti_pct / 100 * n)
    left = idx
    lr = left[gumbel_top_k(rng, np.where(g34[left], 3.0, 1.0), n_lrti)]
    out[lr] = "lower_respiratory"
    left = np.setdiff1d(left, lr)
    ur = left[gumbel_top_k(rng, np.where(g34[left], 0.5, 2.5), n_resp - n_lrti)]
    out[ur] = "upper_respiratory"
    left = np.setdiff1d(left, ur)
    counts = allocate(left.size, OTHER_SITES)
    names = list(OTHER_SITES)
    bs = int(counts[names.index("bloodstream")])
    b = left[gumbel_top_k(rng, np.where(g34[left], 4.0, 0.3), bs)]
    out[b] = "bloodstream"
    left = np.setdiff1d(left, b)
    rest = np.repeat(np.array([k for k in names if k != "bloodstream"], dtype=object),
                     [int(c) for k, c in zip(names, counts, strict=True) if k != "bloodstream"])
    out[left[rng.permutation(left.size)]] = rest[: left.size]
    return out


def _confirmed_split(n: int, pcts: list[float]) -> tuple[int, np.ndarray]:
    """Number of confirmed infections near CONFIRMED_SHARE whose split rounds to ``pcts``."""
    want = CONFIRMED_SHARE * n
    best = None
    for c in sorted(range(1, n + 1), key=lambda c: abs(c - want)):
        split = allocate(c, pcts)
        if all(round(100 * s / c) == p for s, p in zip(split, pcts, strict=True)):
            best = (c, split)
            break
        if abs(c - want) > 0.3 * n:
            break
    if best is None:
        c = max(round(want), 1) if n else 0
        best = (c, allocate(c, pcts) if c else np.zeros(len(pcts), np.int64))
    return best


def organisms(rng, g34, site, members_mask, pcts) -> np.ndarray:
    """Organism per infection: printed bacterial/viral/fungal shares among confirmed ones."""
    out = np.full(g34.size, "unconfirmed", dtype=object)
    idx = np.flatnonzero(members_mask)
    if idx.size == 0:
        return out
    c, (nb, _nv, nf) = _confirmed_split(idx.size, pcts)
    conf = idx[gumbel_top_k(rng, np.where(g34[idx], 1.6, 1.0), c)]
    s = site[conf]
    wf = np.where(g34[conf], 3.0, 0.5) * np.where(s == "lower_respiratory", 2.0, 1.0)
    f = conf[gumbel_top_k(rng, wf, int(nf))]
    out[f] = "fungal"
    left = np.setdiff1d(conf, f)
    s = site[left]
    wb = np.select([s == "urinary", s == "bloodstream", s == "skin_soft_tissue",
                    s == "lower_respiratory", s == "upper_respiratory"],
                   [6.0, 6.0, 4.0, 1.3, 0.35], 1.0)
    b = left[gumbel_top_k(rng, wb, int(nb))]
    out[b] = "bacterial"
    out[np.setdiff1d(left, b)] = "viral"
    return out


def _piecewise(u, knots_x, knots_p):
    """Inverse of a piecewise-linear CDF through (x, p) knots."""
    return np.interp(u, knots_p, knots_x)


def labs(rng, g34, members_mask, group: str) -> tuple[np.ndarray, np.ndarray]:
    """ANC and ALC (x10^3/uL) at infection onset, lower in grade 3-4; a few unknown (NaN)."""
    n = g34.size
    anc = np.full(n, np.nan)
    alc = np.full(n, np.nan)
    idx = np.flatnonzero(members_mask)
    if idx.size == 0:
        return anc, alc
    if group == "ivig":
        a_med, a_max = target("t2_anc_at_infection_median"), target("t2_anc_at_infection_max")
        l_med, l_max = target("res1_alc_at_infection_median"), target("t2_alc_at_infection_max")
        a05_34, l05_34 = target("t2_anc_lt05_g34_pct"), target("t2_alc_lt05_g34_pct")
        a10_34, l10_34 = target("t2_anc_lt10_g34_pct"), target("t2_alc_lt10_g34_pct")
    else:
        a_med, a_max = target("res2_anc_at_infection_median"), target("res2_anc_at_infection_max")
        l_med, l_max = target("res2_alc_at_infection_median"), target("res2_alc_at_infection_max")
        a05_34 = target("res2_g4_neutropenia_in_g34_pct")
        l05_34 = target("res2_alc_lt05_in_g34_pct")
        a10_34, l10_34 = 1.5 * a05_34, 1.33 * l05_34  # not printed: same shape as the IVIG group
    a05_12, a10_12 = target("t2_anc_lt05_g12_pct"), target("t2_anc_lt10_g12_pct")
    l05_12, l10_12 = target("t2_alc_lt05_g12_pct"), target("t2_alc_lt10_g12_pct")
    u1 = rng.uniform(size=n)
    u2 = rng.uniform(size=n)
    for mask, (a05, a10, l05, l10), shift in (
        (~g34, (a05_12, a10_12, l05_12, l10_12), 1.05),
        (g34, (a05_34, a10_34, l05_34, l10_34), 0.8),
    ):
        sel = idx[mask[idx]]
        # stratified uniforms: each grade group's shares below 0.5 and 1.0 are the targets up to
        # one infection, not up to sampling noise (a grade 3-4 group has only ~40 infections)
        u1[sel] = (rng.permutation(sel.size) + u1[sel]) / max(sel.size, 1)
        u2[sel] = (rng.permutation(sel.size) + u2[sel]) / max(sel.size, 1)
        am = max(a_med * shift, 1.2)
        anc[sel] = _piecewise(u1[sel], [0, 0.5, 1.0, am, 2.2 * am, a_max],
                              [0, a05 / 100, a10 / 100, 0.5, 0.9, 1.0])
        lm = max(l_med * shift, 0.55) if l10 / 100 < 0.5 else l_med * shift
        lx = [0, 0.5, 1.0, max(lm, 1.01), 2.6, l_max]
        lp = [0, l05 / 100, l10 / 100, 0.5, 0.95, 1.0]
        if l10 / 100 >= 0.5:  # median below 1.0: put the 0.5 knot before the 1.0 knot
            lx = [0, 0.5, lm, 1.0, 2.6, l_max]
            lp = [0, l05 / 100, 0.5, l10 / 100, 0.95, 1.0]
        alc[sel] = _piecewise(u2[sel], lx, lp)
    # the printed medians exactly: scale each count so its median is the printed one
    for arr, med in ((anc, a_med), (alc, l_med)):
        cur = float(np.median(arr[idx]))
        if cur > 0:
            arr[idx] = arr[idx] * (med / cur)
    anc[idx] = np.round(anc[idx], 2)
    alc[idx] = np.round(alc[idx], 2)
    # printed range ends exactly: smallest -> 0, largest -> printed maximum
    for arr, mx in ((anc, a_max), (alc, l_max)):
        arr[idx] = np.clip(arr[idx], 0.0, mx)
        arr[idx[np.argmin(arr[idx])]] = 0.0
        arr[idx[np.argmax(arr[idx])]] = mx
    miss = idx[rng.uniform(size=idx.size) < LAB_MISSING]
    keep_ends = np.isin(miss, [idx[np.argmin(anc[idx])], idx[np.argmax(anc[idx])],
                               idx[np.argmin(alc[idx])], idx[np.argmax(alc[idx])]])
    miss = miss[~keep_ends]
    anc[miss] = np.nan
    alc[miss] = np.nan
    return anc, alc
