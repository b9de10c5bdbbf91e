"""The pipeline's safety nets, each tested directly and in-process: a check that cannot fail is
worse than none. `check` fails when nbval's output cannot be read, when a golden's .qmd hash does
not match, and when a figure's data moved; a chapter whose claim no longer holds does not run."""
from __future__ import annotations

import json
import subprocess

import nbformat
import pytest

from booktools import check, figures
from booktools.project import Book

from booktest_support import booktools, replace_in


@pytest.fixture
def golden_book(book_dir):
    result = booktools(book_dir, "golden")
    assert result.returncode == 0, result.stderr
    return book_dir


def _sample(book_dir):
    return book_dir / "tutorials" / "sample.qmd", book_dir / "tests" / "golden" / "sample.ipynb"


# ------------------------------------------------------------------------------- nbval's output
def _fake_nbval(monkeypatch, returncode, stdout):
    calls = []

    def run(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, returncode, stdout, "")
    monkeypatch.setattr(check.subprocess, "run", run)
    return calls


@pytest.mark.parametrize("returncode, stdout", [
    (1, "nbval 99 printed something new\n1 failed\n"),     # failed, but no line we can read
    (2, "ERROR: usage: pytest [options]\n"),                 # pytest could not start
    (3, "INTERNALERROR> ...\n"),
    (4, "ERROR: file or directory not found\n"),
    (5, "no tests ran\n"),                                   # nothing collected is not a pass
])
def test_check_fails_when_nbval_output_cannot_be_read(book_dir, monkeypatch, returncode, stdout):
    src, gold = _sample(book_dir)
    calls = _fake_nbval(monkeypatch, returncode, stdout)
    errors, output = check.run_nbval(Book(book_dir), [(src, gold)])
    assert calls and "--nbval" in calls[0] and str(gold) in calls[0]
    assert [e.message for e in errors] == [f"nbval could not run (exit {returncode})"]
    assert output == stdout


def test_check_passes_only_on_nbval_success(book_dir, monkeypatch):
    src, gold = _sample(book_dir)
    _fake_nbval(monkeypatch, 0, "1 passed\n")
    assert check.run_nbval(Book(book_dir), [(src, gold)]) == ([], "1 passed\n")
    assert check.run_nbval(Book(book_dir), []) == ([], "")


def test_a_readable_nbval_failure_names_the_cell_not_a_run_failure(golden_book, monkeypatch):
    src, gold = _sample(golden_book)
    code = [c for c in nbformat.read(gold, as_version=4).cells if c.cell_type == "code"]
    failed = (f"___ tests/golden/sample.ipynb::Cell 1 ___\n"
              "reference_output == test_output failed:\n"
              "  '23.9 ms' == '24.1 ms'\n"
              "=== short test summary info ===\n"
              "FAILED tests/golden/sample.ipynb::Cell 1\n")
    _fake_nbval(monkeypatch, 1, failed)
    errors, _ = check.run_nbval(Book(golden_book), [(src, gold)])
    assert len(errors) == 1
    assert errors[0].path == src and errors[0].line == code[1].metadata["booktools"]["line"]
    assert errors[0].message.startswith(f"nbval: cell {code[1].id} changed (golden '23.9 ms', now '24.1 ms')")


# ------------------------------------------------------------------------------- the .qmd hash
def test_golden_hash_check_catches_a_qmd_change_no_cell_shows(golden_book):
    src, gold = _sample(golden_book)
    assert check.check_golden(Book(golden_book), src) == []
    # a trailing blank line changes no cell, only the file: only the hash can tell
    src.write_text(src.read_text() + "\n\n")
    errors = check.check_golden(Book(golden_book), src)
    assert [(e.line, e.message) for e in errors] == [
        (1, "golden tests/golden/sample.ipynb is stale: the .qmd changed since it was made; "
            "run `python -m booktools golden sample`")]


def test_golden_hash_check_catches_a_tampered_golden(golden_book):
    src, gold = _sample(golden_book)
    nb = nbformat.read(gold, as_version=4)
    nb.metadata["booktools"]["source_sha256"] = "0" * 64
    nbformat.write(nb, gold)
    errors = check.check_golden(Book(golden_book), src)
    assert len(errors) == 1 and "the .qmd changed since it was made" in errors[0].message
    del nb.metadata["booktools"]["source_sha256"]
    nbformat.write(nb, gold)
    assert "the .qmd changed since it was made" in check.check_golden(Book(golden_book), src)[0].message


