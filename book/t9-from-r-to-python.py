# ---
# jupyter:
#   jupytext:
#     default_lexer: ipython3
#     formats: md:myst,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# (t9-from-r-to-python)=
# # From R to Python: the SCCS package's examples, side by side
#
# This chapter is for teachers who use the textbook by Farrington, Whitaker and
# Ghebremichael-Weldeselassie {cite:p}`farrington2018` and its R package SCCS {cite:p}`sccs_r`, and
# want to teach the same analyses in Python. Every documented example of the package's model
# functions (`standardsccs`, `lrtsccs`, `semisccs`, `eventdepenexp`, `eventdepenobs`,
# `samplesize`) appears twice: the R code as the package documents it (shown as text, not run), and
# its line-by-line translation with `analysis.sccs.r`, which runs when this page is built. Under
# each pair, R's numbers (read from the stored reference files `data/external/sccs-r/reference.json`
# and `data/external/sccs-r-ext/reference.json`, produced by R itself; see their README and
# provenance) stand beside ours. {ref}`t6-classic` rebuilds the `standardsccs` examples from the
# library's building blocks; here the point is the translation.

# %% tags=["hide-input"]
import warnings

import numpy as np
import pandas as pd
from IPython.display import display

from analysis.report import book
from analysis.report.tables import style_table
from analysis import teaching as T
from analysis.sccs import r

comparisons: dict[str, pd.DataFrame] = {}


def show(example: str, fit: r.RFit) -> None:
    """Put R's numbers beside ours; display the exposure rows (all rows count in the summary)."""
    table = T.compare_with_r(example, fit.summary)
    comparisons[example] = table
    keep = ~table.index.str.contains(r"^(?:age|factor\(age\)|relevel|season)", regex=True)
    caption = (f"{example}: {int(keep.sum())} of {len(table)} terms shown (age and season "
               "terms are compared too)" if not keep.all() else example)
    display(style_table(table[keep], caption=caption, index=True, uuid="t9_" + example.replace(".", "_"),
                        formats=dict.fromkeys(table.columns, "{:.6f}")))


# %% [markdown]
# ## Translating a call
#
# The rules are few; the R layer keeps R's argument names and meanings.
#
# | R | Python (`analysis.sccs.r`) |
# |---|---|
# | `event~mmr+age` | `"event~mmr+age"` (a string) |
# | `indiv=case` (a column) | `indiv="case"` (its name) |
# | `aedrug=mmr+42` (an expression) | `aedrug="mmr+42"` (evaluated on the data) |
# | `c(0,15,29)` | `[0, 15, 29]` |
# | `cbind(dtp,dtpd2)` | `["dtp", "dtpd2"]` |
# | `list(c(0,8), c(0,8))`, `list(cbind(..), cbind(..))` | `[[0, 8], [0, 8]]`, `[[..], [..]]` |
# | `TRUE`, `FALSE`, `NULL` | `True`, `False`, `None` |
# | `seq(387,707,20)` | `list(range(387, 708, 20))` (R includes the end) |
# | `data=itpdat` | `data=itpdat` (a pandas DataFrame) |
# | `summary(mod)` / printing `mod` | `mod.summary` (same row names) / `print(mod)` |
#
# The datasets are the package's, as stored in the reference folders:

# %%
itpdat = T.r_dataset("itpdat")
itpdat.head()

# %% [markdown]
# ## `standardsccs`: the standard model
#
# MMR vaccine and idiopathic thrombocytopenic purpura (ITP): one risk period of 43 days.
#
# ```r
# itp.mod1 <- standardsccs(event~mmr, indiv=case, astart=sta, aend=end,
#                         aevent=itp, adrug=mmr, aedrug=mmr+42, data=itpdat)
# ```

# %%
itp_mod1 = r.standardsccs("event~mmr", indiv="case", astart="sta", aend="end",
                          aevent="itp", adrug="mmr", aedrug="mmr+42", data=itpdat)
show("standardsccs_itp.mod1", itp_mod1)

# %% [markdown]
# With age groups:
#
# ```r
# itp.mod2 <- standardsccs(event~mmr+age, indiv=case, astart=sta, aend=end,
#                         aevent=itp, adrug=mmr, aedrug=mmr+42,
#                         agegrp=c(427,488,549,610,671), data=itpdat)
# ```

