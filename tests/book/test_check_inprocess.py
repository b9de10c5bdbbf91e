"""`check` in-process and without a kernel: whether a golden is fresh and fully executed (the
golden here is the converted chapter with execution counts filled in, which is all check_golden
reads), how nbval's failures become errors at .qmd lines, and check.main's verdicts.

Lines of tests/book/fixtures/sample.qmd used below (by reading the file): cell sample-002 is the
markdown from line 17; sample-003 is the code block whose fence is line 22 (bandwidth on 23,
size on 24); sample-005 is the inline expression on line 29; sample-009 (`#| eval: false`, fence
line 60) is tagged skip-execution and never runs; sample-016 (line 98) is the last cell."""
from __future__ import annotations

import subprocess

import nbformat
import pytest

from booktools import check, convert, execute, qmd
from booktools.project import Book

from booktest_support import replace_in


def _write_golden(root, name="sample"):
    """The golden `booktools golden` would write, minus outputs: every code cell counted as run,
    except those tagged skip-execution (execute.py leaves those unrun)."""
    path = root / "tutorials" / f"{name}.qmd"
    nb = convert.to_notebook(qmd.parse(path), root)
    for cell in nb.cells:
        if cell.cell_type == "code" and "skip-execution" not in cell.metadata.get("tags", []):
            cell.execution_count = 1
    target = root / "tests" / "golden" / f"{name}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return path, target


@pytest.fixture
def book(book_dir):
    _write_golden(book_dir)
    return Book(book_dir)


def _check(book):
    return [(e.path, e.line, e.message) for e in check.check_golden(book, book.root / "tutorials" / "sample.qmd")]


REGEN = "run `python -m booktools golden sample`"


# ------------------------------------------------------------------------------- check_golden
def test_a_fresh_golden_passes_and_its_skipped_cell_need_not_run(book):
    # sample-009 is tagged skip-execution and has no execution count: that is not "unexecuted"
    assert _check(book) == []


def test_tag_order_is_not_a_change(book):
    target = book.root / "tests" / "golden" / "sample.ipynb"
    nb = nbformat.read(target, as_version=4)
    nb.cells[9].metadata["tags"] = list(reversed(nb.cells[9].metadata["tags"]))    # nbval-skip first
    nbformat.write(nb, target)
    assert _check(book) == []


def test_a_golden_whose_tags_differ_is_stale(book):
    # the same source with other tags (e.g. a cell moved into an instructor-only block gains
    # "solution"): the golden no longer shows what the .qmd does; sample-005 is on line 29
    target = book.root / "tests" / "golden" / "sample.ipynb"
    nb = nbformat.read(target, as_version=4)
    nb.cells[5].metadata["tags"] = ["inline-expression"]
    nbformat.write(nb, target)
    assert [(line, "is stale: cell sample-005 differs" in message) for _, line, message in _check(book)] == [(29, True)]
    # a code cell: its first code line, after the fence on 22
    nb.cells[5].metadata["tags"] = ["inline-expression", "hide-input"]
    nb.cells[3].metadata["tags"] = ["solution"]
    nbformat.write(nb, target)
    assert [(line, "is stale: cell sample-003 differs" in message) for _, line, message in _check(book)] == [(23, True)]


def test_a_missing_golden(book):
    (book.root / "tests" / "golden" / "sample.ipynb").unlink()
    src = book.root / "tutorials" / "sample.qmd"
    assert _check(book) == [(src, 1, f"no golden tests/golden/sample.ipynb; {REGEN}")]


def test_an_unreadable_golden_is_reported_not_raised(book):
    target = book.root / "tests" / "golden" / "sample.ipynb"
    target.write_text("{ not json")
    ((path, line, message),) = _check(book)
    assert (path, line) == (target, None)
    assert message.startswith("golden is not a readable notebook (") and message.endswith(REGEN)


