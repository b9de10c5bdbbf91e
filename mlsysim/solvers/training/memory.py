"""Memory per device while training: weights, gradients, optimizer states and activations.

    model states = (b_w + b_g + K) x N_device, sharded by ZeRO over the data-parallel ranks
    activations  = per-layer bytes x layers on the first stage x micro-batches in flight

N_device is one device's share of the largest pipeline stage (tensor and pipeline parallel,
experts also over expert parallel); mixed-precision Adam keeps 2 + 2 + 12 bytes per
parameter and ZeRO stages 1 / 2 / 3 shard the optimizer states / + gradients / + weights
[@rajbhandari2020zero]. Per-layer activation bytes follow Korthikanti et al.'s Table 2
(already in bytes): tensor parallel, + sequence parallel, selective or full recomputation;
FlashAttention removes the attention-score term [@korthikanti2023reducing;
@dao2022flashattention]. Under 1F1B the first stage holds ``pipeline_parallel`` micro-batches
in flight [@narayanan2021efficient].
"""
from __future__ import annotations

import numpy as np

from mlsysim.core.format import count_where
from mlsysim.solvers.result import Result
from mlsysim.solvers.training._plan import TrainingPlan


class TrainingMemoryResult(Result):
    """Bytes per device of one training configuration."""

    TITLE = "Training memory per device"
    FIELDS = {
        "weights": ("byte", "GB", "Weights"),
        "gradients": ("byte", "GB", "Gradients"),
        "optimizer_states": ("byte", "GB", "Optimizer states"),
        "activations": ("byte", "GB", "Activations"),
        "total": ("byte", "GB", "Total"),
        "capacity": ("byte", "GB", "Device memory"),
        "utilization": ("", "percent", "Memory used"),
        "parameters_per_device": ("count", "Gcount", "Parameters per device"),
        "stage_layers": (None, None, "Layers on the largest stage"),
    }


def memory_values(plan: TrainingPlan):
    """(values dict, feasible, reasons) of :class:`TrainingMemoryResult` for a checked plan."""
    weights, gradients, optimizer = plan.model_states()
    activations = plan.activations()
    total = weights + gradients + optimizer + activations
    capacity = plan.hardware.si["memory"]
    fits = total <= capacity
    reasons = []
    if not np.all(fits):
        worst = float(np.max(total))
        reasons.append(f"memory: needs {worst / 1e9:,.1f} GB per device (weights, gradients, optimizer states and "
                       f"activations), {plan.hardware.key} has {capacity / 1e9:,.0f} GB"
                       f"{count_where(np.logical_not(fits))}")
    values = {
        "weights": weights,
        "gradients": gradients,
        "optimizer_states": optimizer,
        "activations": activations,
        "total": total,
        "capacity": capacity,
        "utilization": total / capacity,
        "parameters_per_device": plan.dense_params + plan.expert_params,
        "stage_layers": plan.stage_layers,
    }
    return values, fits, reasons


class TrainingMemoryModel:
    """Memory per device of one training configuration, and whether it fits.

    ``solve(model, hardware, seq_len, micro_batch_size=1, tensor_parallel=1, pipeline_parallel=1,
    data_parallel=1, expert_parallel=1, zero_stage=0, recompute="none", sequence_parallel=False,
    flash_attention=True, precision="bf16", optimizer="adam")``

    - ``recompute``: "none" keeps every activation; "selective" recomputes the attention
      scores; "full" keeps only each layer's input and recomputes the layer.
    - ``precision``: "bf16" or "fp16" (mixed precision, fp32 optimizer states) or "fp32".
    - ``optimizer``: "adam" (K = 12 bytes per parameter at mixed precision) or "sgd" (momentum).
    - Every numeric argument accepts a numpy array; arrays broadcast.

    Returns per-device ``weights``, ``gradients``, ``optimizer_states``, ``activations``,
    ``total``, ``capacity``, ``feasible`` and ``reasons``.
    """

    def solve(self, model, hardware, seq_len, micro_batch_size=1, tensor_parallel=1, pipeline_parallel=1,
              data_parallel=1, expert_parallel=1, zero_stage=0, recompute="none", sequence_parallel=False,
              flash_attention=True, precision="bf16", optimizer="adam") -> TrainingMemoryResult:
        hardware = getattr(hardware, "accelerator", hardware)  # a Node or a Fleet: its accelerator
        plan = TrainingPlan(model, hardware, seq_len, micro_batch_size, tensor_parallel, pipeline_parallel,
                            data_parallel, expert_parallel, zero_stage, recompute, sequence_parallel,
                            flash_attention, precision, optimizer)
        values, fits, reasons = memory_values(plan)
        inputs = {"model": plan.model, "hardware": plan.hardware, "seq_len": seq_len,
                  "micro_batch_size": micro_batch_size, "tensor_parallel": tensor_parallel,
                  "pipeline_parallel": pipeline_parallel, "data_parallel": data_parallel,
                  "expert_parallel": expert_parallel, "zero_stage": zero_stage, "recompute": recompute,
                  "sequence_parallel": sequence_parallel, "flash_attention": flash_attention,
                  "precision": plan.precision, "optimizer": plan.optimizer}
        return TrainingMemoryResult(values, feasible=fits, reasons=reasons, inputs=inputs)
