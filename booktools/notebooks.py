"""Student and instructor notebooks in _build/notebooks/{student,instructor}/.

Each is a reader edition (``booktools.reader``): it reads like the book page, with live
numbers. Its first code cell installs what a hosted notebook service lacks: the engine's
wheel, published with the book at ``<site-url>wheels/`` (``site-url`` in ``_quarto.yml`` is
the one place the address is set), and matplotlib. It never writes into a clone.
"""
from __future__ import annotations

import re
from pathlib import Path

from . import citations, convert, golden, preview, qmd, reader
from .errors import BookError
from .project import Book, write_atomic

SETUP = '''# Setup: run this cell first. Where the engine is missing (a hosted notebook service,
# a fresh environment) it installs the engine's wheel from the book's site, and matplotlib.
import importlib, importlib.util, subprocess, sys

MLSYSIM_WHEEL = {wheel!r}


class SetupFailed(Exception):
    def _render_traceback_(self):          # IPython shows just the sentence, no traceback
        return [str(self)]


_needed = [target for module, target in (("mlsysim", MLSYSIM_WHEEL), ("matplotlib", "matplotlib"))
           if importlib.util.find_spec(module) is None]
if _needed:
    print("Installing", ", ".join(_needed), "...")
    _pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *_needed],
                          capture_output=True, text=True)
    importlib.invalidate_caches()
    if _pip.returncode != 0 or importlib.util.find_spec("mlsysim") is None:
        _why = (_pip.stderr.strip().splitlines() or ["no message"])[-1]
        raise SetupFailed(f"Setup failed: pip could not install {{' and '.join(_needed)}} ({{_why}}); "
                          f"connect this notebook to the internet, or run `pip install {{MLSYSIM_WHEEL}} "
                          f"matplotlib` in its environment, then run this cell again.")'''


def site_url(book: Book, override: str | None = None) -> str:
    """The published book's address from _quarto.yml (book.site-url or website.site-url), ending in '/'."""
    url = override or (book.config.get("book") or {}).get("site-url") \
        or (book.config.get("website") or {}).get("site-url")
    if not isinstance(url, str) or not re.match(r"https?://", url):
        raise BookError(book.config_path, None, "set book.site-url to the published book's address "
                        "(https://...): student notebooks install the engine from it")
    return url.rstrip("/") + "/"


def wheel_name(book: Book) -> str:
    """The engine wheel's file name, from pyproject.toml's version."""
    text = (book.root / "pyproject.toml").read_text(encoding="utf-8") \
        if (book.root / "pyproject.toml").is_file() else ""
    m = re.search(r'^version\s*=\s*"([^"]+)"', text, re.M)
    version = m.group(1) if m else "0.0.0"
    return f"mlsysim-{version}-py3-none-any.whl"


def wheel_url(book: Book, override: str | None = None) -> str:
    return f"{site_url(book, override)}wheels/{wheel_name(book)}"


def setup_source(book: Book, url: str | None = None) -> str:
    return SETUP.format(wheel=wheel_url(book, url))


def context(book: Book, path: Path, edition: str, url: str | None = None, extra_keys=()) -> reader.Context:
    """Everything a chapter's reader notebook needs from the rest of the book."""
    chapter = qmd.parse(path)
    ctx = reader.Context(chapter=path.stem, edition=edition, site_url=site_url(book, url),
                         chapter_dir=path.parent.relative_to(book.root).as_posix())
    ctx.notebooks = {p.stem for p in book.chapter_paths() if golden.has_code(p) and not book.is_appendix(p)}
    for label, target in preview.xref_table(book).items():
        file, _, anchor = target["href"].partition("#")
        stem = file[:-len(".html")]
        if stem == path.stem:
            href = f"#{anchor}"
        elif stem in ctx.notebooks:
            href = f"{stem}.ipynb#{anchor}"
        else:
            href = f"{ctx.site_url}{stem}.html#{anchor}"
        ctx.labels[label] = {"text": f"Section “{target['text']}”", "href": href}
    text = "\n\n".join(b.source for b in chapter.blocks
                       if b.kind == "markdown" and (edition == "instructor" or not b.solution))
    groups = citations.groups_in(reader.FENCE.sub("", reader.CODE_SPAN.sub("", text)))
    ctx.cites, ctx.references = citations.render(book.bibliography, groups, extra_keys)
    return ctx


def cited_in_outputs(nb) -> list[str]:
    """Keys the engine cites in an executed notebook's outputs (data-cites="key")."""
    keys = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            html = "".join(out.get("data", {}).get("text/html", ""))
            keys += re.findall(r"""data-cites=["']([^"']+)["']""", html)
    return list(dict.fromkeys(keys))


def edition(book: Book, path: Path, which: str, url: str | None = None, executed=None):
    """The reader notebook of one chapter in one edition."""
    nb = convert.to_notebook(qmd.parse(path), book.root)
    if which == "instructor":   # each worked solution opens with its exercise's metadata
        from . import exercise_notes
        nb = exercise_notes.annotate(nb)
    extra = cited_in_outputs(executed) if executed is not None else []
    return reader.build(nb, context(book, path, which, url, extra), setup_source(book, url), executed)


def main(book: Book, names: list[str] | None, out: Path | None = None, url: str | None = None,
         executed: dict | None = None, quiet: bool = False) -> int:
    out = out or book.build_dir / "notebooks"
    for path in book.select(names):
        if not golden.has_code(path):      # e.g. the preface: nothing to run
            continue
        if book.is_appendix(path):         # the course map reads the repository: a web page only
            continue
        run = (executed or {}).get(path)
        if run is None:
            from . import runner
            run = runner.executed(book, [path]).get(path)
        for which in reader.EDITIONS:
            write_atomic(out / which / f"{path.stem}.ipynb", convert.dumps(edition(book, path, which, url, run)))
    if not quiet:
        print(f"notebooks: {book.rel(out)}/student/ and {book.rel(out)}/instructor/")
    return 0
