"""The seed search of the synthetic cohort, at the top of :mod:`analysis.synthetic`.

It draws cohorts with :mod:`~analysis.synthetic.simulate` and judges them with
:mod:`~analysis.synthetic.calibration`; living above both, it keeps the generator and the
calibration table free of each other (no import cycle).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.paper.targets import target
from analysis.study.cohort import Cohort
from analysis.synthetic.calibration import calibration_table, sccs_values
from analysis.synthetic.simulate import CohortTables, SimulateError, as_cohort, simulate_cohort

__all__ = ["SEED_SCORE_TARGETS", "calibrate_seed", "sccs_estimates", "seed_score"]


# --------------------------------------------------------------------------- seed search
#: The paper's SCCS estimates the canonical seed is scored against (target ids).
SEED_SCORE_TARGETS: dict[str, str] = {
    "all": "sccs_allgrade_irr", "g34": "sccs_g34_irr", "pre60": "sccs_pre60_irr",
    "pre30": "sccs_pre30_irr", "hgg700": "sccs_hgg_any_irr", "hgg400": "sccs_hgg_moderate_irr",
    "hgg200": "sccs_hgg_severe_irr",
}


def sccs_estimates(tables: CohortTables | dict[str, pd.DataFrame] | Cohort) -> dict[str, float]:
    """The seven SCCS IRRs the seed is scored on (keys of :data:`SEED_SCORE_TARGETS`).

    Fitted by the book's engine (:func:`analysis.synthetic.calibration.sccs_values`, i.e.
    :func:`analysis.study.fit_sccs` on the IVIG group's cases) on :func:`as_cohort` of ``tables``.
    """
    v = sccs_values(as_cohort(tables), tuple(SEED_SCORE_TARGETS.values()))
    return {k: v[tid] for k, tid in SEED_SCORE_TARGETS.items()}


def seed_score(est: dict[str, float]) -> tuple[bool, float]:
    """(meets the hard criteria, distance to the paper) for quick SCCS estimates.

    Hard criteria (issue 3): all-grade IRR within 0.03 of the paper's, grade 3-4 within 0.05,
    60-day pre-exposure IRR above 1.5, HGG IRRs above 1 and rising 700 -> 400 -> 200. The distance
    is the sum of squared log-ratios of the seven estimates to the paper's (smaller = closer).
    """
    paper = {k: float(target(v)) for k, v in SEED_SCORE_TARGETS.items()}
    vals = np.array([est.get(k, np.nan) for k in paper])
    if not np.all(np.isfinite(vals)) or np.any(vals <= 0):
        return False, float("inf")
    ok = (abs(est["all"] - paper["all"]) <= 0.03 and abs(est["g34"] - paper["g34"]) <= 0.05
          and est["pre60"] > 1.5 and 1 < est["hgg700"] < est["hgg400"] < est["hgg200"])
    dist = float(np.sum(np.log(vals / np.array(list(paper.values()))) ** 2))
    return bool(ok), dist


def calibrate_seed(seeds: range = range(200), **kwargs: Any) -> tuple[int, pd.DataFrame]:
    """Scan ``seeds``; return the best seed meeting the hard criteria and the scan table.

    "Best" = smallest :func:`seed_score` distance among seeds that meet the hard criteria and
    pass every non-info row of the calibration table; the table has one row per seed (estimates,
    ok, distance). Deterministic: the same range gives the same answer.
    """
    rows = []
    for s in seeds:
        cohort = as_cohort(simulate_cohort(s, **kwargs))
        est = sccs_estimates(cohort)
        ok, dist = seed_score(est)
        if ok:  # the seven models already fitted are not fitted again
            known = {tid: est[k] for k, tid in SEED_SCORE_TARGETS.items()}
            cal = calibration_table(cohort, sccs_known=known)
            ok = bool((cal["status"] != "fail").all())
        rows.append({"seed": s, **est, "ok": ok, "distance": dist})
    scan = pd.DataFrame(rows)
    good = scan[scan["ok"]]
    if good.empty:
        raise SimulateError(f"no seed in {seeds} meets the calibration criteria")
    best = int(good.sort_values(["distance", "seed"]).iloc[0]["seed"])
    return best, scan
