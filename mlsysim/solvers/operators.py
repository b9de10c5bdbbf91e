"""Operator by operator: where each kernel of a model sits on the roofline.

``OperatorModel().solve(model, hardware, ...)`` lists the operators of one
transformer block (a dense decoder or encoder from the catalogue), or every layer of a
CNN (ResNet-50, MobileNetV2, grouped by stage and role), with their FLOPs, bytes,
arithmetic intensity, time and bound. Each operator is one kernel [@williams2009roofline]:

    t = R(F / (P eta_c), B / (W eta_m)) + t_k

with R the roofline's max rounded near the ridge (:func:`mlsysim.physics.roofline.overlapped_time`),
F and B from :mod:`mlsysim.physics.operators`, eta and the fixed per-kernel cost
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
from mlsysim.physics.roofline import compute_time, memory_time, overlapped_time
from mlsysim.solvers._common import kv_bytes_per_token_si, resolve_calibration, resolve_hardware, resolve_model
from mlsysim.solvers.result import Result

#: FLOPs per element of the non-matmul operators, counted from their definitions.
#: RMSNorm: square, sum, scale, gain (4). Softmax: max, subtract, exp, sum, divide (5).
#: SiLU-gate: negate, exp, add, divide, multiply by the up projection (5). GELU (tanh
#: form): about 8. Residual add: 1. These are approximations; the operators stay far
#: below any ridge for any count near these.
FLOPS_PER_ELEMENT = {"norm": 4, "softmax": 5, "swiglu": 5, "gelu": 8, "add": 1}

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
    """The operators of one transformer block (or a CNN's layer groups), with totals."""

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
    """Per-operator roofline of one transformer block or of every layer of a CNN.

    ``solve(model, hardware, batch_size=1, seq_len=None, context=None, precision="fp16",
    kv_precision=None, calibration=None)``

    - Transformers (dense decoder or encoder): the operators of one block. ``seq_len`` is
      the new tokens per sequence in the pass (1, the default for a decoder, is one decode
      step; a prompt length is a prefill); ``context`` is the tokens each query attends to
      (default ``seq_len``; a decode step at 4,096 tokens of context is ``seq_len=1,
      context=4096``). The MLP is gated (SwiGLU) when the model's parameter count says so.
    - CNNs (ResNet50, MobileNetV2): every layer of the papers' architecture tables at
      224 x 224 (:mod:`mlsysim.specs.cnn`), in groups of one stage and role (``count`` layers
      each); ``seq_len`` and ``context`` do not apply. :meth:`mlsysim.Engine.solve` adds up the
      same layers, so the two never disagree.
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
            footprint = m.si["parameters"] * bw + kv_bytes_per_token_si(m, kv_p) * b * c
        else:
            for name, value in (("seq_len", seq_len), ("context", context)):
                if value is not None:
                    raise InputError(name, "None for a CNN (it takes images, not tokens)", value)
            from mlsysim.specs import cnn

            if not cnn.has_table(m.key):
                raise InputError("model", f"a transformer or a CNN with a layer table ({', '.join(cnn.names())})",
                                 m.key)
            rows = cnn_groups(m.key, b, bw, ba)
            scope = f"every layer of {m.name} in {len(rows)} groups, batch {b:g}"
            footprint = cnn_footprint(m, b, bw, ba)

        overhead, eta_c = cal.kernel_overhead, cal.compute_efficiency_for(math_precision)
        operators, total_f, total_b, total_t, compute_t = [], 0.0, 0.0, 0.0, 0.0
        for name, count, flops, bytes_moved in rows:
            t_c = compute_time(flops, peak, eta_c)
            t_m = memory_time(bytes_moved, bandwidth, cal.memory_efficiency)
            t = count * (overlapped_time(t_c, t_m, cal.roofline_exponent) + overhead)
            bound = "Compute" if t_c >= t_m else "Memory"
            values = {"operator": name, "count": count, "flops": count * flops, "bytes_moved": count * bytes_moved,
                      "arithmetic_intensity": flops / bytes_moved, "latency": t,
                      "achieved_flops": count * flops / t, "bottleneck": bound}
            operators.append(OperatorResult(values, feasible=True, inputs={"model": m, "hardware": h}))
            total_f, total_b, total_t = total_f + count * flops, total_b + count * bytes_moved, total_t + t
            compute_t += t if bound == "Compute" else 0.0

        usable = h.si["memory"] * cal.usable_memory_fraction
        fits = footprint <= usable
        reasons = [] if fits else [f"memory: the whole model needs {footprint / 1e9:,.1f} GB, {h.key} has "
                                   f"{usable / 1e9:,.1f} GB usable of {h.si['memory'] / 1e9:,.1f} GB"]
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


def cnn_footprint(m, b, bw, ba):
    """Bytes a CNN pass holds at once: the weights plus the largest layer's input and output maps."""
    from mlsysim.specs import cnn

    maps = [bytes_moved for _, _, bytes_moved in ops.cnn_layer_costs(cnn.layers(m.key), b, 0.0, ba)]
    return m.si["parameters"] * bw + np.max(np.stack(np.broadcast_arrays(*maps)), axis=0)


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


def cnn_groups(key, b, bw, ba):
    """(group, layers in it, FLOPs, bytes) per layer group of the CNN ``key`` at batch ``b``, from
    its full layer table (:mod:`mlsysim.specs.cnn`); FLOPs and bytes are per layer. Layers of a
    group share one shape; a stage's first block, which changes the channels or strides, is its
    own group ("... (first block)")."""
    from collections import Counter

    from mlsysim.specs import cnn

    table = cnn.layers(key)
    common = {}
    for name, shapes in _shapes_by_name(table).items():
        counts = Counter(shapes)          # the most frequent shape; on a tie the later one (not the first block)
        common[name] = max(counts, key=lambda shape: (counts[shape], max(i for i, s in enumerate(shapes) if s == shape)))
    grouped: dict = {}
    for layer, (name, flops, bytes_moved) in zip(table, ops.cnn_layer_costs(table, b, bw, ba)):
        group = name if layer[1:] == common[name] else f"{name} (first block)"
        entry = grouped.setdefault(group, [0, flops, bytes_moved])
        entry[0] += 1
    return [(group, count, flops, bytes_moved) for group, (count, flops, bytes_moved) in grouped.items()]


def _shapes_by_name(table):
    out: dict = {}
    for layer in table:
        out.setdefault(layer[0], []).append(layer[1:])
    return out
