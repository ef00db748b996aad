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


def chi2_sf(x: float, df: int) -> float:
    """Upper tail area of the chi-squared distribution (``pchisq(x, df, lower=FALSE)``).

    Examples
    --------
    >>> round(chi2_sf(3.841458820694124, 1), 12)
    0.05
    >>> import math
    >>> round(chi2_sf(2.0, 2), 12) == round(math.exp(-1.0), 12)
    True
    """
    from scipy.special import chdtrc

    return float(chdtrc(df, x))
