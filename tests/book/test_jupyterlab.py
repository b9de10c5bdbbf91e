"""Student notebooks in a real JupyterLab, seen through headless Chromium: every chapter opens,
every cell renders, no Quarto syntax is visible, and every in-notebook link has its target.
A screenshot of the first chapter is left in _build/screenshots/ to look at."""
from __future__ import annotations

import html
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from booktools import notebooks, runner
from booktools.project import Book

import cdp
from booktest_support import CHROMIUM, REPO

pytest.importorskip("jupyterlab", reason="pip install -e '.[dev]' (JupyterLab runs the notebook test)")
if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("chromium is not installed (scripts/test.sh installs it; in CI this test fails instead)",
                allow_module_level=True)
FORBIDDEN = ("{python}", "{#", "[@", ".qmd)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings(folder: Path) -> None:
    """Render every cell (no windowing), and no news pop-up over the page."""
    for plugin, values in {"notebook-extension/tracker": {"windowingMode": "none"},
                           "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False}}.items():
        path = folder / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving the book's student notebooks (as the build writes them)."""
    book = Book(REPO)
    root = tmp_path_factory.mktemp("lab")
    notes = root / "notebooks"
    paths = [p for p in book.chapter_paths() if p.stem != "index" and not book.is_appendix(p)]
    assert notebooks.main(book, [p.stem for p in paths], out=notes, executed=runner.executed(book, paths)) == 0
    _settings(root / "settings")
    port = _free_port()
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(root / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces"), "JUPYTER_RUNTIME_DIR": str(root / "runtime")}
    log = open(root / "lab.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}",
                             "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
                             "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={notes / 'student'}"],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start:\n" + (root / "lab.log").read_text()[-2000:])
        assert proc.poll() is None, (root / "lab.log").read_text()[-2000:]
        yield url, notes / "student", root
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _visible_text(dom: str) -> str:
    dom = re.sub(r"<(script|style|template)\b.*?</\1>", " ", dom, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", dom))


def test_student_notebooks_read_like_the_book_in_jupyterlab(lab):
    url, folder, root = lab
    shots = REPO / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    files = sorted(folder.glob("*.ipynb"))
    assert files, "no student notebooks were built"

    assert CHROMIUM, "chromium is required in CI: apt-get install chromium"
    page = cdp.Page(CHROMIUM, root / "profile")
    results = []
    try:
        for path in files:
            nb = nbformat.read(path, as_version=4)
            # a workspace of its own, reset: only this notebook is open; ready when every cell
            # has rendered and MathJax has typeset the page
            ready = (f"document.querySelectorAll('.jp-NotebookPanel .jp-Cell').length >= {len(nb.cells)} && "
                     "!document.querySelector('.jp-NotebookPanel .jp-MarkdownCell:not(.jp-mod-rendered)')")
            if any("$$" in c.source for c in nb.cells if c.cell_type == "markdown"):
                ready += " && document.querySelectorAll('.jp-NotebookPanel mjx-container').length > 0"
            opened = page.open(f"{url}/lab/workspaces/{path.stem}/tree/{path.name}?reset", ready)
            time.sleep(0.5)                               # let MathJax finish the last equations
            if path == files[0]:
                page.screenshot(shots / f"{path.stem}.png")
            results.append((path, nb, opened, page.html()))
    finally:
        page.close()
    for path, nb, opened, dom in results:
        rendered = len(re.findall(r'class="[^"]*\bjp-Cell jp-(?:Code|Markdown|Raw)Cell\b', dom))
        assert opened and rendered == len(nb.cells), \
            f"{path.stem}: JupyterLab rendered {rendered} of {len(nb.cells)} cells"
        text = _visible_text(dom)
        for raw in FORBIDDEN:
            i = text.find(raw)
            assert i < 0, f"{path.stem}: {raw!r} is visible in JupyterLab: …{text[max(0, i - 80):i + 80]}…"
        assert "Kernel is running over TCP" not in text
        # live prose is there (built outputs), with the numbers in it
        first = next(c for c in nb.cells if "prose" in c.metadata.get("tags", []))
        # markdown emphasis and code marks vanish when rendered; underscores inside a word stay;
        # a citation renders as author-year text, so compare the words before the first link
        before_link = first.outputs[0]["data"]["text/markdown"].split("[")[0]
        unescaped = re.sub(r"[\\*`$]", "", before_link)
        words = re.sub(r"(?<!\w)_|_(?!\w)", "", unescaped).split()[:6]
        assert len(words) >= 3, f"{path.stem}: first live paragraph starts with a link; pick another check"
        assert " ".join(words) in " ".join(text.split()), f"{path.stem}: live paragraph not shown: {words}"
        # every in-notebook link lands somewhere: JupyterLab keeps ids as data-jupyter-id
        panel = dom[dom.find("jp-NotebookPanel"):]
        targets = set(re.findall(r'\b(?:id|data-jupyter-id)="([^"]+)"', dom))
        for anchor in set(re.findall(r'href="#([^"]+)"', panel)):
            assert anchor in targets or anchor.replace(" ", "-") in targets, f"{path.stem}: link #{anchor} has no target"
        for href in set(re.findall(r'href="([\w-]+\.ipynb)(?:#[^"]*)?"', panel)):
            assert (folder / href).is_file(), f"{path.stem}: link to {href}, which is not a student notebook"
    assert (shots / f"{files[0].stem}.png").stat().st_size > 50_000, "the screenshot is blank"


# module-scoped fixtures: keep this file on one xdist worker (scripts/test.sh uses --dist loadgroup)
pytestmark = pytest.mark.xdist_group("test_jupyterlab")
