"""OHDSI's age, season and calendar-time splines (``R/SccsDataConversion.R``), faithfully.

* **age** (covariate ids 100 + j): knots at the quantiles ``seq(0.01, 0.99, length = n)`` of the
  ages in days at the outcomes (or the given knots), duplicates removed; R's ``splines::bs`` of
  degree 2 without intercept over the integer ages ``knots[0], knots[0] + 1, ...`` (as many
  columns as knots); a month of observation takes the row of its age on its first day.
* **season** (ids 200 + j): knots ``0.5 + seq(0, 12, length = n)`` (or given), mgcv's
  ``cSplineDes`` of order 3 (OHDSI's ``cyclicSplineDesign``) over months 1..12: ``n - 1`` columns.
* **calendar time** (ids 300 + j): knots at the 0.5%..99.5% points of the cumulative count of
  cases observed per calendar month (``computeObservedPerMonth``), per study period, or the given
  dates; ``bs`` of degree 2 (1 without interior knots) per period, joined by OHDSI's
  ``createMultiSegmentDesignMatrix``; a month of observation takes the row of its calendar month.

Observation is split at every first of a calendar month; within a month the spline values are
constant. The B-splines are evaluated by the Cox-de Boor recursion on the full knot vector (R's
``splines::splineDesign``); ``bs`` is that with ``degree + 1`` copies of each boundary knot and the
first column dropped.

Examples
--------
>>> import numpy as np
>>> bs([0, 5, 10], [0, 10], degree=2, inner=[5]).shape
(3, 3)
>>> bool(np.allclose(cyclic_design(np.arange(1, 13), [0.5, 3.5, 6.5, 9.5, 12.5]).sum(axis=1), 1))
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["bs", "calendar_knots", "cyclic_design", "month_of", "multi_segment_design",
           "spline_design"]


def spline_design(knots: Sequence[float], x: Sequence[float], order: int) -> np.ndarray:
    """B-spline basis of ``order`` on the full knot vector (``splines::splineDesign`` with
    ``outer.ok = TRUE``): ``len(knots) - order`` columns; the right end of the knots belongs to
    the last non-empty interval.

    Examples
    --------
    >>> spline_design([0, 1, 2], [0.5, 1.5], 2).tolist()
    [[0.5], [0.5]]
    """
    t = np.asarray(knots, dtype=float)
    x = np.asarray(x, dtype=float)
    n = len(t) - 1
    b = ((t[:-1][None, :] <= x[:, None]) & (x[:, None] < t[1:][None, :])).astype(float)
    last = np.flatnonzero(t[1:] > t[:-1])
    if len(last):
        j = last[-1]
        b[x == t[j + 1], :] = 0.0
        b[x == t[j + 1], j] = 1.0
    for k in range(1, order):
        left_den = t[k:n] - t[:n - k]
        right_den = t[k + 1:n + 1] - t[1:n - k + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            left = np.where(left_den > 0, (x[:, None] - t[:n - k]) / left_den, 0.0)
            right = np.where(right_den > 0, (t[k + 1:n + 1] - x[:, None]) / right_den, 0.0)
        b = left * b[:, :n - k] + right * b[:, 1:n - k + 1]
    return b[:, :len(t) - order]


def bs(x: Sequence[float], boundary: Sequence[float], degree: int,
       inner: Sequence[float] = ()) -> np.ndarray:
    """R's ``splines::bs(x, knots = inner, Boundary.knots = boundary, degree)`` (no intercept).

    Examples
    --------
    >>> bs([10], [0, 10], degree=2).tolist()
    [[0.0, 1.0]]
    """
    lo, hi = float(boundary[0]), float(boundary[1])
    t = np.r_[[lo] * (degree + 1), np.sort(np.asarray(inner, dtype=float)), [hi] * (degree + 1)]
    return spline_design(t, x, degree + 1)[:, 1:]


def cyclic_design(x: Sequence[float], knots: Sequence[float], order: int = 3) -> np.ndarray:
    """OHDSI's ``cyclicSplineDesign`` (mgcv's ``cSplineDes``): ``len(knots) - 1`` columns."""
    k = np.sort(np.asarray(knots, dtype=float))
    x = np.asarray(x, dtype=float).copy()
    nk = len(k)
    xc = k[nk - order]
    t = np.r_[k[0] - (k[-1] - k[nk - order:nk - 1]), k]
    design = spline_design(t, x, order)
    wrap = x > xc
    if wrap.any():
        design[wrap] += spline_design(t, x[wrap] - t.max() + k[0], order)
    return design


def month_of(dates: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """OHDSI's ``convertDateToMonth``: ``year * 12 + month - 1``."""
    d = pd.DatetimeIndex(dates)
    return (d.year * 12 + d.month - 1).to_numpy(dtype=np.int64)