# ------------------------------------------------------------------------------- claims
def test_a_claim_that_no_longer_holds_stops_the_chapter(book_dir):
    # the fixture's claims call the real mlsysim.exercises.claim; a stated $3M against $4M is 33% off
    src, _ = _sample(book_dir)
    assert "from mlsysim.exercises import claim" in src.read_text()
    replace_in(src, 'claim("title: $3M", value=3.1e6', 'claim("title: $3M", value=4e6')
    result = booktools(book_dir, "golden")
    assert result.returncode == 2
    assert "tutorials/sample.qmd:" in result.stderr and "ClaimError" in result.stderr
    assert "claim 'title: $3M' no longer holds" in result.stderr


# ------------------------------------------------------------------------------- figures
def test_golden_records_the_data_each_figure_plots(golden_book):
    _, gold = _sample(golden_book)
    nb = nbformat.read(gold, as_version=4)
    shown = [o for c in nb.cells for o in c.get("outputs", []) if figures.MIME in o.get("data", {})]
    assert len(shown) == 1
    data = json.loads(shown[0]["data"][figures.MIME])
    # the fixture plots read time against size: (40, 80) GB -> 40 / 3.35 = 11.94 ms, 80 / 3.35 = 23.88 ms
    assert data["axes"][0]["lines"] == [{"label": "", "x": [40.0, 80.0], "y": [11.94, 23.88]}]
    assert shown[0]["data"]["image/png"] == "<image/png omitted from golden>"


def test_check_fails_when_a_figure_moved(golden_book):
    src, gold = _sample(golden_book)
    nb = nbformat.read(gold, as_version=4)
    cell = next(c for c in nb.cells for o in c.get("outputs", []) if figures.MIME in o.get("data", {}))
    output = next(o for o in cell.outputs if figures.MIME in o.get("data", {}))
    output["data"][figures.MIME] = output["data"][figures.MIME].replace("23.88", "25.07")   # the curve moved
    nbformat.write(nb, gold)
    result = booktools(golden_book, "check")
    assert result.returncode == 1
    line = cell.metadata["booktools"]["line"]
    assert f"tutorials/sample.qmd:{line}: nbval: cell {cell.id} changed (golden" in result.stderr, result.stderr
    assert "25.07" in result.stderr and "23.88" in result.stderr


def test_figure_data_of_lines_bars_scatter_and_text():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2)
    fig.suptitle("Two panels")
    a.plot([1, 2, 3], [0.123456, 2.0, 3.0], label="decode")
    a.plot([1, 2], [5, 6], label="_hidden")
    a.set(title="Lines", xlabel="batch", ylabel="ms", yscale="log")
    a.text(2, 2, "K = 8")
    b.bar([0, 1], [10.0, 20.5])
    b.scatter([1.5, 2.5], [3.25, 4.75], label="points")
    data = json.loads(figures.figure_data(fig))
    plt.close(fig)
    assert data["title"] == "Two panels"
    left, right = data["axes"]
    assert (left["title"], left["xlabel"], left["ylabel"], left["yscale"]) == ("Lines", "batch", "ms", "log")
    # 4 significant digits; labels starting with "_" are matplotlib's, not the reader's
    assert left["lines"] == [{"label": "decode", "x": [1.0, 2.0, 3.0], "y": [0.1235, 2.0, 3.0]},
                             {"label": "", "x": [1.0, 2.0], "y": [5.0, 6.0]}]
    assert left["texts"] == ["K = 8"]
    # bars as (x, y, width, height): default width 0.8 centred on 0 and 1
    assert right["bars"] == [-0.4, 0.0, 0.8, 10.0, 0.6, 0.0, 0.8, 20.5]
    assert right["collections"] == [{"label": "points", "points": [1.5, 3.25, 2.5, 4.75]}]


def test_figure_data_moves_with_the_fourth_digit_and_summarises_long_series():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def data(ys):
        fig, ax = plt.subplots()
        ax.plot(range(len(ys)), ys)
        out = json.loads(figures.figure_data(fig))["axes"][0]["lines"][0]["y"]
        plt.close(fig)
        return out

    assert data([1.2344]) == [1.234] and data([1.23449]) == data([1.2344]) and data([1.2354]) != data([1.2344])
    long = [i / 7 for i in range(100)]
    summary = data(long)
    assert {k: summary[k] for k in ("n", "first", "last", "min", "max")} == {
        "n": 100, "first": 0.0, "last": 14.14, "min": 0.0, "max": 14.14}
    moved = list(long)
    moved[50] *= 1.01                                  # one point in the middle moves by 1%
    assert data(moved)["sha256"] != summary["sha256"] and data(list(long))["sha256"] == summary["sha256"]
    assert data([float("nan"), 1.0]) == ["nan", 1.0]


