"""Multi-start maximum likelihood for the censoring models of event-dependent observation
periods, for one data set or many at once (private engine of
:mod:`analysis.sccs.eventdep_observation` and :mod:`analysis.sccs.batched_ext`).

The four-parameter censoring likelihoods (EWA, EWI, EGA, EGI) are not concave and have plateaus
(a mixture weight ``pi`` at 0 or 1 leaves a component free; ``log rho`` may run to infinity),
so a local optimiser from one start can stop at a worse local optimum than R's ``nlm`` from
R's ``initval`` (issue 17 shows one). Here every (data set, model) pair is fitted from several
labelled starting points, all advanced together, and the best end point is kept:

* ``"initval"``: the caller's ``start`` (R's ``initval``, default 0.1 x 4: R's own path);
* ``"data"``: log mean times from the event to the end of observation of the censored and the
  uncensored, pi = 1/2, nu = 1;
* ``"exponential"``: the exponential component at its own maximum likelihood estimate (all
  mass on it, pi = expit(3) = 0.95), the second component as in ``"data"``;
* ``"grid1"``, ``"grid2"``, ``"grid3"``: the three best points of a fixed grid of 225 points
  around the data scale (3 x log rho, 5 x log mu, 3 x logit pi, 5 x log nu), evaluated in one
  call;
* then ``"EWI"``/``"EGI"``/``"EWA"``/``"EGA"``: the winner of the sibling model (Weibull <->
  gamma of the same form, whose parameters mean nearly the same) as one more start, in a second
  round.

The optimiser is a damped Newton method with the Hessian's eigenvalues replaced by their
absolute values (a saddle-free Newton step, so that the method also moves fast where the
likelihood is not concave). The censoring models pass analytic gradients and Hessians
(:mod:`analysis.sccs._censoring_grad`) except in the final polish, where the stencil's
curvature walks a curved ridge faster; without them (``derivs=None``) each point's gradient
(central differences) and Hessian (central on the diagonal, forward off it) come from one
15-point stencil (step 1e-4). Per iteration four damping values and two multiples (4, 16) of
the undamped Newton step (which walks fast along a plateau where a parameter runs off to
infinity) are tried at once; the best improving candidate is taken.
Every point of every start, model and data set goes into one vectorised evaluation per
iteration, so the cost of many data sets is that of one larger array, not of many
Python-level optimiser calls. Each point's path depends only on its own values, so a data set
fitted among many gives bit for bit the result it gets alone. A point stops when the best
candidate improves the negative log-likelihood by less than ``1e-10 (1 + |f|)``, when no
candidate improves it, or after ``max_iter`` iterations.

Everything is deterministic: no random numbers are used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: Damping factors tried at once in every iteration (times 1 + the largest |Hessian diagonal|).
_DAMPING = np.array([0.0, 1e-4, 1e-2, 1.0])
#: Multiples of the undamped Newton step also tried (long walks along a plateau).
_STRETCH = np.array([4.0, 16.0])
#: A point stops when its best candidate gains less than this, relative to 1 + |f|.
_GAIN = 1e-10
#: Finite-difference step of the stencil (gradient and Hessian).
_H = 1e-4
#: Elements (points x cases) of one likelihood evaluation; larger batches are split.
_CHUNK = 1 << 21
_SIBLING = {"EWA": "EGA", "EGA": "EWA", "EWI": "EGI", "EGI": "EWI"}


def _stencil(h: float = _H) -> np.ndarray:
    """The 15 offsets: 0, +-h e_i, and h e_i + h e_j (i < j), in 4 dimensions."""
    e = np.eye(4) * h
    pts = [np.zeros(4)]
    pts += [s * e[i] for i in range(4) for s in (1.0, -1.0)]
    pts += [e[i] + e[j] for i in range(4) for j in range(i + 1, 4)]
    return np.array(pts)


_OFFSETS = _stencil()


def _derivatives(F: np.ndarray, h: float = _H) -> tuple[np.ndarray, np.ndarray]:
    """Gradient (central differences) and Hessian (central on the diagonal, forward off it)
    of each row of ``F`` (points x 15 stencil values)."""
    f0 = F[:, 0]
    fp, fm = F[:, 1:9:2], F[:, 2:9:2]
    g = (fp - fm) / (2 * h)
    H = np.empty((len(F), 4, 4))
    H[:, np.arange(4), np.arange(4)] = (fp - 2 * f0[:, None] + fm) / h**2
    k = 9
    for i in range(4):
        for j in range(i + 1, 4):
            H[:, i, j] = H[:, j, i] = (F[:, k] - fp[:, i] - fp[:, j] + f0) / h**2
            k += 1
    return g, H


#: ``derivs(points, owner) -> (gradients, Hessians)`` of the objective (see :func:`minimise`).
Derivatives = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass
class Optimum:
    """End points of :func:`minimise`: ``x`` (n, 4), ``f`` (n,) and iterations ``n_iter``."""

    x: np.ndarray
    f: np.ndarray
    n_iter: np.ndarray


def minimise(fun: Callable[[np.ndarray, np.ndarray], np.ndarray], x0: np.ndarray,
             max_iter: int = 100, derivs: Derivatives | None = None) -> Optimum:
    """Minimise ``fun`` from every row of ``x0`` (n, 4), all rows together.

    ``fun(points, owner)`` returns the objective at each row of ``points`` (m, 4) for the start
    ``owner`` (m,) it belongs to (a start carries its data set and model), ``1e300`` where it is
    not finite. ``derivs(points, owner)``, when given, returns its gradients (m, 4) and
    Hessians (m, 4, 4) (analytic); without it they come from the 15-point stencil.

    Examples
    --------
    >>> import numpy as np
    >>> def f(p, owner):
    ...     return ((p - owner[:, None]) ** 2).sum(axis=1)
    >>> out = minimise(f, np.zeros((2, 4)))
    >>> np.round(out.x, 8).tolist()
    [[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]]
    """
    x = np.array(x0, dtype=float)
    n = len(x)
    f = fun(x, np.arange(n))
    n_iter = np.zeros(n, np.int64)
    active = np.isfinite(f) & (f < 1e300)
    nd = len(_DAMPING) + len(_STRETCH)
    for _ in range(max_iter):
        a = np.flatnonzero(active)
        if not len(a):
            break
        if derivs is None:
            pts = (x[a, None, :] + _OFFSETS[None, :, :]).reshape(-1, 4)
            g, H = _derivatives(fun(pts, np.repeat(a, len(_OFFSETS))).reshape(len(a), -1))
        else:
            g, H = derivs(x[a], a)
        step = _steps(g, H).reshape(-1, 4)
        cand = x[a].repeat(nd, axis=0) + step
        ok = np.isfinite(cand).all(axis=1)
        fc = np.full(len(cand), 1e300)
        if ok.any():
            fc[ok] = fun(cand[ok], np.repeat(a, nd)[ok])
        fc = fc.reshape(len(a), nd)
        best = np.argmin(fc, axis=1)
        fb = fc[np.arange(len(a)), best]
        better = fb < f[a]
        gain = np.where(better, f[a] - fb, 0.0)
        upd = a[better]
        x[upd] = cand.reshape(len(a), nd, 4)[better, best[better]]
        f[upd] = fb[better]
        n_iter[a] += 1
        active[a[~better | (gain <= _GAIN * (1.0 + np.abs(fb)))]] = False
    return Optimum(x, f, n_iter)


def _steps(g: np.ndarray, H: np.ndarray) -> np.ndarray:
    """Candidate steps (n, candidates, 4): Newton steps on the Hessian with its eigenvalues
    replaced by their absolute values (so that negative curvature is a direction of descent,
    not of ascent), damped by each factor of ``_DAMPING``, then multiples of the undamped one.
    """
    # huge or non-finite derivatives (trial regions far out) only give steps that the
    # evaluation of the candidates then rejects
    H = np.where(np.isfinite(H), np.clip(H, -1e150, 1e150), 0.0)
    g = np.where(np.isfinite(g), np.clip(g, -1e150, 1e150), 0.0)
    w, V = np.linalg.eigh(H)
    aw = np.abs(w)
    scale = 1.0 + aw.max(axis=1)
    gv = np.einsum("nij,ni->nj", V, g)  # V' g
    with np.errstate(all="ignore"):
        denom = aw[:, None, :] + _DAMPING[None, :, None] * scale[:, None, None]
        coef = np.where(denom > 1e-300, gv[:, None, :] / denom, 0.0)
        step = -np.einsum("nij,nkj->nki", V, coef)
        return np.concatenate([step, step[:, :1] * _STRETCH[None, :, None]], axis=1)


def central_gradient(fun: Callable[[np.ndarray, np.ndarray], np.ndarray], x: np.ndarray,
                     owner: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central-difference gradients (n, 4) of ``fun`` at the rows of ``x`` (one call).

    Examples
    --------
    >>> import numpy as np
    >>> g = central_gradient(lambda p, o: (p ** 2).sum(axis=1), np.ones((1, 4)), np.zeros(1))
    >>> np.round(g, 6).tolist()
    [[2.0, 2.0, 2.0, 2.0]]
    """
    e = np.eye(4) * h
    pts = np.concatenate([x[:, None, :] + e[None], x[:, None, :] - e[None]], axis=1)
    v = fun(pts.reshape(-1, 4), np.repeat(owner, 8)).reshape(len(x), 8)
    return (v[:, :4] - v[:, 4:]) / (2 * h)


