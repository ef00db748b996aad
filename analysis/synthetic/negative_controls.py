"""Negative-control outcomes in the synthetic study: event types IVIG does not affect.

A negative control is an outcome whose true on-IVIG rate ratio is 1; what its SCCS estimate
shows instead is the design's systematic error (Schuemie et al., Stat Med 2014). Here the truth
is known, so the claim can be checked. Each control (:class:`NegativeControl`) is drawn from the
cohort's own infection process *without* IVIG (the generator's
:class:`~analysis.synthetic.infections.RateState` with no doses, read from
``CohortTables.process``), on a random-number stream of its own, so drawing controls never
changes the cohort's five tables:

* its rate is ``rate_scale`` times the infection rate at reference conditions, with the same
  time-varying mechanisms (the HGG bands, early daratumumab, progression, season; or none of
  them, ``mechanisms=False``) and no on-IVIG term: its true IRR is 1 by construction;
* a share ``prompt_share`` (s) of its events is of the prompting kind: in a patient whose IVIG
  was prompted by an infection on day t, the process is the one the generator conditions on,
  no prompting event before t (events before t are kept with probability ``1 - s q``, q the
  generator's prompt probability, :func:`~analysis.synthetic.infections.prompt_probability`),
  and the prompting event itself on day t (with probability ``rate_scale * s``). At s = 1 the
  control's expected counts follow the infections' without IVIG's effect, so its estimate carries
  the same systematic error; at s = 0 it shares the mechanisms but not the prompting; a
  falls-type control shares neither. IVIG starts not prompted by an infection (the prior-year
  path, the physician's fallback) leave the control unconditioned.

:func:`control_study` fits the on-IVIG IRR of the infections and of every control on many
cohorts; :func:`null_against_bias` sets each control's mean estimate beside the true bias;
:func:`calibrated_coverage` calibrates each cohort's infection estimate with an empirical null
fitted to that cohort's controls and counts how often the calibrated and the uncalibrated 95 %
intervals cover the truth.

Examples
--------
>>> from analysis.synthetic.simulate import simulate_cohort
>>> ev = control_events(simulate_cohort(0), CONTROLS[0])
>>> list(ev.columns), bool(len(ev) > 0)
(['patient_id', 'date', 'control'], True)
"""

from __future__ import annotations

import json
import os
import warnings
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.synthetic.events import TruthParameters
from analysis.synthetic.infections import prompt_probability, uniform_days
from analysis.synthetic.simulate import CohortTables, SimulateError, simulate_cohort, to_cohort

__all__ = ["CONTROLS", "NegativeControl", "calibrated_coverage", "control_events",
           "control_study", "coverage_summary", "null_against_bias", "on_ivig_many",
           "write_negative_controls"]

#: Spawn key of the controls' random-number stream (the cohort's tables use children 0-15 of
#: the seed's SeedSequence; the controls use child 16, so the cohort never changes).
STREAM: int = 16


@dataclass(frozen=True)
class NegativeControl:
    """One negative-control outcome: true IRR on IVIG 1, a stated share of prompting.

    ``key``: short name; ``label``: for tables; ``prompt_share``: share s of its events that
    prompt IVIG like infections do (0 to 1); ``rate_scale``: its rate relative to the infections'
    at reference conditions (0 to 1); ``mechanisms``: whether its rate follows the infections'
    time-varying effects (HGG, early daratumumab, progression, season).

    Examples
    --------
    >>> NegativeControl("zoster", "Shares a third of the prompting", 1 / 3).true_irr
    1.0
    """

    key: str
    label: str
    prompt_share: float
    rate_scale: float = 0.5
    mechanisms: bool = True
    true_irr: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.prompt_share <= 1.0:
            raise SimulateError(f"negative control {self.key!r}: prompt_share must be in [0, 1],"
                                f" got {self.prompt_share!r}")
        if not 0.0 < self.rate_scale <= 1.0:
            raise SimulateError(f"negative control {self.key!r}: rate_scale must be in (0, 1], "
                                f"got {self.rate_scale!r}")
        if self.prompt_share > 0 and not self.mechanisms:
            raise SimulateError(f"negative control {self.key!r}: a prompting share needs the "
                                "infections' mechanisms (prompting depends on the HGG band)")


