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
    from mlsysim.specs.resolve import resolve_hardware

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


def parity(predicted, measured, groups=None, fit=None, band: float = 0.25, ax=None, title: str | None = None,
           xlabel: str = "measured", ylabel: str = "predicted by the engine", unit: str | None = None,
           colours: dict | None = None):
    """Predicted against measured on log-log axes, with the line y = x and a +/-``band`` region.

    ``groups`` (one label per point) colours the points and names them in the legend; ``fit``
    (one bool per point) draws fitted points filled and held-out points hollow. Quantities are
    converted to ``unit``; ``colours`` maps a group to a matplotlib colour (default: C0, C1, ...).
    A point inside the band is within ``band`` of its measurement.
    """
    pred, meas = _magnitude(predicted, unit), _magnitude(measured, unit)
    if pred.shape != meas.shape or pred.ndim != 1 or not len(pred):
        raise InputError("predicted", f"one value per measurement ({meas.shape})", pred.shape)
    if not np.all((pred > 0) & (meas > 0)):
        raise InputError("measured", "positive values (the axes are logarithmic)", "a value <= 0")
    groups = list(groups) if groups is not None else [""] * len(pred)
    fit = np.zeros(len(pred), bool) if fit is None else np.asarray(fit, bool)
    if len(groups) != len(pred) or fit.shape != pred.shape:
        raise InputError("groups", f"one label (and one fit flag) per point ({len(pred)})", len(groups))
    ax = _axes(ax, figsize=(5, 5))
    lo, hi = min(pred.min(), meas.min()) / 1.6, max(pred.max(), meas.max()) * 1.6
    line = np.geomspace(lo, hi, 50)
    ax.fill_between(line, line * (1 - band), line * (1 + band), color="0.85", label=f"±{band:.0%}")
    ax.plot(line, line, color="0.4", lw=1)
    given, colours = dict(colours or {}), {}
    for g, p, m, f in zip(groups, pred, meas, fit):
        colour = colours.setdefault(g, given.get(g, f"C{len(colours) % 10}"))
        ax.scatter(m, p, s=36, edgecolors=colour, facecolors=colour if f else "none", linewidths=1.4, zorder=3)
    for g, colour in colours.items():
        if g:
            ax.scatter([], [], s=36, edgecolors=colour, facecolors="none", linewidths=1.4, label=g)
    if fit.any() and not fit.all():
        ax.scatter([], [], s=36, color="0.3", label="filled: fitted")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    if hi / lo < 30:  # a narrow range: plain tick labels instead of powers of ten
        from matplotlib.ticker import NullFormatter, ScalarFormatter

        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(ScalarFormatter())
            axis.set_minor_formatter(NullFormatter())
        ticks = [t for t in (0.5, 1, 1.5, 2, 3, 5, 10, 20) if lo <= t <= hi]
        ax.set_xticks(ticks)
        ax.set_yticks(ticks)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(True, which="both", alpha=0.2)
    return ax
