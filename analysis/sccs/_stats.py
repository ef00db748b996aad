"""Normal and chi-squared tail areas without :mod:`scipy.stats` (private).

:mod:`scipy.stats` takes over a second to import, which a command line pays at every start.
These call the :mod:`scipy.special` functions that ``scipy.stats.norm`` and ``chi2`` use
(``ndtri``, ``ndtr``, ``chdtrc``), imported when first needed (a fraction of the time), so the
numbers are bit for bit those of ``scipy.stats``.

Examples
--------
>>> round(normal_quantile(0.975), 6)
1.959964
"""

from __future__ import annotations

import math

import numpy as np


def normal_quantile(prob: float) -> float:
    """Quantile of the standard normal distribution (``qnorm`` in R, ``norm.ppf`` in scipy).

    Examples
    --------
    >>> normal_quantile(0.975)
    1.959963984540054
    """
    from scipy.special import ndtri

    return float(ndtri(prob))


def normal_two_sided_p(z: np.ndarray) -> np.ndarray:
    """Two-sided normal tail area 2 (1 - Phi(|z|)) (``2 * norm.sf(abs(z))``); NaN stays NaN.

    Examples
    --------
    >>> import numpy as np
    >>> normal_two_sided_p(np.array([0.0, 1.959963984540054, np.nan])).round(6).tolist()
    [1.0, 0.05, nan]
    """
    from scipy.special import ndtr

    return 2.0 * ndtr(-np.abs(np.asarray(z, dtype=float)))


def normal_cdf(x: np.ndarray | float) -> np.ndarray | float:
    """Standard normal distribution function Phi(x) (``pnorm`` in R, ``norm.cdf`` in scipy).

    Examples
    --------
    >>> round(float(normal_cdf(1.959963984540054)), 6)
    0.975
    """
    from scipy.special import ndtr

    return ndtr(x)


def chi2_sf(x: float, df: int) -> float:
    """Upper tail area of the chi-squared distribution (``pchisq(x, df, lower=FALSE)``).

    As ``scipy.stats.chi2.sf``: 1 below the support (x < 0), NaN for df <= 0.

    Examples
    --------
    >>> round(chi2_sf(3.841458820694124, 1), 12)
    0.05
    >>> import math
    >>> round(chi2_sf(2.0, 2), 12) == round(math.exp(-1.0), 12)
    True
    >>> chi2_sf(-0.5, 1), chi2_sf(1.0, 0)
    (1.0, nan)
    """
    from scipy.special import chdtrc

    if not df > 0:
        return math.nan
    if x < 0:
        return 1.0
    return float(chdtrc(df, x))


def poisson_logpmf(k: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Log of the Poisson probability of ``k`` events with mean ``mu`` (``dpois(k, mu, log=TRUE)``,
    ``scipy.stats.poisson.logpmf``): ``k log mu - log k! - mu``; -inf where ``k`` is negative or
    not whole, NaN where ``mu`` is negative or NaN.

    Examples
    --------
    >>> import numpy as np
    >>> poisson_logpmf(np.array([0.0, 2.0, 1.5]), np.array([1.0, 2.0, 1.0])).round(6).tolist()
    [-1.0, -1.306853, -inf]
    """
    from scipy.special import gammaln, xlogy

    k = np.asarray(k, dtype=float)
    mu = np.asarray(mu, dtype=float)
    with np.errstate(invalid="ignore"):
        out = xlogy(k, mu) - gammaln(k + 1) - mu
        outside = ~np.isnan(k) & ((k < 0) | (k != np.floor(k)))
        out = np.where(outside, -np.inf, out)
        return np.where(mu >= 0, out, np.nan)
