"""A site without dead ends: every link and image in every page of both built sites (student
and instructor) resolves to a file of the site and, with a #fragment, to an element of it;
every chapter page ends with previous/next links and offers its notebook; the sidebar numbers
chapters as the preface does (the preface unnumbered) and stays in view while reading."""
from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from booktools import golden, preview
from booktools.project import Book

from booktest_support import REPO

LINK = re.compile(r"""<(?:a|link|img|script|source)\b[^>]*?\b(?:href|src)=(["'])(.*?)\1""", re.S)


@pytest.fixture(scope="module")
def sites():
    result = subprocess.run([sys.executable, "-m", "booktools", "build"], cwd=REPO, capture_output=True,
                            text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return Book(REPO), {"student": REPO / "_build" / "preview", "instructor": REPO / "_build" / "preview-instructor"}


def _ids(page: Path, cache={}) -> set:
    if page not in cache:
        cache[page] = {m[1] for m in re.findall(r"""\bid=(["'])(.*?)\1""", page.read_text(encoding="utf-8"), re.S)}
    return cache[page]


@pytest.mark.parametrize("edition", ["student", "instructor"])
def test_every_link_resolves(sites, edition):
    book, folders = sites
    site = folders[edition]
    pages = sorted(site.glob("*.html"))
    assert {p.stem for p in pages} >= {p.stem for p in book.chapter_paths()}
    dead, followed = [], 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for _, raw in LINK.findall(text):
            href = html.unescape(raw)
            url = urlparse(href)
            if url.scheme in ("http", "https", "mailto", "data"):
                continue
            assert not url.scheme, f"{page.name}: unexpected link {href!r}"
            target = (page.parent / unquote(url.path)).resolve() if url.path else page
            followed += 1
            if not target.is_file() or site.resolve() not in target.parents:
                dead.append(f"{page.name}: {href} (no file {target})")
            elif url.fragment and target.suffix == ".html" and unquote(url.fragment) not in _ids(target):
                dead.append(f"{page.name}: {href} (no id {url.fragment!r} in {target.name})")
    assert followed > 100
    assert not dead, f"{len(dead)} dead link(s) in the {edition} site:\n" + "\n".join(dead[:40])


@pytest.mark.parametrize("edition", ["student", "instructor"])
def test_chapters_have_pager_notebook_links_and_numbers(sites, edition):
    book, folders = sites
    paths = book.chapter_paths()
    numbers = preview.chapter_numbers(book)
    for i, path in enumerate(paths):
        text = (folders[edition] / f"{path.stem}.html").read_text(encoding="utf-8")
        if i > 0:
            assert f'rel="prev" href="{paths[i - 1].stem}.html"' in text, path.stem
        if i + 1 < len(paths):
            assert f'rel="next" href="{paths[i + 1].stem}.html"' in text, path.stem
        if book.is_appendix(path):          # the course map: a web page only, no notebook edition
            assert "notebooks/" not in text and "Open in Colab" not in text, path.stem
        elif golden.has_code(path):
            assert f'href="notebooks/{edition}/{path.stem}.ipynb"' in text, path.stem
            assert ("Open in Colab" in text) == (edition == "student"), path.stem
        nav = text[text.find('<nav class="book-nav">'):]
        nav = nav[:nav.find("</nav>")]
        for other in paths:
            n = numbers.get(other)
            entry = re.search(rf'href="{other.stem}\.html">(.*?)</a>', nav, re.S).group(1)
            assert (f'chapter-number">{n}<' in entry) if n else "chapter-number" not in entry, (path.stem, other.stem)
    assert "index" not in {p.stem for p in numbers} and sorted(numbers.values()) == list(range(1, len(numbers) + 1))


def test_index_numbers_chapters_as_the_sidebar_does(sites):
    """The preface's chapter list (if it numbers them) agrees with the sidebar's numbers."""
    book, folders = sites
    index = book.root / "index.qmd"
    numbers = {p.stem: n for p, n in preview.chapter_numbers(book).items()}
    listed = re.findall(r"^\s*(\d+)\.\s+\[[^\]]*\]\((?:tutorials/)?([\w-]+)\.qmd", index.read_text(), re.M)
    if not listed:
        pytest.skip("index.qmd has no numbered list of chapters")
    for n, stem in listed:
        assert numbers.get(stem) == int(n), f"index.qmd lists {stem} as {n}, the sidebar as {numbers.get(stem)}"


def test_sidebar_stays_in_view_and_tables_do_not_wrap(sites, tmp_path):
    from booktest_support import CHROMIUM
    if CHROMIUM is None and not os.environ.get("CI"):
        pytest.skip("chromium is not installed")
    import cdp
    book, folders = sites
    chapter = next(p for p in book.chapter_paths() if golden.has_code(p))
    page = cdp.Page(CHROMIUM, tmp_path / "profile", 1280, 900)
    try:
        assert page.open((folders["student"] / f"{chapter.stem}.html").as_uri(), "document.readyState === 'complete'")
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        time.sleep(0.3)
        top = page.evaluate("document.querySelector('.book-nav').getBoundingClientRect().top")
        scrolled = page.evaluate("window.scrollY")
        # table cells never wrap (a wide table scrolls instead of breaking 'held-out' in two)
        cells, wrapped = page.evaluate(
            "(() => { const tds = [...document.querySelectorAll('main td:not(.prose), section td:not(.prose),"
            " body td:not(.prose)')];"
            " const lines = td => { const c = getComputedStyle(td); const line = parseFloat(c.lineHeight) ||"
            " 1.2 * parseFloat(c.fontSize); return (td.clientHeight - parseFloat(c.paddingTop) -"
            " parseFloat(c.paddingBottom)) / line; };"
            " return [tds.length, tds.filter(td => lines(td) > 1.5).map(td => td.textContent.trim()).slice(0, 5)]; })()")
    finally:
        page.close()
    # sticky means pinned at the top; a fractional page height leaves a sub-pixel offset
    assert scrolled > 1000 and abs(top) < 1, f"sidebar top at {top}px after scrolling {scrolled}px"
    assert cells > 0 and not wrapped, f"table cells wrapped over lines: {wrapped}"


# module-scoped fixtures: keep this file on one xdist worker (scripts/test.sh uses --dist loadgroup)
pytestmark = pytest.mark.xdist_group("test_links")
