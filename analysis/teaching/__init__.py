"""Teaching material for the SCCS method: simulation studies with a known truth
(:mod:`~analysis.teaching.simulations`) and the R package SCCS's documented examples rebuilt from
their raw data (:mod:`~analysis.teaching.r_examples`). The chapters import it as
``from analysis import teaching as T``."""

from analysis.sccs import DAYS_PER_YEAR
from analysis.teaching.simulations import *  # noqa: F403
from analysis.teaching.simulations import __all__ as _simulations_all
from analysis.teaching.simulations import r_example, r_reference

__all__ = ["DAYS_PER_YEAR", "r_example", "r_reference", *_simulations_all]
