"""R's argument conventions (``indiv``, ``astart``, ``adrug``, ``expogrp``, ...) turned into the
inputs of :func:`analysis.sccs.intervals.build_intervals`, with the input checks.

Private to :mod:`analysis.sccs.r`. Every error is an :class:`RError` naming the argument, the
column (or expression), the row as a spreadsheet shows it (header = row 1) and the rule broken.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from analysis.sccs.errors import SCCSError, SCCSWarning
from analysis.sccs.intervals import AgeGroups, Exposure, IntervalError, Season
from analysis.sccs.r._units import assign, codes, r_pairing


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

#: The ``pairing`` values and what a warning says each does where a case's rows disagree.
PAIRINGS = {
    "r": (" and, as in R 1.7 (pairing='r'), the event on a case's k-th row takes the case's k-th "
          "earliest exposure, which is not always its own row's (pairing='row' gives each event "
          "its own row's)"),
    "row": (" from its own rows (pairing='row'; R 1.7 gives the event on a case's k-th row the "
            "case's k-th earliest exposure: pairing='r')"),
}

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


def whole_numbers(values: Any, arg: str, *, increasing: bool = False) -> list[int]:
    """R's ``c(...)`` of whole numbers (days), checked: ``arg`` names the argument in the
    message."""
    items = list(np.atleast_1d(np.asarray(values, dtype=object)).ravel()) \
        if not isinstance(values, str) else [values]
    out = []
    for v in items:
        v = v.item() if isinstance(v, np.generic) else v
        ok = isinstance(v, int | float) and not isinstance(v, bool)
        if not ok or not np.isfinite(v) or v != round(v):
            raise RError(f"{arg}: {v!r} is not a whole number (days are whole numbers), in "
                         f"{values!r}")
        out.append(int(v))
    if increasing and any(b <= a for a, b in pairwise(out)):
        raise RError(f"{arg}: {values!r} must be increasing (each value after the one before)")
    return out


def number(value: Any, arg: str, *, low: float = -np.inf, high: float = np.inf) -> float:
    """One number argument, checked (``arg`` names it in the message)."""
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    if not ok or not low <= float(value) <= high:
        where_ = f" between {low:g} and {high:g}" if np.isfinite([low, high]).any() else ""
        raise RError(f"{arg}: expected a number{where_}, got {value!r}")
    return float(value)


def age_cuts(agegrp: Any) -> list[int]:
    """R's ``agegrp``: whole numbers, distinct (R's ``cut`` fails on repeated breaks)."""
    if agegrp is None:
        return []
    ages = whole_numbers(agegrp, "agegrp")
    if len(set(ages)) < len(ages):
        raise RError(f"agegrp: {agegrp!r} repeats a value (R's cut: 'breaks' are not unique)")
    return ages


def _washout(values: Any) -> list[int]:
    w = whole_numbers(values, "washout", increasing=True)
    if len(w) < 2 or w[0] < 1:
        raise RError(f"washout: {values!r} needs at least 2 values, the first >= 1 (the first "
                     "days of the washout periods after aedrug, then the last day of the last)")
    return w


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
    def shape(x: Any, arg: str) -> list[list[Any]]:
        if isinstance(x, str | int | float):
            return [[x]]
        if not isinstance(x, list | tuple) or not x:
            raise RError(f"{arg}: expected a column name, an expression or a list of them, "
                         f"got {x!r}")
        if all(isinstance(v, list | tuple) for v in x):
            if any(not v for v in x):
                raise RError(f"{arg}: an empty list of columns in {x!r}")
            return [list(v) for v in x]
        if any(isinstance(v, list | tuple) for v in x):
            raise RError(f"{arg}: mix of columns and lists in {x!r}")
        return [list(x)] if dataformat == "multi" else [[v] for v in x]

    a, e = shape(adrug, "adrug"), shape(aedrug, "aedrug")
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
    case_of: pd.Series | None = None

    def case_ids(self, ids: Any) -> np.ndarray:
        """The case (R's ``indiv``) of each id of :attr:`observation` (ids are case ids unless
        some case's event rows disagree; see :attr:`case_of`)."""
        ids = np.asarray(ids)
        return ids if self.case_of is None else self.case_of.reindex(ids).to_numpy()

    def first_events(self) -> Inputs:
        """One unit per case, that of the case's first row (R 1.7's ``eventdepenexp`` takes
        the exposures of a case's first row and its earliest event day), for the models that use
        each case's first event only (``eventdepenexp``, ``eventdepenobs``); ids are the case
        ids, every event of the case is kept."""
        if self.case_of is None:
            return self
        # units are numbered case by case in order of first appearance: the first is the
        # unit of the case's first row
        units = pd.Index(self.case_of.index[~self.case_of.duplicated()])

        def relabel(df: pd.DataFrame, only: bool = True) -> pd.DataFrame:
            df = df[df["id"].isin(units)] if only else df
            return df.assign(id=self.case_ids(df["id"]))

        obs = relabel(self.observation)
        events = relabel(self.events, only=False).sort_values("id", kind="stable")
        exposures = [dataclasses.replace(x, data=relabel(x.data)) for x in self.exposures]
        covariates = [dataclasses.replace(c, origin=relabel(c.origin))
                      if getattr(c, "origin", None) is not None else c for c in self.covariates]
        return Inputs(obs.reset_index(drop=True), events.reset_index(drop=True), exposures,
                      covariates, self.exposure_names)


def _observation(ind: pd.Series, event: np.ndarray, st: np.ndarray, en: np.ndarray,
                 names: tuple[str, str]) -> None:
    """Check the observation period: ``aend >= astart``, one period per event."""
    bad = en < st
    if bad.any():
        raise RError(f"{_rows(bad)}, {where('aend', names[1])}: the end of observation is "
                     f"before its start ({where('astart', names[0])})")
    for col, arg, values in (("astart", names[0], st), ("aend", names[1], en)):
        first = pd.Series(values).groupby(event).transform("first").to_numpy()
        bad = values != first
        if bad.any():
            raise RError(
                f"{_rows(bad)}, {where(col, arg)}: differs from an earlier row of the same "
                "event (same case and event day); one observation period per event (astart and "
                "aend the same on every row of an event)")


def _dose_days(doses: list[tuple[Any, Any]], data: pd.DataFrame, aend: np.ndarray
               ) -> list[tuple[np.ndarray, np.ndarray]]:
    """(first day, last day of the risk period) of each dose column, per row (NaN = none)."""
    out = []
    for a, e in doses:
        start = days(column(data, "adrug", a), "adrug", a, allow_na=True)
        end = days(column(data, "aedrug", e), "aedrug", e, allow_na=True)
        # R: a missing aedrug of a given adrug becomes aend (exposed to the end of observation)
        out.append((start, np.where(np.isnan(end) & ~np.isnan(start), aend, end)))
    return out


def _exposure(name: str, dose_days: list[tuple[np.ndarray, np.ndarray]], unit: pd.Series,
              multi: bool, expogrp: list[int], washout: list[int] | None,
              same: bool) -> Exposure:
    parts = []
    for k, (start, end) in enumerate(dose_days):
        part = pd.DataFrame({"id": unit.to_numpy(), "day": start, "end": end})
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


def _entries(per_type: list[list[tuple[np.ndarray, np.ndarray]]]) -> pd.DataFrame:
    """Every row's exposures as one long table: ``row, type, dose, day, end``."""
    parts = [pd.DataFrame({"row": np.arange(len(start)), "type": t, "dose": k, "day": start,
                           "end": end})
             for t, doses in enumerate(per_type) for k, (start, end) in enumerate(doses)]
    return pd.concat(parts, ignore_index=True)


def _seasons(seasongrp: Any, dob: Any) -> list[tuple[int, int]]:
    """R's ``seasongrp`` (ddmm start days, e.g. 0101 = 1 January) as (month, day)."""
    if dob is None:
        raise RError("seasongrp needs dob (date of birth as ddmmyyyy)")
    given = [v.strip() if isinstance(v, str) else v for v in np.atleast_1d(seasongrp).tolist()]
    starts = []
    for s in whole_numbers([int(v) if isinstance(v, str) and v.isdigit() else v for v in given],
                           "seasongrp"):
        month, day = s % 100, s // 100
        try:
            pd.Timestamp(year=2001, month=month, day=day)
        except ValueError:
            raise RError(f"seasongrp: {s:04d} is not a day written ddmm (0101 = 1 January)"
                         ) from None
        starts.append((month, day))
    return starts


def _birth_days(dob: Any, data: pd.DataFrame) -> np.ndarray:
    """``dob`` (ddmmyyyy) as day numbers since 1970-01-01."""
    raw = column(data, "dob", dob)
    text = raw.map(lambda v: "" if pd.isna(v) else (
        f"{int(v):08d}" if isinstance(v, int | float | np.integer | np.floating)
        else str(v).zfill(8)))
    born = pd.to_datetime(text, format="%d%m%Y", errors="coerce")
    bad = born.isna().to_numpy()
    if bad.any():
        raise RError(f"{_rows(bad)}, {where('dob', dob)}: {raw[bad].iloc[0]!s:.40} is not a "
                     "date written ddmmyyyy")
    return born.to_numpy().astype("datetime64[D]").astype(np.int64)


def inputs(data: pd.DataFrame, indiv: Any, astart: Any, aend: Any, aevent: Any, adrug: Any,
           aedrug: Any, *, expogrp: Any = None, washout: Any = None, sameexpopar: Any = None,
           agegrp: Any = None, seasongrp: Any = None, dob: Any = None,
           cov: Sequence[str] = (), dataformat: str = "stack", pairing: str = "r") -> Inputs:
    """R's ``formatdata`` arguments (see :func:`analysis.sccs.r.formatdata`) as the inputs of
    :func:`analysis.sccs.intervals.build_intervals`: the one translation of R's arguments,
    used by every function of :mod:`analysis.sccs.r`.

    ``cov`` lists fixed covariate columns carried on the events table. ``pairing``: which
    exposures go with an event where a case's rows disagree: ``"r"`` (default) as R 1.7, the
    event on a case's k-th row takes the case's k-th earliest exposure (events on one row each;
    see :mod:`analysis.sccs.r._units`); ``"row"``: the exposures on the event's own rows. Returns an
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
    event = codes(ind.to_numpy(), ev)
    _observation(ind, event, st, en, (str(astart), str(aend)))
    _outside(ev, st, en, aevent, astart, aend)

    groups = exposure_groups(adrug, aedrug, dataformat)
    n = len(groups)
    expo = [whole_numbers(e, "expogrp", increasing=True)
            for e in per_type(expogrp, n, "expogrp", [0])]
    wash = [None if w is None else _washout(w) for w in per_type(washout, n, "washout", None)]
    same = _stack_same(flags(sameexpopar, n, "sameexpopar"), dataformat)
    names = [first_name(g[0][0]) for g in groups]
    if len(set(names)) < len(names):
        raise RError(f"adrug: two exposure types are named alike ({names})")
    dose_days = [_dose_days(g, data, en) for g in groups]
    if pairing not in PAIRINGS:
        raise RError(f"pairing: {' or '.join(map(repr, PAIRINGS))} (how a case's exposures go "
                     f"with its events where its rows disagree), got {pairing!r}")
    how = PAIRINGS[pairing]
    if pairing == "r":
        own, dose_days = dose_days, r_pairing(ind, event, dose_days)
        moved = np.zeros(len(data), bool)
        for a, b in zip(own, dose_days, strict=True):
            for (s0, _), (s1, _) in zip(a, b, strict=True):
                moved |= ~((s0 == s1) | (np.isnan(s0) & np.isnan(s1)))
        n_moved = ind[moved].nunique()
        how += f"; that differs from the rows' own for {n_moved} of them" if n_moved else ""
    season = (None if seasongrp is None or not len(list(np.atleast_1d(seasongrp)))
              else _seasons(seasongrp, dob))
    per_event = {"astart": st, "aend": en}
    if season is not None:
        per_event["dob"] = _birth_days(dob, data)
    said = {"exposures": f"adrug/aedrug ({', '.join(names)})", "astart": f"astart ({astart})",
            "aend": f"aend ({aend})", "dob": f"dob ({dob})"}
    units = assign(ind, event, _entries(dose_days), per_event, said, how)
    uid = units.row_unit
    obs = pd.DataFrame({"id": uid.to_numpy(), "start": st, "end": en}).drop_duplicates("id")
    exposures = [_exposure(name, d, uid, dataformat == "multi", e, w, s)
                 for name, d, e, w, s in zip(names, dose_days, expo, wash, same, strict=True)]
    covariates: list[Any] = []
    if season is not None:
        origin = pd.DataFrame({"id": uid.to_numpy(), "day": per_event["dob"]})
        covariates.append(Season(tuple(season), origin=origin.drop_duplicates("id"),
                                 name="season"))
    ages = age_cuts(agegrp)
    covariates.append(AgeGroups(tuple(ages), name="age"))
    return Inputs(obs.reset_index(drop=True), _events(data, uid, ev, cov), exposures,
                  covariates, names, units.case_of)


def _outside(ev: np.ndarray, st: np.ndarray, en: np.ndarray, aevent: Any, astart: Any,
             aend: Any) -> None:
    """Warn about events outside their observation period (R keeps them, without effect)."""
    outside = (ev < st) | (ev > en)
    if outside.any():
        warnings.warn(f"{_rows(outside)}, {where('aevent', aevent)}: event outside the "
                      f"observation period ({where('astart', astart)} to "
                      f"{where('aend', aend)}); it adds nothing to the likelihood, as in R",
                      RWarning, stacklevel=4)


def _stack_same(same: list[bool], dataformat: str) -> list[bool]:
    """R's ``formatdata`` reads ``sameexpopar`` in the multi format only (in the stack format
    every episode of a type shares its parameters): FALSE there is ignored, with a warning."""
    if dataformat == "stack" and not all(same):
        warnings.warn("sameexpopar: FALSE has no effect in the stack format (R's formatdata "
                      "reads it in the multi format only: there each dose column gets its own "
                      "parameters); every episode of an exposure type shares its parameters, as "
                      "in R. For one set per dose, give the doses as columns with "
                      "dataformat='multi'", SCCSWarning, stacklevel=4)
    return [True] * len(same) if dataformat == "stack" else same


def _events(data: pd.DataFrame, uid: pd.Series, ev: np.ndarray, cov: Sequence[str]
            ) -> pd.DataFrame:
    """One row per distinct event (unit, day, covariates), stably sorted as R numbers them."""
    events = pd.DataFrame({"id": uid.to_numpy(), "day": ev})
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
    return events.sort_values("id", kind="stable").reset_index(drop=True)
