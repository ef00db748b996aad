"""Baseline (one row per patient) part of the synthetic cohort: Table 1 by construction.

Every Table 1 row of the paper is rebuilt *exactly* at the paper's group sizes (43 IVIG, 100
reference) and proportionally at any other size:

* categorical rows (sex, heavy and light chain, ISS, R-ISS, high-risk cytogenetics, prior-year
  infections in categories, prophylaxis, transplant, response) - the printed counts are split over
  the group with :func:`~analysis.paper.targets.allocate` (largest remainder) and shuffled over
  patients. Unknown ISS / R-ISS / cytogenetics are the paper's missing denominators, written as
  empty cells. R-ISS is kept coherent with ISS and cytogenetics (R-ISS I needs ISS I and standard
  risk, R-ISS III needs ISS III; R-ISS known only where both are known);
* "median (range)" rows (age, months on daratumumab, years from diagnosis, prior lines, prior-year
  infections) - :func:`~analysis.paper.targets.exact_sorted_sample` pins minimum, median and
  maximum; the months-on-daratumumab upper tail is shaped so that the group's person-time matches
  the person-time implied by the paper's rates (derived targets ``drv_reference_person_years`` and
  ``drv_ivig_person_years_from_seasonal_rates``).

Prior-year infections are a required whole number in the data contract, so nobody can be "unknown":
the paper's categorised counts (which cover 40 of 43 and 94 of 100 patients) are scaled up to the
whole group (largest remainder), which keeps the printed medians and ranges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from analysis.study import DAYS_PER_MONTH, DAYS_PER_YEAR
from analysis.synthetic.registry import planted as target
from analysis.synthetic.sampling import allocate, exact_sorted_sample

#: Short group keys used in target ids.
GROUP_KEY = {"ivig": "ivig", "reference": "ref"}
#: Paper group sizes (target ids).
PAPER_N = {"ivig": "t1_n_ivig", "reference": "t1_n_ref"}

#: Simulator assumptions where the paper prints nothing for the reference group
#: (not paper numbers; see the book's chapter on the synthetic cohort's truth).
REFERENCE_ASSUMED = {
    "prior_asct": 0.50,
    "antiviral_ppx": 0.95,
    "antibacterial_ppx": 0.10,
    "antifungal_ppx": 0.06,
    "orr": 0.80,
}
#: Split of responders and non-responders over IMWG categories (assumption).
RESPONDER_SPLIT = {"sCR": 0.08, "CR": 0.17, "VGPR": 0.35, "PR": 0.40}
NONRESPONDER_SPLIT = {"MR": 0.15, "SD": 0.45, "PD": 0.40}


@dataclass
class Baseline:
    """Column arrays of ``patients.csv`` plus hidden per-patient quantities used later."""

    cols: dict[str, np.ndarray]
    start: np.ndarray  # dara_start day number
    last: np.ndarray  # dara_last day number
    group: np.ndarray  # "ivig" / "reference"
    baseline_igg: np.ndarray  # functional IgG at baseline (mg/dL)
    nadir_band: np.ndarray  # 0: never < 700, 1: < 700, 2: < 400, 3: < 200 (lowest in observation)


def _shuffle_counts(rng: np.random.Generator, labels: list, counts: np.ndarray) -> np.ndarray:
    """Labels repeated by their counts, in random order."""
    out = np.repeat(np.array(labels, dtype=object), counts)
    return out[rng.permutation(out.size)]


def _cat(rng, n, g, name, levels, labels=None):
    """Categorical column from target ids ``t1_{name}_{level}_{g}_n`` (all known)."""
    counts = [target(f"t1_{name}_{lv}_{GROUP_KEY[g]}_n") for lv in levels]
    return _shuffle_counts(rng, list(labels or levels), allocate(n, counts))


def _days_for(value: float, scale: float, decimals: int = 1) -> int:
    """Integer days ``d`` whose ``d/scale`` and ``(d+1)/scale`` both round to ``value``."""
    centre = round(value * scale)
    for off in sorted(range(-40, 41), key=abs):
        d = centre + off
        ok = round(d / scale, decimals) == value and round((d + 1) / scale, decimals) == value
        if d >= 0 and ok:
            return d
    return max(centre, 0)


def _exact_days(rng, n, lo, med, hi, scale, mean=None, decimals=1):
    """Sorted integer day counts whose ``/scale`` min, median, max round to lo, med, hi."""
    vals = exact_sorted_sample(rng, n, lo, med, hi, decimals=4, mean=mean)
    d = np.round(vals * scale).astype(np.int64)
    dlo, dmed, dhi = (_days_for(v, scale, decimals) for v in (lo, med, hi))
    d = np.sort(np.clip(d, dlo, dhi))
    d[0], d[-1] = dlo, dhi
    k = n // 2
    if n % 2:
        d[k] = dmed
        d[:k] = np.minimum(d[:k], dmed)
        d[k:] = np.maximum(d[k:], dmed)
    elif n >= 2:
        d[k - 1] = d[k] = dmed
        d[: k - 1] = np.minimum(d[: k - 1], dmed)
        d[k:] = np.maximum(d[k:], dmed)
    d[0], d[-1] = dlo, dhi
    return np.sort(d)


def _known_split(rng, n, g, name, levels):
    """Counts for a category with unknowns: printed counts + unknown = paper N - sum."""
    printed = [target(f"t1_{name}_{lv}_{GROUP_KEY[g]}_n") for lv in levels]
    unknown = target(PAPER_N[g]) - sum(printed)
    return allocate(n, [*printed, max(unknown, 0)])


def _staging(rng, n, g):
    """ISS, R-ISS and high-risk cytogenetics with the paper's missing counts, kept coherent.

    R-ISS is known only where ISS and cytogenetics are; R-ISS I gets ISS I and standard risk,
    R-ISS III gets ISS III; R-ISS II may have any ISS/cytogenetics (LDH is not recorded).
    """
    iss_c = _known_split(rng, n, g, "iss", ["1", "2", "3"])
    riss_c = _known_split(rng, n, g, "riss", ["1", "2", "3"])
    cyto_c = _known_split(rng, n, g, "hrcyto", ["no", "yes"])
    iss = np.full(n, None, dtype=object)
    riss = np.full(n, None, dtype=object)
    cyto = np.full(n, None, dtype=object)
    order = rng.permutation(n)
    r1 = int(min(riss_c[0], iss_c[0], cyto_c[0]))
    r3 = int(min(riss_c[2], iss_c[2]))
    r2 = int(riss_c[:3].sum()) - r1 - r3
    i1, i3, i2 = order[:r1], order[r1 : r1 + r3], order[r1 + r3 : r1 + r3 + r2]
    others = order[r1 + r3 + r2 :]
    riss[i1], riss[i3], riss[i2] = "I", "III", "II"
    iss[i1], cyto[i1], iss[i3] = "I", "no", "III"
    iss_left = _shuffle_counts(rng, ["I", "II", "III"],
                               np.array([iss_c[0] - r1, iss_c[1], iss_c[2] - r3]))
    iss_targets = np.concatenate([i2, others])[: iss_left.size]
    iss[iss_targets] = iss_left
    cyto_left = _shuffle_counts(rng, ["no", "yes"], np.array([cyto_c[0] - r1, cyto_c[1]]))
    # R-ISS III leans to high risk; then the other R-ISS-known, then ISS-known, then the rest
    yes_first = np.argsort(cyto_left != "yes", kind="stable")
    k3 = min(i3.size, cyto_left.size)
    lean = rng.uniform(size=k3) < 0.6
    n_yes3 = int(min(lean.sum(), (cyto_left == "yes").sum()))
    take3 = np.concatenate([yes_first[:n_yes3], yes_first[::-1][: k3 - n_yes3]])
    cyto[i3[:k3]] = cyto_left[take3]
    rest_pool = np.delete(cyto_left, take3)
    rest_pool = rest_pool[rng.permutation(rest_pool.size)]
    cyto_targets = np.concatenate([i2, others[: max(iss_left.size - i2.size, 0)],
                                   others[max(iss_left.size - i2.size, 0) :]])
    cyto[cyto_targets[: rest_pool.size]] = rest_pool
    return iss, riss, cyto


def _prior_infections(rng, n, g):
    """Prior-year infection counts: categorised counts scaled to n; 4+ spread up to the max."""
    key = GROUP_KEY[g]
    cats = ("0", "1", "2", "3", "4plus")
    counts = allocate(n, [target(f"t1_prior_inf_{c}_{key}_n") for c in cats])
    mx = int(target(f"t1_prior_infections_{key}_max"))
    vals = np.repeat(np.arange(5), counts)
    n4 = int(counts[4])
    if n4 and mx > 4:
        extra = rng.geometric(0.55, size=n4) - 1 + 4
        extra = np.minimum(extra, mx)
        extra[0] = mx
        vals[vals == 4] = extra
    return vals[rng.permutation(n)]


def _binary(rng, n, p_yes):
    """``yes``/``no`` column with round(p_yes * n) yes (largest remainder), shuffled."""
    k = int(allocate(n, [p_yes, 1 - p_yes])[0])
    return _shuffle_counts(rng, ["yes", "no"], np.array([k, n - k]))


def _igg_baseline(rng, n, g):
    """Baseline functional IgG with Table 1's exact <400 / 400-700 / >=700 counts."""
    key = GROUP_KEY[g]
    n700 = target(f"t1_hgg700_yes_{key}_n")
    n400 = target(f"t1_hgg400_yes_{key}_n")
    c = allocate(n, [n400, n700 - n400, target(PAPER_N[g]) - n700])
    if g == "ivig":
        lo, med, hi = (target(f"t2_igg_pre_dara_{s}") for s in ("min", "median", "max"))
    else:  # not printed for the reference group: a plausible spread (assumption)
        lo, med, hi = 150.0, 640.0, 1400.0
    vals = np.empty(0)
    bands = [(lo, 399.0), (401.0, 699.0), (701.0, hi)]
    for (a, b), k in zip(bands, c, strict=True):
        vals = np.concatenate([vals, np.sort(np.round(rng.uniform(a, b, size=int(k))))])
    vals = np.sort(vals)  # whole mg/dL, each inside its band (never on 400 or 700)
    if g == "ivig" and n >= 3:
        vals[0], vals[-1] = lo, hi
        k = n // 2
        band_of_mid = np.searchsorted(np.cumsum(c), k, side="right")
        a, b = bands[min(band_of_mid, 2)]
        if a <= med <= b:
            lo_end = k if n % 2 else k - 1
            vals[lo_end : k + 1] = med
            vals[:lo_end] = np.minimum(vals[:lo_end], med)
            vals[k + 1 :] = np.maximum(vals[k + 1 :], med)
    return vals


