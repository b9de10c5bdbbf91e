"""Execute chapters and store them as goldens in tests/golden/<chapter>.ipynb.

A golden is the executed notebook minus everything that changes between runs
or machines (timings, Python version, image bytes), so regenerating it twice
gives byte-identical files and a diff shows only real changes. nbval later
re-runs each golden and compares its outputs.
"""
from __future__ import annotations

from pathlib import Path

from . import convert, execute, qmd
from .project import Book, write_atomic

# nbval never compares PNG/JPEG; SVG it would, so the placeholder equals what
# nbval_sanitize.cfg turns any SVG into.
IMAGE_PLACEHOLDER = {
    "image/png": "<image/png omitted from golden>",
    "image/jpeg": "<image/jpeg omitted from golden>",
    "image/svg+xml": "<image/svg+xml omitted from golden>",
}


def normalize(nb):
    """Strip run- and machine-dependent parts of an executed notebook, in place."""
    nb.metadata.get("language_info", {}).pop("version", None)
    nb.metadata.get("booktools", {}).pop("cache_key", None)
    for key in ("widgets", "papermill", "execution"):
        nb.metadata.pop(key, None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            for mime, text in IMAGE_PLACEHOLDER.items():
                if mime in data:
                    data[mime] = text
            if "metadata" in output:
                output["metadata"] = {}
            if output.get("output_type") == "error":
                # tracebacks hold machine paths; nbval never compares them anyway
                output["traceback"] = [f"{output.get('ename')}: {output.get('evalue')}"]
    return nb


def run_chapter(book: Book, path: Path):
    """Convert and execute one chapter (cwd = the chapter's folder, as Quarto does)."""
    nb = convert.to_notebook(qmd.parse(path), book.root)
    return execute.execute(nb, cwd=path.parent, root=book.root, source=path)


def write_golden(book: Book, path: Path) -> Path:
    nb = normalize(run_chapter(book, path))
    target = book.golden(path)
    write_atomic(target, convert.dumps(nb))
    return target


def has_code(path: Path) -> bool:
    """Chapters without code or inline expressions (e.g. index.qmd) need no golden."""
    chapter = qmd.parse(path)
    return any(b.kind == "code" or b.inline_expressions() for b in chapter.blocks)


def main(book: Book, names: list[str] | None) -> int:
    """Run the chapters (in parallel; an unchanged chapter's cached run is reused, see
    booktools.runner) and store each, normalised, as its golden."""
    import copy
    from . import runner
    paths = [p for p in book.select(names) if has_code(p)]
    for path, nb in runner.executed(book, paths).items():
        target = book.golden(path)
        write_atomic(target, convert.dumps(normalize(copy.deepcopy(nb))))
        print(f"golden: {book.rel(path)} -> {book.rel(target)}", flush=True)
    return 0
