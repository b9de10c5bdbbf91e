"""The hosted-notebook path, as a service such as Colab runs it: a built site served over HTTP,
a fresh Python environment without mlsysim, and a student notebook whose first cell installs
the engine's wheel from the site (its dependencies and matplotlib come from PyPI). The notebook
must then run top to bottom; with the site unreachable, setup must stop with one sentence."""
from __future__ import annotations

import http.server
import os
import socket
import subprocess
import threading
import venv
from functools import partial
from pathlib import Path

import nbformat
import pytest

from booktools import golden, notebooks, wheel
from booktools.project import Book

from booktest_support import REPO

RUN = r'''
import sys, nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
path, cells = sys.argv[1], sys.argv[2]
nb = nbformat.read(path, as_version=4)
if cells == "setup":
    nb.cells = nb.cells[:2]
client = NotebookClient(nb, kernel_name="python3", timeout=600, allow_errors=cells == "setup",
                        resources={"metadata": {"path": str(__import__("pathlib").Path(path).parent)}})
try:
    client.execute()
finally:
    nbformat.write(nb, path)
'''


@pytest.fixture(scope="module")
def served_site(tmp_path_factory):
    """A site folder with the engine's wheel, served by http.server on a free local port."""
    site = tmp_path_factory.mktemp("site")
    book = Book(REPO)
    built = wheel.build(book, site / "wheels")
    assert built is not None and built.is_file()
    assert not (REPO / "build").exists(), "building the wheel wrote build/ into the repository"
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield book, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory):
    """A new virtual environment with a kernel and nothing of this project."""
    where = tmp_path_factory.mktemp("fresh") / "venv"
    venv.create(where, with_pip=True)
    python = where / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "ipykernel", "nbclient"], check=True, timeout=600)
    probe = subprocess.run([python, "-c", "import mlsysim"], capture_output=True, text=True, cwd=where)
    assert probe.returncode != 0, "the fresh environment already has mlsysim"
    return python


def _clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _student_notebook(book: Book, url: str, folder: Path) -> Path:
    """The first chapter with code (whichever it is), as a student downloads it."""
    path = next(p for p in book.chapter_paths() if golden.has_code(p))
    target = folder / f"{path.stem}.ipynb"
    folder.mkdir(parents=True, exist_ok=True)
    from booktools import runner
    run = runner.executed(book, [path])[path]
    target.write_text(nbformat.writes(notebooks.edition(book, path, "student", url, executed=run)))
    return target


def test_setup_says_what_to_do_when_the_site_is_unreachable(served_site, fresh_python, tmp_path):
    book, url = served_site
    with socket.socket() as s:                    # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/"
    nb_path = _student_notebook(book, dead, tmp_path / "offline")
    subprocess.run([fresh_python, "-c", RUN, str(nb_path), "setup"], check=True, env=_clean_env(),
                   cwd=nb_path.parent, timeout=600)
    setup = nbformat.read(nb_path, as_version=4).cells[1]
    errors = [o for o in setup.outputs if o.output_type == "error"]
    assert errors and errors[0].ename == "SetupFailed", setup.outputs
    assert len(errors[0].traceback) == 1, "setup failure should be one sentence, not a traceback"
    message = errors[0].traceback[0]
    assert "mlsysim" in message and "connect this notebook to the internet" in message and "run this cell again" in message


def test_student_notebook_installs_from_the_site_and_runs(served_site, fresh_python, tmp_path):
    book, url = served_site
    nb_path = _student_notebook(book, url, tmp_path / "student")
    before = {p.name for p in nb_path.parent.iterdir()}
    built = {c.id: c.outputs[0]["data"]["text/markdown"] for c in nbformat.read(nb_path, as_version=4).cells
             if "prose" in c.metadata.get("tags", [])}
    result = subprocess.run([fresh_python, "-c", RUN, str(nb_path), "all"], env=_clean_env(),
                            cwd=nb_path.parent, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    nb = nbformat.read(nb_path, as_version=4)
    assert any("Installing" in "".join(o.get("text", "")) for o in nb.cells[1].outputs), nb.cells[1].outputs
    where = subprocess.run([fresh_python, "-c", "import mlsysim, matplotlib; print(mlsysim.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=_clean_env())
    assert where.returncode == 0 and str(fresh_python.parents[1]) in where.stdout, where.stdout + where.stderr
    assert {p.name for p in nb_path.parent.iterdir()} == before, "running the notebook wrote files beside it"
    # the live paragraphs, computed by the fresh kernel, say what the built book says
    live = {c.id: c.outputs[0]["data"]["text/markdown"] for c in nb.cells if "prose" in c.metadata.get("tags", [])}
    assert built and live == built


# module-scoped fixtures: keep this file on one xdist worker (scripts/test.sh uses --dist loadgroup)
pytestmark = pytest.mark.xdist_group("test_hosted_install")
