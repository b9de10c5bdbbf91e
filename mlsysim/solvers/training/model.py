"""One training step of a transformer on a fleet: 3D parallelism and mixture of experts.

The step is paced by the largest pipeline stage. With m = B / (b d) micro-batches per step,
p stages and v interleaved chunks per device [@narayanan2021efficient]:

    step = m (t_compute + t_TP + t_EP + t_p2p) + (p - 1) / v x t_microbatch
           + t_DP (exposed) + t_optimizer

- t_compute: the stage's layers, forward and backward (2x the forward's matrix multiplies)
  plus recomputation, each layer's GEMMs at the achieved fraction of peak and its
  non-matrix kernels (norms, GeLU, dropout, softmax) as HBM traffic proportional to the
  bytes the layer stores [@korthikanti2023reducing]; the last stage also computes the logits.
  Mixture-of-experts layers compute with the active experts (times the capacity factor) but
  hold all of them [@fedus2022switch].
- t_TP: two all-reduces of the activations per layer forward and two backward (two more
  with full recomputation) over the tensor-parallel ranks, inside the node, per micro-batch
  [@shoeybi2019megatron; @korthikanti2023reducing].
- t_EP: two all-to-alls per MoE layer forward (dispatch, combine) and two backward
  [@lepikhin2021gshard].
- t_p2p: activations sent between pipeline stages, split over the tensor ranks' NICs.
- the pipeline bubble: (p - 1) / (v m) of the ideal time [@narayanan2021efficient].
- t_DP: the gradients of one device's shard (one tensor x pipeline shard, not the model;
  bf16 gradients are reduced in fp32, as Megatron does [@nvidia2024megatronlm]),
  all-reduced hierarchically: reduce-scatter in the node, all-reduce across nodes over every
  NIC of the node, all-gather in the node; optionally overlapped with the last backward pass.
  ZeRO-3 also all-gathers the weights before every forward and backward [@rajbhandari2020zero].

MFU counts 6 N D plus attention FLOPs per step, HFU adds recomputation [@chowdhery2022palm;
@korthikanti2023reducing]. Efficiency factors come from :mod:`mlsysim.calibration`; every
arithmetic step broadcasts, so a factor may be an array of draws.
"""
from __future__ import annotations

import numpy as np

from mlsysim.core import validate
from mlsysim.errors import InputError
from mlsysim.physics import collectives as col
from mlsysim.physics import training as tr
from mlsysim.physics import transformer as tf
from mlsysim.physics.economics import SECONDS_PER_DAY
from mlsysim.physics._array import maximum, minimum, where
from mlsysim.physics.roofline import compute_time, memory_time
from mlsysim.solvers._common import count_where, resolve_calibration
from mlsysim.solvers.result import Result
from mlsysim.solvers.training._plan import GRADIENT_REDUCE_BYTES, OPTIMIZER_TRAFFIC, TrainingPlan
from mlsysim.solvers.training.memory import TrainingMemoryResult, memory_values


def _all(condition) -> bool:
    """True when a condition holds everywhere (a bool, or every element of an array)."""
    return bool(condition.all()) if isinstance(condition, np.ndarray) else bool(condition)


