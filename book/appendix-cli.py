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
# # Appendix: the command line
#
# Everything the book computes can also be run from a terminal, on any cohort folder that follows the
# [data contract](appendix-data-contract.md):
#
# ```bash
# python -m analysis validate PATH        # check a cohort folder
# python -m analysis simulate --out DIR   # make a synthetic cohort
# python -m analysis sccs PATH            # fit the SCCS models
# ```
#
# The help below is printed by the command line itself each time the book is built, so it always
# matches the installed code.

# %% tags=["remove-input"]
import os
import subprocess
import sys

from analysis import PROJECT_ROOT
from analysis.cli.main import build_parser


def show_help(*args: str) -> None:
    """Run ``python -m analysis ARGS --help`` and print what it prints."""
    env = {**os.environ, "COLUMNS": "80"}
    cmd = [sys.executable, "-m", "analysis", *args, "--help"]
    out = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                         check=True)
    print(f"$ python -m analysis {' '.join(args)} --help".replace("  ", " "))
    print(out.stdout)


show_help()
subcommands = build_parser()._subparsers._group_actions[0].choices
for name in subcommands:
    show_help(name)

# %% [markdown]
# ## Any SCCS data set, with R's arguments: `rsccs`
#
# `python -m analysis rsccs` runs the generic SCCS library on any data set laid out as the R package
# SCCS expects (one row per event; in R's `stack` format one row per event and exposure episode),
# read from a CSV or Parquet file. Its options are the arguments of R's `standardsccs`, `semisccs`,
# `eventdepenexp` and `eventdepenobs` under the same names (`--indiv`, `--astart`, `--aend`,
# `--aevent`, `--adrug`, `--aedrug`, `--expogrp`, `--washout`, `--sameexpopar`, `--agegrp`,
# `--seasongrp`, `--dob`, `--dataformat`, `--censor`), so that an R call translates option by
# option. Column arguments take a column name or an expression on the columns (`mmr+42`); a comma
# separates R's `c(...)`/`cbind(...)` items and a semicolon the elements of R's `list(...)`. The
# output is R's coefficient table (`--format json` or `csv` for machines). A file that breaks a rule
# (a blank or fractional day, two observation periods for one case, an unknown column) stops the
# command with a message naming the file, the row as a spreadsheet numbers it, the column and the
# rule, and nothing is printed on standard output. The same functions are available in Python as
# `analysis.sccs.r` (`r.standardsccs(...)`, `r.formatdata(...)`, `r.lrtsccs(...)`, ...).
#
# The example below is the third `standardsccs` example of the R package's documentation, on its
# `itpdat` data set (idiopathic thrombocytopenic purpura after MMR vaccination; risk periods of days
# 0-14, 15-28 and 29-42 after vaccination, and age groups). In R it reads
#
# ```r
# standardsccs(event~mmr+age, indiv=case, astart=sta, aend=end, aevent=itp, adrug=mmr,
#              aedrug=mmr+42, expogrp=c(0,15,29), agegrp=c(427,488,549,610,671), data=itpdat)
# ```
#
# and on the command line, run here when the book is built:

# %% tags=["remove-input"]
import json
import shlex

import pandas as pd

ITP = ["data/external/sccs-r/data/itpdat.csv", "--indiv", "case", "--astart", "sta",
       "--aend", "end", "--aevent", "itp", "--adrug", "mmr", "--aedrug", "mmr+42",
       "--expogrp", "0,15,29", "--agegrp", "427,488,549,610,671"]


def rsccs(*args: str) -> str:
    """Run ``python -m analysis rsccs ARGS`` from the project root; return what it prints."""
    cmd = [sys.executable, "-m", "analysis", "rsccs", *args]
    out = subprocess.run(cmd, cwd=PROJECT_ROOT, env={**os.environ, "COLUMNS": "80"},
                         capture_output=True, text=True, check=True)
    return out.stdout


print(f"$ python -m analysis rsccs {shlex.join(ITP)}\n")
print(rsccs(*ITP))

# %% [markdown]
# R's own numbers for this model, stored in `data/external/sccs-r/reference.json` (the reference
# suite the tests compare with), next to the command's JSON output:

# %% tags=["remove-input"]
ours = pd.DataFrame(json.loads(rsccs(*ITP, "--format", "json"))["terms"]).set_index("term")
ref = json.loads((PROJECT_ROOT / "data/external/sccs-r/reference.json").read_text())
r_coef = pd.DataFrame(ref["examples"]["standardsccs_itp.mod3"]["coefficients"]).set_index("term")
comparison = pd.DataFrame({
    "RI (rsccs)": ours["exp_coef"], "RI (R)": r_coef["exp_coef"],
    "95% CI (rsccs)": [f"{lo:.4f}-{hi:.4f}" for lo, hi in zip(ours["lower95"], ours["upper95"])],
    "95% CI (R)": [f"{lo:.4f}-{hi:.4f}" for lo, hi in zip(r_coef["lower95"], r_coef["upper95"])],
    "|coef difference|": (ours["coef"] - r_coef["coef"]).abs().map(lambda v: f"{v:.1e}"),
})
comparison.round(4)

# %% [markdown]
# The other models, in R's terms:
#
# ```bash
# # semisccs(event~factor(sex)*mmr, ..., expogrp=c(0,15,29), data=itpdat)
# python -m analysis rsccs itpdat.csv ... --expogrp 0,15,29 --model semi --formula "event ~ factor(sex)*mmr"
# # eventdepenexp(..., adrug=cbind(rv,rvd2), aedrug=cbind(rv+21,rvd2+21), expogrp=c(1,8),
# #               agegrp=seq(56,168,14), dataformat="multi", data=rotdat)
# python -m analysis rsccs rotdat.csv --indiv case --astart sta --aend end --aevent intus \
#     --adrug rv,rvd2 --aedrug rv+21,rvd2+21 --expogrp 1,8 --agegrp 56,70,84,98,112,126,140,154,168 \
#     --dataformat multi --model eventdepenexp
# # eventdepenobs(event~nrt, ..., astart=nrt, aend=act, aevent=mi, adrug=nrt, aedrug=nrt+28,
# #               censor=cen, expogrp=c(0,8,15,22), data=nrtdat)
# python -m analysis rsccs nrtdat.csv --indiv case --astart nrt --aend act --aevent mi \
#     --adrug nrt --aedrug nrt+28 --censor cen --expogrp 0,8,15,22 --model eventdepenobs
# ```
