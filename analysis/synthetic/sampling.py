"""Exact-allocation and weighted-sampling helpers the synthetic generator builds on.

* :func:`allocate` - split ``n`` items into categories in proportion to printed counts, with the
  largest-remainder rule (so at the paper's group size the printed counts come back exactly);
* :func:`exact_sorted_sample` - ``n`` random values whose minimum, median and maximum are given
  exactly (and, optionally, whose mean is steered), used for Table 1's "median (range)" rows;
* :func:`gumbel_top_k` - weighted sampling of exactly ``k`` items without replacement, vectorised
  (used wherever the simulator must pick an exact number of events or patients with
  mechanism-driven weights).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["allocate", "exact_sorted_sample", "gumbel_top_k"]


def allocate(n: int, weights: Sequence[float] | Mapping[Any, float]) -> np.ndarray:
    """Split ``n`` into integer counts proportional to ``weights`` (largest remainder, stable ties).

    With weights equal to printed counts that sum to ``n`` the counts come back unchanged; for any
    other ``n`` they are the closest proportional integers summing to ``n``.
    """
    w = np.asarray(list(weights.values()) if isinstance(weights, Mapping) else weights, float)
    if n < 0 or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("allocate needs n >= 0 and non-negative weights with a positive sum")
    raw = n * w / w.sum()
    base = np.floor(raw + 1e-9).astype(np.int64)
    left = int(n - base.sum())
    if left > 0:
        order = np.argsort(-(raw - base), kind="stable")
        base[order[:left]] += 1
    return base


def gumbel_top_k(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """Indices of ``k`` items drawn without replacement with probability proportional to weight.

    Gumbel-top-k trick: ``argsort(log w + Gumbel)``; items with zero weight are never chosen
    unless ``k`` exceeds the number of positive weights (then they come last, at random).
    """
    w = np.asarray(weights, float)
    k = int(min(max(k, 0), w.size))
    g = rng.gumbel(size=w.size)
    with np.errstate(divide="ignore"):
        key = np.where(w > 0, np.log(np.where(w > 0, w, 1.0)) + g, -1e300 + g)
    return np.argsort(-key, kind="stable")[:k]


def exact_sorted_sample(
    rng: np.random.Generator,
    n: int,
    lo: float,
    med: float,
    hi: float,
    *,
    decimals: int = 1,
    integer: bool = False,
    mean: float | None = None,
    lower_shape: float = 1.0,
) -> np.ndarray:
    """``n`` sorted values with minimum ``lo``, median ``med`` and maximum ``hi`` exactly.

    Random uniform order statistics are mapped piecewise onto ``[lo, med]`` (lower half, power
    ``lower_shape``) and ``[med, hi]`` (upper half, power ``p``); ``p`` is chosen by bisection so
    that the mean is ``mean`` when one is given (a right-skewed duration, say), else ``p = 1``.
    Values are rounded to ``decimals`` (or to integers), then the two ends and the middle order
    statistic(s) are set exactly, so the printed "median (range)" reproduces after rounding.
    """
    if n < 1:
        return np.zeros(0)
    if not lo <= med <= hi:
        raise ValueError(f"need lo <= med <= hi, got {lo}, {med}, {hi}")
    u = np.sort(rng.uniform(size=n))
    # order statistics pinned: first -> 0, last -> 1, middle -> 0.5
    if n >= 2:
        u[0], u[-1] = 0.0, 1.0
    lower = u < 0.5

    def build(p: float) -> np.ndarray:
        x = np.empty(n)
        x[lower] = lo + (med - lo) * (1 - (1 - u[lower] / 0.5) ** lower_shape)
        x[~lower] = med + (hi - med) * ((u[~lower] - 0.5) / 0.5) ** p
        return x

    p = 1.0
    if mean is not None and n >= 3:
        a, b = 0.05, 20.0
        for _ in range(80):
            p = 0.5 * (a + b)
            if build(p).mean() > mean:
                a = p
            else:
                b = p
    x = np.sort(build(p))
    x = np.round(x) if integer else np.round(x, decimals)
    if n == 1:
        return np.array([med])
    x[0], x[-1] = lo, hi
    k = n // 2
    if n % 2:
        x[k] = med
    else:
        x[k - 1] = x[k] = med
    # keep the order after pinning: lower half <= med <= upper half, inside [lo, hi]
    mid_lo = k if n % 2 else k - 1
    x[:mid_lo] = np.clip(x[:mid_lo], lo, med)
    x[mid_lo:] = np.clip(x[mid_lo:], med, hi)
    return np.sort(x)