@pytest.mark.parametrize("old, new, line", [
    ("size = 80e9 ", "size = 40e9 ", 24),               # code: fence 22 + 1 + second line (index 1)
    ("bandwidth = 3.35e12 ", "bandwidth = 3.5e12 ", 23),  # its first line
    ('f"{seconds * 1e3:.1f}"', 'f"{seconds * 1e3:.2f}"', 29),   # an inline value: no fence line
    ("How long does it", "How long will it", 19),      # markdown from 17: its third line
])
def test_a_stale_golden_is_reported_at_the_first_changed_line(book, old, new, line):
    src = book.root / "tutorials" / "sample.qmd"
    replace_in(src, old, new)
    ((path, at, message),) = _check(book)
    assert (path, at) == (src, line)
    assert "golden tests/golden/sample.ipynb is stale: cell sample-0" in message and message.endswith(REGEN)


def test_a_golden_with_cells_missing_or_extra(book):
    src = book.root / "tutorials" / "sample.qmd"
    target = book.root / "tests" / "golden" / "sample.ipynb"
    nb = nbformat.read(target, as_version=4)
    full = list(nb.cells)
    nb.cells = full[:-2]                   # 16 of 18 cells: the first missing one, sample-016, is at line 98
    nbformat.write(nb, target)
    assert _check(book) == [(src, 98, f"golden tests/golden/sample.ipynb is stale: the .qmd has 18 cells, "
                                      f"the golden 16; {REGEN}")]
    nb.cells = full + [nbformat.v4.new_markdown_cell("extra")]   # one cell more: reported at the last cell, 102
    nbformat.write(nb, target)
    assert _check(book) == [(src, 102, f"golden tests/golden/sample.ipynb is stale: the .qmd has 18 cells, "
                                       f"the golden 19; {REGEN}")]


def test_only_the_first_unexecuted_cell_is_reported_at_its_line(book):
    target = book.root / "tests" / "golden" / "sample.ipynb"
    nb = nbformat.read(target, as_version=4)
    nb.cells[3].execution_count = None     # sample-003, line 22
    nb.cells[8].execution_count = None
    nbformat.write(nb, target)
    assert _check(book) == [(book.root / "tutorials" / "sample.qmd", 22,
                             f"golden tests/golden/sample.ipynb has an unexecuted code cell sample-003; {REGEN}")]


# ------------------------------------------------------------------------------- run_nbval
def _fake_nbval(monkeypatch, returncode, stdout):
    calls = []

    def run(cmd, **kwargs):
        calls.append((cmd, kwargs))
        return subprocess.CompletedProcess(cmd, returncode, stdout, "")
    monkeypatch.setattr(check.subprocess, "run", run)
    return calls


def test_nbval_is_run_on_the_goldens_the_way_check_reads_it(book, monkeypatch):
    src = book.root / "tutorials" / "sample.qmd"
    gold = book.root / "tests" / "golden" / "sample.ipynb"
    calls = _fake_nbval(monkeypatch, 0, "")
    check.run_nbval(book, [(src, gold)])
    ((cmd, kwargs),) = calls
    assert cmd[:3] == [check.sys.executable, "-m", "pytest"] and cmd[-1] == str(gold)
    # "-rf" prints the FAILED lines run_nbval reads; "-vv" keeps pytest from shortening values;
    # outputs are compared after nbval_sanitize.cfg; a cell may take CELL_TIMEOUT (120) seconds;
    # the book's own pytest settings and conftest are not used; nothing is cached in the book
    for flag in ("--nbval", "-rf", "-vv", "--noconftest", "--nbval-kernel-name=python3", "--nbval-cell-timeout=120"):
        assert flag in cmd, flag
    assert cmd[cmd.index("--nbval-sanitize-with") + 1] == str(check.SANITIZE) and check.SANITIZE.is_file()
    assert cmd[cmd.index("--rootdir") + 1] == str(book.root)
    assert cmd[cmd.index("-o") + 1] == "addopts=" and cmd[cmd.index("-p") + 1] == "no:cacheprovider"
    # from the book's folder, in the kernels' environment (the engine from the book, the figure profile)
    assert kwargs["cwd"] == book.root and kwargs["env"] == execute.kernel_env(book.root)
    assert kwargs["capture_output"] is True and kwargs["text"] is True


def _failed(num, body):
    return f"___ tests/golden/sample.ipynb::Cell {num} ___\n{body}\n"


SUMMARY = "=========================== short test summary info ============================\n"


