"""`golden` in-process, with the kernel replaced by a stand-in: which chapters it runs, from which
folder, and that what it stores is the normalised notebook at tests/golden/<chapter>.ipynb.
(test_golden_check.py runs the real thing through the CLI, in a kernel; these run in milliseconds.)"""
from __future__ import annotations

import hashlib

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from booktools import golden
from booktools.project import Book

from booktest_support import replace_in


def _executed(nb):
    """What a run adds that a golden must not keep: timings, image bytes, machine paths."""
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    nb.metadata.setdefault("booktools", {})["cache_key"] = "k"
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.execution_count = 1
            cell.metadata["execution"] = {"iopub.status.busy": "2026-12-02T07:00:00"}
            cell.outputs = [new_output("display_data", data={"image/png": "iVBORw0KGgo", "text/plain": "<Figure>"},
                                       metadata={"image/png": {"width": 600}})]
    return nb


def test_run_chapter_runs_the_converted_chapter_from_its_own_folder(book_dir, monkeypatch):
    calls = []

    def execute(nb, cwd, root, source=None, allow_errors=False):
        calls.append({"nb": nb, "cwd": cwd, "root": root, "source": source, "allow_errors": allow_errors})
        return _executed(nb)

    monkeypatch.setattr(golden.execute, "execute", execute)
    path = book_dir / "tutorials" / "sample.qmd"
    nb = golden.run_chapter(Book(book_dir), path)
    (call,) = calls
    # cwd is the chapter's folder, as Quarto runs it (a chapter may read files next to it); errors are
    # located in the .qmd; a failing cell stops the run (allow_errors stays False)
    assert (call["cwd"], call["root"], call["source"], call["allow_errors"]) == (path.parent, book_dir, path, False)
    assert call["nb"] is nb
    # the golden names its chapter relative to the book, not by this machine's path
    assert nb.metadata["booktools"]["source"] == "tutorials/sample.qmd"
    # the notebook run is the chapter's: it records the hash of the .qmd text it was made from
    assert nb.metadata["booktools"]["source_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert nb.cells[0].id == "sample-000"


def test_write_golden_stores_the_normalised_run(book_dir, monkeypatch):
    monkeypatch.setattr(golden.execute, "execute", lambda nb, cwd, root, source=None: _executed(nb))
    target = golden.write_golden(Book(book_dir), book_dir / "tutorials" / "sample.qmd")
    assert target == book_dir / "tests" / "golden" / "sample.ipynb"
    stored = nbformat.read(target, as_version=4)
    code = [c for c in stored.cells if c.cell_type == "code"]
    assert code and all(c.outputs[0]["data"]["image/png"] == "<image/png omitted from golden>" for c in code)
    assert all("execution" not in c.metadata and c.outputs[0]["metadata"] == {} for c in code)
    assert "version" not in stored.metadata["language_info"] and "cache_key" not in stored.metadata["booktools"]


def test_main_stores_a_golden_for_each_chapter_with_code(book_dir, monkeypatch, capsys):
    from booktools import runner

    replace_in(book_dir / "_quarto.yml", "    - tutorials/sample.qmd\n", "    - tutorials/sample.qmd\n    - tutorials/other.qmd\n")
    (book_dir / "tutorials" / "other.qmd").write_text("---\ntitle: Other\n---\n\n```{python}\nx = 1\n```\n")
    asked = []

    def executed(book, paths, jobs=None, log=print):
        asked.append((book, list(paths)))
        return {p: _executed(nbformat.v4.new_notebook(cells=[new_code_cell("x = 1", id=f"{p.stem}-001")]))
                for p in paths}

    monkeypatch.setattr(runner, "executed", executed)
    book = Book(book_dir)
    sample, other = book_dir / "tutorials" / "sample.qmd", book_dir / "tutorials" / "other.qmd"
    assert golden.main(book, None) == 0
    # index.qmd has no code: no golden for it, and it is not run
    assert asked == [(book, [sample, other])]
    assert capsys.readouterr().out == ("golden: tutorials/sample.qmd -> tests/golden/sample.ipynb\n"
                                       "golden: tutorials/other.qmd -> tests/golden/other.ipynb\n")
    stored = nbformat.read(book_dir / "tests" / "golden" / "sample.ipynb", as_version=4)
    assert stored.cells[0].outputs[0]["data"]["image/png"] == "<image/png omitted from golden>"
    assert "cache_key" not in stored.metadata["booktools"]
    assert not (book_dir / "tests" / "golden" / "index.ipynb").exists()
    # naming a chapter runs only that one
    asked.clear()
    assert golden.main(book, ["other"]) == 0 and asked == [(book, [other])]


def test_main_reports_each_golden_as_soon_as_it_is_written(book_dir, monkeypatch):
    # a long run's progress reaches a pipe (a CI log) line by line, not all at the end
    import io
    import sys

    from booktools import runner

    monkeypatch.setattr(runner, "executed", lambda book, paths: {
        p: _executed(nbformat.v4.new_notebook(cells=[new_code_cell("x = 1")])) for p in paths})
    pipe = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BufferedWriter(pipe, buffer_size=1 << 16)))
    assert golden.main(Book(book_dir), None) == 0
    assert pipe.getvalue() == b"golden: tutorials/sample.qmd -> tests/golden/sample.ipynb\n"


def test_normalize_accepts_a_notebook_without_run_metadata():
    # a notebook nobody ran: no language_info, no booktools metadata, a markdown cell (no outputs)
    # and a code cell without execution metadata; papermill's run record is dropped too
    cell = new_code_cell("x", outputs=[new_output("stream", name="stdout", text="1\n")])
    nb = new_notebook(cells=[new_markdown_cell("# Title"), cell])
    nb.metadata["papermill"] = {"duration": 1.5}
    golden.normalize(nb)
    assert nb.metadata == {}
    assert nb.cells[0].source == "# Title" and nb.cells[1].outputs[0]["text"] == "1\n"


def test_has_code_counts_inline_values_as_code(tmp_path):
    page = tmp_path / "page.qmd"
    page.write_text("---\ntitle: P\n---\n\nNo code, `code` in prose only.\n")
    assert golden.has_code(page) is False
    page.write_text("---\ntitle: P\n---\n\nIt is `{python} 1 + 1` now.\n")
    assert golden.has_code(page) is True
    page.write_text("---\ntitle: P\n---\n\n```{python}\nx = 1\n```\n")
    assert golden.has_code(page) is True
