"""The preview in a real browser: headless Chromium renders every chapter with its
callouts, MathML, tables and figures, and no raw Quarto syntax leaks through."""
from __future__ import annotations

import html
import os
import re
import subprocess

import pytest

from booktools import preview
from booktools.project import Book

from booktest_support import CHROMIUM, REPO

if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("chromium is not installed (scripts/test.sh installs it; in CI this test fails instead)",
                allow_module_level=True)


def dump_dom(page, tmp_path) -> str:
    assert CHROMIUM, "chromium is required in CI: apt-get install chromium"
    profile = tmp_path / f"profile-{page.stem}"
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}",
         "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "<body" in result.stdout, result.stderr[-2000:]
    return result.stdout


def visible_text(dom: str) -> str:
    dom = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", dom))


def assert_no_raw_syntax(dom: str, name: str):
    text = visible_text(dom)
    for raw in (":::", "{python}", "#|", "?@"):
        assert raw not in text, f"{name}: raw {raw!r} in the rendered page"


def test_fixture_chapter_renders_every_feature(book_dir, tmp_path):
    book = Book(book_dir)
    assert preview.main(book, None) == 0
    dom = dump_dom(book_dir / "_build" / "preview" / "sample.html", tmp_path)
    assert_no_raw_syntax(dom, "sample")
    assert re.search(r'<div[^>]*class="callout callout-tip"', dom)
    assert "Key insight" in dom
    assert "<math" in dom and 'display="block"' in dom
    assert "<table" in dom and "11.94" in dom
    assert re.search(r'<img[^>]+src="data:image/png;base64,', dom)
    assert "Figure 1:" in dom and "Table 1:" in dom and '<a href="#fig-sweep" class="xref">Figure 1</a>' in dom
    assert "Reading all memory takes 23.9 ms" in visible_text(dom)
    assert "Williams" in dom                              # citeproc bibliography
    assert "Solution." not in dom                          # instructor block hidden for students
    text = visible_text(dom)
    assert "this_is_never_run()" in text                   # eval: false shows code, runs nothing
    assert "hidden output\n" not in text and text.count("hidden output") == 1   # output: false
    index = dump_dom(book_dir / "_build" / "preview" / "index.html", tmp_path)
    assert 'href="sample.html"' in index


def test_instructor_preview_shows_solutions(book_dir, tmp_path):
    book = Book(book_dir)
    assert preview.main(book, ["sample"], instructor=True) == 0
    dom = dump_dom(book_dir / "_build" / "preview-instructor" / "sample.html", tmp_path)
    assert "Solution." in dom and "instructor-only" in dom


@pytest.fixture(scope="module")
def book_preview(tmp_path_factory):
    """Preview of the real book (from _build/preview if `build` just made it, else rendered here)."""
    book = Book(REPO)
    out = tmp_path_factory.mktemp("preview")
    assert preview.main(book, None, out_dir=out) == 0
    return book, out


def test_book_chapters_render(book_preview, tmp_path):
    book, out = book_preview
    doms = {}
    for path in book.chapter_paths():
        dom = dump_dom(out / f"{path.stem}.html", tmp_path)
        assert_no_raw_syntax(dom, path.stem)
        assert re.search(r"<h1[^>]*>", dom), f"{path.stem}: no title"
        doms[path.stem] = dom
    # appendices (the course map) are reference pages, not chapters: no key-insight callout
    appendices = {p.stem for p in book.appendix_paths()}
    chapters = {name: dom for name, dom in doms.items() if name != "index" and name not in appendices}
    assert chapters, "the book has no chapters besides index"
    for name, dom in chapters.items():
        assert 'class="callout' in dom, f"{name}: no callout (every chapter has a key insight)"
    together = "".join(chapters.values())
    assert "<math" in together, "no chapter renders an equation"
    assert "<table" in together, "no chapter renders a table"
    assert re.search(r'<img[^>]+src="data:image/(png|svg)', together), "no chapter renders a figure"


# module-scoped fixtures: keep this file on one xdist worker (scripts/test.sh uses --dist loadgroup)
pytestmark = pytest.mark.xdist_group("test_browser")
