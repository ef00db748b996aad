"""Reproducibility: same inputs, same bytes; pinned environment; the book needs no network.

What and why: a re-analysis is only worth reading if anyone can regenerate it exactly. These tests
check, from the outside (subprocesses, the command line, the build):

* the simulator writes byte-identical cohorts for one seed, whatever the hash seed, time zone,
  locale and working directory of the process, and the default seed reproduces
  ``data/synthetic/`` exactly;
* executing a chapter twice (in fresh kernels, with different hash seeds and time zones) glues
  exactly the same values and the same figures;
* ``requirements.txt`` pins exactly what the project's ``.venv`` holds (``pip freeze``), every
  line with ``==``, and ``pip check`` is clean;
* the strict book build runs with the network blocked (the session build in ``_book_build`` runs
  inside ``unshare -rn``, or with a ``sitecustomize`` that refuses non-loopback sockets where
  namespaces are not allowed), and every file the build needs is one git would commit (so a
  fresh clone has it).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from _book_build import REPO, BuiltBook, build_book, shared_build

PY = sys.executable
PIP = str(Path(PY).with_name("pip"))

#: Chapters executed twice: the calibration chapter and the heaviest SCCS chapter.
TWICE_CHAPTERS = ("02-cohort", "07-sensitivity")

#: Two process environments that must not change any output.
ENV_A = {"PYTHONHASHSEED": "0", "TZ": "UTC", "LC_ALL": "C.UTF-8"}
ENV_B = {"PYTHONHASHSEED": "4242", "TZ": "Pacific/Auckland", "LC_ALL": "C"}


def _env(extra: dict[str, str]) -> dict[str, str]:
    # MPLBACKEND (set to Agg for the test process by conftest) would stop kernels from rendering
    # figures as images: chapters must run as they do in the book build
    env = {k: v for k, v in os.environ.items() if k not in ("IVIG_COHORT", "MPLBACKEND")}
    env.update(extra)
    return env


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def simulate(out: Path, env: dict[str, str], seed: int | None = 11, cwd: Path = REPO) -> None:
    args = [PY, "-m", "analysis", "simulate", "--out", str(out)]
    if seed is not None:
        args += ["--seed", str(seed)]
    proc = subprocess.run(
        args, cwd=cwd, env=_env(env), capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


# --------------------------------------------------------------------------- the simulator
def test_simulate_twice_gives_identical_bytes(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda job: simulate(*job), [(a, ENV_A), (b, ENV_B, 11, tmp_path)]))
    da, db = _digest(a), _digest(b)
    assert set(da) >= {"patients.csv", "ivig.csv", "infections.csv", "igg.csv",
                       "progression.csv", "cohort.yaml"}
    assert da == db
    # writing again over a previous output gives the same bytes too
    simulate(a, ENV_B)
    assert _digest(a) == da


def test_default_seed_reproduces_the_committed_cohort(tmp_path: Path) -> None:
    simulate(tmp_path / "c", ENV_B, seed=None)
    assert _digest(tmp_path / "c") == _digest(REPO / "data" / "synthetic")


def test_different_seeds_give_different_cohorts(tmp_path: Path) -> None:
    """Guard against a seed that is ignored (which would make the tests above vacuous)."""
    simulate(tmp_path / "a", ENV_A, seed=11)
    simulate(tmp_path / "b", ENV_A, seed=12)
    assert _digest(tmp_path / "a")["infections.csv"] != _digest(tmp_path / "b")["infections.csv"]


# --------------------------------------------------------------------------- chapters twice
_EXEC_GLUE = r"""
import hashlib, json, sys
from pathlib import Path
import jupytext, nbclient
md = Path(sys.argv[1]).resolve()
nb = jupytext.read(md)
nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                        resources={"metadata": {"path": str(md.parent)}}).execute()
glue = {}
for cell in nb.cells:
    for out in cell.get("outputs", []):
        name = out.get("metadata", {}).get("scrapbook", {}).get("name")
        if not name:
            continue
        data = out.get("data", {})
        glue[name] = {k: (hashlib.sha256(v.encode()).hexdigest()
                          if k.endswith(("image/png", "image/svg+xml")) else v)
                      for k, v in data.items()}
