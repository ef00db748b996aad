"""The one error class of the OMOP layer.

Every bad input of :mod:`analysis.omop` (a missing CDM table or column, a bad specification key,
an unknown engine) raises :class:`OmopError`, whose message names the table, column or key and the
rule broken. It derives from :class:`analysis.sccs.SCCSError`, so one ``except`` clause catches
every error of the project; the CLI maps it to exit code 2.

Examples
--------
>>> from analysis.omop.errors import OmopError
>>> from analysis.sccs import SCCSError
>>> issubclass(OmopError, SCCSError)
True
"""

from __future__ import annotations

from analysis.sccs.errors import SCCSError

__all__ = ["OmopError"]


class OmopError(SCCSError):
    """A CDM, cohort or specification cannot be used (message names table/column/key and rule).

    Examples
    --------
    >>> from analysis.omop.errors import OmopError
    >>> str(OmopError("CDM table 'person': missing column 'year_of_birth'"))
    "CDM table 'person': missing column 'year_of_birth'"
    """
