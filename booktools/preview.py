"""`preview`: an HTML page per chapter in _build/preview/, without Quarto.

The executed notebook becomes one pandoc-markdown document (inline expressions
replaced by their values, code and outputs as fenced/raw blocks, figure and
table outputs wrapped in labelled divs); pandoc renders it with ``preview.lua``
(callouts, instructor blocks, numbering, cross-references), ``--citeproc`` and
``--mathml``. Custom code exists only because Quarto is not available in CI.
"""
from __future__ import annotations

import base64
import html
import os
import re
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pypandoc
import yaml

from . import citations, convert, golden, qmd
from .errors import BookError
from .project import Book, write_atomic

HERE = Path(__file__).parent
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _fence(text: str, info: str = "") -> str:
    ticks = "`" * max(3, max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    return f"{ticks}{info}\n{text.rstrip()}\n{ticks}\n"


def _raw_html(text: str) -> str:
    return _fence(text, "{=html}")


def inline_value(cell) -> str:
    """Text of an inline expression's value: text/markdown as is, else text/plain with a str's
    quotes removed (as Quarto shows it); the student notebooks' live prose uses the same rule."""
    from .reader import shown_value

    return shown_value(cell)


def render_outputs(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "stream":
            parts.append(_fence("".join(out["text"]), " {.cell-output}"))
        elif kind == "error":
            parts.append(_fence(f"{out['ename']}: {out['evalue']}", " {.cell-output .cell-error}"))
        elif kind in ("display_data", "execute_result"):
            data = out.get("data", {})
            if "image/png" in data:
                png = "".join(data["image/png"]).replace("\n", "")
                parts.append(_raw_html(f'<img class="cell-figure" alt="figure" src="data:image/png;base64,{png}">'))
            elif "image/svg+xml" in data:
                svg = "".join(data["image/svg+xml"])
                src = base64.b64encode(svg.encode()).decode()
                parts.append(_raw_html(f'<img class="cell-figure" alt="figure" src="data:image/svg+xml;base64,{src}">'))
            elif "text/html" in data:
                parts.append(_raw_html(f'<div class="cell-output-html">{"".join(data["text/html"])}</div>'))
            elif "text/markdown" in data:
                parts.append("".join(data["text/markdown"]) + "\n")
            elif "text/plain" in data:
                parts.append(_fence("".join(data["text/plain"]), " {.cell-output}"))
    return "\n".join(parts)


def to_markdown(nb) -> str:
    """The executed notebook as one pandoc-markdown document body."""
    cells = nb.cells
    parts = []
    for i, cell in enumerate(cells):
        meta = cell.metadata.get("booktools", {})
        if cell.cell_type == "raw" or meta.get("kind") == "inline":
            continue
        if cell.cell_type == "markdown":
            values = iter(inline_value(c) for c in cells[i + 1:]
                          if c.metadata.get("booktools", {}).get("kind") == "inline")
            text = qmd.INLINE.sub(lambda m: next(values, m.group(0)), cell.source)
            # `$$ ... $$ {#eq-x}` (Quarto) -> a labelled span the filter numbers
            text = re.sub(r"\$\$(.+?)\$\$\s*\{#(eq-[\w-]+)\}",
                          lambda m: f"[$${m.group(1)}$$]{{#{m.group(2)}}}", text, flags=re.S)
            parts.append(text + "\n")
            continue
        lines = cell.source.splitlines()
        n = 0
        while n < len(lines) and qmd.OPTION.match(lines[n]):
            n += 1
        options = qmd.parse_options([qmd.OPTION.match(l).group(1) for l in lines[:n]], None, 0)
        if options.get("include") is False:
            continue
        body = []
        if options.get("echo", True) is not False:
            body.append(_fence("\n".join(lines[n:]), " {.python .cell-code}"))
        if options.get("output", True) is not False:
            outputs = render_outputs(cell)
            label = options.get("label", "")
            kind = label.split("-")[0] if isinstance(label, str) else ""
            caption = options.get(f"{kind}-cap") if kind in ("fig", "tbl") else None
            if kind in ("fig", "tbl") and outputs:
                cap = f"::: {{.booktools-caption}}\n{caption or ''}\n:::\n"
                inner = f"{cap}\n{outputs}" if kind == "tbl" else f"{outputs}\n{cap}"
                outputs = f":::: {{#{label}}}\n{inner}\n::::\n"
            body.append(outputs)
        parts.append("\n".join(b for b in body if b))
    return "\n".join(parts)


def chapter_numbers(book: Book) -> dict:
    """Chapter number by path: the preface (index.qmd) is unnumbered, as Quarto does it, and so
    are appendices in the preview (Quarto letters them A, B, ...)."""
    numbers, n = {}, 0
    appendices = set(book.appendix_paths())
    for path in book.chapter_paths():
        if (path.stem == "index" and path.parent == book.root) or path in appendices:
            continue
        n += 1
        numbers[path] = n
    return numbers


def _entry(book: Book, path: Path, numbers: dict) -> str:
    title = html.escape(str(qmd.parse(path).front_matter.get("title", path.stem)))
    n = numbers.get(path)
    return f'<span class="chapter-number">{n}</span>&nbsp; {title}' if n else title


def _nav(book: Book, current: Path | None) -> str:
    numbers = chapter_numbers(book)
    items = []
    for path in book.chapter_paths():
        cls = ' class="current"' if current is not None and path == current else ""
        items.append(f'<li{cls}><a href="{path.stem}.html">{_entry(book, path, numbers)}</a></li>')
    return (f'<nav class="book-nav"><a class="book-title" href="index.html">{html.escape(book_title(book))}</a>'
            f'<ul>{"".join(items)}</ul></nav>')


def _pager(book: Book, current: Path) -> str:
    """Previous / next chapter links for the end of a page."""
    paths, numbers = book.chapter_paths(), chapter_numbers(book)
    if current not in paths:
        return ""
    i = paths.index(current)
    parts = []
    if i > 0:
        parts.append(f'<a class="page-prev" rel="prev" href="{paths[i - 1].stem}.html">'
                     f'<span class="pager-label">← Previous</span><span>{_entry(book, paths[i - 1], numbers)}</span></a>')
    if i + 1 < len(paths):
        parts.append(f'<a class="page-next" rel="next" href="{paths[i + 1].stem}.html">'
                     f'<span class="pager-label">Next →</span><span>{_entry(book, paths[i + 1], numbers)}</span></a>')
    return f'<nav class="page-navigation">{"".join(parts)}</nav>'


def notebook_links(book: Book, path: Path, instructor: bool) -> str:
    """'Open in Colab' and 'Download notebook' for a chapter page ('' for pages without code and
    for appendices, which have no notebook edition)."""
    if not golden.has_code(path) or book.is_appendix(path):
        return ""
    edition = "instructor" if instructor else "student"
    links = [f'<a class="notebook-link download" href="notebooks/{edition}/{path.stem}.ipynb" '
             f'download>Download notebook</a>']
    colab = colab_url(book, path) if not instructor else None
    if colab:
        links.insert(0, f'<a class="notebook-link colab" href="{html.escape(colab)}">Open in Colab</a>')
    return f'<div class="notebook-links">{"".join(links)}</div>'


def colab_url(book: Book, path: Path) -> str | None:
    """Colab opens notebooks from GitHub: the student notebook on the published branch (gh-pages)."""
    repo = (book.config.get("book") or {}).get("repo-url") or ""
    m = re.match(r"https://github\.com/([^/]+)/([^/#?]+?)(?:\.git)?/?$", str(repo))
    if not m:
        return None
    return (f"https://colab.research.google.com/github/{m.group(1)}/{m.group(2)}/blob/gh-pages/"
            f"notebooks/student/{path.stem}.ipynb")


def book_title(book: Book) -> str:
    return str((book.config.get("book") or {}).get("title", "Book"))


def xref_table(book: Book) -> dict:
    """Section labels of every chapter, so @sec-x can link across chapters."""
    table = {}
    for path in book.chapter_paths():
        chapter = qmd.parse(path)
        for block in chapter.blocks:
            if block.kind != "markdown":
                continue
            for m in re.finditer(r"^#+\s+(.*?)\s*\{#(sec-[\w-]+)[^}]*\}", block.source, re.M):
                table[m.group(2)] = {"text": m.group(1), "href": f"{path.stem}.html#{m.group(2)}"}
    return table


CITE_TAG = re.compile(r"""<cite\b[^>]*\bdata-cites=(["'])([^"']+)\1[^>]*>.*?</cite>""", re.S)


def engine_citations(markdown: str, book: Book) -> tuple[str, list[str]]:
    """Sources the engine cites in its HTML outputs (<cite data-cites="key">) -> author-year
    links to the page's reference list; returns the new text and the keys (for nocite)."""
    keys = list(dict.fromkeys(m.group(2) for m in CITE_TAG.finditer(markdown)))
    if not keys:
        return markdown, []
    texts, _ = citations.render(book.bibliography, [f"[@{k}]" for k in keys])

    def link(m):
        md = texts.get(f"[@{m.group(2)}]", m.group(2))
        inner = re.sub(r"\[([^\]]*)\]\((#[^)]*)\)", r'<a href="\2" class="citation">\1</a>', html.escape(md, quote=False))
        inner = re.sub(r"\*([^*]+)\*", r"<em>\1</em>", inner)
        return f'<span class="citation" data-cites="{m.group(2)}">{inner}</span>'
    return CITE_TAG.sub(link, markdown), keys


def render_page(book: Book, path: Path, nb, out_dir: Path, instructor: bool = False) -> Path:
    chapter = qmd.parse(path)
    meta = {k: v for k, v in chapter.front_matter.items() if k in ("title", "subtitle", "description", "author", "date")}
    if instructor:      # each worked solution opens with its exercise's kind, objective, minutes and points
        from . import exercise_notes
        nb = exercise_notes.annotate(nb)
    body, engine_keys = engine_citations(to_markdown(nb), book)
    meta.update({
        "lang": "en",
        "pagetitle": str(meta.get("title", path.stem)),
        "link-citations": True,
        "booktools-instructor": instructor,
        "booktools-xref": {k: v for k, v in xref_table(book).items() if not v["href"].startswith(path.stem + ".html")},
    })
    if engine_keys:
        meta["nocite"] = ", ".join(f"@{k}" for k in engine_keys)
    if book.bibliography.is_file():
        meta["bibliography"] = str(book.bibliography)
    badges = notebook_links(book, path, instructor)
    document = "---\n" + yaml.safe_dump(meta, sort_keys=True, allow_unicode=True) + "---\n\n" + \
        (_raw_html(badges) + "\n" if badges else "") + body
    with tempfile.TemporaryDirectory() as tmp:
        nav, pager = Path(tmp) / "nav.html", Path(tmp) / "pager.html"
        nav.write_text(_nav(book, path), encoding="utf-8")
        pager.write_text(_pager(book, path), encoding="utf-8")
        args = ["--standalone", "--mathml", "--toc", "--toc-depth=2", "--section-divs",
                f"--lua-filter={HERE / 'preview.lua'}", "--citeproc",
                "--metadata=reference-section-title:References",
                f"--css={HERE / 'preview.css'}", "--embed-resources",
                f"--resource-path={path.parent}{':' if sys.platform != 'win32' else ';'}{book.root}",
                f"--include-before-body={nav}", f"--include-after-body={pager}"]
        try:
            page = pypandoc.convert_text(document, "html5", format="markdown", extra_args=args)
        except RuntimeError as exc:
            raise BookError(path, None, f"pandoc failed: {exc}")
    target = out_dir / f"{path.stem}.html"
    write_atomic(target, page)
    return target


def main(book: Book, names: list[str] | None, instructor: bool = False,
         executed: dict | None = None, out_dir: Path | None = None, jobs: int | None = None) -> int:
    """Render chapters (pandoc runs in parallel); `executed` maps chapter paths to executed notebooks."""
    from . import runner
    out_dir = out_dir or book.build_dir / ("preview-instructor" if instructor else "preview")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = book.select(names)
    executed = dict(executed or {})
    missing = [p for p in paths if p not in executed and golden.has_code(p)]
    if missing:
        executed.update(runner.executed(book, missing, jobs=jobs))

    def one(path):
        nb = executed.get(path) or convert.to_notebook(qmd.parse(path), book.root)
        return render_page(book, path, nb, out_dir, instructor)
    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        for path, target in zip(paths, pool.map(one, paths)):
            print(f"preview: {book.rel(path)} -> {book.rel(target)}", flush=True)
    if not (out_dir / "index.html").exists():
        write_atomic(out_dir / "index.html", _index_page(book))
    return 0


def _index_page(book: Book) -> str:
    css = (HERE / "preview.css").read_text()
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(book_title(book))}"
            f"</title><style>{css}</style></head><body>{_nav(book, None)}<main><h1>{html.escape(book_title(book))}</h1>"
            f"<p>Chapters are listed on the left.</p></main></body></html>")
