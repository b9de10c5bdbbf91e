"""One training configuration, checked once and broken into per-device pieces.

Shared by :class:`TrainingMemoryModel` and :class:`TrainingModel` so the two can never
disagree about what a device holds. A model is sharded before it is priced: every figure
here is for one device of the largest (first) pipeline stage.

Placement follows Megatron-LM's rank order (tensor fastest, then data, then pipeline)
[@narayanan2021efficient]: the ``tensor_parallel`` ranks of a layer share a node; the
next data-parallel ranks fill the rest of the node; pipeline stages are further apart.
Expert-parallel groups are carved out of data-parallel ranks [@lepikhin2021gshard].
"""
from __future__ import annotations

import numpy as np

from mlsysim.core import validate
from mlsysim.errors import InputError
from mlsysim.physics import training as tr
from mlsysim.physics._array import where
from mlsysim.solvers._common import resolve_hardware, resolve_model

RECOMPUTE = ("none", "selective", "full")
PRECISIONS = {"bf16": 2.0, "fp16": 2.0, "fp32": 4.0}
#: Optimizer bytes per parameter (K of ZeRO) at mixed precision and at fp32: Adam keeps an fp32
#: master copy, momentum and variance (12) or just the two moments at fp32 (8); SGD with
#: momentum keeps a master copy and the momentum (8) or the momentum (4) [@rajbhandari2020zero].
OPTIMIZERS = {"adam": (12.0, 8.0), "sgd": (8.0, 4.0)}
#: Bytes per gradient value in the data-parallel reduction: Megatron accumulates and all-reduces
#: bf16 gradients in fp32 (bf16's 8-bit mantissa loses too much over many micro-batches) unless
#: told otherwise [@nvidia2024megatronlm]; fp16 gradients are reduced in fp16. Memory is counted
#: as ZeRO does (2-byte gradients, 16 bytes per parameter) [@rajbhandari2020zero].
GRADIENT_REDUCE_BYTES = {"bf16": 4.0, "fp16": 2.0, "fp32": 4.0}
#: Bytes of HBM traffic per parameter of one optimizer step, mixed precision: read the fp32
#: master weight and the optimizer's fp32 states and the gradient, write the master weight,
#: the states and the low-precision copy (Adam: 3 x 4 + 2 + 3 x 4 + 2 = 28).
OPTIMIZER_TRAFFIC = {"adam": 28.0, "sgd": 20.0}


def _integer(value, name, minimum=1):
    return validate.number(value, name, integer=True, minimum=minimum, inclusive=True)


def _divides(divisor, total) -> bool:
    """True where ``divisor`` divides ``total`` (elementwise, all must hold)."""
    if isinstance(divisor, np.ndarray) or isinstance(total, np.ndarray):
        return bool(np.all(np.mod(total, divisor) == 0))
    return total % divisor == 0


def _any_above(value, limit) -> bool:
    return bool(np.any(value > limit)) if isinstance(value, np.ndarray) else value > limit


def _bool(value, name):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise InputError(name, "True or False", value)


