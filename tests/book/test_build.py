"""build and notebooks: everything lands in _build/, student notebooks have no solutions."""
from __future__ import annotations

import nbformat

from booktest_support import booktools


def test_build_writes_preview_and_notebooks(book_dir):
    result = booktools(book_dir, "build")
    assert result.returncode == 0, result.stderr
    build = book_dir / "_build"
    for path in ("ipynb/sample.ipynb", "executed/sample.ipynb", "preview/index.html", "preview/sample.html",
                 "preview-instructor/sample.html", "notebooks/student/sample.ipynb",
                 "notebooks/instructor/sample.ipynb"):
        assert (build / path).is_file(), path
    assert not (build / "notebooks" / "student" / "index.ipynb").exists()     # nothing to run in the preface
    student = nbformat.read(build / "notebooks" / "student" / "sample.ipynb", as_version=4)
    instructor = nbformat.read(build / "notebooks" / "instructor" / "sample.ipynb", as_version=4)
    nbformat.validate(student)
    assert "Solution." not in "".join(c.source for c in student.cells)
    assert "Solution." in "".join(c.source for c in instructor.cells)
    setup = student.cells[2]
    assert setup.cell_type == "code" and "find_spec(\"mlsysim\")" in setup.source and "%pip install" in setup.source
    executed = nbformat.read(build / "executed" / "sample.ipynb", as_version=4)
    assert any(o.get("data", {}).get("image/png", "").startswith("iVBOR")      # images kept outside goldens
               for c in executed.cells for o in c.get("outputs", []))
    assert not list(book_dir.rglob("*.qmd.*")) and (book_dir / "tutorials" / "sample.qmd").read_text().startswith("---")


def test_student_notebook_runs(book_dir):
    """The student notebook, setup cell included, runs top to bottom in a fresh kernel."""
    from booktools import execute, notebooks
    from booktools.project import Book
    assert booktools(book_dir, "notebooks").returncode == 0
    path = book_dir / "_build" / "notebooks" / "student" / "sample.ipynb"
    nb = nbformat.read(path, as_version=4)
    execute.execute(nb, cwd=path.parent, root=Book(book_dir).root, source=path)
    assert nb.cells[2].id == "setup-install" and nb.cells[2].execution_count == 1
    assert notebooks.INSTALL_TARGET in nb.cells[2].source
