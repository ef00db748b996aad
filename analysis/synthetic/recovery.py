"""Does the pipeline recover the truth? The study's own SCCS fits on many simulated cohorts.

:func:`recover` draws cohorts from the generator
(:func:`analysis.synthetic.simulate.simulate_cohort` with a
:class:`~analysis.synthetic.events.TruthParameters`), hands each to the analyses in memory
(:func:`~analysis.synthetic.simulate.to_cohort`, no CSV files) and fits the same models the
book's chapters fit, with the same function (:func:`analysis.study.fit_sccs`).
:func:`summarise` reports, per estimate, the bias against the truth and the coverage of the
95 % confidence intervals.

The truths (:data:`ESTIMANDS`):

* the on-IVIG rate ratios (all grades, grade 3-4, and all grades with the pre-IVIG window) are
  parameters of the generator (``irr_on_ivig``, ``irr_on_ivig_grade34``);
* an HGG model compares all days below a threshold with all days at or above it, while the
  generator's rate steps through four IgG bands, so its truth is not one parameter:
  :func:`implied_hgg_irr` takes the truth's band multipliers averaged over the cohort's IVIG-group
  days on each side of the threshold (days classed by the functional IgG the analysis sees).

Examples
--------
>>> from analysis.synthetic.recovery import recover, summarise
>>> res = recover(range(2), progress=False)
>>> sorted(res["estimand"].unique())[:2]
['all', 'all_pre60']
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.synthetic.events import TruthParameters
from analysis.synthetic.seed_search import seed_score
from analysis.synthetic.simulate import simulate_cohort, to_cohort

__all__ = ["ESTIMANDS", "HEADLINES", "STUDY_COHORTS", "Estimand", "cached", "code_key",
           "headline_truth", "implied_hgg_irr", "recover", "recovery_plot", "recovery_study",
           "run_jobs", "summarise", "truth_of"]


@dataclass(frozen=True)
class Estimand:
    """One estimate of the study and where its truth comes from.

    ``truth``: a :class:`TruthParameters` field name, or ``"implied_hgg"`` (see
    :func:`implied_hgg_irr`).
    """

    key: str
    label: str
    outcome: str
    term: str
    truth: str
    pre_window: int | None = None
    hgg: int | None = None


#: The estimates the truth-recovery study follows, with the model options of the book's chapters.
ESTIMANDS: tuple[Estimand, ...] = (
    Estimand("all", "All grades, on IVIG", "all", "on_ivig", "irr_on_ivig"),
    Estimand("grade34", "Grade 3-4, on IVIG", "grade3", "on_ivig", "irr_on_ivig_grade34"),
    Estimand("all_pre60", "All grades, on IVIG, 60-day pre-IVIG window", "all", "on_ivig",
             "irr_on_ivig", pre_window=60),
    Estimand("hgg700", "IgG < 700 vs >= 700 mg/dL", "all", "igg_below_700", "implied_hgg",
             hgg=700),
    Estimand("hgg400", "IgG < 400 vs >= 400 mg/dL", "all", "igg_below_400", "implied_hgg",
             hgg=400),
    Estimand("hgg200", "IgG < 200 vs >= 200 mg/dL", "all", "igg_below_200", "implied_hgg",
             hgg=200),
)
#: The headline estimates of the primary analysis (estimand keys of :data:`ESTIMANDS`).
HEADLINES: tuple[str, ...] = ("all", "grade34")
#: Cohorts of the truth-recovery study (its chapter and the primary analysis read the same run).
STUDY_COHORTS: int = 200
#: Columns of :func:`recover`.
RESULT_COLUMNS = ["seed", "estimand", "truth", "irr", "ci_low", "ci_high", "log_irr", "se",
                  "covered", "marginal_ok"]


def implied_hgg_irr(cohort, truth: TruthParameters,
                    thresholds: Iterable[int] = (700, 400, 200)) -> dict[int, float]:
    """The truth of each HGG model on ``cohort``: a day-weighted ratio of band multipliers.

    For threshold ``T``: the mean of the truth's IgG-band multiplier (``truth.hgg_rr``) over the
    IVIG group's observed days with a functional IgG below ``T``, divided by the mean over the days
    at or above ``T``. Days are classed by the IgG level the analysis sees
    (:func:`analysis.study.study_intervals` with ``igg_level=True``), days of unknown level left
    out, as in the HGG models.

    Examples
    --------
    >>> from analysis.synthetic.simulate import simulate_cohort, to_cohort
    >>> t = TruthParameters(hgg_rr=(1.0, 2.0, 2.0, 2.0))  # one step at 700
    >>> round(implied_hgg_irr(to_cohort(simulate_cohort(1, truth=t)), t)[700], 6)
    2.0
    """
    from analysis.study import study_intervals

    d = study_intervals(cohort, "all", igg_level=True)
    d = d[np.isfinite(d["igg"].to_numpy(float))]
    igg = d["igg"].to_numpy(float)
    mult = np.asarray(truth.hgg_rr)[truth.hgg_band(igg)]
    days = d["days"].to_numpy(float)
    out = {}
    for t in thresholds:
        below = igg < t
        lo = np.sum(days[below] * mult[below]) / max(np.sum(days[below]), 1e-12)
        hi = np.sum(days[~below] * mult[~below]) / max(np.sum(days[~below]), 1e-12)
        out[int(t)] = float(lo / hi) if below.any() and (~below).any() else float("nan")
    return out


def _fit(cohort, e: Estimand) -> tuple[float, float, float, float]:
    """(irr, ci_low, ci_high, se) of one estimand, NaN when the model cannot be fitted."""
    from analysis.sccs import try_fit
    from analysis.study import fit_sccs

    fit = try_fit(fit_sccs, cohort, e.outcome, pre_window=e.pre_window, hgg=e.hgg).result
    if fit is None:
        return (np.nan,) * 4
    r = fit.summary.loc[e.term]
    return float(r["irr"]), float(r["ci_low"]), float(r["ci_high"]), float(r["se"])


def _one(seed: int, truth: TruthParameters, estimands: tuple[Estimand, ...]) -> list[dict]:
    """Every estimand on the cohort of ``seed``."""
    tables = simulate_cohort(seed, truth=truth)
    cohort = to_cohort(tables)
    ok, _ = seed_score(tables)
    hgg = [e.hgg for e in estimands if e.truth == "implied_hgg"]
    hgg_truth = implied_hgg_irr(cohort, truth, hgg) if hgg else {}
    rows = []
    for e in estimands:
        tv = hgg_truth[e.hgg] if e.truth == "implied_hgg" else float(getattr(truth, e.truth))
        irr, lo, hi, se = _fit(cohort, e)
        rows.append({"seed": seed, "estimand": e.key, "truth": tv, "irr": irr, "ci_low": lo,
                     "ci_high": hi, "log_irr": np.log(irr) if irr > 0 else np.nan, "se": se,
                     "covered": bool(lo <= tv <= hi), "marginal_ok": ok})
    return rows


def _progress(items: Iterable, total: int, show: bool) -> Iterable:
    """``items`` wrapped in a tqdm progress bar when ``show``."""
    if not show:
        return items
    from tqdm import tqdm

    return tqdm(items, total=total, desc="truth recovery", unit="cohort", mininterval=1.0)


def _one_packed(args: tuple[int, TruthParameters, tuple[Estimand, ...]]) -> list[dict]:
    """:func:`_one` with one argument (for a process pool)."""
    return _one(*args)


def run_jobs(fn, jobs: list, *, workers: int = 1, progress: bool = False) -> list[dict]:
    """The rows of ``fn(job)`` (a list of dicts) for every job, in job order.

    ``workers`` > 1 spreads the jobs over that many forked processes (``fn`` must be a module
    function); the rows do not depend on ``workers``. ``progress`` shows a tqdm bar.
    """
    rows: list[dict] = []
    if workers > 1:
        import multiprocessing as mp

        # the workers are forked before the progress bar (and its monitor thread) exists
        with mp.get_context("fork").Pool(workers) as pool:
            for part in _progress(pool.imap(fn, jobs, chunksize=4), len(jobs), progress):
                rows.extend(part)
    else:
        for job in _progress(jobs, len(jobs), progress):
            rows.extend(fn(job))
    return rows


def recover(seeds: Iterable[int], truth: TruthParameters | None = None, *,
            estimands: Iterable[str] | None = None, progress: bool = True,
            workers: int = 1) -> pd.DataFrame:
    """Fit every estimand of :data:`ESTIMANDS` (or those named in ``estimands``) on the cohort of
    each seed.

    Returns one row per (seed, estimand), columns :data:`RESULT_COLUMNS`: the truth, the estimate
    and its 95 % confidence interval, its log and standard error, whether the interval covers the
    truth, and whether the seed would pass the seed search (``marginal_ok``). ``progress`` shows
    a tqdm progress bar. ``workers`` > 1 spreads the cohorts over that many processes (fork; rows
    still in seed order). Deterministic: the same seeds and truth give the same table, whatever
    the number of workers.
    """
    truth = truth or TruthParameters()
    chosen = tuple(e for e in ESTIMANDS if estimands is None or e.key in set(estimands))
    jobs = [(int(s), truth, chosen) for s in seeds]
    rows = run_jobs(_one_packed, jobs, workers=workers, progress=progress)
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def summarise(results: pd.DataFrame, estimands: Iterable = ESTIMANDS) -> pd.DataFrame:
    """Bias and coverage per estimand, in the order of ``estimands`` (objects with ``key`` and
    ``label``; default :data:`ESTIMANDS`).

    Columns: ``estimand``, ``label``, ``n`` (cohorts fitted), ``truth`` (mean over cohorts; fixed
    for parameters), ``geo_mean`` (geometric mean estimate), ``bias_log`` (mean of log estimate -
    log truth), ``rel_bias`` (``exp(bias_log) - 1``), ``bias_mcse`` (its Monte Carlo standard
    error, log scale), ``rel_bias_mcse`` (the Monte Carlo SE of ``rel_bias``, delta method),
    ``emp_se`` (SD of the log estimates), ``model_se`` (mean model SE), ``coverage`` (share of
    95 % intervals covering the truth) and ``coverage_mcse``.
    """
    out = []
    for e in estimands:
        if e.key not in set(results["estimand"]):
            continue
        r = results[(results["estimand"] == e.key) & np.isfinite(results["log_irr"])
                    & np.isfinite(results["se"])]
        n = len(r)
        diff = r["log_irr"].to_numpy() - np.log(r["truth"].to_numpy())
        cov = float(r["covered"].mean()) if n else float("nan")
        mcse = float(diff.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
        out.append({
            "estimand": e.key, "label": e.label, "n": n, "truth": float(r["truth"].mean()),
            "geo_mean": float(np.exp(r["log_irr"].mean())), "bias_log": float(diff.mean()),
            "rel_bias": float(np.expm1(diff.mean())), "bias_mcse": mcse,
            "rel_bias_mcse": float(np.exp(diff.mean()) * mcse),
            "emp_se": float(r["log_irr"].std(ddof=1)), "model_se": float(r["se"].mean()),
            "coverage": cov,
            "coverage_mcse": float(np.sqrt(cov * (1 - cov) / n)) if n else float("nan"),
        })
    return pd.DataFrame(out)


def truth_of(parameters: Mapping[str, object]) -> TruthParameters:
    """The :class:`TruthParameters` of a ``truth.json``'s ``parameters`` (lists back to tuples;
    keys the generator no longer has are an error naming them).

    Examples
    --------
    >>> truth_of({"irr_on_ivig": 0.4, "hgg_rr": [1, 2, 2, 2]}).hgg_rr
    (1, 2, 2, 2)
    """
    known = {f.name for f in fields(TruthParameters)}
    unknown = sorted(set(parameters) - known)
    if unknown:
        raise ValueError(f"truth.json: parameters {unknown} are not parameters of the generator")
    return TruthParameters(**{k: tuple(v) if isinstance(v, list) else v
                              for k, v in parameters.items()})


def code_key(payload: object,
             packages: tuple[str, ...] = ("synthetic", "study", "sccs")) -> str:
    """A cache key of a simulation study: its ``payload`` (JSON: size, truth, options) and the
    source of the code it runs (by default the generator, the study and the SCCS library; any
    subpackages of ``analysis`` in ``packages``)."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode())
    for sub in packages:
        for f in sorted((root / sub).rglob("*.py")):
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _study_key(*parts: object) -> str:
    """A key of a study: its settings (JSON) and the source of the code it runs
    (:func:`code_key`)."""
    return code_key(list(parts))


