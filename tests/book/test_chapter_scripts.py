"""Every chapter's py-percent twin runs as a plain script and prints its key results.

Issue 4 promises that ``python book/NN-name.py`` works outside Jupyter: a reader who prefers a
terminal (or a batch job on a user's own cohort) gets the chapter's numbers printed. The strict
book build executes the ``.md`` chapters; this test runs their ``.py`` twins the way a user would,
from the project root, on the default cohort.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from analysis.report.jbbuild import default_jobs

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(p for p in (REPO / "book").glob("*.py") if p.with_suffix(".md").exists())


def _run(script: Path, tables: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "IVIG_COHORT"}
    env["MPLBACKEND"] = "Agg"  # no display; plt.show() is a no-op
    env["IVIG_TABLES_DIR"] = str(tables)  # not the tables a book build of this session links
    return subprocess.run(
        [sys.executable, str(script.relative_to(REPO))],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, subprocess.CompletedProcess]:
    """Every twin run once, as many at a time as ``make book`` runs chapters (one per CPU):
    each script is its own process, so running them side by side changes nothing but the wall
    time."""
    with ThreadPoolExecutor(max_workers=default_jobs()) as pool:
        tables = tmp_path_factory.mktemp("script-tables")
        done = pool.map(lambda script: _run(script, tables), SCRIPTS)
        return dict(zip(SCRIPTS, done, strict=True))


@pytest.mark.book
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_chapter_twin_runs_as_a_script(script: Path, runs) -> None:
    proc = runs[script]
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr
    printed = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(printed) >= 3, f"{script.name} printed almost nothing:\n{proc.stdout}"