def grid(center: np.ndarray) -> np.ndarray:
    """The fixed starting grid (225, 4) around ``center`` = (log rho, log mu, ., .).

    Examples
    --------
    >>> grid(np.zeros(4)).shape
    (225, 4)
    """
    r = center[0] + np.array([-2.0, 0.0, 2.0])
    m = center[1] + np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    p = np.array([-2.0, 0.0, 2.0])
    v = np.array([-1.0, 0.0, 1.0, 2.0, 3.0])
    return np.stack(np.meshgrid(r, m, p, v, indexing="ij"), axis=-1).reshape(-1, 4)


def sibling(model: str) -> str:
    """The model whose optimum seeds ``model``'s second round (Weibull <-> gamma).

    Examples
    --------
    >>> sibling("EWI")
    'EGI'
    """
    return _SIBLING[model]


def chunks(counts: np.ndarray, limit: int = _CHUNK) -> list[slice]:
    """Consecutive slices of points whose summed ``counts`` (cases) stay within ``limit``.

    Examples
    --------
    >>> chunks(np.array([3, 3, 3]), limit=6)
    [slice(0, 2, None), slice(2, 3, None)]
    """
    c = np.cumsum(counts)
    out, lo = [], 0
    while lo < len(counts):
        base = c[lo - 1] if lo else 0
        hi = max(lo + 1, int(np.searchsorted(c, base + limit, side="right")))
        out.append(slice(lo, hi))
        lo = hi
    return out
