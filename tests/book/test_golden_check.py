"""golden determinism, and check catching stale/unexecuted goldens and nbval drift."""
from __future__ import annotations

import json

import nbformat
import pytest

from booktools import check
from booktools.project import Book

from booktest_support import booktools, replace_in


@pytest.fixture
def golden_book(book_dir):
    result = booktools(book_dir, "golden")
    assert result.returncode == 0, result.stderr
    return book_dir


def test_golden_is_byte_identical_when_regenerated(golden_book):
    target = golden_book / "tests" / "golden" / "sample.ipynb"
    first = target.read_bytes()
    assert booktools(golden_book, "golden", "sample").returncode == 0
    assert target.read_bytes() == first
    assert not (golden_book / "tests" / "golden" / "index.ipynb").exists()   # no code, no golden


def test_golden_has_outputs_but_no_timings_or_image_bytes(golden_book):
    nb = json.loads((golden_book / "tests" / "golden" / "sample.ipynb").read_text())
    text = json.dumps(nb)
    assert "iVBORw0KGgo" not in text                      # PNG payload
    assert "<image/png omitted from golden>" in text
    assert '"execution"' not in text and "iopub" not in text
    assert "version" not in nb["metadata"]["language_info"]
    assert nb["metadata"]["booktools"]["source_sha256"]
    outputs = {c["id"]: c.get("outputs") for c in nb["cells"]}
    assert outputs["sample-005"][0]["data"]["text/plain"] == ["'23.9'"]   # inline expression value
    assert not [f for f in golden_book.rglob(".*.tmp")]                  # atomic writes left nothing


def test_check_passes_on_fresh_golden(golden_book):
    result = booktools(golden_book, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check: ok" in result.stdout


def test_check_names_file_and_line_of_a_stale_golden(golden_book):
    replace_in(golden_book / "tutorials" / "sample.qmd", "size = 80e9 ", "size = 40e9 ")
    result = booktools(golden_book, "check", "--no-nbval")
    assert result.returncode == 1
    assert "tutorials/sample.qmd:24: golden tests/golden/sample.ipynb is stale" in result.stderr
    assert "python -m booktools golden sample" in result.stderr


def test_check_catches_a_prose_only_change(golden_book):
    replace_in(golden_book / "tutorials" / "sample.qmd", "How long does it", "How long will it")
    errors = check.check_golden(Book(golden_book), golden_book / "tutorials" / "sample.qmd")
    assert [(e.line, "stale" in e.message) for e in errors] == [(19, True)]


def test_check_rejects_unexecuted_golden(golden_book):
    path = golden_book / "tests" / "golden" / "sample.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[3].execution_count = None
    nbformat.write(nb, path)
    errors = check.check_golden(Book(golden_book), golden_book / "tutorials" / "sample.qmd")
    assert len(errors) == 1 and "unexecuted code cell sample-003" in errors[0].message
    assert errors[0].line == 22


def test_check_reports_nbval_failure_with_chapter_and_cell(golden_book):
    path = golden_book / "tests" / "golden" / "sample.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[5].outputs[0]["data"]["text/plain"] = "'99.9'"      # the inline value moved
    nbformat.write(nb, path)
    result = booktools(golden_book, "check")
    assert result.returncode == 1
    assert ("tutorials/sample.qmd:29: nbval: cell sample-005 changed (golden \"'99.9'\", now \"'23.9'\")"
            in result.stderr), result.stderr


def test_missing_golden_and_unknown_chapter(book_dir):
    result = booktools(book_dir, "check", "--no-nbval")
    assert result.returncode == 1 and "no golden tests/golden/sample.ipynb" in result.stderr
    result = booktools(book_dir, "golden", "nope")
    assert result.returncode == 2 and "unknown chapter 'nope'" in result.stderr
    assert "Traceback" not in result.stderr


def test_golden_reports_a_failing_cell_with_its_line(book_dir):
    replace_in(book_dir / "tutorials" / "sample.qmd", "seconds = size / bandwidth", "seconds = size / nothing")
    result = booktools(book_dir, "golden")
    assert result.returncode == 2
    assert "tutorials/sample.qmd:25: cell sample-003 raised" in result.stderr and "NameError" in result.stderr
    assert not (book_dir / "tests" / "golden" / "sample.ipynb").exists()


def test_solutions_pass_their_own_checks(golden_book):
    result = booktools(golden_book, "solutions")
    assert result.returncode == 0, result.stderr
    assert "1 exercise(s) correct" in result.stdout
    replace_in(golden_book / "tutorials" / "sample.qmd", "answer = 40 / 3.35", "answer = 40 * 3.35")
    result = booktools(golden_book, "solutions")
    assert result.returncode == 1 and "solution of sample/read-time" in result.stderr
