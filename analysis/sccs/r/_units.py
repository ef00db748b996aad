"""R's semantics of an event's exposures: which exposures go with which event, and which rows
of a case form one "unit" of intervals.

Private to :mod:`analysis.sccs.r`. R's ``formatdata`` (SCCS 1.7) builds one stratum per event
(``data1``: the distinct ``indiv, aevent, astart, aend`` rows, stably sorted by case), each with
its own ``astart``/``aend`` and its own exposures. Which exposures: SCCS 1.7 sorts each case's
exposure values by day (``adrug_matrix``: ``order(indiv, adrug)`` in the stack format;
``order(indiv, adrug[, 1])`` of the dose rows in the multi format) and deals them out, in that
order, to the case's events in row order. Where an event sits on one row (the multi format; the
stack format with one episode per event) this is R's pairing, :func:`r_pairing`: the event on a
case's k-th row gets the case's k-th earliest exposure, which is the row's own exposure whenever
the rows are in the order of their exposure days (always when they agree). R's ``febdat`` has 65
cases whose rows disagree, 38 of them not in that order (case 14: the event on day 532 is on the
row with MMR age 381, the one on day 549 on the row with 380; R pairs 532 with 380), and R's
numbers follow the pairing (to 1e-8; with each row's own exposures mmr1 is -0.3218, not R's
-0.3242). Where an event has several rows (the stack format's episodes), R deals the
sorted episodes out in blocks, which mixes up the episodes of different events; that is not
copied: each event keeps its own rows' episodes.

When every event of a case then carries the same exposures and observation period (the usual
case) the case is one unit and its events share one copy of its intervals, which gives R's
likelihood exactly. When a case's events disagree, each distinct set of values is a unit of its
own, with its own intervals and its own events, as in R; an
:class:`analysis.sccs.errors.SCCSWarning` names the cases, since rows that disagree are usually a
data error.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.sccs.errors import SCCSWarning

#: How many case ids a warning lists.
_SHOW = 5


@dataclass
class Units:
    """The unit of every data row and the case of every unit.

    ``row_unit`` is aligned with the data rows; it is the case id itself when no case's rows
    disagree, else an integer unit number (1, 2, ... in R's order: cases sorted stably, then
    first appearance). ``case_of`` maps unit numbers to case ids (None when units are cases).

    Examples
    --------
    >>> import pandas as pd
    >>> Units(pd.Series([7, 7]), None).row_unit.tolist()  # one case, its rows agree
    [7, 7]
    """

    row_unit: pd.Series
    case_of: pd.Series | None


def codes(*columns: np.ndarray) -> np.ndarray:
    """One integer per row, equal for rows equal in every column (in order of first
    appearance): the columns' factorized codes combined pairwise (NaN is a value of its own).

    Examples
    --------
    >>> codes(np.array([1, 1, 2, 1]), np.array([5.0, 6.0, 5.0, 5.0])).tolist()
    [0, 1, 2, 0]
    """
    out = pd.factorize(columns[0], use_na_sentinel=False)[0].astype(np.int64)
    for col in columns[1:]:
        c = pd.factorize(col, use_na_sentinel=False)[0].astype(np.int64)
        out = pd.factorize(out * (c.max() + 1 if len(c) else 1) + c)[0].astype(np.int64)
    return out


def _set_ids(entries: pd.DataFrame, n_events: int) -> np.ndarray:
    """One integer per event, equal for events whose sets of exposure entries (``type, dose,
    day, end``) are equal. Exact and vectorised: the events' sorted entry codes are compared
    position by position, refining the ids once per position (not once per event)."""
    rows = entries.dropna(subset=["day"])
    code = codes(*(rows[c].to_numpy() for c in ("type", "dose", "day", "end")))
    width = code.max() + 1 if len(code) else 1
    pairs = np.sort(rows["event"].to_numpy().astype(np.int64) * width + code)
    pairs = pairs[np.concatenate([[True], pairs[1:] != pairs[:-1]])] if len(pairs) else pairs
    event, code = pairs // width, pairs % width  # distinct (event, entry), sorted
    counts = np.bincount(event, minlength=n_events)
    pos = np.arange(len(event)) - (np.cumsum(counts) - counts)[event]
    ids = counts.astype(np.int64)  # events with different numbers of entries differ
    fresh = int(ids.max()) + 1 if n_events else 0  # the next unused id
    by_pos = np.argsort(pos, kind="stable")
    bounds = np.searchsorted(pos[by_pos], np.arange(counts.max() + 2 if n_events else 1))
    for j in range(len(bounds) - 1):
        at = by_pos[bounds[j]:bounds[j + 1]]
        if len(at) == 0:
            break
        alive = event[at]  # the events with a j-th entry (equal ids imply equal counts)
        inverse = pd.factorize(ids[alive] * width + code[at])[0]
        ids[alive] = fresh + inverse
        fresh += int(inverse.max()) + 1
    return ids


def r_pairing(ind: pd.Series, event: np.ndarray,
              dose_days: list[list[tuple[np.ndarray, np.ndarray]]]
              ) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """R 1.7's pairing of a case's exposures with its events, for the cases whose every event
    sits on one row: per exposure type, the rows' exposures sorted by the first dose's day
    (stably, missing last, as R's ``order``) go to the case's rows in row order.

    ``dose_days`` holds, per exposure type, per dose column, the (first day, last day) of every
    row. Cases with an event on several rows keep their rows' own values. A row's last days
    move with its first days (R sorts ``aedrug`` on its own, which differs only where a later
    exposure of a case ends before an earlier one: the library keeps each end with its start,
    see :mod:`analysis.sccs.intervals`).

    Examples
    --------
    Case 1's rows (events on days 532 and 549) carry the exposure days 381 and 380; R gives 380
    to the first row's event:

    >>> import numpy as np
    >>> import pandas as pd
    >>> days = [[(np.array([381.0, 380.0, 400.0]), np.array([395.0, 394.0, 414.0]))]]
    >>> out = r_pairing(pd.Series([1, 1, 2]), np.array([0, 1, 2]), days)
    >>> out[0][0][0].tolist(), out[0][0][1].tolist()
    ([380.0, 381.0, 400.0], [394.0, 395.0, 414.0])
    """
    case = pd.factorize(ind)[0]
    rows_per_event = np.bincount(event)
    several = np.zeros(case.max() + 1, bool)
    np.logical_or.at(several, case, rows_per_event[event] > 1)
    rows = np.flatnonzero(~several[case])
    rank = pd.Series(ind.to_numpy()[rows]).rank(method="dense").to_numpy()
    in_row_order = rows[np.argsort(rank, kind="stable")]
    out = []
    for doses in dose_days:
        first = doses[0][0][rows]
        key = np.where(np.isnan(first), np.inf, first)
        by_day = rows[np.lexsort((key, rank))]
        dealt = []
        for start, end in doses:
            start, end = start.copy(), end.copy()
            start[in_row_order] = start[by_day]
            end[in_row_order] = end[by_day]
            dealt.append((start, end))
        out.append(dealt)
    return out


def _cases_text(cases: np.ndarray) -> str:
    head = ", ".join(str(c) for c in cases[:_SHOW])
    more = f" and {len(cases) - _SHOW} more" if len(cases) > _SHOW else ""
    return f"case{'s' if len(cases) > 1 else ''} {head}{more}"


def assign(ind: pd.Series, event: np.ndarray, entries: pd.DataFrame,
           columns: dict[str, np.ndarray], names: dict[str, str], how: str = "") -> Units:
    """The unit of every row.

    Parameters
    ----------
    ind:
        Case id of each row (R's ``indiv``).
    event:
        Event number of each row (rows of one case with one event day share it).
    entries:
        The exposures of the rows: ``row``, ``type``, ``dose``, ``day``, ``end`` (NaN ``day`` =
        none).
    columns:
        Other per-event values that must agree within a case to share intervals (``astart``,
        ``aend``, ``dob``), each aligned with the rows.
    names:
        How the warning names each kind of value (``"exposures"`` and the keys of
        ``columns``), e.g. ``"adrug/aedrug (mmr)"``.
    how:
        What the warning says was done with such cases.

    Examples
    --------
    Case 1's two events carry exposures on days 10 and 11: two units, with a warning:

    >>> import warnings
    >>> import numpy as np
    >>> import pandas as pd
    >>> entries = pd.DataFrame({"row": [0, 1, 2], "type": 0, "dose": 1,
    ...                         "day": [10.0, 11.0, 5.0], "end": [20.0, 21.0, 15.0]})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     u = assign(pd.Series([1, 1, 2]), np.array([0, 1, 2]), entries, {},
    ...                {"exposures": "adrug"})
    >>> u.row_unit.tolist(), u.case_of.tolist()
    ([1, 2, 3], [1, 1, 2])
    >>> str(caught[0].message)[:47]
    "1 case's event rows disagree on adrug (case 1):"
    """
    n = len(ind)
    rows = entries.assign(event=event[entries["row"].to_numpy()])
    parts = {"exposures": _set_ids(rows, event.max() + 1 if n else 0)[event]}
    parts.update({k: pd.factorize(np.asarray(v))[0] for k, v in columns.items()})
    case_codes = pd.factorize(ind)[0]
    differ: dict[str, np.ndarray] = {}
    for key, value in parts.items():
        pairs = pd.DataFrame({"case": case_codes, "v": value}).drop_duplicates()
        differ[key] = np.bincount(pairs["case"].to_numpy(), minlength=case_codes.max() + 1) > 1
    bad = np.logical_or.reduce(list(differ.values())) if differ else np.zeros(0, bool)
    if not bad.any():
        return Units(ind, None)
    order = np.argsort(ind.to_numpy(), kind="stable")  # R sorts the events by case
    unit = np.empty(n, np.int64)
    unit[order] = codes(case_codes[order], *(v[order] for v in parts.values()))
    row_unit = pd.Series(unit + 1, index=ind.index)
    first = pd.Series(ind.to_numpy(), index=unit + 1)
    case_of = first[~first.index.duplicated()].sort_index()
    _warn(ind, bad, differ, names, how)
    return Units(row_unit, case_of)


def _warn(ind: pd.Series, bad: np.ndarray, differ: dict[str, np.ndarray],
          names: dict[str, str], how: str) -> None:
    uniq = pd.unique(ind.to_numpy())  # case of each code, in the codes' order
    cases = uniq[np.flatnonzero(bad)]
    what = " and ".join(names[k] for k, d in differ.items() if d.any())
    count = f"{len(cases)} cases'" if len(cases) > 1 else "1 case's"
    warnings.warn(
        f"{count} event rows disagree on {what} ({_cases_text(cases)}): each event gets its own "
        f"intervals{how}; a case's rows usually agree, so check the data", SCCSWarning,
        stacklevel=5)
