"""The engine as a wheel, for the published site (student notebooks install it from there).

pip builds it from a copy of ``pyproject.toml``, ``README.md`` and ``mlsysim/`` in a temporary
folder, so the wheel holds the engine only and nothing is written into the repository (an
in-tree build would leave ``build/`` and ``*.egg-info`` behind). Rebuilt only when the engine
or pyproject.toml changed.
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .errors import BookError
from .project import Book, write_atomic

IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc")


def _key(book: Book) -> str:
    h = hashlib.sha256()
    for f in sorted([*(book.root / "mlsysim").rglob("*"), book.root / "pyproject.toml", book.root / "README.md"]):
        if f.is_file() and "__pycache__" not in f.parts:
            h.update(f.relative_to(book.root).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def build(book: Book, out_dir: Path) -> Path | None:
    """Write the wheel into out_dir (skipped when one for the same sources is there);
    None for a book without an engine of its own (no mlsysim/ beside _quarto.yml)."""
    from .notebooks import wheel_name
    if not (book.root / "mlsysim" / "__init__.py").is_file() or not (book.root / "pyproject.toml").is_file():
        return None
    target = out_dir / wheel_name(book)
    stamp = out_dir / f".{target.name}.sha256"
    key = _key(book)
    if target.is_file() and stamp.is_file() and stamp.read_text() == key:
        return target
    with tempfile.TemporaryDirectory() as tmp:
        src, dist = Path(tmp) / "src", Path(tmp) / "dist"
        src.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(book.root / name, src / name)
        shutil.copytree(book.root / "mlsysim", src / "mlsysim", ignore=IGNORE)
        proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                               "--no-build-isolation", "--wheel-dir", str(dist), str(src)],
                              capture_output=True, text=True)
        built = list(dist.glob("mlsysim-*.whl"))
        if proc.returncode != 0 or len(built) != 1:
            raise BookError(book.root / "pyproject.toml", None,
                            f"building the engine wheel failed: {proc.stderr.strip()[-800:]}")
        write_atomic(target, built[0].read_bytes())
    write_atomic(stamp, key)
    return target