# %%
itp_mod2 = r.standardsccs("event~mmr+age", indiv="case", astart="sta", aend="end",
                          aevent="itp", adrug="mmr", aedrug="mmr+42",
                          agegrp=[427, 488, 549, 610, 671], data=itpdat)
show("standardsccs_itp.mod2", itp_mod2)

# %% [markdown]
# With three risk periods:
#
# ```r
# itp.mod3 <- standardsccs(event~mmr+age, indiv=case, astart=sta, aend=end,
#                         aevent=itp, adrug=mmr, aedrug=mmr+42, expogrp=c(0,15,29),
#                         agegrp=c(427,488,549,610,671), data=itpdat)
# ```

# %%
itp_mod3 = r.standardsccs("event~mmr+age", indiv="case", astart="sta", aend="end",
                          aevent="itp", adrug="mmr", aedrug="mmr+42", expogrp=[0, 15, 29],
                          agegrp=[427, 488, 549, 610, 671], data=itpdat)
show("standardsccs_itp.mod3", itp_mod3)

# %% [markdown]
# Antidepressants and hip fracture: risk periods with a washout, and age groups from quantiles.
# R's setup line becomes a numpy line (R's default quantile is numpy's default):
#
# ```r
# ageq <- floor(quantile(hipdat$frac, seq(0.05,0.95,0.05),
#                          names=FALSE))
# hip.mod1 <- standardsccs(event~ad+age, indiv=case, astart=sta, aend=end,
#                            aevent=frac, adrug=ad, aedrug=endad, expogrp=c(0,15,43),
#                            washout=c(1,92,182), agegrp=ageq, data=hipdat)
# ```

# %%
hipdat = T.r_dataset("hipdat")
# R's quantile() default (type 7) is numpy's default ("linear")
ageq = np.floor(np.quantile(hipdat["frac"], np.arange(0.05, 0.951, 0.05))).astype(int).tolist()
hip_mod1 = r.standardsccs("event~ad+age", indiv="case", astart="sta", aend="end",
                          aevent="frac", adrug="ad", aedrug="endad", expogrp=[0, 15, 43],
                          washout=[1, 92, 182], agegrp=ageq, data=hipdat)
show("standardsccs_hip.mod1", hip_mod1)

# %% [markdown]
# NSAIDs and gastro-intestinal bleeding, with a chosen reference age group:
#
# ```r
# ageq <- floor(quantile(gidat$bleed[duplicated(gidat$case)==0],
#                 seq(0.025,0.975,0.025), names=FALSE))
# gi.mod1 <- standardsccs(event~ns+relevel(age,ref=21), indiv=case, astart=sta,
#                          aend=end, aevent=bleed, adrug=ns, aedrug=endns,
#                          agegrp=ageq, dataformat="stack", data=gidat)
# ```

# %%
gidat = T.r_dataset("gidat")
first = gidat["bleed"][~gidat["case"].duplicated()]      # duplicated(gidat$case)==0
ageq = np.floor(np.quantile(first, np.arange(1, 40) * 0.025)).astype(int).tolist()
gi_mod1 = r.standardsccs("event~ns+relevel(age,ref=21)", indiv="case", astart="sta",
                         aend="end", aevent="bleed", adrug="ns", aedrug="endns",
                         agegrp=ageq, dataformat="stack", data=gidat)
show("standardsccs_gi.mod1", gi_mod1)

# %% [markdown]
# DTP vaccine and convulsions: three doses, one parameter set per dose (`"multi"` format):
#
# ```r
# ageg <- c(57,85,113,141,169,197,225,253,281,309,337)
# dtp.mod2 <- standardsccs(event~dtp+age, indiv=case, astart=sta, aend=end,
#                            aevent=conv, adrug=cbind(dtp,dtpd2, dtpd3),
#                            aedrug=cbind(dtp+14,dtpd2+14,dtpd3+14),
#                            expogrp=c(0,4,8),agegrp=ageg, dataformat="multi",
#                            sameexpopar=FALSE, data=dtpdat)
# ```