def cached(name: str, key: str, compute, cache_dir: str | Path | None = None) -> pd.DataFrame:
    """The table ``compute()`` kept as ``<cache_dir>/<name>-<key>.pkl`` (default ``_build/cache``
    of the project, git-ignored): computed once per key, read back afterwards. The file is
    written atomically, so a chapter built in parallel reads a whole file or none."""
    folder = Path(cache_dir) if cache_dir else Path(__file__).resolve().parents[2] / "_build/cache"
    path = folder / f"{name}-{key}.pkl"
    if path.is_file():
        return pd.read_pickle(path)
    results = compute()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    results.to_pickle(tmp)
    tmp.replace(path)
    return results


def recovery_study(n_cohorts: int = STUDY_COHORTS, truth: TruthParameters | None = None, *,
                   workers: int = 1, cache_dir: str | Path | None = None,
                   progress: bool = False) -> pd.DataFrame:
    """:func:`recover` on seeds ``0 .. n_cohorts - 1``, every estimand: the truth-recovery study.

    Run once per size, truth and code: the rows are kept in ``cache_dir`` (:func:`cached`) under
    a key of the three (:func:`_study_key`), so the chapters that read the study (the primary
    analysis, the truth-recovery chapter) show the same numbers without running it twice. The
    rows do not depend on the cache or on ``workers``.
    """
    truth = truth or TruthParameters()
    return cached("truth-recovery", _study_key(n_cohorts, truth.as_dict()),
                  lambda: recover(range(n_cohorts), truth, workers=workers, progress=progress),
                  cache_dir)


