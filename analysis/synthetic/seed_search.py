"""The seed search of the synthetic cohort: it judges marginal counts only, never an estimate.

A seed passes when the generator's exact-count step reached every marginal target: each group's
number of infections and of patients with an infection, of patients with a grade 3-4 infection,
and the reference group's number of grade 3-4 infections (the calibration rows
:data:`analysis.synthetic.registry.SELECTION_TARGETS`). None of these looks at exposure status or at
timing relative to IVIG, and no SCCS, HGG or Cox estimate enters the search, so the seed cannot
steer an estimate the book compares with the paper. The canonical seed
(:data:`analysis.synthetic.simulate.CANONICAL_SEED`) is the first passing seed from 0.

Examples
--------
>>> from analysis.synthetic.seed_search import calibrate_seed
>>> seed, scan = calibrate_seed(range(2))
>>> seed, list(scan.columns)
(0, ['seed', 'ok', 'shortfall'])
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.synthetic.calibration import calibration_table
from analysis.synthetic.registry import SELECTION_TARGETS
from analysis.synthetic.simulate import CohortTables, SimulateError, simulate_cohort

__all__ = ["SELECTION_TARGETS", "calibrate_seed", "seed_rows_pass", "seed_score"]


def seed_score(tables: CohortTables) -> tuple[bool, int]:
    """(passes, total shortfall) of one simulated cohort.

    The shortfall is what the exact-count step could not reach (events or patients the draw
    lacked, summed over the targets); a seed passes when it is 0.

    Examples
    --------
    >>> from analysis.synthetic.simulate import simulate_cohort
    >>> seed_score(simulate_cohort(0))
    (True, 0)
    """
    short = int(sum(getattr(tables, "shortfall", {}).values()))
    return short == 0, short


def seed_rows_pass(cohort: Any) -> bool:
    """Whether every :data:`SELECTION_TARGETS` row of the calibration table passes on ``cohort``.

    The slow, independent check of :func:`seed_score` (the calibration table counts from the
    cohort's files what the generator says it reached; no model is fitted).
    """
    rows = calibration_table(cohort, ids=SELECTION_TARGETS, provenance=False)
    return bool(len(rows) == len(SELECTION_TARGETS) and (rows["status"] == "pass").all())


def calibrate_seed(seeds: range = range(100), **kwargs: Any) -> tuple[int, pd.DataFrame]:
    """The first seed in ``seeds`` that passes :func:`seed_score`, and the scan table.

    The scan has one row per seed tried (``seed``, ``ok``, ``shortfall``) and stops at the first
    passing seed. Deterministic. Raises :class:`SimulateError` when no seed passes.
    """
    rows = []
    for s in seeds:
        ok, short = seed_score(simulate_cohort(s, **kwargs))
        rows.append({"seed": s, "ok": ok, "shortfall": short})
        if ok:
            return s, pd.DataFrame(rows)
    raise SimulateError(f"no seed in {seeds} reaches every marginal count")
