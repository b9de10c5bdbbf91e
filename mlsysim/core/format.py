"""Short readable text for engine values: Quantities, numbers, booleans, arrays.

Lives in the core layer so that specs, solvers and front ends can all use it
without reaching up the layers.
"""
from __future__ import annotations

import numpy as np


def count_where(mask) -> str:
    """' at 2 of 10 points (index 3, 7)' for a boolean array over a sweep, naming which points
    (the first five; an index tuple for a grid); '' for a scalar."""
    if isinstance(mask, np.ndarray) and mask.ndim:
        where = np.argwhere(mask)
        names = [str(int(i[0])) if mask.ndim == 1 else str(tuple(int(j) for j in i)) for i in where[:5]]
        more = f", … {len(where) - 5} more" if len(where) > 5 else ""
        label = "index" if len(where) == 1 else "indices"
        return f" at {int(mask.sum())} of {mask.size} points ({label} {', '.join(names)}{more})" if names else \
            f" at 0 of {mask.size} points"
    return ""


def format_value(value) -> str:
    """A short readable string for a Quantity, number, bool, string or array."""
    if hasattr(value, "magnitude"):
        noun = _COUNT_NOUNS.get(_base_unit(value))
        if noun is not None and np.ndim(value.magnitude) == 0:
            return _count(float(value.to(_base_unit(value)).magnitude), noun)
        magnitude, unit = value.magnitude, f"{value.units:~P}"
        if str(value.dimensionality) == "dimensionless" and unit in ("", "dimensionless"):
            unit = ""
        text = format_value(magnitude)
        return f"{text} {unit}".strip()
    if isinstance(value, np.ndarray):
        if value.size == 0:
            return "[]"
        if value.dtype.kind in "fiu":
            low, high = value.min(), value.max()
            return f"{_number(low)} .. {_number(high)} ({value.size} points)"
        uniques = list(dict.fromkeys(value.ravel().tolist()))
        return ", ".join(map(str, uniques[:4])) + (" ..." if len(uniques) > 4 else "")
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return _number(value)
    return str(value)


#: Units that count things, and the noun a count of them reads with ("70.6 billion",
#: "15 trillion tokens") instead of an SI prefix on the unit ("70.6 Gcount", "15,000 Gtok").
_COUNT_NOUNS = {"count": "", "token": "tokens"}
_SCALES = ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"))


def _base_unit(value) -> str:
    """The unprefixed name of a Quantity's unit when it is one of the counting units, else ''."""
    units = dict(value.unit_items()) if hasattr(value, "unit_items") else {}
    if len(units) != 1:
        return ""
    (name, power), = units.items()
    if power != 1:
        return ""
    for base in _COUNT_NOUNS:
        if name == base or name.endswith(base):
            return base
    return ""


def _count(x: float, noun: str) -> str:
    """A count in words of scale: 7.06e10 -> "70.6 billion", 1.5e13 tokens -> "15 trillion tokens"."""
    for scale, word in _SCALES:
        if abs(x) >= scale:
            return f"{x / scale:.3g} {word}" + (f" {noun}" if noun else "")
    return _number(x) + (f" {noun}" if noun else "")


def _number(x) -> str:
    x = float(x)
    if x == 0:
        return "0"
    if 1e6 <= abs(x) < 1e12:
        return f"{x:,.0f}"
    if abs(x) >= 1e12 or abs(x) < 1e-3:
        return f"{x:.3g}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"