print(json.dumps(glue))
"""


def execute_glue(chapter: str, env: dict[str, str], tables: Path) -> dict[str, dict]:
    """Execute one chapter in a fresh kernel; return its glued outputs (figures as hashes)."""
    proc = subprocess.run(
        [PY, "-c", _EXEC_GLUE, str(REPO / "book" / f"{chapter}.md")],
        cwd=REPO,
        env=_env({**env, "IVIG_TABLES_DIR": str(tables)}),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"{chapter}: {proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def executions(tmp_path_factory) -> dict[str, tuple[dict, dict, Path]]:
    """Each chapter of TWICE_CHAPTERS executed twice, concurrently, in different environments:
    chapter -> (glue of run A, glue of run B, folder holding the tables of runs a/ and b/)."""
    jobs = []
    for chapter in TWICE_CHAPTERS:
        base = tmp_path_factory.mktemp(f"twice-{chapter}")
        jobs += [(chapter, ENV_A, base / "a"), (chapter, ENV_B, base / "b")]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda job: execute_glue(*job), jobs))
    return {
        chapter: (results[2 * k], results[2 * k + 1], jobs[2 * k][2].parent)
        for k, chapter in enumerate(TWICE_CHAPTERS)
    }


def _is_figure(output: dict) -> bool:
    return any(m.endswith(("image/png", "image/svg+xml")) for m in output)


def _plain(output: dict) -> str | None:
    """The text/plain of a glued output, whatever the mime prefix."""
    return next((v for k, v in output.items() if k.endswith("text/plain")), None)


@pytest.mark.book
@pytest.mark.parametrize("chapter", TWICE_CHAPTERS)
def test_executing_a_chapter_twice_glues_identical_values(chapter: str, executions) -> None:
    first, second, tables = executions[chapter]
    assert first, f"{chapter} glues nothing"
    assert first.keys() == second.keys()
    values = {k for k, v in first.items() if not _is_figure(v)}
    differ = {k: (first[k], second[k]) for k in values if first[k] != second[k]}
    assert not differ, f"glued values differ between two executions: {differ}"
    figures = {k for k in first if k not in values}
    if any(k.startswith("fig") for k in first):  # glued figures must be images
        assert figures, f"{chapter}: figures glued, but none as an image"
        # sharp figures: every glued figure is SVG (issue 13), not a bitmap
        bitmaps = sorted(k for k in figures if not any(m.endswith("image/svg+xml")
                                                        for m in first[k]))
        assert not bitmaps, f"{chapter}: figures glued as bitmaps, not SVG: {bitmaps}"
    differ_fig = sorted(k for k in figures if first[k] != second[k])
    assert not differ_fig, f"glued figures differ between two executions: {differ_fig}"
    # the CSV tables written by the two executions are identical too
    csv_a = {p.relative_to(tables / "a"): p.read_bytes() for p in (tables / "a").rglob("*.csv")}
    csv_b = {p.relative_to(tables / "b"): p.read_bytes() for p in (tables / "b").rglob("*.csv")}
    assert csv_a == csv_b


@pytest.mark.book
@pytest.mark.parametrize("chapter", TWICE_CHAPTERS)
def test_the_build_glues_what_a_fresh_execution_glues(
    chapter: str, executions, built_book: BuiltBook
) -> None:
    """A third, independent run: the session's strict build (another process, offline)."""
    assert built_book.ok, built_book.failure_report()
    glue_file = built_book.out / "_build" / "jupyter_execute" / "book" / f"{chapter}.glue.json"
    built = json.loads(glue_file.read_text(encoding="utf-8"))
    fresh, _, _ = executions[chapter]
    ours = {k: _plain(v["data"]) for k, v in built.items() if not _is_figure(v["data"])}
    theirs = {k: _plain(v) for k, v in fresh.items() if not _is_figure(v)}
    assert ours == theirs


# --------------------------------------------------------------------------- pinned environment
_IGNORED_PINS = ("pip", "setuptools", "wheel")


