"""What `check` tells the author when a golden goes stale or nbval fails a cell, tested in-process
on small inputs: the one-line reason made from nbval's failure text (check._reason) and the line
a stale golden is reported at (check._first_difference).

The nbval sections below are nbval 0.11's output under pytest 9 with `-vv` (what check.run_nbval
runs), ANSI colours removed as run_nbval removes them, cut to the part after the cell's header."""
from __future__ import annotations

import pytest

from booktools import check


def _section(left: str, right: str, diff: str, mismatch: str = "text/plain") -> str:
    """A failed cell's section: the compared values as pytest prints them, then its diff."""
    return ("Notebook cell execution failed\nCell 2: Cell outputs differ\n\nInput:\nf()\n\nTraceback:\n"
            f" mismatch '{mismatch}'\n\n assert reference_output == test_output failed:\n\n"
            f"  {left} == {right}\n  \n{diff}\n\n")


def test_a_short_moved_value_is_shown_whole():
    # recorded: the golden printed '99.9', the run prints '23.9'; pytest's diff: - now, + golden
    section = _section("\"'99.9'\"", "\"'23.9'\"", "  - '23.9'\n  + '99.9'")
    # the values are the text/plain of a str ('99.9' with its quotes), so repr shows them in "..."
    assert check._reason(section) == "golden \"'99.9'\", now \"'23.9'\""


def test_a_multi_line_output_is_shown_whole_not_just_the_changed_line():
    # recorded from print('x = 1\ny = 3') against a golden of "x = 1\ny = 2\n": pytest's diff shows
    # only the changed line, but nothing was shortened ("..." absent), so the whole output is shown
    section = _section(r"'x = 1\ny = 2\n'", r"'x = 1\ny = 3\n'",
                       "    x = 1\n  - y = 3\n  ?     ^\n  + y = 2\n  ?     ^", mismatch="stdout")
    assert check._reason(section) == r"golden 'x = 1\ny = 2\n', now 'x = 1\ny = 3\n'"


def test_a_value_pytest_shortened_is_taken_whole_from_its_diff_lines():
    # older pytest (or a lower verbosity) prints long values as 'abc...xyz'; its diff lines
    # (- now, + golden) hold them whole: 'rate 1234567800 req/s' golden, 'rate 1234567890 req/s' now
    section = _section("\"'rate 1234...00 req/s'\"", "\"'rate 1234...90 req/s'\"",
                       "  - 'rate 1234567890 req/s'\n  ?             ^\n"
                       "  + 'rate 1234567800 req/s'\n  ?             ^")
    # 23 + 23 = 46 characters: short enough to show whole
    assert check._reason(section) == "golden \"'rate 1234567800 req/s'\", now \"'rate 1234567890 req/s'\""


def test_a_long_output_is_shown_around_where_it_parts():
    # recorded: a golden "'" + 60 a + "C" + 60 c + "'" (123 characters) against the run's "B" there
    old = "'" + "a" * 60 + "C" + "c" * 60 + "'"
    new = "'" + "a" * 60 + "B" + "c" * 60 + "'"
    section = _section(repr(old), repr(new), f"  - {new}\n  ?{' ' * 62}^\n  + {old}\n  ?{' ' * 62}^")
    # 123 + 123 > 80: they part at index 61 (the quote, then 60 a); the window is [61 - 35, 61 + 25)
    # = [26, 86): 35 a, the differing letter, 24 c; cut on both sides, so "…" on both sides
    assert check._reason(section) == (f"golden '…{'a' * 35}C{'c' * 24}…', now '…{'a' * 35}B{'c' * 24}…'")