#: The synthetic study's negative controls, from most to least like the infections.
CONTROLS: tuple[NegativeControl, ...] = (
    NegativeControl("prompting", "Shares prompting and mechanisms (s = 1)", 1.0),
    NegativeControl("half", "Half its events prompt (s = 0.5)", 0.5),
    NegativeControl("mechanisms", "Shares the mechanisms, not prompting (s = 0)", 0.0),
    NegativeControl("falls", "Falls-type: shares neither", 0.0, mechanisms=False),
)


def _rng(seed: int, replicate: int, key: int) -> np.random.Generator:
    """The stream of one control (``key``: a number of its name) and replicate on the cohort of
    ``seed``, independent of the cohort's own streams."""
    return np.random.default_rng(np.random.SeedSequence(int(seed),
                                                        spawn_key=(STREAM, key, replicate)))


def _draw(tables: CohortTables, c: NegativeControl, rng: np.random.Generator
          ) -> tuple[np.ndarray, np.ndarray]:
    """Patient index and day of each event of control ``c`` (sorted by patient, then day)."""
    p = getattr(tables, "process", None)
    if not p:
        raise SimulateError("negative controls need the tables of simulate_cohort (with their "
                            "infection process), not tables read back from files")
    state, lmax, trig = p["state"], p["lmax"], p["trigger_day"]
    start, end = state.start, state.end_obs
    pid, day = uniform_days(rng, start, end, rng.poisson(lmax * (end - start + 1)))
    u, v = rng.uniform(size=pid.size), rng.uniform(size=pid.size)
    if c.mechanisms:
        cov = state.covariates(pid, day)
        rate = state.rate(pid, day, cov)
    else:
        cov, rate = None, state.base[pid] * state.frailty[pid] / 365.25
    keep = u < c.rate_scale * rate / lmax[pid]
    if cov is not None and c.prompt_share > 0:
        before = (trig[pid] >= 0) & (day < trig[pid])
        keep &= ~(before & (v < c.prompt_share * prompt_probability(cov["band"], state.model)))
    prompted = np.flatnonzero(trig >= 0)
    add = prompted[rng.uniform(size=prompted.size) < c.rate_scale * c.prompt_share]
    pid, day = np.r_[pid[keep], add], np.r_[day[keep], trig[add]]
    o = np.lexsort((day, pid))
    return pid[o], day[o]


def control_events(tables: CohortTables, control: NegativeControl, replicate: int = 0
                   ) -> pd.DataFrame:
    """The events of one negative control on a simulated cohort: ``patient_id, date, control``.

    ``replicate`` numbers independent draws of the same control on the same cohort. The
    random-number stream is the cohort seed's, the control's key and the replicate's
    (:func:`_rng`): the same three give the same events.

    Examples
    --------
    >>> from analysis.synthetic.simulate import simulate_cohort
    >>> a = control_events(simulate_cohort(1), CONTROLS[-1])
    >>> a.equals(control_events(simulate_cohort(1), CONTROLS[-1])), sorted(set(a["control"]))
    (True, ['falls'])
    """
    rng = _rng(getattr(tables, "seed", 0), replicate, zlib.crc32(control.key.encode()))
    pid, day = _draw(tables, control, rng)
    ids = tables.process["patient_id"]
    return pd.DataFrame({"patient_id": ids[pid], "date": day.astype("datetime64[D]")
                         .astype("datetime64[ns]"), "control": control.key})


