"""LLM serving on one replica: time to first token, time per output token, memory.

A replica is ``tensor_parallel`` devices of one kind. Prefill processes the
prompt in one pass and is usually compute-bound; each decode step reads all
(active) weights and the KV cache for one new token per sequence and is
usually memory-bound [@pope2022efficiently]. Tensor parallelism splits FLOPs,
weight and KV traffic across the devices and adds two all-reduces of the
activations per layer [@shoeybi2019megatron].

Per pass, with N_a active parameters, b bytes per weight, T tokens in the pass:

    t = max(F / (p P eta_c), B / (p W eta_m)) + L (n_k t_k + 2 t_allreduce(T x d x b_act)) + t_pass

where p is the tensor-parallel degree; F and B come from
:mod:`mlsysim.physics.transformer`; eta (eta_c for the math precision: fp16 or
8/4-bit), the kernels per layer n_k, the fixed cost of one kernel t_k and of
one pass t_pass from :mod:`mlsysim.calibration`. The last term does not
depend on the context, so a decode step stays affine in it.
"""
from __future__ import annotations

import numpy as np

from mlsysim.core import validate
from mlsysim.core.validate import BYTES_PER_ELEMENT
from mlsysim.errors import InputError
from mlsysim.physics import transformer as tf
from mlsysim.physics._array import maximum, where
from mlsysim.physics.collectives import ring_allreduce_time
from mlsysim.physics.roofline import compute_time, memory_time
from mlsysim.solvers._common import count_where, resolve_calibration, resolve_hardware, resolve_model
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
        "memory_utilization": ("", "percent", "Memory used"),
        "compute_precision": (None, None, "Math precision"),
    }


