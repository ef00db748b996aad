"""The one gate through which the synthetic generator reads the paper's numbers.

Every generator module (:mod:`~analysis.synthetic.events`, :mod:`~analysis.synthetic.baseline`,
:mod:`~analysis.synthetic.outcomes`, :mod:`~analysis.synthetic.simulate`) reads a target of
``data/paper/targets.yaml`` with :func:`planted` instead of
:func:`analysis.paper.targets.target`. :func:`planted` returns the same value and records the id
in every active :func:`recording`, so the list of *planted* targets
(:data:`analysis.synthetic.provenance.PROVENANCE`) is what the generator actually reads, not a
list typed by hand that could drift from the code. ``tests/synthetic/test_provenance.py`` checks
that no
generator module reads a target any other way.

:data:`SELECTION_TARGETS` are the calibration rows the seed search judges
(:func:`analysis.synthetic.seed_search.seed_score`); they live here, below the seed search and
the calibration table, so both can name them without an import cycle.

Examples
--------
>>> from analysis.synthetic.registry import planted, recording
>>> with recording() as ids:
...     n = planted("t1_n_ivig")
>>> n, sorted(ids)
(43, ['t1_n_ivig'])
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from analysis.paper.targets import target

__all__ = ["SELECTION_TARGETS", "planted", "recording"]

_ACTIVE: list[set[str]] = []

#: Calibration rows the seed search judges: marginal counts that the generator's exact-count step
#: aims at without looking at exposure status or timing relative to IVIG (group totals of
#: infections, patients with an infection, patients with a grade 3-4 infection, and the reference
#: group's grade 3-4 infections, judged through its rate per patient-year).
SELECTION_TARGETS: tuple[str, ...] = (
    "res1_infections_total", "res2_infections_total",
    "res1_patients_with_infection_n", "res2_patients_with_infection_n",
    "res1_g34_patients_n", "res2_g34_patients_n", "res2_rate_g34",
)


def planted(target_id: str) -> Any:
    """The paper's printed value of ``target_id``, recorded as read by the generator.

    Examples
    --------
    >>> planted("t1_n_ref")
    100
    """
    value = target(target_id)
    for ids in _ACTIVE:
        ids.add(target_id)
    return value


@contextmanager
def recording() -> Iterator[set[str]]:
    """Collect the ids :func:`planted` reads inside the ``with`` block (nesting allowed)."""
    ids: set[str] = set()
    _ACTIVE.append(ids)
    try:
        yield ids
    finally:
        _ACTIVE[:] = [s for s in _ACTIVE if s is not ids]
