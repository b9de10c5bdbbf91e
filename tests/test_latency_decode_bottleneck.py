"""RequestLatencyModel's decode_bottleneck is that of the first decode step, at a context of the
prompt plus one token, found by hand where it flips.

Llama-3-8B fp16 on one H100, IDEAL calibration, 4,096 sequences. A decode step at context x:
  math   2 N x 4,096 / P + x x 4,096 x 524,288 / P
  memory W / B         + x x 4,096 x 131,072 / B
with N = 8,030,261,248, W = 2 N, P = 989.4e12, B = 3.35e12: 66.489 ms + x 2.170 us against
4.794 ms + x 160.26 us, so the step is compute-bound up to x* = (66.489 - 4.794) / (160.26 - 2.170) x 1e3
= 61.695 / 0.15809 = 390.25 tokens.
"""
import math

import pytest

import mlsysim
from mlsysim.calibration import DEFAULT

IDEAL = DEFAULT.with_(compute_efficiency=1, memory_efficiency=1, attention_efficiency=1, kernel_overhead=0,
                      allreduce_latency=0, prefill_overhead_per_layer=0, roofline_exponent=math.inf)


@pytest.mark.parametrize("prompt, bound", [
    (389, "Compute"),     # first step at 390 tokens <= 390.25
    (390, "Memory"),      # first step at 391 tokens
])
def test_first_decode_step_sets_the_bottleneck(prompt, bound):
    r = mlsysim.RequestLatencyModel().solve("Llama3_8B", "H100", prompt, 3, batch_size=4096, calibration=IDEAL)
    assert r.decode_bottleneck == bound
