"""One forward pass on one device, by the roofline [@williams2009roofline].

A sample is one image for a CNN, or ``seq_len`` tokens for a transformer
(default: one token for a decoder, i.e. a decode step without context; the full
context for an encoder). The pass does F = batch x FLOPs-per-sample and moves
B = weights read + activations in and out, and takes

    t = max(F / (P eta_c), B / (W eta_m)).
"""
from __future__ import annotations

import numpy as np

from mlsysim.core import validate
from mlsysim.core.validate import BYTES_PER_ELEMENT
from mlsysim.physics import transformer as tf
from mlsysim.physics.energy import energy
from mlsysim.physics.roofline import compute_time, memory_time
from mlsysim.physics._array import maximum, where
from mlsysim.solvers._common import count_where, resolve_calibration, resolve_hardware, resolve_model
from mlsysim.solvers.result import Result


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
            mean_context = (s + 1) / 2 if m.architecture == "decoder" else s
            flops = tf.linear_flops(m.si["active_parameters"], tokens) + tf.attention_flops(
                m.layers, m.attention_dim, tokens, mean_context)
            params_read = (tf.moe_weights_read(m.si["dense_parameters"], m.si["expert_parameters"], m.experts,
                                               m.active_experts_per_token, tokens) if m.is_moe else m.si["parameters"])
            # activations in and out of each layer, plus the K and V written for the pass
            activations = 2 * tokens * m.hidden_dim * act * m.layers
            kv = tokens * m.kv_elements_per_token() * act
            bytes_moved = params_read * bpe + activations + kv
            footprint = m.si["parameters"] * bpe + kv + tokens * m.hidden_dim * act * 4
        else:
            if seq_len is not None:
                validate.number(seq_len, "seq_len", "token", integer=True)
            side = m.input_resolution or 224
            flops = b * m.si["inference_flops"]
            image = 3 * side * side * act
            bytes_moved = m.si["parameters"] * bpe + b * image
            footprint = m.si["parameters"] * bpe + b * image * 8

        t_c = compute_time(flops, peak, cal.compute_efficiency_for(math_precision))
        t_m = memory_time(bytes_moved, bandwidth, cal.memory_efficiency)
        latency = maximum(t_c, t_m)
        fits = footprint <= h.si["memory"]
        reasons = []
        if not np.all(fits):
            reasons.append(f"memory: needs {np.max(footprint) / 1e9:,.1f} GB, has {h.si['memory'] / 1e9:,.1f} GB "
                           f"on {h.key}{count_where(np.logical_not(fits))}")
        values = {
            "latency": latency,
            "throughput": b / latency,
            "bottleneck": where(t_c >= t_m, "Compute", "Memory"),
            "flops": flops,
            "bytes_moved": bytes_moved,
            "arithmetic_intensity": flops / bytes_moved,
            "ridge_point": peak / bandwidth,
            "mfu": flops / (latency * peak),
            "energy": energy(h.si["tdp"] * cal.serving_power_fraction, latency),
            "memory_footprint": footprint,
            "compute_precision": math_precision,
        }
        inputs = {"model": m, "hardware": h, "batch_size": batch_size, "precision": p, "seq_len": seq_len}
        return EngineResult(values, feasible=fits, reasons=reasons, inputs=inputs)
