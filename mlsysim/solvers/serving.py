"""LLM serving on one replica: time to first token, time per output token, memory.

A replica is ``tensor_parallel`` devices of one kind. Prefill processes the
prompt in one pass and is usually compute-bound; each decode step reads all
(active) weights and the KV cache for one new token per sequence and is
usually memory-bound [@pope2022efficiently]. Tensor parallelism splits FLOPs,
weight and KV traffic across the devices and adds two all-reduces of the
activations per layer [@shoeybi2019megatron].

A pass over T tokens runs two kinds of kernel one after the other, each on its own
(rounded) roofline (:func:`mlsysim.physics.roofline.overlapped_time`):

    t = R(F_lin / (p P eta_c), B_w / (p W eta_m))          the linear layers (GEMMs)
      + R(F_att / (p P eta_c), B_kv / (p W eta_kv))        attention over the KV cache
      + L (n_k t_k + 2 t_allreduce(T x d x b_act))          fixed per-layer costs
      + L t_prefill                                        once per prefill pass

with R(a, b) = (a^q + b^q)^(1/q), F and B from :mod:`mlsysim.physics.transformer`, and
every factor from :mod:`mlsysim.calibration`. R is homogeneous, so a decode step is
exactly affine in its context x: t(x) = t_0 + a x, and a sum of decode steps over a
growing context has a closed form. Memory: a stack may fill ``usable_memory_fraction``
of the devices' physical memory with weights and KV cache.
"""
from __future__ import annotations

import numpy as np

from mlsysim.core import validate
from mlsysim.core.validate import BYTES_PER_ELEMENT
from mlsysim.errors import InputError
from mlsysim.physics import transformer as tf
from mlsysim.physics._array import where
from mlsysim.physics.collectives import ring_allreduce_time
from mlsysim.physics.energy import it_power
from mlsysim.physics.kv_cache import sequences_that_fit
from mlsysim.physics.roofline import compute_time, memory_time, overlapped_time
from mlsysim.solvers._common import (count_where, kv_bytes_per_token_si, resolve_calibration, resolve_hardware,
                                     resolve_model)
from mlsysim.solvers.result import Result


class ServingResult(Result):
    """What one replica does for one request shape."""

    TITLE = "Serving"
    FIELDS = {
        "ttft": ("s", "ms", "Time to first token"),
        "itl": ("s", "ms", "Inter-token latency"),
        "throughput": ("token/s", "token/s", "Decode throughput"),
        "prefill_bottleneck": (None, None, "Prefill bound by"),
        "decode_bottleneck": (None, None, "Decode bound by"),
        "weights_size": ("byte", "GB", "Weights"),
        "kv_cache_size": ("byte", "GB", "KV cache"),
        "total_memory_required": ("byte", "GB", "Memory required"),
        "memory_capacity": ("byte", "GB", "Replica memory"),
        "usable_memory": ("byte", "GB", "Usable for weights and KV"),
        "memory_utilization": ("", "percent", "Share of usable memory"),
        "compute_precision": (None, None, "Math precision"),
    }