class TrainingPlan:
    """Checked inputs and per-device sizes of one (or a sweep of) training configuration(s)."""

    def __init__(self, model, hardware, seq_len, micro_batch_size=1, tensor_parallel=1, pipeline_parallel=1,
                 data_parallel=1, expert_parallel=1, zero_stage=0, recompute="none", sequence_parallel=False,
                 flash_attention=True, precision="bf16", optimizer="adam", virtual_stages=1, capacity_factor=1.25,
                 microbatches=None):
        m = self.model = resolve_model(model)
        self.hardware = resolve_hardware(hardware)
        if not m.is_transformer:
            raise InputError("model", "a transformer (decoder or encoder) model", m.key,
                             detail=f"{m.key} is a {m.architecture}; training memory and time follow transformer layers")
        self.s = validate.number(seq_len, "seq_len", "token", integer=True)
        self.b = _integer(micro_batch_size, "micro_batch_size")
        self.t = _integer(tensor_parallel, "tensor_parallel")
        self.p = _integer(pipeline_parallel, "pipeline_parallel")
        self.d = _integer(data_parallel, "data_parallel")
        self.e = _integer(expert_parallel, "expert_parallel")
        self.v = _integer(virtual_stages, "virtual_stages")
        self.zero = validate.number(zero_stage, "zero_stage", integer=True, minimum=0, inclusive=True, maximum=3)
        if recompute not in RECOMPUTE:
            raise InputError("recompute", f"one of {', '.join(repr(r) for r in RECOMPUTE)}", recompute)
        self.recompute = recompute
        self.sp = _bool(sequence_parallel, "sequence_parallel")
        self.flash = _bool(flash_attention, "flash_attention")
        if not isinstance(precision, str) or precision.strip().lower() not in PRECISIONS:
            raise InputError("precision", f"a training precision ({', '.join(PRECISIONS)}); weights, gradients and "
                                          "activations are kept in it, with fp32 optimizer states", precision)
        self.precision = precision.strip().lower()
        if not isinstance(optimizer, str) or optimizer.strip().lower() not in OPTIMIZERS:
            raise InputError("optimizer", f"one of {', '.join(OPTIMIZERS)}", optimizer)
        self.optimizer = optimizer.strip().lower()
        self.capacity_factor = validate.number(capacity_factor, "capacity_factor", minimum=1, inclusive=True)

        if not _divides(self.t, m.heads):
            raise InputError("tensor_parallel", f"a divisor of {m.key}'s {m.heads} attention heads", tensor_parallel)
        if _any_above(self.p, m.layers):
            raise InputError("pipeline_parallel", f"at most {m.key}'s {m.layers} layers", pipeline_parallel)
        if _any_above(self.e, 1):
            if not m.is_moe:
                raise InputError("expert_parallel", "1 for a dense model", expert_parallel,
                                 detail=f"{m.key} has no experts")
            if not _divides(self.e, m.experts):
                raise InputError("expert_parallel", f"a divisor of {m.key}'s {m.experts} experts", expert_parallel)
            if not _divides(self.e, self.d):
                raise InputError("expert_parallel", "a divisor of data_parallel (expert-parallel groups are carved "
                                                    "out of the data-parallel ranks)", expert_parallel)
        self._sizes(microbatches)

    # -- per-device sizes -------------------------------------------------------------
    def _sizes(self, microbatches):
        m, t, p, e = self.model, self.t, self.p, self.e
        L, h, V = m.layers, m.hidden_dim, m.vocab_size
        self.layers = L
        self.hidden = h
        self.vocab = V
        self.attention_dim = m.attention_dim
        self.kv_dim = m.kv_heads * m.head_dim
        total = m.si["parameters"]
        embed = V * h
        if m.is_moe:
            expert_all = m.experts * m.si["expert_parameters"]
            self.top_k = m.active_experts_per_token
            ffn = (m.ffn_dim or 4 * h) * self.top_k * self.capacity_factor
        else:
            expert_all = 0.0
            self.top_k = 0
            ffn = m.ffn_dim or 4 * h
        self.ffn_activation_dim = ffn
        # Parameters of one layer: the dense part (attention, norms, shared experts) and all
        # its routed experts; the embedding sits on the first stage (an untied output matrix
        # is counted with the layers, spread over the stages).
        self.dense_per_layer = (total - expert_all - embed) / L
        self.experts_per_layer = expert_all / L
        # Active per token in one layer: the dense part and top-k experts (times the capacity
        # factor for the time: padded expert slots are computed).
        active_experts = m.si["active_parameters"] - (total - expert_all)
        self.active_experts_per_layer = active_experts / L
        self.stage_layers = tr.stage_layers(L, p)
        # the first L mod p stages take ceil(L / p) layers, the others (the last among them) floor(L / p)
        self.last_stage_layers = L // p
        self.dense_params = (self.dense_per_layer * self.stage_layers + embed) / t
        self.expert_params = self.experts_per_layer * self.stage_layers / (t * e)
        self.microbatches = microbatches

    @property
    def bytes_per_value(self) -> float:
        return PRECISIONS[self.precision]

    def model_states(self):
        """(weights, gradients, optimizer states) in bytes per device, ZeRO over the data-parallel
        ranks (experts over data_parallel / expert_parallel of them)."""
        bw = self.bytes_per_value
        mixed, full = OPTIMIZERS[self.optimizer]
        k = full if self.precision == "fp32" else mixed
        dense = tr.model_state_bytes(self.dense_params, bw, bw, k, self.d, self.zero)
        expert = tr.model_state_bytes(self.expert_params, bw, bw, k, self.d / self.e, self.zero)
        return tuple(a + b for a, b in zip(dense, expert))

    def layer_activation_bytes(self, scores=None):
        """Bytes one layer stores for one micro-batch with every activation kept (no recompute)."""
        keep_scores = (not self.flash) if scores is None else scores
        return tr.activation_bytes_per_layer(self.s, self.b, self.hidden, self.model.heads, self.t, self.sp,
                                             keep_scores, self.attention_dim, self.kv_dim,
                                             self.ffn_activation_dim)

    def activations(self):
        """Activation bytes on the first stage: its layers x the micro-batches in flight, plus the
        embedding dropout (and, without pipelining, the output layer and logits)
        [@korthikanti2023reducing, Sec. 4.2-4.3]."""
        s, b, h, t, p = self.s, self.b, self.hidden, self.t, self.p
        inflight = tr.pipeline_inflight_factor(p, self.v)
        if self.microbatches is not None:  # a pipeline with fewer micro-batches than stages holds fewer
            inflight = np.minimum(inflight, self.microbatches) if isinstance(inflight, np.ndarray) or \
                isinstance(self.microbatches, np.ndarray) else min(inflight, self.microbatches)
        if self.recompute == "full":
            kept = tr.checkpoint_bytes_per_layer(s, b, h, t, self.sp)
            working = self.layer_activation_bytes()          # the layer being recomputed
            per_stage = kept * self.stage_layers * inflight + working
        else:
            scores = (not self.flash) and self.recompute == "none"
            per_stage = self.layer_activation_bytes(scores) * self.stage_layers * inflight
        edges = s * b * h * p / t + where(p == 1, 4 * s * b * h / t * (1 + self.vocab / h), 0.0)
        return per_stage + edges

