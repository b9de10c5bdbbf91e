"""Exercises of the chapter "The $XM Question" (tutorials/reasoning-cost.qmd).

The scenario matches the chapter's: Llama-3.1-405B in fp8 on one 8-GPU node,
prompts of 1,024 tokens, 100 reasoning tokens per step, 1,000 queries/s.
"""
from __future__ import annotations

import math

from mlsysim.exercises import exercise

MODEL, SMALL, PRECISION, TP = "Llama3_405B", "Llama3_8B", "fp8", 8
PROMPT, TOKENS_PER_STEP, LOAD_QPS = 1024, 100, 1000


def reasoning(k, hardware="H100", batch_size=1):
    from mlsysim import InferenceScalingModel

    return InferenceScalingModel().solve(MODEL, hardware, k, PROMPT, precision=PRECISION, tokens_per_step=TOKENS_PER_STEP,
                                         tensor_parallel=TP, batch_size=batch_size)


def annual_bill(k, hardware="H100"):
    """Annual TCO of the fleet that serves LOAD_QPS at K steps, each replica at its largest batch."""
    from mlsysim import EconomicsModel, Fleet, Node, ServingModel

    batch = ServingModel().max_batch_size(MODEL, hardware, PROMPT + k * TOKENS_PER_STEP, PRECISION, TP)
    per_replica = reasoning(k, hardware, batch).queries_per_second.to("1/s").magnitude
    fleet = Fleet.for_replicas("reasoning fleet", Node("8-GPU node", hardware, 8), math.ceil(LOAD_QPS / per_replica), TP)
    return EconomicsModel().solve(fleet, duration_days=365).tco_usd


@exercise("reasoning-cost/k16-multiplier", tolerance=0.02, close=0.10,
          hint="Compare total_reasoning_time at K=16 and K=1 (batch 1). The prefill is paid once.",
          wrong=lambda value: 16.0 * 2)
def _k16_multiplier():
    return (reasoning(16).total_reasoning_time / reasoning(1).total_reasoning_time).to("").magnitude


@exercise("reasoning-cost/b200-annual-bill", unit=None, tolerance=0.03, close=0.15,
          hint="Rebuild the fleet on B200: its batch, its queries/s per replica, its node count, then EconomicsModel.")
def _b200_bill():
    return annual_bill(8, "B200")


@exercise("reasoning-cost/small-model-crossover", tolerance=0.0, close=0.25,
          hint="Sweep K for Llama3_8B on one H100 and compare with the large model at K=1.",
          wrong=lambda value: value + 10)
def _crossover():
    from mlsysim import InferenceScalingModel

    large = reasoning(1).total_reasoning_time
    for k in range(1, 200):
        small = InferenceScalingModel().solve(SMALL, "H100", k, PROMPT, tokens_per_step=TOKENS_PER_STEP)
        if small.total_reasoning_time > large:
            return k
    raise RuntimeError("no crossover below K=200")
