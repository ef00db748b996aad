"""``fit_sccs_model`` when the library drops an aliased term: the profile intervals of the other
terms are those of the library's ``conf_int(method="profile")``, the aliased term's are NaN (it
raised IndexError when a profiled term came after the aliased one)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from analysis.omop.fit import fit_sccs_model
from analysis.sccs import SCCS, SCCSWarning


def test_profile_intervals_after_an_aliased_term() -> None:
    # cov_1001 equals cov_1000 in every case: aliased, dropped; cov_1002 comes after it
    iv = pd.DataFrame({"case_id": [1, 1, 1, 2, 2, 2], "cov_1000": [0, 1, 1, 0, 1, 1],
                       "cov_1001": [0, 1, 1, 0, 1, 1], "cov_1002": [0, 0, 1, 0, 1, 0],
                       "days": [100, 50, 30, 80, 40, 20], "events": [1, 2, 1, 2, 1, 1]})
    terms = ["cov_1000", "cov_1001", "cov_1002"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SCCSWarning)
        est = fit_sccs_model(iv, terms, [], None).estimates
        ref = SCCS().fit(iv, terms, id_col="case_id").conf_int(method="profile")
    assert est.loc[1001, ["log_lb95", "log_ub95"]].isna().all()
    for cid in (1000, 1002):
        np.testing.assert_allclose(est.loc[cid, ["log_lb95", "log_ub95"]].to_numpy(float),
                                   ref.loc[f"cov_{cid}"].to_numpy(float), rtol=1e-12)
