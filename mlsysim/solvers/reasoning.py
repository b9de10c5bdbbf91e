"""Inference-time reasoning: what K steps of chain-of-thought cost one query.

A query prefills its context once, then generates K x tokens_per_step tokens,
each decode step attending to a context that has grown by every token before it
[@wei2022chain; @snell2024scaling]:

    T(K) = TTFT(c) + sum_{i=0}^{n-1} ITL(c + i),   n = K x tokens_per_step.

A decode step is affine in the context, so the sum is taken exactly
(:meth:`~mlsysim.solvers.serving.ReplicaPhysics.decode_sum`).
Energy per query is replica power x T / batch, with power = devices x TDP x the
calibrated serving power fraction.
"""
from __future__ import annotations

import numpy as np

from mlsysim.core import validate
from mlsysim.physics.energy import energy
from mlsysim.solvers.result import Result
from mlsysim.solvers.serving import ReplicaPhysics

#: Default reasoning tokens per step: an assumption of this engine, not a
#: measured constant; pass ``tokens_per_step`` to change it.
DEFAULT_TOKENS_PER_STEP = 100


class InferenceScalingResult(Result):
    TITLE = "Reasoning"
    FIELDS = {
        "total_reasoning_time": ("s", "s", "Time per query"),
        "ttft": ("s", "ms", "Time to first token"),
        "time_per_step": ("s", "s", "Time per reasoning step"),
        "itl": ("s", "ms", "Mean inter-token latency"),
        "tokens_generated": ("token", "token", "Tokens generated"),
        "energy_per_query": ("J", "kJ", "Energy per query"),
        "queries_per_second": ("1/s", "1/s", "Queries/s per replica"),
        "total_memory_required": ("byte", "GB", "Memory at the last token"),
        "memory_capacity": ("byte", "GB", "Replica memory"),
    }


class InferenceScalingModel:
    """Cost of K-step reasoning for one query on one replica.

    ``solve(model, hardware, reasoning_steps, context_length, precision="fp16",
    tokens_per_step=100, tensor_parallel=1, batch_size=1, kv_precision=None, calibration=None)``

    ``batch_size`` queries run together on the replica; times are per query as it
    experiences them, and ``energy_per_query`` shares the replica's energy among
    them. Every numeric argument accepts a numpy array.
    """

    def solve(self, model, hardware, reasoning_steps, context_length, precision="fp16",
              tokens_per_step=DEFAULT_TOKENS_PER_STEP, tensor_parallel=1, batch_size=1,
              kv_precision=None, calibration=None) -> InferenceScalingResult:
        replica = ReplicaPhysics(model, hardware, precision, tensor_parallel, kv_precision, calibration)
        k = validate.number(reasoning_steps, "reasoning_steps", integer=True)
        c = validate.number(context_length, "context_length", "token", integer=True)
        per_step = validate.number(tokens_per_step, "tokens_per_step", "token", integer=True)
        b = validate.number(batch_size, "batch_size", integer=True)
        n = k * per_step

        ttft, _ = replica.prefill(c, b)
        decode = replica.decode_sum(c, n, b)
        total = ttft + decode
        power = replica.power
        final_context = c + n
        reasons, feasible = replica.reasons(final_context, b)
        values = {
            "total_reasoning_time": total,
            "ttft": ttft,
            "time_per_step": decode / k,
            "itl": decode / n,
            "tokens_generated": n * (np.ones_like(total) if isinstance(total, np.ndarray) else 1),
            "energy_per_query": energy(power, total) / b,
            "queries_per_second": b / total,
            "total_memory_required": replica.memory_required(final_context, b),
            "memory_capacity": replica.capacity,
        }
        inputs = {"model": replica.model, "hardware": replica.hardware, "reasoning_steps": reasoning_steps,
                  "context_length": context_length, "tokens_per_step": tokens_per_step, "batch_size": batch_size,
                  "precision": replica.precision, "tensor_parallel": tensor_parallel}
        return InferenceScalingResult(values, feasible=feasible, reasons=reasons, inputs=inputs)
