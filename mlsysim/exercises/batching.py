"""Exercises of the chapter "Batching and the Tail" (tutorials/batching.qmd).

The scenarios are the chapter's parameters cell: ResNet-50 on L4s in fixed batches under
MLPerf's p99 target for it in the server scenario (15 ms), and Llama-3-8B on one H100 (fp16)
under the book's serving schedule with 512-token prompts, 256-token answers and MLPerf's
interactive targets for Llama-3.1-8B, a p99 TTFT of 500 ms and a TPOT of 30 ms
[@mlcommons2025loadgen].
"""
from __future__ import annotations

import math
from functools import lru_cache

from mlsysim.errors import InputError
from mlsysim.exercises import Design, design_answer, design_exercise, exercise, one_of


@exercise("batching/batch-one-wait", kind="predict", unit="ms", tolerance=0.03, close=0.25, minutes=10, points=2,
          objective="Predict a queue's mean wait from the Pollaczek-Khinchine formula before computing it.",
          hint="At batch 1 the server is M/D/1: W = rho S / (2 (1 - rho)) with S the batch-1 time "
               "and rho = lambda S.",
          wrong=lambda value: value * 2 + 1)
def _batch_one_wait(VISION="ResNet50", VISION_GPU="L4"):
    from mlsysim import BatchingModel

    return BatchingModel().solve(VISION, VISION_GPU, 1000, 1).mean_wait


@exercise("batching/more-sequences", kind="change", unit="1/s", tolerance=0.01, close=0.03, minutes=10, points=2,
          objective="See that lifting the limit that binds exposes the next one, a latency target.",
          hint="ServingScheduleModel().max_rate(LLM, LLM_GPU, prompt_tokens=PROMPT, output_tokens=OUTPUT, "
               "ttft_slo=TTFT_SLO, tpot_slo=TPOT_SLO, max_sequences=512); it is not the rate at 256.",
          wrong=lambda value: value * 2)
def _more_sequences(LLM="Llama3_8B", LLM_GPU="H100", PROMPT=512, OUTPUT=256, TTFT_SLO=0.500, TPOT_SLO=0.030):
    from mlsysim import ServingScheduleModel

    return ServingScheduleModel().max_rate(LLM, LLM_GPU, prompt_tokens=PROMPT, output_tokens=OUTPUT,
                                           ttft_slo=TTFT_SLO, tpot_slo=TPOT_SLO,
                                           max_sequences=512).arrival_rate.magnitude


#: The batch sizes of the design exercise.
DESIGN_BATCHES = (1, 2, 4, 8, 16, 32, 64)


@lru_cache(maxsize=512)
def _meets(model, gpu, share, batch, target):
    """(meets, reason) for one GPU running fixed batches of ``batch`` at ``share`` images/s."""
    from mlsysim import BatchingModel

    r = BatchingModel().solve(model, gpu, share, batch)
    if not r.feasible:
        return False, "; ".join(r.reasons) or "infeasible"
    p99 = r.latency_p99.to("s").magnitude
    if p99 > target:
        return False, f"p99 of {p99 * 1e3:,.1f} ms exceeds the {target * 1e3:g} ms target"
    return True, ""


@lru_cache(maxsize=16)
def _fewest(model, gpu, load, target):
    """The fewest GPUs at which some batch meets the target, and the batches that do."""
    from mlsysim import Engine

    top = float(Engine.solve(model, gpu, batch_size=max(DESIGN_BATCHES)).throughput.to("1/s").magnitude)
    gpus = max(1, math.ceil(load / top))
    for _ in range(1000):
        ok = [b for b in DESIGN_BATCHES if _meets(model, gpu, load / gpus, b, target)[0]]
        if ok:
            return gpus, tuple(ok)
        gpus += 1
    raise RuntimeError("no design meets the target")   # pragma: no cover


def _parse(answer):
    design_answer(answer, ("batch_size", "gpus"), "{'batch_size': 8, 'gpus': 4}", exact=False)
    one_of(answer["batch_size"], "batch_size", DESIGN_BATCHES)
    gpus = answer["gpus"]
    if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 1:
        raise InputError("gpus", "a whole number of GPUs, at least 1", gpus)
    return answer["batch_size"], gpus


@design_exercise("batching/fewest-l4s", minutes=20, points=3, tolerance=0.0, close=0.25,
                 objective="Choose a batch size and a GPU count that serve a load within a p99 target on the "
                           "fewest GPUs.",
                 answer_format="a dict such as {'batch_size': 4, 'gpus': 6} (batch_size a power of two from 1 "
                               "to 64; gpus a whole number)",
                 hint="Each GPU takes load / gpus images/s; BatchingModel().solve(VISION, VISION_GPU, load / gpus, "
                      "batch) gives its p99. Start from the fewest GPUs that could carry the load.",
                 wrong=lambda best: {"batch_size": 64, "gpus": best["gpus"]})
def _fewest_l4s(answer, VISION="ResNet50", VISION_GPU="L4", VISION_LOAD=10_000, VISION_P99=0.015):
    gpus, ok = _fewest(VISION, VISION_GPU, float(VISION_LOAD), float(VISION_P99))
    best = {"batch_size": ok[0], "gpus": gpus}
    if answer is None:
        return Design(True, gpus, gpus, best, unit="GPUs")
    batch, count = _parse(answer)
    meets, reason = _meets(VISION, VISION_GPU, float(VISION_LOAD) / count, batch, float(VISION_P99))
    if not meets:
        return Design(False, count, gpus, best, reasons=(reason,), unit="GPUs")
    return Design(True, count, gpus, best, unit="GPUs")