class TrainingResult(Result):
    """Time, throughput and utilisation of one training step (and its memory)."""

    TITLE = "Training step"
    FIELDS = {
        "step_time": ("s", "s", "Step time"),
        "tokens_per_second": ("token/s", "token/s", "Tokens per second"),
        "model_flops_per_device": ("flop/s", "TFLOP/s", "Model FLOP/s per device"),
        "mfu": ("", "percent", "Model FLOPs utilization (MFU)"),
        "hfu": ("", "percent", "Hardware FLOPs utilization (HFU)"),
        "bubble_fraction": ("", "percent", "Pipeline bubble / ideal time"),
        "compute": ("s", "s", "  compute"),
        "tensor_parallel_comm": ("s", "s", "  tensor-parallel all-reduces"),
        "expert_comm": ("s", "s", "  expert all-to-alls"),
        "pipeline_comm": ("s", "s", "  pipeline sends"),
        "pipeline_bubble": ("s", "s", "  pipeline bubble"),
        "data_parallel_comm": ("s", "s", "  data-parallel gradients (exposed)"),
        "optimizer_step": ("s", "s", "  optimizer step"),
        "data_parallel": (None, None, "Data-parallel degree"),
        "microbatches": (None, None, "Micro-batches per step"),
        "stage_layers": (None, None, "Layers on the pacing stage"),
        "stage_imbalance": ("", "", "Largest stage / mean stage"),
        "memory_per_device": ("byte", "GB", "Memory per device"),
        "memory": (None, None, "Memory"),
    }

    #: The parts of ``step_time``, in the order they add up.
    PARTS = ("compute", "tensor_parallel_comm", "expert_comm", "pipeline_comm", "pipeline_bubble",
             "data_parallel_comm", "optimizer_step")

    def _rows(self):
        for label, value in super()._rows():
            if label != "Memory":
                yield label, value

    @property
    def breakdown(self) -> dict:
        """{part: seconds as a Quantity} for the parts that add up to ``step_time``."""
        return {name: getattr(self, name) for name in self.PARTS}

    def time_to_train(self, tokens):
        """Wall-clock time to train on ``tokens`` tokens at this step's throughput, in days."""
        from mlsysim.core.units import Q_

        d = validate.number(tokens, "tokens", "token")
        return Q_(d / self._values["tokens_per_second"] / SECONDS_PER_DAY, "day")


