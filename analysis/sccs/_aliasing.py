"""The library's one rule for aliased (non-estimable) terms of a conditional likelihood (private).

Every fitter decides aliasing here: the standard model and the batched fits
(:func:`analysis.sccs._kernels.structure`), the semiparametric model, the event-dependent
exposure model and the R port (:mod:`analysis.sccs.r`). *How* an aliased term is reported (an
error, or NaN as R's NA) is the fitter's business; *which* terms are aliased is decided once.

The rule works on the design rows, never on an information matrix whose entries for an aliased
term are rounding noise (that made the answer depend on the BLAS kernel). With the weights
``w`` of the rows at the null (the information metric of the conditional likelihood: ``w_r =
n_s d_r / D_s``, events times the row's share of its stratum), in formula order:

1. *Constant*: a term is constant within every stratum (exactly equal values, or a
   within-stratum variation below the tolerance below). A conditional likelihood compares rows
   within a stratum only, so such a term carries no information (sex within a case).
2. *Dependent*: the term, centred within each stratum (and, given a factor, with the factor's
   levels projected out), is a linear combination of the earlier terms that are kept. This is
   a QR factorisation without pivoting, computed as Gram-Schmidt on the weighted rows (a
   second pass where the first cancelled more than half the norm: "twice is enough"),
   dropping the dependent columns as it goes; R's ``coxph`` marks the later of dependent
   columns NA in the same order.

Each column is first centred on its weighted mean and scaled to unit weighted norm, so the
residual norm ``rho`` of step 2 is the share of the column's variation that the strata, the
factor and the earlier terms do not explain (between 0 and 1, free of the column's units and
offset). A column is aliased when ``rho <= tol`` with

    tol = max(eps ** (3/8), max(n, q) * eps * sqrt(q)).

The second term is the rounding floor of the computed residual (numpy's ``matrix_rank`` rule
``max(n, q) * eps * sigma_max``, with ``sigma_max <= ||A||_F <= sqrt(q)`` for unit columns); the
first is R's: ``coxph`` declares a column singular when its Cholesky pivot of the information
is below ``toler.chol = eps ** (3/4)`` on the squared scale, i.e. ``eps ** (3/8) ~ 1.3e-6`` on
the norm. So a term is aliased when less than about one millionth of its variation is
estimable, and the decision does not move with the last bits of a BLAS kernel: a genuine
residual is many orders of magnitude above the floor, an aliased one many orders below.

Examples
--------
>>> import numpy as np
>>> X = np.array([[1.0, 0, 0], [0, 1, 1], [1, 1, 1], [0, 0, 0]])   # col 2 = col 1
>>> stratum, w = np.array([0, 0, 1, 1]), np.ones(4)
>>> a = detect(X, stratum, w)
>>> a.constant.tolist(), a.dependent.tolist()
([[False, False, False]], [[False, False, True]])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_EPS = float(np.finfo(float).eps)
#: R's coxph singularity tolerance (toler.chol = eps^(3/4) on the information) on the norm.
R_TOL = _EPS ** 0.375


@dataclass
class Aliasing:
    """Per block (rows) and term (columns): which terms are aliased, and why.

    ``constant``: no variation within any stratum of the block. ``dependent``: not constant,
    but a combination of the strata, the factor levels and the earlier kept terms.
    """

    constant: np.ndarray
    dependent: np.ndarray

    @property
    def aliased(self) -> np.ndarray:
        """``constant | dependent``, shape ``(n_blocks, q)``."""
        return self.constant | self.dependent


def tolerance(n: int, q: int) -> float:
    """Threshold on the relative residual norm (see the module docstring).

    Examples
    --------
    >>> tolerance(1000, 3) == R_TOL
    True
    """
    return max(R_TOL, max(n, q) * _EPS * np.sqrt(q))


def _sums(values: np.ndarray, index: np.ndarray | None, size: int) -> np.ndarray:
    """Per-index sums of ``values`` (``index`` None: one total)."""
    if index is None:
        return np.array([float(np.add.reduce(values))])
    return np.bincount(index, weights=values, minlength=size)


@dataclass
class _Rows:
    """The rows the rule looks at: positive weight, stratum codes 0.., blocks."""

    X: np.ndarray
    codes: np.ndarray
    n_strata: int
    w: np.ndarray
    sw: np.ndarray
    block: np.ndarray | None
    n_blocks: int
    level: np.ndarray | None
    first: np.ndarray  # first row of each stratum
    total: np.ndarray  # weight of each stratum

    @classmethod
    def build(cls, X, stratum, weight, row_block, n_blocks, level) -> _Rows:
        w = np.asarray(weight, float)
        use = w > 0
        pick = (lambda a: a) if use.all() else (lambda a: a[use])
        X, w, stratum = pick(np.asarray(X, float)), pick(w), pick(np.asarray(stratum))
        first, codes = _codes(stratum)
        n_strata = len(first)
        return cls(X, codes, n_strata, w, np.sqrt(w),
                   None if row_block is None else pick(np.asarray(row_block)), n_blocks,
                   None if level is None else pick(np.asarray(level)), first,
                   np.bincount(codes, weights=w, minlength=n_strata))

    def within(self, v: np.ndarray) -> np.ndarray:
        """``v`` minus its weighted mean in each stratum."""
        return v - (np.bincount(self.codes, weights=self.w * v, minlength=self.n_strata)
                    / self.total)[self.codes]

    def unit(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Column ``k`` centred on its weighted block mean, scaled to unit weighted norm per
        block (the scaled rows ``sqrt(w) * x``), and whether it is exactly constant in every
        stratum of each block."""
        x, b, B = self.X[:, k], self.block, self.n_blocks
        g = x - _spread(_sums(self.w * x, b, B) / _sums(self.w, b, B), b)
        norm = np.sqrt(_sums(self.w * g * g, b, B))
        exact = _sums((x != x[self.first][self.codes]).astype(float), b, B) == 0
        safe = np.where(norm > 0, norm, 1.0)
        return self.sw * self.within(g) / _spread(safe, b), exact | (norm == 0)


