"""Exercises of the chapter "The Compute Budget" (tutorials/compute-budget.qmd).

The scenario matches the chapter's parameters cell: Llama-3-70B trained on 15 trillion tokens
of 8,192-token sequences, 1,024 sequences per step, on DGX H100 nodes.
"""
from __future__ import annotations

from functools import lru_cache

from mlsysim.exercises import Design, design_answer, design_exercise, exercise


@lru_cache(maxsize=64)
def plan(model, system, nodes, seq_len, global_batch):
    """(best configuration, its tokens per second, its MFU) on ``nodes`` nodes of ``system``."""
    from mlsysim import Fleet
    from mlsysim.solvers.training.search import best_configuration

    fleet = Fleet.from_system(system, nodes)
    best, r, i = best_configuration(model, fleet, seq_len, global_batch)
    return best, float(r.tokens_per_second.to("token/s").magnitude[i]), float(r.mfu.to("").magnitude[i])


def days(model, system, nodes, seq_len, global_batch, tokens):
    return tokens / plan(model, system, nodes, seq_len, global_batch)[1] / 86400.0


@exercise("compute-budget/gpu-hours-8b", kind="predict", unit="hour", minutes=10, points=2, tolerance=0.05, close=0.20,
          objective="Predict how GPU-hours scale with model size at a fixed token count.",
          hint="Solve the best configuration for Llama3_8B on the same fleet, then hours = tokens / (tokens per "
               "second) / 3600 x GPUs.", wrong=lambda value: value * 8.8)
def _gpu_hours_8b(SMALL_MODEL="Llama3_8B", SYSTEM="DGX_H100", NODES=256, SEQ_LEN=8192, GLOBAL_BATCH=1024,
                  TOKENS=15e12):
    d = days(SMALL_MODEL, SYSTEM, NODES, SEQ_LEN, GLOBAL_BATCH, TOKENS)
    return d * 24 * NODES * 8


@exercise("compute-budget/double-the-fleet", kind="change", unit="day", minutes=10, points=2, tolerance=0.03, close=0.15,
          objective="See that doubling a fleet does not halve the time: efficiency falls as it grows.",
          hint="Rerun the best configuration on twice the nodes; the global batch stays the same.",
          wrong=lambda value: value / 2 * 0.8)
def _double_the_fleet(MODEL="Llama3_70B", SYSTEM="DGX_H100", NODES=256, SEQ_LEN=8192, GLOBAL_BATCH=1024,
                      TOKENS=15e12):
    return days(MODEL, SYSTEM, 2 * NODES, SEQ_LEN, GLOBAL_BATCH, TOKENS)


_EXAMPLE = ("{'nodes': 256, 'tensor_parallel': 4, 'pipeline_parallel': 4, 'micro_batch_size': 1, "
            "'virtual_stages': 4}")
_FORMAT = f"a dict such as {_EXAMPLE}"
_NODE_CHOICES = (64, 80, 96, 128, 160, 192, 256, 320, 384, 512, 640, 768, 1024)


def _evaluate(design, model, system, seq_len, global_batch, tokens):
    """(days, TCO in USD, feasible, reasons) of one design."""
    from mlsysim import EconomicsModel, Fleet, TrainingModel

    fleet = Fleet.from_system(system, int(design["nodes"]))
    r = TrainingModel().solve(model, fleet, seq_len, global_batch, design.get("micro_batch_size", 1),
                              design["tensor_parallel"], design["pipeline_parallel"],
                              virtual_stages=design.get("virtual_stages", 1))
    d = tokens / r.tokens_per_second.to("token/s").magnitude / 86400.0
    tco = EconomicsModel().solve(fleet, duration_days=d, power_fraction=1.0).tco_usd  # GPUs at TDP
    return d, tco, bool(r.feasible), list(r.reasons)


@design_exercise("compute-budget/cheapest-under-deadline", minutes=25, points=4, tolerance=0.03, close=0.15,
                 objective="Size a training fleet and its parallelism to meet a deadline at the least cost.",
                 answer_format=_FORMAT,
                 hint="Each extra node shortens the run but lowers the MFU; the cheapest fleet is usually the "
                      "smallest that meets the deadline.",
                 wrong=lambda best: {**best, "nodes": 1024})
def _cheapest(answer, MODEL="Llama3_70B", SYSTEM="DGX_H100", SEQ_LEN=8192, GLOBAL_BATCH=1024, TOKENS=15e12,
              DEADLINE_DAYS=90):

    best = None
    for nodes in _NODE_CHOICES:
        try:
            config, tps, _ = plan(MODEL, SYSTEM, nodes, SEQ_LEN, GLOBAL_BATCH)
        except ValueError:  # no parallel layout divides this fleet and batch
            continue
        design = {"nodes": nodes, **{k: config[k] for k in ("tensor_parallel", "pipeline_parallel",
                                                             "micro_batch_size", "virtual_stages")}}
        d, tco, ok, _ = _evaluate(design, MODEL, SYSTEM, SEQ_LEN, GLOBAL_BATCH, TOKENS)
        if ok and d <= DEADLINE_DAYS and (best is None or tco < best[0]):
            best = (tco, design)
    if answer is None:
        return Design(True, best[0], best[0], best[1], unit="USD")
    design_answer(answer, ("nodes", "tensor_parallel", "pipeline_parallel"), _EXAMPLE, exact=False)
    d, tco, ok, reasons = _evaluate(answer, MODEL, SYSTEM, SEQ_LEN, GLOBAL_BATCH, TOKENS)
    if d > DEADLINE_DAYS:
        reasons.append(f"deadline: the run takes {d:.0f} days, more than {DEADLINE_DAYS}")
    return Design(ok and d <= DEADLINE_DAYS, tco, best[0], best[1], tuple(reasons), unit="USD")
