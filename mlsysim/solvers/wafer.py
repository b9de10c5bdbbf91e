"""Serving on a wafer-scale engine (weights in on-chip SRAM), in its two modes.

A wafer-scale device (``memory_kind: sram`` in the catalogue, e.g. ``"WSE3"``) has tens of
gigabytes of SRAM at petabytes per second instead of HBM, and a comparatively thin link off the
wafer. It can serve a model two ways [@alcf2024cerebras]:

- **resident**: the weights stay in SRAM, split layer by layer over ``systems`` wafers; a token
  passes through the wafers in turn (a pipeline), so its time is the whole model's time on one
  wafer's SRAM bandwidth and compute (the same pass equations as a GPU,
  :class:`~mlsysim.solvers.serving.ReplicaPhysics`) plus a hop between consecutive wafers
  (:func:`mlsysim.physics.collectives.p2p_time`). With ``systems`` batches in flight, one per
  wafer, throughput is ``systems`` x batch / step time. Each wafer must hold its layers' weights
  and KV cache in its usable SRAM.
- **streamed**: the weights stay in external memory and arrive one layer at a time over the
  system's I/O while activations and the KV cache stay on the wafer; each layer takes
  max(weight bytes / I/O bandwidth, layer FLOPs / achieved compute)
  (:func:`mlsysim.physics.wafer.streamed_layer_time`), plus attention over the on-wafer KV cache
  and the fixed per-layer costs. ``systems`` wafers each receive the same weights (broadcast)
  and serve their own batch. Each wafer must hold its batch's KV cache and two layers of weights
  (one in use, the next arriving).

The efficiency factors (achieved fraction of peak compute and bandwidth, per-kernel and per-message
fixed costs) are the GPU-fitted ones of :mod:`mlsysim.calibration`: no wafer-scale measurement
was available to fit them, so a prediction here is the GPU's equations on the wafer's numbers.
"""
from __future__ import annotations

import numpy as np

from mlsysim.core import validate
from mlsysim.errors import InputError
from mlsysim.physics.collectives import p2p_time
from mlsysim.physics.training import stage_layers
from mlsysim.physics.wafer import streamed_layer_time
from mlsysim.solvers._common import count_where
from mlsysim.solvers.result import Result
from mlsysim.solvers.serving import ReplicaPhysics

MODES = ("resident", "streamed")


class WaferScaleResult(Result):
    """A model served on ``systems`` wafer-scale systems in one mode."""

    TITLE = "Wafer-scale serving"
    FIELDS = {
        "mode": (None, None, "Mode"),
        "systems": (None, None, "Systems"),
        "ttft": ("s", "ms", "Time to first token"),
        "itl": ("s", "ms", "Inter-token latency"),
        "tokens_per_second_per_user": ("token/s", "token/s", "Tokens/s per user"),
        "throughput": ("token/s", "token/s", "Throughput, all systems"),
        "decode_bottleneck": (None, None, "Decode bound by"),
        "weights_size": ("byte", "GB", "Weights"),
        "kv_cache_size": ("byte", "GB", "KV cache"),
        "sram_required": ("byte", "GB", "SRAM needed per system"),
        "sram_usable": ("byte", "GB", "SRAM usable per system"),
        "memory_utilization": ("", "percent", "Share of usable SRAM"),
        "power": ("W", "kW", "Power, all systems"),
    }