def _codes(stratum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First row of each stratum and the stratum code 0.. of each row (O(n) when the rows
    are sorted by stratum, as the fitters keep them)."""
    if len(stratum) and np.all(stratum[1:] >= stratum[:-1]):
        change = stratum[1:] != stratum[:-1]
        codes = np.zeros(len(stratum), np.int64)
        np.cumsum(change, out=codes[1:])
        return np.flatnonzero(np.concatenate([[True], change])), codes
    _, first, codes = np.unique(stratum, return_index=True, return_inverse=True)
    return first, codes.reshape(-1)


def _spread(values: np.ndarray, block: np.ndarray | None) -> np.ndarray | float:
    """Per-block values at each row (the single value for one block)."""
    return float(values[0]) if block is None else values[block]


def _project_levels(rows: _Rows, u: np.ndarray, level_info: np.ndarray) -> np.ndarray:
    """``u`` (scaled rows, centred within strata) minus its weighted projection on the
    factor's level dummies centred within strata, twice (reorthogonalisation)."""
    known = rows.level >= 0
    K = level_info.shape[0]
    for _ in range(2):
        t = np.bincount(rows.level[known], weights=(rows.sw * u)[known], minlength=K)
        coef = np.r_[np.linalg.solve(level_info, t), 0.0]      # index -1: the reference
        u = u - rows.sw * rows.within(coef[rows.level])
    return u


def detect(
    X: np.ndarray,
    stratum: np.ndarray,
    weight: np.ndarray,
    *,
    row_block: np.ndarray | None = None,
    n_blocks: int = 1,
    level: np.ndarray | None = None,
    level_info: np.ndarray | None = None,
) -> Aliasing:
    """Apply the rule (module docstring) to the columns of ``X``, in order.

    Parameters
    ----------
    X : ndarray, shape (n, q)
        Design rows.
    stratum : ndarray, shape (n,)
        Stratum of each row (any labels); strata must not span blocks.
    weight : ndarray, shape (n,)
        Weight of each row at the null (rows of weight 0 carry no information and are left
        out).
    row_block, n_blocks :
        Block (an independent model, as in :func:`analysis.sccs.batched.fit_many`) of each
        row; ``None`` for one block.
    level, level_info :
        A factor whose levels are parameters too (the semiparametric age steps): its level
        per row (``-1`` for the reference) and the information matrix of its levels at the
        null (``K x K``, positive definite). One block only.

    Returns
    -------
    Aliasing
        ``constant`` and ``dependent``, shape ``(n_blocks, q)``.

    Examples
    --------
    A term constant within each case (``sex``) beside a 0/1 exposure:

    >>> import numpy as np
    >>> X = np.array([[1.0, 1], [1, 0], [0, 1], [0, 0]])
    >>> detect(X, np.array([7, 7, 9, 9]), np.array([2.0, 1, 1, 3])).constant.tolist()
    [[True, False]]
    """
    rows = _Rows.build(X, stratum, weight, row_block, n_blocks, level)
    n, q = rows.X.shape
    B = n_blocks
    constant = np.zeros((B, q), bool)
    dependent = np.zeros((B, q), bool)
    if n == 0:
        constant[:] = True
        return Aliasing(constant, dependent)
    tol = tolerance(n, q)
    basis: list[np.ndarray] = []
    for k in range(q):
        u, exact = rows.unit(k)
        constant[:, k] = exact | (np.sqrt(_sums(u * u, rows.block, B)) <= tol)
        if level_info is not None and len(level_info):
            u = _project_levels(rows, u, level_info)
        norm = np.sqrt(_sums(u * u, rows.block, B))
        for _ in range(2 if basis else 0):
            before = norm
            for v in basis:
                u = u - _spread(_sums(v * u, rows.block, B), rows.block) * v
            norm = np.sqrt(_sums(u * u, rows.block, B))
            if np.all(norm > 0.5 * before):  # little cancellation: once is enough (Kahan)
                break
        dependent[:, k] = ~constant[:, k] & (norm <= tol)
        keep = ~(constant[:, k] | dependent[:, k])
        if keep.any():
            scale = np.where(keep, norm, np.inf)                 # not kept: a zero row
            basis.append(u / _spread(scale, rows.block))
    return Aliasing(constant, dependent)


def involved(X: np.ndarray, stratum: np.ndarray, weight: np.ndarray, k: int,
             earlier: np.ndarray) -> list[int]:
    """The terms among ``earlier`` (kept, before ``k``) that the dependent term ``k``
    combines, and ``k``: those with a coefficient above 1e-3 of the largest in the weighted
    within-stratum least squares of column ``k`` on them (one block).

    Examples
    --------
    >>> import numpy as np
    >>> a, b, c = [1.0, 0, 0, 1, 0, 1], [0.0, 1, 0, 1, 1, 0], [0.0, 0, 1, 0, 1, 1]
    >>> X = np.column_stack([a, b, c, np.add(a, b)])
    >>> involved(X, np.zeros(6), np.ones(6), 3, np.array([0, 1, 2]))
    [0, 1, 3]
    """
    rows = _Rows.build(X, stratum, weight, None, 1, None)
    cols = [rows.unit(j)[0] for j in earlier]
    if not cols:
        return [int(k)]
    coef = np.linalg.lstsq(np.column_stack(cols), rows.unit(k)[0], rcond=None)[0]
    big = np.abs(coef) > 1e-3 * np.abs(coef).max()
    return sorted([int(j) for j in np.asarray(earlier)[big]] + [int(k)])
