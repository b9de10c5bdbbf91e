"""The figure data `golden` stores and `check` compares (booktools.figures), in-process: the exact
text stored for a figure, how series are rounded and summarised, and the IPython formatter that
emits it. Each test uses its own display formatter (not IPython's process-wide shell), so what
one test registers cannot make another pass."""
from __future__ import annotations

import hashlib
import json
import sys
import types

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402

from booktools import figures  # noqa: E402


@pytest.fixture
def fig():
    figure, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    yield figure
    plt.close(figure)


def test_a_figure_is_stored_as_one_compact_line_of_sorted_json(fig):
    # the golden holds this text and nbval compares it as text, so its form must not change between
    # runs: keys sorted, no spaces; an axes without title/labels has "" for them, scales "linear";
    # no suptitle is the title ""
    assert figures.figure_data(fig) == (
        '{"axes":[{"lines":[{"label":"","x":[1.0,2.0],"y":[3.0,4.0]}],"title":"","xlabel":"",'
        '"xscale":"linear","ylabel":"","yscale":"linear"}],"title":""}')


def test_the_x_scale_is_recorded(fig):
    fig.axes[0].set_xscale("log")
    assert json.loads(figures.figure_data(fig))["axes"][0]["xscale"] == "log"


def test_a_line_whose_label_was_cleared_has_an_empty_label(fig):
    fig.axes[0].get_lines()[0].set_label(None)       # matplotlib's get_label() is then None
    assert json.loads(figures.figure_data(fig))["axes"][0]["lines"][0]["label"] == ""


def test_line_collections_record_their_vertices(fig):
    ax = fig.axes[0]
    ax.add_collection(LineCollection([[(0, 1), (2, 3)]], label="segment"))
    ax.add_collection(LineCollection([]))            # nothing drawn: no points
    collections = json.loads(figures.figure_data(fig))["axes"][0]["collections"]
    # one segment from (0, 1) to (2, 3): its vertices flattened
    assert collections == [{"label": "segment", "points": [0.0, 1.0, 2.0, 3.0]}, {"label": "", "points": []}]


def test_masked_points_are_stored_as_nan():
    # a gap in a line (masked value) is "nan", whether the data were floats or integers
    assert figures._series(np.ma.array([1, 2, 3], mask=[0, 1, 0])) == [1.0, "nan", 3.0]
    assert figures._series(np.ma.array([1.5, 2.5], mask=[1, 0])) == ["nan", 2.5]


def test_series_up_to_40_values_are_stored_whole_longer_ones_summarised():
    assert figures._series(list(range(40))) == [float(i) for i in range(40)]
    summary = figures._series(list(range(41)))
    # 0 .. 40: 41 values, first 0, last 40, min 0, max 40; the hash is the first 16 hex digits of
    # SHA-256 over the rounded values as JSON (the form stored in every golden)
    rounded = [float(i) for i in range(41)]
    assert summary == {"n": 41, "first": 0.0, "last": 40.0, "min": 0.0, "max": 40.0,
                       "sha256": hashlib.sha256(json.dumps(rounded).encode()).hexdigest()[:16]}
    assert len(summary["sha256"]) == 16


def test_a_long_series_of_nan_has_no_min_or_max():
    summary = figures._series([float("nan")] * 41)
    assert (summary["n"], summary["first"], summary["min"], summary["max"]) == (41, "nan", None, None)


def _shell(config=None):
    from IPython.core.formatters import DisplayFormatter

    return types.SimpleNamespace(display_formatter=DisplayFormatter(config=config) if config else DisplayFormatter())


def test_the_formatter_adds_figure_data_to_a_figure_and_nothing_else(fig):
    shell = _shell()
    assert figures.register(shell) is True
    display = shell.display_formatter
    formatted, _ = display.format(fig)
    assert formatted[figures.MIME] == figures.figure_data(fig)
    assert figures.MIME not in display.format([1, 2])[0]
    # a second registration (a second startup file run) changes nothing
    formatter = display.formatters[figures.MIME]
    assert figures.register(shell) is True
    assert display.formatters[figures.MIME] is formatter and list(display.active_types).count(figures.MIME) == 1
    assert "text/plain" in display.active_types       # the other formats stay active


def test_the_figure_format_stays_active_when_the_shell_resets_its_formats(fig):
    # a shell whose list of active formats was already fixed before booktools registered (read once,
    # it no longer follows new formatters); %doctest_mode saves that list, shows only text/plain,
    # and restores the saved list when turned off: the figure format must be in it
    shell = _shell()
    display = shell.display_formatter
    assert figures.MIME not in display.active_types
    figures.register(shell)
    saved = display.active_types                     # %doctest_mode on ...
    display.active_types = ["text/plain"]
    assert figures.MIME not in display.format(fig)[0]
    display.active_types = saved                     # ... and off again
    assert display.format(fig)[0][figures.MIME] == figures.figure_data(fig)


def test_the_kernel_profile_is_rewritten_when_booktools_changed_it(tmp_path):
    startup = tmp_path / "ipython" / "profile_default" / "startup" / "00-booktools-figures.py"
    startup.parent.mkdir(parents=True)
    startup.write_text("# an older booktools' startup file\n")
    assert figures.ipython_dir(tmp_path) == str(tmp_path / "ipython")
    assert startup.read_text() == figures.STARTUP
    assert figures.ipython_dir(tmp_path) == str(tmp_path / "ipython") and startup.read_text() == figures.STARTUP


def test_the_formatter_honours_the_kernels_configuration(fig):
    from traitlets.config import Config

    config = Config()
    config.FigureDataFormatter.enabled = False        # e.g. set in an IPython profile
    shell = _shell(config)
    assert figures.register(shell) is True
    assert figures.MIME not in shell.display_formatter.format(fig)[0]


def test_the_formatter_works_in_a_kernel_that_never_imported_matplotlib(fig, monkeypatch):
    shell = _shell()
    figures.register(shell)
    # the formatter looks matplotlib's Figure class up in sys.modules rather than importing it
    monkeypatch.delitem(sys.modules, "matplotlib.figure")
    formatted, _ = shell.display_formatter.format([1, 2])     # displaying anything else still works
    assert formatted["text/plain"] == "[1, 2]" and figures.MIME not in formatted


def test_register_uses_the_running_kernel_and_is_false_outside_ipython(fig, monkeypatch):
    import IPython

    running = _shell()
    monkeypatch.setattr(IPython, "get_ipython", lambda: running)
    assert figures.register() is True
    assert figures.MIME in running.display_formatter.format(fig)[0]
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)     # plain Python: no shell
    assert figures.register() is False
    monkeypatch.setitem(sys.modules, "IPython", None)             # IPython not installed
    assert figures.register() is False