# %%
ageg = [57, 85, 113, 141, 169, 197, 225, 253, 281, 309, 337]
dtp_mod2 = r.standardsccs("event~dtp+age", indiv="case", astart="sta", aend="end",
                          aevent="conv", adrug=["dtp", "dtpd2", "dtpd3"],
                          aedrug=["dtp+14", "dtpd2+14", "dtpd3+14"],
                          expogrp=[0, 4, 8], agegrp=ageg, dataformat="multi",
                          sameexpopar=False, data=T.r_dataset("dtpdat"))
show("standardsccs_dtp.mod2", dtp_mod2)

# %% [markdown]
# Hib and MMR vaccines and convulsions: two exposures, each with its own risk periods:
#
# ```r
# ageg <- seq(387,707,20)
# con.mod <- standardsccs(event~hib+mmr+age, indiv=case, astart=sta, aend=end,
#                           aevent=conv, adrug=cbind(hib,mmr), aedrug=cbind(hib+14,mmr+14),
#                           expogrp=list(c(0,8), c(0,8)), agegrp=ageg, data=condat)
# ```

# %%
ageg = list(range(387, 708, 20))                      # seq(387,707,20)
con_mod = r.standardsccs("event~hib+mmr+age", indiv="case", astart="sta", aend="end",
                         aevent="conv", adrug=["hib", "mmr"], aedrug=["hib+14", "mmr+14"],
                         expogrp=[[0, 8], [0, 8]], agegrp=ageg, data=T.r_dataset("condat"))
show("standardsccs_con.mod", con_mod)

# %% [markdown]
# DTP and Hib, three doses each (a list of `cbind`s becomes a list of lists):
#
# ```r
# ageg <- c(57,85,113,141,169,197,225,253,281,309,337)
# hib.mod1 <- standardsccs(event~dtp+hib+age, indiv=case, astart=sta,
#                             aend=end, aevent=conv,
#                            adrug=list(cbind(dtp, dtpd2,dtpd3),
#                                        cbind(hib,hibd2,hibd3)),
#                             aedrug=list(cbind(dtp+14,dtpd2+14,dtpd3+14),
#                                         cbind(hib+14,hibd2+14,hibd3+14)),
#                             expogrp=list(c(0,4,8),c(0,8)),agegrp=ageg,
#                             dataformat="multi", data=hibdat)
# ```

# %%
ageg = [57, 85, 113, 141, 169, 197, 225, 253, 281, 309, 337]
hibdat = T.r_dataset("hibdat")
hib_mod1 = r.standardsccs("event~dtp+hib+age", indiv="case", astart="sta", aend="end",
                          aevent="conv",
                          adrug=[["dtp", "dtpd2", "dtpd3"], ["hib", "hibd2", "hibd3"]],
                          aedrug=[["dtp+14", "dtpd2+14", "dtpd3+14"],
                                  ["hib+14", "hibd2+14", "hibd3+14"]],
                          expogrp=[[0, 4, 8], [0, 8]], agegrp=ageg, dataformat="multi",
                          data=hibdat)
show("standardsccs_hib.mod1", hib_mod1)

# %% [markdown]
# ```r
# ageg <- c(57,85,113,141,169,197,225,253,281,309,337)
# hib.mod2 <- standardsccs(event~dtp+hib+age,
#                                    indiv=case, astart=sta, aend=end,
#                         aevent=conv, adrug=list(cbind(dtp,dtpd2,dtpd3),
#                                       cbind(hib,hibd2,hibd3)),
#                         aedrug=list(cbind(dtp+3,dtpd2+3,dtpd3+3),
#                                       cbind(hib+7,hibd2+7,hibd3+7)),
#                         sameexpopar=c(FALSE,TRUE), agegrp=ageg,
#                         dataformat="multi", data=hibdat)
# ```

# %%
hib_mod2 = r.standardsccs("event~dtp+hib+age", indiv="case", astart="sta", aend="end",
                          aevent="conv",
                          adrug=[["dtp", "dtpd2", "dtpd3"], ["hib", "hibd2", "hibd3"]],
                          aedrug=[["dtp+3", "dtpd2+3", "dtpd3+3"],
                                  ["hib+7", "hibd2+7", "hibd3+7"]],
                          sameexpopar=[False, True], agegrp=ageg, dataformat="multi",
                          data=hibdat)
