"""Exercises of the chapter "Capstone: Auditing a Frontier System" (tutorials/capstone-audit.qmd).

The scenario matches the chapter's parameters: Llama 3.1 405B pre-trained on 15.6 trillion
tokens on 16,384 H100s (2,048 DGX H100 nodes, tensor parallel 8, pipeline parallel 16 with four
interleaved chunks, ZeRO-1, selective recomputation, 16M-token batches), and served in fp8 on
eight-GPU H100 replicas under the book's schedule.
"""
from __future__ import annotations

import itertools
from functools import lru_cache

from mlsysim.exercises import Design, design_answer, design_exercise, exercise, one_of

#: The open design's candidates (author-chosen): degrees that tile 16,384 GPUs.
TENSOR, PIPELINE, VIRTUAL, MICRO, ZERO = (4, 8), (8, 16, 32), (1, 2, 4, 8), (1, 2), (1, 2, 3)
RECOMPUTE = ("none", "selective", "full")


def training_run(MODEL, SYSTEM, NODES, TOKENS, SEQ_LEN, GLOBAL_BATCH, REGION, FACILITY, WRITE_TBPS,
                 calibration=None, **layout):
    from mlsysim import Fleet, TrainingRun

    return TrainingRun().solve(MODEL, Fleet.from_system(SYSTEM, NODES), SEQ_LEN, GLOBAL_BATCH, tokens=TOKENS,
                               region=REGION, facility=FACILITY, write_bandwidth=WRITE_TBPS * 1e12,
                               calibration=calibration, **layout)


def serving_bill(MODEL, LOAD, PROMPT_TOKENS, OUTPUT_TOKENS, TTFT_SLO, TPOT_SLO, calibration=None):
    from mlsysim import EconomicsModel, ServingFleetModel

    plan = ServingFleetModel().solve(MODEL, "H100", LOAD, prompt_tokens=PROMPT_TOKENS, output_tokens=OUTPUT_TOKENS,
                                     precision="fp8", tensor_parallel=8, ttft_slo=TTFT_SLO, tpot_slo=TPOT_SLO,
                                     calibration=calibration)
    return EconomicsModel().solve(plan, calibration=calibration).tco_usd


@exercise("capstone-audit/longer-answers", tolerance=0.03, close=0.10, kind="predict", minutes=15, points=2,
          objective="Predict how a serving fleet scales with the answer length from the work per request.",
          hint="At the TPOT target a step carries a fixed amount of work; a request brings its prompt tokens and "
               "its answer tokens. Scale the fleet by the tokens per request, not by the answer alone.",
          wrong=lambda value: value * 2)
def _longer(MODEL="Llama3_405B", LOAD=100.0, PROMPT_TOKENS=1024, OUTPUT_TOKENS=256, TTFT_SLO=2.0, TPOT_SLO=0.05):
    from mlsysim import ServingFleetModel

    plan = ServingFleetModel().solve(MODEL, "H100", LOAD, prompt_tokens=PROMPT_TOKENS, output_tokens=2 * OUTPUT_TOKENS,
                                     precision="fp8", tensor_parallel=8, ttft_slo=TTFT_SLO, tpot_slo=TPOT_SLO)
    return plan.accelerators


@exercise("capstone-audit/half-the-gpus", unit="day", tolerance=0.03, close=0.10, kind="change", minutes=15, points=2,
          objective="See what halving a training fleet does to the days, failures included.",
          hint="Use NODES // 2 nodes with the same layout (data parallelism halves) and read wall_clock_time in "
               "days.",
          wrong=lambda value: value / 2)
