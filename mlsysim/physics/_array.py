"""Elementwise helpers that accept both Python floats and numpy arrays.

numpy's ufuncs are slow on Python scalars (about a microsecond a call), and a
single solve must stay in tens of microseconds, so scalars take the builtin path.
"""
from __future__ import annotations

import numpy as np


def maximum(a, b):
    """max(a, b) elementwise."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.maximum(a, b)
    return a if a >= b else b


def minimum(a, b):
    """min(a, b) elementwise."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.minimum(a, b)
    return a if a <= b else b


def where(condition, a, b):
    """a where condition else b, elementwise."""
    if isinstance(condition, np.ndarray) or isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.where(condition, a, b)
    return a if condition else b


def power(base, exponent):
    """base ** exponent elementwise."""
    if isinstance(base, np.ndarray) or isinstance(exponent, np.ndarray):
        return np.power(base, exponent)
    return base ** exponent


def sum_max_affine(a0, a1, b0, b1, n):
    """Exact sum over i = 0 .. n-1 of max(a0 + a1 i, b0 + b1 i), elementwise.

    Both terms are straight lines in i, so their difference d(i) = D + e i is too;
    the sum is the sum of the b line plus the sum of d over the i where d >= 0.
    Used to add up decode steps whose compute and memory times both grow
    linearly with the context.
    """
    a0, a1, b0, b1, n = (np.asarray(v, dtype=float) for v in (a0, a1, b0, b1, n))
    base = n * b0 + b1 * n * (n - 1) / 2
    D, e = a0 - b0, a1 - b1
    root = np.where(e != 0, -D / np.where(e != 0, e, 1.0), 0.0)     # never divides by zero
    lo = np.where(e > 0, np.clip(np.ceil(root), 0, n), 0.0)
    hi = np.where(e < 0, np.clip(np.floor(root) + 1, 0, n), n)
    hi = np.where((e == 0) & (D < 0), 0.0, hi)
    k = np.maximum(hi - lo, 0)
    extra = k * D + e * k * (lo + hi - 1) / 2
    total = base + extra
    return total if total.ndim else float(total)
