"""Per-individual intervals of constant covariates for self-controlled case series (generic).

This module turns observation periods, dated exposures with risk windows and time-varying
covariates into the interval table an SCCS fit needs: one row per (individual, stretch of days
on which every covariate is constant), with its length in days and its number of events. It
knows nothing of any particular study; the study module chooses the windows.

Day conventions
---------------
* Every day is an integer "day number" on one time axis (calendar days since 1970-01-01, or
  ages in days, as in the R package SCCS). All periods are whole days, **both ends inclusive**:
  an interval ``start .. end`` has ``days = end - start + 1``.
* Internally a period is cut at *cut points*: a cut ``c`` is a boundary after day ``c``, so the
  interval after cut ``c'`` and up to cut ``c`` covers days ``c' + 1 .. c``. Observation
  ``start .. end`` gives the cuts ``start - 1`` and ``end``. This is the convention of
  ``formatdata`` in the R package SCCS 1.7 (Farrington, Whitaker, Ghebremichael-Weldeselassie).
* An event counts on its day; several events on one day count several times; events outside an
  individual's observation period (or of an unknown individual) are dropped and counted in
  ``result.attrs["events_dropped"]``.

Exposure level coding (one ``int16`` column per exposure, named ``Exposure.name``)
-----------------------------------------------------------------------------------
* ``0``: unexposed (the reference level): every day outside risk and washout windows;
* ``1 .. m``: the risk windows, in the order given;
* ``m + 1 .. m + w``: the washout windows, in the order given;
* with ``dose_levels=True`` (R's ``sameexpopar = FALSE``) dose ``k`` (1-based ``dose`` column)
  uses the levels ``(k - 1) * (m + w) + 1 .. k * (m + w)``.
* A pre-exposure window is a separate ``int8`` 0/1 column ``<name>_pre``; exposure (any non-zero
  level) takes precedence over it.

Repeated exposures follow R's rule: the cut points of one exposure type are listed exposure by
exposure (in ``dose`` order, else by day); each cut is replaced by the minimum of itself and the
next cut in the list (same individual), so a later exposure truncates the earlier one's windows
and restarts its own risk clock. With a single risk window of fixed length this gives exactly
the union of the windows ("windows that touch or overlap merge"), clipped to the observation
period. (With an ``end`` column, a later exposure's end rules: an episode nested in an earlier,
longer one ends the exposure at its own end, as in R's multi format.)

Rows are **not merged** by default: every cut point that R's ``formatdata`` would create is kept,
so adjacent rows can have identical covariates (this reproduces R's interval files row for row;
the likelihood is unchanged). ``build_intervals(..., merge=True)`` merges such rows. Totals of
``days`` and ``events`` are the same either way.

Relation to R's ``formatdata`` (SCCS 1.7)
-----------------------------------------
:func:`to_event_strata` turns the per-individual table into R's per-event layout (one stratum
``indivL`` per event, each a full copy of the individual's intervals); the tests reproduce every
interval file in ``data/external/sccs-r/intervals`` row for row that way. Differences, all
deliberate: intervals are per individual (R repeats them per event); several events on one day
count several times (R keeps one; ``to_event_strata(unique_days=True)`` does the same); an
exposure's ``end`` stays paired with its own start (R's stack format sorts starts and ends
separately, which differs only for overlapping episodes with explicit ends); every event of an
individual sees all of that individual's exposures (R 1.7's stack-format quirk with several events
and episodes is not copied; where R gives an individual's events different exposures, as with
rows that disagree, :mod:`analysis.sccs.r` passes each set as an individual of its own); an
``agegrp``-style cut equal to the first or last day is allowed.

Everything is vectorised: inputs become ``(individual index, day)`` arrays, cut points are sorted
on one int64 key ``index * stride + day`` and covariate values are found with ``searchsorted``;
there is no Python loop over individuals or days.

Examples
--------
One individual observed on days 0..99 with an exposure on day 40 opening a 30-day risk window,
and events on days 10 and 50:

>>> import pandas as pd
>>> from analysis.sccs.intervals import Exposure, build_intervals
>>> observation = pd.DataFrame({"id": [1], "start": [0], "end": [99]})
>>> events = pd.DataFrame({"id": [1, 1], "day": [10, 50]})
>>> vaccine = Exposure("vaccine", pd.DataFrame({"id": [1], "day": [40]}), windows=((0, 29),))
>>> build_intervals(observation, events, [vaccine])
   id  start  end  days  events  vaccine
0   1      0   39    40       1        0
1   1     40   69    30       1        1
2   1     70   99    30       0        0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.sccs.errors import SCCSError

__all__ = [
    "AgeGroups",
    "Covariate",
    "EventWindow",
    "Exposure",
    "IntervalError",
    "Season",
    "StepCovariate",
    "build_intervals",
    "to_event_strata",
]

#: The names of the fixed columns of :func:`build_intervals`'s output.
BASE_COLUMNS = ("id", "start", "end", "days", "events")


class IntervalError(SCCSError):
    """Bad input to :func:`build_intervals`; the message names the table, row and column.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.sccs.intervals import IntervalError, build_intervals
    >>> try:
    ...     build_intervals(pd.DataFrame({"id": [1], "start": [0]}), pd.DataFrame())
    ... except IntervalError as e:
    ...     print(str(e)[:40])
    observation: missing column(s) end
    """


# --------------------------------------------------------------------------------------------
# Specifications
# --------------------------------------------------------------------------------------------


Window = tuple[int, int | None]


@dataclass(frozen=True)
class Exposure:
    """One exposure type: dated exposures, each followed by risk (and washout) windows.

    Parameters
    ----------
    name:
        Output column name (the exposure level, see the module docstring for the coding).
    data:
        One row per exposure: ``id``, ``day`` (first day of the exposure, day 0 of its windows).
        Optional ``end``: the exposure's own last day (R's ``aedrug``), used when the last risk
        window's last offset is ``None``. Optional ``dose`` (1, 2, ...): the dose number; the
        windows of an individual's exposures are listed in dose order (else in day order), and
        ``dose_levels=True`` gives each dose its own levels. A missing ``day`` (NaN) is a
        placeholder for a missing dose (R's ``NA``): it exposes nothing.
    windows:
        Consecutive risk windows as inclusive ``(first, last)`` day offsets from ``day``: day
        ``day + first .. day + last`` has level ``i`` for the i-th window. ``((0, 29),)`` is
        "30 days beginning on the exposure day". Windows must be increasing; a gap between two
        windows is unexposed (level 0), as are the days before the first window. The last
        window's ``last`` may be ``None``: it then ends on the row's ``end`` day.
    washout:
        Windows after the end ``E`` of the risk period (the last risk day), as inclusive offsets
        from ``E``: ``((1, 91), (92, 182))`` is R's ``washout = c(1, 92, 182)``. Offsets >= 1.
    pre_window:
        ``W`` > 0 gives the 0/1 column ``<name>_pre``: days ``f - W .. f - 1`` where ``f`` is the
        individual's earliest exposure day (even one outside observation), clipped to
        observation; any exposure level takes precedence over it.
    dose_levels:
        R's ``sameexpopar = FALSE``: dose ``k`` uses its own levels (needs a ``dose`` column).

    Examples
    --------
    Two risk windows, days 0-14 (level 1) and 15-42 (level 2) after each exposure, and a
    14-day pre-exposure window:

    >>> import pandas as pd
    >>> from analysis.sccs.intervals import Exposure, build_intervals
    >>> spec = Exposure("mmr", pd.DataFrame({"id": [1], "day": [100]}),
    ...                 windows=((0, 14), (15, 42)), pre_window=14)
    >>> spec.n_levels
    2
    >>> build_intervals(pd.DataFrame({"id": [1], "start": [0], "end": [199]}),
    ...                 pd.DataFrame({"id": [1], "day": [120]}), [spec])
       id  start  end  days  events  mmr  mmr_pre
    0   1      0   85    86       0    0        0
    1   1     86   99    14       0    0        1
    2   1    100  114    15       0    1        0
    3   1    115  142    28       1    2        0
    4   1    143  199    57       0    0        0
    """

    name: str
    data: pd.DataFrame
    windows: tuple[Window, ...] = ((0, 29),)
    washout: tuple[tuple[int, int], ...] = ()
    pre_window: int | None = None
    dose_levels: bool = False

    @classmethod
    def from_r(
        cls,
        name: str,
        data: pd.DataFrame,
        *,
        expogrp: Sequence[int] = (0,),
        end_offset: int | None = None,
        washout: Sequence[int] | None = None,
        sameexpopar: bool = True,
        pre_window: int | None = None,
    ) -> Exposure:
        """Build an exposure from the arguments of R SCCS's ``formatdata``.

        ``expogrp`` are the first days of the consecutive risk windows (offsets from ``adrug``);
        the last window runs to ``aedrug`` = ``day + end_offset``, or to the ``end`` column when
        ``end_offset`` is None. ``washout = (w1, ..., wn)``: w1 .. w(n-1) are the first days of
        washout windows counted from ``aedrug``, wn the last day of the last one (n >= 2).

        Examples
        --------
        R's ``expogrp = c(0, 15, 29)`` with ``aedrug = adrug + 42``:

        >>> import pandas as pd
        >>> from analysis.sccs.intervals import Exposure
        >>> spec = Exposure.from_r("mmr", pd.DataFrame({"id": [1], "day": [0]}),
        ...                        expogrp=(0, 15, 29), end_offset=42)
        >>> spec.windows
        ((0, 14), (15, 28), (29, 42))
        """
        e = [int(v) for v in expogrp]
        windows: list[Window] = [(e[i], e[i + 1] - 1) for i in range(len(e) - 1)]
        windows.append((e[-1], end_offset))
        wash: list[tuple[int, int]] = []
        if washout is not None and len(washout) > 0:
            w = [int(v) for v in washout]
            if len(w) < 2:
                raise IntervalError(f"exposure {name!r}: R washout needs at least 2 values")
            wash = [(w[i], w[i + 1] - 1) for i in range(len(w) - 2)] + [(w[-2], w[-1])]
        return cls(name, data, tuple(windows), tuple(wash), pre_window, not sameexpopar)

    @property
    def n_levels(self) -> int:
        """Levels per dose: risk windows plus washout windows.

        Examples
        --------
        >>> import pandas as pd
        >>> from analysis.sccs.intervals import Exposure
        >>> Exposure("x", pd.DataFrame({"id": [], "day": []}), windows=((0, 6),),
        ...          washout=((1, 30),)).n_levels
        2
        """
        return len(self.windows) + len(self.washout)


@dataclass(frozen=True)
class StepCovariate:
    """A measured value carried forward from each measurement day (e.g. a lab level).

    ``data``: ``id``, ``day``, ``value``. The value on day ``d`` is that of the latest measurement
    on or before ``d`` (several on one day: the last row in input order wins). Before the first
    measurement the value is ``initial`` (a DataFrame ``id``, ``value``) if given for the
    individual, else NaN (unknown). Output column ``name`` (float). For each threshold ``t`` an
    extra column ``<name>_below_<t>`` is 1.0 when the value is ``< t``, 0.0 when ``>= t`` and NaN
    when unknown.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.sccs.intervals import StepCovariate, build_intervals
    >>> lab = StepCovariate("level", pd.DataFrame({"id": [1, 1], "day": [10, 30],
    ...                                            "value": [3.0, 6.0]}), thresholds=(4.0,))
    >>> build_intervals(pd.DataFrame({"id": [1], "start": [0], "end": [49]}),
    ...                 pd.DataFrame({"id": [1], "day": [20]}), covariates=[lab])
       id  start  end  days  events  level  level_below_4
    0   1      0    9    10       0    NaN            NaN
    1   1     10   29    20       1    3.0            1.0
    2   1     30   49    20       0    6.0            0.0
    """

    name: str
    data: pd.DataFrame
    initial: pd.DataFrame | None = None
    thresholds: tuple[float, ...] = ()


@dataclass(frozen=True)
class EventWindow:
    """0/1 column: day ``d`` is in the window when ``p <= d <= p + length - 1`` for some dated
    event ``p`` of the individual (``data``: ``id``, ``day``); overlapping windows form a union.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.sccs.intervals import EventWindow, build_intervals
    >>> after = EventWindow("after_surgery", pd.DataFrame({"id": [1], "day": [20]}), length=10)
    >>> build_intervals(pd.DataFrame({"id": [1], "start": [0], "end": [49]}),
    ...                 pd.DataFrame({"id": [1], "day": [25]}), covariates=[after])
       id  start  end  days  events  after_surgery
    0   1      0   19    20       0              0
    1   1     20   29    10       1              1
    2   1     30   49    20       0              0
    """

    name: str
    data: pd.DataFrame
    length: int = 30


@dataclass(frozen=True)
class Season:
    """Calendar season levels 1..k (R's ``seasongrp``).

    ``starts``: the (month, day) on which each season begins, e.g. ``((4, 1), (10, 1))``. Level 1
    is the season starting earliest in the calendar year; a date before the first start belongs to
    the last level (seasons wrap round the year). Calendar date of day ``d``: ``origin + d`` days
    after 1970-01-01, where ``origin`` is 0 (day numbers are calendar day numbers) or, per
    individual, the ``day`` column of the DataFrame ``origin`` (``id``, ``day``: the calendar day
    number of the individual's day 0, e.g. the birth date on an age axis). 29 February may not be
    a season start.

    Examples
    --------
    Summer (April-September) and winter, on calendar day numbers (day 0 = 1970-01-01):

    >>> import pandas as pd
    >>> from analysis.sccs.intervals import Season, build_intervals
    >>> build_intervals(pd.DataFrame({"id": [1], "start": [0], "end": [364]}),
    ...                 pd.DataFrame({"id": [1], "day": [100]}),
    ...                 covariates=[Season(((4, 1), (10, 1)))])
       id  start  end  days  events  season
    0   1      0   89    90       0       2
    1   1     90  272   183       1       1
    2   1    273  364    92       0       2
    """

    starts: tuple[tuple[int, int], ...]
    origin: pd.DataFrame | None = None
    name: str = "season"


@dataclass(frozen=True)
class AgeGroups:
    """Age group levels (R's ``agegrp``): each cut ``g`` is the first age of the next group.

    The group of an age ``a`` is ``1 + #{g in cuts : g <= a}`` (global numbering: an individual
    observed only from group 3 on has no group 1 or 2). Age of day ``d`` is ``d - origin`` where
    ``origin`` is 0 (the time axis is age) or the ``day`` column of the DataFrame ``origin``
    (``id``, ``day``: the day number of the individual's birth).

    The groups are levels, not a parametrisation: in the Python API the reference is the level
    passed to :func:`analysis.sccs.dummies` (usually the lowest group with time, so a first
    group before every observation period simply has no column). R's ``standardsccs`` keeps
    every group with group 1 as its reference even when it is empty, which aliases its last
    group; :func:`analysis.sccs.r.standardsccs` reports that parametrisation.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.sccs.intervals import AgeGroups, build_intervals
    >>> build_intervals(pd.DataFrame({"id": [1], "start": [366], "end": [730]}),
    ...                 pd.DataFrame({"id": [1], "day": [400]}),
    ...                 covariates=[AgeGroups((427, 549))])
       id  start  end  days  events  age
    0   1    366  426    61       1    1
    1   1    427  548   122       0    2
    2   1    549  730   182       0    3
    """

    cuts: tuple[int, ...]
    origin: pd.DataFrame | None = None
    name: str = "age"


Covariate = StepCovariate | EventWindow | Season | AgeGroups


# --------------------------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------------------------


def _require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise IntervalError(f"{what}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise IntervalError(f"{what}: missing column(s) {', '.join(missing)}")


def _days(values: pd.Series, what: str, column: str, *, allow_na: bool = False) -> np.ndarray:
    """Integer day numbers from a column: int64, or float64 with NaN for missing values when
    ``allow_na`` (and some are missing)."""
    if pd.api.types.is_integer_dtype(values.dtype) and not pd.api.types.is_extension_array_dtype(
        values.dtype
    ):
        return values.to_numpy(dtype=np.int64)
    arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    bad = ~np.isfinite(arr) & values.notna().to_numpy()
    bad |= np.isfinite(arr) & (arr != np.round(arr))
    if not allow_na:
        bad |= np.isnan(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise IntervalError(
            f"{what}, row {i + 2}, column {column}: not a whole day number ({values.iloc[i]!r})"
        )
    if allow_na and np.isnan(arr).any():
        return arr
    return arr.astype(np.int64)


class _Frame:
    """Observation periods as arrays, plus the int64 key ``index * stride + (day - base)``."""

    def __init__(self, observation: pd.DataFrame):
        _require(observation, ("id", "start", "end"), "observation")
        self.ids = observation["id"].to_numpy()
        self.index = pd.Index(observation["id"])
        if not self.index.is_unique:
            dup = self.index.duplicated()
            i = int(np.flatnonzero(dup)[0])
            raise IntervalError(
                f"observation, row {i + 2}, column id: duplicate id {self.ids[i]!r} "
                "(one observation period per id)"
            )
        self.start = _days(observation["start"], "observation", "start")
        self.end = _days(observation["end"], "observation", "end")
        bad = self.end < self.start
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise IntervalError(
                f"observation, row {i + 2}, column end: before start "
                f"({self.end[i]} < {self.start[i]})"
            )
        self.n = len(self.ids)
        lo = int(self.start.min()) if self.n else 0
        hi = int(self.end.max()) if self.n else 0
        self.base = lo - 2  # every day we look up is >= lo - 1 > base
        self.stride = hi - self.base + 2  # offsets clipped to [0, stride - 1]; days <= hi + 1

    def lookup(self, ids: pd.Series) -> np.ndarray:
        """Row index in the observation table (-1 for unknown ids)."""
        return self.index.get_indexer(ids)

    def key(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        off = np.clip(np.asarray(day, dtype=np.int64) - self.base, 0, self.stride - 1)
        return idx.astype(np.int64) * self.stride + off

    def known(
        self, df: pd.DataFrame, what: str, *, allow_na: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(idx, day, keep) for the rows of ``df`` whose id is observed (others are ignored);
        ``keep`` is the boolean mask of those rows."""
        _require(df, ("id", "day"), what)
        idx = self.lookup(df["id"])
        day = _days(df["day"], what, "day", allow_na=allow_na)
        keep = idx >= 0
        return idx[keep], day[keep], keep

    def origin(self, df: pd.DataFrame | None, what: str) -> np.ndarray:
        """Per-individual origin day (0 when ``df`` is None); every observed id needs one."""
        if df is None:
            return np.zeros(self.n, dtype=np.int64)
        idx, day, _ = self.known(df, what)
        out = np.zeros(self.n, dtype=np.int64)
        have = np.zeros(self.n, dtype=bool)
        out[idx] = day
        have[idx] = True
        if not have.all():
            i = int(np.flatnonzero(~have)[0])
            raise IntervalError(f"{what}: no origin day for id {self.ids[i]!r}")
        return out


def _order(*keys: np.ndarray) -> np.ndarray | None:
    """Stable indirect sort by several int64 keys, the first being the primary one (like
    ``np.lexsort(keys[::-1])``, which is several times slower): the keys are packed into one int64
    when their ranges allow it. None when the rows are already in order."""
    n = len(keys[0])
    if n == 0:
        return None
    packed = np.zeros(n, dtype=np.int64)
    span = 1
    for k in reversed(keys):
        lo, hi = int(k.min()), int(k.max())
        width = hi - lo + 1
        if span * width >= 2**62:
            return np.lexsort(keys[::-1])
        packed += (k - lo) * span
        span *= width
    if (packed[1:] >= packed[:-1]).all():
        return None
    return np.argsort(packed, kind="stable")


@dataclass
class _Query:
    """The intervals being built: individual index, last day, key of the last day, and the key of
    the individual's day ``base`` (the smallest key an individual can have)."""

    idx: np.ndarray
    upper: np.ndarray
    keys: np.ndarray
    floor: np.ndarray


def _group_lookup(keys: np.ndarray, q: _Query, side: str) -> tuple[np.ndarray, np.ndarray]:
    """Position of the last key < (side='left') or <= (side='right') each interval's key, within
    the same individual; returns (pos, valid)."""
    if len(keys) == 0:
        return np.zeros(len(q.keys), np.intp), np.zeros(len(q.keys), bool)
    if 4 * len(keys) < len(q.keys):
        # few keys: place each key among the (sorted) interval keys and count, O(n) not O(n log m)
        j = np.searchsorted(q.keys, keys, side="right" if side == "left" else "left")
        pos = np.bincount(j, minlength=len(q.keys) + 1)[: len(q.keys)]
        np.cumsum(pos, out=pos)
    else:
        pos = np.searchsorted(keys, q.keys, side=side)
    pos -= 1
    np.maximum(pos, 0, out=pos)  # -1 (no key below) becomes 0, and the test below fails there
    found = keys[pos]
    valid = found < q.keys if side == "left" else found <= q.keys
    valid &= found >= q.floor  # the key belongs to the same individual
    return pos, valid


# --------------------------------------------------------------------------------------------
# Exposures
# --------------------------------------------------------------------------------------------


@dataclass
class _ExposureCuts:
    spec: Exposure
    cut_keys: np.ndarray  # keys of the cut points inside observation
    keys: np.ndarray  # per cut in list order: key of the suffix minimum of the cuts
    levels: np.ndarray  # level after each cut (int16)
    first: np.ndarray | None = None  # earliest exposure day per individual (pre-window)
    has_first: np.ndarray | None = None


def _template(spec: Exposure) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Cut template of one exposure: (anchor_is_end, offset, level) per cut, and whether the
    risk period ends on the data's ``end`` column."""
    what = f"exposure {spec.name!r}"
    windows = [tuple(w) for w in spec.windows]
    if not windows:
        raise IntervalError(f"{what}: needs at least one risk window")
    anchor: list[bool] = []
    offset: list[int] = []
    level: list[int] = []
    prev_last: int | None = None
    for i, (first, last) in enumerate(windows):
        is_last = i == len(windows) - 1
        if last is None and not is_last:
            raise IntervalError(f"{what}: only the last risk window may end on the 'end' column")
        if last is not None and last < first:
            raise IntervalError(f"{what}: risk window {i + 1} ends before it starts")
        if prev_last is not None:
            if first <= prev_last:
                raise IntervalError(f"{what}: risk windows must be increasing and not overlap")
            if first > prev_last + 1:  # a gap: unexposed
                anchor.append(False)
                offset.append(prev_last)
                level.append(0)
        anchor.append(False)
        offset.append(first - 1)
        level.append(i + 1)
        prev_last = last
    uses_end = windows[-1][1] is None
    # E, the last risk day, is the anchor of the remaining cuts (offset 0 = the cut at E).
    e_anchor = uses_end
    e_off = 0 if uses_end else int(windows[-1][1])
    m = len(windows)
    prev = 0
    for j, (first, last) in enumerate(spec.washout):
        if first < 1 or last < first or first <= prev:
            raise IntervalError(
                f"{what}: washout windows must be increasing offsets >= 1 after the risk period"
            )
        if first > prev + 1:
            anchor.append(e_anchor)
            offset.append(e_off + prev)
            level.append(0)
        anchor.append(e_anchor)
        offset.append(e_off + first - 1)
        level.append(m + j + 1)
        prev = last
    anchor.append(e_anchor)
    offset.append(e_off + prev)
    level.append(0)
    return (np.array(anchor, bool), np.array(offset, np.int64), np.array(level, np.int64),
            uses_end)


def _exposure_cuts(frame: _Frame, spec: Exposure) -> _ExposureCuts:
    """Cut points of one exposure type (R's rules: template per exposure, neighbour minimum, cap
    at the end of observation) and the sorted lookup keys for its levels."""
    what = f"exposure {spec.name!r}"
    anchor, offset, level, uses_end = _template(spec)
    if spec.pre_window is not None and spec.pre_window < 1:
        raise IntervalError(f"{what}: pre_window must be >= 1 day")
    cols = ["id", "day"] + (["end"] if uses_end else []) + (["dose"] if spec.dose_levels else [])
    _require(spec.data, cols, what)
    idx, day, keep = frame.known(spec.data, what, allow_na=True)
    missing = np.isnan(day) if day.dtype.kind == "f" else None
    if missing is not None and not missing.any():
        missing = None
    day_i = day.astype(np.int64) if missing is None else np.where(missing, 0, day).astype(np.int64)
    stop = day_i  # the anchor of the cuts after the risk period (the row's end, if used)
    if uses_end:
        end = _days(spec.data["end"], what, "end", allow_na=True)[keep]
        if end.dtype.kind == "f":
            bad = np.isnan(end) if missing is None else ~missing & np.isnan(end)
            if bad.any():
                i = int(np.flatnonzero(keep)[np.flatnonzero(bad)[0]])
                msg = f"{what}, row {i + 2}, column end: missing for a dated exposure"
                raise IntervalError(msg)
            end = np.where(np.isnan(end), 0, end).astype(np.int64)
        stop = end
    has_dose = "dose" in spec.data.columns
    dose = _days(spec.data["dose"], what, "dose")[keep] if has_dose else None
    if spec.dose_levels and (dose < 1).any():
        raise IntervalError(f"{what}: dose numbers must be >= 1")
    # list order: by individual, then dose (if given), then day, then end
    order = _order(idx, *([dose] if has_dose else []), day_i, *([stop] if uses_end else []))
    if order is not None:
        idx, day_i, stop = idx[order], day_i[order], stop[order] if uses_end else day_i[order]
        dose = dose[order] if has_dose else None
        missing = missing[order] if missing is not None else None
    n_e, t = len(idx), len(offset)
    obs_end = frame.end[idx]
    # one contiguous array per cut of the template (a loop over the few cuts, not individuals)
    cols = [(stop if anchor[j] else day_i) + offset[j] for j in range(t)]
    if missing is not None:
        for c in cols:
            c[missing] = obs_end[missing]
    # R's rule: each cut becomes min(itself, the next cut of the same individual), original values
    if n_e:
        last = cols[t - 1]
        nxt = np.minimum(last[:-1], cols[0][1:])
        same = idx[1:] == idx[:-1]
        for j in range(t - 1):
            np.minimum(cols[j], cols[j + 1], out=cols[j])
        np.copyto(last[:-1], nxt, where=same)
        del nxt, same
    base = idx.astype(np.int64) * frame.stride - frame.base
    floor = frame.start[idx] - 1
    keys = []
    for c in cols:
        np.minimum(c, obs_end, out=c)
        keys.append((c + base)[c >= floor])  # cut points inside observation, as keys
        np.clip(c - frame.base, 0, frame.stride - 1, out=c)
        c += base + frame.base
    cut_keys = np.concatenate(keys)
    del keys, base, floor
    # The level of an interval with last day u is the level after the last cut (in list order)
    # below u; that is the last position whose suffix-minimum is below u, and suffix minima are
    # sorted within an individual, so one searchsorted finds it.
    flat = np.empty(n_e * t, dtype=np.int64)
    for j, c in enumerate(cols):
        flat[j::t] = c
    del cols
    rev = flat[::-1]
    np.minimum.accumulate(rev, out=rev)
    if spec.dose_levels:
        levs = np.empty(n_e * t, dtype=np.int16)
        for j in range(t):
            levs[j::t] = level[j] + (dose - 1) * spec.n_levels if level[j] else 0
    else:
        levs = np.tile(level.astype(np.int16), n_e)
    out = _ExposureCuts(spec, cut_keys, flat, levs)
    if spec.pre_window is not None:
        first = np.full(frame.n, np.iinfo(np.int64).max)
        real = slice(None) if missing is None else ~missing
        np.minimum.at(first, idx[real], day_i[real])
        out.first = first
        out.has_first = first != np.iinfo(np.int64).max
    return out


def _exposure_values(ec: _ExposureCuts, q: _Query) -> dict[str, np.ndarray]:
    """Exposure level (and pre-window flag) of each interval."""
    pos, valid = _group_lookup(ec.keys, q, "left")
    level = ec.levels[pos] if len(ec.levels) else np.zeros(len(q.keys), np.int16)
    level[~valid] = 0
    out = {ec.spec.name: level}
    if ec.first is not None:
        f = ec.first[q.idx]
        w = int(ec.spec.pre_window)
        pre = ec.has_first[q.idx] & (q.upper >= f - w) & (q.upper <= f - 1) & (level == 0)
        out[f"{ec.spec.name}_pre"] = pre.astype(np.int8)
    return out


def _pre_cuts(ec: _ExposureCuts) -> tuple[np.ndarray, np.ndarray]:
    """Cuts of the pre-exposure window f - W .. f - 1 of every individual with an exposure."""
    ids = np.flatnonzero(ec.has_first)
    f = ec.first[ids]
    w = int(ec.spec.pre_window)
    return np.concatenate([ids, ids]), np.concatenate([f - w - 1, f - 1])


# --------------------------------------------------------------------------------------------
# Covariates
# --------------------------------------------------------------------------------------------


class _Sorted:
    """Dated rows of one covariate sorted by (individual, day), stably."""

    def __init__(self, frame: _Frame, df: pd.DataFrame, what: str, extra: Sequence[str] = ()):
        _require(df, ["id", "day", *extra], what)
        idx, day, keep = frame.known(df, what)
        order = _order(idx, day)
        self.rows = np.flatnonzero(keep)
        if order is not None:
            idx, day, self.rows = idx[order], day[order], self.rows[order]
        self.idx, self.day = idx, day
        self.keys = frame.key(self.idx, self.day)


def _step(frame: _Frame, spec: StepCovariate):
    what = f"step covariate {spec.name!r}"
    s = _Sorted(frame, spec.data, what, ("value",))
    value = pd.to_numeric(spec.data["value"], errors="coerce").to_numpy(float)[s.rows]
    initial = np.full(frame.n, np.nan)
    if spec.initial is not None:
        _require(spec.initial, ("id", "value"), f"{what} initial values")
        i = frame.lookup(spec.initial["id"])
        v = pd.to_numeric(spec.initial["value"], errors="coerce").to_numpy(float)
        initial[i[i >= 0]] = v[i >= 0]

    def values(q: _Query) -> dict[str, np.ndarray]:
        pos, valid = _group_lookup(s.keys, q, "right")
        v = value[pos] if len(value) else np.full(len(pos), np.nan)
        np.invert(valid, out=valid)
        v[valid] = initial[q.idx[valid]]  # before the first measurement
        unknown = np.isnan(v)
        out = {spec.name: v}
        for t in spec.thresholds:
            below = (v < t).astype(float)
            below[unknown] = np.nan
            out[f"{spec.name}_below_{t:g}"] = below
        return out

    return (s.idx, s.day - 1), values


def _event_window(frame: _Frame, spec: EventWindow):
    what = f"event window {spec.name!r}"
    if spec.length < 1:
        raise IntervalError(f"{what}: length must be >= 1 day")
    s = _Sorted(frame, spec.data, what)
    length = int(spec.length)

    def values(q: _Query) -> dict[str, np.ndarray]:
        pos, valid = _group_lookup(s.keys, q, "right")
        if len(s.day):
            last = s.day[pos]
            last += length - 1
            valid &= q.upper <= last
        return {spec.name: valid.view(np.int8)}

    cuts = (np.concatenate([s.idx, s.idx]), np.concatenate([s.day - 1, s.day + length - 1]))
    return cuts, values


def _age_groups(frame: _Frame, spec: AgeGroups):
    g = np.sort(np.asarray(spec.cuts, dtype=np.int64))
    origin = frame.origin(spec.origin, f"age groups {spec.name!r} origin")
    lo = np.searchsorted(g, frame.start - origin, side="right")
    hi = np.searchsorted(g, frame.end - origin, side="right")
    counts = hi - lo
    idx = np.repeat(np.arange(frame.n), counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    cut = g[np.repeat(lo, counts) + within] - 1 + origin[idx]

    def values(q: _Query) -> dict[str, np.ndarray]:
        age = q.upper - origin[q.idx]
        return {spec.name: (1 + np.searchsorted(g, age, side="right")).astype(np.int16)}

    return (idx, cut), values


def _civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day of month) of day numbers since 1970-01-01."""
    d = days.astype("datetime64[D]")
    y = d.astype("datetime64[Y]")
    mo = d.astype("datetime64[M]")
    year = y.astype(np.int64) + 1970
    month = (mo - y.astype("datetime64[M]")).astype(np.int64) + 1
    dom = (d - mo.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, dom


def _season(frame: _Frame, spec: Season):
    starts = sorted((int(m), int(d)) for m, d in spec.starts)
    if not starts or len(set(starts)) != len(starts):
        raise IntervalError(f"season {spec.name!r}: needs distinct (month, day) starts")
    for m, d in starts:
        try:
            pd.Timestamp(year=2001, month=m, day=d)
        except ValueError as exc:
            msg = f"season {spec.name!r}: invalid start (month={m}, day={d})"
            raise IntervalError(msg) from exc
    k = len(starts)
    origin = frame.origin(spec.origin, f"season {spec.name!r} origin")
    # every season start from 1 January of the year before the one holding day start - 1, so that
    # each individual has a season start on or before its first day
    y0 = _civil(origin + frame.start - 1)[0] - 1
    y1 = _civil(origin + frame.end)[0]
    counts = (y1 - y0 + 1) * k
    idx = np.repeat(np.arange(frame.n), counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    year = np.repeat(y0, counts) + within // k
    s = within % k
    months = np.array([m for m, _ in starts])[s]
    doms = np.array([d for _, d in starts])[s]
    date = ((year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (months - 1)).astype(
        "datetime64[D]") + (doms - 1)
    cut = date.astype(np.int64) - origin[idx] - 1  # sorted within each individual
    level = (s + 1).astype(np.int16)
    keys = frame.key(idx, cut)

    def values(q: _Query) -> dict[str, np.ndarray]:
        # the season of day u is that of the last season start D <= u, i.e. the last cut < u
        pos, _ = _group_lookup(keys, q, "left")
        return {spec.name: level[pos]}

    return (idx, cut), values


# --------------------------------------------------------------------------------------------
# The builder
# --------------------------------------------------------------------------------------------


def build_intervals(
    observation: pd.DataFrame,
    events: pd.DataFrame,
    exposures: Sequence[Exposure] = (),
    covariates: Sequence[Covariate] = (),
    *,
    merge: bool = False,
) -> pd.DataFrame:
    """Cut each individual's observation period into intervals of constant covariates.

    Parameters
    ----------
    observation:
        ``id``, ``start``, ``end``: one observation period per individual, inclusive day numbers.
    events:
        ``id``, ``day``: one row per event (repeats on one day count several times). Events outside
        the individual's observation period, or of an id not in ``observation``, are dropped; their
        number is in ``result.attrs["events_dropped"]``.
    exposures:
        :class:`Exposure` specifications, one output column each (plus ``<name>_pre`` with a
        pre-window). Exposure rows of ids not in ``observation`` are ignored.
    covariates:
        :class:`StepCovariate`, :class:`EventWindow`, :class:`Season`, :class:`AgeGroups`.
    merge:
        Merge adjacent intervals of one individual whose covariates are all equal. The default,
        False, keeps every cut point R's ``formatdata`` makes.

    Returns
    -------
    DataFrame with columns ``id, start, end, days, events`` (``start``/``end`` inclusive,
    ``days = end - start + 1``), then one column per exposure (and pre-window) and per covariate,
    in the order given. Rows are in the order of ``observation``, then by time; every observed day
    of every individual is in exactly one row.

    Examples
    --------
    Two individuals; the second one's exposure is before its observation starts, so only its
    risk window's tail (days 10..19) is exposed; ``merge=True`` merges rows with equal
    covariates:

    >>> import pandas as pd
    >>> from analysis.sccs.intervals import Exposure, build_intervals
    >>> obs = pd.DataFrame({"id": ["a", "b"], "start": [0, 10], "end": [59, 59]})
    >>> ev = pd.DataFrame({"id": ["a", "b", "b"], "day": [5, 12, 12]})
    >>> expo = Exposure("x", pd.DataFrame({"id": ["a", "b"], "day": [30, 0]}),
    ...                 windows=((0, 19),))
    >>> build_intervals(obs, ev, [expo])
      id  start  end  days  events  x
    0  a      0   29    30       1  0
    1  a     30   49    20       0  1
    2  a     50   59    10       0  0
    3  b     10   19    10       2  1
    4  b     20   59    40       0  0
    """
    frame = _Frame(observation)
    _require(events, ("id", "day"), "events")
    names: list[str] = []
    cut_keys: list[np.ndarray] = []

    def add_cuts(idx: np.ndarray, day: np.ndarray) -> None:
        """Keep the cuts inside observation (start - 1 .. end) as keys."""
        idx = idx.astype(np.int64, copy=False)
        day = day.astype(np.int64, copy=False)
        inside = (day >= frame.start[idx] - 1) & (day <= frame.end[idx])
        cut_keys.append(frame.key(idx[inside], day[inside]))

    everyone = np.arange(frame.n)
    add_cuts(everyone, frame.start - 1)
    add_cuts(everyone, frame.end)
    getters = []
    for spec in exposures:
        if not isinstance(spec, Exposure):
            raise IntervalError(f"exposures: expected Exposure, got {type(spec).__name__}")
        ec = _exposure_cuts(frame, spec)
        cut_keys.append(ec.cut_keys)
        ec.cut_keys = np.empty(0, np.int64)
        if ec.first is not None:
            add_cuts(*_pre_cuts(ec))
        getters.append(lambda q, ec=ec: _exposure_values(ec, q))
        names.append(spec.name)
    builders = {StepCovariate: _step, EventWindow: _event_window, Season: _season,
                AgeGroups: _age_groups}
    for spec in covariates:
        make = builders.get(type(spec))
        if make is None:
            raise IntervalError(f"covariates: unsupported covariate {type(spec).__name__}")
        cuts, values = make(frame, spec)
        add_cuts(*cuts)
        getters.append(values)
        names.append(spec.name)
    if len(set(names)) != len(names):
        raise IntervalError(f"exposure and covariate names must be distinct: {names}")

    keys = np.concatenate(cut_keys)
    cut_keys.clear()
    keys.sort()
    new = np.ones(len(keys), dtype=bool)
    new[1:] = keys[1:] != keys[:-1]
    keys = keys[new]  # (np.unique, which hashes, is several times slower)
    del new
    kidx = keys // frame.stride
    body = np.flatnonzero(kidx[1:] == kidx[:-1]) + 1  # every key but each individual's first
    del kidx
    qkeys = keys[body]
    lower = keys[body - 1]
    del keys, body
    iidx = qkeys // frame.stride
    floor = iidx * frame.stride
    upper = qkeys - floor + frame.base
    lower += frame.base + 1 - floor
    q = _Query(iidx, upper, qkeys, floor)

    columns: dict[str, np.ndarray] = {}
    for get in getters:
        columns.update(get(q))

    # events: the interval of an event is the first one whose last day is >= the event day
    e_idx = frame.lookup(events["id"])
    e_day = _days(events["day"], "events", "day")
    ok = e_idx >= 0
    ok[ok] = (e_day[ok] >= frame.start[e_idx[ok]]) & (e_day[ok] <= frame.end[e_idx[ok]])
    where = np.searchsorted(qkeys, frame.key(e_idx[ok], e_day[ok]), side="left")
    counts = np.bincount(where, minlength=len(qkeys)).astype(np.int64)

    if merge:
        iidx, lower, upper, counts, columns = _merge(iidx, lower, upper, counts, columns)
    result = pd.DataFrame(
        {"id": frame.ids[iidx], "start": lower, "end": upper, "days": upper - lower + 1,
         "events": counts, **columns},
        copy=False,
    )
    result.attrs["events_dropped"] = int((~ok).sum())
    return result


def _merge(
    iidx: np.ndarray, lower: np.ndarray, upper: np.ndarray, counts: np.ndarray,
    columns: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Merge adjacent rows of one individual whose value columns are all equal (NaN == NaN):
    the merged row runs from the first row's start to the last row's end, with the rows'
    summed events. Works on the columns' arrays, before any DataFrame is built."""
    if len(iidx) == 0:
        return iidx, lower, upper, counts, columns
    same = iidx[1:] == iidx[:-1]
    for v in columns.values():
        eq = v[1:] == v[:-1]
        if v.dtype.kind == "f":
            eq |= np.isnan(v[1:]) & np.isnan(v[:-1])
        same &= eq
    first = np.flatnonzero(np.concatenate([[True], ~same]))
    last = np.append(first[1:] - 1, len(iidx) - 1)
    return (iidx[first], lower[first], upper[last], np.add.reduceat(counts, first),
            {name: v[first] for name, v in columns.items()})


def to_event_strata(
    intervals: pd.DataFrame, events: pd.DataFrame, *, unique_days: bool = True
) -> pd.DataFrame:
    """R's per-event layout (``formatdata``'s output): one stratum per event.

    Each event (``events``: ``id``, ``day``) gets a full copy of its individual's intervals, with
    ``event = 1`` on the interval containing the event day. Events are sorted by id (stably) and
    numbered ``indivL = 1..N``; with ``unique_days`` (R's behaviour) repeated events of one
    individual on one day count once. Events of ids without intervals are left out; an event
    outside the observation period keeps a stratum with no event (as in R).

    Columns: ``indivL, indiv, eventday, lower, upper, interval, event``, then every covariate
    column of ``intervals``.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.sccs.intervals import to_event_strata
    >>> iv = pd.DataFrame({"id": [1, 1], "start": [0, 30], "end": [29, 59], "days": [30, 30],
    ...                    "events": [1, 1], "x": [0, 1]})
    >>> to_event_strata(iv, pd.DataFrame({"id": [1, 1], "day": [3, 40]}))[
    ...     ["indivL", "lower", "upper", "event", "x"]]
       indivL  lower  upper  event  x
    0       1      0     29      1  0
    1       1     30     59      0  1
    2       2      0     29      0  0
    3       2     30     59      1  1
    """
    _require(intervals, BASE_COLUMNS, "intervals")
    _require(events, ("id", "day"), "events")
    ev = events[["id", "day"]]
    if unique_days:
        ev = ev.drop_duplicates()
    ev = ev.sort_values("id", kind="stable")
    ids = intervals["id"].to_numpy()
    new = np.concatenate([[True], ids[1:] != ids[:-1]]) if len(ids) else np.zeros(0, bool)
    first = np.flatnonzero(new)
    count = np.diff(np.concatenate([first, [len(ids)]]))
    where = pd.Index(ids[first]).get_indexer(ev["id"])
    ev = ev[where >= 0]
    where = where[where >= 0]
    n = count[where]
    rows = np.repeat(first[where], n) + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
    part = intervals.iloc[rows].reset_index(drop=True)
    day = np.repeat(ev["day"].to_numpy(), n)
    lower = part["start"].to_numpy()
    upper = part["end"].to_numpy()
    out = pd.DataFrame({
        "indivL": np.repeat(np.arange(1, len(ev) + 1), n),
        "indiv": part["id"].to_numpy(),
        "eventday": day,
        "lower": lower,
        "upper": upper,
        "interval": part["days"].to_numpy(),
        "event": ((lower <= day) & (day <= upper)).astype(np.int64),
    })
    for c in intervals.columns:
        if c not in BASE_COLUMNS:
            out[c] = part[c].to_numpy()
    return out
