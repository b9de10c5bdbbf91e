"""Exercises of the chapter "Mixture of Experts" (tutorials/moe.qmd).

The scenario matches the chapter's parameters cell: Mixtral-8x7B trained at 4,096 tokens per
sequence on DGX H100 nodes, against a dense twin with as many parameters.
"""
from __future__ import annotations

from mlsysim.exercises import Design, design_answer, design_exercise, exercise


def dense_twin(model):
    """A dense model with the MoE's layers, width and total parameters: every token uses all."""
    from mlsysim import Models
    from mlsysim.specs.models import model_from_record

    m = Models.get(model)
    return model_from_record(
        f"{m.key}_dense_twin",
        {"name": f"dense twin of {m.name}", "architecture": "decoder", "parameters": m.si["parameters"],
         "layers": m.layers, "hidden_dim": m.hidden_dim, "heads": m.heads, "kv_heads": m.kv_heads,
         "head_dim": m.head_dim, "ffn_dim": m.ffn_dim * m.experts, "vocab_size": m.vocab_size,
         "context_length": m.context_length}, "exercises")


def flops_per_token(model, seq_len):
    from mlsysim import Models

    m = Models.get(model) if isinstance(model, str) else model
    return 6 * m.si["active_parameters"] + 12 * m.layers * m.attention_dim * seq_len


@exercise("moe/flops-ratio-long", kind="predict", minutes=10, points=2, tolerance=0.02, close=0.10,
          objective="Predict how attention, which experts do not shrink, changes an MoE's advantage.",
          hint="Training FLOPs per token are 6 N_active + 12 L d s for both models; only N differs, and "
               "the attention term grows with s.", wrong=lambda value: 1.0)
def _flops_ratio(MODEL="Mixtral_8x7B", LONG_SEQ=32768):
    return flops_per_token(MODEL, LONG_SEQ) / flops_per_token(dense_twin(MODEL), LONG_SEQ)


@exercise("moe/b200-alltoall-share", kind="change", minutes=10, points=2, tolerance=0.03, close=0.15,
          objective="See that faster GPUs with the same network make the all-to-all a larger share.",
          hint="Solve the cross-node layout on DGX_B200 nodes and divide expert_comm by step_time.",
          wrong=lambda value: value / 3)
def _b200_share(MODEL="Mixtral_8x7B", SEQ_LEN=4096, NODES=2, GLOBAL_BATCH=256):
    from mlsysim import Fleet, TrainingModel

    r = TrainingModel().solve(MODEL, Fleet.from_system("DGX_B200", NODES), SEQ_LEN, GLOBAL_BATCH,
                              tensor_parallel=2, expert_parallel=8)
    return (r.expert_comm / r.step_time).to("").magnitude


_EXAMPLE = ("{'tensor_parallel': 2, 'pipeline_parallel': 2, 'expert_parallel': 4, 'micro_batch_size': 1, "
            "'virtual_stages': 1}")
_FORMAT = f"a dict such as {_EXAMPLE}"


@design_exercise("moe/layout-32-gpus", minutes=25, points=4, tolerance=0.03, close=0.10,
                 objective="Lay out an MoE model over tensor, pipeline, data and expert parallelism.",
                 answer_format=_FORMAT,
                 hint="Experts can be split by expert parallelism (all-to-alls) or by tensor and pipeline "
                      "parallelism (which split every expert); keep all-to-alls inside a node.",
                 wrong=lambda best: {**best, "tensor_parallel": 8, "pipeline_parallel": 1,
                                     "expert_parallel": 4, "virtual_stages": 1})
def _layout(answer, MODEL="Mixtral_8x7B", SEQ_LEN=4096, DESIGN_NODES=4, DESIGN_BATCH=512):
    from mlsysim import Fleet, TrainingModel
    from mlsysim.solvers.training.search import best_configuration

    fleet = Fleet.from_system("DGX_H100", DESIGN_NODES)
    config, r, i = best_configuration(MODEL, fleet, SEQ_LEN, DESIGN_BATCH, expert=(1, 2, 4, 8))
    best_time = float(r.step_time.to("s").magnitude[i])
    keys = ("tensor_parallel", "pipeline_parallel", "expert_parallel", "micro_batch_size", "virtual_stages")
    chosen = {k: config[k] for k in keys}
    if answer is None:
        return Design(True, best_time, best_time, chosen, unit="s per step")
    design_answer(answer, ("tensor_parallel", "pipeline_parallel", "expert_parallel"), _EXAMPLE, exact=False)
    mine = TrainingModel().solve(MODEL, fleet, SEQ_LEN, DESIGN_BATCH, answer.get("micro_batch_size", 1),
                                 answer["tensor_parallel"], answer["pipeline_parallel"],
                                 expert_parallel=answer["expert_parallel"],
                                 virtual_stages=answer.get("virtual_stages", 1))
    return Design(bool(mine.feasible), float(mine.step_time.to("s").magnitude), best_time, chosen,
                  tuple(mine.reasons), unit="s per step")
