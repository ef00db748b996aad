"""Shared test configuration.

* matplotlib renders off-screen in tests (chapters keep the inline backend; see toolchain notes);
* hypothesis runs a bounded, deterministic number of examples so the suite's time is predictable.
"""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

from hypothesis import HealthCheck, settings

settings.register_profile(
    "project",
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "project"))
