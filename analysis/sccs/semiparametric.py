"""Semiparametric SCCS: the age effect is a free step at every distinct event age (generic).

API for the R layer
-------------------
``fit_semiparametric(intervals, events, terms, *, age_origin=None, age_prefix="age",
unique_days=False, tol=1e-10, max_iter=100, alpha=0.05) -> SemiparametricResult``

* ``intervals``: a :func:`analysis.sccs.intervals.build_intervals` table (``id, start, end`` and
  the term columns; any extra fixed-covariate or interaction columns the caller adds, e.g.
  ``factor(sex)2`` and ``factor(sex)2:mmr1``, are just more numeric columns).
* ``events``: ``id, day`` (R's ``aevent``); ``unique_days=True`` counts an individual's repeated
  events on one day once, as R's ``semisccs`` does.
* ``terms``: the term columns in R's formula order. A term that is aliased (constant within every
  case, or a combination of earlier terms and the age steps) is reported as NaN, not an error.
* ``age_origin``: ``None`` (the day numbers are ages, as in R) or a DataFrame ``id, day`` (day
  number of birth).
* Result: ``.params``, ``.bse`` (Series: the terms, then ``f"{age_prefix}{age}"`` for every
  distinct event age but the first, R's ``factor(age)`` levels: pass
  ``age_prefix="factor(age)"``), ``.summary`` (``coef, exp_coef, se, z, p, lower95, upper95``),
  ``.loglik``, ``.aliased``, ``.cov_params()``.
"""