def _nadir_bands(rng, n, g, baseline_igg):
    """Lowest functional IgG band during observation, exact counts, coupled to the baseline."""
    if g == "ivig":
        a700, a400, a200 = (target(f"t2_hgg_lt{t}_n") for t in (700, 400, 200))
        n_paper = target("t2_n")
    else:
        a700 = target("res2_hgg_any_pct_ref")  # percent of N = 100
        a400 = target("res2_hgg_moderate_or_worse_n")
        a200 = target("res2_hgg_severe_n")
        n_paper = target(PAPER_N[g])
        a700 = round(a700 * n_paper / 100)
    c = allocate(n, [n_paper - a700, a700 - a400, a400 - a200, a200])  # bands 0..3
    # lower baseline -> lower nadir (rank coupling with noise)
    score = np.log(np.maximum(baseline_igg, 50)) + rng.normal(0, 0.35, size=n)
    order = np.argsort(-score, kind="stable")  # highest first -> band 0
    band = np.empty(n, dtype=np.int64)
    band[order] = np.repeat(np.arange(4), c)
    return band


def simulate_baseline(rng: np.random.Generator, n_ivig: int, n_reference: int) -> Baseline:
    """Patients table columns for both groups (IVIG first), exact Table 1 at the paper's sizes."""
    start_lo = np.datetime64(f"{int(target('dp_study_year_start'))}-01-01").astype(np.int64)
    start_hi = np.datetime64(f"{int(target('dp_study_year_end'))}-12-31").astype(np.int64)
    parts: dict[str, list[np.ndarray]] = {}
    extra = {"start": [], "last": [], "group": [], "igg": [], "nadir": []}

    def put(col, arr):
        parts.setdefault(col, []).append(np.asarray(arr, dtype=object))

    for g, n in (("ivig", n_ivig), ("reference", n_reference)):
        if n == 0:
            continue
        key = GROUP_KEY[g]
        prefix = "I" if g == "ivig" else "R"
        width = max(3, len(str(n)))
        put("patient_id", [f"{prefix}{i + 1:0{width}d}" for i in range(n)])
        put("group", np.full(n, g, dtype=object))
        put("sex", _cat(rng, n, g, "sex", ["male", "female"], ["M", "F"]))
        age = exact_sorted_sample(rng, n, *(target(f"t1_age_{key}_{s}") for s in
                                            ("min", "median", "max")), decimals=1)
        put("age_at_dara", age[rng.permutation(n)])
        start = rng.integers(start_lo, start_hi + 1, size=n)
        # months on dara: exact min/median/max; mean set by the person-time the rates imply
        py_id = "drv_ivig_person_years_from_seasonal_rates" if g == "ivig" else \
            "drv_reference_person_years"
        n_paper = target(PAPER_N[g])
        mean_days = target(py_id) * DAYS_PER_YEAR / n_paper - 31
        dur = _exact_days(rng, n, *(target(f"t1_months_on_dara_{key}_{s}") for s in
                                     ("min", "median", "max")), DAYS_PER_MONTH,
                          mean=mean_days / DAYS_PER_MONTH)
        dur = dur[rng.permutation(n)]
        last = start + dur
        ydx = _exact_days(rng, n, *(target(f"t1_years_dx_to_dara_{key}_{s}") for s in
                                     ("min", "median", "max")), DAYS_PER_YEAR)
        put("diagnosis_date", start - ydx[rng.permutation(n)])
        put("dara_start", start)
        put("dara_last", last)
        put("heavy_chain", _cat(rng, n, g, "heavy", ["none", "igg", "iga", "igd", "ige", "igm"],
                                ["none", "IgG", "IgA", "IgD", "IgE", "IgM"]))
        put("light_chain", _cat(rng, n, g, "light", ["lambda", "kappa", "both"],
                                ["lambda", "kappa", "both"]))
        lines = exact_sorted_sample(rng, n, *(target(f"t1_lines_{key}_{s}") for s in
                                              ("min", "median", "max")), integer=True,
                                    lower_shape=0.6)
        put("lines_of_therapy", lines.astype(np.int64)[rng.permutation(n)])
        put("prior_infections_12m", _prior_infections(rng, n, g))
        iss, riss, cyto = _staging(rng, n, g)
        put("iss", iss)
        put("riss", riss)
        put("high_risk_cyto", cyto)
        if g == "ivig":
            p_asct = target("res1_prior_asct_pct") / 100
            p_av = target("res1_antiviral_ppx_n") / n_paper
            p_ab = target("res1_antibacterial_ppx_n") / n_paper
            p_af = target("res1_antifungal_ppx_n") / n_paper
            orr = target("res1_orr_pct") / 100
        else:
            a = REFERENCE_ASSUMED
            p_asct, p_av, p_ab, p_af, orr = (a["prior_asct"], a["antiviral_ppx"],
                                             a["antibacterial_ppx"], a["antifungal_ppx"], a["orr"])
        put("prior_asct", _binary(rng, n, p_asct))
        put("antiviral_ppx", _binary(rng, n, p_av))
        put("antibacterial_ppx", _binary(rng, n, p_ab))
        put("antifungal_ppx", _binary(rng, n, p_af))
        k_resp = int(allocate(n, [orr, 1 - orr])[0])
        resp = np.concatenate([
            np.repeat(list(RESPONDER_SPLIT), allocate(k_resp, RESPONDER_SPLIT)),
            np.repeat(list(NONRESPONDER_SPLIT), allocate(n - k_resp, NONRESPONDER_SPLIT)),
        ]).astype(object)
        put("best_response", resp[rng.permutation(n)])
        igg = _igg_baseline(rng, n, g)
        igg = igg[rng.permutation(n)]
        extra["igg"].append(igg)
        extra["nadir"].append(_nadir_bands(rng, n, g, igg))
        extra["start"].append(start)
        extra["last"].append(last)
        extra["group"].append(np.full(n, g, dtype=object))
    cols = {k: np.concatenate(v) for k, v in parts.items()}
    return Baseline(
        cols=cols,
        start=np.concatenate(extra["start"]).astype(np.int64),
        last=np.concatenate(extra["last"]).astype(np.int64),
        group=np.concatenate(extra["group"]),
        baseline_igg=np.concatenate(extra["igg"]),
        nadir_band=np.concatenate(extra["nadir"]),
    )


def frailty_from_prior(rng: np.random.Generator, prior: np.ndarray, shape: float,
                       rho: float) -> np.ndarray:
    """Gamma(shape, 1/shape) frailty (mean 1) rank-correlated (Gaussian copula) with ``prior``."""
    n = prior.size
    if n == 0:
        return np.zeros(0)
    r = stats.rankdata(prior + rng.uniform(0, 1e-3, size=n)) / (n + 1)
    z = rho * stats.norm.ppf(r) + np.sqrt(1 - rho**2) * rng.normal(size=n)
    return stats.gamma.ppf(stats.norm.cdf(z), a=shape, scale=1 / shape)
