"""Provenance of every paper number on the synthetic cohort: planted, selected or emergent.

:data:`PROVENANCE` maps a ``targets.yaml`` id to ``"planted"`` (the generator reads the target, or
the cohort reproduces it by construction on every seed) or ``"selected"`` (the seed search judges
it); ids not listed are ``"emergent"``. It is derived from the code when first read
(:func:`analysis.synthetic.calibration.provenance_map`), not typed by hand, so it cannot drift from
what the generator does. ``"design"`` and ``"not computable"`` are the audit's to decide.

Examples
--------
>>> from analysis.synthetic.provenance import PROVENANCE, provenance_of
>>> PROVENANCE["res1_infections_total"], provenance_of("sccs_pre60_irr")
('planted', 'emergent')
"""

from __future__ import annotations

from typing import Any

from analysis.synthetic.calibration import provenance_map

__all__ = ["PROVENANCE", "provenance_of"]

#: target id -> "planted" / "selected" (others are "emergent"); computed on first access.
PROVENANCE: dict[str, str]


def provenance_of(target_id: str) -> str:
    """``planted``, ``selected`` or ``emergent`` for one target id."""
    return provenance_map().get(target_id, "emergent")


def __getattr__(name: str) -> Any:
    """``PROVENANCE`` is computed on first access (it draws a few cohorts)."""
    if name == "PROVENANCE":
        return dict(provenance_map())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
