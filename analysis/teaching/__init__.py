"""Teaching material for the SCCS method: simulation studies with a known truth
(:mod:`~analysis.teaching.simulations`) and the R package SCCS's documented examples rebuilt from
their raw data (:mod:`~analysis.teaching.r_examples`). The chapters import it as
``from analysis import teaching as T``."""

from analysis.sccs import DAYS_PER_YEAR
from analysis.teaching.r_examples import (
    compare_with_r,
    ext_reference,
    r_call,
    r_coefficients,
    r_dataset,
)
from analysis.teaching.simulations import *  # noqa: F403
from analysis.teaching.simulations import __all__ as _simulations_all
from analysis.teaching.simulations import r_example, r_reference

__all__ = ["DAYS_PER_YEAR", "compare_with_r", "ext_reference", "r_call", "r_coefficients",
           "r_dataset", "r_example", "r_reference", *_simulations_all]
