"""Exercises of the chapter "Hello, roofline" (tutorials/roofline.qmd).

The scenario matches the chapter's parameters cell: one block of Llama-3-8B on an H100, decode
steps at 4,096 tokens of context, prefill of whole prompts, and ResNet-50 batches under a
latency budget. The UPPER_CASE keyword arguments are those parameters (see
:mod:`mlsysim.exercises`).
"""
from __future__ import annotations

from mlsysim.exercises import Design, design_answer, design_exercise, exercise

MODEL, GPU, CONTEXT, OPERATOR = "Llama3_8B", "H100", 4096, "MLP gate+up"
#: The devices of the chapter's ridge table, which the design exercise chooses from.
DEVICES = ("A100", "H100", "B200", "MI300X", "L4")
#: Number formats the CNN design may use (weights and activations in the same format).
CNN_PRECISIONS = ("fp16", "fp8", "int8")
#: Largest batch the CNN design searches.
CNN_MAX_BATCH = 1024


def _operator(hardware, batch, precision, operator, model, context):
    from mlsysim import OperatorModel

    return OperatorModel().solve(model, hardware, batch_size=batch, context=context, precision=precision)[operator]


def _first_batch(predicate, limit):
    """Smallest batch in 1..limit for which ``predicate(batch)`` holds (it must be monotone)."""
    low, high = 1, limit
    if not predicate(high):
        return None
    while low < high:
        mid = (low + high) // 2
        if predicate(mid):
            high = mid
        else:
            low = mid + 1
    return low


def crossing_batch(hardware=GPU, precision="fp16", operator=OPERATOR, limit=8192, model=MODEL, context=CONTEXT):
    """Smallest decode batch at which ``operator`` is compute-bound on ``hardware`` (its compute
    time t_c reaches its memory time t_m); intensity grows with the batch, so a bisection finds it."""
    batch = _first_batch(lambda b: _operator(hardware, b, precision, operator, model, context).bottleneck == "Compute",
                         limit)
    if batch is None:
        raise RuntimeError(f"{operator} is still memory-bound at batch {limit} on {hardware}")
    return batch


def double_time_batch(hardware=GPU, precision="fp16", operator=OPERATOR, limit=8192, model=MODEL, context=CONTEXT):
    """Smallest decode batch at which ``operator`` takes at least twice its time at batch 1."""
    once = _operator(hardware, 1, precision, operator, model, context).latency
    batch = _first_batch(lambda b: _operator(hardware, b, precision, operator, model, context).latency >= 2 * once,
                         limit)
    if batch is None:
        raise RuntimeError(f"{operator} never doubles its batch-1 time below batch {limit} on {hardware}")
    return batch


@exercise("roofline/double-time-batch", kind="predict", minutes=15, points=2, tolerance=0.03, close=0.15,
          objective="Predict where batching stops being free with the textbook roofline, then see the rounded "
                    "roofline of measured kernels move it to a smaller batch.",
          hint="Bisect batch_size with OperatorModel().solve(MODEL, GPU, batch_size=b, context=CONTEXT) and compare "
               "result['MLP gate+up'].latency with twice its value at batch 1. The textbook max predicts about "
               "twice the crossing batch; near the ridge the rounded roofline charges more than the max.",
          wrong=lambda value: 2 * value)
def _double_time(MODEL=MODEL, GPU=GPU, CONTEXT=CONTEXT):
    return double_time_batch(GPU, model=MODEL, context=CONTEXT)


@exercise("roofline/fp8-crossing", kind="change", minutes=10, points=2, tolerance=0.02, close=0.15,
          objective="See that a smaller number format moves both the ridge and the intensity, and that the "
                    "achieved ridge depends on how close 8-bit kernels get to their peak.",
          hint="Same search as the chapter's crossing, with precision='fp8'. The intensity per sequence doubles "
               "(one byte per weight) and the datasheet ridge doubles too, but the achieved ridge is "
               "P x low_precision_efficiency / (W x memory_efficiency).",
          wrong=lambda value: crossing_batch())       # the fp16 answer: 'nothing changes'
def _fp8_crossing(MODEL=MODEL, GPU=GPU, CONTEXT=CONTEXT):
    return crossing_batch(GPU, "fp8", model=MODEL, context=CONTEXT)