class ReplicaPhysics:
    """Prefill and decode times of one replica as closed-form functions of
    batch and context (floats or arrays), shared by the serving, reasoning and
    capacity solvers so they can never disagree."""

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
        cal = self.calibration = resolve_calibration(calibration)
        self.compute_precision = h.compute_precision(self.precision)

        self.bytes_per_weight = BYTES_PER_ELEMENT[self.precision]
        self.act_bytes = BYTES_PER_ELEMENT[self.compute_precision]
        self.peak = h.si["peak_flops"][self.compute_precision]
        self.compute_efficiency = cal.compute_efficiency_for(self.compute_precision)
        self.bandwidth = h.si["bandwidth"]
        self.link = h.si["link"] if h.si["link"] is not None else cal.pcie_bandwidth
        self.kv_per_token = m.kv_elements_per_token() * BYTES_PER_ELEMENT[self.kv_precision]
        self.weights = m.si["parameters"] * self.bytes_per_weight
        self.capacity = self.tp * h.si["memory"]

    # -- pieces ------------------------------------------------------------
    def weights_read(self, tokens):
        """Bytes of weights one pass over ``tokens`` tokens reads (MoE: the experts those tokens touch)."""
        m = self.model
        if not m.is_moe:
            return self.weights
        params = tf.moe_weights_read(m.si["dense_parameters"], m.si["expert_parameters"], m.experts,
                                     m.active_experts_per_token, tokens)
        return params * self.bytes_per_weight

    def pass_times(self, flops, bytes_moved, tokens):
        """(compute, memory, fixed) seconds of one pass over ``tokens`` tokens; the third term is
        the all-reduces, the fixed per-kernel cost of every layer and the fixed cost of the pass,
        L (n_k t_k + 2 t_allreduce) + t_pass. None depends on the context."""
        cal, p = self.calibration, self.tp
        t_compute = compute_time(flops, p * self.peak, self.compute_efficiency)
        t_memory = memory_time(bytes_moved, p * self.bandwidth, cal.memory_efficiency)
        message = tokens * self.model.hidden_dim * self.act_bytes
        t_comm = 2 * self.model.layers * ring_allreduce_time(message, p, self.link, cal.allreduce_latency,
                                                             cal.interconnect_efficiency)
        t_comm = t_comm + self.model.layers * cal.kernels_per_layer * cal.kernel_overhead + cal.pass_overhead
        return t_compute, t_memory, t_comm

    def _pass_time(self, flops, bytes_moved, tokens):
        t_compute, t_memory, t_comm = self.pass_times(flops, bytes_moved, tokens)
        return maximum(t_compute, t_memory) + t_comm, t_compute >= t_memory

    def prefill(self, seq_len, batch_size):
        """(seconds, compute_bound) to process ``batch_size`` prompts of ``seq_len`` tokens."""
        m = self.model
        tokens = batch_size * seq_len
        flops = (tf.linear_flops(m.si["active_parameters"], tokens)
                 + tf.attention_flops(m.layers, m.attention_dim, tokens, (seq_len + 1) / 2))
        bytes_moved = self.weights_read(tokens) + self.kv_per_token * tokens
        return self._pass_time(flops, bytes_moved, tokens)

    def decode_terms(self, context, batch_size):
        """(compute, memory, communication) seconds of one decode step at ``context`` tokens."""
        m = self.model
        flops = (tf.linear_flops(m.si["active_parameters"], batch_size)
                 + tf.attention_flops(m.layers, m.attention_dim, batch_size, context))
        bytes_moved = self.weights_read(batch_size) + self.kv_per_token * context * batch_size
        return self.pass_times(flops, bytes_moved, batch_size)

    def decode_step(self, context, batch_size):
        """(seconds, compute_bound) for one new token per sequence at ``context`` tokens of context."""
        t_compute, t_memory, t_comm = self.decode_terms(context, batch_size)
        return maximum(t_compute, t_memory) + t_comm, t_compute >= t_memory

    def memory_required(self, context, batch_size):
        """Weights plus the KV cache of ``batch_size`` sequences of ``context`` tokens (bytes)."""
        return self.weights + self.kv_per_token * context * batch_size

    def reasons(self, context, batch_size) -> tuple[list[str], object]:
        """Why a configuration is infeasible (list of messages) and the feasible mask."""
        m, h = self.model, self.hardware
        needed = self.memory_required(context, batch_size)
        fits = needed <= self.capacity
        in_context = context <= m.context_length
        reasons = []
        if not np.all(fits):
            worst = float(np.max(needed))
            reasons.append(
                f"memory: needs {worst / 1e9:,.0f} GB (weights {self.weights / 1e9:,.0f} GB + KV cache "
                f"{(worst - self.weights) / 1e9:,.1f} GB), has {float(np.min(self.capacity)) / 1e9:,.0f} GB "
                f"on {self._replica_text()}{count_where(np.logical_not(fits))}")
        if not np.all(in_context):
            reasons.append(f"context: {float(np.max(context)):,.0f} tokens exceeds {m.name}'s context length of "
                           f"{m.context_length:,} tokens{count_where(np.logical_not(in_context))}")
        if h.si["link"] is None and np.any(np.asarray(self.tp) > 1):
            reasons.append(f"tensor parallelism: {h.key} has no scale-up interconnect; PCIe 4.0 x16 assumed")
        feasible = fits & in_context
        return reasons, feasible

    def _replica_text(self) -> str:
        tp = self.tp
        if isinstance(tp, np.ndarray):
            return f"{int(tp.min())}-{int(tp.max())} x {self.hardware.key}"
        return f"{int(tp)} x {self.hardware.key}"


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
        kv = replica.kv_per_token * s * b
        total = replica.weights + kv
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
            "memory_utilization": total / replica.capacity,
            "compute_precision": replica.compute_precision,
        }
        inputs = {"model": replica.model, "hardware": replica.hardware, "seq_len": seq_len, "batch_size": batch_size,
                  "precision": replica.precision, "tensor_parallel": tensor_parallel, "kv_precision": replica.kv_precision}
        return ServingResult(values, feasible=feasible, reasons=reasons, inputs=inputs)

    def max_batch_size(self, model, hardware, seq_len, precision="fp16", tensor_parallel=1, kv_precision=None):
        """Largest batch whose weights + KV cache at ``seq_len`` fit the replica (0 if none):
        floor((p M - N b) / (kv_bytes_per_token x seq_len))."""
        replica = ReplicaPhysics(model, hardware, precision, tensor_parallel, kv_precision)
        s = validate.number(seq_len, "seq_len", "token", integer=True)
        free = replica.capacity - replica.weights
        batch = np.floor(np.maximum(free, 0) / (replica.kv_per_token * s))
        return batch.astype(int) if isinstance(batch, np.ndarray) and batch.ndim else int(batch)
