"""Exercises of the chapter "How Sure Are We?" (tutorials/how-sure.qmd).

The scenario matches the chapter's parameters: Llama-3-70B served in fp8 at a load of 1,000
requests/s under the book's schedule and targets, and trained on 15 trillion tokens on 128 DGX
H100 nodes (tensor parallel 8, pipeline parallel 4).
"""
from __future__ import annotations

from functools import lru_cache

from mlsysim.exercises import Design, design_answer, design_exercise, exercise, one_of

#: The open design's rule (author-chosen): the targets must hold in at least this share of draws.
MEET_SHARE = 0.9
#: The open design's candidates.
DEVICES = ("H100", "H200", "B200")
DEGREES = (2, 4, 8)
DESIGN_DRAWS = 300


def bill(calibration, MODEL, LOAD, PROMPT_TOKENS, OUTPUT_TOKENS, TTFT_SLO, TPOT_SLO, hardware, tp):
    """(annual bill in USD, whether every target holds) of the chapter's serving fleet, per draw."""
    import numpy as np

    from mlsysim import EconomicsModel, ServingFleetModel

    plan = ServingFleetModel().solve(MODEL, hardware, LOAD, prompt_tokens=PROMPT_TOKENS, output_tokens=OUTPUT_TOKENS,
                                     precision="fp8", tensor_parallel=tp, ttft_slo=TTFT_SLO, tpot_slo=TPOT_SLO,
                                     calibration=calibration)
    return EconomicsModel().solve(plan, calibration=calibration).tco_usd, np.asarray(plan.feasible, dtype=bool)


def training_run(calibration, MODEL, SYSTEM, NODES, TOKENS):
    from mlsysim import Fleet, TrainingRun

    return TrainingRun().solve(MODEL, Fleet.from_system(SYSTEM, NODES), 8192, 1024, tokens=TOKENS,
                               write_bandwidth=1e12, tensor_parallel=8, pipeline_parallel=4, calibration=calibration)


@exercise("how-sure/interval-ratio", tolerance=0.03, close=0.10, kind="predict", minutes=10, points=2,
          objective="Turn a factor's log-normal spread into the width of an interval, by hand.",
          hint="ln(factor) is normal with the spread sigma; the interval runs from -z to +z standard "
               "deviations (z = 1.2816 for 80%), and a time proportional to 1/factor inherits the same ratio.",
          wrong=lambda value: 1.0 + (value - 1) / 4)
def _ratio(LEVEL=0.8):
    import math
    from statistics import NormalDist

    from mlsysim.sensitivity import SPREADS

    return math.exp(2 * NormalDist().inv_cdf(0.5 + LEVEL / 2) * SPREADS["memory_efficiency"])


@exercise("how-sure/network-only", tolerance=0.03, close=0.10, kind="change", minutes=10, points=2,
          objective="Attribute an interval's width to one factor by drawing it alone.",
          hint="uncertainty(..., factors=['network_efficiency']) draws only that factor; read the interval's "
               "high end of the run's wall-clock days.",
          wrong=lambda value: value / 2)
def _network(MODEL="Llama3_70B", SYSTEM="DGX_H100", NODES=128, TOKENS=15e12, LEVEL=0.8):
    from mlsysim.sensitivity import uncertainty

    iv = uncertainty(lambda cal: training_run(cal, MODEL, SYSTEM, NODES, TOKENS),
                     lambda r: r.wall_clock_time.to("day").magnitude, n=4000, factors=["network_efficiency"],
                     level=LEVEL)
    return iv.high


@lru_cache(maxsize=16)
def _p90(params: tuple, hardware: str, tp: int):
    """(90th percentile of the bill, share of draws meeting every target) for one design."""
    import numpy as np

    from mlsysim.sensitivity import draw

    cal = draw(DESIGN_DRAWS, seed=7)
    cost, ok = bill(cal, **dict(params), hardware=hardware, tp=tp)
    return float(np.quantile(cost, 0.9)), float(np.mean(np.broadcast_to(ok, np.shape(cost))))


@design_exercise("how-sure/robust-fleet", tolerance=0.05, close=0.15, minutes=25, points=4,
                 objective="Choose a design on its pessimistic cost, not its point estimate.",
                 answer_format="a dict {'hardware': 'H100', 'tensor_parallel': 4}",
                 hint="Compute each candidate's 90th-percentile bill over the same calibration draws, and "
                      "check that the targets hold in 90% of them.",
                 wrong=lambda best: {"hardware": "H200", "tensor_parallel": 8})
def _robust(answer, MODEL="Llama3_70B", LOAD=1000.0, PROMPT_TOKENS=1024, OUTPUT_TOKENS=256, TTFT_SLO=2.0,
            TPOT_SLO=0.05):

    params = tuple(sorted(dict(MODEL=MODEL, LOAD=LOAD, PROMPT_TOKENS=PROMPT_TOKENS, OUTPUT_TOKENS=OUTPUT_TOKENS,
                               TTFT_SLO=TTFT_SLO, TPOT_SLO=TPOT_SLO).items()))
    best, best_cost = None, float("inf")
    for hw in DEVICES:
        for tp in DEGREES:
            cost, share = _p90(params, hw, tp)
            if share >= MEET_SHARE and cost < best_cost:
                best, best_cost = {"hardware": hw, "tensor_parallel": tp}, cost
    if answer is None:
        return Design(True, best_cost, best_cost, best, unit="USD")
    design_answer(answer, ("hardware", "tensor_parallel"), "{'hardware': 'H100', 'tensor_parallel': 4}")
    one_of(answer["hardware"], "hardware", DEVICES)
    one_of(answer["tensor_parallel"], "tensor_parallel", DEGREES)
    cost, share = _p90(params, answer["hardware"], int(answer["tensor_parallel"]))
    reasons = () if share >= MEET_SHARE else (f"the targets hold in {share:.0%} of the draws, below "
                                              f"{MEET_SHARE:.0%}",)
    return Design(not reasons, cost, best_cost, best, reasons, "USD")
