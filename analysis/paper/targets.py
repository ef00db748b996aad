"""The paper's reported numbers by id: the one loader of ``data/paper/targets.yaml``.

Each number keeps the text it was printed as: ``0.40`` is read as a :class:`PrintedFloat` whose
``str`` is ``"0.40"``, and each entry carries ``printed`` (and ``printed_ci_low``,
``printed_ci_high``), so the paper's precision (its decimals, trailing zeros included) is known
when a value is quoted or judged (:func:`printed_decimals`, :func:`rounds_to`).

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

__all__ = [
    "TARGETS_PATH", "PrintedFloat", "entry", "paper", "printed_decimals", "rounds_to", "target",
    "targets",
]


class PrintedFloat(float):
    """A float that remembers the text it was printed as (``0.40`` stays ``"0.40"``).

    YAML turns ``0.40`` into the float 0.4 and loses the trailing zero, which carries the
    paper's precision. Values read by this module keep it: ``str()`` and ``repr()`` give the
    printed text, arithmetic is that of the float.

    Examples
    --------
    >>> v = PrintedFloat(0.4, "0.40")
    >>> str(v), v + 0.1 == 0.5, printed_decimals(v)
    ('0.40', True, 2)
    """

    printed: str

    def __new__(cls, value: float, printed: str) -> PrintedFloat:
        obj = super().__new__(cls, value)
        obj.printed = printed
        return obj

    def __repr__(self) -> str:
        return self.printed

    __str__ = __repr__

    def __reduce__(self) -> tuple[Any, ...]:
        return (PrintedFloat, (float(self), self.printed))


def _loader() -> type:
    """A safe YAML loader whose floats keep their source text (:class:`PrintedFloat`)."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser is ~10x faster

    class _PrintedLoader(base):  # type: ignore[misc, valid-type]
        """SafeLoader + a float constructor that records the scalar as written."""

    def _float(loader: Any, node: Any) -> PrintedFloat:
        return PrintedFloat(loader.construct_yaml_float(node), str(node.value))

    _PrintedLoader.add_constructor("tag:yaml.org,2002:float", _float)
    return _PrintedLoader


def _printed_text(v: Any) -> str | None:
    """The text a loaded scalar was written as (``None`` for a null)."""
    if v is None:
        return None
    if isinstance(v, PrintedFloat):
        return v.printed
    return str(v)


@lru_cache(maxsize=4)
def _load(path: str) -> dict[str, dict[str, Any]]:
    """Parse the targets file once; each entry gets ``kind`` (its section) and ``printed``,
    ``printed_ci_low``, ``printed_ci_high`` (the scalars as written)."""
    import yaml

    with open(path, encoding="utf-8") as fh:
        doc = yaml.load(fh, Loader=_loader())
    out: dict[str, dict[str, Any]] = {}
    for section in ("targets", "design_parameters", "derived"):
        for entry in doc.get(section, []) or []:
            printed = {"printed": _printed_text(entry.get("value")),
                       "printed_ci_low": _printed_text(entry.get("ci_low")),
                       "printed_ci_high": _printed_text(entry.get("ci_high"))}
            out[str(entry["id"])] = {**entry, **printed, "kind": section}
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
    """Decimals printed in a paper value: counted in its printed text, never in a float's repr.

    ``v`` is the printed text (``entry["printed"]``) or a value read by this module (a
    :class:`PrintedFloat` carries its text; whole numbers have 0 decimals). A bare float has lost
    its trailing zeros, so it is refused rather than guessed.

    Examples
    --------
    >>> printed_decimals("0.40"), printed_decimals(entry("sccs_g34_irr")["value"])
    (2, 2)
    >>> printed_decimals(43)
    0
    """
    if isinstance(v, PrintedFloat):
        v = v.printed
    if isinstance(v, str):
        text = v.strip().lstrip("+-")
        if "e" in text.lower() or "." not in text:
            return 0
        return len(text.split(".", 1)[1])
    if isinstance(v, (bool, int)) or (isinstance(v, float) and v.is_integer()):
        return 0
    raise TypeError(f"printed_decimals needs the printed text of {v!r} (entry['printed']), "
                    "not a float whose trailing zeros are lost")


def rounds_to(value: float, printed: Any) -> bool:
    """Whether ``value`` rounded to the printed decimals equals the printed value (half up).

    ``printed`` is the printed text or a value read by this module.

    Examples
    --------
    >>> rounds_to(0.35, "0.40"), rounds_to(0.404, "0.40"), rounds_to(0.395, "0.40")
    (False, True, True)
    """
    d = printed_decimals(printed)
    return _round_half_up(float(value), d) == float(printed)


def _round_half_up(x: float, d: int) -> float:
    """``x`` rounded to ``d`` decimals, halves away from zero (as a paper rounds, unlike
    Python's round-half-even); a tiny guard absorbs binary representation error."""
    import math

    scale = 10.0 ** d
    return math.copysign(math.floor(abs(x) * scale + 0.5 + 1e-9), x) / scale
