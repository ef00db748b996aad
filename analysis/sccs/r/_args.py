"""R's argument conventions (``indiv``, ``astart``, ``adrug``, ``expogrp``, ...) turned into the
inputs of :func:`analysis.sccs.intervals.build_intervals`, with the input checks.

Private to :mod:`analysis.sccs.r`. Every error is an :class:`RError` naming the argument, the
column (or expression), the row as a spreadsheet shows it (header = row 1) and the rule broken.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.sccs.errors import SCCSError, SCCSWarning
from analysis.sccs.intervals import AgeGroups, Exposure, IntervalError, Season


class RError(SCCSError):
    """Bad arguments or data for an :mod:`analysis.sccs.r` function (the message says where).

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.sccs import r
    >>> d = pd.DataFrame({"case": [1, 2], "sta": [1, 1], "end": [100, 0], "ev": [10, 60],
    ...                   "vac": [5, 10]})
    >>> try:
    ...     r.standardsccs("event ~ vac", indiv="case", astart="sta", aend="end", aevent="ev",
    ...                    adrug="vac", aedrug="vac+20", data=d)
    ... except r.RError as err:
    ...     print(err)
    row 3, column 'end' (aend): the end of observation is before its start (column 'sta' (astart))
    """


class RWarning(SCCSWarning):
    """Data that R accepts silently but a user should know about (the message says where).

    A warning category: filter it as any other.

    Examples
    --------
    >>> import warnings
    >>> from analysis.sccs import r
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", r.RWarning)  # make R's silent cases errors
    ...     issubclass(r.RWarning, UserWarning)
    True
    """


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")

#: How many offending rows an error message lists.
_SHOW = 5


def _rows(mask: np.ndarray) -> str:
    """'row 3', 'rows 3, 7' ... as a spreadsheet numbers them (header = row 1)."""
    pos = np.flatnonzero(mask)
    head = ", ".join(str(int(k) + 2) for k in pos[:_SHOW])
    more = f" and {len(pos) - _SHOW} more" if len(pos) > _SHOW else ""
    return f"row{'s' if len(pos) > 1 else ''} {head}{more}"


def column(data: pd.DataFrame, arg: str, spec: Any) -> pd.Series:
    """The values of an R column argument: a column name, a number, or an expression on the
    columns (``"mmr+42"``), evaluated with :meth:`pandas.DataFrame.eval` (no Python ``eval``)."""
    if isinstance(spec, bool) or spec is None:
        raise RError(f"{arg}: expected a column name or an expression, got {spec!r}")
    if isinstance(spec, int | float | np.integer | np.floating):
        return pd.Series(float(spec), index=data.index)
    if not isinstance(spec, str) or not spec.strip():
        raise RError(f"{arg}: expected a column name or an expression, got {spec!r}")
    if spec in data.columns:
        return data[spec]
    unknown = [n for n in _NAME.findall(spec) if n not in data.columns]
    if unknown:
        raise RError(f"{arg}={spec!r}: no column {unknown[0]!r} in the data (its columns: "
                     f"{', '.join(map(str, data.columns))})")
    try:
        value = data.eval(spec, engine="python")
    except Exception as exc:  # pandas raises many types for a bad expression
        raise RError(f"{arg}={spec!r}: cannot evaluate on the data ({exc})") from None
    if not isinstance(value, pd.Series) or len(value) != len(data):
        raise RError(f"{arg}={spec!r}: does not give one value per row")
    return value


def first_name(spec: Any) -> str:
    """R's ``all.vars(adrug)[1]``: the first variable name of a column argument."""
    found = _NAME.findall(str(spec))
    if not found:
        raise RError(f"adrug: {spec!r} names no column")
    return found[0]


def where(arg: str, spec: Any) -> str:
    """'column sta (astart)' or 'column expression mmr+42 (aedrug)'."""
    kind = "column" if _NAME.fullmatch(str(spec)) else "column expression"
    return f"{kind} {spec!r} ({arg})"


