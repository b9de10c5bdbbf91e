"""Operator by operator: where each kernel of a model sits on the roofline.

``OperatorModel().solve(model, hardware, ...)`` lists the operators of one
transformer block (a dense decoder or encoder from the catalogue), or a handful of
representative layers of a CNN (ResNet-50, MobileNetV2), with their FLOPs, bytes,
arithmetic intensity, time and bound. Each operator is one kernel [@williams2009roofline]:

    t = max(F / (P eta_c), B / (W eta_m)) + t_k

with F and B from :mod:`mlsysim.physics.operators`, eta and the fixed per-kernel cost
t_k from :mod:`mlsysim.calibration`. An operator is compute-bound when its compute
time is the larger, that is when its intensity F / B exceeds the *achieved* ridge
P eta_c / (W eta_m), not quite the datasheet ridge P / W.

Elementwise operators run on the vector units, whose peak is lower than the tensor
cores'; they sit so far left of any ridge that the roof they are drawn against makes
no difference, so every operator uses the tensor peak of the math precision.
"""
from __future__ import annotations

import numpy as np

from mlsysim.core import validate
from mlsysim.core.validate import BYTES_PER_ELEMENT
from mlsysim.errors import InputError
from mlsysim.physics import operators as ops
from mlsysim.physics.roofline import compute_time, memory_time
from mlsysim.solvers._common import resolve_calibration, resolve_hardware, resolve_model
from mlsysim.solvers.result import Result

#: FLOPs per element of the non-matmul operators, counted from their definitions.
#: RMSNorm: square, sum, scale, gain (4). Softmax: max, subtract, exp, sum, divide (5).
#: SiLU-gate: negate, exp, add, divide, multiply by the up projection (5). GELU (tanh
#: form): about 8. Residual add: 1. These are approximations; the operators stay far
#: below any ridge for any count near these.
FLOPS_PER_ELEMENT = {"norm": 4, "softmax": 5, "swiglu": 5, "gelu": 8, "add": 1}

# Representative CNN layers: (name, count, kind, input side, C_in, C_out, kernel, stride, groups).
# kind "conv" is a 2-D convolution with 'same' padding; "fc" a fully connected layer on a
# pooled vector (a GEMM with m = batch). BatchNorm and ReLU are taken as fused into the conv.
CNN_LAYERS = {
    # He et al. 2016, Table 1 (50-layer column), 224 x 224 input [@he2016resnet]:
    # conv1 7x7/2 to 112x112x64; conv2_x (56x56) is [1x1 64, 3x3 64, 1x1 256] x 3;
    # conv5_x (7x7) is [1x1 512, 3x3 512, 1x1 2048] x 3; then a 1000-way fc on 2048 features.
    "ResNet50": (
        ("conv1 7x7/2", 1, "conv", 224, 3, 64, 7, 2, 1),
        ("conv2_x 3x3", 3, "conv", 56, 64, 64, 3, 1, 1),
        ("conv2_x 1x1 expand", 3, "conv", 56, 64, 256, 1, 1, 1),
        ("conv5_x 3x3", 3, "conv", 7, 512, 512, 3, 1, 1),
        ("conv5_x 1x1 expand", 3, "conv", 7, 512, 2048, 1, 1, 1),
        ("fc 1000", 1, "fc", 1, 2048, 1000, 1, 1, 1),
    ),
    # Sandler et al. 2018, Table 2 (stages) and Table 1 (a bottleneck is 1x1 expand by t,
    # 3x3 depthwise, 1x1 linear projection) [@sandler2018mobilenetv2]: the stem conv 3x3/2
    # with 32 channels; the second block of the c=24 stage at 56x56 (t=6: 24 -> 144 -> 24);
    # the depthwise conv of the two stride-1 blocks of the c=160 stage at 7x7 (t=6: 960
    # channels); the final 1x1 conv to 1280 and the 1000-way classifier.
    "MobileNetV2": (
        ("stem conv 3x3/2", 1, "conv", 224, 3, 32, 3, 2, 1),
        ("expand 1x1 (56x56)", 1, "conv", 56, 24, 144, 1, 1, 1),
        ("depthwise 3x3 (56x56)", 1, "conv", 56, 144, 144, 3, 1, 144),
        ("project 1x1 (56x56)", 1, "conv", 56, 144, 24, 1, 1, 1),
        ("depthwise 3x3 (7x7)", 2, "conv", 7, 960, 960, 3, 1, 960),
        ("conv 1x1 to 1280 (7x7)", 1, "conv", 7, 320, 1280, 1, 1, 1),
        ("fc 1000", 1, "fc", 1, 1280, 1000, 1, 1, 1),
    ),
}


