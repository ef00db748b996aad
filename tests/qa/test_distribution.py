"""A real distribution (issue 17, section 5): the wheel built from the repository holds every
module of ``analysis/``, installs into a fresh environment outside the checkout, and the
installed library passes its own doctests there.

Offline: the wheel is built with the environment's pinned setuptools (``--no-build-isolation``)
from a copy of the sources, so the checkout gets no ``build/`` folder. The fresh venv sees the
test environment's site-packages (numpy, pandas, ...) through a ``.pth`` line, which adds that
folder but does not run its ``.pth`` files: the editable install of the checkout stays out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.wheel

#: Run inside the fresh venv: where analysis comes from, then the doctests of every module of
#: analysis.sccs exactly as tests/sccs/test_sccs_doctests.py runs them in the checkout.
DOCTESTS = """
import doctest, importlib, pkgutil, sys
import analysis, analysis.sccs as package
print(analysis.__file__)
print(any(p.rstrip("/") == sys.argv[1] for p in sys.path))
names = ["analysis.sccs", *sorted(m.name for m in pkgutil.walk_packages(package.__path__,
                                                                        "analysis.sccs."))]
failed = 0
for name in names:
    result = doctest.testmod(importlib.import_module(name),
                             optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    failed += result.failed
    print(name, result.attempted, result.failed)
sys.exit(1 if failed else 0)
"""


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run with the checkout off the path (no PYTHONPATH), failing with the output."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, (f"{args[0]} {args[1]} ... failed:\n{proc.stdout[-3000:]}\n"
                                  f"{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the repository's package sources."""
    tmp = tmp_path_factory.mktemp("dist")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "analysis", src / "analysis",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-cache-dir", "--no-index", "-q", "-w", str(tmp / "wheels"), str(src)], cwd=tmp)
    (found,) = (tmp / "wheels").glob("*.whl")
    return found


def test_the_wheel_holds_every_module_of_the_package(wheel: Path) -> None:
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "analysis").rglob("*.py")
               if "__pycache__" not in p.parts}
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry_points = z.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert len(modules) > 50 and "analysis/sccs/r/_standard.py" in modules
    assert sorted(modules - names) == []
    assert "ivig-sccs = analysis.__main__:main" in entry_points


def test_installed_copy_outside_the_checkout_passes_the_library_doctests(
    wheel: Path, tmp_path: Path
) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                                          "['purelib'])"], cwd=tmp_path).stdout.strip())
    (site / "shared-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--no-index", "--no-cache-dir", "-q", str(wheel)], cwd=tmp_path)
    run = tmp_path / "elsewhere"
    run.mkdir()
    out = _run([str(python), "-c", DOCTESTS, str(ROOT)], cwd=run).stdout.splitlines()
    installed = Path(out[0]).resolve()
    assert installed.is_relative_to(env_dir.resolve()) and not installed.is_relative_to(ROOT)
    assert out[1] == "False"                              # the checkout is not on sys.path
    counts = [line.rsplit(" ", 2) for line in out[2:]]
    assert len(counts) > 15 and sum(int(c[1]) for c in counts) > 100
    assert all(c[2] == "0" for c in counts)
