"""Profile-likelihood confidence intervals for SCCS coefficients.

For a coefficient b_j, the profile log-likelihood pl(b) is the log-likelihood maximised over
the other coefficients with b_j held at b. The (1 - alpha) profile interval is the set of b
with ``2 (loglik - pl(b)) <= chi2_1(1 - alpha)``: the values a likelihood-ratio test would not
reject. Unlike the Wald interval it is not forced to be symmetric on the log scale, which
matters in small studies (a few dozen cases) and when a level has few events; when a level has
no events (an infinite estimate) one of its limits is infinite.

Each pl(b) is a constrained fit: b_j x_j joins the offset, and the other terms are fitted by the
library's Newton-Raphson with the same rules for infinite estimates
(:func:`analysis.sccs._kernels.solve_faces`), warm-started from the previous fit. The limits
are roots of ``2 (loglik - pl(b)) - chi2_1(1 - alpha)``, bracketed by stepping out from the
estimate and found by safeguarded Newton within the bracket (the slope of the profile is the
constrained fit's score, so each step costs one fit).

Examples
--------
>>> import pandas as pd
>>> from analysis.sccs import SCCS
>>> data = pd.DataFrame({"id": [1, 1, 2, 2], "exposed": [0, 1, 0, 1],
...                      "days": [100, 50, 80, 40], "events": [1, 2, 2, 1]})
>>> SCCS().fit(data, ["exposed"]).conf_int(method="profile").round(4)
          lower  upper
exposed -0.9937   2.38
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from analysis.sccs._kernels import Cases, solve_faces
from analysis.sccs._stats import normal_quantile
from analysis.sccs.errors import SCCSError, SCCSWarning

#: A fitted model (:class:`analysis.sccs.results.SCCSResults`, which imports this module).
SCCSResults = Any

__all__ = ["profile_conf_int", "profile_loglik"]

#: Give up stepping out when the limit is this far (log scale) from where the search began:
#: an IRR beyond exp(+-50) is reported as infinite.
_FAR = 50.0


class _Profile:
    """pl(b) for one term of one fitted model, warm-starting each fit from the last one."""

    def __init__(self, results: SCCSResults, j: int) -> None:
        data = results._data
        self.cases: Cases = data.cases
        self.shift = data.loglik_shift
        self.j = j
        self.others = np.flatnonzero(np.arange(self.cases.q) != j)
        self.tol = results.model.tol
        self.max_iter = results.model.max_iter
        self.loglik = results.loglik
        start = results.params[data.columns].to_numpy()[self.others]
        self.start = np.where(np.isfinite(start), start, 0.0)[None]

    def loglik_at(self, b: float) -> tuple[float, float]:
        """The profile log-likelihood at b_j = b and its slope d pl / db.

        The slope is the score of b_j at the constrained maximum (the other scores are 0
        there): sum_ij (n_ij - n_i p_ij) x_ij,j.
        """
        c = self.cases
        xj = c.X[:, self.j]
        sub = replace(c, X=np.asfortranarray(c.X[:, self.others]), logd=c.logd + b * xj,
                      extra=xj)
        fits, errors = solve_faces(sub, self.tol, self.max_iter, start=self.start,
                                   checked=True)
        if errors or not fits[0].result.converged[0]:
            raise SCCSError(f"profile likelihood: the constrained fit at {b:g} failed")
        fit = fits[0]
        beta = np.zeros(len(self.others))
        beta[fit.active] = fit.result.beta[0]
        self.start = beta[None]
        face = fit.cases
        resid = face.y - face.n_ind[face.grp] * fit.result.p
        slope = float(np.add.reduce(resid * face.extra))
        return float(fit.result.ll[0]) + self.shift, slope

    def excess(self, b: float, crit: float) -> float:
        """2 (loglik - pl(b)) - crit: negative inside the interval, positive outside."""
        return self.excess_and_slope(b, crit)[0]

    def excess_and_slope(self, b: float, crit: float) -> tuple[float, float]:
        """The excess and its derivative in b."""
        ll, slope = self.loglik_at(b)
        return 2.0 * (self.loglik - ll) - crit, -2.0 * slope


def profile_loglik(results: SCCSResults, term: str, values: np.ndarray) -> np.ndarray:
    """The profile log-likelihood of ``term`` at each of ``values`` (log-IRR scale).

    Parameters
    ----------
    results : SCCSResults
        A fitted model.
    term : str
        One of its terms.
    values : array_like
        Log-IRR values at which to hold the term.

    Returns
    -------
    ndarray
        pl(b) for each value, on the scale of ``results.loglik``.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.sccs import SCCS
    >>> data = pd.DataFrame({"id": [1, 1], "x": [1, 0], "days": [40, 200], "events": [2, 3]})
    >>> fit = SCCS().fit(data, ["x"])
    >>> bool(abs(profile_loglik(fit, "x", [fit.params["x"]])[0] - fit.loglik) < 1e-9)
    True
    """
    if term in results.aliased:
        raise SCCSError(f"profile likelihood: term {term!r} is aliased (NaN): it has none")
    prof = _Profile(results, results._data.columns.index(term))
    return np.array([prof.loglik_at(float(b))[0] for b in np.asarray(values, dtype=float)])


def _root(prof: _Profile, inside: float, outside: float, crit: float) -> float:
    """The root of the excess between a point inside and one outside the interval.

    Safeguarded Newton (Numerical Recipes' ``rtsafe``): Newton steps with the exact slope of
    the profile, kept inside the bracket (bisection otherwise), which shrinks at every
    evaluation. The excess is convex in b, so Newton from the outside point converges
    quadratically without leaving the bracket; 3-5 constrained fits per limit.
    """
    x = outside
    for _ in range(200):
        g, slope = prof.excess_and_slope(x, crit)
        if g > 0:
            outside = x
        else:
            inside = x
        if abs(g) <= 1e-10:
            return x
        step = x - g / slope if slope != 0 else math.nan
        lo, hi = sorted((inside, outside))
        if not lo < step < hi:
            step = (inside + outside) / 2.0
        if abs(step - x) <= 1e-12 * (1.0 + abs(x)) or hi - lo <= 1e-12 * (1.0 + abs(x)):
            return step
        x = step
    return x


def _walk(
    prof: _Profile, start: float, step: float, crit: float, *, find_outside: bool
) -> tuple[float, float] | None:
    """Step from ``start`` by ``step``, 2 ``step``, 4 ``step``, ... until a point is outside
    the interval (``find_outside``) or inside it. Returns (the point before, that point), or
    None if there is none within ``_FAR`` of ``start``."""
    prev = start
    while abs(step) <= _FAR:
        point = start + step
        if (prof.excess(point, crit) > 0) == find_outside:
            return prev, point
        prev = point
        step *= 2.0
    return None


def _finite_limits(prof: _Profile, b: float, se: float, crit: float) -> tuple[float, float]:
    """Both limits around a finite estimate ``b`` (standard error ``se`` sets the first step)."""
    first = se * math.sqrt(crit) if math.isfinite(se) and se > 0 else 1.0
    out = []
    for direction in (-1.0, 1.0):
        found = _walk(prof, b, direction * first, crit, find_outside=True)
        out.append(direction * math.inf if found is None else _root(prof, *found, crit))
    return out[0], out[1]


def _one_sided_limit(prof: _Profile, side: int, crit: float) -> float:
    """The finite limit of a term whose estimate is -inf (side -1) or +inf (+1).

    The profile log-likelihood is concave and rises toward the infinite estimate, so the
    interval is a half-line: from 0, walk toward the estimate until inside (if 0 is outside)
    or away from it until outside (if 0 is inside), then find the root in between.
    """
    if prof.excess(0.0, crit) > 0:
        found = _walk(prof, 0.0, float(side), crit, find_outside=False)
        if found is None:
            return side * math.inf
        outside, inside = found
    else:
        found = _walk(prof, 0.0, -float(side), crit, find_outside=True)
        if found is None:
            return -side * math.inf
        inside, outside = found
    return _root(prof, inside, outside, crit)


def profile_conf_int(results: SCCSResults, alpha: float = 0.05,
                     terms: Sequence[str] | None = None) -> pd.DataFrame:
    """Profile-likelihood confidence intervals (log scale) for every term, or for ``terms``.

    Parameters
    ----------
    results : SCCSResults
        A fitted model (:meth:`analysis.sccs.SCCS.fit`).
    alpha : float
        1 - confidence level.
    terms : sequence of str, optional
        The terms to profile, in this order (default: every term of ``results``). Each
        limit costs a few constrained fits, so a model with many nuisance terms (time
        splines) profiles only the terms whose interval is wanted.

    The interval inverts the likelihood-ratio test, so it does not depend on ``cov_type``
    (a robust standard error does not change it). Terms that another term's infinite limit
    affects are profiled at that limit, as their estimates are.

    Returns
    -------
    pandas.DataFrame
        Columns ``lower`` and ``upper``, one row per term. A term with an infinite estimate
        gets an infinite limit on that side (with an :class:`~analysis.sccs.SCCSWarning`), as
        does a limit beyond log-IRR +-50 from the estimate.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.sccs import SCCS
    >>> data = pd.DataFrame({"id": [1, 1], "x": [1, 0], "days": [40, 200], "events": [2, 3]})
    >>> profile_conf_int(SCCS().fit(data, ["x"])).round(4)
       lower   upper
    x -0.823  3.0013

    Only some terms:

    >>> data["z"] = [0, 1]
    >>> data = pd.concat([data, data.assign(id=2, events=[1, 4], x=[0, 1])])
    >>> profile_conf_int(SCCS().fit(data, ["x", "z"]), terms=["x"]).index.tolist()
    ['x']
    """
    crit = normal_quantile(1.0 - alpha / 2.0) ** 2  # chi2_1(1 - alpha)
    chosen = list(results.terms) if terms is None else list(terms)
    unknown = [t for t in chosen if t not in results.terms]
    if unknown:
        raise SCCSError(f"profile_conf_int: terms {unknown} are not terms of the model "
                        f"(its terms: {list(results.terms)})")
    rows = []
    for term in chosen:
        b = float(results.params[term])
        if term in results.aliased:
            rows.append((math.nan, math.nan))
            continue
        prof = _Profile(results, results._data.columns.index(term))
        if math.isfinite(b):
            lower, upper = _finite_limits(prof, b, float(results.bse[term]), crit)
        else:
            side = 1 if b > 0 else -1
            limit = _one_sided_limit(prof, side, crit)
            lower, upper = (limit, math.inf) if side > 0 else (-math.inf, limit)
        if not (math.isfinite(lower) and math.isfinite(upper)):
            warnings.warn(
                f"term {term!r}: the profile-likelihood interval is one-sided "
                f"({lower:.6g}, {upper:.6g}): the likelihood does not fall by the chi-squared "
                "critical value on one side (no events, or all events, in the level)",
                SCCSWarning, stacklevel=3,
            )
        rows.append((lower, upper))
    return pd.DataFrame(rows, columns=["lower", "upper"], index=pd.Index(chosen, dtype=object),
                        dtype=float)
