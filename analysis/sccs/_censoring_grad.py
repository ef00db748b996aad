"""Analytic gradients and Hessians of the censoring log-likelihoods (EWA, EWI, EGA, EGI) of
event-dependent observation periods, per case (private engine of
:mod:`analysis.sccs.eventdep_observation`).

Parameters ``theta = (log rho, log mu, logit pi, log nu)``. A case's log-likelihood is the
log of a two-component mixture, ``l = log(pi exp(A) + (1 - pi) exp(B))``, with ``A`` the
exponential component (depends on ``log rho`` only) and ``B`` the Weibull or gamma one
(``log mu``, ``log nu``). With ``a = log pi + A``, ``b = log(1 - pi) + B`` and the posterior
weight ``w = exp(a - l)``::

    grad l = w grad a + (1 - w) grad b
    Hess l = w Hess a + (1 - w) Hess b + w (1 - w) (grad a - grad b)(grad a - grad b)'

The derivatives of ``A`` and of the Weibull ``B`` are closed forms. The gamma models need
``log Q(nu, y)`` (``Q`` the regularised upper incomplete gamma function, ``y = rate x``):
its derivatives in ``y`` are closed forms, and those in the shape (which scipy does not
provide) are central differences in ``log nu`` alone, at fixed ``y`` (step 1e-4; three
``gammaincc`` evaluations per term instead of the 15-point stencil in all four parameters).
The derivatives are checked against central finite differences of the log-likelihood
(``tests/sccs/test_censoring_grad.py``).
"""

from __future__ import annotations

import numpy as np
from scipy import special

#: Step in log nu of the shape derivatives of log Q (the gamma models).
_H_NU = 1e-4
#: R's guard: a survival of exactly 0 at the event age is read as 1e-9.
_SF_FLOOR = 1e-9


def _exponential(la: np.ndarray, s: np.ndarray, died: bool, log_rho: np.ndarray):
    """A, dA/dlog rho, d2A/dlog rho2 of the exponential component."""
    las = la * s
    if died:
        return -log_rho - las, las - 1.0, -las
    return -las, las, -las


def _weibull_power(log_x: np.ndarray, nu: np.ndarray, log_mu: np.ndarray):
    """z = (x / mu)^nu and its derivatives (z_m, z_n, z_mm, z_mn, z_nn) in (log mu, log nu)."""
    L = log_x - log_mu
    with np.errstate(invalid="ignore", over="ignore"):
        z = np.exp(nu * L)
        nlz = np.where(z > 0, nu * L * z, 0.0)
        znn = np.where(z > 0, nlz * (1.0 + nu * L), 0.0)
    nz = nu * z
    return z, (-nz, nlz, nu * nz, -nz - nu * nlz, znn), L


def _weibull(model: str, t, end, nu, log_mu, log_nu, died: bool):
    """B and its five derivatives for the Weibull models (EWI: interval, EWA: age)."""
    if model == "EWI":
        z, dz, L = _weibull_power(np.log(end - t), nu, log_mu)
    else:
        z, dz, L = _weibull_power(np.log(end), nu, log_mu)
        zt, dzt, _ = _weibull_power(np.log(t), nu, log_mu)
        z = z - zt
        dz = tuple(a - b for a, b in zip(dz, dzt, strict=True))
    B = -z
    d = [-v for v in dz]  # B_m, B_n, B_mm, B_mn, B_nn of -z
    if died:  # + log(nu / mu) + (nu - 1) L
        B = B + log_nu - log_mu + (nu - 1.0) * L
        d[0] = d[0] - nu
        d[1] = d[1] + 1.0 + nu * L
        d[3] = d[3] - nu
        d[4] = d[4] + nu * L
    return B, d


def _log_q(nu: np.ndarray, y: np.ndarray, floor: bool):
    """log Q(nu, y), D = y d/dy log Q (closed form) at nu, and where Q is 0."""
    q = special.gammaincc(nu, y)
    zero = q == 0.0
    if floor:
        q = np.where(zero, _SF_FLOOR, q)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        F = np.log(q)
        D = -np.exp(special.xlogy(nu, y) - y - special.gammaln(nu) - F)
    return F, D, zero


