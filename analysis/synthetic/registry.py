"""The one gate through which the synthetic generator reads the paper's numbers.

Every generator module (:mod:`~analysis.synthetic.events`, :mod:`~analysis.synthetic.baseline`,
:mod:`~analysis.synthetic.outcomes`, :mod:`~analysis.synthetic.simulate`...) reads a target of
``data/paper/targets.yaml`` through this module, never through :mod:`analysis.paper` (this is the
one declared reader: ``tests/synthetic/test_provenance.py`` fails on any other import of
``analysis.paper`` reachable from a generator module, whatever its spelling). Three ways in, each
recorded with its *role*, so the audit's provenance (:mod:`analysis.synthetic.provenance`) is
what the generator does, not a list typed by hand:

* :func:`planted` - the paper's value is put into the cohort (a count, a percentage, a range);
  role ``"planted"``;
* :func:`truth_from_paper` - the paper's value is the *truth* of an effect the analyses estimate
  (the on-IVIG rate ratios, the 5-year survival): the cohort is drawn from it and the estimate
  varies around it by chance and bias; role ``"truth set"``;
* :func:`tuned` - an assumption of the generator that was tuned by hand until the cohort came
  close to a paper value; declared where the constant is defined, role ``"tuned"`` (kept in
  :data:`TUNED`, not per draw).

:data:`SELECTION_TARGETS` are the calibration rows the seed search judges
(:func:`analysis.synthetic.seed_search.seed_score`); they live here, below the seed search and
the calibration table, so both can name them without an import cycle.

Examples
--------
>>> from analysis.synthetic.registry import planted, recording, truth_from_paper
>>> with recording() as ids:
...     n = planted("t1_n_ivig")
...     irr = truth_from_paper("sccs_allgrade_irr")
>>> n, float(irr), ids
(43, 0.57, {'t1_n_ivig': 'planted', 'sccs_allgrade_irr': 'truth set'})
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from analysis.paper.targets import target

__all__ = ["ROLES", "SELECTION_TARGETS", "TUNED", "planted", "recording", "truth_from_paper",
           "tuned"]

#: The roles a read can have, strongest first (an id read in two roles keeps the first).
ROLES: tuple[str, ...] = ("planted", "truth set", "tuned")

_ACTIVE: list[dict[str, str]] = []

#: Target id -> the generator constant tuned towards it (filled by :func:`tuned` at import).
TUNED: dict[str, str] = {}

#: Calibration rows the seed search judges: marginal counts that the generator's exact-count step
#: aims at without looking at exposure status or timing relative to IVIG (group totals of
#: infections, patients with an infection, patients with a grade 3-4 infection, and the reference
#: group's grade 3-4 infections, judged through its rate per patient-year).
SELECTION_TARGETS: tuple[str, ...] = (
    "res1_infections_total", "res2_infections_total",
    "res1_patients_with_infection_n", "res2_patients_with_infection_n",
    "res1_g34_patients_n", "res2_g34_patients_n", "res2_rate_g34",
)


def _record(target_id: str, role: str) -> Any:
    value = target(target_id)
    for ids in _ACTIVE:
        old = ids.get(target_id)
        if old is None or ROLES.index(role) < ROLES.index(old):
            ids[target_id] = role
    return value


def planted(target_id: str) -> Any:
    """The paper's printed value of ``target_id``, recorded as planted in the cohort.

    Examples
    --------
    >>> planted("t1_n_ref")
    100
    """
    return _record(target_id, "planted")


def truth_from_paper(target_id: str) -> Any:
    """The paper's printed value of ``target_id``, recorded as the truth of an estimated effect.

    Examples
    --------
    >>> float(truth_from_paper("sccs_g34_irr"))
    0.3
    """
    return _record(target_id, "truth set")


def tuned(value: Any, towards: str, name: str) -> Any:
    """Declare the generator constant ``name`` (returned unchanged as ``value``) as tuned by hand
    towards the paper's ``towards``; the audit labels that row ``"tuned"``.

    Examples
    --------
    >>> import analysis.synthetic.events  # declares its tuned constants when imported
    >>> TUNED["res2_time_with_hgg_pct_ref"]
    'RECOVERY_SHARE, RECOVERY_START, RECOVERY_LEVEL'
    """
    target(towards)  # an unknown id fails here, at import
    names = TUNED.get(towards, "").split(", ") if towards in TUNED else []
    if name not in names:
        TUNED[towards] = ", ".join([*names, name])
    return value


@contextmanager
def recording() -> Iterator[dict[str, str]]:
    """Collect the ids read inside the ``with`` block, id -> role (nesting allowed)."""
    ids: dict[str, str] = {}
    _ACTIVE.append(ids)
    try:
        yield ids
    finally:
        _ACTIVE[:] = [s for s in _ACTIVE if s is not ids]
