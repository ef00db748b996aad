"""Sample size and power of an SCCS study (Musonda, Farrington & Whitaker 2006), generic.

API for the R layer
-------------------
``sample_size(relative_incidence, risk_days, start, end, p_exposed, *, alpha=0.05, power=0.8,
age_ri=None, age_cuts=None, z_digits=4) -> int`` is R's
``samplesize(eexpo, risk, astart, aend, p, alpha, power, eage, agegrp)``: ``p_exposed`` a number
or one proportion per age group (``len(age_cuts) + 1``), ``age_ri`` the age-group relative
incidences of groups 2.. (R's ``eage``). ``z_digits=4`` rounds the normal quantiles to 4 decimals
as R does (``None``: unrounded). ``power_of(n_cases, ...)`` gives the power of ``n_cases`` cases.

Method
------
Musonda, Farrington & Whitaker (2006, Stat Med 25:2618) size an SCCS study for the signed root
of the likelihood-ratio test of ``H0: rho = 1`` (``rho`` the relative incidence in a risk period
of ``e`` days). With age groups ``j`` of lengths ``e_j`` and relative incidences ``exp(a_j)``
(group 1 the reference), and ``p_j`` the proportion of individuals whose risk period lies in age
group ``j`` (``1 - sum p_j`` unexposed):

* ``r_j = exp(a_j) e / sum_k exp(a_k) e_k``: the age-weighted share of observation at risk;
* ``pi_j = r_j rho / (r_j rho + 1 - r_j)``: the probability that an event of a case exposed in
  group ``j`` falls in the risk period;
* ``v_j = p_j (r_j rho + 1 - r_j) / (1 - sum p + sum_k p_k (r_k rho + 1 - r_k))``: the
  probability that a case was exposed in group ``j``;
* ``A = 2 sum_j v_j (pi_j log rho - log(r_j rho + 1 - r_j))`` (the expected log-likelihood-ratio
  statistic per case) and ``B = (log rho)^2 sum_j v_j pi_j (1 - pi_j) / A``;
* ``n = (z_{1-alpha/2} + z_{power} sqrt(B))^2 / A`` cases, rounded up; conversely the power of
  ``n`` cases is ``Phi((sqrt(n A) - z_{1-alpha/2}) / sqrt(B))``.

The age-group lengths follow R's ``samplesize``: cut points ``start, age_cuts..., end``, the last
group including its end day (``end - start + 1`` days in all).

Examples
--------
>>> sample_size(2.5, 21, 366, 730, 1.0)
110
>>> round(power_of(110, 2.5, 21, 366, 730, 1.0), 3)
0.803
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analysis.sccs._stats import normal_cdf, normal_quantile
from analysis.sccs.errors import SCCSError

__all__ = ["PowerError", "power_of", "sample_size", "srl1_terms"]


class PowerError(SCCSError):
    """Inconsistent design arguments (the message says which and why).

    Examples
    --------
    >>> try:
    ...     sample_size(1.0, 21, 366, 730, 0.5)
    ... except PowerError as err:
    ...     print(err)
    relative_incidence must be > 0 and != 1; got 1.0
    """


def _per_case(
    relative_incidence: float, risk_days: float, start: int, end: int,
    p_exposed: float | Sequence[float], age_ri: Sequence[float] | None,
    age_cuts: Sequence[int] | None,
) -> tuple[float, float]:
    """(A, B) of the module docstring."""
    p = np.atleast_1d(np.asarray(p_exposed, dtype=float))
    if (age_ri is None) != (age_cuts is None):
        raise PowerError("age_ri and age_cuts go together: give both or neither")
    cuts = [] if age_cuts is None else [int(c) for c in age_cuts]
    eage = np.r_[1.0, [] if age_ri is None else np.asarray(age_ri, dtype=float)]
    if not (len(p) == len(eage) == len(cuts) + 1):
        raise PowerError(
            f"need one exposure proportion per age group ({len(cuts) + 1}) and one relative "
            f"incidence per non-reference group ({len(cuts)}); got {len(p)} and {len(eage) - 1}")
    if not 0.0 < p.sum() <= 1.0 or (p < 0).any():
        raise PowerError(f"exposure proportions must be >= 0 with a sum in (0, 1]; got {p}")
    rho = float(relative_incidence)
    if rho <= 0 or rho == 1.0:
        raise PowerError(f"relative_incidence must be > 0 and != 1; got {rho}")
    lengths = np.diff(np.r_[start, cuts, end]).astype(float)
    lengths[-1] += 1.0
    if (lengths <= 0).any():
        raise PowerError("age cuts must increase strictly between start and end")
    if risk_days >= lengths.min():
        raise PowerError("the risk period must be shorter than the shortest age group")
    r = eage * risk_days / float(eage @ lengths)
    q = r * rho + 1.0 - r
    v = p * q / ((1.0 - p.sum()) + float(p @ q))
    return srl1_terms(r, np.log(rho), v)


def srl1_terms(
    r: float | np.ndarray, log_rho: float, v: float | np.ndarray = 1.0
) -> tuple[float, float]:
    """``A`` and ``B`` of the module docstring, for shares ``r`` and case weights ``v``.

    The one implementation of Musonda et al.'s per-case expected log-likelihood-ratio
    statistic (``A``) and its variance factor (``B``): :func:`sample_size` and :func:`power_of`
    call it per age group, and :func:`analysis.sccs.diagnostics.srl1_power` (OHDSI's "SRL1"
    MDRR) with one group holding every case (``v = 1``) and ``r`` the exposed share of the
    cases' time. ``B`` is NaN where ``A <= 0`` (no effect, or no time at risk).

    Examples
    --------
    >>> A, B = srl1_terms(0.1, np.log(2.0))
    >>> round(A, 5), round(B, 5)
    (0.06143, 1.16342)
    """
    r = np.atleast_1d(np.asarray(r, dtype=float))
    v = np.broadcast_to(np.asarray(v, dtype=float), r.shape)
    rho = np.exp(log_rho)
    q = r * rho + 1.0 - r
    pi = r * rho / q
    A = 2.0 * float(v @ (pi * log_rho - np.log(q)))
    B = float(log_rho**2 * float(v @ (pi * (1.0 - pi))) / A) if A > 0 else float("nan")
    return A, B


def _z(x: float, digits: int | None) -> float:
    z = normal_quantile(x)
    return round(z, digits) if digits is not None else z


def sample_size(
    relative_incidence: float,
    risk_days: float,
    start: int,
    end: int,
    p_exposed: float | Sequence[float],
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    age_ri: Sequence[float] | None = None,
    age_cuts: Sequence[int] | None = None,
    z_digits: int | None = 4,
) -> int:
    """Number of cases for an SCCS study to reach ``power`` (two-sided level ``alpha``).

    Parameters
    ----------
    relative_incidence:
        The relative incidence to detect in the risk period (R's ``eexpo``).
    risk_days:
        Length of the risk period in days (R's ``risk``).
    start, end:
        First and last day (age) of the observation period (R's ``astart``, ``aend``).
    p_exposed:
        Proportion of individuals exposed (with their risk period inside observation): one
        number, or one per age group (R's ``p``).
    alpha, power:
        Two-sided significance level and power.
    age_ri, age_cuts:
        Relative incidences of age groups 2.. and the first day of each of those groups (R's
        ``eage``, ``agegrp``).
    z_digits:
        Decimals to which the normal quantiles are rounded; 4 is what R's ``samplesize`` does,
        ``None`` uses them unrounded.

    Returns
    -------
    int
        The number of cases, rounded up.

    Examples
    --------
    >>> sample_size(2.5, 21, 366, 730, 0.75)
    143
    """
    A, B = _per_case(relative_incidence, risk_days, start, end, p_exposed, age_ri, age_cuts)
    za = _z(1.0 - alpha / 2.0, z_digits)
    zb = _z(power, z_digits)
    return int(np.ceil((za + zb * np.sqrt(B)) ** 2 / A))


def power_of(
    n_cases: float,
    relative_incidence: float,
    risk_days: float,
    start: int,
    end: int,
    p_exposed: float | Sequence[float],
    *,
    alpha: float = 0.05,
    age_ri: Sequence[float] | None = None,
    age_cuts: Sequence[int] | None = None,
) -> float:
    """Power of an SCCS study of ``n_cases`` cases (the inverse of :func:`sample_size`).

    Examples
    --------
    >>> round(power_of(143, 2.5, 21, 366, 730, 0.75), 2)
    0.8
    """
    A, B = _per_case(relative_incidence, risk_days, start, end, p_exposed, age_ri, age_cuts)
    za = normal_quantile(1.0 - alpha / 2.0)
    return float(normal_cdf((np.sqrt(n_cases * A) - za) / np.sqrt(B)))