class TrainingModel:
    """Train a transformer on a :class:`~mlsysim.Fleet` with tensor, pipeline, data and expert
    parallelism: step time, throughput, MFU/HFU, where the time goes, and memory.

    ``solve(model, fleet, seq_len, global_batch_size, micro_batch_size=1, tensor_parallel=1,
    pipeline_parallel=1, data_parallel=None, expert_parallel=1, virtual_stages=1, zero_stage=1,
    recompute="selective", sequence_parallel=True, precision="bf16", overlap_data_parallel=True,
    calibration=None, flash_attention=True, capacity_factor=1.25, optimizer="adam")``

    - ``data_parallel`` defaults to the fleet's accelerators / (tensor x pipeline); TP x PP x DP
      must equal the fleet's accelerators. Tensor parallelism stays inside a node.
    - ``global_batch_size`` in sequences; it must divide into micro-batches x data parallel.
    - Layers that do not divide evenly over the stages are allowed: stages take ceil or floor
      of L / p layers and the largest sets the pace (``stage_layers``, ``stage_imbalance``).
    - ``capacity_factor`` (MoE): expert slots per routed token; padded slots are computed and sent.
    - Every numeric argument accepts a numpy array; arrays broadcast.
    """

    def solve(self, model, fleet, seq_len, global_batch_size, micro_batch_size=1, tensor_parallel=1,
              pipeline_parallel=1, data_parallel=None, expert_parallel=1, virtual_stages=1, zero_stage=1,
              recompute="selective", sequence_parallel=True, precision="bf16", overlap_data_parallel=True,
              calibration=None, flash_attention=True, capacity_factor=1.25, optimizer="adam") -> TrainingResult:
        from mlsysim.systems.types import Fleet

        if not isinstance(fleet, Fleet):
            raise InputError("fleet", "a mlsysim.Fleet (e.g. mlsysim.Fleet.from_system('DGX_H100', 16))",
                             type(fleet).__name__)
        cal = resolve_calibration(calibration)
        node = fleet.node
        g = node.accelerators_per_node
        n = fleet.total_accelerators
        t = validate.number(tensor_parallel, "tensor_parallel", integer=True)
        p = validate.number(pipeline_parallel, "pipeline_parallel", integer=True)
        if data_parallel is None:
            if not _all(np.mod(n, t * p) == 0):
                raise InputError("tensor_parallel", f"tensor x pipeline parallel dividing the fleet's {n} accelerators",
                                 f"{tensor_parallel} x {pipeline_parallel}")
            data_parallel = n // (t * p)
        d = validate.number(data_parallel, "data_parallel", integer=True)
        if not _all(t * p * d == n):
            raise InputError("data_parallel", f"tensor x pipeline x data parallel = the fleet's {n} accelerators",
                             f"{tensor_parallel} x {pipeline_parallel} x {data_parallel}")
        if not _all(t <= g) or not _all(np.mod(g, t) == 0):
            raise InputError("tensor_parallel", f"a divisor of the node's {g} accelerators (tensor-parallel traffic "
                                                "stays inside a node)", tensor_parallel)
        batch = validate.number(global_batch_size, "global_batch_size", integer=True)
        b = validate.number(micro_batch_size, "micro_batch_size", integer=True)
        if not _all(np.mod(batch, b * d) == 0):
            raise InputError("global_batch_size", "a multiple of micro_batch_size x data_parallel",
                             global_batch_size, detail=f"micro_batch_size x data_parallel = {b} x {d}")
        m = batch // (b * d)
        overlap = overlap_data_parallel
        if not isinstance(overlap, (bool, np.bool_)):
            raise InputError("overlap_data_parallel", "True or False", overlap_data_parallel)
        plan = TrainingPlan(model, node.accelerator, seq_len, b, t, p, d, expert_parallel, zero_stage, recompute,
                            sequence_parallel, flash_attention, precision, optimizer, virtual_stages,
                            capacity_factor, microbatches=m)
        mem_values, fits, reasons = memory_values(plan)
        memory = TrainingMemoryResult(mem_values, feasible=fits, reasons=reasons,
                                      inputs={"model": plan.model, "hardware": plan.hardware})

        hw = plan.hardware
        if n > g and node.nics is None and (fleet.fabric is None or fleet.fabric.bandwidth is None):
            raise InputError("fleet", "a node that states its NICs (mlsysim.Node.from_system('DGX_H100'), or "
                                      "Node(..., nics=8, nic_bandwidth=Q_(400, 'Gbit/s'))) or a fabric bandwidth",
                             fleet.name, detail=f"{fleet.count} nodes need a scale-out network")
        if node.nics is not None:
            node_bw = node.si["scale_out"]
        elif fleet.fabric is not None and fleet.fabric.bandwidth is not None:
            node_bw = fleet.fabric.bandwidth.to("byte/s").magnitude
        else:
            node_bw = 1.0  # one node: no inter-node traffic (every inter-node term is zero)
        if hw.si["link"] is None:
            link = lambda devices: cal.pcie_bandwidth + 0.0 * devices  # noqa: E731
        else:
            link = hw.ring_bandwidth
        parts, flops = step_parts(plan, cal, g, n, node_bw, link, m, overlap)
        step = sum(parts.values())
        tokens = batch * plan.s
        model_flops, hardware_flops = flops
        peak = hw.si["peak_flops"][hw.compute_precision(plan.precision)]
        # an interleaved schedule (v > 1) needs the micro-batches per step to be a multiple of the
        # stages; only those configurations fail (in a sweep, v = 1 rows are unaffected)
        uneven = (plan.v != 1) & (np.mod(m, p) != 0)
        if np.any(uneven):
            example = np.broadcast_arrays(m, p, uneven)
            i = np.flatnonzero(np.ravel(example[2]))[0]
            reasons = reasons + [f"interleaved schedule: micro-batches per step ({np.ravel(example[0])[i]:g}) must "
                                 f"be a multiple of pipeline_parallel ({np.ravel(example[1])[i]:g})"
                                 f"{count_where(uneven)}"]
            fits = fits & ~uneven
        values = {
            "step_time": step,
            "tokens_per_second": tokens / step,
            "model_flops_per_device": model_flops / step / n,
            "mfu": model_flops / (step * n * peak),
            "hfu": hardware_flops / (step * n * peak),
            "bubble_fraction": tr.pipeline_bubble_fraction(p, m, plan.v),
            **parts,
            "data_parallel": d,
            "microbatches": m,
            "stage_layers": plan.stage_layers,
            "stage_imbalance": plan.stage_layers * p / plan.layers,
            "memory_per_device": mem_values["total"],
            "memory": memory,
        }
        inputs = {"model": plan.model, "fleet": fleet.name, "accelerators": n, "seq_len": seq_len,
                  "global_batch_size": global_batch_size, "micro_batch_size": micro_batch_size,
                  "tensor_parallel": tensor_parallel, "pipeline_parallel": pipeline_parallel,
                  "expert_parallel": expert_parallel, "virtual_stages": virtual_stages, "zero_stage": zero_stage,
                  "recompute": recompute, "sequence_parallel": sequence_parallel, "precision": plan.precision}
        return TrainingResult(values, feasible=fits, reasons=reasons, inputs=inputs)


