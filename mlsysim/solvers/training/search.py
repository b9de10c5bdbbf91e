"""Every valid parallel configuration of a model on a fleet, as arrays one solve can take.

Megatron-LM's rules [@narayanan2021efficient]: tensor parallelism divides the node's
accelerators and the attention heads; tensor x pipeline divides the fleet; the global batch
divides into micro-batches x data parallel; an interleaved schedule (v > 1) needs the
micro-batches per step to be a multiple of the stages and the layers to divide into p x v
chunks. ``best_configuration`` solves them all at once and keeps the fastest that fits.
"""
from __future__ import annotations

import itertools

import numpy as np

from mlsysim.solvers._common import resolve_model

TENSOR = (1, 2, 4, 8)
PIPELINE = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 32, 64)
MICRO = (1, 2, 4, 8)
VIRTUAL = (1, 2, 4)


def valid_configurations(model, fleet, global_batch_size, tensor=TENSOR, pipeline=PIPELINE, micro=MICRO,
                         virtual=VIRTUAL, expert=(1,)) -> dict:
    """{"tensor_parallel", "pipeline_parallel", "data_parallel", "micro_batch_size", "virtual_stages",
    "expert_parallel"} as integer arrays of equal length: every combination the rules allow."""
    m = resolve_model(model)
    g, n = fleet.node.accelerators_per_node, fleet.total_accelerators
    rows = []
    for t, p, b, v, e in itertools.product(tensor, pipeline, micro, virtual, expert):
        if g % t or m.heads % t or n % (t * p) or p > m.layers:
            continue
        d = n // (t * p)
        if global_batch_size % (b * d) or (e > 1 and (not m.is_moe or d % e or m.experts % e)):
            continue
        mb = global_batch_size // (b * d)
        if v > 1 and (p == 1 or mb % p or m.layers % (p * v)):
            continue
        rows.append((t, p, d, b, v, e))
    names = ("tensor_parallel", "pipeline_parallel", "data_parallel", "micro_batch_size", "virtual_stages",
             "expert_parallel")
    array = np.array(rows, dtype=float).reshape(-1, len(names))
    return {name: array[:, i] for i, name in enumerate(names)}


def best_configuration(model, fleet, seq_len, global_batch_size, objective="step_time", **options):
    """(config dict, TrainingResult of all valid configurations, index of the best): the feasible
    configuration with the smallest ``objective`` (a result field; "mfu" is maximised). Raises
    ValueError when no configuration is valid or none fits. ``options``
    pass to :meth:`TrainingModel.solve` (recompute, zero_stage, ...) or override the candidate
    degrees (``tensor=``, ``pipeline=``, ``micro=``, ``virtual=``, ``expert=``)."""
    from mlsysim.solvers.training.model import TrainingModel

    grids = {k: options.pop(k) for k in ("tensor", "pipeline", "micro", "virtual", "expert") if k in options}
    configs = valid_configurations(model, fleet, global_batch_size, **grids)
    if not len(configs["tensor_parallel"]):
        raise ValueError("no valid configuration")
    r = TrainingModel().solve(model, fleet, seq_len, global_batch_size, **configs, **options)
    values = np.asarray(r._values[objective], dtype=float)
    values = -values if objective in ("mfu", "hfu", "tokens_per_second", "model_flops_per_device") else values
    feasible = np.broadcast_to(np.asarray(r.feasible), values.shape)
    if not feasible.any():
        raise ValueError(f"no valid configuration fits in memory: {r.reasons[0] if r.reasons else ''}")
    values = np.where(feasible, values, np.inf)
    i = int(np.argmin(values))
    best = {k: int(v[i]) for k, v in configs.items()}
    return best, r, i
