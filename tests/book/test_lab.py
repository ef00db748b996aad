"""``make lab`` (issue 13): JupyterLab opens each chapter as a notebook and saves it to its pair.

The test starts the Jupyter server of ``make lab`` (same configuration file,
``lab/jupyter_lab_config.py``) on 127.0.0.1, a free port and a random token, over a temporary
copy of one chapter pair, then, through the server's REST API only:

* asks the contents API for the chapter's ``.md`` as a notebook, and runs that notebook's cells in
  a kernel to the end (nbclient, kernel started in the chapter's folder as JupyterLab does);
* saves the notebook back through the contents API with one cell edited, and checks that both
  files of the pair (``.md`` and ``.py``) now carry the edit and that no ``.ipynb`` appeared;
* checks that Markdown files open as notebooks by default (the settings API).

The server is shut down at the end, whatever happens.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbclient
import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
#: A cheap chapter with code, glue and a figure (a few seconds as a script).
CHAPTER = "03-definitions"
JUPYTER = Path(sys.executable).with_name("jupyter")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running Jupyter server: base URL, token, and JSON requests to its REST API."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path, data=data, method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read() or b"{}")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A server root holding a copy of the chapter pair in ``book/``."""
    root = tmp_path_factory.mktemp("lab")
    (root / "book").mkdir()
    for ext in (".md", ".py"):
        shutil.copy(REPO / "book" / f"{CHAPTER}{ext}", root / "book" / f"{CHAPTER}{ext}")
    return root


@pytest.fixture(scope="module")
def server(workspace: Path, tmp_path_factory) -> Iterator[Server]:
    port, token = _free_port(), secrets.token_hex(16)
    state = tmp_path_factory.mktemp("jupyter-state")
    env = {**os.environ, "PYTHONPATH": str(REPO), "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(state / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces")}
    env.pop("MPLBACKEND", None)
    log = (state / "server.log").open("w")
    proc = subprocess.Popen(
        [str(JUPYTER), "lab", f"--config={REPO / 'lab' / 'jupyter_lab_config.py'}",
         "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={workspace}"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    srv = Server(f"http://127.0.0.1:{port}", token)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                srv.request("GET", "/api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("Jupyter server did not start:\n"
                                + (state / "server.log").read_text()[-3000:])
                time.sleep(1)
        yield srv
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.mark.book
def test_chapter_opens_runs_and_saves_back_to_its_pair(server: Server, workspace: Path,
                                                       tmp_path: Path) -> None:
    path = f"book/{CHAPTER}.md"
    model = server.request("GET", f"/api/contents/{path}?type=notebook&content=1")
    assert model["type"] == "notebook"
    nb = nbformat.from_dict(model["content"])
    assert nb.metadata["jupytext"]["formats"] == "md:myst,py:percent"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) >= 3, "the chapter should come with its code cells"

    # run every cell to the end in a kernel, started in the chapter's folder
    env_before = os.environ.pop("MPLBACKEND", None)
    os.environ["IVIG_TABLES_DIR"] = str(tmp_path / "tables")
    try:
        nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(workspace / "book")}}
                                ).execute()
    finally:
        os.environ.pop("IVIG_TABLES_DIR", None)
        if env_before is not None:
            os.environ["MPLBACKEND"] = env_before
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert all(c.get("execution_count") for c in code), "some cells did not run"
    assert any(o.get("output_type") in ("display_data", "execute_result", "stream")
               for c in code for o in c.get("outputs", []))

    # save back through the server: both files of the pair are written, no .ipynb
    marker = f"Edited in JupyterLab {secrets.token_hex(4)}."
    first_md = next(c for c in nb.cells if c.cell_type == "markdown")
    first_md.source += f"\n\n{marker}"
    server.request("PUT", f"/api/contents/{path}",
                   {"type": "notebook", "format": "json", "content": nb})
    assert marker in (workspace / "book" / f"{CHAPTER}.md").read_text()
    assert marker in (workspace / "book" / f"{CHAPTER}.py").read_text()
    assert not list(workspace.rglob("*.ipynb"))
    # the text pair keeps no outputs: only the code is saved
    assert "image/svg+xml" not in (workspace / "book" / f"{CHAPTER}.md").read_text()


@pytest.mark.book
def test_markdown_files_open_as_notebooks_by_default(server: Server) -> None:
    settings = server.request("GET", "/lab/api/settings/@jupyterlab/docmanager-extension:plugin")
    viewers = settings["schema"]["properties"]["defaultViewers"]["default"]
    assert viewers.get("markdown") == "Jupytext Notebook"