def layer_times(plan: TrainingPlan, cal, g, nic_share, link):
    """Seconds of one transformer layer for one micro-batch on one device, by part:
    ``forward`` and ``backward`` (what Korthikanti et al. time per layer), and inside them
    ``compute`` (GEMMs and non-matrix kernels, recomputation included), ``tensor_parallel`` and
    ``expert`` communication.

    Backward: twice the forward's GEMMs (input and weight gradients) and non-matrix traffic;
    its two tensor-parallel all-reduces overlap the weight-gradient GEMMs and only their excess
    shows [@korthikanti2023reducing, Sec. 6.2]. Recomputation reruns the forward (full: all of
    it, with its all-reduces; selective: the attention scores) before the backward.
    """
    mdl = plan.model
    s, b, t, e = plan.s, plan.b, plan.t, plan.e
    h, A = plan.hidden, plan.attention_dim
    hw = plan.hardware
    peak = hw.si["peak_flops"][hw.compute_precision(plan.precision)]
    hbm = hw.si["bandwidth"]
    act = plan.bytes_per_value
    eta_g, eta_m = cal.training_gemm_efficiency, cal.memory_efficiency
    kappa = cal.training_elementwise_traffic
    alpha, eta_ic, eta_net = cal.allreduce_latency, cal.interconnect_efficiency, cal.network_efficiency

    linear = tf.linear_flops(plan.dense_per_layer + plan.capacity_factor * plan.active_experts_per_layer, b * s) / t
    scores = tf.attention_flops(1, A, b * s, s) / t     # QK^T and AV over the whole sequence
    gemm_linear = compute_time(linear, peak, eta_g)
    gemm_fwd = gemm_linear + compute_time(scores, peak, eta_g)
    elem_fwd = memory_time(kappa * plan.layer_activation_bytes(), hbm, eta_m)
    fwd_compute = gemm_fwd + elem_fwd
    bwd_compute = 2 * fwd_compute
    ar = col.ring_allreduce_time(b * s * h * act, t, link(t), alpha, eta_ic)
    tp_fwd = 2 * ar
    tp_bwd = maximum(2 * ar - gemm_linear, 0.0)  # hidden behind the weight-gradient GEMMs
    if mdl.is_moe:
        local = minimum(e, maximum(g // t, 1))
        tokens = b * s / where(plan.sp, t, 1)
        message = tokens * plan.top_k * plan.capacity_factor * h * act
        a2a = col.two_level_alltoall_time(message, e, local, link(local), nic_share, alpha, eta_ic, eta_net)
    else:
        a2a = 0.0 * ar
    ep_fwd = 2 * a2a                              # dispatch and combine
    ep_bwd = 2 * a2a
    if plan.recompute == "full":
        re_compute, re_tp, re_ep = fwd_compute, tp_fwd, ep_fwd
    elif plan.recompute == "selective":
        score_bytes = where(plan.flash, 0.0, kappa * 5 * mdl.heads * s * s * b / t)
        re_compute = compute_time(scores, peak, eta_g) + memory_time(score_bytes, hbm, eta_m)
        re_tp, re_ep = 0.0 * ar, 0.0 * ar
    else:
        re_compute, re_tp, re_ep = 0.0 * ar, 0.0 * ar, 0.0 * ar
    return {
        "forward": fwd_compute + tp_fwd + ep_fwd,
        "backward": bwd_compute + re_compute + tp_bwd + re_tp + ep_bwd + re_ep,
        "compute": fwd_compute + bwd_compute + re_compute,
        "backward_compute": bwd_compute + re_compute,
        "tensor_parallel": tp_fwd + tp_bwd + re_tp,
        "expert": ep_fwd + ep_bwd + re_ep,
    }


def step_parts(plan: TrainingPlan, cal, g, n, node_bw, link, m, overlap):
    """The parts of one step (seconds) and (model FLOPs, hardware FLOPs) per step."""
    mdl = plan.model
    s, b, t, p, d, e, v = plan.s, plan.b, plan.t, plan.p, plan.d, plan.e, plan.v
    h, L, V, A = plan.hidden, plan.layers, plan.vocab, plan.attention_dim
    hw = plan.hardware
    peak = hw.si["peak_flops"][hw.compute_precision(plan.precision)]
    hbm = hw.si["bandwidth"]
    act = plan.bytes_per_value
    eta_g, eta_m = cal.training_gemm_efficiency, cal.memory_efficiency
    alpha, eta_ic, eta_net = cal.allreduce_latency, cal.interconnect_efficiency, cal.network_efficiency
    nic_share = node_bw / g                     # every device of the node communicates at once

    layer = layer_times(plan, cal, g, nic_share, link)
    per_layer = layer["forward"] + layer["backward"]
    logits = (3 * compute_time(tf.linear_flops(V * h, b * s) / t, peak, eta_g)
              + 3 * memory_time(4 * b * s * V / t, hbm, eta_m))           # fp32 logits, forward and backward

    # -- the pacing stage: the first (most layers) or the last (fewer layers, plus the logits)
    first = plan.stage_layers * per_layer
    last = plan.last_stage_layers * per_layer + logits
    last_paces = last > first
    stage_layers = where(last_paces, plan.last_stage_layers, plan.stage_layers)
    stage_compute = stage_layers * layer["compute"] + where(last_paces, logits, 0.0)
    stage_tp = stage_layers * layer["tensor_parallel"]
    stage_ep = stage_layers * layer["expert"]
    # activations to the next stage (and gradients back), split over the tensor ranks' links
    p2p_bw = where(t * d < g, link(2), nic_share)
    p2p = where(p > 1, 2 * v * col.p2p_time(b * s * h * act / t, p2p_bw, alpha, eta_net), 0.0)
    microbatch = stage_compute + stage_tp + stage_ep + p2p
    bubble = tr.pipeline_bubble_fraction(p, m, v) * m * microbatch   # of the ideal time, m micro-batches

    # -- data-parallel gradients (one device's shard) and ZeRO-3 weight gathers ----------
    dense_local = minimum(g // t, d)            # ranks of one data-parallel group inside a node
    expert_d = d / e
    expert_local = maximum(dense_local / e, 1)
    reduce_bytes = GRADIENT_REDUCE_BYTES[plan.precision]
    dense_grad = reduce_bytes * plan.dense_params
    expert_grad = reduce_bytes * plan.expert_params

    def both(fn, dense_msg, expert_msg):
        dense = fn(dense_msg, dense_local, d / dense_local, link(dense_local), node_bw * dense_local / g,
                   alpha, eta_ic, eta_net)
        if not mdl.is_moe:
            return dense
        return dense + fn(expert_msg, expert_local, expert_d / expert_local, link(expert_local),
                          node_bw * expert_local / g, alpha, eta_ic, eta_net)

    dp = both(col.hierarchical_allreduce_time, dense_grad, expert_grad)
    weight_bytes = plan.bytes_per_value
    zero3 = where(plan.zero >= 3, 2 * m * both(col.hierarchical_allgather_time, weight_bytes * plan.dense_params,
                                                weight_bytes * plan.expert_params), 0.0)
    window = stage_layers * layer["backward_compute"]   # the last micro-batch's backward pass
    exposed = maximum(dp - window, 0.0) if overlap else dp

    # -- optimizer ----------------------------------------------------------------------
    updated = (plan.dense_params / where(plan.zero >= 1, d, 1)
               + plan.expert_params / where(plan.zero >= 1, expert_d, 1))
    optimizer = memory_time(OPTIMIZER_TRAFFIC[plan.optimizer] * updated, hbm, eta_m)

    parts = {
        "compute": m * stage_compute,
        "tensor_parallel_comm": m * stage_tp,
        "expert_comm": m * stage_ep,
        "pipeline_comm": m * p2p,
        "pipeline_bubble": bubble,
        "data_parallel_comm": exposed + zero3,
        "optimizer_step": optimizer,
    }
    tokens = m * b * d * s
    n_active = mdl.si["active_parameters"]
    model_flops = tr.training_flops(n_active, tokens) + tr.attention_training_flops(L, A, s, tokens)
    hardware_flops = model_flops + tr.recompute_flops(plan.recompute, n_active, L, A, s, tokens)
    return parts, (model_flops, hardware_flops)
