"""Exercises of the chapter "Where You Train Matters" (tutorials/carbon.qmd).

The scenario matches the chapter's parameters: Llama-3-70B trained on 15 trillion tokens on
DGX H100 nodes (tensor parallel 8, pipeline parallel 4), checkpoints at 1 TB/s, in a region and
facility of the carbon catalogue.
"""
from __future__ import annotations

from mlsysim.exercises import Design, design_answer, design_exercise, exercise

SEQ_LEN, GLOBAL_BATCH, TP, PP = 8192, 1024, 8, 4
#: The open design's targets (author-chosen).
DEADLINE_DAYS = 120.0
CO2_CAP_T = 1500.0


def run(MODEL, SYSTEM, NODES, TOKENS, REGION, FACILITY, WRITE_TBPS, **changes):
    """The chapter's TrainingRun, with keyword changes (region=, facility=, tokens=, nodes=)."""
    from mlsysim import Fleet, TrainingRun

    nodes = changes.pop("nodes", NODES)
    return TrainingRun().solve(MODEL, Fleet.from_system(SYSTEM, nodes), SEQ_LEN, GLOBAL_BATCH,
                               tokens=changes.pop("tokens", TOKENS), region=changes.pop("region", REGION),
                               facility=changes.pop("facility", FACILITY), write_bandwidth=WRITE_TBPS * 1e12,
                               tensor_parallel=TP, pipeline_parallel=PP, **changes)


PARAMS = dict(MODEL="Llama3_70B", SYSTEM="DGX_H100", NODES=256, TOKENS=15e12, REGION="us_average",
              FACILITY="industry_average", WRITE_TBPS=1.0)


@exercise("carbon/india-hyperscale", unit=None, tolerance=0.03, close=0.15, kind="predict", minutes=10, points=2,
          objective="Scale operational carbon by grid intensity and PUE before computing it.",
          hint="Operational CO2 is facility energy x grid intensity: scale the scenario's by the ratio of the two grids' intensities and of the two facilities' PUEs.",
          wrong=lambda value: value * 3)
def _india(MODEL="Llama3_70B", SYSTEM="DGX_H100", NODES=256, TOKENS=15e12, REGION="us_average",
           FACILITY="industry_average", WRITE_TBPS=1.0):
    r = run(MODEL, SYSTEM, NODES, TOKENS, REGION, FACILITY, WRITE_TBPS, region="india", facility="hyperscale")
    return r.operational_co2_kg / 1e3


@exercise("carbon/double-tokens", unit=None, tolerance=0.03, close=0.15, kind="change", minutes=10, points=2,
          objective="See that a run's carbon scales with its tokens, failures included.",
          hint="Solve the run with tokens = 2 x TOKENS and read total_co2_kg (divide by 1,000 for tonnes).",
          wrong=lambda value: value / 2)
def _double(MODEL="Llama3_70B", SYSTEM="DGX_H100", NODES=256, TOKENS=15e12, REGION="us_average",
            FACILITY="industry_average", WRITE_TBPS=1.0):
    return run(MODEL, SYSTEM, NODES, TOKENS, REGION, FACILITY, WRITE_TBPS, tokens=2 * TOKENS).total_co2_kg / 1e3


def _node_choices():
    return [4 * 2 ** k for k in range(10)]        # data parallel = nodes / 4 must divide the batch of 1,024


@design_exercise("carbon/clean-and-on-time", tolerance=0.03, close=0.10, minutes=25, points=4,
                 objective="Choose where and on how many nodes to train to meet a deadline and a carbon cap "
                           "at least cost.",
                 answer_format="a dict {'nodes': 256, 'region': 'france'}",
                 hint="The deadline sets the fewest nodes; every extra node costs more than it saves. The cap "
                      "rules out grids, not node counts.",
                 wrong=lambda best: {"nodes": 1024, "region": "india"})
def _clean(answer, MODEL="Llama3_70B", SYSTEM="DGX_H100", NODES=256, TOKENS=15e12, REGION="us_average",
           FACILITY="industry_average", WRITE_TBPS=1.0):
    from mlsysim.errors import InputError
    from mlsysim.specs.carbon import grid_region, grid_regions

    def evaluate(nodes, region):
        r = run(MODEL, SYSTEM, NODES, TOKENS, REGION, FACILITY, WRITE_TBPS, nodes=nodes, region=region)
        reasons = []
        days = r.wall_clock_time.to("day").magnitude
        if days > DEADLINE_DAYS:
            reasons.append(f"it takes {days:.0f} days, past the {DEADLINE_DAYS:.0f}-day deadline")
        if r.total_co2_kg / 1e3 > CO2_CAP_T:
            reasons.append(f"it emits {r.total_co2_kg / 1e3:,.0f} t CO2e, over the cap of {CO2_CAP_T:,.0f} t")
        if not r.feasible:
            reasons += list(r.reasons)
        return r.cost_usd, tuple(reasons)

    best, best_cost = None, float("inf")
    for nodes in _node_choices():
        for region in grid_regions():
            cost, reasons = evaluate(nodes, region)
            if not reasons and cost < best_cost:
                best, best_cost = {"nodes": nodes, "region": region}, cost
        if best is not None:
            break                                   # more nodes only cost more
    if answer is None:
        return Design(True, best_cost, best_cost, best, unit="USD")
    design_answer(answer, ("nodes", "region"), "{'nodes': 256, 'region': 'france'}")
    nodes = answer["nodes"]
    if isinstance(nodes, bool) or nodes not in _node_choices():
        raise InputError("nodes", f"one of {', '.join(map(str, _node_choices()))} (data parallelism must divide "
                                  "the batch)", nodes)
    region = grid_region(answer["region"], "region").key
    cost, reasons = evaluate(int(nodes), region)
    return Design(not reasons, cost, best_cost, best, reasons, "USD")