def write_negative_controls(tables: CohortTables, folder: str | Path,
                            controls: Sequence[NegativeControl] = CONTROLS) -> Path:
    """Write ``negative_controls.csv`` (``patient_id, date, control``) into a written cohort
    folder and record each control in its ``truth.json`` (key ``negative_controls``).

    Optional output: the cohort's own five tables and ``truth.json``'s other keys do not change.
    """
    folder = Path(folder)
    truth_path = folder / "truth.json"
    if not truth_path.is_file():
        raise SimulateError(f"{truth_path} does not exist: write the cohort first "
                            "(analysis.synthetic.simulate.write_cohort)")
    ev = pd.concat([control_events(tables, c) for c in controls], ignore_index=True)
    out = ev.assign(date=ev["date"].dt.strftime("%Y-%m-%d"))
    out.to_csv(folder / "negative_controls.csv", index=False, lineterminator="\n")
    doc = json.loads(truth_path.read_text(encoding="utf-8"))
    doc["negative_controls"] = [asdict(c) for c in controls]
    truth_path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8", newline="\n")
    return folder / "negative_controls.csv"


#: Separates a patient's id from the outcome's name in the stacked cohort of :func:`_stacked`.
SEP = "~"


def _stacked(cohort, events: dict[str, pd.DataFrame]):
    """One cohort holding a copy of every IVIG-group patient per outcome: in the copy named
    ``name`` the patient's id is ``id~name`` and the infections are ``events[name]``
    (``patient_id, date``), so one :func:`analysis.study.study_intervals` call builds every
    outcome's intervals (the SCCS uses the IVIG group only)."""
    from dataclasses import replace

    names = list(events)
    ivig_group = set(cohort.patients.loc[cohort.patients["group"] == "ivig", "patient_id"])

    def copies(df: pd.DataFrame) -> pd.DataFrame:
        df = df[df["patient_id"].isin(ivig_group).to_numpy()]
        out = df.iloc[np.tile(np.arange(len(df)), len(names))].reset_index(drop=True)
        tag = np.repeat([SEP + n for n in names], len(df))
        return out.assign(patient_id=np.char.add(df["patient_id"].to_numpy(str).tolist()
                                                 * len(names), tag).astype(object))

    ev = pd.concat([e.assign(name=SEP + n) for n, e in events.items()], ignore_index=True)
    n = len(ev)
    inf = pd.DataFrame({"patient_id": np.char.add(ev["patient_id"].to_numpy(str),
                                                  ev["name"].to_numpy(str)).astype(object),
                        "date": ev["date"].to_numpy(), "grade": pd.array([2] * n, "Int64"),
                        "site": np.full(n, np.nan, object), "organism": np.full(n, np.nan, object),
                        "anc": np.full(n, np.nan), "alc": np.full(n, np.nan)})
    return replace(cohort, patients=copies(cohort.patients), ivig=copies(cohort.ivig),
                   infections=inf, igg=copies(cohort.igg),
                   progression=copies(cohort.progression))


