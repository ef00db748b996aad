"""Provenance of every paper number on the synthetic cohort, derived from what the generator does.

:func:`provenance_map` maps a ``targets.yaml`` id to how a synthetic cohort's value could come to
agree with the paper's (ids not listed are ``"emergent"``). Nothing is typed by hand; each label
follows from the generator's reads (:mod:`analysis.synthetic.registry`, recorded at run time over
:data:`READ_DRAWS`: several seeds, sizes and truths) and from the function that computes our
value (:func:`analysis.paper.values.our_values`, the one place that computes it):

* ``planted`` - the generator puts the paper's value into the cohort (:func:`~analysis.synthetic
  .registry.planted`), or the value, at the printed precision, is the same on every seed of
  :data:`INVARIANCE_SEEDS` (fixed by construction: a percentage of a planted count);
* ``truth set`` - the generator's *truth* of an effect was set to the paper's estimate
  (:func:`~analysis.synthetic.registry.truth_from_paper`), and the value estimates that effect
  (:func:`analysis.paper.values.estimate_of` with :data:`analysis.synthetic.events.ON_IVIG_TRUTH`):
  the estimate itself is emergent, and differs from the truth by chance and bias;
* ``tuned`` - a generator assumption was tuned by hand towards this value
  (:data:`analysis.synthetic.registry.TUNED`);
* ``selected`` - the seed search judges it (:data:`~analysis.synthetic.registry.SELECTION_TARGETS`);
* a row whose value equals, on every seed of :data:`IDENTITY_DRAWS` (and not constant), the value
  of a labelled row, or the count behind it (``n_events``), restates that row with the same
  code and takes its label (``res1_anc_at_infection_median`` is Table 2's planted median).

Examples
--------
>>> from analysis.synthetic.provenance import provenance_map, provenance_of
>>> provenance_of("res1_infections_total"), provenance_of("sccs_pre60_irr")
('planted', 'emergent')
>>> provenance_of("sccs_allgrade_irr_adj_season"), provenance_of("res2_time_with_hgg_pct_ref")
('truth set', 'tuned')
"""

from __future__ import annotations

from dataclasses import fields
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["IDENTITY_DRAWS", "INVARIANCE_SEEDS", "LABELS", "PROVENANCE", "READ_DRAWS",
           "generator_reads", "provenance_map", "provenance_of"]

#: Labels :func:`provenance_map` gives (others are "emergent").
LABELS: tuple[str, ...] = ("planted", "truth set", "tuned", "selected")
#: Cohorts drawn while the registry records reads: (seed, n_ivig, n_reference, truth overrides);
#: None = the paper's size. Other truths and sizes take other branches of the generator.
READ_DRAWS: tuple[tuple[int, int | None, int | None, dict[str, Any]], ...] = (
    (0, None, None, {}), (1, None, None, {}), (2, 20, 45, {}),
    (3, None, None, {"irr_on_ivig": 0.9, "irr_on_ivig_grade34": 0.6}),
    (4, 80, 200, {"irr_on_ivig": 0.3, "irr_on_ivig_grade34": 0.2}),
)
#: Seeds (the paper's size, default truth) on which a value fixed by construction is looked for.
INVARIANCE_SEEDS: tuple[int, ...] = (1, 2, 3, 4)
#: Cohorts (seed, n_ivig, n_reference) on which restatements of a labelled row are looked for.
IDENTITY_DRAWS: tuple[tuple[int, int | None, int | None], ...] = (
    (1, None, None), (2, None, None), (3, None, None), (4, None, None), (5, 30, 70),
)


def generator_reads() -> dict[str, str]:
    """Target id -> role of every read of the generator over :data:`READ_DRAWS`, with the
    constants declared tuned (:data:`analysis.synthetic.registry.TUNED`).

    Examples
    --------
    >>> reads = generator_reads()
    >>> reads["t1_n_ivig"], reads["sccs_g34_irr"], reads["res2_time_with_hgg_pct_ref"]
    ('planted', 'truth set', 'tuned')
    """
    from analysis.synthetic.events import TruthParameters
    from analysis.synthetic.registry import TUNED, recording
    from analysis.synthetic.simulate import simulate_cohort

    with recording() as read:
        for seed, n_iv, n_rf, change in READ_DRAWS:
            simulate_cohort(seed, n_ivig=n_iv, n_reference=n_rf, truth=TruthParameters(**change))
    return {**{t: "tuned" for t in TUNED if t not in read}, **read}


