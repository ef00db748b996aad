"""Cox models of time to first IVIG (Table 1 HRs, Supplementary Table 1), PH checks and KM curves.

The paper asks which baseline characteristics go with being selected for IVIG: the time from the
first daratumumab dose to the first IVIG dose is regressed on each characteristic (univariable
Cox, Table 1) and on several together (multivariable, Supplementary Table 1), over both groups
(IVIG and reference patients).

* Origin ``dara_start`` (day 1 = the first daratumumab day); event = the first IVIG dose inside the
  observation period, at ``time = first_ivig_day - dara_start + 1`` days; patients without one are
  censored at the end of observation (``time = observation days``; observation ends at the
  earliest of ``dara_last + 30``, death and last contact, so a patient who dies or is lost to
  follow-up is censored there). A censoring and an event at the
  same time keep the censored patient in that risk set (the usual convention).
* Ties: SAS PROC PHREG (the paper's software) uses Breslow's approximation by default. lifelines'
  ``CoxPHFitter`` only implements Efron's (its ``baseline_estimation_method="breslow"`` is about the
  baseline hazard, not ties), so the fits use ``statsmodels`` ``PHReg(ties="breslow")``; Wald CIs
  and p-values, as PROC PHREG prints them. lifelines is used for what it does well: the
  Schoenfeld-residual proportional-hazards test and Kaplan-Meier curves.
* Each univariable model uses the patients with that covariate recorded; the multivariable model is
  complete-case. Levels with no patients (IgE, IgM, light chain "both") give NA rows, as printed.
* "Months on dara" is measured after baseline (it includes time after the event); it is fitted only
  to reproduce Table 1 and flagged in the ``note`` column.

Results are tidy DataFrames: ``covariate, level, term, hr, ci_low, ci_high, p, n, n_events,
reference, note``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.study.data import (
    CohortLike,
    baseline_igg,
    first_ivig,
    months_on_dara,
    observation_periods,
    study_data,
)
from analysis.study.definitions import DAYS_PER_MONTH, DAYS_PER_YEAR, to_day

#: Columns of every Cox result table.
RESULT_COLUMNS: list[str] = [
    "covariate", "level", "term", "hr", "ci_low", "ci_high", "p", "n", "n_events",
    "reference", "note",
]
#: |log HR| above which a "converged" estimate is treated as infinite (separation).
MAX_LOG_HR: float = 15.0
POST_BASELINE_NOTE = "post-baseline (includes time after first IVIG); reproduced, not interpretable"


@dataclass(frozen=True)
class CovariateSpec:
    """One Table 1 row block: a column of :func:`cox_data`, numeric or categorical.

    ``levels`` (categorical only) lists every level in table order, the reference first. Which
    paper number a term estimates is the paper layer's business
    (:data:`analysis.paper.values.UNIVARIABLE_IDS`, ``MULTIVARIABLE_IDS``), keyed by ``term``.
    """

    covariate: str
    kind: str  # "numeric" | "categorical"
    label: str
    levels: tuple[str, ...] = ()
    note: str = ""


#: Table 1's univariable models, in the paper's row order.
TABLE1_COVARIATES: tuple[CovariateSpec, ...] = (
    CovariateSpec("age_per_5y", "numeric", "Age at dara (per 5 years)"),
    CovariateSpec("sex", "categorical", "Sex", ("M", "F")),
    CovariateSpec("months_on_dara", "numeric", "Months on dara", note=POST_BASELINE_NOTE),
    CovariateSpec("years_dx_per_5y", "numeric", "Years from diagnosis to dara (per 5 years)"),
    CovariateSpec("lines", "numeric", "Lines of therapy"),
    CovariateSpec("prior_infections", "numeric", "Infections in year prior"),
    CovariateSpec("prior_infections_cat", "categorical", "Prior infections (categorized)",
                  ("0", "1", "2", "3", "4+")),
    CovariateSpec("heavy_chain", "categorical", "Heavy chain type",
                  ("none", "IgG", "IgA", "IgD", "IgE", "IgM")),
    CovariateSpec("light_chain", "categorical", "Light chain type", ("lambda", "kappa", "both")),
    CovariateSpec("iss", "categorical", "ISS stage", ("I", "II", "III")),
    CovariateSpec("riss", "categorical", "R-ISS stage", ("I", "II", "III")),
    CovariateSpec("high_risk_cyto", "categorical", "High-risk cytogenetics", ("no", "yes")),
    CovariateSpec("hgg700_baseline", "categorical", "HGG at baseline (functional IgG < 700)",
                  ("no", "yes")),
    CovariateSpec("hgg400_baseline", "categorical", "HGG at baseline (functional IgG < 400)",
                  ("no", "yes")),
)

#: Supplementary Table 1 (multivariable, complete case): its covariates.
MULTIVARIABLE_COVARIATES: tuple[CovariateSpec, ...] = (
    CovariateSpec("age_per_5y", "numeric", "Age (per 5 yr)"),
    CovariateSpec("years_dx_per_5y", "numeric", "Years dx to dara (per 5 yr)"),
    CovariateSpec("lines", "numeric", "Lines of therapy"),
    CovariateSpec("prior_infections", "numeric", "Infections in year prior"),
    CovariateSpec("sex", "categorical", "Sex", ("M", "F")),
    CovariateSpec("heavy_chain", "categorical", "Heavy chain",
                  ("none", "IgG", "IgA", "IgD", "IgE", "IgM")),
    CovariateSpec("light_chain", "categorical", "Light chain", ("lambda", "kappa", "both")),
    CovariateSpec("iss", "categorical", "ISS", ("I", "II", "III")),
    CovariateSpec("high_risk_cyto", "categorical", "High-risk cyto", ("no", "yes")),
    CovariateSpec("hgg700_baseline", "categorical", "HGG baseline (IgG < 700)", ("no", "yes")),
)


# --- data ------------------------------------------------------------------------------------
def prior_infection_category(counts: pd.Series) -> pd.Series:
    """0, 1, 2, 3, 4+ as strings (NA stays NA)."""
    c = pd.to_numeric(counts, errors="coerce")
    out = c.clip(upper=4).astype("Int64").astype("string")
    return out.replace("4", "4+")


def cox_data(cohort: CohortLike) -> pd.DataFrame:
    """One row per patient (both groups): time to first IVIG and the Table 1 covariates.

    Columns: ``patient_id, group, time`` (days, see module docstring), ``event`` (0/1),
    ``age_per_5y, years_dx_per_5y, months_on_dara, lines, prior_infections`` (floats, NaN =
    unknown), ``sex, prior_infections_cat, heavy_chain, light_chain, iss, riss, high_risk_cyto,
    hgg700_baseline, hgg400_baseline`` (strings, NA = unknown), ``baseline_igg``.
    ``months_on_dara`` = (dara_last - dara_start) days / 30.4375; years = days / 365.25; ``age``
    and ``years_dx`` are the same two covariates in their printed units (Table 1's columns).
    Built once per cohort (:class:`~analysis.study.data.StudyData`); a copy is returned.
    """
    return study_data(cohort).memo("cox_data", lambda: _cox_data(cohort)).copy()  # type: ignore


def _cox_data(cohort: CohortLike) -> pd.DataFrame:
    """:func:`cox_data`, computed."""

    p = study_data(cohort).cohort.patients
    obs = observation_periods(cohort)
    first = first_ivig(cohort)[["patient_id", "first_ivig_obs_day"]]
    d = obs[["patient_id", "group", "start_day", "days"]].merge(first, on="patient_id", how="left")
    event = d["first_ivig_obs_day"].notna()
    time = np.where(event, d["first_ivig_obs_day"] - d["start_day"] + 1, d["days"])
    out = pd.DataFrame(
        {"patient_id": d["patient_id"], "group": d["group"], "time": time.astype(float),
         "event": event.astype(int).to_numpy()}
    )
    start = to_day(p["dara_start"])
    dx_days = (start - to_day(p["diagnosis_date"])).astype(float)
    dx_days[p["diagnosis_date"].isna().to_numpy()] = np.nan
    out["age"] = pd.to_numeric(p["age_at_dara"], errors="coerce").to_numpy(float)
    out["years_dx"] = dx_days / DAYS_PER_YEAR
    out["age_per_5y"] = out["age"].to_numpy() / 5.0
    out["years_dx_per_5y"] = dx_days / DAYS_PER_YEAR / 5.0
    out["months_on_dara"] = months_on_dara(cohort)
    out["lines"] = pd.to_numeric(p["lines_of_therapy"], errors="coerce").to_numpy(float)
    out["prior_infections"] = pd.to_numeric(p["prior_infections_12m"], errors="coerce").to_numpy(
        float
    )
    out["prior_infections_cat"] = prior_infection_category(p["prior_infections_12m"]).to_numpy()
    for col in ("sex", "heavy_chain", "light_chain", "iss", "riss", "high_risk_cyto"):
        out[col] = p[col].astype("string").to_numpy()
    base = baseline_igg(cohort)["baseline_igg"].to_numpy(float)
    out["baseline_igg"] = base
    for thr in (700, 400):
        flag = pd.Series(np.where(base < thr, "yes", "no"), dtype="string")
        flag[np.isnan(base)] = pd.NA
        out[f"hgg{thr}_baseline"] = flag.to_numpy()
    return out


# --- fitting ---------------------------------------------------------------------------------
def _design(data: pd.DataFrame, specs: Sequence[CovariateSpec]) -> tuple[pd.DataFrame, list]:
    """Design matrix (reference-coded dummies for categories) and the (spec, level) of each column.

    Levels with no patient among ``data`` get no column (they cannot be estimated).
    """
    cols: dict[str, np.ndarray] = {}
    meta: list[tuple[CovariateSpec, str | None]] = []
    for spec in specs:
        x = data[spec.covariate]
        if spec.kind == "numeric":
            cols[spec.covariate] = x.to_numpy(dtype=float)
            meta.append((spec, None))
            continue
        values = x.astype("string")
        for level in spec.levels[1:]:
            ind = (values == level).fillna(False).to_numpy(dtype=bool)
            if ind.any():
                cols[f"{spec.covariate}[{level}]"] = ind.astype(float)
                meta.append((spec, level))
    return pd.DataFrame(cols, index=data.index), meta


def _complete(data: pd.DataFrame, specs: Sequence[CovariateSpec]) -> pd.DataFrame:
    """Rows with every covariate of ``specs`` recorded (categorical: a level the spec knows)."""
    ok = np.ones(len(data), dtype=bool)
    for spec in specs:
        x = data[spec.covariate]
        if spec.kind == "numeric":
            ok &= np.isfinite(x.to_numpy(dtype=float))
        else:
            ok &= x.astype("string").isin(list(spec.levels)).fillna(False).to_numpy(dtype=bool)
    return data[ok]


def fit_breslow(time: np.ndarray, event: np.ndarray, exog: pd.DataFrame):
    """Cox partial-likelihood fit with Breslow ties (statsmodels ``PHReg``); returns its results.

    Warnings (overflow, non-convergence in separated data) are captured; the results carry
    ``breslow_converged`` (False when statsmodels reported non-convergence).
    """
    import warnings

    from statsmodels.duration.hazard_regression import PHReg

    model = PHReg(
        np.asarray(time, dtype=float), exog.to_numpy(dtype=float),
        status=np.asarray(event, dtype=float), ties="breslow",
    )
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:  # reported as NaN + note instead
        warnings.simplefilter("always")
        res = model.fit(disp=False)
    res.breslow_converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return res


def _rows(data: pd.DataFrame, specs: Sequence[CovariateSpec]) -> list:
    """Fit one model on ``data`` with ``specs``; tidy rows (NA rows for empty levels)."""
    exog, meta = _design(data, specs)
    n, n_events = len(data), int(data["event"].sum())
    est: dict[tuple[str, str | None], tuple[float, float, float, float]] = {}
    failed = ""
    res = None
    if exog.shape[1] and n_events:
        try:
            res = fit_breslow(data["time"].to_numpy(), data["event"].to_numpy(), exog)
        except np.linalg.LinAlgError:  # singular information: too few patients/events to fit
            failed = "not estimable (singular information matrix: too few patients or events)"
    if res is not None:
        with np.errstate(invalid="ignore"):  # negative variances -> NaN, reported as not finite
            params, bse = np.asarray(res.params, float), np.asarray(res.bse, float)
        finite = np.all(np.isfinite(params)) and np.all(np.isfinite(bse))
        if res.breslow_converged and finite and np.all(np.abs(params) < MAX_LOG_HR):
            ci = np.asarray(res.conf_int())
            for j, (spec, level) in enumerate(meta):
                est[(spec.covariate, level)] = (
                    float(np.exp(params[j])), float(np.exp(ci[j, 0])), float(np.exp(ci[j, 1])),
                    float(res.pvalues[j]),
                )
        else:
            failed = "no finite estimate (separation: a level with all or no events?)"
    rows = []
    for spec in specs:
        levels: Sequence[str | None] = [None] if spec.kind == "numeric" else spec.levels
        for k, level in enumerate(levels):
            is_ref = spec.kind == "categorical" and k == 0
            term = spec.covariate if level is None else f"{spec.covariate}[{level}]"
            hr, lo, hi, p = (1.0, np.nan, np.nan, np.nan) if is_ref else est.get(
                (spec.covariate, level), (np.nan, np.nan, np.nan, np.nan)
            )
            rows.append({
                "covariate": spec.covariate, "level": level, "term": term, "hr": hr,
                "ci_low": lo, "ci_high": hi, "p": p, "n": n, "n_events": n_events,
                "reference": is_ref,
                "note": "; ".join(x for x in (spec.note, "" if is_ref else failed) if x),
            })
    return rows


def univariable_cox(
    cohort_or_data: CohortLike | pd.DataFrame, specs: Sequence[CovariateSpec] = TABLE1_COVARIATES
) -> pd.DataFrame:
    """Table 1: one Cox model per covariate, each on the patients with that covariate recorded.

    Accepts a cohort or a ready :func:`cox_data` frame. Reference levels appear as rows with
    ``hr = 1`` and ``reference = True``; levels nobody has (IgE, IgM, light "both") as NA rows.
    """
    data = cohort_or_data if isinstance(cohort_or_data, pd.DataFrame) else cox_data(cohort_or_data)
    rows = []
    for spec in specs:
        rows += _rows(_complete(data, [spec]), [spec])
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def multivariable_cox(
    cohort_or_data: CohortLike | pd.DataFrame,
    specs: Sequence[CovariateSpec] = MULTIVARIABLE_COVARIATES,
) -> pd.DataFrame:
    """Supplementary Table 1: one complete-case Cox model with all of ``specs`` (Breslow ties)."""
    data = cohort_or_data if isinstance(cohort_or_data, pd.DataFrame) else cox_data(cohort_or_data)
    return pd.DataFrame(_rows(_complete(data, specs), specs),
                        columns=RESULT_COLUMNS)


# --- proportional hazards and Kaplan-Meier --------------------------------------------------
def proportional_hazards_tests(
    cohort_or_data: CohortLike | pd.DataFrame,
    specs: Sequence[CovariateSpec] = TABLE1_COVARIATES,
    *,
    time_transform: str = "rank",
) -> pd.DataFrame:
    """Schoenfeld-residual test of proportional hazards for each univariable model (lifelines).

    For each covariate (and level) the test statistic, its degrees of freedom and p-value of
    ``lifelines.statistics.proportional_hazard_test`` (Grambsch-Therneau, ``time_transform`` of the
    event times, default ranks). lifelines fits with Efron ties; with the small number of tied
    event times here the residuals barely differ from Breslow's, and the test is a diagnostic.
    Columns: ``covariate, term, statistic, df, p, n, n_events, ph_violated`` (p < 0.05).
    """
    import warnings

    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError
    from lifelines.statistics import proportional_hazard_test

    data = cohort_or_data if isinstance(cohort_or_data, pd.DataFrame) else cox_data(cohort_or_data)
    rows = []
    for spec in specs:
        sub = _complete(data, [spec])
        exog, meta = _design(sub, [spec])
        if exog.shape[1] == 0 or sub["event"].sum() < 2:
            continue
        df = exog.assign(time=sub["time"].to_numpy(), event=sub["event"].to_numpy())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                cph = CoxPHFitter().fit(df, duration_col="time", event_col="event")
            except ConvergenceError:  # separated / too few events: no test, NaN row
                cph = None
            res = None if cph is None else proportional_hazard_test(
                cph, df, time_transform=time_transform)
        if res is None:
            rows += [{"covariate": spec.covariate, "term": t, "statistic": np.nan, "df": 1,
                      "p": np.nan, "n": len(sub), "n_events": int(sub["event"].sum()),
                      "ph_violated": False} for t in exog.columns]
            continue
        summary = res.summary
        for term, (_spec, _level) in zip(exog.columns, meta, strict=True):
            stat = float(summary.loc[term, "test_statistic"])
            p = float(summary.loc[term, "p"])
            rows.append({
                "covariate": spec.covariate, "term": term, "statistic": stat, "df": 1, "p": p,
                "n": len(sub), "n_events": int(sub["event"].sum()), "ph_violated": p < 0.05,
            })
    cols = ["covariate", "term", "statistic", "df", "p", "n", "n_events", "ph_violated"]
    return pd.DataFrame(rows, columns=cols)


def kaplan_meier(
    cohort_or_data: CohortLike | pd.DataFrame, by: str = "group"
) -> pd.DataFrame:
    """Kaplan-Meier estimate of the probability of not yet having received IVIG, by ``by``.

    ``by`` is a :func:`cox_data` column (``"group"`` or ``"prior_infections_cat"``). Returns a long
    table ``stratum, time_days, time_months, survival, ci_low, ci_high, at_risk, events`` (one row
    per distinct time, starting at time 0 with survival 1), vectorised by lifelines.
    """
    from lifelines import KaplanMeierFitter

    data = cohort_or_data if isinstance(cohort_or_data, pd.DataFrame) else cox_data(cohort_or_data)
    data = data[data[by].notna()]
    frames = []
    for stratum, sub in data.groupby(by, sort=True):
        kmf = KaplanMeierFitter().fit(sub["time"], sub["event"], label=str(stratum))
        sf = kmf.survival_function_.iloc[:, 0]
        ci = kmf.confidence_interval_survival_function_
        table = kmf.event_table
        frames.append(pd.DataFrame({
            "stratum": str(stratum),
            "time_days": sf.index.to_numpy(float),
            "time_months": sf.index.to_numpy(float) / DAYS_PER_MONTH,
            "survival": sf.to_numpy(float),
            "ci_low": ci.iloc[:, 0].to_numpy(float),
            "ci_high": ci.iloc[:, 1].to_numpy(float),
            "at_risk": table["at_risk"].reindex(sf.index).to_numpy(),
            "events": table["observed"].reindex(sf.index).to_numpy(),
        }))
    return pd.concat(frames, ignore_index=True)


# --- Table 1 descriptive columns -------------------------------------------------------------
#: Table 1's numeric rows: the :func:`cox_data` columns, in their printed units.
T1_NUMERIC: tuple[str, ...] = ("age", "months_on_dara", "years_dx", "lines", "prior_infections")
#: Table 1's category rows: :func:`cox_data` column -> its levels in the data, in table order.
#: The one list used by this module, the paper's ids (:mod:`analysis.paper.values`) and
#: :mod:`analysis.synthetic.calibration`.
T1_LEVELS: dict[str, tuple[str, ...]] = {
    "sex": ("M", "F"),
    "prior_infections_cat": ("0", "1", "2", "3", "4+"),
    "heavy_chain": ("none", "IgG", "IgA", "IgD", "IgE", "IgM"),
    "light_chain": ("lambda", "kappa", "both"),
    "iss": ("I", "II", "III"),
    "riss": ("I", "II", "III"),
    "high_risk_cyto": ("no", "yes"),
    "hgg700_baseline": ("no", "yes"),
    "hgg400_baseline": ("no", "yes"),
}
#: The two groups of Table 1, in its column order.
T1_GROUPS: tuple[str, str] = ("ivig", "reference")


def baseline_characteristics(cohort_or_data: CohortLike | pd.DataFrame) -> pd.DataFrame:
    """Table 1's descriptive columns per group: the one place Table 1 is counted (the book's
    Table 1, the paper's ids in :func:`analysis.paper.values.table1_ids` and the calibration table
    read it).

    Per group: a ``patients`` row (``n`` = group size); numeric rows (:data:`T1_NUMERIC`: age,
    months on dara, years from diagnosis, lines, prior infections, in their printed units):
    ``median, min, max`` over patients with the value recorded; category rows (the levels of
    :data:`T1_LEVELS`, including the prior-infection categories and baseline HGG): ``n`` and
    ``pct`` (0-100) of the patients with that covariate recorded (the paper's available-case
    denominators, inconsistencies.md items 9-10). Columns :data:`BASELINE_COLUMNS`. Accepts a
    cohort or its :func:`cox_data` table.
    """
    data = cohort_or_data if isinstance(cohort_or_data, pd.DataFrame) else cox_data(cohort_or_data)
    rows = []
    for group in T1_GROUPS:
        d = data[data["group"] == group]
        rows.append({"covariate": "patients", "level": None, "group": group, "n": len(d),
                     "n_recorded": len(d)})
        rows += _numeric_rows(d, group)
        rows += _category_rows(d, group)
    return pd.DataFrame(rows, columns=BASELINE_COLUMNS)


#: Columns of :func:`baseline_characteristics`.
BASELINE_COLUMNS: list[str] = ["covariate", "level", "group", "n", "pct", "median", "min", "max",
                               "n_recorded"]


def _numeric_rows(d: pd.DataFrame, group: str) -> list[dict]:
    rows = []
    for col in T1_NUMERIC:
        x = d[col].dropna()
        rows.append({"covariate": col, "level": None, "group": group, "median": x.median(),
                     "min": x.min(), "max": x.max(), "n_recorded": len(x)})
    return rows


def _category_rows(d: pd.DataFrame, group: str) -> list[dict]:
    rows = []
    for col, levels in T1_LEVELS.items():
        x = d[col].astype("string")
        recorded = x.isin(list(levels)).fillna(False)
        counts = x[recorded].value_counts()
        n_rec = int(recorded.sum())
        for level in levels:
            n = int(counts.get(level, 0))
            rows.append({"covariate": col, "level": level, "group": group, "n": n,
                         "pct": 100.0 * n / n_rec if n_rec else np.nan, "n_recorded": n_rec})
    return rows