def headline_truth(summary: pd.DataFrame, estimates: Mapping[str, float]) -> pd.DataFrame:
    """Each headline (:data:`HEADLINES`): the truth the generator was given, our estimate and
    what the truth-recovery study says to expect.

    ``summary`` is :func:`summarise` of the study; ``estimates`` our IRR by estimand key.
    Columns ``estimand, label, truth, estimate, expected`` (the study's geometric mean
    estimate), ``rel_bias_pct``, ``rel_bias_mcse_pct`` (its Monte Carlo SE), ``coverage_pct``,
    ``n`` (cohorts), ``estimate_over_truth_pct`` (our estimate's departure from the truth, %),
    ``emp_se`` (the SD of the log estimate over cohorts) and ``z_from_expected`` (how many such
    SDs our log estimate is from the expected one).

    Examples
    --------
    >>> s = pd.DataFrame({"estimand": ["all"], "label": ["All grades, on IVIG"], "n": [200],
    ...                   "truth": [0.57], "geo_mean": [0.4617], "rel_bias": [-0.19],
    ...                   "rel_bias_mcse": [0.017], "coverage": [0.8], "emp_se": [0.3]})
    >>> r = headline_truth(s, {"all": 0.40}).iloc[0]
    >>> keys = ("rel_bias_pct", "estimate_over_truth_pct", "z_from_expected")
    >>> [round(float(r[k]), 2) for k in keys]
    [-19.0, -29.82, -0.48]
    """
    s = summary.set_index("estimand")
    rows = []
    for key in HEADLINES:
        if key not in s.index:
            continue
        r = s.loc[key]
        est = float(estimates.get(key, np.nan))
        rows.append({"estimand": key, "label": r["label"], "truth": float(r["truth"]),
                     "estimate": est, "expected": float(r["geo_mean"]),
                     "rel_bias_pct": 100 * float(r["rel_bias"]),
                     "rel_bias_mcse_pct": 100 * float(r["rel_bias_mcse"]),
                     "coverage_pct": 100 * float(r["coverage"]), "n": int(r["n"]),
                     "estimate_over_truth_pct": 100 * (est / float(r["truth"]) - 1),
                     "emp_se": float(r["emp_se"]),
                     "z_from_expected": (np.log(est) - np.log(float(r["geo_mean"])))
                     / float(r["emp_se"])})
    return pd.DataFrame(rows)


