"""Where things are: the book root, its chapter list (from _quarto.yml) and output paths."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml

from .errors import BookError

CONFIG = "_quarto.yml"


class Book:
    """A Quarto book on disk. The chapter order lives only in ``_quarto.yml``."""

    def __init__(self, root: Path | str | None = None):
        root = Path(root) if root else find_root(Path.cwd())
        self.root = root.resolve()
        self.config_path = self.root / CONFIG
        try:
            self.config = yaml.safe_load(self.config_path.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise BookError(self.config_path, None, "no _quarto.yml: not a book directory")
        except yaml.YAMLError as exc:
            raise BookError(self.config_path, None, f"not valid YAML: {exc}")

    # --- chapter list -------------------------------------------------------------
    def listed(self) -> list[tuple[str, int]]:
        """Chapter files listed under book.chapters (parts flattened), then book.appendices
        (Quarto's appendix pages, e.g. the course map), with their line."""
        book = self.config.get("book") or {}
        chapters = list(book.get("chapters") or []) + list(book.get("appendices") or [])
        out: list[str] = []

        def walk(items):
            for item in items:
                if isinstance(item, str):
                    out.append(item)
                elif isinstance(item, dict):
                    if "href" in item:
                        out.append(item["href"])
                    if isinstance(item.get("part"), str) and item["part"].endswith(".qmd"):
                        out.append(item["part"])
                    walk(item.get("chapters") or [])
        walk(chapters)
        lines = self.config_path.read_text(encoding="utf-8").splitlines()
        return [(f, next((n for n, l in enumerate(lines, 1) if f in l), 1)) for f in out]

    def appendix_paths(self) -> list[Path]:
        """Pages listed under book.appendices. They are pages of the book website (checked,
        previewed, given a golden when they run code) but reference pages built from the
        repository, not chapters: no chapter number, no notebook edition, no notebook links."""
        files = [f if isinstance(f, str) else (f or {}).get("href")
                 for f in (self.config.get("book") or {}).get("appendices") or []]
        return [self.root / f for f in files if f and (self.root / f).is_file()]

    def is_appendix(self, path: Path) -> bool:
        return Path(path).resolve() in {p.resolve() for p in self.appendix_paths()}

    def chapter_paths(self) -> list[Path]:
        """Listed chapters that exist, in book order."""
        return [self.root / f for f, _ in self.listed() if (self.root / f).is_file()]

    def chapter(self, name: str) -> Path:
        """Find a listed chapter by name (file stem) or path."""
        for path in self.chapter_paths():
            if name in (path.stem, path.name, str(path.relative_to(self.root))):
                return path
        names = ", ".join(p.stem for p in self.chapter_paths()) or "none"
        raise BookError(None, None, f"unknown chapter {name!r}; chapters in _quarto.yml: {names}")

    def select(self, names: list[str] | None) -> list[Path]:
        return [self.chapter(n) for n in names] if names else self.chapter_paths()

    # --- paths -----------------------------------------------------------------------
    @property
    def bibliography(self) -> Path:
        bib = self.config.get("bibliography") or "references.bib"
        return self.root / (bib[0] if isinstance(bib, list) else bib)

    def golden(self, chapter: Path) -> Path:
        return self.root / "tests" / "golden" / f"{chapter.stem}.ipynb"

    @property
    def build_dir(self) -> Path:
        return self.root / "_build"

    def rel(self, path: Path) -> str:
        try:
            return str(Path(path).resolve().relative_to(self.root))
        except ValueError:
            return str(path)


def find_root(start: Path) -> Path:
    for d in [start, *start.resolve().parents]:
        if (d / CONFIG).is_file():
            return d
    raise BookError(None, None, f"no {CONFIG} in {start} or any parent: run from inside the book")


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write via a temporary file in the same directory and os.replace, so a crash
    never leaves half a file and readers see either the old or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": "\n"})) as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
