"""Exercises of the chapter "Two Phases, One Request" (tutorials/two-phases.qmd).

The scenario is the chapter's parameters cell: Llama-2-70B on a replica of two H100s (tensor
parallel) in fp16, a prompt of 1,024 tokens and 256 output tokens, and MLPerf Inference's
interactive targets for this model, a p99 TTFT of 450 ms and a TPOT of 40 ms
[@mlcommons2025loadgen], under the book's serving schedule.
"""
from __future__ import annotations

import math
from functools import lru_cache

from mlsysim.exercises import Design, design_answer, design_exercise, exercise, one_of
from mlsysim.solvers.schedule import replicas_needed


@exercise("two-phases/longer-prompt-ttft", kind="predict", minutes=10, points=2,
          objective="Predict how TTFT scales with the prompt, and explain why it is not in proportion.",
          tolerance=0.02, close=0.15,
          hint="Solve RequestLatencyModel for a prompt three times as long and divide the two TTFTs. "
               "The fixed prefill cost does not grow with the prompt.",
          wrong=lambda value: 9.0)
def _longer_prompt(MODEL="Llama2_70B", GPU="H100", TP=2, PRECISION="fp16", PROMPT=1024, OUTPUT=256):
    from mlsysim import RequestLatencyModel

    def ttft(prompt):
        return RequestLatencyModel().solve(MODEL, GPU, prompt, OUTPUT, precision=PRECISION,
                                           tensor_parallel=TP).ttft

    return (ttft(3 * PROMPT) / ttft(PROMPT)).to("").magnitude


@exercise("two-phases/balance-batch8", kind="change", minutes=10, points=2,
          objective="See how sharing decode steps among sequences moves the balance between prefill and decode.",
          tolerance=0.0, close=0.10,
          hint="Use RequestLatencyModel().balance_prompt(MODEL, GPU, 8, tensor_parallel=TP, batch_size=8).",
          wrong=lambda value: value * 8)
def _balance_batch8(MODEL="Llama2_70B", GPU="H100", TP=2):
    from mlsysim import RequestLatencyModel

    r = RequestLatencyModel().balance_prompt(MODEL, GPU, 8, tensor_parallel=TP, batch_size=8)
    return int(r.prompt_tokens.magnitude)


#: The choices of the design exercise.
DESIGN_PRECISIONS = ("fp16", "fp8")
DESIGN_TP = (2, 4, 8)
DESIGN_BUDGETS = (512, 1024, 2048, 4096)


@lru_cache(maxsize=64)
def _largest_rate(model, precision, tp, budget, prompt, output, ttft_slo, tpot_slo):
    from mlsysim import ServingScheduleModel

    return float(ServingScheduleModel().max_rate(model, "H100", prompt_tokens=prompt, output_tokens=output,
                                                 precision=precision, tensor_parallel=tp, token_budget=budget,
                                                 ttft_slo=ttft_slo, tpot_slo=tpot_slo).arrival_rate.magnitude)


def _gpus(design, params):
    """(GPUs, reason or None) of a design serving the load."""
    rate = _largest_rate(params["MODEL"], design["precision"], design["tensor_parallel"], design["token_budget"],
                         params["PROMPT"], params["OUTPUT"], params["TTFT_SLO"], params["TPOT_SLO"])
    if rate <= 0:
        return math.inf, "not even one request at a time meets the targets on this replica"
    return int(replicas_needed(params["LOAD_QPS"], rate)[0]) * design["tensor_parallel"], None


def _parse(answer):
    keys = ("precision", "tensor_parallel", "token_budget")
    design_answer(answer, keys, "{'precision': 'fp16', 'tensor_parallel': 2, 'token_budget': 2048}", exact=False)
    for key, options in zip(keys, (DESIGN_PRECISIONS, DESIGN_TP, DESIGN_BUDGETS)):
        one_of(answer[key], key, options)
    return {k: answer[k] for k in keys}


@design_exercise("two-phases/fewest-h100s", minutes=25, points=4, tolerance=0.0, close=0.25,
                 objective="Choose precision, parallelism and token budget so a load meets both latency targets "
                           "on the fewest GPUs.",
                 answer_format="a dict such as {'precision': 'fp16', 'tensor_parallel': 2, 'token_budget': 2048} "
                               "(precision fp16 or fp8; tensor_parallel 2, 4 or 8; token_budget 512, 1024, 2048 "
                               "or 4096)",
                 hint="For each design, ServingScheduleModel().max_rate(...) with both targets gives one replica's "
                      "largest rate; GPUs = ceil(load / rate) x tensor_parallel.",
                 wrong=lambda best: {"precision": "fp16", "tensor_parallel": 2, "token_budget": 512})
def _fewest(answer, MODEL="Llama2_70B", PROMPT=1024, OUTPUT=256, TTFT_SLO=0.450, TPOT_SLO=0.040, LOAD_QPS=20):
    params = dict(MODEL=MODEL, PROMPT=PROMPT, OUTPUT=OUTPUT, TTFT_SLO=TTFT_SLO, TPOT_SLO=TPOT_SLO,
                  LOAD_QPS=LOAD_QPS)
    counts = {}
    for precision in DESIGN_PRECISIONS:
        for tp in DESIGN_TP:
            for budget in DESIGN_BUDGETS:
                design = {"precision": precision, "tensor_parallel": tp, "token_budget": budget}
                counts[precision, tp, budget] = _gpus(design, params)[0]
    best_key = min(counts, key=counts.get)
    best = dict(zip(("precision", "tensor_parallel", "token_budget"), best_key))
    if answer is None:
        return Design(True, counts[best_key], counts[best_key], best, unit="GPUs")
    design = _parse(answer)
    gpus, reason = _gpus(design, params)
    if reason:
        return Design(False, math.inf, counts[best_key], best, reasons=(reason,), unit="GPUs")
    return Design(True, gpus, counts[best_key], best, unit="GPUs")