def _values(seed: int, n_ivig: int | None = None, n_reference: int | None = None
            ) -> pd.DataFrame:
    """:func:`analysis.paper.values.our_values` of one drawn cohort, without the fitted models."""
    from analysis.paper.targets import targets
    from analysis.paper.values import COX_IDS, SCCS_IDS, our_values
    from analysis.synthetic.simulate import simulate_cohort, to_cohort

    cohort = to_cohort(simulate_cohort(seed, n_ivig=n_ivig, n_reference=n_reference))
    ids = set(targets()) - SCCS_IDS - COX_IDS
    return our_values(cohort, ids=ids).set_index("target_id")


def _invariant() -> set[str]:
    """Ids whose value, at the paper's printed precision, is the same on every invariance seed
    (fixed by construction); the analysis code's own constants (source ``design``) left out."""
    from analysis.paper.targets import printed_decimals, targets

    seen = [_values(s) for s in INVARIANCE_SEEDS]
    out = set()
    for tid, e in targets().items():
        rows = [v.loc[tid] for v in seen if tid in v.index]
        if len(rows) < len(seen) or rows[0]["source"] == "design":
            continue
        try:
            d = printed_decimals(e.get("printed", e["value"]))
        except (TypeError, ValueError):
            continue
        vals = {round(float(r["value"]) + 1e-12, d) for r in rows}
        if len(vals) == 1 and all(np.isfinite(list(vals))):
            out.add(tid)
    return out


def _restatements(labelled: dict[str, str]) -> dict[str, str]:
    """Unlabelled ids whose value equals a labelled id's value (or its ``n_events``) on every
    draw of :data:`IDENTITY_DRAWS`, and is not the same on all of them: id -> inherited label."""
    draws = [_values(*d) for d in IDENTITY_DRAWS]
    ids = sorted(set.intersection(*(set(d.index) for d in draws)))
    value = np.array([[d.loc[i, "value"] for d in draws] for i in ids], float)
    events = np.array([[d.loc[i, "n_events"] for d in draws] for i in ids], float)
    varies = np.nanmax(value, axis=1) > np.nanmin(value, axis=1)
    out: dict[str, str] = {}
    for i, tid in enumerate(ids):
        if tid in labelled or not varies[i]:
            continue
        for j, other in enumerate(ids):
            if other in labelled and (np.allclose(value[i], value[j], rtol=1e-12, atol=0)
                                      or np.allclose(value[i], events[j], rtol=1e-12, atol=0)):
                out[tid] = labelled[other]
                break
    return out


def _truth_set(reads: dict[str, str]) -> dict[str, str]:
    """Ids that estimate an effect whose truth the generator set to the paper's value."""
    from analysis.paper.targets import targets
    from analysis.paper.values import estimate_of
    from analysis.synthetic.events import ON_IVIG_TRUTH, TruthParameters

    source = {f.name: f.metadata.get("paper") for f in fields(TruthParameters)}
    out = {}
    for tid in targets():
        what = estimate_of(tid)
        if what and what[1] == "on_ivig" and what[0] in ON_IVIG_TRUTH:
            paper_id = source.get(ON_IVIG_TRUTH[what[0]])
            if paper_id and reads.get(paper_id) == "truth set":
                out[tid] = "truth set"
    return out


@lru_cache(maxsize=1)
def provenance_map() -> dict[str, str]:
    """How a synthetic cohort's number could come to agree with the paper, by target id (see the
    module doc; ids not listed are ``emergent``). Derived at run time (a few seconds, once per
    process), so it cannot drift from what the generator does.
    """
    from analysis.synthetic.registry import SELECTION_TARGETS

    out = generator_reads()
    for tid in sorted(_invariant()):
        out.setdefault(tid, "planted")
    for tid in SELECTION_TARGETS:
        out.setdefault(tid, "selected")
    for tid, label in _truth_set(out).items():
        out.setdefault(tid, label)
    for tid, label in _restatements(out).items():
        out.setdefault(tid, label)
    return dict(sorted(out.items()))


def provenance_of(target_id: str) -> str:
    """``planted``, ``truth set``, ``tuned``, ``selected`` or ``emergent`` for one target id."""
    return provenance_map().get(target_id, "emergent")


#: target id -> label (others "emergent"); computed on first access.
PROVENANCE: dict[str, str]


def __getattr__(name: str) -> Any:
    """``PROVENANCE`` is :func:`provenance_map`, computed on first access (it draws cohorts)."""
    if name == "PROVENANCE":
        return dict(provenance_map())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
