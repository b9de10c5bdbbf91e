"""`build`: everything a reader, student or instructor needs, into _build/.

convert (_build/ipynb/), execute each chapter once (independently of the
goldens, into _build/executed/), render the preview from those runs
(_build/preview/ and _build/preview-instructor/), write the notebooks
(_build/notebooks/), and run `quarto render` too when Quarto is installed.
"""
from __future__ import annotations

import shutil
import subprocess

from . import convert, golden, notebooks, preview, qmd
from .errors import BookError
from .project import Book, write_atomic


def main(book: Book, names: list[str] | None) -> int:
    out = book.build_dir
    executed = {}
    for path in book.select(names):
        nb = convert.to_notebook(qmd.parse(path), book.root)
        write_atomic(out / "ipynb" / f"{path.stem}.ipynb", convert.dumps(nb))
        if golden.has_code(path):
            print(f"execute: {book.rel(path)}", flush=True)
            nb = golden.run_chapter(book, path)
            write_atomic(out / "executed" / f"{path.stem}.ipynb", convert.dumps(nb))
        executed[path] = nb
    preview.main(book, names, executed=executed)
    preview.main(book, names, instructor=True, executed=executed)
    notebooks.main(book, names)
    if shutil.which("quarto"):
        print("quarto render", flush=True)
        if subprocess.run(["quarto", "render"], cwd=book.root).returncode != 0:
            raise BookError(book.config_path, None, "quarto render failed (see its output above)")
        print(f"book: {book.rel(book.root / '_book')}/index.html")
    else:
        print("quarto not found: skipped `quarto render` (pip install -e '.[quarto]' to add it)")
    print(f"preview: {book.rel(out / 'preview')}/index.html")
    return 0