show("standardsccs_hib.mod2", hib_mod2)

# %% [markdown]
# Oral polio vaccine and intussusception, with season from the date of birth:
#
# ```r
# month <- c(0101,0102,0103,0104,0105,0106,0107,0108,0109,0110,0111,0112)
# int.mod <- standardsccs(event~opv+age+season, indiv=case, astart=sta,
#                           aend=end, aevent=intus, adrug=cbind(opv,opvd2),
#                           aedrug=cbind(opv+42,opvd2+42), expogrp=c(0,15,29),
#                           agegrp=seq(30,330,30), seasongrp=month,dob=dob,
#                           dataformat="multi", data=intdat)
# ```

# %%
month = [101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112]  # 0101 is 101 in R too
int_mod = r.standardsccs("event~opv+age+season", indiv="case", astart="sta", aend="end",
                         aevent="intus", adrug=["opv", "opvd2"], aedrug=["opv+42", "opvd2+42"],
                         expogrp=[0, 15, 29], agegrp=list(range(30, 331, 30)),
                         seasongrp=month, dob="dob", dataformat="multi",
                         data=T.r_dataset("intdat"))
show("standardsccs_int.mod", int_mod)

# %% [markdown]
# ## `lrtsccs`: likelihood ratio tests
#
# The `lrtsccs` help page fits three ITP models and tests them against each other:
#
# ```r
# itp.mod1 <- standardsccs(event~mmr+age, indiv=case, astart=sta,aend=end,
#                           aevent=itp, adrug=mmr, aedrug=mmr+42, expogrp=c(0,15,29),
#                           agegrp=c(427,488,549,610,671), data=itpdat)
# ```
# ```r
# itp.mod2 <- standardsccs(event~age, indiv=case, astart=sta,
#                          aend=end, aevent=itp, adrug=mmr, aedrug=mmr+42,
#                          expogrp=c(0,15,29), agegrp=c(427,488,549,610,671),
#                          data=itpdat)
# ```
# ```r
# itp.mod3 <- standardsccs(event~mmr + age, indiv=case, astart=sta,
#                           aend=end, aevent=itp, adrug=mmr, aedrug=mmr+42,
#                           agegrp=c(427,488,549,610,671), data=itpdat)
# ```

# %%
ITP = dict(indiv="case", astart="sta", aend="end", aevent="itp", adrug="mmr",
           aedrug="mmr+42", agegrp=[427, 488, 549, 610, 671], data=itpdat)
lrt_mod1 = r.standardsccs("event~mmr+age", expogrp=[0, 15, 29], **ITP)
lrt_mod2 = r.standardsccs("event~age", expogrp=[0, 15, 29], **ITP)
lrt_mod3 = r.standardsccs("event~mmr + age", **ITP)
show("lrtsccs_itp.mod1", lrt_mod1)
show("lrtsccs_itp.mod2", lrt_mod2)
show("lrtsccs_itp.mod3", lrt_mod3)

# %% [markdown]
# ```r
# lrtsccs(itp.mod1,itp.mod2)
# lrtsccs(itp.mod3,itp.mod1)  # order of the objects doesn't matter
# ```

# %%
lrt = {"lrtsccs_ex1": r.lrtsccs(lrt_mod1, lrt_mod2), "lrtsccs_ex2": r.lrtsccs(lrt_mod3, lrt_mod1)}
rows = []
for name, ours in lrt.items():
    ref = T.r_reference()["lrt_tests"][name]
    rows.append({"test": ref["call"].split("#")[0].strip(),
                 "R statistic": ref["unrounded"]["test"], "Python statistic": ours.test_exact,
                 "R df": ref["unrounded"]["df"], "Python df": ours.df,
                 "R p": ref["unrounded"]["pvalue"], "Python p": ours.pvalue_exact,
                 "R printed": f'{ref["printed"]["test"]} on {ref["printed"]["df"]} df, '
                              f'p = {ref["printed"]["pvalue"]}',
                 "Python printed": f"{ours.test} on {ours.df} df, p = {ours.pvalue}"})
