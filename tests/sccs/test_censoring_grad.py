"""Analytic gradients and Hessians of the four censoring log-likelihoods
(:mod:`analysis.sccs._censoring_grad`) against central finite differences of the
log-likelihood itself (``_branch``, the code the fits maximise), at random points."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.sccs._censoring_grad import case_derivatives
from analysis.sccs.eventdep_observation import CENSORING_MODELS, _branch, _Params

#: Finite-difference step in every parameter: central differences are accurate to about
#: h^2 |f'''| ~ 1e-10 and rounding adds eps |f| / h ~ 1e-11 (|f| < 100).
H = 1e-5


def _value(model: str, p: np.ndarray, t: np.ndarray, end: np.ndarray, died: bool) -> np.ndarray:
    return _branch(model, _Params.rows(p), t, end, died)


def _points(model: str, seed: int, n: int = 300):
    """Random parameters around the data scale and cases aged 50-80 followed 1 day-5 years."""
    rng = np.random.default_rng(seed)
    p = rng.normal(0.0, [1.5, 1.5, 1.5, 1.0], (n, 4))
    if model[2] == "A":  # the age models' scale is an age
        p[:, 1] += np.log(65.0)
    t = rng.uniform(50.0, 80.0, n)
    return p, t, t + rng.exponential(1.0, n) + 1 / 365.25


@pytest.mark.parametrize("died", [True, False])
@pytest.mark.parametrize("model", CENSORING_MODELS)
def test_gradient_and_hessian_equal_finite_differences(model: str, died: bool) -> None:
    """Gradient against central differences of the log-likelihood (relative 1e-6: the
    gamma models' shape derivatives are themselves central differences in log nu, step 1e-4,
    accurate to about 1e-8); Hessian against central differences of the analytic gradient
    (relative 1e-4, the same reason twice)."""
    p, t, end = _points(model, seed=CENSORING_MODELS.index(model) + 10 * died)
    ll, g, hess = case_derivatives(model, p, t, end, died)
    np.testing.assert_allclose(ll, _value(model, p, t, end, died), rtol=1e-12, atol=1e-12)
    for i in range(4):
        step = np.zeros(4)
        step[i] = H
        fd = (_value(model, p + step, t, end, died) - _value(model, p - step, t, end, died))
        np.testing.assert_allclose(g[:, i], fd / (2 * H), rtol=1e-6, atol=1e-6)
        gp = case_derivatives(model, p + step, t, end, died)[1]
        gm = case_derivatives(model, p - step, t, end, died)[1]
        np.testing.assert_allclose(hess[:, :, i], (gp - gm) / (2 * H), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(hess, np.swapaxes(hess, 1, 2), rtol=1e-13, atol=1e-15)


def test_event_at_age_zero_has_finite_derivatives() -> None:
    """EWA and EGA at an event age of 0 (the survival to age 0 is 1): finite, and equal to the
    finite differences."""
    p = np.array([[0.1, 1.0, 0.2, 0.3]])
    t, end = np.zeros(1), np.array([0.5])
    for model in ("EWA", "EGA"):
        ll, g, _ = case_derivatives(model, p, t, end, died=True)
        assert np.isfinite(ll).all() and np.isfinite(g).all()
        fd = [(_value(model, p + s, t, end, True) - _value(model, p - s, t, end, True))[0]
              / (2 * H) for s in np.eye(4) * H]
        np.testing.assert_allclose(g[0], fd, rtol=1e-6, atol=1e-6)
