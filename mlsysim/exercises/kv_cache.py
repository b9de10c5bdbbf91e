"""Exercises of the chapter "The KV-Cache Wall" (tutorials/kv-cache.qmd).

The scenario is the chapter's parameters cell: Llama-2-70B (grouped-query attention) on a
replica of four H100s, full-context sequences of 4,096 tokens, and under the book's serving
schedule requests of a 1,024-token prompt and 256 output tokens within MLPerf's server
targets for this model, a p99 TTFT of 2 s and a TPOT of 200 ms [@mlcommons2025loadgen].
"""
from __future__ import annotations

import math
from functools import lru_cache

from mlsysim.exercises import Design, design_answer, design_exercise, exercise, one_of
from mlsysim.solvers.schedule import replicas_needed


def multi_head_twin(model="Llama2_70B"):
    """The model with one KV head per query head and the larger K and V projections that come with them."""
    from dataclasses import replace

    from mlsysim import Models, Q_

    gqa = Models.get(model)
    extra = 2 * gqa.layers * gqa.hidden_dim * (gqa.heads - gqa.kv_heads) * gqa.head_dim
    return replace(gqa, key=f"{gqa.key}_MHA", name=f"{gqa.name}, multi-head (hypothetical)", kv_heads=gqa.heads,
                   parameters=gqa.parameters + Q_(extra, "count"))


@exercise("kv-cache/eight-gpu-sequences", kind="predict", minutes=10, points=2,
          objective="Predict how the KV-cache wall moves when a replica grows, given that the weights do not.",
          tolerance=0.0, close=0.05,
          hint="CapacityModel().solve(MODEL, GPU, CONTEXT, tensor_parallel=8, allocation='contiguous').max_sequences",
          wrong=lambda value: value // 3)
def _eight_gpus(MODEL="Llama2_70B", GPU="H100", CONTEXT=4096):
    from mlsysim import CapacityModel

    return CapacityModel().solve(MODEL, GPU, CONTEXT, tensor_parallel=8, allocation="contiguous",
                                 max_context=CONTEXT).max_sequences


def _most_load(model, gpu, tp, prompt, output, ttft_slo, tpot_slo, kv_precision="fp16", max_sequences=256):
    from mlsysim import ServingScheduleModel

    return ServingScheduleModel().max_rate(model, gpu, prompt_tokens=prompt, output_tokens=output,
                                           tensor_parallel=tp, kv_precision=kv_precision,
                                           max_sequences=max_sequences, ttft_slo=ttft_slo, tpot_slo=tpot_slo)


@exercise("kv-cache/lift-sequence-limit", kind="change", unit="1/s", minutes=10, points=2,
          objective="See that lifting the limit that binds exposes the next one close behind it.",
          tolerance=0.01, close=0.03,
          hint="ServingScheduleModel().max_rate(..., max_sequences=512) with the chapter's request and targets; "
               "the answer is not the rate at 256 sequences.",
          wrong=lambda value: value * 2)
def _lift(MODEL="Llama2_70B", GPU="H100", TP=4, PROMPT=1024, OUTPUT=256, TTFT_SLO=2.0, TPOT_SLO=0.200):
    return _most_load(MODEL, GPU, TP, PROMPT, OUTPUT, TTFT_SLO, TPOT_SLO, max_sequences=512).arrival_rate.magnitude


#: The choices of the design exercise.
DESIGN_TP = (2, 4, 8)
DESIGN_KV = ("fp16", "fp8")
DESIGN_LIMITS = (256, 512)


@lru_cache(maxsize=64)
def _rate(model, gpu, tp, kv, limit, prompt, output, ttft_slo, tpot_slo):
    return float(_most_load(model, gpu, tp, prompt, output, ttft_slo, tpot_slo, kv, limit).arrival_rate.magnitude)


def _gpus(design, p):
    rate = _rate(p["MODEL"], p["GPU"], design["tensor_parallel"], design["kv_precision"], design["max_sequences"],
                 p["PROMPT"], p["LONG_OUTPUT"], p["TTFT_SLO"], p["TPOT_SLO"])
    if rate <= 0:
        return math.inf, "no arrival rate meets every constraint on this replica"
    return int(replicas_needed(p["LOAD_QPS"], rate)[0]) * design["tensor_parallel"], None


def _parse(answer):
    keys = ("tensor_parallel", "kv_precision", "max_sequences")
    design_answer(answer, keys, "{'tensor_parallel': 4, 'kv_precision': 'fp16', 'max_sequences': 256}",
                  exact=False)
    for key, options in zip(keys, (DESIGN_TP, DESIGN_KV, DESIGN_LIMITS)):
        one_of(answer[key], key, options)
    return {k: answer[k] for k in keys}


@design_exercise("kv-cache/long-answers-fewest-gpus", minutes=25, points=4, tolerance=0.0, close=0.25,
                 objective="Serve long answers within latency targets on the fewest GPUs by choosing the replica, "
                           "the cache precision and the sequence limit.",
                 answer_format="a dict such as {'tensor_parallel': 4, 'kv_precision': 'fp16', 'max_sequences': 256} "
                               "(tensor_parallel 2, 4 or 8; kv_precision fp16 or fp8; max_sequences 256 or 512)",
                 hint="For each design, ServingScheduleModel().max_rate(..., output_tokens=LONG_OUTPUT, "
                      "kv_precision=..., max_sequences=...) gives one replica's largest rate; "
                      "GPUs = ceil(load / rate) x tensor_parallel.",
                 wrong=lambda best: {"tensor_parallel": 2, "kv_precision": "fp16", "max_sequences": 256})
def _fewest(answer, MODEL="Llama2_70B", GPU="H100", PROMPT=1024, LONG_OUTPUT=2048, TTFT_SLO=2.0, TPOT_SLO=0.200,
            LOAD_QPS=10):
    params = dict(MODEL=MODEL, GPU=GPU, PROMPT=PROMPT, LONG_OUTPUT=LONG_OUTPUT, TTFT_SLO=TTFT_SLO, TPOT_SLO=TPOT_SLO,
                  LOAD_QPS=LOAD_QPS)
    counts = {}
    for tp in DESIGN_TP:
        for kv in DESIGN_KV:
            for limit in DESIGN_LIMITS:
                counts[tp, kv, limit] = _gpus({"tensor_parallel": tp, "kv_precision": kv, "max_sequences": limit},
                                              params)[0]
    best_key = min(counts, key=counts.get)
    best = dict(zip(("tensor_parallel", "kv_precision", "max_sequences"), best_key))
    if answer is None:
        return Design(True, counts[best_key], counts[best_key], best, unit="GPUs")
    design = _parse(answer)
    gpus, reason = _gpus(design, params)
    if reason:
        return Design(False, math.inf, counts[best_key], best, reasons=(reason,), unit="GPUs")
    return Design(True, gpus, counts[best_key], best, unit="GPUs")