lrt_table = pd.DataFrame(rows)
lrt_diff = float(np.max(np.abs(lrt_table["R statistic"] - lrt_table["Python statistic"])))
lrt_table

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
book.glue_value("t9_lrt_diff", lrt_diff)
book.glue_value("t9_lrt_printed_equal",
                "identical" if (lrt_table["R printed"] == lrt_table["Python printed"]).all()
                else "different")

# %% [markdown]
# R rounds the printed statistic and p-value to four significant digits; our printed values are
# {glue:text}`t9_lrt_printed_equal`, and the unrounded statistics differ by at most
# {glue:text}`t9_lrt_diff:.1e`.
#
# ## `semisccs`: the semiparametric model
#
# The age effect is left free, with one step at every distinct event age
# {cite:p}`farrington2006semi`; R fits it as an exact conditional logistic model, the library as the
# equivalent conditional Poisson model.
#
# ```r
# semisccs(event~mmr, indiv=case, astart=sta, aend=end, aevent=itp, adrug=mmr, aedrug=mmr+42, expogrp=c(0,15,29), data=itpdat)
# ```

# %%
semi_mod1 = r.semisccs("event~mmr", indiv="case", astart="sta", aend="end", aevent="itp",
                       adrug="mmr", aedrug="mmr+42", expogrp=[0, 15, 29], data=itpdat)
show("semisccs_itp.mod1", semi_mod1)

# %% [markdown]
# An interaction with a fixed covariate. Sex does not vary within a case, so its main effect is
# aliased: R prints `NA`, and the translation reports it as missing too, with a warning that says
# why (printed here as text):
#
# ```r
# semisccs(event~factor(sex)*mmr, indiv=case, astart=sta, aend=end, aevent=itp, adrug=mmr, aedrug=mmr+42, expogrp=c(0,15,29), data=itpdat)
# ```

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    semi_mod2 = r.semisccs("event~factor(sex)*mmr", indiv="case", astart="sta", aend="end",
                           aevent="itp", adrug="mmr", aedrug="mmr+42", expogrp=[0, 15, 29],
                           data=itpdat)
print(*(f"{w.category.__name__}: {str(w.message).split(';')[0]}" for w in caught), sep="\n")
show("semisccs_itp.mod2", semi_mod2)

# %% [markdown]
# ## `eventdepenexp`: event-dependent exposures
#
# Rotavirus vaccine and intussusception: the event may stop further doses
# {cite:p}`farrington2009eventdep` (see also {ref}`t5-event-dependent`).
#
# ```r
# eventdepenexp(indiv=case, astart=sta, aend=end, aevent=intus, adrug=cbind(rv,rvd2), expogrp=1, aedrug=cbind(rv+21,rvd2+21), agegrp=seq(56,168,14), dataformat='multi', data=rotdat)
# ```

# %%
rotdat = T.r_dataset("rotdat")
rot_mod1 = r.eventdepenexp(indiv="case", astart="sta", aend="end", aevent="intus",
                           adrug=["rv", "rvd2"], expogrp=1, aedrug=["rv+21", "rvd2+21"],
                           agegrp=list(range(56, 169, 14)), dataformat="multi", data=rotdat)
show("eventdepenexp_rot.mod1", rot_mod1)

# %% [markdown]
# ```r
# eventdepenexp(indiv=case, astart=sta, aend=end, aevent=intus, adrug=cbind(rv,rvd2), aedrug=cbind(rv+21,rvd2+21), expogrp=c(1,8), agegrp=seq(56,168,14), dataformat='multi', data=rotdat)
# ```

# %%
rot_mod2 = r.eventdepenexp(indiv="case", astart="sta", aend="end", aevent="intus",
                           adrug=["rv", "rvd2"], aedrug=["rv+21", "rvd2+21"], expogrp=[1, 8],
                           agegrp=list(range(56, 169, 14)), dataformat="multi", data=rotdat)
show("eventdepenexp_rot.mod2", rot_mod2)

# %% [markdown]
# ## `eventdepenobs`: event-dependent observation periods
#
# Nicotine replacement therapy and myocardial infarction, where the infarction can end observation
# {cite:p}`farrington2011eventobs` (see {ref}`t6-event-ends-observation`):
#
# ```r
# eventdepenobs(event~nrt, indiv=case, astart=nrt, aend=act, aevent=mi, adrug=nrt, aedrug=nrt+28, censor=cen, expogrp=c(0,8,15,22), agegrp=NULL, data=nrtdat)
# ```

