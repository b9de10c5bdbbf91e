"""Exercises of the chapter "Two Phases, One Request" (tutorials/two-phases.qmd).

The scenario matches the chapter's: Llama-2-70B on a replica of two GPUs
(tensor parallel), a prompt of 1,024 tokens and 256 output tokens, and the
MLPerf Inference latency budgets for Llama-2-70B [@mlcommons2025loadgen].
"""
from __future__ import annotations

from mlsysim.exercises import exercise

MODEL, TP, PROMPT, OUTPUT = "Llama2_70B", 2, 1024, 256
#: (TTFT, TPOT) targets in seconds, MLPerf Inference loadgen/mlperf.conf [@mlcommons2025loadgen].
INTERACTIVE = (0.450, 0.040)


def _solve(hardware, precision="fp16", **kw):
    from mlsysim import RequestLatencyModel

    return RequestLatencyModel().solve(MODEL, hardware, PROMPT, OUTPUT, precision=precision, tensor_parallel=TP, **kw)


@exercise("two-phases/h200-ttft-ratio", tolerance=0.02, close=0.10,
          hint="Prefill is bound by compute. Compare the two GPUs' peak FLOP/s, not their bandwidth.",
          wrong=lambda value: 4.8 / 3.35 * value + 0.5)
def _h200_ttft_ratio():
    return (_solve("H200").ttft / _solve("H100").ttft).to("").magnitude


@exercise("two-phases/balance-batch8", tolerance=0.0, close=0.10,
          hint="Use RequestLatencyModel().balance_prompt(..., 8, tensor_parallel=2, batch_size=8).",
          wrong=lambda value: value * 8)
def _balance_batch8():
    from mlsysim import RequestLatencyModel

    r = RequestLatencyModel().balance_prompt(MODEL, "H100", 8, tensor_parallel=TP, batch_size=8)
    return int(r.prompt_tokens.magnitude)


@exercise("two-phases/interactive-b200", tolerance=0.0, close=0.25,
          hint="Sweep batch_size with ttft_slo=0.45 and tpot_slo=0.04 on B200 in fp8; keep the largest feasible batch.",
          wrong=lambda value: value + 50)
def _interactive_b200():
    import numpy as np

    batches = np.arange(1, 257)
    r = _solve("B200", "fp8", batch_size=batches, ttft_slo=INTERACTIVE[0], tpot_slo=INTERACTIVE[1])
    ok = np.asarray(r.feasible)
    return int(batches[ok].max()) if ok.any() else 0