class WaferScaleModel:
    """Serve a decoder LLM on wafer-scale systems: ``solve(model, hardware="WSE3", seq_len=2048,
    batch_size=1, precision="fp16", systems=1, mode="resident", kv_precision=None, calibration=None)``.

    ``mode`` is ``"resident"`` (weights held in SRAM across ``systems`` wafers, layer by layer) or
    ``"streamed"`` (weights streamed from external memory; ``systems`` wafers serve separate
    batches). Infeasible, with the reason, when a wafer's SRAM cannot hold what its mode keeps
    on it. ``seq_len``, ``batch_size`` and ``systems`` accept numpy arrays."""

    def solve(self, model, hardware="WSE3", seq_len=2048, batch_size=1, precision="fp16", systems=1,
              mode="resident", kv_precision=None, calibration=None) -> WaferScaleResult:
        rp = ReplicaPhysics(model, hardware, precision, 1, kv_precision, calibration)
        h, m, cal = rp.hardware, rp.model, rp.calibration
        if h.memory_kind != "sram":
            raise InputError("hardware", "a wafer-scale device with on-chip SRAM (memory_kind: sram), e.g. 'WSE3'",
                             h.key, detail="a device with HBM is served by mlsysim.ServingModel")
        mode = validate.choice(mode, "mode", MODES)
        s = validate.number(seq_len, "seq_len", "token", integer=True)
        b = validate.number(batch_size, "batch_size", integer=True)
        k = validate.number(systems, "systems", integer=True)
        if np.any(np.asarray(k) > m.layers):
            raise InputError("systems", f"at most {m.name}'s {m.layers} layers (one layer per system at least)",
                             systems)
        usable = h.si["memory"] * cal.usable_memory_fraction
        kv_total = rp.kv_per_token * s * b
        act = rp.act_bytes * m.hidden_dim
        if mode == "resident":
            share = stage_layers(m.layers, k) / m.layers          # the wafer with the most layers
            needed = (rp.weights + kv_total) * share
            hop = p2p_time(b * act, h.si["link"], cal.allreduce_latency, cal.network_efficiency)
            prompt_hop = p2p_time(b * s * act, h.si["link"], cal.allreduce_latency, cal.network_efficiency)
            ttft = rp.prefill(s, b)[0] + (k - 1) * prompt_hop
            itl = rp.decode_step(s, b)[0] + (k - 1) * hop
            l_c, l_m = rp.linear_terms(b)
            fixed = rp.fixed_time(b) + (k - 1) * hop
            in_flight = k
            kept = "its layers' weights and KV cache"
        else:
            layer_weights = rp.weights_read(b) / m.layers
            needed = kv_total + 2 * rp.weights / m.layers
            io = h.si["external_bandwidth"]
            if io is None:
                raise InputError("hardware", "a wafer-scale device that states its external_bandwidth", h.key)

            def passes(tokens, mean_context, kv_tokens):
                flops = 2 * m.si["active_parameters"] * tokens / m.layers
                linear = m.layers * streamed_layer_time(layer_weights, flops, io, rp.peak, rp.compute_efficiency)
                a_c, a_m = rp.attention_terms(tokens, mean_context, kv_tokens)
                return linear + rp._overlap(a_c, a_m) + rp.fixed_time(tokens)

            ttft = passes(b * s, (s + 1) / 2, b * s) + rp.prefill_overhead
            itl = passes(b, s, b * s)
            l_c = m.layers * 2 * m.si["active_parameters"] * b / m.layers / (rp.peak * rp.compute_efficiency)
            l_m = m.layers * layer_weights / io
            fixed = rp.fixed_time(b)
            in_flight = k
            kept = "its batch's KV cache and two layers of weights"
        a_c, a_m = rp.attention_terms(b, s, b * s)
        parts = np.array(np.broadcast_arrays(l_c + a_c, l_m + a_m, fixed), dtype=float)
        names = np.array(["compute", "memory" if mode == "resident" else "weight streaming (I/O)", "fixed costs"],
                         dtype=object)
        bottleneck = np.asarray(names[np.argmax(parts, axis=0)], dtype=object)
        fits = needed <= usable
        reasons = []
        if not np.all(fits):
            worst = float(np.max(needed))
            systems_needed = int(np.ceil(float(np.max(rp.weights + kv_total)) / float(usable)))
            advice = (f"; hold them across {systems_needed} or more systems, or stream them (mode='streamed')"
                      if mode == "resident" else "; shrink the batch or the context, or use more systems "
                                                 "for more batches")
            reasons.append(f"memory ({mode}): a system must keep {kept} in SRAM, {worst / 1e9:,.1f} GB; "
                           f"{usable / 1e9:,.1f} GB is usable ({np.mean(cal.usable_memory_fraction):.0%} of "
                           f"{h.si['memory'] / 1e9:,.1f} GB) on each {h.key}{count_where(np.logical_not(fits))}"
                           + advice)
        in_context = s <= m.context_length
        if not np.all(in_context):
            reasons.append(f"context: {float(np.max(s)):,.0f} tokens exceeds {m.name}'s context length of "
                           f"{m.context_length:,} tokens{count_where(np.logical_not(in_context))}")
        feasible = fits & in_context
        values = {
            "mode": mode, "systems": k, "ttft": ttft, "itl": itl, "tokens_per_second_per_user": 1.0 / itl,
            "throughput": in_flight * b / itl, "decode_bottleneck": bottleneck if bottleneck.ndim else str(bottleneck[()]),
            "weights_size": rp.weights, "kv_cache_size": kv_total, "sram_required": needed, "sram_usable": usable,
            "memory_utilization": needed / usable, "power": k * h.si["tdp"] * cal.serving_power_fraction,
        }
        inputs = {"model": m, "hardware": h, "seq_len": seq_len, "batch_size": batch_size,
                  "precision": rp.precision, "systems": systems, "mode": mode}
        return WaferScaleResult(values, feasible=feasible if np.ndim(feasible) else bool(feasible),
                                reasons=reasons, inputs=inputs)