def on_ivig_many(cohort, events: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The primary model's on-IVIG log IRR and SE for several outcomes of one cohort at once.

    ``events`` maps a name to that outcome's events (``patient_id, date``). The intervals are
    the study's own (:func:`analysis.study.study_intervals`, outcome ``"all"``, cases only, on a
    stacked cohort: :func:`_stacked`) and the fits the batched library fit
    (:func:`analysis.sccs.fit_many`), equal to :func:`analysis.study.fit_sccs` on each outcome
    alone (``tests/synthetic/test_negative_controls.py`` checks it). Returns ``name, log_rr,
    se``, NaN where the model has no cases or no finite estimate.
    """
    from analysis.sccs import fit_many
    from analysis.study import model_terms, study_intervals

    data = study_intervals(_stacked(cohort, events), "all", cases_only=True)
    data["rep"] = data["id"].astype(str).str.rsplit(SEP, n=1).str[1]
    out = pd.DataFrame({"name": list(events), "log_rr": np.nan, "se": np.nan})
    if data.empty:
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = fit_many(data, model_terms()).frame("on_ivig")
    f = f[np.isfinite(f["log_irr"]) & np.isfinite(f["se"])].set_index("rep")
    out["log_rr"] = out["name"].map(f["log_irr"])
    out["se"] = out["name"].map(f["se"])
    return out


def _one_cohort(seed: int, truth: TruthParameters, controls: Sequence[NegativeControl],
                replicates: int) -> list[dict]:
    """The infections' and every control's on-IVIG estimate on the cohort of ``seed``."""
    tables = simulate_cohort(seed, truth=truth)
    cohort = to_cohort(tables)
    events = {"infections": cohort.infections[["patient_id", "date"]]}
    which = {"infections": ("infections", 0, truth.irr_on_ivig)}
    for c in controls:
        for r in range(replicates):
            name = f"{c.key}:{r}"
            events[name] = control_events(tables, c, r)[["patient_id", "date"]]
            which[name] = (c.key, r, c.true_irr)
    est = on_ivig_many(cohort, events)
    return [{"seed": seed, "outcome": which[n][0], "replicate": which[n][1],
             "truth": which[n][2], "log_rr": y, "se": se}
            for n, y, se in zip(est["name"], est["log_rr"], est["se"], strict=True)]


def control_study(seeds: Iterable[int], truth: TruthParameters | None = None, *,
                  controls: Sequence[NegativeControl] = CONTROLS, replicates: int = 5,
                  workers: int = 1, cache_dir: str | Path | None = None) -> pd.DataFrame:
    """On the cohort of each seed: the on-IVIG estimate of the infections and of ``replicates``
    independent draws of every control (the primary model, :func:`on_ivig_many`).

    Returns one row per (seed, outcome, replicate): ``seed, outcome`` (``"infections"`` or a
    control's key), ``replicate, truth`` (the true IRR), ``log_rr, se`` (NaN when the model
    cannot be fitted, e.g. a control without cases). Kept in ``cache_dir`` (default
    ``_build/cache``) under a key of the seeds, truth, controls and the generator's and study's
    code, like :func:`analysis.synthetic.recovery.recovery_study`. ``workers`` > 1 spreads the
    cohorts over that many processes (fork); the rows do not depend on it.
    """
    from analysis.synthetic.recovery import code_key

    truth = truth or TruthParameters()
    seeds = [int(s) for s in seeds]
    key = code_key([seeds, truth.as_dict(), [asdict(c) for c in controls], replicates])
    folder = Path(cache_dir) if cache_dir else Path(__file__).resolve().parents[2] / "_build/cache"
    path = folder / f"negative-controls-{key}.pkl"
    if path.is_file():
        return pd.read_pickle(path)
    jobs = [(s, truth, tuple(controls), replicates) for s in seeds]
    if workers > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(workers) as pool:
            parts = pool.starmap(_one_cohort, jobs, chunksize=4)
    else:
        parts = [_one_cohort(*job) for job in jobs]
    out = pd.DataFrame([row for part in parts for row in part])
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # atomic: parallel chapters read all or none
    out.to_pickle(tmp)
    tmp.replace(path)
    return out


def null_against_bias(study: pd.DataFrame) -> pd.DataFrame:
    """Each outcome's mean error on the log scale beside the infections' true bias.

    Rows: ``"infections"`` then each control, in study order. Columns ``outcome, n``
    (estimates), ``mean_error`` (mean of log estimate - log truth), ``mcse`` (its Monte Carlo
    SE), ``rel_error`` (``exp(mean_error) - 1``) and ``minus_bias`` (``mean_error`` minus the
    infections'; its MCSE as ``mcse_diff``, the two means taken as independent).

    Examples
    --------
    >>> d = pd.DataFrame({"outcome": ["infections"] * 2 + ["falls"] * 2, "truth": [0.5, 0.5, 1, 1],
    ...                   "log_rr": np.log([0.4, 0.5, 1.0, 1.2]), "se": [0.3] * 4})
    >>> r = null_against_bias(d)
    >>> [round(x, 4) for x in r["mean_error"]]
    [-0.1116, 0.0912]
    """
    d = study[np.isfinite(study["log_rr"]) & np.isfinite(study["se"])]
    err = d["log_rr"] - np.log(d["truth"])
    rows = []
    for name in d["outcome"].drop_duplicates():
        e = err[d["outcome"] == name].to_numpy()
        rows.append({"outcome": name, "n": e.size, "mean_error": e.mean(),
                     "mcse": e.std(ddof=1) / np.sqrt(e.size) if e.size > 1 else np.nan})
    out = pd.DataFrame(rows)
    out["rel_error"] = np.expm1(out["mean_error"])
    ref = out[out["outcome"] == "infections"]
    b, bm = (float(ref["mean_error"].iloc[0]), float(ref["mcse"].iloc[0])) if len(ref) else \
        (np.nan, np.nan)
    out["minus_bias"] = out["mean_error"] - b
    out["mcse_diff"] = np.hypot(out["mcse"], bm)
    return out


def _cover(lo: np.ndarray, hi: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return (lo <= truth) & (truth <= hi)


def calibrated_coverage(study: pd.DataFrame, control: str, alpha: float = 0.05
                        ) -> pd.DataFrame:
    """Per cohort: the infections' 95 % interval, uncalibrated and calibrated with the empirical
    null of that cohort's replicates of ``control``, and whether each covers the truth.

    Columns ``seed, truth, log_rr, se, null_mean, null_sd, lb, ub, cal_lb, cal_ub, covered,
    cal_covered`` (bounds on the log scale). Cohorts with fewer than 2 usable control estimates,
    or without an infection estimate, are left out. Summarise with
    :func:`coverage_summary`.
    """
    from analysis.sccs import SCCSWarning
    from analysis.sccs._stats import normal_quantile
    from analysis.sccs.empirical import SystematicErrorModel, calibrate_ci, fit_null

    z = normal_quantile(1 - alpha / 2)
    inf = study[(study["outcome"] == "infections") & np.isfinite(study["log_rr"])]
    ctl = study[study["outcome"] == control]
    rows = []
    for seed, g in ctl.groupby("seed", sort=True):
        me = inf[inf["seed"] == seed]
        ok = np.isfinite(g["log_rr"]) & np.isfinite(g["se"])
        if me.empty or ok.sum() < 2:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SCCSWarning)
            null = fit_null(g["log_rr"].to_numpy(), g["se"].to_numpy())
        y, se, t = (float(me[k].iloc[0]) for k in ("log_rr", "se", "truth"))
        cal = calibrate_ci(np.array([y]), np.array([se]), SystematicErrorModel.from_null(null),
                           alpha).iloc[0]
        rows.append({"seed": seed, "truth": t, "log_rr": y, "se": se, "null_mean": null.mean,
                     "null_sd": null.sd, "lb": y - z * se, "ub": y + z * se,
                     "cal_lb": cal["log_lb95"], "cal_ub": cal["log_ub95"]})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    lt = np.log(out["truth"].to_numpy())
    out["covered"] = _cover(out["lb"].to_numpy(), out["ub"].to_numpy(), lt)
    out["cal_covered"] = _cover(out["cal_lb"].to_numpy(), out["cal_ub"].to_numpy(), lt)
    return out


def coverage_summary(per_cohort: pd.DataFrame) -> dict[str, float]:
    """Coverage of the uncalibrated and calibrated intervals of :func:`calibrated_coverage`,
    with binomial Monte Carlo SEs, and the mean null over cohorts.

    Examples
    --------
    >>> d = pd.DataFrame({"covered": [True, False, True, True], "cal_covered": [True] * 4,
    ...                   "null_mean": [-0.2] * 4, "null_sd": [0.1] * 4})
    >>> coverage_summary(d)["coverage"], coverage_summary(d)["cal_coverage_mcse"]
    (0.75, 0.0)
    """
    n = len(per_cohort)
    out: dict[str, float] = {"n": float(n)}
    for k, col in (("coverage", "covered"), ("cal_coverage", "cal_covered")):
        p = float(per_cohort[col].mean())
        out[k], out[f"{k}_mcse"] = p, float(np.sqrt(p * (1 - p) / n))
    out["null_mean"] = float(per_cohort["null_mean"].mean())
    out["null_sd"] = float(per_cohort["null_sd"].mean())
    return out