class ReplicaPhysics:
    """Prefill and decode times of one replica as closed-form functions of batch and
    context (floats or arrays), shared by every serving solver so they can never disagree."""

    def __init__(self, model, hardware, precision="fp16", tensor_parallel=1, kv_precision=None, calibration=None):
        m = self.model = resolve_model(model)
        h = self.hardware = resolve_hardware(hardware)
        if m.architecture != "decoder":
            article = "an" if m.architecture[0] in "aeiou" else "a"
            raise InputError("model", "a decoder (generative) LLM for serving", m.key,
                             detail=f"{m.key} is {article} {m.architecture} model; use mlsysim.Engine.solve for one forward pass")
        self.precision = validate.precision(precision)
        kv_default = "fp16" if BYTES_PER_ELEMENT[self.precision] < 1 else self.precision
        self.kv_precision = validate.precision(kv_precision or kv_default, "kv_precision")
        self.tp = validate.number(tensor_parallel, "tensor_parallel", integer=True)
        _check_heads_divide(m, self.tp)
        cal = self.calibration = resolve_calibration(calibration)
        self.compute_precision = h.compute_precision(self.precision)

        self.bytes_per_weight = BYTES_PER_ELEMENT[self.precision]
        self.act_bytes = BYTES_PER_ELEMENT[self.compute_precision]
        self.peak = h.si["peak_flops"][self.compute_precision]
        self.compute_efficiency = cal.compute_efficiency_for(self.compute_precision)
        self.bandwidth = h.si["bandwidth"]
        # What one ring all-reduce over the TP group gets from the scale-up links (a mesh or torus
        # gives a ring only some of its links); PCIe when the device has no scale-up link.
        self.link = h.ring_bandwidth(self.tp) if h.si["link"] is not None else cal.pcie_bandwidth
        self.kv_per_token = kv_bytes_per_token_si(m, self.kv_precision)
        self.weights = tf.weight_bytes(m.si["parameters"], self.bytes_per_weight)
        #: physical memory of the replica's devices, and the part a serving stack may fill
        self.capacity = self.tp * h.si["memory"]
        self.usable = self.capacity * cal.usable_memory_fraction

    # -- the three parts of a pass -----------------------------------------
    def weights_read(self, tokens):
        """Bytes of weights one pass over ``tokens`` tokens reads (MoE: the experts those tokens touch)."""
        m = self.model
        if not m.is_moe:
            return self.weights
        params = tf.moe_weights_read(m.si["dense_parameters"], m.si["expert_parameters"], m.experts,
                                     m.active_experts_per_token, tokens)
        return tf.weight_bytes(params, self.bytes_per_weight)

    def linear_terms(self, tokens):
        """(compute, memory) seconds of the linear layers for ``tokens`` tokens in one pass."""
        flops = tf.linear_flops(self.model.si["active_parameters"], tokens)
        return (compute_time(flops, self.tp * self.peak, self.compute_efficiency),
                memory_time(self.weights_read(tokens), self.tp * self.bandwidth, self.calibration.memory_efficiency))

    def attention_terms(self, query_tokens, mean_context, kv_tokens_read):
        """(compute, memory) seconds of attention: ``query_tokens`` queries over ``mean_context``
        keys each, reading ``kv_tokens_read`` tokens of KV cache."""
        m = self.model
        flops = tf.attention_flops(m.layers, m.attention_dim, query_tokens, mean_context)
        return (compute_time(flops, self.tp * self.peak, self.compute_efficiency),
                memory_time(self.kv_per_token * kv_tokens_read, self.tp * self.bandwidth,
                            self.calibration.attention_efficiency))

    def fixed_time(self, tokens):
        """Costs no bandwidth hides, per pass: L (n_k t_k + 2 t_allreduce(T d b_act))."""
        cal, m = self.calibration, self.model
        message = tokens * m.hidden_dim * self.act_bytes
        allreduce = ring_allreduce_time(message, self.tp, self.link, cal.allreduce_latency,
                                        cal.interconnect_efficiency)
        return m.layers * (cal.kernels_per_layer * cal.kernel_overhead + 2 * allreduce)

    @property
    def power(self):
        """Watts the replica's devices draw while serving: P = p x f x TDP
        (:func:`mlsysim.physics.energy.it_power` without the rest of the node)."""
        return it_power(self.tp, self.hardware.si["tdp"], self.calibration.serving_power_fraction, 0.0)

    @property
    def prefill_overhead(self):
        """Seconds of fixed cost of one prefill pass: L x prefill_overhead_per_layer."""
        return self.model.layers * self.calibration.prefill_overhead_per_layer

    def _overlap(self, t_compute, t_memory):
        return overlapped_time(t_compute, t_memory, self.calibration.roofline_exponent)

    # -- prefill and decode --------------------------------------------------
    def prefill(self, seq_len, batch_size):
        """(seconds, compute_bound) to prefill ``batch_size`` prompts of ``seq_len`` tokens,
        including the fixed cost of a prefill pass."""
        tokens = batch_size * seq_len
        l_c, l_m = self.linear_terms(tokens)
        a_c, a_m = self.attention_terms(tokens, tf.causal_mean_context(seq_len), tokens)   # KV written once
        t = (self._overlap(l_c, l_m) + self._overlap(a_c, a_m) + self.fixed_time(tokens)
             + self.prefill_overhead)
        return t, (l_c + a_c) >= (l_m + a_m)

    def decode_line(self, batch_size):
        """(t_0, a): a decode step of ``batch_size`` sequences at context x takes t_0 + a x seconds."""
        l_c, l_m = self.linear_terms(batch_size)
        a_c, a_m = self.attention_terms(batch_size, 1.0, batch_size)           # per token of context
        return self._overlap(l_c, l_m) + self.fixed_time(batch_size), self._overlap(a_c, a_m)

    def decode_step(self, context, batch_size):
        """(seconds, compute_bound) for one new token per sequence at ``context`` tokens of context."""
        t0, a = self.decode_line(batch_size)
        l_c, l_m = self.linear_terms(batch_size)
        a_c, a_m = self.attention_terms(batch_size, context, batch_size * context)
        return t0 + a * context, (l_c + a_c) >= (l_m + a_m)

    def mixed_step(self, decode_seqs, decode_context, prefill_tokens, prefill_context):
        """Seconds of one continuous-batching iteration: ``decode_seqs`` sequences decode one token
        each at a mean context of ``decode_context`` tokens, while ``prefill_tokens`` prompt tokens
        (attending to ``prefill_context`` tokens on average) ride along in the same pass
        [@agrawal2024sarathi]. The linear layers read the weights once for all of them. With no
        prompt tokens it is :meth:`decode_step`; with no decoding sequences, :meth:`prefill`
        without the fixed prefill cost."""
        tokens = decode_seqs + prefill_tokens
        l_c, l_m = self.linear_terms(tokens)
        pairs = decode_seqs * decode_context + prefill_tokens * prefill_context   # (query, key) pairs
        kv_tokens = decode_seqs * decode_context + prefill_tokens                  # decode reads + prompt writes
        a_c, a_m = self.attention_terms(1.0, pairs, kv_tokens)
        return self._overlap(l_c, l_m) + self._overlap(a_c, a_m) + self.fixed_time(tokens)

    def decode_sum(self, first_context, steps, batch_size):
        """Seconds of ``steps`` decode steps at contexts first, first + 1, ..., first + steps - 1:
        steps t_0 + a (steps first + steps (steps - 1) / 2)."""
        t0, a = self.decode_line(batch_size)
        return steps * t0 + a * (steps * first_context + steps * (steps - 1) / 2)

    # -- memory -------------------------------------------------------------
    def kv_cache(self, context, batch_size):
        """Bytes of KV cache ``batch_size`` sequences of ``context`` tokens hold."""
        return self.kv_per_token * context * batch_size

    def memory_required(self, context, batch_size):
        """Weights plus the KV cache of ``batch_size`` sequences of ``context`` tokens (bytes)."""
        return self.weights + self.kv_cache(context, batch_size)

    def reasons(self, context, batch_size) -> tuple[list[str], object]:
        """Why a configuration is infeasible (list of messages) and the feasible mask."""
        m, h = self.model, self.hardware
        needed = self.memory_required(context, batch_size)
        fits = needed <= self.usable
        in_context = context <= m.context_length
        reasons = []
        if not np.all(fits):
            worst = float(np.max(needed))
            share = self.calibration.usable_memory_fraction
            reasons.append(
                f"memory: needs {worst / 1e9:,.1f} GB (weights {self.weights / 1e9:,.1f} GB + KV cache "
                f"{(worst - self.weights) / 1e9:,.1f} GB); {float(np.min(self.usable)) / 1e9:,.1f} GB usable "
                f"({np.mean(share):.0%} of {float(np.min(self.capacity)) / 1e9:,.1f} GB) on {self._replica_text()}"
                f"{count_where(np.logical_not(fits))}" + self._sram_hint(worst))
        if not np.all(in_context):
            reasons.append(f"context: {float(np.max(context)):,.0f} tokens exceeds {m.name}'s context length of "
                           f"{m.context_length:,} tokens{count_where(np.logical_not(in_context))}")
        if h.si["link"] is None and np.any(np.asarray(self.tp) > 1):
            reasons.append(f"tensor parallelism: {h.key} has no scale-up interconnect; PCIe 4.0 x16 assumed")
        feasible = fits & in_context
        return reasons, feasible

    def _sram_hint(self, needed) -> str:
        """For a wafer-scale device (weights in on-chip SRAM): its two ways out."""
        h = self.hardware
        if h.memory_kind != "sram":
            return ""
        per = h.si["memory"] * np.min(self.calibration.usable_memory_fraction)
        systems = int(np.ceil(needed / per))
        return (f". {h.key} keeps weights in on-chip SRAM: hold them resident across {systems} or more systems, "
                f"layer by layer (mlsysim.WaferScaleModel, mode='resident', systems={systems}), or stream them from "
                f"external memory one layer at a time (mode='streamed')")

    def _replica_text(self) -> str:
        tp = self.tp
        if isinstance(tp, np.ndarray):
            return f"{int(tp.min())}-{int(tp.max())} x {self.hardware.key}"
        return f"{int(tp)} x {self.hardware.key}"