def _pins(lines: list[str], ignore: tuple[str, ...] = _IGNORED_PINS) -> dict[str, str]:
    """Exact pins by normalised name; ``ignore``: the installer's own packages, which a venv
    brings with versions of its own (left out when comparing with the installed environment)."""
    pins = {}
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        name, sep, version = line.partition("==")
        assert sep, f"not pinned exactly: {raw!r}"
        key = re.sub(r"[-_.]+", "-", name.strip().lower())
        if key not in ignore:
            pins[key] = version.strip()
    return pins


def test_requirements_pin_exactly_the_installed_environment() -> None:
    wanted = _pins((REPO / "requirements.txt").read_text(encoding="utf-8").splitlines())
    freeze = subprocess.run(
        [PIP, "freeze", "--exclude-editable", "--disable-pip-version-check"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout.splitlines()
    installed = _pins([line for line in freeze if "==" in line])
    missing = {k: v for k, v in wanted.items() if installed.get(k) != v}
    extra = {k: v for k, v in installed.items() if k not in wanted}
    assert not missing and not extra, f"pinned but not installed: {missing}; not pinned: {extra}"


def test_direct_dependencies_are_pinned() -> None:
    # the build backend (setuptools, wheel) is a direct requirement too: every one is pinned
    pins = _pins((REPO / "requirements.txt").read_text(encoding="utf-8").splitlines(), ignore=())
    direct = [
        re.split(r"[<>=!~\[; ]", line.strip(), maxsplit=1)[0]
        for line in (REPO / "requirements.in").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "-"))
    ]
    unpinned = [d for d in direct if re.sub(r"[-_.]+", "-", d.lower()) not in pins]
    assert not unpinned


def test_pip_check_is_clean() -> None:
    proc = subprocess.run(
        [PIP, "check", "--disable-pip-version-check"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --------------------------------------------------------------------------- offline build
@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> BuiltBook:
    return shared_build(tmp_path_factory)


@pytest.mark.book
def test_book_builds_strictly_with_the_network_blocked(
    built_book: BuiltBook, tmp_path_factory
) -> None:
    book = built_book
    if not book.offline:  # a reused build (IVIG_TEST_BOOK_HTML) proves nothing: build offline
        book = build_book(tmp_path_factory.mktemp("offline"), offline=True)
    assert book.offline in ("unshare", "sitecustomize")
    assert book.ok, book.failure_report()


def _files_the_build_needs() -> list[Path]:
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    toc = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))
    needed = [REPO / "_config.yml", REPO / "_toc.yml", REPO / "pyproject.toml",
              REPO / "requirements.txt", REPO / "Makefile"]

    def walk(node) -> None:
        if isinstance(node, dict):
            if "file" in node or "root" in node:
                stem = node.get("file") or node.get("root")
                needed.extend(p for p in REPO.glob(f"{stem}.*") if p.suffix in (".md", ".ipynb"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(toc)
    needed += [REPO / b for b in config.get("bibtex_bibfiles", [])]
    sphinx = (config.get("sphinx") or {}).get("config") or {}
    for static in sphinx.get("html_static_path", []):
        needed += [p for p in (REPO / static).rglob("*") if p.is_file()]
    for path in (config.get("sphinx") or {}).get("local_extensions", {}).values():
        needed += [p for p in (REPO / path).rglob("*.py")]
    needed += sorted((REPO / "analysis").glob("*.py"))
    needed += sorted(p for p in (REPO / "data" / "synthetic").iterdir() if p.is_file())
    needed += [REPO / "data" / "paper" / "targets.yaml"]
    return needed


def test_every_file_the_build_needs_would_be_in_a_fresh_clone() -> None:
    """A file the build reads but git ignores works here and breaks every fresh clone."""
    needed = _files_the_build_needs()
    missing = [str(p.relative_to(REPO)) for p in needed if not p.exists()]
    assert not missing, f"listed but missing: {missing}"
    proc = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin"],
        cwd=REPO, input="\n".join(str(p.relative_to(REPO)) for p in needed),
        capture_output=True, text=True, timeout=60, check=False,
    )
    ignored = proc.stdout.split()
    assert not ignored, f"needed by the build but ignored by .gitignore: {ignored}"