def recovery_plot(results: pd.DataFrame, summary: pd.DataFrame):
    """Estimate over truth for every cohort and estimand (log scale), with coverage annotated."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.2))
    labels = []
    for i, e in enumerate(ESTIMANDS):
        r = results[(results["estimand"] == e.key) & np.isfinite(results["log_irr"])]
        ratio = np.exp(r["log_irr"].to_numpy() - np.log(r["truth"].to_numpy()))
        jitter = np.random.default_rng(i).uniform(-0.25, 0.25, size=ratio.size)
        ax.scatter(i + jitter, ratio, s=8, alpha=0.5, color="#4c72b0", linewidths=0)
        s = summary.set_index("estimand").loc[e.key]
        ax.plot([i - 0.35, i + 0.35], [s["geo_mean"] / s["truth"]] * 2, color="#c44e52", lw=2)
        ax.text(i, 0.13, f"{100 * s['coverage']:.0f}%", ha="center", fontsize=8)
        labels.append(e.label.replace(", on IVIG", "").replace(", 60-day", ",\n60-day")
                      .replace(" vs >= ", "\nvs >= "))
    ax.axhline(1.0, color="black", lw=1, ls="--")
    ax.set_yscale("log")
    ax.set_ylim(0.1, 10)
    ax.set_xticks(range(len(ESTIMANDS)), labels, fontsize=7)
    ax.set_ylabel("estimate / truth (log scale)")
    ax.set_title("Estimates over their truth, one dot per cohort; red: geometric mean; "
                 "bottom: 95% CI coverage", fontsize=9)
    fig.tight_layout()
    return fig


def headline_text(rows: pd.DataFrame, paper: Mapping[str, float]) -> str:
    """MyST text that explains each headline of :func:`headline_truth` beside the paper's value
    (``paper``: the paper's IRR by estimand key), linking the truth-recovery chapter.

    Examples
    --------
    >>> rows = pd.DataFrame([{"estimand": "all", "label": "All grades, on IVIG", "truth": 0.57,
    ...     "estimate": 0.40, "expected": 0.46, "rel_bias_pct": -19.0, "rel_bias_mcse_pct": 1.7,
    ...     "coverage_pct": 80.0, "n": 200, "estimate_over_truth_pct": -29.8, "emp_se": 0.3,
    ...     "z_from_expected": -0.48}])
    >>> print(headline_text(rows, {"all": 0.57}))  # doctest: +ELLIPSIS
    **All grades, on IVIG.** The generator was given a true IRR of 0.57, the paper's 0.57...
    """
    parts = []
    for _, r in rows.iterrows():
        parts.append(
            f"**{r['label']}.** The generator was given a true IRR of {r['truth']:.2f}, the "
            f"paper's {paper.get(r['estimand'], np.nan):.2f}; our estimate on this cohort is "
            f"{r['estimate']:.2f} ({r['estimate_over_truth_pct']:+.0f}% from the truth). Over "
            f"{r['n']} cohorts drawn from the same truth, the same model's estimate is "
            f"{r['rel_bias_pct']:+.1f}% from the truth on average (Monte Carlo SE "
            f"{r['rel_bias_mcse_pct']:.1f}%; geometric mean {r['expected']:.2f}) and its 95% "
            f"interval covers the truth in {r['coverage_pct']:.0f}% of cohorts. One cohort's "
            f"estimate scatters around that mean with an SD of {r['emp_se']:.2f} on the log "
            f"scale; ours is {r['z_from_expected']:+.1f} such SDs from it.")
    parts.append(
        "Why an estimate departs from its truth: in the generator, as the paper suspected of its "
        "patients, infections prompt IVIG, so the weeks before a first dose are off IVIG and "
        "hold the infections that prompted it; other time-varying effects (early daratumumab, "
        "progression, season, low IgG) also differ between days on and off IVIG. The expected "
        "bias above is what all of these do to this model at the generator's parameters: on "
        "this cohort the model is expected to return the geometric mean above, not the paper's "
        "value, and a gap of that size between ours and the paper's is the mechanism plus "
        "chance, not a failure to reproduce the paper. {doc}`13-truth-recovery` measures the "
        "bias and takes it apart.")
    return "\n\n".join(parts)
