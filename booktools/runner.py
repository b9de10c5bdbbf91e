"""Execute chapters in parallel, and only when something they depend on changed.

Each executed chapter is cached in ``_build/executed/<chapter>.ipynb`` under a key: the
SHA-256 of its ``.qmd``, of the engine (every file under ``mlsysim/``: code and data) and of
the booktools modules that shape a run. An unchanged chapter is read back, not run. This is
Quarto's ``freeze: auto`` plus the engine: where a key changed, the chapter's Quarto freeze
(``_freeze/<chapter>/``) is removed too, so ``quarto render`` re-runs it instead of
publishing numbers from an older engine. Chapters run in a process pool, one kernel per
worker (default: one worker per core). Why custom code: nbclient runs one notebook;
scheduling and the cache key are the book's own.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat

from . import convert, golden
from .errors import BookError
from .project import Book, write_atomic

MACHINERY = ("qmd.py", "convert.py", "execute.py", "golden.py", "figures.py")


def _hash_files(files, root: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def engine_hash(book: Book) -> str:
    """Hash of the engine's code and data, and of the booktools code that runs chapters."""
    engine = book.root / "mlsysim"
    files = [f for f in engine.rglob("*") if f.is_file() and "__pycache__" not in f.parts
             and f.suffix not in (".pyc",)] if engine.is_dir() else []
    here = Path(__file__).parent
    return hashlib.sha256((_hash_files(files, book.root) + _hash_files(
        [here / m for m in MACHINERY], here)).encode()).hexdigest()


def book_hash(book: Book) -> str:
    """Hash of _quarto.yml, every listed page and booktools' course-map code: an appendix such as
    the course map is built from the whole book, so any of them changes its run."""
    here = Path(__file__).parent
    return _hash_files([book.config_path, *book.chapter_paths()], book.root) + \
        _hash_files([here / "coursemap.py"], here)


def chapter_key(path: Path, engine: str) -> str:
    return hashlib.sha256(engine.encode() + b"\0" + path.read_bytes()).hexdigest()


def cache_path(book: Book, path: Path) -> Path:
    return book.build_dir / "executed" / f"{path.stem}.ipynb"


def _cached(book: Book, path: Path, key: str):
    target = cache_path(book, path)
    if not target.is_file():
        return None
    try:
        nb = nbformat.read(target, as_version=4)
    except Exception:
        return None
    return nb if nb.metadata.get("booktools", {}).get("cache_key") == key else None


def _run(root: str, path: str) -> tuple[str, str]:
    """Worker: execute one chapter; ("ok", notebook JSON) or ("error", message)."""
    try:
        book = Book(root)
        return "ok", convert.dumps(golden.run_chapter(book, Path(path)))
    except BookError as exc:
        return "error", str(exc)


def _unfreeze(book: Book, path: Path) -> None:
    freeze = book.root / "_freeze" / path.relative_to(book.root).with_suffix("")
    if freeze.is_dir():
        shutil.rmtree(freeze)


def executed(book: Book, paths: list[Path], jobs: int | None = None, log=print) -> dict:
    """{path: executed notebook} for chapters with code; run only those whose key changed."""
    engine = engine_hash(book)
    result, todo = {}, []
    for path in paths:
        if not golden.has_code(path):
            continue
        key = chapter_key(path, engine if not book.is_appendix(path) else engine + book_hash(book))
        nb = _cached(book, path, key)
        if nb is not None:
            result[path] = nb
        else:
            todo.append((path, key))
    if not todo:
        return result
    workers = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
    log(f"execute: {', '.join(p.stem for p, _ in todo)} ({workers} at a time)")
    errors = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [(path, key, pool.submit(_run, str(book.root), str(path))) for path, key in todo]
        for path, key, future in futures:
            status, payload = future.result()
            if status == "error":
                errors.append(payload)
                continue
            nb = nbformat.reads(payload, as_version=4)
            nb.metadata.setdefault("booktools", {})["cache_key"] = key
            write_atomic(cache_path(book, path), convert.dumps(nb))
            _unfreeze(book, path)
            result[path] = nb
    if errors:
        raise BookError(None, None, "\n".join(errors))
    return result
