"""Exercises of the chapter "Hello, roofline" (tutorials/roofline.qmd).

The scenario matches the chapter's: one block of Llama-3-8B in fp16, decode steps at
4,096 tokens of context, prefill of whole prompts.
"""
from __future__ import annotations

from mlsysim.exercises import exercise

MODEL, CONTEXT, OPERATOR = "Llama3_8B", 4096, "MLP gate+up"


def crossing_batch(hardware, precision="fp16", operator=OPERATOR, limit=8192):
    """Smallest decode batch at which ``operator`` is compute-bound on ``hardware``."""
    from mlsysim import OperatorModel

    solver = OperatorModel()
    low, high = 1, limit
    if solver.solve(MODEL, hardware, batch_size=high, context=CONTEXT,
                    precision=precision)[operator].bottleneck != "Compute":
        raise RuntimeError(f"{operator} is still memory-bound at batch {limit} on {hardware}")
    while low < high:  # intensity grows with the batch, so bisect
        mid = (low + high) // 2
        if solver.solve(MODEL, hardware, batch_size=mid, context=CONTEXT,
                        precision=precision)[operator].bottleneck == "Compute":
            high = mid
        else:
            low = mid + 1
    return low


@exercise("roofline/decode-gemm-crossing", tolerance=0.0, close=0.10,
          hint="Loop over batch_size with OperatorModel().solve(..., context=4096) and read "
               "result['MLP gate+up'].bottleneck; the first 'Compute' is the answer.",
          wrong=lambda value: 1)
def _decode_crossing():
    return crossing_batch("H100")


@exercise("roofline/a100-crossing", tolerance=0.0, close=0.10,
          hint="Same loop on hardware='A100'. Its ridge is P / W with the A100's peak and bandwidth.",
          wrong=lambda value: value * 4)
def _a100_crossing():
    return crossing_batch("A100")


@exercise("roofline/prefill-score-intensity", tolerance=0.02, close=0.10,
          hint="Solve one prefill of seq_len=8192 and read result['attention scores'].arithmetic_intensity "
               "in FLOP/byte; compare it with the model's head_dim.",
          wrong=lambda value: value * 10)
def _score_intensity():
    from mlsysim import OperatorModel

    r = OperatorModel().solve(MODEL, "H100", seq_len=8192)
    return r["attention scores"].arithmetic_intensity.to("flop/byte").magnitude
