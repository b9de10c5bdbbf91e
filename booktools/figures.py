"""The data a figure plots, as text, so `check` compares figures too.

nbval never compares images (a PNG differs between machines and matplotlib versions while
meaning the same), so a change to the engine that moved only a plotted curve would pass. When
booktools runs a chapter (golden, check), the kernel gets an IPython formatter that adds, next to
each matplotlib figure's PNG, a ``text/x-booktools-figure`` output: one line of JSON with what
each axes shows (titles, labels, scales, the x and y of every line, the rectangles of every bar,
the points of every scatter, every text), numbers rounded to 4 significant digits. nbval
compares that output like any other, so a moved curve fails `check` naming the figure's cell.
Notebook front ends ignore the unknown type and show the PNG.

Why not an image hash: a tolerant (perceptual) hash either misses a small shift of one curve or
flags a font change; the plotted numbers are what the book promises not to go stale.
"""
from __future__ import annotations

import hashlib
import json
import math
import sys

MIME = "text/x-booktools-figure"
#: Series up to this many values are stored whole; longer ones as a summary and a hash.
WHOLE = 40


def _round(x):
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    return float(f"{x:.4g}")


def _series(values):
    import numpy as np

    flat = np.ma.filled(np.ma.asarray(values, dtype=float), np.nan).ravel()
    rounded = [_round(v) for v in flat]
    if len(rounded) <= WHOLE:
        return rounded
    digest = hashlib.sha256(json.dumps(rounded).encode()).hexdigest()[:16]
    finite = [v for v in rounded if isinstance(v, float)]
    return {"n": len(rounded), "first": rounded[0], "last": rounded[-1],
            "min": min(finite) if finite else None, "max": max(finite) if finite else None, "sha256": digest}


def _label(artist) -> str:
    label = artist.get_label() or ""
    return "" if label.startswith("_") else label


def axes_data(ax) -> dict:
    """What one axes shows: text, scales, lines, bars, collections."""
    from matplotlib.collections import PathCollection
    from matplotlib.patches import Rectangle

    out = {"title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
           "xscale": ax.get_xscale(), "yscale": ax.get_yscale()}
    lines = [{"label": _label(l), "x": _series(l.get_xdata()), "y": _series(l.get_ydata())}
             for l in ax.get_lines()]
    bars = [[p.get_x(), p.get_y(), p.get_width(), p.get_height()] for p in ax.patches if isinstance(p, Rectangle)]
    collections = []
    for c in ax.collections:
        if isinstance(c, PathCollection):
            points = c.get_offsets()
        else:
            paths = c.get_paths()
            points = [v for p in paths for v in p.vertices.tolist()] if paths else []
        collections.append({"label": _label(c), "points": _series(points)})
    texts = [t.get_text() for t in ax.texts if t.get_text()]
    if lines:
        out["lines"] = lines
    if bars:
        out["bars"] = _series(bars)
    if collections:
        out["collections"] = collections
    if texts:
        out["texts"] = texts
    return out


def figure_data(fig) -> str:
    """One line of JSON: the figure's title and the data of each of its axes."""
    title = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) is not None else ""
    data = {"title": title, "axes": [axes_data(ax) for ax in fig.get_axes()]}
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def register(shell=None) -> bool:
    """Add the figure-data formatter to an IPython shell (the running kernel by default).
    Returns False outside IPython."""
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None:
        return False
    from IPython.core.formatters import BaseFormatter
    from traitlets import Unicode

    class FigureDataFormatter(BaseFormatter):
        """Formats matplotlib figures only. It answers by isinstance rather than through
        ``for_type``, because the inline backend pops Figure from every formatter's type table when
        it selects its image formats. An error here is raised, not hidden: a figure whose data
        cannot be recorded must not pass unchecked."""
        format_type = Unicode(MIME)
        print_method = Unicode("_repr_booktools_figure_")
        _return_type = str

        def __call__(self, obj):
            module = sys.modules.get("matplotlib.figure")
            if self.enabled and module is not None and isinstance(obj, module.Figure):
                return figure_data(obj)
            return None

    display = shell.display_formatter
    if MIME not in display.formatters:
        display.formatters[MIME] = FigureDataFormatter(parent=display)
    if MIME not in display.active_types:
        display.active_types = list(display.active_types) + [MIME]
    return True


#: The IPython startup file that registers the formatter in every kernel booktools starts.
STARTUP = """# written by booktools (booktools/figures.py): record the data each figure plots
import booktools.figures as _booktools_figures
_booktools_figures.register()
del _booktools_figures
"""


def ipython_dir(build_dir) -> str:
    """An IPython directory under ``build_dir`` whose default profile registers the formatter at
    start-up (written once, atomically)."""
    from pathlib import Path

    from .project import write_atomic

    root = Path(build_dir) / "ipython"
    startup = root / "profile_default" / "startup" / "00-booktools-figures.py"
    if not startup.is_file() or startup.read_text() != STARTUP:
        startup.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(startup, STARTUP)
    return str(root)