# %%
nrt_mod = r.eventdepenobs("event~nrt", indiv="case", astart="nrt", aend="act", aevent="mi",
                          adrug="nrt", aedrug="nrt+28", censor="cen",
                          expogrp=[0, 8, 15, 22], agegrp=None, data=T.r_dataset("nrtdat"))
show("eventdepenobs_nrt.mod", nrt_mod)

# %% [markdown]
# Beside the coefficients, R reports the fit of the four censoring models (`$modelfit`):

# %%
mf = T.ext_reference()["eventdepenobs_nrt.mod"]["modelfit"]
r_modelfit = pd.DataFrame([mf["loglik"], mf["aic"]], index=["Loglik", "AIC"],
                          columns=mf["models"])
modelfit = pd.concat({"R": r_modelfit, "Python": nrt_mod.modelfit[r_modelfit.columns]})
modelfit

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
book.glue_value("t9_obs_loglik_diff",
                float((nrt_mod.modelfit.loc["Loglik"] - r_modelfit.loc["Loglik"]).abs().max()))
book.glue_value("t9_obs_chosen_r", str(r_modelfit.loc["AIC"].idxmin()))
book.glue_value("t9_obs_chosen_py", str(nrt_mod.modelfit.loc["AIC"].idxmin()))

# %% [markdown]
# R's censoring models are fitted by `nlm` with default tolerances, so its log-likelihoods carry
# optimiser error; the largest difference here is {glue:text}`t9_obs_loglik_diff:.1e`. Both pick
# {glue:text}`t9_obs_chosen_r` (R) and {glue:text}`t9_obs_chosen_py` (Python) by AIC.
#
# ## `samplesize`: how many cases?
#
# The sample size formula {cite:p}`musonda2006samplesize` returns a whole number of cases:
#
# ```r
# samplesize(eexpo=2.5, risk=21, astart=366, aend=730, p=1, alpha=0.05, power=0.8)
# samplesize(eexpo=2.5, risk=21, astart=366, aend=730, p=0.75, alpha=0.05, power=0.8)
# samplesize(eexpo=2.5, risk=21, astart=366, aend=730, p=c(0.50,0.35,0.1,0.05),
#            alpha=0.05, power=0.8, eage=c(1.2,1.6,2.0), agegrp=c(457,548,639))
# samplesize(eexpo=2.5, risk=21, astart=366, aend=730, p=0.75*c(0.50,0.35,0.1,0.05),
#            alpha=0.05, power=0.8, eage=c(1.2,1.6,2.0), agegrp=c(457,548,639))
# ```

# %%
design = dict(eexpo=2.5, risk=21, astart=366, aend=730, alpha=0.05, power=0.8)
ages = dict(eage=[1.2, 1.6, 2.0], agegrp=[457, 548, 639])
ours = {"samplesize_ss1": r.samplesize(p=1, **design),
        "samplesize_ss2": r.samplesize(p=0.75, **design),
        "samplesize_ss3": r.samplesize(p=[0.50, 0.35, 0.1, 0.05], **design, **ages),
        "samplesize_ss4": r.samplesize(p=(0.75 * np.array([0.50, 0.35, 0.1, 0.05])).tolist(),
                                       **design, **ages)}
sizes = pd.DataFrame({"R call": [T.r_call(k) for k in ours],
                      "R": [T.ext_reference()[k]["value"] for k in ours],
                      "Python": list(ours.values())}, index=list(ours))
sizes

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
book.glue_value("t9_ss_equal", "the same" if (sizes["R"] == sizes["Python"]).all()
                else "different")

# %% [markdown]
# The four sample sizes are {glue:text}`t9_ss_equal` in R and Python.
#
# ## Summary

