"""Wafer-scale engines: weights streamed into on-chip SRAM one layer at a time.

A wafer-scale engine keeps its working set in on-chip SRAM. When a model's weights do not fit,
it can stream them from an external store one layer at a time while the activations stay on
the wafer ("weight streaming" [@alcf2024cerebras]). A layer then waits for whichever is slower:
its weights arriving over the system's I/O, or its math.
"""
from __future__ import annotations

import math

from mlsysim.physics.roofline import roofline_time


def streamed_layer_time(layer_weight_bytes, layer_flops, io_bandwidth, peak_flops, compute_efficiency=1.0,
                        io_efficiency=1.0):
    """One layer under weight streaming: t = max(W_l / (B_io eta_io), F_l / (P eta_c))
    [@alcf2024cerebras] -- the roofline (:func:`mlsysim.physics.roofline.roofline_time`, the
    textbook max) with the external I/O link in place of memory bandwidth. 2 GB of fp16 weights
    over 150 GB/s take 13.3 ms; at 100 TFLOP of math per layer on 125 PFLOP/s (0.8 ms) the layer
    waits for its weights."""
    return roofline_time(layer_flops, layer_weight_bytes, peak_flops, io_bandwidth, compute_efficiency,
                         io_efficiency, math.inf)