def _gamma_upper(x, nu, log_mu, log_nu, floor: bool):
    """log Q(nu, rate x) (rate = nu / mu) and its five derivatives in (log mu, log nu)."""
    y = np.exp(log_nu - log_mu) * x
    F, D, zero = _log_q(nu, y, floor)
    Fp, Dp, _ = _log_q(nu * np.exp(_H_NU), y, floor)
    Fm, Dm, _ = _log_q(nu * np.exp(-_H_NU), y, floor)
    with np.errstate(invalid="ignore"):
        G1 = (Fp - Fm) / (2 * _H_NU)
        G2 = (Fp - 2 * F + Fm) / _H_NU**2
        DD1 = (Dp - Dm) / (2 * _H_NU)
        yDy = D * (nu - y - D)
        d = [-D, G1 + D, yDy, -(DD1 + yDy), G2 + 2 * DD1 + yDy]
    if floor:  # the floored survival is a constant
        d = [np.where(zero, 0.0, v) for v in d]
    return F, d


def _gamma_log_pdf(x, nu, log_mu, log_nu):
    """log of the gamma density (shape nu, rate nu / mu) at x and its five derivatives."""
    lr = log_nu - log_mu
    rx = np.exp(lr) * x
    with np.errstate(divide="ignore", invalid="ignore"):
        lx = np.log(x)
        B = nu * lr + (nu - 1.0) * lx - rx - special.gammaln(nu)
        bn = nu * lr + nu + nu * lx - rx - nu * special.digamma(nu)
    return B, [rx - nu, bn, -rx, rx - nu, bn + nu - nu**2 * special.polygamma(1, nu)]


def _gamma(model: str, t, end, nu, log_mu, log_nu, died: bool):
    """B and its five derivatives for the gamma models (EGI: interval, EGA: age)."""
    x = end - t if model == "EGI" else end
    if died:
        B, d = _gamma_log_pdf(x, nu, log_mu, log_nu)
    else:
        B, d = _gamma_upper(x, nu, log_mu, log_nu, floor=False)
    if model == "EGA":  # conditional on survival to the event age
        Ft, dt = _gamma_upper(t, nu, log_mu, log_nu, floor=True)
        B = B - Ft
        d = [a - b for a, b in zip(d, dt, strict=True)]
    return B, d


def case_derivatives(model: str, p: np.ndarray, t: np.ndarray, end: np.ndarray,
                     died: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-likelihood (E,), gradient (E, 4) and Hessian (E, 4, 4) of each case's censoring
    likelihood, one parameter vector per case: ``p`` (E, 4), event ages ``t``, ends ``end``
    (years), all cases ended early (``died``) or all as planned.

    Examples
    --------
    >>> import numpy as np
    >>> ll, g, H = case_derivatives("EWI", np.zeros((1, 4)), np.array([1.0]),
    ...                             np.array([2.0]), died=False)
    >>> round(float(ll[0]), 6)  # both components survive one year: log exp(-1)
    -1.0
    >>> g.shape, H.shape
    ((1, 4), (1, 4, 4))
    """
    log_rho, log_mu, logit_pi, log_nu = p.T
    la, nu = np.exp(-log_rho), np.exp(log_nu)
    pi = special.expit(logit_pi)
    with np.errstate(all="ignore"):
        A, A1, A2 = _exponential(la, end - t, died, log_rho)
        if model in ("EWI", "EWA"):
            B, (Bm, Bn, Bmm, Bmn, Bnn) = _weibull(model, t, end, nu, log_mu, log_nu, died)
        else:
            B, (Bm, Bn, Bmm, Bmn, Bnn) = _gamma(model, t, end, nu, log_mu, log_nu, died)
        a = special.log_expit(logit_pi) + A
        b = special.log_expit(-logit_pi) + B
        ll = np.logaddexp(a, b)
        w = np.exp(a - ll)
        v = 1.0 - w
        g = np.stack([w * A1, v * Bm, w - pi, v * Bn], axis=1)
        d = np.stack([A1, -Bm, np.ones_like(A1), -Bn], axis=1)
        H = (w * v)[:, None, None] * d[:, :, None] * d[:, None, :]
        H[:, 0, 0] += w * A2
        H[:, 1, 1] += v * Bmm
        H[:, 1, 3] += v * Bmn
        H[:, 3, 1] += v * Bmn
        H[:, 3, 3] += v * Bnn
        H[:, 2, 2] -= pi * (1.0 - pi)
    return ll, g, H