@pytest.mark.parametrize("old, new, expected", [
    # 40 + 40 = 80 characters: not more than 80, shown whole
    ("x" * 10 + "A" + "y" * 29, "x" * 10 + "B" + "y" * 29,
     "golden '" + "x" * 10 + "A" + "y" * 29 + "', now '" + "x" * 10 + "B" + "y" * 29 + "'"),
    # 41 + 40 = 81: windowed; they part at 10 < 35, so the window starts at 0 (no leading "…")
    # and ends at 10 + 25 = 35: 10 x, the letter, 24 y, then "…" (both are longer than 35)
    ("x" * 10 + "A" + "y" * 30, "x" * 10 + "B" + "y" * 29,
     "golden '" + "x" * 10 + "A" + "y" * 24 + "…', now '" + "x" * 10 + "B" + "y" * 24 + "…'"),
    # the golden is exactly 10 + 25 = 35 long, so its window is all of it, with no trailing "…";
    # the run's output (71 long) is cut after 35
    ("x" * 10 + "A" + "y" * 24, "x" * 10 + "B" + "y" * 60,
     "golden '" + "x" * 10 + "A" + "y" * 24 + "', now '" + "x" * 10 + "B" + "y" * 24 + "…'"),
    # the golden is 10 + 26 = 36 long: one character past the window, so it is cut, with "…"
    ("x" * 10 + "A" + "y" * 25, "x" * 10 + "B" + "y" * 60,
     "golden '" + "x" * 10 + "A" + "y" * 24 + "…', now '" + "x" * 10 + "B" + "y" * 24 + "…'"),
    # one is a prefix of the other (50 a, then 40 more b): they part where the shorter ends, at 50;
    # the window [15, 75): the golden's 35 last a (it ends at 50), the run's 35 a + 25 b, then "…"
    ("a" * 50, "a" * 50 + "b" * 40,
     "golden '…" + "a" * 35 + "', now '…" + "a" * 35 + "b" * 25 + "…'"),
])
def test_long_outputs_window_boundaries(old, new, expected):
    section = _section(repr(old), repr(new), f"  - {new}\n  + {old}")
    assert check._reason(section) == expected


def test_a_value_that_is_not_a_literal_is_shown_as_printed_cut_at_150():
    # pytest printed something Python cannot read back (here 160 A against 160 B): shown as
    # printed, each side cut to its first 150 characters
    section = _section("A" * 160, "B" * 160, "")
    assert check._reason(section) == f"golden {'A' * 150}, now {'B' * 150}"


def test_an_exception_names_the_last_error_raised():
    # recorded: a cell raising ValueError('bad input'); its header line ("ValueError    Traceback
    # (most recent call last)") has no ": " and is not the message
    section = ("Notebook cell execution failed\nCell 4: Cell execution caused an exception\n\nInput:\n"
               "raise ValueError('bad input')\n\nTraceback:\n\n" + "-" * 75 + "\n"
               "ValueError                                Traceback (most recent call last)\n"
               "Cell In[1], line 1\n----> 1 raise ValueError('bad input')\n\nValueError: bad input\n\n")
    assert check._reason(section) == "raised ValueError: bad input"
    # a chained traceback: the exception that stopped the cell is the last one printed
    chained = ("KeyError: 'k'\n\nDuring handling of the above exception, another exception occurred:\n\n"
               "RuntimeError: lookup failed\n")
    assert check._reason(chained) == "raised RuntimeError: lookup failed"
    # a long message is cut at 300 characters
    assert check._reason("SystemExit: " + "z" * 400 + "\n") == "raised SystemExit: " + "z" * 300


def test_without_a_comparison_the_reason_names_the_output_that_differs():
    assert check._reason(" mismatch 'text/html'\n\n the outputs differ in number\n") == "text/html output differs"
    assert check._reason("") == "output differs"


@pytest.mark.parametrize("a, b, line", [
    ("x = 1\ny = 2\nz = 3", "x = 1\ny = 5\nz = 3", 1),      # the second line differs
    ("x = 1", "y = 1", 0),
    ("x = 1\ny = 2", "x = 1\ny = 2\nz = 3", 2),            # one ends first: the line after its end
    ("x = 1\ny = 2\nz = 3", "x = 1", 1),
    ("", "x = 1", 0),
])
def test_first_difference_is_the_first_line_that_differs(a, b, line):
    assert check._first_difference(a, b) == line