class OperatorResult(Result):
    """One operator (one kernel, run ``count`` times per block or network)."""

    TITLE = "Operator"
    FIELDS = {
        "operator": (None, None, "Operator"),
        "count": (None, None, "Times per block"),
        "flops": ("flop", "MFLOP", "FLOPs (all counts)"),
        "bytes_moved": ("byte", "MB", "Bytes moved (all counts)"),
        "arithmetic_intensity": ("flop/byte", "flop/byte", "Arithmetic intensity"),
        "latency": ("s", "us", "Time (all counts)"),
        "achieved_flops": ("flop/s", "TFLOP/s", "Achieved FLOP/s"),
        "bottleneck": (None, None, "Bound by"),
    }


class OperatorsResult(Result):
    """The operators of one transformer block (or a CNN's representative layers), with totals."""

    TITLE = "Operators"
    FIELDS = {
        "scope": (None, None, "Scope"),
        "flops": ("flop", "GFLOP", "FLOPs"),
        "bytes_moved": ("byte", "MB", "Bytes moved"),
        "arithmetic_intensity": ("flop/byte", "flop/byte", "Arithmetic intensity (all operators)"),
        "latency": ("s", "us", "Time"),
        "ridge_point": ("flop/byte", "flop/byte", "Ridge point (datasheet)"),
        "achieved_ridge_point": ("flop/byte", "flop/byte", "Ridge point (achieved)"),
        "compute_bound_share": ("", "percent", "Time in compute-bound operators"),
        "compute_precision": (None, None, "Math precision"),
        "operators": (None, None, "Operators"),
    }

    # -- access to the operators ---------------------------------------------
    def __iter__(self):
        return iter(self._values["operators"])

    def __len__(self):
        return len(self._values["operators"])

    def __getitem__(self, key) -> OperatorResult:
        items = self._values["operators"]
        if isinstance(key, int):
            return items[key]
        for item in items:
            if item.operator == key:
                return item
        raise InputError("operator", f"one of {', '.join(self.names)}", key)

    @property
    def names(self) -> list[str]:
        return [o.operator for o in self._values["operators"]]

    def points(self, prefix: str = "", group: str | None = None) -> list[tuple]:
        """``(label, intensity, achieved FLOP/s[, group])`` per operator, for :func:`mlsysim.plots.roofline`."""
        out = []
        for o in self:
            point = (prefix + o.operator, o.arithmetic_intensity, o.achieved_flops)
            out.append(point + (group,) if group is not None else point)
        return out

    def table(self, title: bool = True):
        """The operators as a :class:`mlsysim.show.Table` (FLOPs, bytes, intensity, time, bound)."""
        from mlsysim.show import Table, fmt, pct

        total = self._values["latency"]
        rows = [[o.operator, o.count, fmt(o.flops, "MFLOP"), fmt(o.bytes_moved, "MB"),
                 fmt(o.arithmetic_intensity.magnitude), fmt(o.latency, "us"),
                 pct(o._values["latency"] / total, 2), o.bottleneck] for o in self]
        return Table(["operator", "x", "FLOPs", "bytes", "FLOP/B", "time", "share", "bound"], rows,
                     title=self._header() if title else None)

    # -- presentation --------------------------------------------------------
    def _rows(self):
        for label, value in super()._rows():
            if label != "Operators":
                yield label, value

    def __repr__(self) -> str:
        return super().__repr__() + "\n" + repr(self.table(title=False))

    def _repr_html_(self) -> str:
        return super()._repr_html_() + self.table(title=False)._repr_html_()

    def to_dict(self) -> dict:
        out = super().to_dict()
        out["operators"] = [o.to_dict() for o in self]
        return out


