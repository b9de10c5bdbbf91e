"""The roofline model [@williams2009roofline].

A kernel that does F FLOPs and moves B bytes on a device with peak P FLOP/s and
memory bandwidth W bytes/s takes at least max(F / P, B / W). Its arithmetic
intensity is I = F / B; the ridge point I* = P / W separates memory-bound
(I < I*) from compute-bound (I > I*) work.
"""
from __future__ import annotations

from mlsysim.physics._array import maximum, minimum


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


def roofline_time(flops, bytes_moved, peak_flops, bandwidth, compute_efficiency=1.0, memory_efficiency=1.0):
    """t = max(F / (P eta_c), B / (W eta_m)) [@williams2009roofline]."""
    return maximum(compute_time(flops, peak_flops, compute_efficiency),
                   memory_time(bytes_moved, bandwidth, memory_efficiency))


def gemm_time(m, n, k, bytes_per_element, peak_flops, bandwidth, compute_efficiency=1.0, memory_efficiency=1.0,
              overhead=0.0):
    """One (m x k) @ (k x n) matrix multiply as one kernel:

        t = max(2 m n k / (P eta_c), b (m k + k n + m n) / (W eta_m)) + t_0

    It reads both operands and writes the product once (b bytes per element); t_0 is
    the fixed cost of one kernel (launch, prologue, tail) that no bandwidth hides
    [@williams2009roofline]. For a transformer projection m is the tokens in the
    pass and k x n the weight matrix on one tensor-parallel worker.
    """
    flops = 2 * m * n * k
    bytes_moved = bytes_per_element * (m * k + k * n + m * n)
    return roofline_time(flops, bytes_moved, peak_flops, bandwidth, compute_efficiency, memory_efficiency) + overhead
