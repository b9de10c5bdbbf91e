"""Input checks for every public entry point.

Each check converts one argument to a plain SI float (or a float numpy array,
for sweeps) and raises :class:`~mlsysim.errors.InputError` naming the parameter
when the value has the wrong type, unit or range. Solvers call these once at
the edge and then compute with floats.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from mlsysim.errors import InputError, UnknownNameError

#: Bytes per element of each precision the engine knows. tf32 is stored as 32 bits.
BYTES_PER_ELEMENT = {
    "fp64": 8.0, "fp32": 4.0, "tf32": 4.0, "bf16": 2.0, "fp16": 2.0,
    "fp8": 1.0, "int8": 1.0, "fp4": 0.5, "int4": 0.5,
}


def is_quantity(value) -> bool:
    """True for a pint Quantity (checked without importing pint)."""
    return hasattr(value, "magnitude") and hasattr(value, "units") and hasattr(value, "to")


def _describe(value) -> str:
    if is_quantity(value):
        return f"{value:~P}"
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape}"
    return repr(value)


def number(value, parameter: str, unit: str | None = None, *, integer: bool = False,
           minimum: float = 0.0, inclusive: bool = False, maximum: float | None = None):
    """Return ``value`` as an SI float (or float array) after checking it.

    ``unit`` is the pint unit a Quantity must convert to (e.g. ``"byte/s"``); a plain
    number is taken to be in that unit already. ``minimum`` is exclusive unless
    ``inclusive``; ``integer`` requires whole numbers.
    """
    what = "an integer" if integer else "a number"
    bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"
    expected = f"{what} {bound}" + (f" and <= {maximum:g}" if maximum is not None else "")
    if unit:
        expected += f" (plain number in {unit}, or a Quantity convertible to {unit})"
    raw = value
    if is_quantity(value):
        if unit is None:
            raise InputError(parameter, "a plain number", _describe(raw))
        try:
            value = value.to(unit).magnitude
        except Exception:
            raise InputError(parameter, f"a quantity in {unit}", _describe(raw),
                             detail=f"{value.units:~P} has the wrong dimension") from None
    if isinstance(value, bool) or isinstance(value, (str, bytes)) or value is None:
        raise InputError(parameter, expected, raw)
    if isinstance(value, numbers.Real):
        value = float(value)
        if math.isnan(value) or math.isinf(value):
            raise InputError(parameter, expected, raw)
        if (value < minimum) if inclusive else (value <= minimum):
            raise InputError(parameter, expected, raw)
        if maximum is not None and value > maximum:
            raise InputError(parameter, expected, raw)
        if integer and not value.is_integer():
            raise InputError(parameter, expected, raw)
        return value
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InputError(parameter, expected + " or an array of them", _describe(raw)) from None
    if array.size == 0:
        raise InputError(parameter, "a non-empty array", _describe(raw))
    if not np.all(np.isfinite(array)):
        raise InputError(parameter, expected, "an array containing NaN or infinity")
    low = array.min()
    if (low < minimum) if inclusive else (low <= minimum):
        raise InputError(parameter, expected, f"an array with minimum {low:g}")
    if maximum is not None and array.max() > maximum:
        raise InputError(parameter, expected, f"an array with maximum {array.max():g}")
    if integer and not np.all(array == np.round(array)):
        raise InputError(parameter, expected, "an array with fractional values")
    return array if array.ndim else float(array)


def precision(value, parameter: str = "precision") -> str:
    """Check a precision name (``"fp16"``, ``"int8"``, ...) and return it lower-cased."""
    if not isinstance(value, str):
        raise InputError(parameter, f"one of {', '.join(BYTES_PER_ELEMENT)}", value)
    name = value.strip().lower()
    if name not in BYTES_PER_ELEMENT:
        raise UnknownNameError("precision", value, list(BYTES_PER_ELEMENT))
    return name


def choice(value, parameter: str, options) -> str:
    """Check that ``value`` is one of ``options``."""
    if value not in options:
        raise InputError(parameter, f"one of {', '.join(map(str, options))}", value)
    return value


def is_array(*values) -> bool:
    """True when any value is a numpy array (the sweep path)."""
    return any(isinstance(v, np.ndarray) for v in values)
