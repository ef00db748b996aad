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
