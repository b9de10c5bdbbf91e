"""Figures for chapters: the roofline, and sweeps of one result against a parameter.

Thin wrappers over matplotlib (imported on first use) with the engine's units
and labels, so a chapter's figure cell stays two lines long.
"""
from __future__ import annotations

import numpy as np

from mlsysim.errors import InputError


def _axes(ax, figsize=(6, 4)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _magnitude(value, unit):
    if hasattr(value, "to"):
        return np.asarray(value.to(unit).magnitude, dtype=float)
    return np.asarray(value, dtype=float)


def roofline(hardware, points=(), precision="fp16", ax=None, title: str | None = None, annotate: bool = False):
    """Draw ``hardware``'s roof and ``points`` on log-log axes.

    ``points`` is a sequence of ``(label, result)`` where ``result`` has
    ``arithmetic_intensity`` and ``flops``/``latency`` (an :class:`EngineResult`),
    or of ``(label, intensity_flop_per_byte, achieved_flop_per_s)`` tuples, optionally
    with a fourth element, a group name: points of one group share a colour and one
    legend entry (e.g. ``OperatorsResult.points(group="decode")``).
    ``precision`` is one precision or a sequence of them: one roof each (the first solid).
    ``annotate`` writes each point's label beside it instead of in the legend.
    The roof is min(P, I x W) [@williams2009roofline]; dashed lines mark each ridge I* = P / W.
    """
    from mlsysim.solvers._common import resolve_hardware

    hw = resolve_hardware(hardware)
    precisions = [precision] if isinstance(precision, str) else list(precision)
    if not precisions:
        raise InputError("precision", "a precision or a non-empty sequence of them", precision)
    bandwidth = hw.si["bandwidth"]
    peaks = [hw.peak(p).to("flop/s").magnitude for p in precisions]
    parsed = []
    for point in points:
        group = None
        if len(point) == 2:
            label, result = point
            intensity = _magnitude(result.arithmetic_intensity, "flop/byte")
            achieved = _magnitude(result.flops, "flop") / _magnitude(result.latency, "s")
        elif len(point) in (3, 4):
            label, intensity, achieved = point[:3]
            group = point[3] if len(point) == 4 else None
            intensity, achieved = _magnitude(intensity, "flop/byte"), _magnitude(achieved, "flop/s")
        else:
            raise InputError("points", "(label, result) or (label, intensity, flop_per_s[, group]) tuples", point)
        parsed.append((label, float(intensity), float(achieved), group))

    ridges = [peak / bandwidth for peak in peaks]
    lows = [p[1] for p in parsed] + [min(ridges) / 100]
    highs = [p[1] for p in parsed] + [max(ridges) * 100]
    x = np.logspace(np.log10(min(lows) / 2), np.log10(max(highs) * 2), 200)
    ax = _axes(ax, figsize=(7, 4.5) if annotate else (6, 4))
    for i, (p, peak, ridge) in enumerate(zip(precisions, peaks, ridges)):
        style = "-" if i == 0 else (0, (4, 2 + i))
        ax.loglog(x, np.minimum(peak, x * bandwidth) / 1e12, color="black", lw=2 if i == 0 else 1.2, ls=style,
                  label=f"{hw.key} roof ({p})")
        ax.axvline(ridge, color="grey", ls="--", lw=1)
        ax.annotate(f"ridge {ridge:,.0f} FLOP/B ({p})", (ridge, peaks[0] / 1e12), textcoords="offset points",
                    xytext=(5, -28 - 14 * i), fontsize=8, color="grey")
    colours = {}
    for label, intensity, achieved, group in parsed:
        if group is not None:
            if group not in colours:
                colours[group] = f"C{len(colours)}"
                ax.scatter([intensity], [achieved / 1e12], zorder=3, color=colours[group], label=group)
            else:
                ax.scatter([intensity], [achieved / 1e12], zorder=3, color=colours[group])
        else:
            ax.scatter([intensity], [achieved / 1e12], zorder=3, label=None if annotate else label)
        if annotate:
            ax.annotate(label, (intensity, achieved / 1e12), textcoords="offset points", xytext=(4, 3), fontsize=7)
    ax.set_xlabel("Arithmetic intensity (FLOP/byte)")
    ax.set_ylabel("Attainable TFLOP/s")
    ax.set_title(title or f"Roofline of {hw.name}")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(True, which="both", alpha=0.3)
    return ax


def sweep(x, series: dict, xlabel: str, ylabel: str, ax=None, logx: bool = False, logy: bool = False,
          title: str | None = None, xunit: str | None = None, yunit: str | None = None, marker: str = "o"):
    """Plot one or more ``label -> y`` series against ``x`` (Quantities are converted to ``xunit``/``yunit``)."""
    if not isinstance(series, dict) or not series:
        raise InputError("series", "a non-empty dict of label -> values", type(series).__name__)
    ax = _axes(ax)
    xs = _magnitude(x, xunit) if xunit else _magnitude(x, None) if not hasattr(x, "to") else np.asarray(x.magnitude)
    for label, y in series.items():
        ys = _magnitude(y, yunit) if yunit else (np.asarray(y.magnitude) if hasattr(y, "to") else np.asarray(y, float))
        if ys.shape != xs.shape:
            raise InputError("series", f"values with the shape of x {xs.shape}", f"{label}: {ys.shape}")
        ax.plot(xs, ys, marker=marker, label=label)
    ax.set_xscale("log" if logx else "linear")
    ax.set_yscale("log" if logy else "linear")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if len(series) > 1:
        ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return ax
