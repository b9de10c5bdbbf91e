"""The record every solver returns.

A result stores SI floats (or numpy arrays, for sweeps) and hands out pint
Quantities in readable units when a field is read, so that a solve stays cheap
and a reader still sees ``r.ttft -> 212.4 ms``. Fields whose unit is ``None``
(``feasible``, ``bottleneck``, ``*_usd``) are returned as they are.
"""
from __future__ import annotations

import html

import numpy as np

from mlsysim.core.format import format_value


class Result:
    """Frozen record of one solve. Subclasses set ``FIELDS`` = {name: (si_unit, display_unit, label)}."""

    FIELDS: dict = {}
    TITLE = "Result"

    __slots__ = ("_values", "_inputs", "feasible", "reasons", "_cache")

    def __init__(self, values: dict, *, feasible, reasons=(), inputs: dict | None = None):
        shapes = [v.shape for v in values.values() if isinstance(v, np.ndarray) and v.ndim]
        if shapes:  # a sweep: every per-point field takes the sweep's shape
            shape = np.broadcast_shapes(*shapes)
            values = {k: np.broadcast_to(v, shape) if isinstance(v, (np.ndarray, float, int, np.generic))
                      and not isinstance(v, bool) else v for k, v in values.items()}
            feasible = np.broadcast_to(feasible, shape)
        set_ = object.__setattr__
        set_(self, "_values", values)
        set_(self, "_inputs", inputs or {})
        set_(self, "feasible", feasible)
        set_(self, "reasons", tuple(reasons))
        set_(self, "_cache", {})

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __getattr__(self, name):
        values = object.__getattribute__(self, "_values")
        if name not in values:
            inputs = object.__getattribute__(self, "_inputs")
            if name in inputs:
                return inputs[name]
            raise AttributeError(f"{type(self).__name__} has no field '{name}'; fields: {', '.join(self.field_names())}")
        cache = object.__getattribute__(self, "_cache")
        if name not in cache:
            unit = self.FIELDS.get(name, (None,))[0]
            value = values[name]
            if unit is not None:
                from mlsysim.core.units import Q_

                display = self.FIELDS[name][1]
                value = Q_(value, unit)
                if display != unit:
                    value = value.to(display)
            cache[name] = value
        return cache[name]

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self.field_names()))

    def field_names(self) -> list[str]:
        return [n for n in self.FIELDS if n in self._values] + ["feasible", "reasons"]

    @property
    def inputs(self) -> dict:
        """The inputs this result was solved for."""
        return dict(self._inputs)

    # -- presentation ------------------------------------------------------
    def _rows(self):
        for name in self.FIELDS:
            if name not in self._values:
                continue
            label = self.FIELDS[name][2]
            yield label, format_value(getattr(self, name))
        yield "Feasible", format_value(self.feasible)
        if self.reasons:
            yield "Reasons", "; ".join(self.reasons)

    def _header(self) -> str:
        specs = [getattr(v, "key") for v in self._inputs.values() if hasattr(v, "key") and hasattr(v, "source")]
        rest = [f"{k}={format_value(v)}" for k, v in self._inputs.items()
                if not (hasattr(v, "key") and hasattr(v, "source")) and v is not None and not isinstance(v, dict)]
        text = self.TITLE + (": " + " on ".join(specs) if specs else "")
        return text + (f" ({', '.join(rest)})" if rest else "")

    def __repr__(self) -> str:
        rows = list(self._rows())          # (label, value) or (label, value, source key)
        width = max(len(row[0]) for row in rows)
        lines = [self._header()] + [f"  {row[0]:<{width}}  {row[1]}" + (f"  (source: {row[2]})" if row[2:] else "")
                                    for row in rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """A table; a row that has a source cites it as <cite data-cites="key">, which the book's
        pages turn into an author-year link to their reference list."""
        rows = list(self._rows())
        sourced = any(row[2:] for row in rows)

        def source(row):
            if not sourced:
                return ""
            key = html.escape(row[2]) if row[2:] else ""
            cite = f"<cite class='citation' data-cites='{key}'><a href='#ref-{key}'>{key}</a></cite>" if key else ""
            return f"<td style='text-align:left'>{cite}</td>"
        head = "<tr><th></th><th style='text-align:right'>value</th><th style='text-align:left'>source</th></tr>" \
            if sourced else ""
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(row[0])}</th>"
                       f"<td style='text-align:right;white-space:nowrap'>{html.escape(row[1])}</td>{source(row)}</tr>"
                       for row in rows)
        return f"<table class='mlsysim-result'><caption>{html.escape(self._header())}</caption>{head}{body}</table>"

    def to_dict(self) -> dict:
        """JSON-ready: {field: {"value": number or list, "unit": str}}, plus feasible and reasons."""
        out = {}
        for name in self.FIELDS:
            if name not in self._values:
                continue
            value = getattr(self, name)
            if hasattr(value, "magnitude"):
                out[name] = {"value": _plain(value.magnitude), "unit": f"{value.units:~P}" or "1"}
            else:
                out[name] = _plain(value)
        out["feasible"] = _plain(self.feasible)
        out["reasons"] = list(self.reasons)
        return out


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