def days(values: pd.Series, arg: str, spec: Any, *, allow_na: bool = False) -> np.ndarray:
    """Whole day numbers of a column argument (float with NaN for blanks when ``allow_na``)."""
    num = pd.to_numeric(values, errors="coerce")
    arr = num.to_numpy(dtype="float64", na_value=np.nan)
    blank = values.isna().to_numpy()
    bad = ~blank & ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise RError(f"{_rows(bad)}, {where(arg, spec)}: {values.iloc[i]!s:.40} is not a "
                     "number; days are whole numbers")
    if not allow_na and blank.any():
        raise RError(f"{_rows(blank)}, {where(arg, spec)}: missing value; a day is required")
    frac = np.isfinite(arr) & (arr != np.round(arr))
    if frac.any():
        i = int(np.flatnonzero(frac)[0])
        raise RError(f"{_rows(frac)}, {where(arg, spec)}: {arr[i]:g} is not a whole number; "
                     "days are whole numbers")
    return arr if allow_na else arr.astype(np.int64)


def per_type(value: Any, n_types: int, arg: str, default: Any) -> list[Any]:
    """R's per-exposure-type argument (``expogrp``, ``washout``): one value, or a list of one
    value per type (R's ``list(c(0, 8), c(0, 8))``)."""
    if value is None or (isinstance(value, Sequence) and not isinstance(value, str)
                         and len(value) == 0):
        return [default] * n_types
    if isinstance(value, int | float | np.integer):
        value = [value]
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise RError(f"{arg}: expected numbers or a list of number lists, got {value!r}")
    nested = [v is None or (isinstance(v, Sequence) and not isinstance(v, str))
              for v in value]
    if all(nested):
        if len(value) != n_types:
            raise RError(f"{arg}: {len(value)} groups given for {n_types} exposure type(s)")
        return [default if v is None or len(v) == 0 else list(v) for v in value]
    if any(nested):
        raise RError(f"{arg}: mix of numbers and lists ({value!r})")
    if n_types > 1:
        raise RError(
            f"{arg}: with {n_types} exposure types give one list per type, e.g. "
            f"[[0, 8], [0, 8]] (R's list(c(0, 8), c(0, 8))); R itself would give the i-th "
            "number to the i-th type")
    return [list(value)]


def flags(value: Any, n_types: int, arg: str) -> list[bool]:
    """R's ``sameexpopar``: TRUE by default, one logical, or one per exposure type."""
    if value is None:
        return [True] * n_types
    if isinstance(value, bool | np.bool_):
        return [bool(value)] * n_types
    vals = list(value)
    if len(vals) != n_types or not all(isinstance(v, bool | np.bool_) for v in vals):
        raise RError(f"{arg}: give True/False or one per exposure type, got {value!r}")
    return [bool(v) for v in vals]


def exposure_groups(adrug: Any, aedrug: Any, dataformat: str) -> list[list[tuple[Any, Any]]]:
    """Group the drug columns as R does: a list of exposure types, each a list of (adrug,
    aedrug) doses. ``"mmr"`` is one type; ``["rv", "rvd2"]`` is R's ``cbind(rv, rvd2)``: doses of
    one type in the ``multi`` format, separate types in the ``stack`` format; a list of lists is
    R's ``list(cbind(...), cbind(...))``."""
    def shape(x: Any) -> list[list[Any]]:
        if isinstance(x, str | int | float):
            return [[x]]
        x = list(x)
        if x and all(isinstance(v, list | tuple) for v in x):
            return [list(v) for v in x]
        if any(isinstance(v, list | tuple) for v in x):
            raise RError(f"mix of columns and lists in {x!r}")
        return [x] if dataformat == "multi" else [[v] for v in x]

    a, e = shape(adrug), shape(aedrug)
    if [len(g) for g in a] != [len(g) for g in e]:
        raise RError(f"adrug {adrug!r} and aedrug {aedrug!r} must have the same shape")
    return [list(zip(ga, ge, strict=True)) for ga, ge in zip(a, e, strict=True)]


@dataclass
class Inputs:
    """Everything :func:`analysis.sccs.intervals.build_intervals` needs, plus the events table
    in R's order (one row per distinct event, stably sorted by case) with any covariates.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.sccs import build_intervals, r
    >>> d = pd.DataFrame({"case": [1, 2, 3], "sta": 1, "end": 100, "ev": [10, 60, 80],
    ...                   "vac": [5, 10, 70]})
    >>> x = r.inputs(d, "case", "sta", "end", "ev", "vac", "vac+20")
    >>> iv = build_intervals(x.observation, x.events, x.exposures, x.covariates)
    >>> int(iv["events"].sum()), x.exposure_names
    (3, ['vac'])
    """

    observation: pd.DataFrame
    events: pd.DataFrame
    exposures: list[Exposure]
    covariates: list[Any]
    exposure_names: list[str]


