"""One request end to end: the prefill that yields the first token, then decode.

A request with a prompt of c tokens that returns n output tokens is served in
two phases [@pope2022efficiently; @kwon2023pagedattention]. The prefill
processes the c prompt tokens in one pass and yields the first output token;
each of the remaining n - 1 tokens is one decode step over a context that has
grown by one token:

    T_e2e = TTFT(c) + sum_{i=1}^{n-1} ITL(c + i),    TPOT = (T_e2e - TTFT) / (n - 1)

TPOT, the mean time per output token after the first, is the metric serving
benchmarks constrain together with TTFT [@mlcommons2025loadgen]. Prefill and
decode times come from :class:`~mlsysim.solvers.serving.ReplicaPhysics`; both
a decode step is affine in the context, so the sum is exact
(:meth:`~mlsysim.solvers.serving.ReplicaPhysics.decode_sum`).

The *balance prompt* for n output tokens is the shortest prompt c* for which the
prefill takes at least as long as the decode: TTFT(c*) >= T_e2e(c*) - TTFT(c*).
Below c* decode dominates the request's time; above it, prefill does.
"""
from __future__ import annotations

import numpy as np

from mlsysim.core import validate
from mlsysim.errors import InputError
from mlsysim.physics._array import where
from mlsysim.solvers._common import count_where
from mlsysim.solvers.result import Result
from mlsysim.solvers.serving import ReplicaPhysics


class RequestLatencyResult(Result):
    """Time to first token, time per output token and their totals for one request shape."""

    TITLE = "Request latency"
    FIELDS = {
        "prompt_tokens": ("token", "token", "Prompt"),
        "output_tokens": ("token", "token", "Output"),
        "ttft": ("s", "ms", "Time to first token"),
        "tpot": ("s", "ms", "Time per output token"),
        "decode_time": ("s", "s", "Decode time"),
        "request_time": ("s", "s", "Request time"),
        "prefill_share": ("", "percent", "Share in prefill"),
        "prefill_bottleneck": (None, None, "Prefill bound by"),
        "decode_bottleneck": (None, None, "Decode bound by"),
        "total_memory_required": ("byte", "GB", "Memory at the last token"),
        "memory_capacity": ("byte", "GB", "Replica memory"),
    }


def _slo(value, parameter):
    return None if value is None else validate.number(value, parameter, "s")