@pytest.mark.parametrize("at, line, shown", [
    (1, 23, "bandwidth = 3.35e12          # bytes per second"),   # fence 22 + line 1 of the cell
    (2, 24, "size = 80e9                  # bytes"),        # fence 22 + line 2
    (4, 26, 'print(f"{seconds * 1e3:.1f} ms")'),             # its last line (the cell has 4)
    (5, 22, "bandwidth = 3.35e12          # bytes per second"),   # not a line of this cell: its first
])
def test_a_raising_cell_is_reported_at_the_raising_line(book, monkeypatch, at, line, shown):
    src, gold = book.root / "tutorials" / "sample.qmd", book.root / "tests" / "golden" / "sample.ipynb"
    # code cell 1 (counting from 0: sample-001, sample-003, ...) is sample-003 (fence 22)
    out = (_failed(1, f"Cell In[3], line {at}\n      1 bandwidth = 3.35e12\n----> {at} x\n\nNameError: x")
           + SUMMARY + "FAILED tests/golden/sample.ipynb::Cell 1 - Notebook cell execution failed\n")
    _fake_nbval(monkeypatch, 1, "\x1b[31m" + out)
    errors, output = check.run_nbval(book, [(src, gold)])
    assert [(e.path, e.line, e.message) for e in errors] == [
        (src, line, f"nbval: cell sample-003 changed (raised NameError: x): {shown}")]
    assert output == out                                  # colours removed


def test_the_source_shown_is_one_line_of_at_most_120_characters(book, monkeypatch):
    src, gold = book.root / "tutorials" / "sample.qmd", book.root / "tests" / "golden" / "sample.ipynb"
    nb = nbformat.read(gold, as_version=4)
    long_line = "x = '" + "a" * 130 + "'"
    nb.cells[3].source = long_line + "\ny = 2"
    nb.cells[5].source = ""                               # an empty cell: nothing to show
    nbformat.write(nb, gold)
    out = SUMMARY + "FAILED tests/golden/sample.ipynb::Cell 1\nFAILED tests/golden/sample.ipynb::Cell 2\n"
    _fake_nbval(monkeypatch, 1, out)
    errors, _ = check.run_nbval(book, [(src, gold)])
    assert [e.message for e in errors] == [f"nbval: cell sample-003 changed (output differs): {long_line[:120]}",
                                           "nbval: cell sample-005 changed (output differs)"]


def test_a_changed_output_is_reported_at_the_cells_first_code_line(book, monkeypatch):
    src, gold = book.root / "tutorials" / "sample.qmd", book.root / "tests" / "golden" / "sample.ipynb"
    # code cell 5 is sample-008 (fence 49), whose first lines are #| options: the first code line is shown
    out = (_failed(5, " mismatch 'text/plain'\n") + SUMMARY + "FAILED tests/golden/sample.ipynb::Cell 5\n")
    _fake_nbval(monkeypatch, 1, out)
    ((error,), _) = check.run_nbval(book, [(src, gold)])
    cell = nbformat.read(gold, as_version=4).cells[8]
    first_code = next(l for l in cell.source.splitlines() if not l.startswith("#|")).strip()
    assert (error.path, error.line) == (src, 49)
    assert error.message == f"nbval: cell sample-008 changed (text/plain output differs): {first_code}"


def test_an_inline_value_is_reported_at_its_own_line(book, monkeypatch):
    src, gold = book.root / "tutorials" / "sample.qmd", book.root / "tests" / "golden" / "sample.ipynb"
    # code cell 2 is the inline sample-005 (line 29): a raising line inside it does not move the line
    out = (_failed(2, "----> 1 f()\nZeroDivisionError: division by zero") + SUMMARY
           + "FAILED tests/golden/sample.ipynb::Cell 2\n")
    _fake_nbval(monkeypatch, 1, out)
    ((error,), _) = check.run_nbval(book, [(src, gold)])
    assert (error.line, error.message) == (29, "nbval: cell sample-005 changed (raised ZeroDivisionError: "
                                               'division by zero): f"{seconds * 1e3:.1f}"')