def observed_per_month(starts: pd.Series, ends: pd.Series) -> pd.DataFrame:
    """OHDSI's ``computeObservedPerMonth``: ``month, observation_period_count``."""
    sm, em = month_of(starts), month_of(ends) + 1
    lo, hi = int(sm.min()), int(em.max())
    delta = np.zeros(hi - lo + 1, dtype=np.int64)
    np.add.at(delta, sm - lo, 1)
    np.add.at(delta, em - lo, -1)
    count = np.cumsum(delta)
    return pd.DataFrame({"month": np.arange(lo, hi + 1)[:-1], "observation_period_count":
                         count[:-1]})


def calendar_knots(counts: pd.DataFrame, n_knots: int,
                   periods: Sequence[tuple[int, int]] | None = None) -> list[list[int]]:
    """OHDSI's knots per study period from :func:`observed_per_month` (months as integers)."""
    total = counts["observation_period_count"].sum()
    out = []
    for lo, hi in periods or [(-(2**62), 2**62)]:
        c = counts[(counts["month"] >= lo) & (counts["month"] <= hi)]
        in_period = c["observation_period_count"].sum()
        if in_period <= 0:
            continue
        k = int(np.round((n_knots - 2) * (in_period / total))) + 2
        cum = c["observation_period_count"].cumsum().to_numpy()
        months = c["month"].to_numpy()
        cut = in_period * np.linspace(0.005, 0.995, k)
        knots = [int(months[np.argmax(cum >= v)]) for v in cut]
        out.append(list(dict.fromkeys(knots)))
    return out


def multi_segment_design(x: Sequence[int], knots_per_segment: list[list[float]]) -> np.ndarray:
    """OHDSI's ``createMultiSegmentDesignMatrix`` (rows for ``x``, one block per segment)."""
    x = np.asarray(x, dtype=float)
    full: np.ndarray | None = None
    last_boundary = None
    for knots in knots_per_segment:
        b0, b1 = float(knots[0]), float(knots[-1])
        inner = [k for k in knots if k not in (b0, b1)]
        design = bs(x[(x >= b0) & (x <= b1)], (b0, b1), 1 if not inner else 2, inner)
        if full is None:
            n_before = int((x < b0).sum())
            full = np.vstack([np.repeat(design[:1], n_before, axis=0), design])
        else:
            prior = np.hstack([full, np.zeros((len(full), design.shape[1]))])
            new = np.hstack([np.zeros((len(design), full.shape[1])), design])
            gap = x[(x > last_boundary) & (x < b0)]
            n_prior = int(((gap - last_boundary) < (b0 - gap)).sum())
            full = np.vstack([prior, np.repeat(prior[-1:], n_prior, axis=0),
                              np.repeat(new[:1], len(gap) - n_prior, axis=0), new])
        last_boundary = b1
    assert full is not None
    n_after = int((x > last_boundary).sum())
    return np.vstack([full, np.repeat(full[-1:], n_after, axis=0)])
