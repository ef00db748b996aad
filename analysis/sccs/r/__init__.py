"""An R-compatible interface to the SCCS library: the functions of the R package SCCS 1.7.

A user porting an R script translates it line by line::

    # R
    itp.mod3 <- standardsccs(event~mmr+age, indiv=case, astart=sta, aend=end, aevent=itp,
                             adrug=mmr, aedrug=mmr+42, expogrp=c(0,15,29),
                             agegrp=c(427,488,549,610,671), data=itpdat)
    # Python
    from analysis.sccs import r
    itp_mod3 = r.standardsccs("event ~ mmr + age", indiv="case", astart="sta", aend="end",
                              aevent="itp", adrug="mmr", aedrug="mmr+42", expogrp=[0, 15, 29],
                              agegrp=[427, 488, 549, 610, 671], data=itpdat)
    itp_mod3.summary          # coef, exp_coef, se, z, p, lower95, upper95 by R's names

Functions (R's names): :func:`formatdata`, :func:`standardsccs`, :func:`lrtsccs`,
:func:`semisccs`, :func:`eventdepenexp`, :func:`eventdepenobs`, :func:`samplesize`; and, beyond
R, :func:`intervals` (one copy of each case's intervals, for the diagnostics), :func:`inputs`
(R's arguments as :func:`analysis.sccs.intervals.build_intervals` inputs) and
:func:`fit_design`. A model function returns an :class:`RFit` (``summary``, ``loglik``,
``modelfit``, R-style printout, ``to_dict()``); bad arguments or data raise :class:`RError`
naming the row (header = row 1), the column and the rule.

Conventions (R's argument names and meanings, package SCCS 1.7 by Ghebremichael-Weldeselassie,
Whitaker and Farrington; Farrington, Whitaker & Ghebremichael-Weldeselassie 2018, *Self-Controlled
Case Series Studies: A Modelling Guide with R*):

* a column argument (``indiv``, ``astart``, ``aend``, ``aevent``, ``adrug``, ``aedrug``,
  ``censor``, ``dob``) is a column name or an expression on the columns (``"mmr+42"``), evaluated
  with :meth:`pandas.DataFrame.eval`;
* several drug columns are a list: ``adrug=["rv", "rvd2"]`` is R's ``cbind(rv, rvd2)`` (doses of
  one exposure in the ``"multi"`` format, separate exposures in ``"stack"``), a list of lists is
  R's ``list(cbind(...), cbind(...))``; ``aedrug`` has the same shape;
* ``expogrp``/``washout``: numbers (R's ``c(0, 15, 29)``), or one list per exposure type (R's
  ``list(c(0, 8), c(0, 8))``); ``sameexpopar``: a bool or one per type; ``agegrp``: the first day
  of each age group after the first; ``seasongrp``: ddmm season starts (``101`` = 0101, 1
  January) with ``dob`` as ddmmyyyy;
* the formula is a string, ``"event ~ mmr + age"``, ``"event ~ factor(sex)*mmr"``,
  ``"event ~ ns + relevel(age, ref=21)"``, expanded by patsy with R's treatment contrasts; the
  exposures, ``age`` and ``season`` are factors (reference = lowest level present), other
  variables are columns of ``data`` (constant within an event).

There is one engine underneath: the arguments become the inputs of
:func:`analysis.sccs.intervals.build_intervals`, and the models are fitted by
:class:`analysis.sccs.SCCS` (and the extensions' library functions). Deliberate differences from
R: an exposure or season level that covers no time gets no coefficient (R reports NA; ``age``
in :func:`standardsccs` keeps every group as R does, so an empty first group is R's reference
and R's last group NA); in a model R would give a huge coefficient for a level without events,
the engine reports an infinite estimate with a warning; in the stack format an event with
several episodes keeps its own (R 1.7 deals a case's episodes, sorted by day, to its events in
blocks).

An event's exposures and observation period are its own rows' as R reads them: where a case's
event rows disagree (usually a data error) each event gets its own intervals, the exposures
paired with the events as R 1.7 pairs them (the event on a case's k-th row takes the case's
k-th earliest exposure; ``pairing="row"`` gives each its own row's), and an
:class:`analysis.sccs.SCCSWarning` names the cases. ``sameexpopar=False`` in the stack format
has no effect, as in R, with a warning.

Examples
--------
>>> import pandas as pd
>>> from analysis.sccs import r
>>> d = pd.DataFrame({"case": [1, 2, 3], "sta": [1, 1, 1], "end": [100, 100, 100],
...                   "ev": [10, 60, 80], "vac": [5, 10, 70]})
>>> fit = r.standardsccs("event ~ vac", indiv="case", astart="sta", aend="end", aevent="ev",
...                      adrug="vac", aedrug="vac+20", data=d)
>>> # 2 events in 63 exposed days, 1 in 237 other days: (2/63) / (1/237)
>>> round(float(fit.summary.loc["vac1", "exp_coef"]), 4)
7.5238
"""

from analysis.sccs.r._args import Inputs, RError, RWarning, inputs
from analysis.sccs.r._extensions import eventdepenexp, eventdepenobs, samplesize, semisccs
from analysis.sccs.r._result import RFit, RLRTest
from analysis.sccs.r._standard import (
    fit_design,
    formatdata,
    intervals,
    lrtsccs,
    standardsccs,
)

__all__ = ["Inputs", "RError", "RFit", "RLRTest", "RWarning", "eventdepenexp", "eventdepenobs",
           "fit_design", "formatdata", "inputs", "intervals", "lrtsccs", "samplesize",
           "semisccs", "standardsccs"]