def test_a_failure_check_cannot_place_still_fails(book, monkeypatch):
    src, gold = book.root / "tutorials" / "sample.qmd", book.root / "tests" / "golden" / "sample.ipynb"
    # cell 12 does not exist (the golden has 12 code cells, 0 to 11); other.ipynb is not a golden we ran
    out = SUMMARY + "FAILED tests/golden/sample.ipynb::Cell 12\nFAILED tests/golden/other.ipynb::Cell 0\n"
    _fake_nbval(monkeypatch, 1, out)
    errors, _ = check.run_nbval(book, [(src, gold)])
    assert [(e.path, e.line, e.message) for e in errors] == [
        (src, None, "nbval: code cell 12 changed (output differs)"),
        (None, None, "nbval: code cell 0 changed (output differs)")]


# ------------------------------------------------------------------------------- main
def test_main_ok_and_what_it_checked(book, monkeypatch, capsys):
    calls = _fake_nbval(monkeypatch, 0, "1 passed\n")
    assert check.main(book, None) == 0
    ((cmd, _),) = calls
    assert cmd[-1] == str(book.root / "tests" / "golden" / "sample.ipynb")      # index.qmd has no code
    out = capsys.readouterr()
    assert out.out == "check: ok (index, sample; 1 golden(s) re-run with nbval)\n" and out.err == ""