# %%
documented = [k for k, v in T.r_reference()["examples"].items() if v["documented_example"]]
documented += [k for k in T.ext_reference() if k != "meta" and not k.startswith("samplesize")]
missing = sorted(set(documented) - set(comparisons))
assert not missing, f"documented examples not translated: {missing}"
summary = pd.DataFrame({
    "function": [k.split("_")[0] for k in comparisons],
    "terms": [len(t) for t in comparisons.values()],
    "largest |difference| (coef, se)": [float(t["largest |difference|"].max())
                                        for t in comparisons.values()],
}, index=list(comparisons))
by_function = summary.groupby("function")["largest |difference| (coef, se)"].max()
book.publish_table(summary.reset_index(names="example"), "t9_r_vs_python",
                   caption="Largest absolute difference between R's and our coefficients and "
                   "standard errors, per documented example",
                   formats={"largest |difference| (coef, se)": "{:.1e}"})

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
for fn, v in by_function.items():
    book.glue_value(f"t9_max_{fn}", float(v))

# %% tags=["remove-cell"]
# glue: the numbers the prose quotes
book.glue_value("t9_n_examples", len(comparisons) + len(ours) + len(lrt))
book.glue_value("t9_n_terms", int(summary["terms"].sum()))

# %% [markdown]
# Over {glue:text}`t9_n_examples` documented examples (model fits, likelihood ratio tests and
# sample sizes; {glue:text}`t9_n_terms` coefficients), the largest absolute difference between R's and our coefficients or standard
# errors is {glue:text}`t9_max_standardsccs:.1e` for `standardsccs`,
# {glue:text}`t9_max_lrtsccs:.1e` for the models of the `lrtsccs` page,
# {glue:text}`t9_max_semisccs:.1e` for `semisccs`, {glue:text}`t9_max_eventdepenexp:.1e` for
# `eventdepenexp` and {glue:text}`t9_max_eventdepenobs:.1e` for `eventdepenobs` (whose R
# numbers carry the error of `nlm`'s optimum, see above). The same numbers are tested in
# `tests/test_sccs_rapi.py`.
#
# ## Exercises
#
# ```{admonition} Exercise 1 — a new analysis
# :class: tip
#
# In R you would write
# `standardsccs(event~mmr+age, indiv=case, astart=sta, aend=end, aevent=itp, adrug=mmr, aedrug=mmr+42, expogrp=c(0,8,15,22,29,36), agegrp=c(427,488,549,610,671), data=itpdat)`
# to look at the risk week by week. Translate it and find the week with the highest relative
# incidence.
# ```
#
# ```{admonition} Solution
# :class: dropdown
#
#     weekly = r.standardsccs("event~mmr+age", indiv="case", astart="sta", aend="end",
#                             aevent="itp", adrug="mmr", aedrug="mmr+42",
#                             expogrp=[0, 8, 15, 22, 29, 36],
#                             agegrp=[427, 488, 549, 610, 671], data=itpdat)
#     weekly.summary.filter(like="mmr", axis=0)["exp_coef"].idxmax()
#
# The six risk periods become `mmr1` to `mmr6`, named as R names them. Look at which `mmr` row
# has the largest `exp_coef`: the peak is not in the first week. The first week has no event at
# all, so its estimate is zero (minus infinity on the log scale); the translation says so with a
# warning and reports no standard error, where R prints a huge negative coefficient.
# ```
#
# ```{admonition} Exercise 2 — a protective exposure
# :class: tip
#
# How many cases does `samplesize` ask for to detect the paper's IRR
# (`book.paper("sccs_allgrade_irr")`) when the exposure covers a third of an observation period
# of 540 days? And for the inverse IRR (the same effect, harmful)? Then let the exposure cover
# two thirds. What do you notice?
# ```
#
# ```{admonition} Solution
# :class: dropdown
#
#     irr = float(book.paper("sccs_allgrade_irr"))
#     for risk in (180, 360):
#         print(risk, [r.samplesize(eexpo=e, risk=risk, astart=0, aend=539, p=1, alpha=0.05,
#                                   power=0.8) for e in (irr, 1 / irr)])
#
# A protective and a harmful effect of the same size on the log scale do not need the same number
# of cases: what counts is how the events split between exposed and unexposed time, and the
# information per event, $\pi(1 - \pi)$, is largest when events are equally likely to fall in
# either. A protective exposure covering a third of the time pushes events further away from an
# even split; covering two thirds, it brings them closer, and the two cases swap places
# {cite:p}`musonda2006samplesize`.
# ```
