"""Sample size and power of an SCCS study (Musonda, Farrington & Whitaker 2006), generic.

API for the R layer
-------------------
``sample_size(relative_incidence, risk_days, start, end, p_exposed, *, alpha=0.05, power=0.8,
age_ri=None, age_cuts=None, z_digits=4) -> int`` is R's
``samplesize(eexpo, risk, astart, aend, p, alpha, power, eage, agegrp)``: ``p_exposed`` a number
or one proportion per age group (``len(age_cuts) + 1``), ``age_ri`` the age-group relative
incidences of groups 2.. (R's ``eage``). ``z_digits=4`` rounds the normal quantiles to 4 decimals
as R does (``None``: unrounded). ``power_of(n_cases, ...)`` gives the power of ``n_cases`` cases.
"""
