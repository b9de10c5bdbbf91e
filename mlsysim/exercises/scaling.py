"""Exercises of the chapter "Scaling to a Thousand GPUs" (tutorials/scaling.qmd).

The scenario matches the chapter's parameters cell: Llama-3-70B, 8,192-token sequences,
DGX H100 nodes, the best layout the engine finds for each fleet.
"""
from __future__ import annotations

from dataclasses import replace

from mlsysim.exercises import Design, design_answer, design_exercise, exercise


def best(model, system, gpus, seq_len, batch, node=None):
    from mlsysim import Fleet, Systems
    from mlsysim.solvers.training.search import best_configuration

    per_node = Systems.get(system).accelerators
    fleet = Fleet.from_system(system, gpus // per_node)
    if node is not None:
        fleet = replace(fleet, node=node)
    config, r, i = best_configuration(model, fleet, seq_len, batch)
    return config, r, i, fleet


@exercise("scaling/mfu-bigger-batch", kind="predict", minutes=10, points=2, tolerance=0.03, close=0.15,
          objective="Predict how a larger global batch restores efficiency on a large fleet.",
          hint="Rerun the layout search at 4,096 GPUs with global_batch_size=4096 and read the MFU.",
          wrong=lambda value: value / 3)
def _mfu_bigger_batch(MODEL="Llama3_70B", SYSTEM="DGX_H100", SEQ_LEN=8192):
    _, r, i, _ = best(MODEL, SYSTEM, 4096, SEQ_LEN, 4096)
    return float(r.mfu.to("").magnitude[i])


@exercise("scaling/half-the-nics", kind="change", unit="s", minutes=15, points=2, tolerance=0.03, close=0.15,
          objective="See which part of the step depends on the scale-out network, and by how much.",
          hint="Build the node with Node.from_system, replace its nics with half as many, keep the chapter's "
               "layout at 1,024 GPUs, and read data_parallel_comm.", wrong=lambda value: value * 10 + 1)
def _half_the_nics(MODEL="Llama3_70B", SYSTEM="DGX_H100", SEQ_LEN=8192, GLOBAL_BATCH=1024, FOCUS_GPUS=1024):
    from mlsysim import Fleet, Node, TrainingModel

    config, _, _, fleet = best(MODEL, SYSTEM, FOCUS_GPUS, SEQ_LEN, GLOBAL_BATCH)
    node = Node.from_system(SYSTEM)
    half = Fleet("half", replace(node, nics=node.nics // 2), fleet.count)
    r = TrainingModel().solve(MODEL, half, SEQ_LEN, GLOBAL_BATCH, **config)
    return r.data_parallel_comm.to("s").magnitude


_EXAMPLE = "{'tensor_parallel': 8, 'pipeline_parallel': 4, 'micro_batch_size': 1, 'virtual_stages': 2}"
_FORMAT = f"a dict such as {_EXAMPLE} (data_parallel follows)"


@design_exercise("scaling/layout-405b", minutes=25, points=4, tolerance=0.03, close=0.10,
                 objective="Choose tensor, pipeline and data parallelism for a fleet and a batch.",
                 answer_format=_FORMAT,
                 hint="Keep tensor parallelism inside a node and use enough pipeline stages to fit the "
                      "405B model's states and activations; the rest is data parallel.",
                 wrong=lambda best_: {**best_, "tensor_parallel": 1, "pipeline_parallel": 1,
                                      "virtual_stages": 1})
def _best_layout(answer, BIG_MODEL="Llama3_405B", SYSTEM="DGX_H100", SEQ_LEN=8192, DESIGN_BATCH=2048,
                 DESIGN_GPUS=4096):
    from mlsysim import TrainingModel

    MODEL, GLOBAL_BATCH = BIG_MODEL, DESIGN_BATCH
    config, r, i, fleet = best(MODEL, SYSTEM, DESIGN_GPUS, SEQ_LEN, GLOBAL_BATCH)
    best_time = float(r.step_time.to("s").magnitude[i])
    keys = ("tensor_parallel", "pipeline_parallel", "micro_batch_size", "virtual_stages")
    chosen = {k: config[k] for k in keys}
    if answer is None:
        return Design(True, best_time, best_time, chosen, unit="s per step")
    design_answer(answer, ("tensor_parallel", "pipeline_parallel"), _EXAMPLE, exact=False)
    mine = TrainingModel().solve(MODEL, fleet, SEQ_LEN, GLOBAL_BATCH, answer.get("micro_batch_size", 1),
                                 answer["tensor_parallel"], answer["pipeline_parallel"],
                                 virtual_stages=answer.get("virtual_stages", 1))
    return Design(bool(mine.feasible), float(mine.step_time.to("s").magnitude), best_time, chosen,
                  tuple(mine.reasons), unit="s per step")
