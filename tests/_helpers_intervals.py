"""R SCCS reference examples (data/external/sccs-r) for the interval tests.

The translation of an example's ``formatdata`` arguments into ``build_intervals`` inputs lives in
:mod:`analysis.teaching.r_examples` (shared with the teaching chapters); the reference these tests
compare
with is R's own interval file for the example.
"""

from __future__ import annotations

import pandas as pd

from analysis.sccs.intervals import to_event_strata
from analysis.teaching.r_examples import (
    R_DIR,
    example_inputs,
    example_intervals,
    r_interval_file,
    reference,
)

__all__ = ["R_DIR", "r_example", "reference"]


def r_example(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(our intervals in R's per-event layout, R's interval file) for one example."""
    ours = to_event_strata(example_intervals(name), example_inputs(name).events)
    return ours, r_interval_file(name)
