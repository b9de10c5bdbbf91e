"""`preview`: an HTML page per chapter in _build/preview/, without Quarto.

The executed notebook becomes one pandoc-markdown document (inline expressions
replaced by their values, code and outputs as fenced/raw blocks, figure and
table outputs wrapped in labelled divs); pandoc renders it with ``preview.lua``
(callouts, instructor blocks, numbering, cross-references), ``--citeproc`` and
``--mathml``. Custom code exists only because Quarto is not available in CI.
"""
from __future__ import annotations

import ast
import base64
import html
import re
import sys
from pathlib import Path

import pypandoc
import yaml

from . import convert, golden, qmd
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
    """Text of an inline expression's value: text/markdown as is, else text/plain
    with a str's quotes removed (as Quarto shows it)."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return f"**[{out.get('ename')}: {out.get('evalue')}]**"
        data = out.get("data", {})
        if "text/markdown" in data:
            return "".join(data["text/markdown"])
        if "text/plain" in data:
            text = "".join(data["text/plain"])
            try:
                value = ast.literal_eval(text)
                if isinstance(value, str):
                    text = value
            except (ValueError, SyntaxError):
                pass
            return re.sub(r"([\\`*_$\[\]<>#])", r"\\\1", text)
    return ""


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


def _nav(book: Book, current: Path | None) -> str:
    items = []
    for path in book.chapter_paths():
        title = qmd.parse(path).front_matter.get("title", path.stem)
        cls = ' class="current"' if current is not None and path == current else ""
        items.append(f'<li{cls}><a href="{path.stem}.html">{html.escape(str(title))}</a></li>')
    return f'<nav class="book-nav"><a class="book-title" href="index.html">{html.escape(book_title(book))}</a><ol>{"".join(items)}</ol></nav>'


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


def render_page(book: Book, path: Path, nb, out_dir: Path, instructor: bool = False) -> Path:
    chapter = qmd.parse(path)
    meta = {k: v for k, v in chapter.front_matter.items() if k in ("title", "subtitle", "description", "author", "date")}
    meta.update({
        "lang": "en",
        "pagetitle": str(meta.get("title", path.stem)),
        "link-citations": True,
        "booktools-instructor": instructor,
        "booktools-xref": {k: v for k, v in xref_table(book).items() if not v["href"].startswith(path.stem + ".html")},
    })
    if book.bibliography.is_file():
        meta["bibliography"] = str(book.bibliography)
    document = "---\n" + yaml.safe_dump(meta, sort_keys=True, allow_unicode=True) + "---\n\n" + to_markdown(nb)
    nav = out_dir / ".nav.html"
    write_atomic(nav, _nav(book, path))
    args = ["--standalone", "--mathml", "--toc", "--toc-depth=2", "--section-divs",
            f"--lua-filter={HERE / 'preview.lua'}", "--citeproc",
            "--metadata=reference-section-title:References",
            f"--css={HERE / 'preview.css'}", "--embed-resources",
            f"--resource-path={path.parent}{':' if sys.platform != 'win32' else ';'}{book.root}",
            f"--include-before-body={nav}"]
    try:
        page = pypandoc.convert_text(document, "html5", format="markdown", extra_args=args)
    except RuntimeError as exc:
        raise BookError(path, None, f"pandoc failed: {exc}")
    target = out_dir / f"{path.stem}.html"
    write_atomic(target, page)
    return target


def main(book: Book, names: list[str] | None, instructor: bool = False,
         executed: dict | None = None, out_dir: Path | None = None) -> int:
    """Render chapters; `executed` maps chapter paths to already-executed notebooks."""
    out_dir = out_dir or book.build_dir / ("preview-instructor" if instructor else "preview")
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in book.select(names):
        nb = (executed or {}).get(path)
        if nb is None:
            nb = golden.run_chapter(book, path) if golden.has_code(path) else \
                convert.to_notebook(qmd.parse(path), book.root)
        print(f"preview: {book.rel(path)} -> {book.rel(render_page(book, path, nb, out_dir, instructor))}",
              flush=True)
    if not (out_dir / "index.html").exists():
        write_atomic(out_dir / "index.html", _index_page(book))
    (out_dir / ".nav.html").unlink(missing_ok=True)
    return 0


def _index_page(book: Book) -> str:
    css = (HERE / "preview.css").read_text()
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(book_title(book))}"
            f"</title><style>{css}</style></head><body>{_nav(book, None)}<main><h1>{html.escape(book_title(book))}</h1>"
            f"<p>Chapters are listed on the left.</p></main></body></html>")
