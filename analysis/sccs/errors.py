"""Exceptions and warnings of the SCCS library: one family.

Every exception the library raises is an :class:`SCCSError` (a :class:`ValueError` too, so
callers that catch ``ValueError`` keep working); each module's own error (``IntervalError``,
``PowerError``, ``SemiparametricError``, ...) is a subclass that says which step failed.
Every warning is an :class:`SCCSWarning`. Asking an unfitted model for a fitted attribute
raises :class:`NotFittedError`, an :class:`AttributeError` too, so ``hasattr`` answers False.
A numpy ``LinAlgError`` inside a fit surfaces as an :class:`SCCSError`
(:func:`linalg_guard`).

Examples
--------
>>> from analysis.sccs import SCCSError
>>> issubclass(SCCSError, ValueError)
True
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

__all__ = ["FitAttempt", "NotFittedError", "SCCSError", "SCCSWarning", "linalg_guard", "try_fit"]


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


class NotFittedError(SCCSError, AttributeError):
    """A fitted attribute asked of a model that has not been fitted (``fit()`` returns them).

    An :class:`AttributeError` too, so ``hasattr(SCCS(), "params")`` is False.

    Examples
    --------
    >>> from analysis.sccs import SCCS
    >>> hasattr(SCCS(), "params")
    False
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


@contextlib.contextmanager
def linalg_guard(what: str) -> Iterator[None]:
    """Turn a numpy ``LinAlgError`` raised inside the block into an :class:`SCCSError`.

    ``what`` names the step (``"fit_smooth"``, ...); the message says that a matrix the fit
    needs was singular, which in an SCCS model means a term or a combination of terms the
    data do not determine (or an infinite estimate).

    Examples
    --------
    >>> import numpy as np
    >>> try:
    ...     with linalg_guard("demo"):
    ...         np.linalg.inv(np.zeros((2, 2)))
    ... except SCCSError as err:
    ...     print(str(err)[:45])
    demo: a matrix of the fit is singular (Singul
    """
    try:
        yield
    except np.linalg.LinAlgError as exc:
        raise SCCSError(
            f"{what}: a matrix of the fit is singular ({exc}): a term or a combination of "
            "terms that the data do not determine, or an infinite estimate; check the terms"
        ) from None


class FitAttempt(NamedTuple):
    """What :func:`try_fit` returns: the ``result`` (None when the fit failed), the one-line
    ``reason`` it failed (None when it did not) and the ``warnings`` the call raised (their
    messages, in order).

    Examples
    --------
    >>> FitAttempt(None, "no cases", ()).reason
    'no cases'
    """

    result: Any
    reason: str | None
    warnings: tuple[str, ...]


def try_fit(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> FitAttempt:
    """Fit, or say why not: ``fn(*args, **kwargs)``, catching exactly :class:`SCCSError`.

    For the layers above the library (tables of many models, Monte Carlo studies) where a model
    the data cannot support is a row with a reason, not a crash. Any other exception (a bug)
    propagates. The warnings raised during the call are recorded, every one of them (not
    re-emitted), and returned as messages; the reason is the first line of the error's message.

    Parameters
    ----------
    fn : callable
        The fitter (``SCCS().fit``, :func:`~analysis.sccs.fit_semiparametric`, a study's own
        fitting function whose errors derive from :class:`SCCSError`, ...).
    *args, **kwargs
        Passed to ``fn``.

    Returns
    -------
    FitAttempt
        ``(result, reason, warnings)``: ``(fn's result, None, messages)`` or
        ``(None, reason, messages)``.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.sccs import SCCS, try_fit
    >>> data = pd.DataFrame({"id": [1, 1], "x": [1, 0], "days": [40, 200], "events": [0, 0]})
    >>> fit, reason, caught = try_fit(SCCS().fit, data, ["x"])
    >>> fit is None, reason
    (True, "no events: column 'events' is 0 in every row, so there are no cases")
    >>> fit, reason, caught = try_fit(SCCS().fit, data.assign(events=[0, 2]), ["x"])
    >>> float(fit.params["x"]), reason, len(caught)
    (-inf, None, 1)
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn(*args, **kwargs)
        except SCCSError as exc:
            lines = str(exc).strip().splitlines()
            return FitAttempt(None, lines[0] if lines else type(exc).__name__,
                              tuple(str(w.message) for w in caught))
    return FitAttempt(result, None, tuple(str(w.message) for w in caught))
