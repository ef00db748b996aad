"""Exceptions and warnings of the SCCS library.

Examples
--------
>>> from analysis.sccs import SCCSError
>>> issubclass(SCCSError, ValueError)
True
"""

from __future__ import annotations

__all__ = ["SCCSError", "SCCSWarning"]


class SCCSError(ValueError):
    """The data or the model cannot give a valid SCCS estimate (message says why and where).

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.sccs import SCCS, SCCSError
    >>> try:
    ...     SCCS().fit(pd.DataFrame({"id": [1], "days": [10], "events": [0], "x": [1]}), ["x"])
    ... except SCCSError as e:
    ...     print(e)
    no events: column 'events' is 0 in every row, so there are no cases
    """


class SCCSWarning(UserWarning):
    """The fit ran but a number needs care: infinite estimate, non-convergence, ...

    Examples
    --------
    >>> import warnings
    >>> import pandas as pd
    >>> from analysis.sccs import SCCS, SCCSWarning
    >>> data = pd.DataFrame({"id": [1, 1], "x": [1, 0], "days": [10, 20], "events": [0, 2]})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     fit = SCCS().fit(data, ["x"])
    >>> caught[0].category is SCCSWarning, float(fit.params["x"])
    (True, -inf)
    """
