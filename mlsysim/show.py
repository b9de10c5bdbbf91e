"""Tables, key/value panels and number formatting for chapters and the terminal.

``table`` and ``info`` print aligned plain text in a terminal and render as HTML
in a notebook (through IPython's rich display, when an IPython kernel is
running). ``fmt``, ``money`` and ``pct`` turn engine numbers into the short
strings a chapter puts in its prose through inline expressions.
"""
from __future__ import annotations

import html
import math
import re

from mlsysim.core.format import format_value

__all__ = ["table", "info", "Table", "Panel", "fmt", "money", "pct", "sig"]


def sig(x: float, digits: int = 3) -> str:
    """``x`` rounded to ``digits`` significant figures, with thousands separators and no exponent."""
    x = float(x)
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    decimals = max(digits - 1 - int(math.floor(math.log10(abs(x)))), 0)
    rounded = round(x, decimals)
    return f"{rounded:,.{decimals}f}"


def fmt(value, unit: str | None = None, digits: int = 3) -> str:
    """A Quantity (or number) as text: ``fmt(r.ttft, "ms") -> "146 ms"``.

    ``unit`` converts first; ``digits`` is significant figures.
    """
    if hasattr(value, "magnitude"):
        if unit:
            value = value.to(unit)
        unit_text = f"{value.units:~P}"
        if unit_text in ("", "dimensionless"):
            return sig(value.magnitude, digits)
        return f"{sig(value.magnitude, digits)} {unit_text}"
    text = sig(value, digits)
    return f"{text} {unit}" if unit else text


def money(usd: float, digits: int = 3) -> str:
    """Dollars with a scale word: ``money(9.87e6) -> "$9.87M"``."""
    usd = float(usd.magnitude if hasattr(usd, "magnitude") else usd)
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(usd) >= scale:
            return f"${sig(usd / scale, digits)}{suffix}"
    return f"${sig(usd, digits)}"


def pct(fraction, digits: int = 3) -> str:
    """A fraction as a percentage: ``pct(0.434) -> "43.4%"``."""
    if hasattr(fraction, "magnitude"):
        fraction = fraction.to("").magnitude
    return f"{sig(float(fraction) * 100, digits)}%"


_NUMERIC = re.compile(r"^[-+$]?[0-9.,]+")


def _cell(value) -> str:
    return value if isinstance(value, str) else format_value(value)


class Table:
    """An aligned table: plain text for ``repr``/``print``, HTML for notebooks."""

    def __init__(self, headers, rows, title: str | None = None):
        self.headers = [str(h) for h in headers]
        self.rows = [[_cell(v) for v in row] for row in rows]
        for i, row in enumerate(self.rows):
            if len(row) != len(self.headers):
                from mlsysim.errors import InputError

                raise InputError("rows", f"rows of {len(self.headers)} cells (one per header)", f"row {i} has {len(row)}")
        self.title = title

    def __repr__(self) -> str:
        widths = [max(len(h), *(len(r[i]) for r in self.rows)) if self.rows else len(h) for i, h in enumerate(self.headers)]

        numeric = [all(_NUMERIC.match(r[i]) for r in self.rows) and bool(self.rows) for i in range(len(self.headers))]

        def line(cells):
            return "  ".join(c.rjust(w) if numeric[i] else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

        out = ([self.title] if self.title else []) + [line(self.headers), "  ".join("-" * w for w in widths)]
        return "\n".join(out + [line(r) for r in self.rows])

    #: a text cell longer than this (with spaces) is prose: it wraps between words
    PROSE = 40

    def _repr_html_(self) -> str:
        """Numbers right-aligned on one line; text columns left-aligned; long text wraps
        between words (class ``prose``), never inside one."""
        numeric = [all(_NUMERIC.match(r[i]) for r in self.rows) and bool(self.rows) for i in range(len(self.headers))]
        left = " style='text-align:left'"

        def td(i, c):
            if numeric[i]:
                return f"<td>{html.escape(c)}</td>"
            prose = " class='prose'" if len(c) > self.PROSE and " " in c else ""
            return f"<td{prose}{left}>{html.escape(c)}</td>"
        head = "".join(f"<th{'' if numeric[i] else left}>{html.escape(h)}</th>" for i, h in enumerate(self.headers))
        body = "".join("<tr>" + "".join(td(i, c) for i, c in enumerate(r)) + "</tr>" for r in self.rows)
        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        return f"<table class='mlsysim-table'>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class Panel(Table):
    """A titled key/value panel."""

    def __init__(self, title=None, **fields):
        super().__init__(["", ""], [[k.replace("_", " "), v] for k, v in fields.items()], title)

    def __repr__(self) -> str:
        width = max((len(r[0]) for r in self.rows), default=0)
        lines = [self.title] if self.title else []
        return "\n".join(lines + [f"  {k:<{width}}  {v}" for k, v in self.rows])

    def _repr_html_(self) -> str:
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in self.rows)
        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        return f"<table class='mlsysim-panel'>{caption}<tbody>{body}</tbody></table>"


def _emit(obj) -> None:
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - IPython absent
        shell = None
    if shell is not None and getattr(shell, "kernel", None) is not None:
        from IPython.display import display

        display(obj)
    else:
        print(repr(obj))


def table(headers, rows, title: str | None = None) -> None:
    """Show an aligned table. Cells may be Quantities, numbers or strings."""
    _emit(Table(headers, rows, title))


def info(title: str | None = None, **fields) -> None:
    """Show a titled key/value panel: ``info("H100", memory=hw.memory_capacity)``."""
    _emit(Panel(title, **fields))
