"""Exercises of the chapter "Batching and the Tail" (tutorials/batching.qmd).

The scenarios match the chapter's: ResNet-50 on one L4 in fixed batches, and
Llama-3-8B on one H100 (fp16) with continuous batching, 512-token prompts and
256-token answers.
"""
from __future__ import annotations

from mlsysim.exercises import exercise

VISION, VISION_HW = "ResNet50", "L4"
LLM, LLM_HW = "Llama3_8B", "H100"
PROMPT, OUTPUT = 512, 256


def max_load_under_p99(p99_target_s, batch_size=64, prompt=PROMPT, output=OUTPUT, iterations=60):
    """Largest arrival rate (requests/s) whose predicted p99 stays within the target (bisection:
    p99 rises with load under continuous batching)."""
    from mlsysim import BatchingModel

    def p99(rate):
        r = BatchingModel().solve(LLM, LLM_HW, rate, batch_size, prompt_tokens=prompt, output_tokens=output)
        return r.latency_p99.to("s").magnitude

    cap = BatchingModel().solve(LLM, LLM_HW, 1.0, batch_size, prompt_tokens=prompt,
                                output_tokens=output).max_throughput.to("1/s").magnitude
    lo, hi = 1e-6 * cap, cap * (1 - 1e-9)
    if p99(lo) > p99_target_s:
        return 0.0
    for _ in range(iterations):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if p99(mid) <= p99_target_s else (lo, mid)
    return lo


@exercise("batching/batch-one-wait", unit="ms", tolerance=0.03, close=0.25,
          hint="At batch 1 the server is M/D/1: W = rho S / (2 (1 - rho)) with S the batch-1 latency "
               "and rho = lambda S.",
          wrong=lambda value: value * 2 + 1)
def _batch_one_wait():
    from mlsysim import BatchingModel

    return BatchingModel().solve(VISION, VISION_HW, 3000, 1).mean_wait


@exercise("batching/max-load-under-slo", unit=None, tolerance=0.03, close=0.15,
          hint="Sweep arrival_rate for BatchingModel (batch 64, continuous) and find where latency_p99 "
               "crosses the target; it is below the capacity.",
          wrong=lambda value: value * 3)
def _max_load():
    return max_load_under_p99(3.0)


@exercise("batching/long-context-capacity", unit=None, tolerance=0.03, close=0.15,
          hint="Find the largest batch that fits with ServingModel().max_batch_size at the final context "
               "(prompt + output), then read max_throughput from BatchingModel at that batch.",
          wrong=lambda value: value * 4)
def _long_context():
    from mlsysim import BatchingModel, ServingModel

    batch = ServingModel().max_batch_size(LLM, LLM_HW, 4096 + OUTPUT)
    r = BatchingModel().solve(LLM, LLM_HW, 1.0, batch, prompt_tokens=4096, output_tokens=OUTPUT)
    return r.max_throughput.to("1/s").magnitude