@exercise("roofline/prefill-score-intensity", kind="connect", minutes=10, points=1, tolerance=0.02, close=0.10,
          objective="Show that unfused attention's intensity saturates near the head dimension, below the ridge, "
                    "which is why attention kernels fuse.",
          hint="Solve one prefill of seq_len=model.context_length and read result['attention scores']"
               ".arithmetic_intensity in FLOP/byte; compare it with the model's head_dim.",
          wrong=lambda value: value * 10)
def _score_intensity(MODEL=MODEL, GPU=GPU):
    from mlsysim import Models, OperatorModel

    model = Models.get(MODEL)
    r = OperatorModel().solve(model, GPU, seq_len=model.context_length)
    return r["attention scores"].arithmetic_intensity.to("flop/byte").magnitude


def _cnn_energy(model, hardware, precision, batch):
    """(energy per image in mJ, batch latency in ms, fits memory) from Engine.solve; arrays over batch."""
    import numpy as np

    from mlsysim import Engine

    r = Engine.solve(model, hardware, batch_size=batch, precision=precision)
    return (r.energy.to("mJ").magnitude / np.asarray(batch), r.latency.to("ms").magnitude,
            np.asarray(r.feasible, dtype=bool))


def _cnn_answer(answer, devices):
    from mlsysim.errors import InputError
    from mlsysim.specs.resolve import resolve_hardware

    design_answer(answer, ("hardware", "precision", "batch_size"),
                  "{'hardware': 'T4', 'precision': 'int8', 'batch_size': 64}")
    hw = resolve_hardware(answer["hardware"])
    if hw.key not in devices:
        raise InputError("hardware", f"one of the chapter's devices ({', '.join(devices)})", answer["hardware"])
    precision = answer["precision"]
    if precision not in CNN_PRECISIONS or precision not in hw.peak_flops:
        offered = [p for p in CNN_PRECISIONS if p in hw.peak_flops]
        raise InputError("precision", f"a format {hw.key} has a peak for ({', '.join(offered)})", precision)
    batch = answer["batch_size"]
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= CNN_MAX_BATCH:
        raise InputError("batch_size", f"an integer from 1 to {CNN_MAX_BATCH:,}", batch)
    return hw.key, precision, batch


@design_exercise("roofline/cnn-energy", minutes=25, points=4, tolerance=0.10, close=0.30,
                 objective="Use the roofline to choose hardware, number format and batch for a memory-bound CNN: "
                           "energy per image follows power per unit of bandwidth, not peak FLOP/s.",
                 answer_format="a dict {'hardware': 'H100', 'precision': 'fp16', 'batch_size': 64}",
                 hint="ResNet-50 is memory-bound on these devices, so energy per image is about power x bytes per "
                      "image / bandwidth: compare TDP / bandwidth across devices, use the smallest format, and batch "
                      "as far as the latency budget allows to spread the weights and the fixed kernel costs.",
                 wrong=lambda best: {**best, "batch_size": 1})
def _cnn_energy_design(answer, CNN="ResNet50", LATENCY_BUDGET_MS=5.0, DEVICES=DEVICES):
    import numpy as np

    from mlsysim import Hardware

    devices = tuple(Hardware.get(d).key for d in DEVICES)
    best, best_design = np.inf, None
    batches = np.arange(1, CNN_MAX_BATCH + 1)
    for device in devices:
        hw = Hardware.get(device)
        for precision in (p for p in CNN_PRECISIONS if p in hw.peak_flops):
            energy, latency, fits = _cnn_energy(CNN, device, precision, batches)
            ok = fits & (latency <= LATENCY_BUDGET_MS)
            if ok.any():
                i = int(np.argmin(np.where(ok, energy, np.inf)))
                if energy[i] < best:
                    best = float(energy[i])
                    best_design = {"hardware": device, "precision": precision, "batch_size": int(batches[i])}
    if answer is None:
        return Design(True, best, best, best_design, unit="mJ per image")
    device, precision, batch = _cnn_answer(answer, devices)
    energy, latency, fits = _cnn_energy(CNN, device, precision, batch)
    reasons = []
    if latency > LATENCY_BUDGET_MS:
        reasons.append(f"a batch of {batch} takes {latency:.2f} ms on {device} in {precision}, over the "
                       f"{LATENCY_BUDGET_MS:g} ms budget")
    if not fits:
        reasons.append(f"a batch of {batch} does not fit {device}'s memory")
    return Design(not reasons, float(energy), best, best_design, tuple(reasons), unit="mJ per image")