class RequestLatencyModel:
    """Serve one request shape on one replica: TTFT, TPOT, totals, and a latency budget.

    ``solve(model, hardware, prompt_tokens, output_tokens, precision="fp16", tensor_parallel=1,
    batch_size=1, kv_precision=None, ttft_slo=None, tpot_slo=None, calibration=None)``

    - ``batch_size`` sequences of the same shape run together; times are as each
      of them experiences them.
    - ``ttft_slo`` / ``tpot_slo`` (seconds, or Quantities): a latency budget. A
      request that misses one is infeasible, and ``reasons`` says by how much.
    - Every numeric argument accepts a numpy array; arrays broadcast.
    """

    def solve(self, model, hardware, prompt_tokens, output_tokens, precision="fp16", tensor_parallel=1,
              batch_size=1, kv_precision=None, ttft_slo=None, tpot_slo=None,
              calibration=None) -> RequestLatencyResult:
        replica = ReplicaPhysics(model, hardware, precision, tensor_parallel, kv_precision, calibration)
        c = validate.number(prompt_tokens, "prompt_tokens", "token", integer=True)
        n = validate.number(output_tokens, "output_tokens", "token", integer=True, minimum=2, inclusive=True)
        b = validate.number(batch_size, "batch_size", integer=True)
        ttft_target, tpot_target = _slo(ttft_slo, "ttft_slo"), _slo(tpot_slo, "tpot_slo")
        return self._solve(replica, c, n, b, ttft_target, tpot_target,
                           {"prompt_tokens": prompt_tokens, "output_tokens": output_tokens, "batch_size": batch_size,
                            "tensor_parallel": tensor_parallel, "ttft_slo": ttft_slo, "tpot_slo": tpot_slo})

    @staticmethod
    def _times(replica, c, n, b):
        """(ttft, prefill compute-bound, decode seconds, decode compute-bound at the first step)."""
        ttft, prefill_compute = replica.prefill(c, b)
        decode = replica.decode_sum(c + 1, n - 1, b)
        _, decode_compute = replica.decode_step(c + 1, b)
        return ttft, prefill_compute, decode, decode_compute

    def _solve(self, replica, c, n, b, ttft_target, tpot_target, inputs) -> RequestLatencyResult:
        ttft, prefill_compute, decode, decode_compute = self._times(replica, c, n, b)
        tpot = decode / (n - 1)
        total = ttft + decode
        reasons, feasible = replica.reasons(c + n, b)
        for name, value, target in (("TTFT", ttft, ttft_target), ("TPOT", tpot, tpot_target)):
            if target is None:
                continue
            meets = value <= target
            if not np.all(meets):
                reasons.append(f"latency: {name} of {float(np.max(value)) * 1e3:,.0f} ms exceeds the "
                               f"{float(np.min(target)) * 1e3:,.0f} ms target{count_where(np.logical_not(meets))}")
            feasible = feasible & meets
        values = {
            "prompt_tokens": c,
            "output_tokens": n,
            "ttft": ttft,
            "tpot": tpot,
            "decode_time": decode,
            "request_time": total,
            "prefill_share": ttft / total,
            "prefill_bottleneck": where(prefill_compute, "Compute", "Memory"),
            "decode_bottleneck": where(decode_compute, "Compute", "Memory"),
            "total_memory_required": replica.memory_required(c + n, b),
            "memory_capacity": replica.capacity,
        }
        inputs = {"model": replica.model, "hardware": replica.hardware, "precision": replica.precision,
                  "kv_precision": replica.kv_precision, **inputs}
        return RequestLatencyResult(values, feasible=feasible, reasons=reasons, inputs=inputs)

    def balance_prompt(self, model, hardware, output_tokens, precision="fp16", tensor_parallel=1, batch_size=1,
                       kv_precision=None, max_prompt=None, calibration=None) -> RequestLatencyResult:
        """The request at the balance prompt c*: the shortest prompt whose prefill takes
        at least as long as decoding the other n - 1 output tokens, TTFT(c*) >= T_decode(c*).

        Every prompt from 1 to ``max_prompt`` (default: the model's context length
        minus ``output_tokens``) is tried, so the answer is exact. When no prompt in
        that range balances, the result at ``max_prompt`` is returned, infeasible,
        with the reason. ``output_tokens`` may be an array; the other numbers are scalars.
        """
        replica = ReplicaPhysics(model, hardware, precision, tensor_parallel, kv_precision, calibration)
        for value, name in ((tensor_parallel, "tensor_parallel"), (batch_size, "batch_size"),
                            (max_prompt, "max_prompt")):
            if isinstance(value, np.ndarray):
                raise InputError(name, "a single number (only output_tokens may be an array here)",
                                 f"an array of shape {value.shape}")
        n = validate.number(output_tokens, "output_tokens", "token", integer=True, minimum=2, inclusive=True)
        b = validate.number(batch_size, "batch_size", integer=True)
        context = replica.model.context_length
        limit = validate.number(max_prompt if max_prompt is not None else max(context - float(np.max(n)), 1),
                                "max_prompt", "token", integer=True)
        prompts = np.arange(1, int(limit) + 1, dtype=float)
        chosen = []
        found = []
        for steps in np.atleast_1d(n):
            ttft, _, decode, _ = self._times(replica, prompts, steps, b)
            hit = np.flatnonzero(ttft >= decode)
            found.append(hit.size > 0)
            chosen.append(prompts[hit[0]] if hit.size else limit)
        c = np.array(chosen) if isinstance(n, np.ndarray) else chosen[0]
        ok = np.array(found) if isinstance(n, np.ndarray) else found[0]
        result = self._solve(replica, c, n, b, None, None,
                             {"output_tokens": output_tokens, "batch_size": batch_size,
                              "tensor_parallel": tensor_parallel})
        if np.all(ok):
            return result
        reasons = list(result.reasons) + [
            f"balance: no prompt up to {limit:,.0f} tokens makes the prefill as long as the decode"
            f"{count_where(np.logical_not(ok))}"]
        return RequestLatencyResult(result._values, feasible=result.feasible & ok, reasons=reasons,
                                    inputs=result.inputs)