def test_figure_formatter_registers_once_and_formats_only_figures():
    from IPython.core.interactiveshell import InteractiveShell
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shell = InteractiveShell.instance()
    assert figures.register(shell) and figures.register(shell)
    display = shell.display_formatter
    assert list(display.active_types).count(figures.MIME) == 1
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    # the inline backend drops Figure from every formatter's table when it picks image formats
    for formatter in display.formatters.values():
        formatter.pop(type(fig), None)
    formatted, _ = display.format(fig)
    plt.close(fig)
    assert json.loads(formatted[figures.MIME])["axes"][0]["lines"][0]["y"] == [3.0, 4.0]
    assert figures.MIME not in display.format([1, 2])[0]


def test_kernels_get_the_figure_profile(tmp_path):
    from booktools.execute import kernel_env

    env = kernel_env(tmp_path)
    startup = tmp_path / "_build" / "ipython" / "profile_default" / "startup" / "00-booktools-figures.py"
    assert env["IPYTHONDIR"] == str(tmp_path / "_build" / "ipython")
    assert startup.read_text() == figures.STARTUP and "register()" in figures.STARTUP


# ------------------------------------------------------------------------------- check and golden, in-process
def test_check_main_in_process(golden_book, capsys):
    from booktools import golden

    book = Book(golden_book)
    assert check.main(book, None, nbval=False) == 0
    assert "check: ok (index, sample; 1 golden(s) re-run with nbval)" in capsys.readouterr().out
    # a golden of a chapter that is not in the book
    stray = golden_book / "tests" / "golden" / "gone.ipynb"
    stray.write_text((golden_book / "tests" / "golden" / "sample.ipynb").read_text())
    assert check.main(book, None, nbval=False) == 1
    err = capsys.readouterr().err
    assert "gone.ipynb: golden of a chapter that is not in _quarto.yml; delete it" in err
    assert "check: 1 error(s) in index, sample" in err
    stray.unlink()
    # a stale golden is reported and not given to nbval
    src, _ = _sample(golden_book)
    replace_in(src, "size = 80e9 ", "size = 40e9 ")
    assert check.main(book, ["sample"], nbval=True) == 1
    err = capsys.readouterr().err
    assert "is stale: cell sample-003 differs" in err and "check: 1 error(s) in sample" in err
    assert golden.has_code(src) and not golden.has_code(golden_book / "index.qmd")


def test_check_main_runs_nbval_and_reports_a_moved_output(golden_book, capsys):
    _, gold = _sample(golden_book)
    nb = nbformat.read(gold, as_version=4)
    nb.cells[5].outputs[0]["data"]["text/plain"] = "'99.9'"
    nbformat.write(nb, gold)
    assert check.main(Book(golden_book), ["sample"], nbval=True) == 1
    err = capsys.readouterr().err
    assert "nbval: cell sample-005 changed (golden \"'99.9'\", now \"'23.9'\")" in err


def test_normalize_strips_what_moves_between_runs():
    from booktools import golden

    nb = nbformat.v4.new_notebook()
    nb.metadata.update({"language_info": {"name": "python", "version": "3.11.7"},
                        "booktools": {"cache_key": "abc", "source_sha256": "def"}, "widgets": {}, "execution": {}})
    cell = nbformat.v4.new_code_cell("x")
    cell.metadata["execution"] = {"iopub.status.busy": "now"}
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBOR", "image/jpeg": "/9j/",
                                                                   "image/svg+xml": "<svg/>", figures.MIME: "{}",
                                                                   "text/plain": "<Figure>"}, metadata={"w": 1}),
                    nbformat.v4.new_output("error", ename="ValueError", evalue="bad", traceback=["/home/x.py", "..."])]
    nb.cells = [cell]
    golden.normalize(nb)
    assert nb.metadata == {"language_info": {"name": "python"}, "booktools": {"source_sha256": "def"}}
    assert "execution" not in cell.metadata
    data = cell.outputs[0]["data"]
    assert data == {"image/png": "<image/png omitted from golden>", "image/jpeg": "<image/jpeg omitted from golden>",
                    "image/svg+xml": "<image/svg+xml omitted from golden>", figures.MIME: "{}", "text/plain": "<Figure>"}
    assert cell.outputs[0]["metadata"] == {}
    assert cell.outputs[1]["traceback"] == ["ValueError: bad"]