def _check_heads_divide(model, tp):
    """Tensor parallelism splits attention heads (and KV heads, or replicates them when there
    are fewer KV heads than devices) across devices [@shoeybi2019megatron]: the query heads must
    divide by the degree."""
    bad = np.asarray(model.heads % np.asarray(tp)) != 0
    if np.any(bad):
        degrees = sorted({int(x) for x in np.atleast_1d(tp)[np.atleast_1d(bad)]})
        raise InputError("tensor_parallel", f"a degree that divides {model.name}'s {model.heads} attention heads",
                         degrees[0] if len(degrees) == 1 else degrees)


class ServingModel:
    """Serve a decoder LLM on one replica: TTFT, ITL, memory and feasibility.

    ``solve(model, hardware, seq_len, batch_size=1, precision="fp16", tensor_parallel=1,
    kv_precision=None, calibration=None)``

    - ``seq_len``: tokens of context held per sequence (the prompt prefilled for TTFT,
      and the context each decode step attends to for ITL).
    - ``precision``: weight precision. Math runs in it where the device states a peak
      for it, else in fp16 (weight-only quantization; see
      :meth:`HardwareSpec.compute_precision`).
    - ``kv_precision``: KV-cache precision; defaults to ``precision``, or fp16 for 4-bit weights.
    - Every numeric argument accepts a numpy array; arrays broadcast.
    """

    def solve(self, model, hardware, seq_len, batch_size=1, precision="fp16", tensor_parallel=1,
              kv_precision=None, calibration=None) -> ServingResult:
        replica = ReplicaPhysics(model, hardware, precision, tensor_parallel, kv_precision, calibration)
        s = validate.number(seq_len, "seq_len", "token", integer=True)
        b = validate.number(batch_size, "batch_size", integer=True)
        ttft, prefill_compute = replica.prefill(s, b)
        itl, decode_compute = replica.decode_step(s, b)
        kv = replica.kv_cache(s, b)
        total = replica.memory_required(s, b)
        reasons, feasible = replica.reasons(s, b)
        values = {
            "ttft": ttft,
            "itl": itl,
            "throughput": b / itl,
            "prefill_bottleneck": where(prefill_compute, "Compute", "Memory"),
            "decode_bottleneck": where(decode_compute, "Compute", "Memory"),
            "weights_size": replica.weights,
            "kv_cache_size": kv,
            "total_memory_required": total,
            "memory_capacity": replica.capacity,
            "usable_memory": replica.usable,
            "memory_utilization": total / replica.usable,
            "compute_precision": replica.compute_precision,
        }
        inputs = {"model": replica.model, "hardware": replica.hardware, "seq_len": seq_len, "batch_size": batch_size,
                  "precision": replica.precision, "tensor_parallel": tensor_parallel, "kv_precision": replica.kv_precision}
        return ServingResult(values, feasible=feasible, reasons=reasons, inputs=inputs)

    def max_batch_size(self, model, hardware, seq_len, precision="fp16", tensor_parallel=1, kv_precision=None,
                       calibration=None):
        """Largest batch whose weights + KV cache at ``seq_len`` fit the replica's usable memory
        (0 if none): floor((f p M - N b) / (kv_bytes_per_token x seq_len))."""
        replica = ReplicaPhysics(model, hardware, precision, tensor_parallel, kv_precision, calibration)
        s = validate.number(seq_len, "seq_len", "token", integer=True)
        batch = sequences_that_fit(replica.usable - replica.weights, replica.kv_cache(s, 1))
        return batch.astype(int) if isinstance(batch, np.ndarray) and batch.ndim else int(batch)