class OperatorModel:
    """Per-operator roofline of one transformer block or a CNN's representative layers.

    ``solve(model, hardware, batch_size=1, seq_len=None, context=None, precision="fp16",
    kv_precision=None, calibration=None)``

    - Transformers (dense decoder or encoder): the operators of one block. ``seq_len`` is
      the new tokens per sequence in the pass (1, the default for a decoder, is one decode
      step; a prompt length is a prefill); ``context`` is the tokens each query attends to
      (default ``seq_len``; a decode step at 4,096 tokens of context is ``seq_len=1,
      context=4096``). The MLP is gated (SwiGLU) when the model's parameter count says so.
    - CNNs (ResNet50, MobileNetV2): a handful of representative layers from the papers'
      tables at 224 x 224; ``seq_len`` and ``context`` do not apply.
    - ``precision`` is the weight precision; activations use the math precision
      (:meth:`HardwareSpec.compute_precision`), the KV cache ``kv_precision`` (default as
      :class:`ServingModel`: ``precision``, or fp16 for 4-bit weights).
    - One shape per call: the numeric arguments are single numbers.

    ``feasible`` says whether the whole model's weights (plus the KV cache of the batch at
    ``context``) fit one device.
    """

    def solve(self, model, hardware, batch_size=1, seq_len=None, context=None, precision="fp16",
              kv_precision=None, calibration=None) -> OperatorsResult:
        m, h = resolve_model(model), resolve_hardware(hardware)
        b = _scalar(batch_size, "batch_size")
        p = validate.precision(precision)
        math_precision = h.compute_precision(p)
        kv_default = "fp16" if BYTES_PER_ELEMENT[p] < 1 else p
        kv_p = validate.precision(kv_precision or kv_default, "kv_precision")
        cal = resolve_calibration(calibration)
        bw, ba, bkv = BYTES_PER_ELEMENT[p], BYTES_PER_ELEMENT[math_precision], BYTES_PER_ELEMENT[kv_p]
        peak, bandwidth = h.si["peak_flops"][math_precision], h.si["bandwidth"]

        if m.is_transformer:
            if m.is_moe:
                raise InputError("model", "a dense transformer or a CNN (ResNet50, MobileNetV2)", m.key,
                                 detail="the per-operator view does not model expert routing; use ServingModel")
            default_len = 1 if m.architecture == "decoder" else m.context_length
            s = _scalar(seq_len if seq_len is not None else default_len, "seq_len", "token")
            c = _scalar(context if context is not None else s, "context", "token")
            if c < s:
                raise InputError("context", f"at least seq_len ({s:g} tokens)", context)
            rows = _transformer_block(m, b, s, c, bw, ba, bkv)
            scope = f"one of {m.layers} blocks, {b:g} x {s:g} new tokens, context {c:g}"
            footprint = m.si["parameters"] * bw + m.kv_elements_per_token() * bkv * b * c
        else:
            for name, value in (("seq_len", seq_len), ("context", context)):
                if value is not None:
                    raise InputError(name, "None for a CNN (it takes images, not tokens)", value)
            if m.key not in CNN_LAYERS:
                raise InputError("model", f"a transformer or a CNN with a layer table ({', '.join(CNN_LAYERS)})", m.key)
            rows = _cnn_layers(m.key, b, bw, ba)
            scope = f"representative layers of {m.name}, batch {b:g}"
            side = m.input_resolution or 224
            footprint = m.si["parameters"] * bw + b * 3 * side * side * ba * 8

        overhead, eta_c = cal.kernel_overhead, cal.compute_efficiency_for(math_precision)
        operators, total_f, total_b, total_t, compute_t = [], 0.0, 0.0, 0.0, 0.0
        for name, count, flops, bytes_moved in rows:
            t_c = compute_time(flops, peak, eta_c)
            t_m = memory_time(bytes_moved, bandwidth, cal.memory_efficiency)
            t = count * (max(t_c, t_m) + overhead)
            bound = "Compute" if t_c >= t_m else "Memory"
            values = {"operator": name, "count": count, "flops": count * flops, "bytes_moved": count * bytes_moved,
                      "arithmetic_intensity": flops / bytes_moved, "latency": t,
                      "achieved_flops": count * flops / t, "bottleneck": bound}
            operators.append(OperatorResult(values, feasible=True, inputs={"model": m, "hardware": h}))
            total_f, total_b, total_t = total_f + count * flops, total_b + count * bytes_moved, total_t + t
            compute_t += t if bound == "Compute" else 0.0

        fits = footprint <= h.si["memory"]
        reasons = [] if fits else [f"memory: the whole model needs {footprint / 1e9:,.1f} GB, {h.key} has "
                                   f"{h.si['memory'] / 1e9:,.1f} GB"]
        values = {
            "scope": scope,
            "flops": total_f,
            "bytes_moved": total_b,
            "arithmetic_intensity": total_f / total_b,
            "latency": total_t,
            "ridge_point": peak / bandwidth,
            "achieved_ridge_point": peak * eta_c / (bandwidth * cal.memory_efficiency),
            "compute_bound_share": compute_t / total_t,
            "compute_precision": math_precision,
            "operators": tuple(operators),
        }
        inputs = {"model": m, "hardware": h, "batch_size": batch_size, "seq_len": seq_len, "context": context,
                  "precision": p, "kv_precision": kv_p}
        return OperatorsResult(values, feasible=fits, reasons=reasons, inputs=inputs)