def _observation(ind: pd.Series, st: np.ndarray, en: np.ndarray, names: tuple[str, str]
                 ) -> pd.DataFrame:
    bad = en < st
    if bad.any():
        raise RError(f"{_rows(bad)}, {where('aend', names[1])}: the end of observation is "
                     f"before its start ({where('astart', names[0])})")
    obs = pd.DataFrame({"id": ind.to_numpy(), "start": st, "end": en})
    first = obs.drop_duplicates("id")
    again = obs.merge(first, on="id", suffixes=("", "_first"), how="left")
    for col, arg in (("start", names[0]), ("end", names[1])):
        bad = (again[col] != again[f"{col}_first"]).to_numpy()
        if bad.any():
            which = "astart" if col == "start" else "aend"
            raise RError(
                f"{_rows(bad)}, {where(which, arg)}: differs from an earlier row of the same "
                "case; one observation period per case (astart and aend the same on every row "
                "of a case)")
    return first.reset_index(drop=True)


def _exposure(name: str, doses: list[tuple[Any, Any]], data: pd.DataFrame, ind: pd.Series,
              aend: np.ndarray, multi: bool, expogrp: list[int], washout: list[int] | None,
              same: bool) -> Exposure:
    parts = []
    for k, (a, e) in enumerate(doses):
        start = days(column(data, "adrug", a), "adrug", a, allow_na=True)
        end = days(column(data, "aedrug", e), "aedrug", e, allow_na=True)
        # R: a missing aedrug of a given adrug becomes aend (exposed to the end of observation)
        end = np.where(np.isnan(end) & ~np.isnan(start), aend, end)
        part = pd.DataFrame({"id": ind.to_numpy(), "day": start, "end": end})
        if multi:
            part["dose"] = k + 1
        parts.append(part)
    edata = pd.concat(parts, ignore_index=True).drop_duplicates()
    if not multi:
        edata = edata.dropna(subset=["day"])
    given = edata.dropna(subset=["day"])
    offsets = np.unique(given["end"].to_numpy() - given["day"].to_numpy())
    # aedrug = adrug + k for every dose: a fixed risk length; otherwise each dose's own end
    end_offset = int(offsets[0]) if len(offsets) == 1 else None
    try:
        return Exposure.from_r(name, edata, expogrp=[int(v) for v in expogrp],
                               end_offset=end_offset, washout=washout, sameexpopar=same)
    except IntervalError as exc:
        raise RError(str(exc)) from None


def _season(seasongrp: Sequence[Any], dob: Any, data: pd.DataFrame, ind: pd.Series) -> Season:
    """R's ``seasongrp`` (ddmm start days, e.g. 0101 = 1 January) with ``dob`` (ddmmyyyy)."""
    if dob is None:
        raise RError("seasongrp needs dob (date of birth as ddmmyyyy)")
    starts = []
    for s in seasongrp:
        text = f"{int(s):04d}"
        starts.append((int(text[2:]), int(text[:2])))
    raw = column(data, "dob", dob)
    text = raw.map(lambda v: "" if pd.isna(v) else (
        f"{int(v):08d}" if isinstance(v, int | float | np.integer | np.floating)
        else str(v).zfill(8)))
    born = pd.to_datetime(text, format="%d%m%Y", errors="coerce")
    bad = born.isna().to_numpy()
    if bad.any():
        raise RError(f"{_rows(bad)}, {where('dob', dob)}: {raw[bad].iloc[0]!s:.40} is not a "
                     "date written ddmmyyyy")
    origin = pd.DataFrame({"id": ind.to_numpy(),
                           "day": born.to_numpy().astype("datetime64[D]").astype(np.int64)})
    return Season(tuple(starts), origin=origin.drop_duplicates("id"), name="season")


