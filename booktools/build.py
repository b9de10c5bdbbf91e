"""`build`: everything a reader, student or instructor needs, into _build/.

Chapters execute in parallel and only when their .qmd or the engine changed
(``booktools.runner``); a chapter's pages and notebooks are re-rendered only when their
inputs changed (a stamp per chapter over its run, the book's chapter list and titles,
references.bib and booktools itself). Output:

- ``_build/preview/``: the student site (pages, ``notebooks/student/``, ``wheels/``);
- ``_build/preview-instructor/``: the instructor site (pages, ``notebooks/instructor/``);
- ``_build/notebooks/{student,instructor}/``: the notebooks on their own;
- ``quarto render`` too when Quarto is installed, with ``wheels/`` and ``notebooks/student/``
  copied into its output (``_book/``): the site the GitHub workflow publishes.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import convert, golden, notebooks, preview, qmd, runner, wheel
from .errors import BookError
from .project import Book, write_atomic


def _book_hash(book: Book) -> str:
    """Everything outside a chapter that its pages and notebooks show."""
    h = hashlib.sha256()
    files = [book.config_path, book.bibliography, *book.chapter_paths(),
             *sorted(Path(__file__).parent.glob("*.py")), *sorted(Path(__file__).parent.glob("*.lua")),
             *sorted(Path(__file__).parent.glob("*.css"))]
    for f in files:
        if f.is_file():
            h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def main(book: Book, names: list[str] | None, jobs: int | None = None, site_url: str | None = None) -> int:
    out = book.build_dir
    paths = book.select(names)
    jobs = jobs or os.cpu_count() or 1
    for path in paths:
        write_atomic(out / "ipynb" / f"{path.stem}.ipynb", convert.dumps(convert.to_notebook(qmd.parse(path), book.root)))
    executed = runner.executed(book, paths, jobs=jobs)

    stamps_file = out / ".stamps.json"
    try:
        stamps = json.loads(stamps_file.read_text())
    except (OSError, ValueError):
        stamps = {}
    common = _book_hash(book) + (site_url or "")
    engine = runner.engine_hash(book)

    def stamp(path):
        key = runner.chapter_key(path, engine) if path in executed else hashlib.sha256(path.read_bytes()).hexdigest()
        return hashlib.sha256((common + key).encode()).hexdigest()

    site, site_instructor = out / "preview", out / "preview-instructor"
    todo = [p for p in paths if stamps.get(p.stem) != stamp(p) or not (site / f"{p.stem}.html").is_file()]
    if todo:
        preview.main(book, [p.stem for p in todo], executed=executed, jobs=jobs)
        preview.main(book, [p.stem for p in todo], instructor=True, executed=executed, jobs=jobs)
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(lambda p: notebooks.main(book, [p.stem], url=site_url, executed=executed, quiet=True),
                          [p for p in todo if golden.has_code(p)]))
        for p in todo:
            stamps[p.stem] = stamp(p)
        write_atomic(stamps_file, json.dumps(stamps, indent=1, sort_keys=True))
    else:
        print("build: nothing changed")
    # the sites carry their notebooks; the student site also the engine's wheel
    whl = wheel.build(book, site / "wheels")
    for edition, where in (("student", site), ("instructor", site_instructor)):
        dest = where / "notebooks" / edition
        dest.mkdir(parents=True, exist_ok=True)
        for nb in (out / "notebooks" / edition).glob("*.ipynb"):
            if not (dest / nb.name).is_file() or (dest / nb.name).read_bytes() != nb.read_bytes():
                write_atomic(dest / nb.name, nb.read_bytes())
    if shutil.which("quarto"):
        print("quarto render", flush=True)
        if subprocess.run(["quarto", "render"], cwd=book.root).returncode != 0:
            raise BookError(book.config_path, None, "quarto render failed (see its output above)")
        # the published site carries the engine's wheel and the student notebooks
        rendered = book.root / ((book.config.get("project") or {}).get("output-dir") or "_book")
        for sub in ("wheels", "notebooks/student"):
            if (site / sub).is_dir():
                shutil.copytree(site / sub, rendered / sub, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns(".*"))
        print(f"book: {book.rel(rendered)}/index.html (with wheels/ and notebooks/student/)")
    else:
        print("quarto not found: skipped `quarto render` (pip install -e '.[quarto]' to add it)")
    print(f"preview: {book.rel(site)}/index.html" + (f" (wheel: {book.rel(whl)})" if whl else ""))
    return 0
