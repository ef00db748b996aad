"""Empirical calibration with negative and positive controls (OHDSI's EmpiricalCalibration).

A design's systematic error is measured on *negative controls* (exposure-outcome pairs with no
effect): each control's log relative risk estimate is its systematic error plus random error.
The errors are modelled as normal, the **empirical null** N(mean, sd^2), so that a control's
estimate is distributed N(mean, sd^2 + se^2) (Schuemie et al. 2014, Stat Med 33:209-218). From
it follow calibrated p-values, the expected absolute systematic error (EASE, OHDSI fails an
analysis above 0.25) and, with *positive controls* of known true effect, a systematic error model
whose mean and SD are linear in the true log effect, used to calibrate confidence intervals
(Schuemie et al. 2018, PNAS 115:2571-2577).

The definitions are those of EmpiricalCalibration 3.1.4 (R; ``fitNull``, ``calibrateP``,
``computeExpectedAbsoluteSystematicError``, ``fitSystematicErrorModel``,
``calibrateConfidenceInterval``), reimplemented here: the fits are exact maximum likelihood
(R stops its Nelder-Mead/BFGS about 1e-4 short of the optimum), the SD parameters are profiled on
a grid then refined with the analytic gradient, and the interval bounds are found by vectorised
bisection instead of one ``uniroot`` per estimate.

Examples
--------
>>> import numpy as np
>>> from analysis.sccs.empirical import fit_null, calibrate_p
>>> log_rr = np.array([0.10, 0.25, -0.05, 0.30, 0.15, 0.20])
>>> se = np.array([0.10, 0.12, 0.15, 0.20, 0.10, 0.08])
>>> null = fit_null(log_rr, se)
>>> round(null.mean, 3), round(null.sd, 3)
(0.159, 0.0)
>>> round(float(calibrate_p(null, np.array([0.7]), np.array([0.1]))[0]), 4)
0.0
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.sccs._stats import normal_cdf, normal_quantile
from analysis.sccs.errors import SCCSError, SCCSWarning

__all__ = [
    "EmpiricalNull",
    "SystematicErrorModel",
    "calibrate_ci",
    "calibrate_p",
    "expected_absolute_systematic_error",
    "fit_null",
    "fit_systematic_error_model",
    "log_likelihood",
]

#: Estimates with |log RR| above this are dropped by :func:`fit_null` (OHDSI's rule).
EXTREME_LOG_RR: float = math.log(100.0)
#: Calibrated bounds are searched in [-BOUND_RANGE, BOUND_RANGE] on the log scale (as R does).
BOUND_RANGE: float = 100.0
_LOG_2PI = math.log(2.0 * math.pi)
#: Starting grid of the SD parameters (points per axis, by number of parameters): only a start
#: for the gradient refinement, so that a second local optimum far from R's start is not missed.
_GRID_POINTS = {1: 41, 2: 21}
#: Estimates bisected together by :func:`calibrate_ci` (keeps the temporaries in cache).
_CHUNK = 2048
#: Largest projected gradient of minus the log-likelihood, per estimate, at a converged fit
#: (L-BFGS-B stops at 1e-11 or at the precision of the objective, about 1e-8 on 30-50 controls).
_GRAD_TOL = 1e-6


@dataclass(frozen=True)
class EmpiricalNull:
    """The fitted empirical null N(mean, sd^2) of the systematic error on the log scale.

    Attributes
    ----------
    mean, sd : float
        The null's mean and standard deviation.
    log_likelihood : float
        Maximised log-likelihood (full normal densities, as :func:`log_likelihood`).
    n_used, n_dropped : int
        Estimates used, and dropped as infinite, missing or extreme.

    Examples
    --------
    >>> from analysis.sccs.empirical import EmpiricalNull, expected_absolute_systematic_error
    >>> expected_absolute_systematic_error(EmpiricalNull(0.0, 0.0, 0.0, 0, 0))
    0.0
    """

    mean: float
    sd: float
    log_likelihood: float
    n_used: int
    n_dropped: int


@dataclass(frozen=True)
class SystematicErrorModel:
    """Systematic error as a function of the true log effect t: N(a + b t, (c + d |t|)^2).

    Attributes
    ----------
    mean_intercept, mean_slope, sd_intercept, sd_slope : float
        a, b, c and d (OHDSI's ``meanIntercept``, ``meanSlope``, ``sdIntercept``, ``sdSlope``).
    log_likelihood : float
        Maximised log-likelihood (NaN for a model made by :meth:`from_null`).
    n_used : int
        Estimates the model was fitted to.

    Examples
    --------
    >>> from analysis.sccs.empirical import EmpiricalNull, SystematicErrorModel
    >>> m = SystematicErrorModel.from_null(EmpiricalNull(0.1, 0.2, -3.0, 10, 0))
    >>> m.mean_intercept, m.mean_slope, m.sd_intercept, m.sd_slope
    (0.1, 1.0, 0.2, 0.0)
    """

    mean_intercept: float
    mean_slope: float
    sd_intercept: float
    sd_slope: float
    log_likelihood: float = math.nan
    n_used: int = 0

    @classmethod
    def from_null(cls, null: EmpiricalNull) -> SystematicErrorModel:
        """The model implied by a null alone: the error does not depend on the true effect
        (slope 1 of the mean, SD constant), as OHDSI's ``convertNullToErrorModel``.

        Examples
        --------
        >>> from analysis.sccs.empirical import EmpiricalNull, SystematicErrorModel
        >>> SystematicErrorModel.from_null(EmpiricalNull(0.0, 0.1, 0.0, 5, 0)).mean_slope
        1.0
        """
        return cls(float(null.mean), 1.0, float(null.sd), 0.0, math.nan, int(null.n_used))

    def params(self) -> pd.Series:
        """The four parameters as a Series named as OHDSI names them.

        Examples
        --------
        >>> from analysis.sccs.empirical import SystematicErrorModel
        >>> SystematicErrorModel(0.1, 1.0, 0.2, 0.0).params().index.tolist()
        ['meanIntercept', 'meanSlope', 'sdIntercept', 'sdSlope']
        """
        return pd.Series(
            [self.mean_intercept, self.mean_slope, self.sd_intercept, self.sd_slope],
            index=["meanIntercept", "meanSlope", "sdIntercept", "sdSlope"], dtype=float,
        )


# --------------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------------
def _vector(values: object, name: str) -> np.ndarray:
    try:
        out = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise SCCSError(f"{name}: must be numbers ({exc})") from None
    if out.ndim != 1:
        raise SCCSError(f"{name}: must be one-dimensional, got shape {out.shape}")
    return out


def _estimates(log_rr: object, se_log_rr: object, *more: tuple[object, str]
               ) -> tuple[np.ndarray, ...]:
    """Arrays of equal length; a finite SE must be positive (NaN/inf are the callers' business)."""
    arrays = [_vector(log_rr, "log_rr"), _vector(se_log_rr, "se_log_rr")]
    arrays += [_vector(v, name) for v, name in more]
    names = ["log_rr", "se_log_rr", *(name for _, name in more)]
    lengths = {n: len(a) for n, a in zip(names, arrays, strict=True)}
    if len(set(lengths.values())) > 1:
        raise SCCSError(f"arguments of different lengths: {lengths}; one value per estimate")
    se = arrays[1]
    bad = np.flatnonzero(np.isfinite(se) & (se <= 0))
    if bad.size:
        raise SCCSError(f"se_log_rr: must be > 0; position {int(bad[0])} is {se[bad[0]]!r} "
                        f"({bad.size} such value(s))")
    return tuple(arrays)


def _usable(log_rr: np.ndarray, se: np.ndarray, what: str, extreme: bool) -> np.ndarray:
    """Mask of finite estimates (and |log RR| <= log 100 if ``extreme``), warning what is dropped
    and why, each estimate counted under the first of OHDSI's reasons that applies."""
    reasons = [
        ("infinite se_log_rr", np.isinf(se)),
        ("infinite log_rr", np.isinf(log_rr)),
        ("missing se_log_rr", np.isnan(se)),
        ("missing log_rr", np.isnan(log_rr)),
    ]
    if extreme:
        with np.errstate(invalid="ignore"):
            reasons.append(("|log_rr| > log(100)", np.abs(log_rr) > EXTREME_LOG_RR))
    dropped = np.zeros(len(log_rr), dtype=bool)
    counts = []
    for label, hit in reasons:
        new = hit & ~dropped
        if new.any():
            counts.append(f"{int(new.sum())} with {label}")
        dropped |= new
    if dropped.any():
        warnings.warn(f"{what}: dropped {int(dropped.sum())} of {len(log_rr)} estimates before "
                      f"fitting ({', '.join(counts)})", SCCSWarning, stacklevel=3)
    return ~dropped


# --------------------------------------------------------------------------------------------------
# likelihood and its maximisation
# --------------------------------------------------------------------------------------------------
def log_likelihood(log_rr: np.ndarray, se_log_rr: np.ndarray, mean: np.ndarray | float,
                   sd: np.ndarray | float) -> float:
    """Log-likelihood of estimates whose systematic error is N(mean, sd^2): each log RR is
    N(mean, sd^2 + se^2) (full normal densities; ``mean`` and ``sd`` scalars or one per
    estimate). This is the quantity :func:`fit_null` and :func:`fit_systematic_error_model`
    maximise, and minus OHDSI's ``logLikelihoodNull`` (with ``sd = 1 / sqrt(precision)``).

    Examples
    --------
    >>> import numpy as np
    >>> from analysis.sccs.empirical import log_likelihood
    >>> round(log_likelihood(np.array([0.0]), np.array([1.0]), 0.0, 0.0), 6)  # log phi(0)
    -0.918939
    """
    y, se = _estimates(log_rr, se_log_rr)
    var = np.asarray(sd, dtype=float) ** 2 + se**2
    resid = y - mean
    return float(-0.5 * np.sum(_LOG_2PI + np.log(var) + resid**2 / var))


def _profile(y: np.ndarray, se: np.ndarray, design: np.ndarray, sd: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """Minus the log-likelihood profiled over the mean's coefficients (weighted least squares),
    for a batch of SD vectors ``sd`` (g, n); returns (g,) values and (g, k) coefficients."""
    w = 1.0 / (sd**2 + se**2)
    n, k = design.shape
    xtwx = (w @ (design[:, :, None] * design[:, None, :]).reshape(n, k * k)).reshape(-1, k, k)
    xtwy = w @ (design * y[:, None])
    beta = np.linalg.solve(xtwx, xtwy[..., None])[..., 0]
    resid = y - beta @ design.T
    nll = 0.5 * np.sum(_LOG_2PI - np.log(w) + w * resid**2, axis=1)
    return nll, beta


def _profile_gradient(theta: np.ndarray, y: np.ndarray, se: np.ndarray, design: np.ndarray,
                      sd_map: np.ndarray) -> tuple[float, np.ndarray]:
    """Profile minus log-likelihood at SD parameters ``theta`` (sd = sd_map @ theta) and its
    gradient (envelope theorem: the partial derivative at the profiled mean)."""
    sd = sd_map @ theta
    nll, beta = _profile(y, se, design, sd[None, :])
    w = 1.0 / (sd**2 + se**2)
    resid = y - design @ beta[0]
    d_sd = sd * (w - w**2 * resid**2)
    return float(nll[0]), sd_map.T @ d_sd


def _fit_sd(y: np.ndarray, se: np.ndarray, design: np.ndarray, sd_map: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, float]:
    """Maximum likelihood of the SD parameters (each >= 0, ``sd = sd_map @ theta``), the mean's
    coefficients profiled out: best point of a grid, refined by L-BFGS-B with the gradient."""
    from scipy.optimize import minimize

    k = sd_map.shape[1]
    top = float(np.ptp(y) + se.max())
    axis = top * np.linspace(0.0, 1.0, _GRID_POINTS[k]) ** 2
    grid = np.stack(np.meshgrid(*([axis] * k), indexing="ij"), axis=-1).reshape(-1, k)
    nll, _ = _profile(y, se, design, grid @ sd_map.T)
    start = grid[int(np.argmin(nll))]
    fit = minimize(_profile_gradient, start, args=(y, se, design, sd_map), jac=True,
                   method="L-BFGS-B", bounds=[(0.0, None)] * k,
                   options={"ftol": 1e-15, "gtol": 1e-11, "maxiter": 2000})
    theta = fit.x if fit.fun <= nll.min() else start
    best, grad = _profile_gradient(theta, y, se, design, sd_map)
    projected = np.where(theta > 0, grad, np.minimum(grad, 0.0))  # zero at an active bound
    if np.abs(projected).max() > _GRAD_TOL * len(y):
        warnings.warn(f"the maximum likelihood fit of {len(y)} estimates did not converge "
                      f"(gradient {np.abs(projected).max():.2g}); the estimates are approximate",
                      SCCSWarning, stacklevel=3)
    _, beta = _profile(y, se, design, (sd_map @ theta)[None, :])
    return theta, beta[0], -best


# --------------------------------------------------------------------------------------------------
# the empirical null
# --------------------------------------------------------------------------------------------------
def fit_null(log_rr: np.ndarray, se_log_rr: np.ndarray) -> EmpiricalNull:
    """Fit the empirical null N(mean, sd^2) to negative controls by maximum likelihood.

    As OHDSI's ``fitNull``: estimates with an infinite or missing log RR or SE, or with
    |log RR| > log(100), are dropped with an :class:`SCCSWarning` saying how many and why.

    Parameters
    ----------
    log_rr, se_log_rr : array_like
        The negative controls' log relative risk estimates and their standard errors.

    Returns
    -------
    EmpiricalNull

    Raises
    ------
    SCCSError
        Arguments of different lengths, a finite SE <= 0, or fewer than 2 usable estimates.

    Examples
    --------
    >>> import numpy as np
    >>> from analysis.sccs.empirical import fit_null
    >>> null = fit_null(np.array([0.5, -0.3, 0.1, 0.4, -0.2]), np.full(5, 0.1))
    >>> round(null.mean, 4), round(null.sd, 4), null.n_used  # sd^2 = 0.5 / 5 - 0.1^2
    (0.1, 0.3, 5)
    """
    y, se = _estimates(log_rr, se_log_rr)
    keep = _usable(y, se, "fit_null", extreme=True)
    if keep.sum() < 2:
        raise SCCSError(f"fit_null: {int(keep.sum())} usable estimate(s) of {len(y)}; the null's "
                        "mean and SD need at least 2 negative controls")
    y, se = y[keep], se[keep]
    theta, beta, ll = _fit_sd(y, se, np.ones((len(y), 1)), np.ones((len(y), 1)))
    return EmpiricalNull(float(beta[0]), float(theta[0]), ll, len(y), int((~keep).sum()))


def calibrate_p(null: EmpiricalNull, log_rr: np.ndarray, se_log_rr: np.ndarray,
                two_sided: bool = True, upper: bool = True) -> np.ndarray:
    """Calibrated p-values: the estimate's position in N(null.mean, null.sd^2 + se^2).

    As OHDSI's ``calibrateP``; NaN where an estimate or its SE is infinite or missing.

    Parameters
    ----------
    null : EmpiricalNull
    log_rr, se_log_rr : array_like
        Estimates to calibrate and their standard errors.
    two_sided : bool
        Two-sided p-value (default); else one-sided.
    upper : bool
        If one-sided: H1 true log RR above the null (True) or below it (False).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from analysis.sccs.empirical import EmpiricalNull, calibrate_p
    >>> null = EmpiricalNull(0.0, 0.3, 0.0, 10, 0)
    >>> calibrate_p(null, np.array([0.5, np.inf]), np.array([0.4, 0.1])).round(4).tolist()
    [0.3173, nan]
    """
    y, se = _estimates(log_rr, se_log_rr)
    with np.errstate(invalid="ignore"):
        z = (y - null.mean) / np.sqrt(null.sd**2 + se**2)
    z = np.where(np.isfinite(y) & np.isfinite(se), z, np.nan)
    if two_sided:
        return 2.0 * normal_cdf(-np.abs(z))
    return normal_cdf(-z) if upper else normal_cdf(z)


def expected_absolute_systematic_error(null: EmpiricalNull) -> float:
    """Expected absolute systematic error (EASE): E|X| for X ~ N(mean, sd^2).

    OHDSI's ``computeExpectedAbsoluteSystematicError`` integrates |x| against the null in closed
    form; the same value is mean (1 - 2 Phi(-mean/sd)) + 2 sd phi(mean/sd) (|mean| if sd = 0).

    Examples
    --------
    >>> import math
    >>> from analysis.sccs.empirical import EmpiricalNull, expected_absolute_systematic_error
    >>> ease = expected_absolute_systematic_error(EmpiricalNull(0.0, 1.0, 0.0, 10, 0))
    >>> round(ease, 12) == round(math.sqrt(2 / math.pi), 12)
    True
    """
    mean, sd = float(null.mean), float(null.sd)
    if sd == 0.0:
        return abs(mean)
    ratio = mean / sd
    density = math.exp(-0.5 * ratio**2) / math.sqrt(2.0 * math.pi)
    return mean * (1.0 - 2.0 * float(normal_cdf(-ratio))) + 2.0 * sd * density


# --------------------------------------------------------------------------------------------------
# the systematic error model and calibrated confidence intervals
# --------------------------------------------------------------------------------------------------
def fit_systematic_error_model(log_rr: np.ndarray, se_log_rr: np.ndarray,
                               true_log_rr: np.ndarray) -> SystematicErrorModel:
    """Fit the systematic error model to negative and positive controls by maximum likelihood.

    The estimate of a control with true log effect t is N(a + b t, (c + d |t|)^2 + se^2), with
    c + d |t| >= 0 at every control (OHDSI's ``fitSystematicErrorModel``, non-legacy form).
    Estimates with an infinite or missing log RR or SE are dropped with an
    :class:`SCCSWarning`.

    Parameters
    ----------
    log_rr, se_log_rr : array_like
        The controls' estimates and standard errors.
    true_log_rr : array_like
        Each control's true log effect (0 for negative controls); must be finite.

    Returns
    -------
    SystematicErrorModel

    Raises
    ------
    SCCSError
        Arguments of different lengths, a finite SE <= 0, a non-finite true effect, fewer than
        4 usable estimates, or fewer than 2 distinct |true_log_rr| (the slopes need them).

    Examples
    --------
    >>> import numpy as np
    >>> from analysis.sccs.empirical import fit_systematic_error_model
    >>> t = np.repeat(np.log([1.0, 2.0, 4.0]), 4)
    >>> y = 0.2 + t + np.tile([-0.1, 0.1, -0.05, 0.05], 3)
    >>> m = fit_systematic_error_model(y, np.full(12, 0.01), t)
    >>> round(m.mean_intercept, 3), round(m.mean_slope, 3)
    (0.2, 1.0)
    """
    y, se, t = _estimates(log_rr, se_log_rr, (true_log_rr, "true_log_rr"))
    if not np.isfinite(t).all():
        bad = int(np.flatnonzero(~np.isfinite(t))[0])
        raise SCCSError(f"true_log_rr: must be finite; position {bad} is {t[bad]!r}")
    keep = _usable(y, se, "fit_systematic_error_model", extreme=False)
    y, se, t = y[keep], se[keep], t[keep]
    abs_t = np.abs(t)
    if len(y) < 4 or np.unique(abs_t).size < 2:
        raise SCCSError(
            f"fit_systematic_error_model: {len(y)} usable estimate(s) with "
            f"{np.unique(abs_t).size} distinct |true_log_rr|; the model's 4 parameters need at "
            "least 4 estimates and 2 distinct |true effects| (negative and positive controls)")
    lo, hi = abs_t.min(), abs_t.max()
    share = (abs_t - lo) / (hi - lo)
    sd_map = np.column_stack([1.0 - share, share])  # SD at the smallest and largest |t|
    theta, beta, ll = _fit_sd(y, se, np.column_stack([np.ones_like(t), t]), sd_map)
    slope = (theta[1] - theta[0]) / (hi - lo)
    return SystematicErrorModel(float(beta[0]), float(beta[1]), float(theta[0] - slope * lo),
                                float(slope), ll, len(y))


def _bound_gap(x: np.ndarray, z: np.ndarray, y: np.ndarray, se: np.ndarray,
               model: SystematicErrorModel) -> np.ndarray:
    """z + (mean(x) - y) / sqrt(sd(x)^2 + se^2): zero where true log effect x puts the
    estimate y at standard-normal quantile -z of its error distribution."""
    mean = model.mean_intercept + model.mean_slope * x
    sd = model.sd_intercept + model.sd_slope * np.abs(x)
    return z + (mean - y) / np.sqrt(sd**2 + se**2)


def _solve_bounds(z: np.ndarray, y: np.ndarray, se: np.ndarray, model: SystematicErrorModel
                  ) -> np.ndarray:
    """Roots in x of :func:`_bound_gap` on [-100, 100] by bisection, all at once (NaN where
    the gap has the same sign at both ends, as R's ``calibrateConfidenceInterval``)."""
    lo = np.full(np.broadcast(z, y).shape, -BOUND_RANGE)
    hi = -lo
    f_lo = _bound_gap(lo, z, y, se, model)
    f_hi = _bound_gap(hi, z, y, se, model)
    bracketed = (np.sign(f_lo) * np.sign(f_hi)) <= 0
    for _ in range(64):  # 200 / 2**64 is below the spacing of doubles near any root
        mid = 0.5 * (lo + hi)
        f_mid = _bound_gap(mid, z, y, se, model)
        left = np.sign(f_mid) == np.sign(f_lo)
        lo, f_lo = np.where(left, mid, lo), np.where(left, f_mid, f_lo)
        hi = np.where(left, hi, mid)
    root = np.where(f_lo == 0, lo, 0.5 * (lo + hi))
    return np.where(bracketed, root, np.nan)


def calibrate_ci(log_rr: np.ndarray, se_log_rr: np.ndarray, model: SystematicErrorModel,
                 alpha: float = 0.05) -> pd.DataFrame:
    """Calibrated estimates and (1 - alpha) confidence intervals under a systematic error model.

    As OHDSI's ``calibrateConfidenceInterval``: the calibrated estimate is the true log effect x
    whose error distribution N(a + b x, (c + d |x|)^2 + se^2) has the observed estimate at its
    median, the bounds those that put it at the 1 - alpha/2 and alpha/2 quantiles (searched in
    [-100, 100]; NaN if there is none, or where the estimate or SE is infinite or missing); the
    calibrated SE is the interval's width over 2 z_(1-alpha/2).

    Parameters
    ----------
    log_rr, se_log_rr : array_like
        Estimates to calibrate and their standard errors.
    model : SystematicErrorModel
        From :func:`fit_systematic_error_model` (or :meth:`SystematicErrorModel.from_null`).
    alpha : float
        One minus the interval's coverage, in (0, 1).

    Returns
    -------
    pandas.DataFrame
        Columns ``log_rr``, ``log_lb95``, ``log_ub95``, ``se_log_rr``, one row per estimate.

    Examples
    --------
    >>> import numpy as np
    >>> from analysis.sccs.empirical import SystematicErrorModel, calibrate_ci
    >>> no_error = SystematicErrorModel(0.0, 1.0, 0.0, 0.0)
    >>> calibrate_ci(np.array([0.5]), np.array([0.1]), no_error).round(4).to_dict("records")
    [{'log_rr': 0.5, 'log_lb95': 0.304, 'log_ub95': 0.696, 'se_log_rr': 0.1}]
    """
    y, se = _estimates(log_rr, se_log_rr)
    if not isinstance(model, SystematicErrorModel):
        raise SCCSError(f"model: must be a SystematicErrorModel, got {type(model).__name__}")
    if not 0.0 < alpha < 1.0:
        raise SCCSError(f"alpha: must be in (0, 1), got {alpha!r}")
    z = normal_quantile(1.0 - alpha / 2.0)
    ok = np.isfinite(y) & np.isfinite(se)
    yy, ss = np.where(ok, y, 0.0), np.where(ok, se, 1.0)
    zs = np.array([0.0, z, -z])[:, None]
    roots = [_solve_bounds(zs, yy[i:i + _CHUNK], ss[i:i + _CHUNK], model)
             for i in range(0, max(len(yy), 1), _CHUNK)]
    est, lb, ub = np.where(ok, np.concatenate(roots, axis=1), np.nan)
    return pd.DataFrame({"log_rr": est, "log_lb95": lb, "log_ub95": ub,
                         "se_log_rr": (ub - lb) / (2.0 * z)})
