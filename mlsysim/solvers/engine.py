"""One forward pass on one device, by the roofline [@williams2009roofline].

A sample is one image for a CNN, or ``seq_len`` tokens for a transformer
(default: one token for a decoder, i.e. a decode step without context; the full
context for an encoder). The pass does F = batch x FLOPs-per-sample and moves
B = weights read + activations in and out, and takes

    t = R(F / (P eta_c), B / (W eta_m)),

the roofline's max rounded near the ridge (:func:`mlsysim.physics.roofline.overlapped_time`).
A CNN with a layer table (:mod:`mlsysim.specs.cnn`) is timed layer by layer, each layer on its
own roofline plus the fixed cost of a kernel: the same layers, feature maps included, that
:class:`mlsysim.OperatorModel` shows.
"""
from __future__ import annotations

import numpy as np

from mlsysim.core import validate
from mlsysim.core.validate import BYTES_PER_ELEMENT
from mlsysim.physics import transformer as tf
from mlsysim.physics.energy import energy, it_power
from mlsysim.physics import operators as ops
from mlsysim.physics.roofline import arithmetic_intensity, compute_time, memory_time, overlapped_time, ridge_point
from mlsysim.physics._array import where
from mlsysim.solvers._common import kv_bytes_per_token_si, count_where, resolve_calibration, resolve_hardware, resolve_model
from mlsysim.solvers.operators import cnn_footprint
from mlsysim.solvers.result import Result
from mlsysim.specs import cnn


class EngineResult(Result):
    TITLE = "Roofline"
    FIELDS = {
        "latency": ("s", "ms", "Latency"),
        "throughput": ("1/s", "1/s", "Throughput (samples/s)"),
        "bottleneck": (None, None, "Bound by"),
        "flops": ("flop", "GFLOP", "FLOPs"),
        "bytes_moved": ("byte", "GB", "Bytes moved"),
        "arithmetic_intensity": ("flop/byte", "flop/byte", "Arithmetic intensity"),
        "ridge_point": ("flop/byte", "flop/byte", "Ridge point"),
        "mfu": ("", "percent", "Model FLOPs utilization"),
        "energy": ("J", "J", "Energy"),
        "memory_footprint": ("byte", "GB", "Memory footprint"),
        "compute_precision": (None, None, "Math precision"),
    }


class Engine:
    """Single-device roofline for one forward pass: ``Engine.solve(model, hardware, batch_size=1, precision="fp16")``.

    ``mfu`` is achieved model FLOP/s over the dense peak. ``energy`` is
    TDP x the calibrated serving power fraction x latency. ``memory_footprint``
    is weights + activations (+ KV cache for transformers); ``feasible`` is
    whether it fits the device's memory.
    """

    @staticmethod
    def solve(model, hardware, batch_size=1, precision="fp16", seq_len=None, calibration=None) -> EngineResult:
        m, h = resolve_model(model), resolve_hardware(hardware)
        b = validate.number(batch_size, "batch_size", integer=True)
        p = validate.precision(precision)
        cal = resolve_calibration(calibration)
        math_precision = h.compute_precision(p)
        bpe, act = BYTES_PER_ELEMENT[p], BYTES_PER_ELEMENT[math_precision]
        peak, bandwidth = h.si["peak_flops"][math_precision], h.si["bandwidth"]

        if m.is_transformer:
            default_len = 1 if m.architecture == "decoder" else m.context_length
            s = validate.number(seq_len if seq_len is not None else default_len, "seq_len", "token", integer=True)
            tokens = b * s
            mean_context = tf.causal_mean_context(s) if m.architecture == "decoder" else s
            flops = tf.linear_flops(m.si["active_parameters"], tokens) + tf.attention_flops(
                m.layers, m.attention_dim, tokens, mean_context)
            params_read = (tf.moe_weights_read(m.si["dense_parameters"], m.si["expert_parameters"], m.experts,
                                               m.active_experts_per_token, tokens) if m.is_moe else m.si["parameters"])
            # activations in and out of each layer, plus the K and V written for the pass
            activations = 2 * tokens * m.hidden_dim * act * m.layers
            kv = tokens * kv_bytes_per_token_si(m, math_precision)
            bytes_moved = params_read * bpe + activations + kv
            footprint = m.si["parameters"] * bpe + kv + tokens * m.hidden_dim * act * 4
        else:
            if seq_len is not None:
                validate.number(seq_len, "seq_len", "token", integer=True)
        eta_c = cal.compute_efficiency_for(math_precision)
        if not m.is_transformer and cnn.has_table(m.key):
            # every layer on its own roofline: the same layers OperatorModel shows
            costs = ops.cnn_layer_costs(cnn.layers(m.key), b, bpe, act)
            t_cs = [compute_time(f, peak, eta_c) for _, f, _ in costs]
            t_ms = [memory_time(B, bandwidth, cal.memory_efficiency) for _, _, B in costs]
            flops, bytes_moved = sum(f for _, f, _ in costs), sum(B for _, _, B in costs)
            t_c, t_m = sum(t_cs), sum(t_ms)
            latency = sum(overlapped_time(c, w, cal.roofline_exponent) + cal.kernel_overhead
                          for c, w in zip(t_cs, t_ms))
            footprint = cnn_footprint(m, b, bpe, act)
        else:
            if not m.is_transformer:
                side = m.input_resolution or 224
                flops = b * m.si["inference_flops"]
                image = 3 * side * side * act
                bytes_moved = m.si["parameters"] * bpe + b * image
                footprint = m.si["parameters"] * bpe + b * image * 8
            t_c = compute_time(flops, peak, eta_c)
            t_m = memory_time(bytes_moved, bandwidth, cal.memory_efficiency)
            latency = overlapped_time(t_c, t_m, cal.roofline_exponent)
        usable = h.si["memory"] * cal.usable_memory_fraction
        fits = footprint <= usable
        reasons = []
        if not np.all(fits):
            reasons.append(f"memory: needs {np.max(footprint) / 1e9:,.1f} GB, has {usable / 1e9:,.1f} GB usable "
                           f"on {h.key}{count_where(np.logical_not(fits))}")
        values = {
            "latency": latency,
            "throughput": b / latency,
            "bottleneck": where(t_c >= t_m, "Compute", "Memory"),
            "flops": flops,
            "bytes_moved": bytes_moved,
            "arithmetic_intensity": arithmetic_intensity(flops, bytes_moved),
            "ridge_point": ridge_point(peak, bandwidth),
            "mfu": flops / (latency * peak),
            "energy": energy(it_power(1, h.si["tdp"], cal.serving_power_fraction, 0.0), latency),
            "memory_footprint": footprint,
            "compute_precision": math_precision,
        }
        inputs = {"model": m, "hardware": h, "batch_size": batch_size, "precision": p, "seq_len": seq_len}
        return EngineResult(values, feasible=fits, reasons=reasons, inputs=inputs)
