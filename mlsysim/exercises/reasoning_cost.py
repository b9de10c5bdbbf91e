"""Exercises of the chapter "The Cost of Reasoning" (tutorials/reasoning-cost.qmd).

The scenario matches the chapter's parameters cell: Llama-3.1-405B in fp8 on replicas of eight
GPUs, prompts of 1,024 tokens, 100 reasoning tokens per step, 1,000 queries/s, a p99 TTFT of
2 s and a TPOT of 60 ms, each fleet sized by the book's serving schedule.
"""
from __future__ import annotations

from mlsysim.exercises import Design, design_answer, design_exercise, exercise, one_of

DEFAULTS = dict(MODEL="Llama3_405B", GPU="H100", PRECISION="fp8", TP=8, PROMPT=1024, TOKENS_PER_STEP=100,
                LOAD_QPS=1000, TTFT_SLO=2.0, TPOT_SLO=0.060)


def fleet(k, MODEL, GPU, PRECISION, TP, PROMPT, TOKENS_PER_STEP, LOAD_QPS, TTFT_SLO, TPOT_SLO, calibration=None):
    """The serving fleet for K reasoning steps (ServingFleetModel with the chapter's targets)."""
    from mlsysim import ServingFleetModel

    return ServingFleetModel().solve(MODEL, GPU, LOAD_QPS, prompt_tokens=PROMPT, output_tokens=k * TOKENS_PER_STEP,
                                     precision=PRECISION, tensor_parallel=TP, ttft_slo=TTFT_SLO, tpot_slo=TPOT_SLO,
                                     calibration=calibration)


def annual_bill(k, **params):
    """Annual total cost of ownership (USD) of the fleet for K steps."""
    from mlsysim import EconomicsModel

    return EconomicsModel().solve(fleet(k, **params)).tco_usd


@exercise("reasoning-cost/k32-bill", kind="predict", minutes=10, points=2,
          objective="Predict how the serving bill scales with reasoning length, then check it.",
          tolerance=0.03, close=0.15,
          hint="Size the fleet for K = 32 (3,200 output tokens) with ServingFleetModel, as the chapter does for "
               "K = 16, and price it with EconomicsModel.",
          wrong=lambda value: value / 4)
def _k32_bill(MODEL="Llama3_405B", GPU="H100", PRECISION="fp8", TP=8, PROMPT=1024, TOKENS_PER_STEP=100,
              LOAD_QPS=1000, TTFT_SLO=2.0, TPOT_SLO=0.060):
    return annual_bill(32, MODEL=MODEL, GPU=GPU, PRECISION=PRECISION, TP=TP, PROMPT=PROMPT,
                       TOKENS_PER_STEP=TOKENS_PER_STEP, LOAD_QPS=LOAD_QPS, TTFT_SLO=TTFT_SLO, TPOT_SLO=TPOT_SLO)


@exercise("reasoning-cost/relaxed-tpot-k8-bill", kind="change", minutes=10, points=2,
          objective="See how a latency target, not the hardware, sets the size of a fleet.",
          tolerance=0.03, close=0.15,
          hint="Keep everything else and pass tpot_slo=0.175 (MLPerf's target for this model) to ServingFleetModel "
               "for K = 8; then price the fleet.",
          wrong=lambda value: value * 3)
def _relaxed(MODEL="Llama3_405B", GPU="H100", PRECISION="fp8", TP=8, PROMPT=1024, TOKENS_PER_STEP=100,
             LOAD_QPS=1000, TTFT_SLO=2.0):
    return annual_bill(8, MODEL=MODEL, GPU=GPU, PRECISION=PRECISION, TP=TP, PROMPT=PROMPT,
                       TOKENS_PER_STEP=TOKENS_PER_STEP, LOAD_QPS=LOAD_QPS, TTFT_SLO=TTFT_SLO, TPOT_SLO=0.175)


#: The choices of the design exercise.
DESIGN_HARDWARE = ("H100", "H200", "B200")
DESIGN_PRECISIONS = ("fp8", "fp16")
DESIGN_TP = (4, 8)


def _design_bill(design, params):
    from mlsysim import EconomicsModel

    plan = fleet(8, **{**params, "GPU": design["hardware"], "PRECISION": design["precision"],
                       "TP": design["tensor_parallel"]})
    if not plan.feasible:
        return plan, None
    return plan, EconomicsModel().solve(plan).tco_usd


def _parse(answer):
    design_answer(answer, ("hardware", "precision", "tensor_parallel"),
                  "{'hardware': 'H100', 'precision': 'fp8', 'tensor_parallel': 8}", exact=False)
    one_of(answer["hardware"], "hardware", DESIGN_HARDWARE)
    one_of(answer["precision"], "precision", DESIGN_PRECISIONS)
    one_of(answer["tensor_parallel"], "tensor_parallel", DESIGN_TP)
    return dict(answer)


@design_exercise("reasoning-cost/cheapest-k8-fleet", minutes=25, points=4, tolerance=0.02, close=0.15,
                 objective="Choose the hardware, precision and parallelism that serve a load within its targets "
                           "at the lowest annual cost.",
                 answer_format="a dict such as {'hardware': 'H100', 'precision': 'fp8', 'tensor_parallel': 8} "
                               "(hardware H100, H200 or B200; precision fp8 or fp16; tensor_parallel 4 or 8)",
                 hint="Size the K = 8 fleet for each choice with ServingFleetModel; a choice whose weights do not fit "
                      "is infeasible. Compare annual bills from EconomicsModel.",
                 wrong=lambda best: {**best, "hardware": "H100", "precision": "fp8", "tensor_parallel": 4})
def _cheapest(answer, MODEL="Llama3_405B", PROMPT=1024, TOKENS_PER_STEP=100, LOAD_QPS=1000, TTFT_SLO=2.0,
              TPOT_SLO=0.060):
    params = dict(MODEL=MODEL, GPU="H100", PRECISION="fp8", TP=8, PROMPT=PROMPT, TOKENS_PER_STEP=TOKENS_PER_STEP,
                  LOAD_QPS=LOAD_QPS, TTFT_SLO=TTFT_SLO, TPOT_SLO=TPOT_SLO)
    bills = {}
    for hw in DESIGN_HARDWARE:
        for precision in DESIGN_PRECISIONS:
            for tp in DESIGN_TP:
                design = {"hardware": hw, "precision": precision, "tensor_parallel": tp}
                _, bill = _design_bill(design, params)
                if bill is not None:
                    bills[(hw, precision, tp)] = bill
    best_key = min(bills, key=bills.get)
    best = {"hardware": best_key[0], "precision": best_key[1], "tensor_parallel": best_key[2]}
    if answer is None:
        return Design(True, bills[best_key], bills[best_key], best, unit="USD/yr")
    design = _parse(answer)
    plan, bill = _design_bill(design, params)
    if bill is None:
        return Design(False, float("inf"), bills[best_key], best, reasons=tuple(plan.reasons) or
                      ("no arrival rate meets the targets on this replica",), unit="USD/yr")
    return Design(True, bill, bills[best_key], best, unit="USD/yr")
