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


def stacked(categories, parts: dict, ylabel: str, ax=None, unit: str | None = None, title: str | None = None,
            horizontal: bool = False, total_label: str | None = None):
    """Stacked bars: one bar per category, one segment per ``label -> values`` entry of ``parts``
    (Quantities are converted to ``unit``). Zero segments are drawn but take no space; a part
    that is zero everywhere is left out of the legend."""
    if not isinstance(parts, dict) or not parts:
        raise InputError("parts", "a non-empty dict of label -> values", type(parts).__name__)
    labels = [str(c) for c in categories]
    ax = _axes(ax, figsize=(8, 4.2))
    base = np.zeros(len(labels))
    for label, values in parts.items():
        if isinstance(values, (list, tuple)):  # one value (a number or a Quantity) per category
            ys = np.array([float(_magnitude(v, unit)) if unit else float(getattr(v, "magnitude", v))
                           for v in values])
        else:
            ys = _magnitude(values, unit) if unit else np.asarray(getattr(values, "magnitude", values), dtype=float)
        ys = np.broadcast_to(ys, base.shape).astype(float)
        if ys.shape != base.shape:
            raise InputError("parts", f"values with one entry per category ({len(labels)})", f"{label}: {ys.shape}")
        shown = label if np.any(ys > 0) else None
        if horizontal:
            ax.barh(labels, ys, left=base, label=shown)
        else:
            ax.bar(labels, ys, bottom=base, label=shown)
        base = base + ys
    if total_label is not None:
        for i, total in enumerate(base):
            text = total_label.format(total)
            if horizontal:
                ax.text(total, i, " " + text, va="center", fontsize=8)
            else:
                ax.text(i, total, text, ha="center", va="bottom", fontsize=8)
    (ax.set_xlabel if horizontal else ax.set_ylabel)(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(True, axis="x" if horizontal else "y", alpha=0.3)
    return ax


def tornado(elasticities, ax=None, title: str | None = None, limit: int | None = 12, threshold: float = 0.005):
    """A tornado chart of :class:`mlsysim.sensitivity.Elasticities`: one horizontal bar per input,
    the elasticity d ln(output) / d ln(input), largest in size at the top; bars to the left make
    the output smaller as the input grows. Inputs whose elasticity is below ``threshold`` in size
    are left out (and counted in the title); ``limit`` keeps the largest ones. A bar of -1 means
    the output halves when the input doubles; 0, that investing in the input buys nothing here."""
    rows = [r for r in getattr(elasticities, "rows", ()) if np.isfinite(r.elasticity)]
    if not hasattr(elasticities, "rows"):
        raise InputError("elasticities", "the result of mlsysim.sensitivity.elasticities(...)",
                         type(elasticities).__name__)
    shown = [r for r in rows if abs(r.elasticity) >= threshold][:limit]
    hidden = len(rows) - len(shown)
    ax = _axes(ax, figsize=(6.4, 0.42 * max(len(shown), 2) + 1.4))
    y = np.arange(len(shown))[::-1]
    values = np.array([r.elasticity for r in shown])
    ax.barh(y, values, color=["C3" if v < 0 else "C0" for v in values])
    for yi, v in zip(y, values):
        ax.text(v, yi, f" {v:+.2f} ", va="center", ha="left" if v >= 0 else "right", fontsize=8)
    ax.set_yticks(y, [r.name for r in shown], fontsize=8)
    ax.axvline(0, color="0.3", lw=1)
    span = max(float(np.max(np.abs(values))) if len(values) else 1.0, 0.1)
    ax.set_xlim(-1.35 * span, 1.35 * span)
    ax.set_xlabel(f"elasticity of {elasticities.output_name}  (d ln y / d ln x)")
    note = f" ({hidden} inputs with |e| < {threshold:g} not shown)" if hidden else ""
    ax.set_title((title or f"Where to invest: {elasticities.output_name}") + note, fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    return ax


def pareto(x, y, front=None, labels=None, groups=None, ax=None, xlabel: str = "", ylabel: str = "",
           title: str | None = None, logx: bool = False, logy: bool = False, highlight=None,
           highlight_label: str = "chosen"):
    """Every design as a point (x, y), both to be minimised, and the Pareto front as a step line.

    ``front`` is the indices of the front (default: computed here with
    :func:`mlsysim.search.pareto_front`); ``groups`` (one label per point) colours the points;
    ``labels`` (one per front point, or a dict index -> text) annotates the front; ``highlight``
    (an index) rings one design, e.g. the cheapest that meets the targets."""
    from mlsysim.search import pareto_front

    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xs.shape != ys.shape or xs.ndim != 1:
        raise InputError("y", f"one value per design, like x {xs.shape}", ys.shape)
    ok = np.isfinite(xs) & np.isfinite(ys)
    front = pareto_front(np.column_stack([xs, ys])) if front is None else np.asarray(front, dtype=int)
    ax = _axes(ax, figsize=(6.4, 4.4))
    if groups is None:
        ax.scatter(xs[ok], ys[ok], s=8, color="0.75", label="every feasible design", zorder=1)
    else:
        groups = np.asarray(groups, dtype=object)
        for i, g in enumerate(dict.fromkeys(groups[ok])):
            sel = ok & (groups == g)
            ax.scatter(xs[sel], ys[sel], s=9, color=f"C{i % 10}", alpha=0.55, label=str(g), zorder=1)
    order = front[np.argsort(xs[front])]
    ax.step(xs[order], ys[order], where="post", color="black", lw=1.4, zorder=2)
    ax.scatter(xs[order], ys[order], s=28, facecolors="none", edgecolors="black", zorder=3,
               label="Pareto front")
    if labels is not None:
        items = labels.items() if isinstance(labels, dict) else zip(order, labels)
        for i, text in items:
            ax.annotate(str(text), (xs[i], ys[i]), textcoords="offset points", xytext=(5, 4), fontsize=7)
    if highlight is not None:
        ax.scatter([xs[highlight]], [ys[highlight]], s=110, facecolors="none", edgecolors="C3", lw=2, zorder=4,
                   label=highlight_label)
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    plain = FuncFormatter(lambda v, _: f"{v:g}")
    for axis, log in ((ax.xaxis, logx), (ax.yaxis, logy)):
        (ax.set_xscale if axis is ax.xaxis else ax.set_yscale)("log" if log else "linear")
        if log:                                   # plain numbers at 1, 2, 5 x 10^k
            axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(plain)
            axis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=7, loc="upper right")
    ax.grid(True, which="both", alpha=0.25)
    return ax