def inputs(data: pd.DataFrame, indiv: Any, astart: Any, aend: Any, aevent: Any, adrug: Any,
           aedrug: Any, *, expogrp: Any = None, washout: Any = None, sameexpopar: Any = None,
           agegrp: Any = None, seasongrp: Any = None, dob: Any = None,
           cov: Sequence[str] = (), dataformat: str = "stack") -> Inputs:
    """R's ``formatdata`` arguments (see :func:`analysis.sccs.r.formatdata`) as the inputs of
    :func:`analysis.sccs.intervals.build_intervals`: the one translation of R's arguments,
    used by every function of :mod:`analysis.sccs.r`.

    ``cov`` lists fixed covariate columns carried on the events table. Returns an
    :class:`Inputs` (observation, events sorted by case as R numbers its strata, exposures,
    covariates, the exposure names).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"case": [2, 1, 1], "sta": 1, "end": 100, "ev": [60, 10, 40],
    ...                   "vac": [50, 5, 5]})
    >>> x = inputs(d, "case", "sta", "end", "ev", "vac", "vac+20")
    >>> x.observation
       id  start  end
    0   2      1  100
    1   1      1  100
    >>> x.events.to_dict("list")
    {'id': [1, 1, 2], 'day': [10, 40, 60]}
    >>> x.exposures[0].windows
    ((0, 20),)
    """
    if not isinstance(data, pd.DataFrame):
        raise RError(f"data: expected a pandas DataFrame, got {type(data).__name__}")
    if dataformat not in ("stack", "multi"):
        raise RError(f"dataformat: 'stack' or 'multi', got {dataformat!r}")
    if len(data) == 0:
        raise RError("data: no rows")
    data = data.reset_index(drop=True)
    ind = column(data, "indiv", indiv)
    if ind.isna().any():
        raise RError(f"{_rows(ind.isna().to_numpy())}, {where('indiv', indiv)}: missing case "
                     "id; every row needs one")
    st = days(column(data, "astart", astart), "astart", astart)
    en = days(column(data, "aend", aend), "aend", aend)
    ev = days(column(data, "aevent", aevent), "aevent", aevent)
    obs = _observation(ind, st, en, (str(astart), str(aend)))
    outside = (ev < st) | (ev > en)
    if outside.any():
        import warnings

        warnings.warn(f"{_rows(outside)}, {where('aevent', aevent)}: event outside the "
                      f"observation period ({where('astart', astart)} to "
                      f"{where('aend', aend)}); it adds nothing to the likelihood, as in R",
                      RWarning, stacklevel=3)
    events = pd.DataFrame({"id": ind.to_numpy(), "day": ev})
    for c in cov:
        values = column(data, "formula", c)
        if values.isna().any():
            raise RError(f"{_rows(values.isna().to_numpy())}, {where('formula', c)}: missing "
                         "value; a covariate of the formula needs a value on every row")
        events[c] = values.to_numpy()
    events = events.drop_duplicates()
    twice = events.duplicated(["id", "day"], keep=False).to_numpy()
    if twice.any():
        raise RError(f"covariates {list(cov)} differ between rows of the same event "
                     f"(case {events['id'].to_numpy()[twice][0]!r}, day "
                     f"{events['day'].to_numpy()[twice][0]}): a covariate is one value per event")
    events = events.sort_values("id", kind="stable").reset_index(drop=True)

    groups = exposure_groups(adrug, aedrug, dataformat)
    n = len(groups)
    expo = per_type(expogrp, n, "expogrp", [0])
    wash = per_type(washout, n, "washout", None)
    same = flags(sameexpopar, n, "sameexpopar")
    exposures = []
    for g, e, w, s in zip(groups, expo, wash, same, strict=True):
        name = first_name(g[0][0])
        exposures.append(_exposure(name, g, data, ind, en, dataformat == "multi", e, w, s))
    covariates: list[Any] = []
    if seasongrp is not None and len(list(np.atleast_1d(seasongrp))):
        covariates.append(_season(list(np.atleast_1d(seasongrp)), dob, data, ind))
    ages = [] if agegrp is None else [int(v) for v in np.atleast_1d(agegrp)]
    covariates.append(AgeGroups(tuple(ages), name="age"))
    names = [x.name for x in exposures]
    if len(set(names)) < len(names):
        raise RError(f"adrug: two exposure types are named alike ({names})")
    return Inputs(obs, events, exposures, covariates, names)
