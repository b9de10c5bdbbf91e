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


def roofline(hardware, points=(), precision: str = "fp16", ax=None, title: str | None = None):
    """Draw ``hardware``'s roof and ``points`` on log-log axes.

    ``points`` is a sequence of ``(label, result)`` where ``result`` has
    ``arithmetic_intensity`` and ``flops``/``latency`` (an :class:`EngineResult`),
    or of ``(label, intensity_flop_per_byte, achieved_flop_per_s)`` tuples.
    The roof is min(P, I x W) [@williams2009roofline]; the dashed line marks the ridge I* = P / W.
    """
    from mlsysim.solvers._common import resolve_hardware

    hw = resolve_hardware(hardware)
    peak = hw.peak(precision).to("flop/s").magnitude
    bandwidth = hw.si["bandwidth"]
    ridge = peak / bandwidth
    parsed = []
    for point in points:
        if len(point) == 2:
            label, result = point
            intensity = _magnitude(result.arithmetic_intensity, "flop/byte")
            achieved = _magnitude(result.flops, "flop") / _magnitude(result.latency, "s")
        elif len(point) == 3:
            label, intensity, achieved = point
            intensity, achieved = _magnitude(intensity, "flop/byte"), _magnitude(achieved, "flop/s")
        else:
            raise InputError("points", "(label, result) or (label, intensity, flop_per_s) tuples", point)
        parsed.append((label, float(intensity), float(achieved)))

    lows = [p[1] for p in parsed] + [ridge / 100]
    highs = [p[1] for p in parsed] + [ridge * 100]
    x = np.logspace(np.log10(min(lows) / 2), np.log10(max(highs) * 2), 200)
    ax = _axes(ax)
    ax.loglog(x, np.minimum(peak, x * bandwidth) / 1e12, color="black", lw=2, label=f"{hw.key} roof ({precision})")
    ax.axvline(ridge, color="grey", ls="--", lw=1)
    ax.annotate(f"ridge {ridge:,.0f} FLOP/B", (ridge, peak / 1e12), textcoords="offset points", xytext=(5, -28),
                fontsize=8, color="grey")
    for label, intensity, achieved in parsed:
        ax.scatter([intensity], [achieved / 1e12], zorder=3, label=label)
    ax.set_xlabel("Arithmetic intensity (FLOP/byte)")
    ax.set_ylabel("Attainable TFLOP/s")
    ax.set_title(title or f"Roofline of {hw.name}")
    ax.legend(fontsize=8)
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
