"""Penalised maximisation with an L1 (Laplace) and an L2 (normal) prior per parameter (private).

:func:`maximise_penalised` maximises ``l(theta) - sum_j l2_j theta_j^2 / 2 - sum_j l1_j |theta_j|``
for a concave ``l`` given, as :func:`analysis.sccs._kernels.maximise` takes it, by its value and
its gradient and information (minus the Hessian). Without an L1 term the objective is smooth
and the fit *is* :func:`~analysis.sccs._kernels.maximise` on the ridge-penalised objective (the
Newton-Raphson of every fitter of the library). With one it is a proximal Newton method: at
each iterate the smooth part is replaced by its second-order expansion, the resulting
L1-penalised quadratic is minimised exactly by cyclic coordinate descent (each coordinate's
minimiser is a soft threshold, so a coefficient is exactly 0 when its partial gradient is within
its penalty), and the step is damped by backtracking until the penalised objective increases
sufficiently (Armijo). The iteration stops when the Karush-Kuhn-Tucker conditions hold to
``tol``: ``|gradient_j| <= l1_j`` where ``theta_j = 0`` and ``gradient_j = l1_j sign(theta_j)``
elsewhere (gradient of the smooth part).

A parameter with no curvature (its information and ridge both 0: the data do not determine it
and nothing penalises it to a value) is held at its start value; callers remove aliased terms
first, so this happens only in the small training sets of cross-validation. A smooth problem
whose information is singular there goes the proximal way too (its sub-problems then are plain
Newton systems solved by coordinate descent).

Examples
--------
>>> import numpy as np
>>> def ll(t):                       # -(t - 3)^2 / 2: maximum at 3
...     return float(-0.5 * (t[0] - 3.0) ** 2), None
>>> def d(t, _):
...     return np.array([-(t[0] - 3.0)]), np.array([[1.0]])
>>> maximise_penalised(ll, d, np.zeros(1), np.array([1.0]), np.zeros(1), tol=1e-12,
...                    max_iter=20).theta.tolist()   # soft threshold: 3 - 1
[2.0]
>>> maximise_penalised(ll, d, np.zeros(1), np.array([5.0]), np.zeros(1), tol=1e-12,
...                    max_iter=20).theta.tolist()   # |gradient at 0| = 3 <= 5: exactly 0
[0.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from analysis.sccs._kernels import Ascent, maximise

__all__ = ["kkt_violation", "maximise_penalised"]

#: Sweeps of coordinate descent on one quadratic sub-problem, at most.
_SWEEPS = 1000
#: Armijo's sufficient-increase fraction and the most step halvings.
_ARMIJO, _HALVINGS = 1e-4, 60


def kkt_violation(grad: np.ndarray, theta: np.ndarray, l1: np.ndarray) -> np.ndarray:
    """Per parameter, how far ``theta`` is from the optimality conditions of the maximisation.

    ``grad`` is the gradient of the smooth part (log-likelihood minus the ridge); the value is
    ``max(|grad_j| - l1_j, 0)`` where ``theta_j == 0`` and ``|grad_j - l1_j sign(theta_j)|``
    elsewhere: 0 at the maximum (the subgradient of the objective contains 0).

    Examples
    --------
    >>> kkt_violation(np.array([0.5, 2.0, 1.0]), np.array([0.0, 0.0, 0.3]),
    ...               np.array([1.0, 1.0, 1.0])).tolist()
    [0.0, 1.0, 0.0]
    """
    zero = theta == 0.0
    return np.where(zero, np.maximum(np.abs(grad) - l1, 0.0), np.abs(grad - l1 * np.sign(theta)))


def maximise_penalised(
    objective: Callable[[np.ndarray], tuple[float, Any]],
    derivatives: Callable[[np.ndarray, Any], tuple[np.ndarray, np.ndarray]],
    theta0: np.ndarray,
    l1: np.ndarray,
    l2: np.ndarray,
    *,
    tol: float,
    max_iter: int,
) -> Ascent:
    """Maximise ``l(theta) - sum l2 theta^2 / 2 - sum l1 |theta|`` (see the module docstring).

    ``objective(theta)`` gives ``(l, aux)`` and ``derivatives(theta, aux)`` the gradient and
    information of ``l``. Returns an :class:`~analysis.sccs._kernels.Ascent` whose ``value`` is
    the penalised objective, ``grad`` the gradient of the smooth part (``l`` minus the ridge),
    ``info`` its information (plus the ridge), and ``aux`` the objective's at the maximum.
    """
    l1, l2 = np.asarray(l1, dtype=float), np.asarray(l2, dtype=float)

    def smooth(t: np.ndarray) -> tuple[float, Any]:
        value, aux = objective(t)
        return value - 0.5 * float(l2 @ t**2), aux

    def smooth_derivatives(t: np.ndarray, aux: Any) -> tuple[np.ndarray, np.ndarray]:
        g, info = derivatives(t, aux)
        return g - l2 * t, info + np.diag(l2)

    if not np.any(l1 > 0.0):
        try:
            return maximise(smooth, smooth_derivatives, theta0, tol=tol, max_iter=max_iter)
        except np.linalg.LinAlgError:  # singular information: coordinate descent copes
            pass
    return _proximal_newton(smooth, smooth_derivatives, np.asarray(theta0, dtype=float), l1,
                            tol, max_iter)


def _proximal_newton(
    smooth: Callable[[np.ndarray], tuple[float, Any]],
    derivatives: Callable[[np.ndarray, Any], tuple[np.ndarray, np.ndarray]],
    theta: np.ndarray, l1: np.ndarray, tol: float, max_iter: int,
) -> Ascent:
    """Proximal Newton with coordinate-descent sub-problems and Armijo backtracking."""
    value, aux = smooth(theta)
    value -= float(l1 @ np.abs(theta))
    grad, info = derivatives(theta, aux)
    for it in range(1, max_iter + 1):
        step = _newton_lasso_step(grad, info, theta, l1)
        # predicted increase of the penalised objective along the step (>= 0)
        gain = float(grad @ step) - float(l1 @ (np.abs(theta + step) - np.abs(theta)))
        t = 1.0
        for _ in range(_HALVINGS):
            cand = theta + t * step
            new_smooth, new_aux = smooth(cand)
            new_value = new_smooth - float(l1 @ np.abs(cand))
            if new_value >= value + _ARMIJO * t * gain - 1e-12 * (1.0 + abs(value)):
                break
            t *= 0.5
        change = abs(new_value - value)
        theta, value, aux = cand, new_value, new_aux
        grad, info = derivatives(theta, aux)
        if kkt_violation(grad, theta, l1).max(initial=0.0) <= tol or (
                change <= 1e-15 * (1.0 + abs(value)) and gain <= tol):
            return Ascent(theta, value, aux, grad, info, True, it)
    return Ascent(theta, value, aux, grad, info, False, max_iter)


def _newton_lasso_step(
    grad: np.ndarray, info: np.ndarray, theta: np.ndarray, l1: np.ndarray
) -> np.ndarray:
    """argmax_d of ``grad.d - d' info d / 2 - sum l1 |theta + d|``.

    Cyclic coordinate descent (each coordinate's exact maximiser given the others is a soft
    threshold) finds which coefficients are 0 and the signs of the others; after every sweep the
    linear system on that support is solved exactly (:func:`_on_support`), and its solution is
    returned as soon as it satisfies the sub-problem's optimality conditions."""
    q = len(theta)
    diag = np.diag(info).copy()
    free = diag > 1e-12 * max(1.0, float(diag.max(initial=0.0)))
    d = np.zeros(q)
    hd = np.zeros(q)  # info @ d, kept up to date
    scale = 1.0 + float(np.abs(theta).max(initial=0.0))
    for _ in range(_SWEEPS):
        largest = 0.0
        for j in np.flatnonzero(free):
            a, t, k = diag[j], theta[j], l1[j] / diag[j]
            # the unpenalised maximiser in z = theta_j + d_j, the other coordinates fixed
            w = t + (grad[j] - (hd[j] - a * d[j])) / a
            new = (w - k if w > k else w + k if w < -k else 0.0) - t
            delta = new - d[j]
            if delta != 0.0:
                hd += info[:, j] * delta
                d[j] = new
                largest = max(largest, abs(delta))
        if largest <= 1e-13 * scale:
            break
        exact = _on_support(grad, info, theta, l1, d, free)
        if exact is not None:
            return exact
    return d


def _on_support(
    grad: np.ndarray, info: np.ndarray, theta: np.ndarray, l1: np.ndarray, d: np.ndarray,
    free: np.ndarray,
) -> np.ndarray | None:
    """The sub-problem's exact solution with the zeros and signs of ``theta + d``, or None when
    that solution breaks a sign or a zero's condition ``|slope| <= l1``."""
    z = theta + d
    on = free & ((z != 0.0) | (l1 == 0.0))
    out = ~on
    step = np.where(free & out, -theta, 0.0)  # zeros stay at 0, held coordinates do not move
    sign = np.sign(z[on])
    rhs = grad[on] - l1[on] * sign - info[np.ix_(on, out)] @ step[out]
    try:
        step[on] = np.linalg.solve(info[np.ix_(on, on)], rhs)
    except np.linalg.LinAlgError:
        return None
    penalised = l1[on] > 0.0
    if np.any(sign[penalised] * (theta[on] + step[on])[penalised] <= 0.0):
        return None
    zeros = free & out
    slope = grad[zeros] - info[zeros] @ step
    if np.any(np.abs(slope) > l1[zeros] * (1.0 + 1e-9)):
        return None
    return step
