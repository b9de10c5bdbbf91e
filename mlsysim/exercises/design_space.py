"""Exercises of the chapter "Searching the Design Space" (tutorials/design-space.qmd).

The scenario matches the chapter's parameters: Llama-3-70B served at 1,000 requests/s of
1,024-token prompts and 256-token answers under the book's targets, on the catalogue's GPUs;
and Llama-3-70B trained on 15 trillion tokens on DGX H100 or DGX B200 fleets.
"""
from __future__ import annotations

from functools import lru_cache

from mlsysim.exercises import Design, design_answer, design_exercise, exercise, one_of

HARDWARE = ("A100", "H100", "H200", "B200", "MI300X")
#: The open design's deadline (author-chosen), days of wall-clock time.
DEADLINE_DAYS = 60.0
SYSTEMS = ("DGX_H100", "DGX_B200")
NODE_COUNTS = (32, 64, 128, 256, 512)
LAYOUT = dict(tp=(1, 2, 4, 8), pp=(1, 2, 4, 8, 16), micro_batch=(1, 2, 4), zero=(1, 3),
              recompute=("none", "selective", "full"))


def serving_best(MODEL, LOAD, PROMPT_TOKENS, OUTPUT_TOKENS, TTFT_SLO, TPOT_SLO):
    from mlsysim import ServingDesignSpace

    space = ServingDesignSpace().search(MODEL, list(HARDWARE), precision=["fp16", "fp8"], tensor_parallel=[1, 2, 4, 8],
                                        load=LOAD, prompt_tokens=PROMPT_TOKENS, output_tokens=OUTPUT_TOKENS,
                                        ttft_slo=TTFT_SLO, tpot_slo=TPOT_SLO, max_sequences=[64, 256])
    return space.best()


@exercise("design-space/three-times-the-load", tolerance=0.03, close=0.10, kind="predict", minutes=10, points=2,
          objective="Predict how the cheapest fleet scales with the load once whole nodes stop mattering.",
          hint="At a thousand requests per second the best replica's rate sets the fleet; at three times the "
               "load you need about three times the replicas, rounded up to whole nodes.",
          wrong=lambda value: value / 3)
def _three(MODEL="Llama3_70B", LOAD=1000.0, PROMPT_TOKENS=1024, OUTPUT_TOKENS=256, TTFT_SLO=2.0, TPOT_SLO=0.05):
    return serving_best(MODEL, 3 * LOAD, PROMPT_TOKENS, OUTPUT_TOKENS, TTFT_SLO, TPOT_SLO)["accelerators"]


@exercise("design-space/tight-tpot-cost", tolerance=0.03, close=0.10, kind="change", minutes=15, points=2,
          objective="See what a tighter latency target costs, and which design answers it.",
          hint="Search again with tpot_slo=0.03 and read cost_per_million_tokens of result.best().",
          wrong=lambda value: value / 2)
def _tight(MODEL="Llama3_70B", LOAD=1000.0, PROMPT_TOKENS=1024, OUTPUT_TOKENS=256, TTFT_SLO=2.0, TPOT_SLO=0.05):
    return serving_best(MODEL, LOAD, PROMPT_TOKENS, OUTPUT_TOKENS, TTFT_SLO, 0.03)["cost_per_million_tokens"]


def _run(MODEL, TOKENS, REGION, design):
    from mlsysim import Fleet, TrainingRun

    fleet = Fleet.from_system(design["system"], design["nodes"])
    return TrainingRun().solve(MODEL, fleet, 8192, 1024, tokens=TOKENS, region=REGION, write_bandwidth=1e12,
                               tensor_parallel=design["tensor_parallel"],
                               pipeline_parallel=design["pipeline_parallel"],
                               micro_batch_size=design["micro_batch_size"], zero_stage=design["zero_stage"],
                               recompute=design["recompute"])


@lru_cache(maxsize=8)
def _cheapest_on_time(MODEL, TOKENS, REGION):
    import numpy as np

    from mlsysim import Fleet, TrainingDesignSpace

    fleets = [Fleet.from_system(s, n, name=f"{s}:{n}") for s in SYSTEMS for n in NODE_COUNTS]
    space = TrainingDesignSpace().search(MODEL, fleets, 8192, 1024, tokens=TOKENS, region=REGION, **LAYOUT)
    on_time = space.feasible & (space["days"] <= DEADLINE_DAYS)
    i = int(np.argmin(np.where(on_time, space["cost_usd"], np.inf)))
    row = space.row(i)
    system, nodes = row["fleet"].split(":")
    design = {"system": system, "nodes": int(nodes), "tensor_parallel": int(row["tensor_parallel"]),
              "pipeline_parallel": int(row["pipeline_parallel"]), "micro_batch_size": int(row["micro_batch_size"]),
              "zero_stage": int(row["zero_stage"]), "recompute": row["recompute"]}
    return design, float(row["cost_usd"])


@design_exercise("design-space/train-on-time", tolerance=0.03, close=0.10, minutes=30, points=4,
                 objective="Search a training design space under a deadline, and read what the search found.",
                 answer_format="a dict {'system': 'DGX_B200', 'nodes': 128, 'tensor_parallel': 8, "
                               "'pipeline_parallel': 4, 'micro_batch_size': 1, 'zero_stage': 1, "
                               "'recompute': 'selective'}",
                 hint="The deadline sets the smallest fleet; on that fleet, the cheapest layout is the fastest "
                      "one that fits.",
                 wrong=lambda best: {**best, "nodes": 512, "system": "DGX_H100"})
def _on_time(answer, MODEL="Llama3_70B", TOKENS=15e12, REGION="us_average"):

    best, best_cost = _cheapest_on_time(MODEL, TOKENS, REGION)
    if answer is None:
        return Design(True, best_cost, best_cost, best, unit="USD")
    keys = set(best)
    design_answer(answer, sorted(keys), repr(best))
    one_of(answer["system"], "system", SYSTEMS)
    one_of(answer["nodes"], "nodes", NODE_COUNTS)
    run = _run(MODEL, TOKENS, REGION, answer)
    days = run.wall_clock_time.to("day").magnitude
    reasons = list(run.reasons)
    if days > DEADLINE_DAYS:
        reasons.append(f"it takes {days:.0f} days, past the {DEADLINE_DAYS:.0f}-day deadline")
    return Design(not reasons, run.cost_usd, best_cost, best, tuple(reasons), "USD")
