"""build and notebooks: everything lands in _build/, student notebooks have no solutions,
and a second build with nothing changed runs nothing."""
from __future__ import annotations

import nbformat

from booktest_support import booktools


def test_build_writes_preview_and_notebooks(book_dir):
    result = booktools(book_dir, "build")
    assert result.returncode == 0, result.stderr
    assert "execute: sample" in result.stdout
    assert "running over TCP" not in result.stdout + result.stderr     # the kernel's warning is noise here
    build = book_dir / "_build"
    for path in ("ipynb/sample.ipynb", "executed/sample.ipynb", "preview/index.html", "preview/sample.html",
                 "preview-instructor/sample.html", "notebooks/student/sample.ipynb",
                 "notebooks/instructor/sample.ipynb", "preview/notebooks/student/sample.ipynb",
                 "preview-instructor/notebooks/instructor/sample.ipynb"):
        assert (build / path).is_file(), path
    assert not (build / "preview" / "notebooks" / "instructor").exists()      # solutions stay off the student site
    assert not (build / "notebooks" / "student" / "index.ipynb").exists()     # nothing to run in the preface
    student = nbformat.read(build / "notebooks" / "student" / "sample.ipynb", as_version=4)
    instructor = nbformat.read(build / "notebooks" / "instructor" / "sample.ipynb", as_version=4)
    nbformat.validate(student)
    assert "Solution." not in "".join(c.source for c in student.cells)
    assert "Solution." in "".join(c.source for c in instructor.cells)
    setup = student.cells[1]
    assert setup.cell_type == "code" and 'find_spec(module)' in setup.source
    assert "https://example.org/fixture-book/wheels/mlsysim-" in setup.source
    executed = nbformat.read(build / "executed" / "sample.ipynb", as_version=4)
    assert any(o.get("data", {}).get("image/png", "").startswith("iVBOR")      # images kept outside goldens
               for c in executed.cells for o in c.get("outputs", []))
    assert any(o.get("data", {}).get("image/png", "").startswith("iVBOR")      # and shipped in the notebooks
               for c in student.cells for o in c.get("outputs", []))
    assert not list(book_dir.rglob("*.qmd.*")) and (book_dir / "tutorials" / "sample.qmd").read_text().startswith("---")

    again = booktools(book_dir, "build")
    assert again.returncode == 0, again.stderr
    assert "execute:" not in again.stdout and "build: nothing changed" in again.stdout, again.stdout
    frozen = book_dir / "_freeze" / "tutorials" / "sample" / "execute-results"
    frozen.mkdir(parents=True)
    (frozen / "html.json").write_text("{}")                 # Quarto's freeze of the old text
    (book_dir / "tutorials" / "sample.qmd").write_text(
        (book_dir / "tutorials" / "sample.qmd").read_text().replace("How long does", "How long, then, does"))
    third = booktools(book_dir, "build")
    assert third.returncode == 0 and "execute: sample" in third.stdout, third.stdout + third.stderr
    assert "How long, then, does" in (build / "preview" / "sample.html").read_text()
    assert not frozen.exists(), "the chapter changed: its Quarto freeze must go so quarto render re-runs it"


def test_student_notebook_runs(book_dir):
    """The student notebook, setup cell included, runs top to bottom in a fresh kernel, and its
    live paragraphs say what the build put in them."""
    from booktools import execute
    from booktools.project import Book
    assert booktools(book_dir, "notebooks").returncode == 0
    path = book_dir / "_build" / "notebooks" / "student" / "sample.ipynb"
    nb = nbformat.read(path, as_version=4)
    built = {c.id: c.outputs for c in nb.cells if "prose" in c.metadata.get("tags", [])}
    assert built and all(outs for outs in built.values())
    execute.execute(nb, cwd=path.parent, root=Book(book_dir).root, source=path)
    assert nb.cells[1].metadata["tags"] == ["setup"] and nb.cells[1].execution_count == 1
    for cell in nb.cells:
        if cell.id in built:
            assert cell.outputs[0]["data"]["text/markdown"] == built[cell.id][0]["data"]["text/markdown"]