def test_main_prints_nbvals_output_and_each_error(book, monkeypatch, capsys):
    out = (_failed(1, "----> 2 size = 80e9\nNameError: x") + SUMMARY + "FAILED tests/golden/sample.ipynb::Cell 1\n")
    _fake_nbval(monkeypatch, 1, out)
    assert check.main(book, ["sample"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(out)                            # nbval's own report first, for the details
    # an error with a file is printed as file:line: message (only one without a file says "error:")
    assert f"\n{book.root / 'tutorials' / 'sample.qmd'}:24: nbval: cell sample-003 changed (raised NameError: x)" in err
    assert err.endswith("check: 1 error(s) in sample\n")


def test_main_reports_a_run_failure_without_a_file(book, monkeypatch, capsys):
    _fake_nbval(monkeypatch, 4, "ERROR: file or directory not found\n")
    assert check.main(book, ["sample"]) == 1
    assert "error: nbval could not run (exit 4)\n" in capsys.readouterr().err


def test_main_without_nbval_runs_no_nbval(book, monkeypatch, capsys):
    calls = _fake_nbval(monkeypatch, 1, "")
    assert check.main(book, ["sample"], nbval=False) == 0 and calls == []
    assert capsys.readouterr().out == "check: ok (sample; 1 golden(s) re-run with nbval)\n"


def test_main_lints_only_the_chapters_named(book, monkeypatch, capsys):
    _fake_nbval(monkeypatch, 0, "")
    replace_in(book.root / "index.qmd", "starting at @sec-question", "at 12 ms")   # an unbound number
    assert check.main(book, ["sample"]) == 0
    assert check.main(book, None) == 1
    assert "index.qmd:5: number in prose '12 ms'" in capsys.readouterr().err


def test_main_checks_the_printed_answers_of_a_fresh_golden(book, monkeypatch, capsys):
    # the exercise sample/read-time's answer is 40 / 3.35 = 11.94 (ms); printed on the page, it fails
    from mlsysim.exercises import REGISTRY, Exercise

    _fake_nbval(monkeypatch, 0, "")
    gold = book.root / "tests" / "golden" / "sample.ipynb"
    nb = nbformat.read(gold, as_version=4)
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", name="stdout", text="11.94 ms\n")]
    nbformat.write(nb, gold)
    dict.__setitem__(REGISTRY, "sample/read-time", Exercise("sample/read-time", lambda: 40 / 3.35))
    try:
        assert check.main(book, ["sample"]) == 1
    finally:
        dict.__delitem__(REGISTRY, "sample/read-time")
    assert "exercise sample/read-time: its answer (11.94) is printed on the page" in capsys.readouterr().err


def test_main_reports_a_stray_golden(book, monkeypatch, capsys):
    _fake_nbval(monkeypatch, 0, "")
    stray = book.root / "tests" / "golden" / "gone.ipynb"
    stray.write_text((book.root / "tests" / "golden" / "sample.ipynb").read_text())
    assert check.main(book, None) == 1
    err = capsys.readouterr().err
    assert f"{stray}: golden of a chapter that is not in _quarto.yml; delete it\n" in err
    assert err.endswith("check: 1 error(s) in index, sample\n")


def test_main_gives_nbval_no_stale_golden(book, monkeypatch, capsys):
    calls = _fake_nbval(monkeypatch, 0, "")
    replace_in(book.root / "tutorials" / "sample.qmd", "size = 80e9 ", "size = 40e9 ")
    assert check.main(book, ["sample"]) == 1
    assert calls == []                                    # the only golden is stale: nothing to re-run
    err = capsys.readouterr().err
    assert "tutorials/sample.qmd:24: golden tests/golden/sample.ipynb is stale" in err


def test_main_of_a_book_without_chapters(book_dir, monkeypatch, capsys):
    _fake_nbval(monkeypatch, 0, "")
    replace_in(book_dir / "_quarto.yml", "  chapters:\n    - index.qmd\n    - tutorials/sample.qmd\n", "  chapters: []\n")
    (book_dir / "tutorials" / "sample.qmd").unlink()
    assert check.main(Book(book_dir), None) == 0
    assert capsys.readouterr().out == "check: ok (no chapters; 0 golden(s) re-run with nbval)\n"


def test_each_failed_cell_gets_the_reason_from_its_own_section(book, monkeypatch):
    src, gold = book.root / "tutorials" / "sample.qmd", book.root / "tests" / "golden" / "sample.ipynb"
    out = (_failed(1, "NameError: x") + _failed(2, " mismatch 'text/plain'") + SUMMARY
           + "FAILED tests/golden/sample.ipynb::Cell 1\nFAILED tests/golden/sample.ipynb::Cell 2\n")
    _fake_nbval(monkeypatch, 1, out)
    errors, _ = check.run_nbval(book, [(src, gold)])
    assert [e.message.split(":")[1] for e in errors] == [" cell sample-003 changed (raised NameError",
                                                         " cell sample-005 changed (text/plain output differs)"]


def test_a_golden_cell_without_booktools_metadata_is_reported_without_a_line(book, monkeypatch):
    # a golden edited by hand (or made by another tool) may lack the cells' .qmd lines
    src, gold = book.root / "tutorials" / "sample.qmd", book.root / "tests" / "golden" / "sample.ipynb"
    nb = nbformat.read(gold, as_version=4)
    del nb.cells[3].metadata["booktools"]
    nb.cells[5].source = "#| echo: false"          # only options, no code: the first line is shown
    nbformat.write(nb, gold)
    out = (_failed(1, "----> 2 size = 80e9\nNameError: x") + _failed(2, "") + SUMMARY
           + "FAILED tests/golden/sample.ipynb::Cell 1\nFAILED tests/golden/sample.ipynb::Cell 2\n")
    _fake_nbval(monkeypatch, 1, out)
    errors, _ = check.run_nbval(book, [(src, gold)])
    assert [(e.line, e.message) for e in errors] == [
        (None, "nbval: cell sample-003 changed (raised NameError: x): size = 80e9                  # bytes"),
        (29, "nbval: cell sample-005 changed (output differs): #| echo: false")]


def test_a_golden_without_booktools_metadata(book):
    # a notebook made by another tool: no record of the .qmd it came from, and no .qmd lines
    src, target = book.root / "tutorials" / "sample.qmd", book.root / "tests" / "golden" / "sample.ipynb"
    nb = nbformat.read(target, as_version=4)
    del nb.metadata["booktools"]
    nbformat.write(nb, target)
    assert _check(book) == [(src, 1, "golden tests/golden/sample.ipynb is stale: the .qmd changed since it was "
                                     f"made; {REGEN}")]
    _write_golden(book.root)
    nb = nbformat.read(target, as_version=4)
    nb.cells[3].execution_count = None
    del nb.cells[3].metadata["booktools"]
    nbformat.write(nb, target)
    assert _check(book) == [(src, None, f"golden tests/golden/sample.ipynb has an unexecuted code cell sample-003; "
                                        f"{REGEN}")]