def _scalar(value, parameter, unit=None):
    if isinstance(value, (list, tuple, np.ndarray)):
        raise InputError(parameter, "a single integer (OperatorModel solves one shape; loop for a sweep)",
                         f"{type(value).__name__}")
    return validate.number(value, parameter, unit, integer=True)


def _is_gated(m) -> bool:
    """True when a gated (SwiGLU, three-matrix) MLP explains the parameter count better
    than a plain two-matrix one."""
    d, f, L = m.hidden_dim, m.ffn_dim or 4 * m.hidden_dim, m.layers
    attention = 2 * d * m.heads * m.head_dim + 2 * d * m.kv_heads * m.head_dim
    embeddings = m.vocab_size * d
    gated = L * (attention + 3 * d * f) + embeddings
    plain = L * (attention + 2 * d * f) + embeddings
    n = m.si["parameters"]
    return abs(gated - n) < abs(plain - n)


def _transformer_block(m, b, s, c, bw, ba, bkv):
    """(name, count, FLOPs, bytes) of each operator of one block for b sequences of s new
    tokens attending to c tokens. FLOPs and bytes are per single execution."""
    d, heads, g, hd = m.hidden_dim, m.heads, m.kv_heads, m.head_dim
    f = m.ffn_dim or 4 * d
    tokens = b * s
    gated = _is_gated(m)
    norm = "RMSNorm" if gated else "LayerNorm"
    rows = [
        (norm, 2, ops.elementwise_flops(tokens * d, FLOPS_PER_ELEMENT["norm"]),
         ops.elementwise_bytes(tokens * d, ba, parameters=d)),
        ("QKV projection", 1, ops.gemm_flops(tokens, (heads + 2 * g) * hd, d),
         ops.gemm_bytes(tokens, (heads + 2 * g) * hd, d, bw, ba)),
        ("attention scores", 1, ops.attention_score_flops(b, heads, s, c, hd),
         ops.attention_score_bytes(b, heads, g, s, c, hd, ba, bkv)),
        ("softmax", 1, ops.elementwise_flops(b * heads * s * c, FLOPS_PER_ELEMENT["softmax"]),
         ops.elementwise_bytes(b * heads * s * c, ba)),
        ("attention values", 1, ops.attention_value_flops(b, heads, s, c, hd),
         ops.attention_value_bytes(b, heads, g, s, c, hd, ba, bkv)),
        ("output projection", 1, ops.gemm_flops(tokens, d, heads * hd), ops.gemm_bytes(tokens, d, heads * hd, bw, ba)),
    ]
    if gated:
        rows += [
            ("MLP gate+up", 1, ops.gemm_flops(tokens, 2 * f, d), ops.gemm_bytes(tokens, 2 * f, d, bw, ba)),
            ("SwiGLU", 1, ops.elementwise_flops(tokens * f, FLOPS_PER_ELEMENT["swiglu"]),
             ops.elementwise_bytes(tokens * f, ba, reads=2)),
        ]
    else:
        rows += [
            ("MLP up", 1, ops.gemm_flops(tokens, f, d), ops.gemm_bytes(tokens, f, d, bw, ba)),
            ("GELU", 1, ops.elementwise_flops(tokens * f, FLOPS_PER_ELEMENT["gelu"]),
             ops.elementwise_bytes(tokens * f, ba)),
        ]
    rows += [
        ("MLP down", 1, ops.gemm_flops(tokens, d, f), ops.gemm_bytes(tokens, d, f, bw, ba)),
        ("residual add", 2, ops.elementwise_flops(tokens * d, FLOPS_PER_ELEMENT["add"]),
         ops.elementwise_bytes(tokens * d, ba, reads=2)),
    ]
    return rows


def _cnn_layers(key, b, bw, ba):
    rows = []
    for name, count, kind, side, c_in, c_out, k, stride, groups in CNN_LAYERS[key]:
        if kind == "fc":
            rows.append((name, count, ops.gemm_flops(b, c_out, c_in), ops.gemm_bytes(b, c_out, c_in, bw, ba)))
            continue
        out = ops.conv2d_output_size(side, k, stride)
        rows.append((name, count, ops.conv2d_flops(b, out, out, c_in, c_out, k, groups),
                     ops.conv2d_bytes(b, side, side, out, out, c_in, c_out, k, bw, ba, groups)))
    return rows
