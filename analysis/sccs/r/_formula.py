"""R model formulas (``"event ~ mmr + age"``, ``"event ~ factor(sex)*mmr"``) as design matrices
with R's coefficient names, and R's rule for aliased terms.

Private to :mod:`analysis.sccs.r`. The formula is parsed and expanded by patsy (a dependency of
statsmodels, so nothing new is installed; its ``*``, ``:``, treatment contrasts and term order
follow R's). patsy names columns its own way (``mmr[T.1]``); the names are rebuilt from patsy's
design information as R prints them: ``mmr1``, ``factor(sex)2``, ``factor(sex)2:mmr1``,
``relevel(age, ref = 21)1``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

import numpy as np
import pandas as pd

from analysis.sccs import _aliasing
from analysis.sccs.r._args import RError

#: R names for Python operators, in R's deparse spacing.
_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "^"}


def _factor(x: object) -> pd.Categorical:
    """R's ``factor(x)``: levels are the sorted distinct values."""
    if isinstance(x, pd.Series) and isinstance(x.dtype, pd.CategoricalDtype):
        return pd.Categorical(x)
    values = pd.Series(np.asarray(x))
    return pd.Categorical(values, categories=sorted(values.dropna().unique()))


def _relevel(x: object, ref: object) -> pd.Categorical:
    """R's ``relevel(f, ref = r)``: the factor with level ``r`` moved first (the reference)."""
    f = _factor(x)
    cats = list(f.categories)
    match = [c for c in cats if c == ref or str(c) == str(ref)]
    if not match:
        raise RError(f"relevel: ref = {ref!r} is not a level ({cats})")
    return f.reorder_categories([match[0], *[c for c in cats if c is not match[0]]])


#: Functions a formula may call, by their R names.
FUNCTIONS = {"factor": _factor, "relevel": _relevel, "log": np.log, "exp": np.exp,
             "sqrt": np.sqrt}


def r_deparse(code: str) -> str:
    """An expression as R's ``deparse`` prints it: ``relevel(age, ref=21)`` ->
    ``relevel(age, ref = 21)``, ``mmr+42`` -> ``mmr + 42``."""
    try:
        node = ast.parse(code, mode="eval").body
    except SyntaxError:
        return code

    def dep(n: ast.AST) -> str:
        if isinstance(n, ast.Name):
            return n.id
        if isinstance(n, ast.Constant):
            return f'"{n.value}"' if isinstance(n.value, str) else repr(n.value)
        if isinstance(n, ast.BinOp) and type(n.op) in _OPS:
            return f"{dep(n.left)} {_OPS[type(n.op)]} {dep(n.right)}"
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub):
            return f"-{dep(n.operand)}"
        if isinstance(n, ast.Call):
            args = [dep(a) for a in n.args] + [f"{k.arg} = {dep(k.value)}" for k in n.keywords]
            return f"{dep(n.func)}({', '.join(args)})"
        return ast.unparse(n)

    return dep(node)


def variables(formula: str) -> list[str]:
    """R's ``all.vars(formula)`` without the response: every variable name on the right."""
    import patsy

    try:
        desc = patsy.ModelDesc.from_formula(split(formula))
    except Exception as exc:  # patsy.PatsyError
        raise RError(f"formula {formula!r}: {str(exc).splitlines()[0]}") from None
    names: list[str] = []
    for term in desc.rhs_termlist:
        for factor in term.factors:
            tree = ast.parse(factor.code, mode="eval")
            called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
            names += [n.id for n in ast.walk(tree)
                      if isinstance(n, ast.Name) and id(n) not in called]
    return list(dict.fromkeys(names))


def split(formula: str) -> str:
    """The right-hand side of ``"event ~ rhs"`` (R ignores the response: it is always event)."""
    if not isinstance(formula, str) or "~" not in formula:
        raise RError(f"formula: expected a string like 'event ~ mmr + age', got {formula!r}")
    rhs = formula.split("~", 1)[1].strip()
    if not rhs:
        raise RError(f"formula {formula!r}: nothing on the right of ~")
    return rhs


def _column_name(name: str, codes: list[str]) -> str:
    """patsy's column name (``factor(sex)[T.2]:mmr[T.1]``) as R prints it
    (``factor(sex)2:mmr1``), reading it factor by factor with the factors' known codes."""
    out, rest = [], name
    for code in codes:
        if not rest.startswith(code):
            return name
        rest = rest[len(code):]
        level = ""
        if rest.startswith("["):
            close = rest.index("]")
            level = rest[1:close]
            level = level[2:] if level.startswith("T.") else level
            rest = rest[close + 1:]
        out.append(r_deparse(code) + level)
        rest = rest[1:] if rest.startswith(":") else rest
    return ":".join(out) if not rest else name


def design(formula: str, frame: pd.DataFrame, factors: Iterable[str]) -> pd.DataFrame:
    """The model matrix of ``formula`` on ``frame`` without the intercept, as R's ``coxph``
    builds it (treatment contrasts, the first level the reference), columns named as R names
    them. ``factors`` are columns R holds as factors (exposure levels, age, season): they are
    coded with their levels present in ``frame``, in increasing order."""
    import patsy

    rhs = split(formula)
    data = frame.copy()
    for f in factors:
        if f in data.columns:
            data[f] = _factor(data[f])
    env = patsy.EvalEnvironment([FUNCTIONS])
    try:
        mat = patsy.dmatrix(rhs, data, eval_env=env, NA_action="raise",
                            return_type="dataframe")
    except RError:
        raise
    except Exception as exc:  # patsy raises PatsyError, NameError, ... for a bad formula
        raise RError(f"formula {formula!r}: {str(exc).splitlines()[0]}") from None
    info = mat.design_info
    names: list[str] = []
    for term, sl in info.term_name_slices.items():
        codes = [f.code for f in info.terms[list(info.term_names).index(term)].factors]
        names += [_column_name(c, codes) for c in info.column_names[sl]]
    mat.columns = names
    return mat.drop(columns=[c for c in ("Intercept",) if c in mat.columns])


def aliased(X: np.ndarray, stratum: np.ndarray, days: np.ndarray, event: np.ndarray
            ) -> np.ndarray:
    """Columns R reports as ``NA``, by the library's one aliasing rule
    (:mod:`analysis.sccs._aliasing`): constant within every stratum that holds an event, or,
    centred within those strata, a combination of the columns before them (formula order, as
    coxph's Cholesky test; its tolerance, ``eps^(3/4)`` on the information). The rows are
    weighted by the information at beta = 0: events of the stratum times the interval's share
    of the stratum's days.
    """
    codes, _ = pd.factorize(stratum)
    d = np.asarray(days, float)
    n_s = np.bincount(codes, weights=np.asarray(event, float))
    w = n_s[codes] * d / np.bincount(codes, weights=d)[codes]
    return _aliasing.detect(X, codes, w).aliased[0]
