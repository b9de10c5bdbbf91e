"""Exercises of the chapter "Training Memory" (tutorials/training-memory.qmd).

The scenario matches the chapter's parameters cell: Llama-3-8B trained at 8,192 tokens per
sequence on H100s, eight to a node, FlashAttention on.
"""
from __future__ import annotations

import itertools

from mlsysim.exercises import Design, design_exercise, exercise


def _memory(model, gpu, seq_len, **kw):
    from mlsysim import TrainingMemoryModel

    return TrainingMemoryModel().solve(model, gpu, seq_len, **kw)


@exercise("training-memory/zero2-two-nodes", kind="predict", unit="GB", minutes=10, points=2, tolerance=0.03,
          close=0.15, objective="Predict which parts of the memory ZeRO-2 shards and which it leaves whole.",
          hint="ZeRO-2 divides gradients and optimizer states by the data-parallel degree, not the weights or "
               "the activations.", wrong=lambda value: value / 4)
def _zero2_two_nodes(MODEL="Llama3_8B", GPU="H100", SEQ_LEN=8192, NODE_GPUS=8):
    r = _memory(MODEL, GPU, SEQ_LEN, data_parallel=2 * NODE_GPUS, zero_stage=2, recompute="selective")
    return r.total.to("GB").magnitude


@exercise("training-memory/largest-micro-batch", kind="change", minutes=10, points=2, tolerance=0.0, close=0.5,
          objective="See that activations, not model states, set the micro-batch once states are sharded.",
          hint="Sweep micro_batch_size with ZeRO-3 and full recomputation over one node and keep the largest "
               "that is feasible.", wrong=lambda value: value * 8 + 8)
def _largest_micro_batch(MODEL="Llama3_8B", GPU="H100", SEQ_LEN=8192, NODE_GPUS=8):
    import numpy as np

    sizes = np.arange(1, 257)
    r = _memory(MODEL, GPU, SEQ_LEN, micro_batch_size=sizes, data_parallel=NODE_GPUS, zero_stage=3,
                recompute="full")
    ok = np.asarray(r.feasible)
    return int(sizes[ok].max()) if ok.any() else 0


_DESIGN_FORMAT = ("a dict such as {'tensor_parallel': 8, 'pipeline_parallel': 2, 'data_parallel': 2, "
                  "'zero_stage': 1, 'recompute': 'selective'}")


def _gpus(design):
    return int(design["tensor_parallel"] * design["pipeline_parallel"] * design["data_parallel"])


def _candidates(node_gpus):
    for t, p, d, z, rc in itertools.product((1, 2, 4, 8), (1, 2, 4, 8, 16), (1, 2, 4, 8, 16, 32, 64),
                                            (0, 1, 2, 3), ("selective", "full")):
        if t <= node_gpus:
            yield {"tensor_parallel": t, "pipeline_parallel": p, "data_parallel": d, "zero_stage": z,
                   "recompute": rc}


@design_exercise("training-memory/fewest-gpus-70b", minutes=25, points=4, tolerance=0.0, close=1.0,
                 objective="Combine tensor, pipeline and data parallelism with ZeRO and recomputation to fit a "
                           "70B model in the fewest GPUs.",
                 answer_format=_DESIGN_FORMAT,
                 hint="Model states need 16 bytes per parameter spread over the GPUs; activations need a few "
                      "GB more per GPU. Tensor parallelism stays inside the node.",
                 wrong=lambda best: {**best, "data_parallel": best["data_parallel"] * 4})
def _fewest_gpus(answer, BIG_MODEL="Llama3_70B", GPU="H100", SEQ_LEN=8192, NODE_GPUS=8, HEADROOM=0.10):
    from mlsysim.errors import InputError

    def fits(design):
        r = _memory(BIG_MODEL, GPU, SEQ_LEN, **design, sequence_parallel=True)
        return bool(r.utilization.to("").magnitude <= 1 - HEADROOM)

    best = min((c for c in _candidates(NODE_GPUS) if fits(c)), key=_gpus)
    if answer is None:
        return Design(True, _gpus(best), _gpus(best), best, unit="GPUs")
    if not isinstance(answer, dict):
        raise InputError("answer", _DESIGN_FORMAT, type(answer).__name__)
    keys = ("tensor_parallel", "pipeline_parallel", "data_parallel", "zero_stage", "recompute")
    missing = [k for k in keys if k not in answer]
    if missing:
        raise InputError("answer", _DESIGN_FORMAT, f"a dict without {missing[0]!r}")
    design = {k: answer[k] for k in keys}
    reasons = []
    if design["tensor_parallel"] > NODE_GPUS:
        reasons.append(f"tensor parallelism of {design['tensor_parallel']} leaves the {NODE_GPUS}-GPU node")
    r = _memory(BIG_MODEL, GPU, SEQ_LEN, **design, sequence_parallel=True)
    used = float(r.utilization.to("").magnitude)
    if used > 1 - HEADROOM:
        reasons.append(f"memory: {used:.0%} of each GPU's memory is used; the target leaves {HEADROOM:.0%} free")
    return Design(not reasons, _gpus(design), _gpus(best), best, tuple(reasons), unit="GPUs")