def _half(MODEL="Llama3_405B", SYSTEM="DGX_H100", NODES=2048, TOKENS=15.6e12, SEQ_LEN=8192, GLOBAL_BATCH=2048,
          REGION="us_average", FACILITY="hyperscale", WRITE_TBPS=2.0, TP=8, PP=16, VIRTUAL=4, ZERO=1,
          RECOMPUTE="selective"):
    run = training_run(MODEL, SYSTEM, NODES // 2, TOKENS, SEQ_LEN, GLOBAL_BATCH, REGION, FACILITY, WRITE_TBPS,
                       tensor_parallel=TP, pipeline_parallel=PP, virtual_stages=VIRTUAL, zero_stage=ZERO,
                       recompute=RECOMPUTE)
    return run.wall_clock_time.to("day").magnitude


def _candidates(gpus, batch):
    rows = []
    for t, p, v, b, z in itertools.product(TENSOR, PIPELINE, VIRTUAL, MICRO, ZERO):
        d = gpus // (t * p)
        if d * t * p == gpus and batch % (b * d) == 0:
            rows.append({"tensor_parallel": t, "pipeline_parallel": p, "virtual_stages": v, "micro_batch_size": b,
                         "zero_stage": z})
    return rows


@lru_cache(maxsize=8)
def _fastest(params: tuple):
    import numpy as np

    p = dict(params)
    from mlsysim import Systems

    gpus = p["NODES"] * Systems.get(p["SYSTEM"]).accelerators
    rows = _candidates(gpus, p["GLOBAL_BATCH"])
    arrays = {k: np.array([r[k] for r in rows], dtype=float) for k in rows[0]}
    best, best_days = None, float("inf")
    for mode in RECOMPUTE:
        run = training_run(**p, recompute=mode, **arrays)
        days = np.where(np.asarray(run.feasible), run.wall_clock_time.to("day").magnitude, np.inf)
        i = int(np.argmin(days))
        if days[i] < best_days:
            best, best_days = {**rows[i], "recompute": mode}, float(days[i])
    return best, best_days


@design_exercise("capstone-audit/faster-layout", tolerance=0.02, close=0.08, minutes=30, points=4,
                 objective="Improve a published training layout with the engine, and state what the change buys.",
                 answer_format="a dict {'tensor_parallel': 8, 'pipeline_parallel': 16, 'virtual_stages': 4, "
                               "'micro_batch_size': 1, 'zero_stage': 1, 'recompute': 'selective'}",
                 hint="The bubble is (p - 1) / (v m): more interleaved chunks shrink it, and so does dropping "
                      "recomputation where the memory allows.",
                 wrong=lambda best: {**best, "virtual_stages": 1, "recompute": "full"})
def _faster(answer, MODEL="Llama3_405B", SYSTEM="DGX_H100", NODES=2048, TOKENS=15.6e12, SEQ_LEN=8192,
            GLOBAL_BATCH=2048, REGION="us_average", FACILITY="hyperscale", WRITE_TBPS=2.0):
    from mlsysim import Systems
    from mlsysim.errors import InputError

    params = dict(MODEL=MODEL, SYSTEM=SYSTEM, NODES=NODES, TOKENS=TOKENS, SEQ_LEN=SEQ_LEN, GLOBAL_BATCH=GLOBAL_BATCH,
                  REGION=REGION, FACILITY=FACILITY, WRITE_TBPS=WRITE_TBPS)
    best, best_days = _fastest(tuple(sorted(params.items())))
    if answer is None:
        return Design(True, best_days, best_days, best, unit="days")
    keys = set(best)
    design_answer(answer, sorted(keys), repr(best))
    one_of(answer["recompute"], "recompute", RECOMPUTE)
    layout = {k: answer[k] for k in keys - {"recompute"}}
    if layout not in _candidates(NODES * Systems.get(SYSTEM).accelerators, GLOBAL_BATCH):
        raise InputError("answer", "degrees from the exercise's lists whose product tiles the fleet and whose "
                                   "micro-batches divide the batch", answer)
    run = training_run(**params, recompute=answer["recompute"], **layout)
    reasons = tuple(run.reasons)
    return Design(bool(run.feasible), run.wall_clock_time.to("day").magnitude, best_days, best, reasons, "days")
