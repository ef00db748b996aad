"""The paper's reported numbers by id: the one loader of ``data/paper/targets.yaml``.

Nothing in the project retypes a number printed in the paper: the synthetic generator, the
calibration table, the audit and the chapters read ``data/paper/targets.yaml`` (entries under
``targets``, ``design_parameters`` and ``derived``) through this module and refer to each number
by its ``id``:

* :func:`targets` - every entry by id (each with ``kind`` = its section);
* :func:`entry` - one whole entry (value, CI, p, unit, notes ...), with a helpful error;
* :func:`target` - the printed ``value`` of one entry (also ``paper(id, field)``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from analysis import TARGETS_PATH

__all__ = ["TARGETS_PATH", "entry", "paper", "printed_decimals", "rounds_to", "target", "targets"]


@lru_cache(maxsize=4)
def _load(path: str) -> dict[str, dict[str, Any]]:
    """Parse the targets file once (C YAML loader when available)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is ~10x faster
    with open(path, encoding="utf-8") as fh:
        doc = yaml.load(fh, Loader=loader)
    out: dict[str, dict[str, Any]] = {}
    for section in ("targets", "design_parameters", "derived"):
        for entry in doc.get(section, []) or []:
            out[str(entry["id"])] = {**entry, "kind": section}
    return out


def targets(path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """All entries of the targets file keyed by id (each with an extra ``kind`` = its section)."""
    return _load(str(path or TARGETS_PATH))


def target(target_id: str, path: str | Path | None = None) -> Any:
    """The printed ``value`` of one target (number, or a string such as ``"not reached"``)."""
    return entry(target_id, path)["value"]


def entry(target_id: str, path: str | Path | None = None) -> dict[str, Any]:
    """The whole entry (value, ci_low, ci_high, p, unit, notes, ...) for ``target_id``."""
    table = targets(path)
    if target_id not in table:
        close = [k for k in table if target_id.split("_")[0] in k][:5]
        raise KeyError(
            f"{target_id!r} is not an id in {Path(path or TARGETS_PATH).name}"
            + (f" (ids starting alike: {', '.join(close)})" if close else "")
        )
    return table[target_id]


def paper(target_id: str, field: str = "value") -> Any:
    """The paper's printed value for ``target_id`` (or another field: ``ci_low``, ``p`` ...).

    Chapters never retype a paper number: they call ``paper("sccs_allgrade_irr")``.
    """
    return entry(target_id)[field]


def printed_decimals(v: Any) -> int:
    """Decimals printed in a targets.yaml number (0 for whole numbers; ``3.10`` is stored as 3.1,
    trailing zeros are lost in YAML, so this is at least its own count)."""
    if isinstance(v, bool) or not isinstance(v, float):
        return 0
    s = repr(v)
    return len(s.split(".")[1]) if "." in s and "e" not in s else 0


def rounds_to(value: float, printed: Any) -> bool:
    """Whether ``value`` rounded to the decimals of ``printed`` equals it (half rounds up)."""
    return round(float(value) + 1e-12, printed_decimals(printed)) == float(printed)
