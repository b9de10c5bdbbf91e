"""The roofline model [@williams2009roofline].

A kernel that does F FLOPs and moves B bytes on a device with peak P FLOP/s and
memory bandwidth W bytes/s takes at least max(F / P, B / W). Its arithmetic
intensity is I = F / B; the ridge point I* = P / W separates memory-bound
(I < I*) from compute-bound (I > I*) work.
"""
from __future__ import annotations

import math

import numpy as np

from mlsysim.physics._array import maximum, minimum, power


def arithmetic_intensity(flops, bytes_moved):
    """I = F / B, in FLOP per byte [@williams2009roofline]."""
    return flops / bytes_moved


def ridge_point(peak_flops, bandwidth):
    """I* = P / W, the intensity at which the roofline bends [@williams2009roofline]."""
    return peak_flops / bandwidth


def attainable_flops(intensity, peak_flops, bandwidth):
    """P_att = min(P, I x W): the roof at intensity I [@williams2009roofline]."""
    return minimum(peak_flops, intensity * bandwidth)


def compute_time(flops, peak_flops, efficiency=1.0):
    """t_c = F / (P x eta_c): time if compute were the only limit [@williams2009roofline]."""
    return flops / (peak_flops * efficiency)


def memory_time(bytes_moved, bandwidth, efficiency=1.0):
    """t_m = B / (W x eta_m): time if memory traffic were the only limit [@williams2009roofline]."""
    return bytes_moved / (bandwidth * efficiency)


def overlapped_time(t_compute, t_memory, exponent=math.inf):
    """t = (t_c^p + t_m^p)^(1/p): how far compute and memory traffic overlap in one kernel.

    p -> infinity is the classic roofline, t = max(t_c, t_m): the slower resource hides the
    other completely [@williams2009roofline]. Real kernels do not quite manage that near the
    ridge, where neither resource has slack to hide the other (pipeline fill, tile tails), so
    measured times round the roofline's corner; with p = 2 a kernel whose compute and memory
    times are equal takes sqrt(2) = 1.41 times either, not 1.0 times. Far from the ridge the two
    forms agree (t_c = 10 t_m gives 1.005 t_c at p = 2). The p-norm is homogeneous of degree 1,
    so scaling both times scales t by the same factor. ``exponent`` comes from
    :mod:`mlsysim.calibration` (fitted on GEMM timings [@agrawal2024vidur]).
    """
    if getattr(exponent, "ndim", 0) == 0 and exponent == math.inf:
        return maximum(t_compute, t_memory)
    if getattr(exponent, "ndim", 0) == 0 and exponent == 1.5 and isinstance(t_compute + t_memory, np.ndarray):
        # the calibrated p = 3/2 with square and cube roots: the same number, several times faster
        # than a general power on large arrays (Monte Carlo draws, design-space grids)
        s = t_compute * np.sqrt(t_compute) + t_memory * np.sqrt(t_memory)
        return np.cbrt(s * s)
    return power(power(t_compute, exponent) + power(t_memory, exponent), 1.0 / exponent)


def roofline_time(flops, bytes_moved, peak_flops, bandwidth, compute_efficiency=1.0, memory_efficiency=1.0,
                  exponent=math.inf):
    """t = max(F / (P eta_c), B / (W eta_m)) [@williams2009roofline], or its rounded form
    (:func:`overlapped_time`) for a finite ``exponent``."""
    return overlapped_time(compute_time(flops, peak_flops, compute_efficiency),
                           memory_time(bytes_moved, bandwidth, memory_efficiency), exponent)


def gemm_time(m, n, k, bytes_per_element, peak_flops, bandwidth, compute_efficiency=1.0, memory_efficiency=1.0,
              overhead=0.0, exponent=math.inf):
    """One (m x k) @ (k x n) matrix multiply as one kernel:

        t = max(2 m n k / (P eta_c), b (m k + k n + m n) / (W eta_m)) + t_0

    (the max rounded by :func:`overlapped_time` for a finite ``exponent``).

    It reads both operands and writes the product once (b bytes per element); t_0 is
    the fixed cost of one kernel (launch, prologue, tail) that no bandwidth hides
    [@williams2009roofline]. For a transformer projection m is the tokens in the
    pass and k x n the weight matrix on one tensor-parallel worker.
    """
    from mlsysim.physics.operators import gemm_bytes, gemm_flops

    flops = gemm_flops(m, n, k)
    bytes_moved = gemm_bytes(m, n, k, bytes_per_element, bytes_per_element)
    return roofline_time(flops, bytes_moved, peak_flops, bandwidth, compute_efficiency, memory_efficiency,
                         exponent) + overhead
