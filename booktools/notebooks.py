"""Student and instructor notebooks in _build/notebooks/{student,instructor}/.

Student notebooks drop every cell tagged ``solution`` and start with a cell that
installs the engine when it is missing (a hosted notebook service starts empty).
"""
from __future__ import annotations

import copy
import os
from pathlib import Path

from nbformat.v4 import new_code_cell, new_markdown_cell

from . import convert, golden, qmd
from .project import Book, write_atomic

# Where hosted notebooks install the engine from: the one place to change it.
# Override per build with the MLSYSIM_INSTALL environment variable.
INSTALL_TARGET = os.environ.get(
    "MLSYSIM_INSTALL", "mlsysim @ git+https://github.com/OWNER/REPO.git")

SETUP = '''# Setup: makes `import mlsysim` work. Does nothing where the engine is installed;
# inside a clone of the book it installs the clone; elsewhere (e.g. a hosted notebook
# service) it installs {target!r}.
import importlib.util, pathlib, sys
if "google.colab" in sys.modules or importlib.util.find_spec("mlsysim") is None:
    _here = pathlib.Path.cwd()
    _clone = next((p for p in [_here, *_here.parents] if (p / "mlsysim" / "__init__.py").is_file()), None)
    _target = str(_clone) if _clone and "google.colab" not in sys.modules else {target!r}
    %pip install --quiet "{{_target}}"'''


def setup_cell(target: str = INSTALL_TARGET):
    cell = new_code_cell(SETUP.format(target=target))
    cell.id = "setup-install"
    cell.metadata["tags"] = ["setup", "nbval-skip"]
    return cell


def student(nb):
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if "solution" not in c.metadata.get("tags", [])]
    return nb


def for_reader(nb, edition: str, target: str = INSTALL_TARGET):
    """Put the setup cell after the front matter, and a note saying which edition this is."""
    nb = student(nb) if edition == "student" else copy.deepcopy(nb)
    note = new_markdown_cell(
        f"*{edition.capitalize()} notebook of* **{nb.metadata['booktools']['front_matter'].get('title', nb.metadata['booktools']['chapter'])}**. "
        + ("Check your answers with the `check(...)` cells; worked solutions are in the instructor edition."
           if edition == "student" else "Worked solutions are included (cells tagged `solution`)."))
    note.id = f"edition-{edition}"
    first = 1 if nb.cells and nb.cells[0].cell_type == "raw" else 0
    nb.cells[first:first] = [note, setup_cell(target)]
    return nb


def main(book: Book, names: list[str] | None, out: Path | None = None) -> int:
    out = out or book.build_dir / "notebooks"
    for path in book.select(names):
        if not golden.has_code(path):      # e.g. the preface: nothing to run
            continue
        nb = convert.to_notebook(qmd.parse(path), book.root)
        for edition in ("student", "instructor"):
            target = out / edition / f"{path.stem}.ipynb"
            write_atomic(target, convert.dumps(for_reader(nb, edition)))
    print(f"notebooks: {book.rel(out)}/student/ and {book.rel(out)}/instructor/")
    return 0
