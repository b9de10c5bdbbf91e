"""InferenceScalingModel (K-step reasoning) against one query worked out by hand.

Llama-3-8B fp16 on one H100 with an ideal calibration (efficiencies 1, no fixed costs, the textbook
max roofline): N = 8,030,261,248, weights W = 16,060,522,496 B, KV 131,072 B per token, attention
524,288 FLOPs per (query, key) pair; P = 989.4e12 FLOP/s, B = 3.35e12 B/s; serving power
0.573 x 700 W = 401.1 W.
"""
import math

import numpy as np
import pytest

import mlsysim
from mlsysim.calibration import DEFAULT
from mlsysim.core.units import Q_
from mlsysim.errors import InputError

R = mlsysim.InferenceScalingModel()
IDEAL = DEFAULT.with_(compute_efficiency=1, memory_efficiency=1, attention_efficiency=1, kernel_overhead=0,
                      allreduce_latency=0, prefill_overhead_per_layer=0, roofline_exponent=math.inf)
N, W, KV, A, P, B = 8_030_261_248, 16_060_522_496, 131_072, 524_288, 989.4e12, 3.35e12


def test_two_steps_of_three_tokens_by_hand():
    r = R.solve("Llama3_8B", "H100", 2, 1024, tokens_per_step=3, calibration=IDEAL)
    # prefill 1,024 tokens: 2 N x 1,024 / P + 524,288 x 1,024 x 512.5 / P (both compute-bound), 16.9 ms
    ttft = 2 * N * 1024 / P + A * 1024 * 512.5 / P
    # 2 x 3 = 6 decode steps at contexts 1,024 .. 1,029: 6 W / B + 131,072 x (6 x 1,024 + 15) / B
    decode = 6 * W / B + KV * (6 * 1024 + 15) / B
    assert r.ttft.to("s").m == pytest.approx(ttft, rel=1e-12)
    assert r.total_reasoning_time.to("s").m == pytest.approx(ttft + decode, rel=1e-12)
    assert r.time_per_step.to("s").m == pytest.approx(decode / 2, rel=1e-12)
    assert r.itl.to("s").m == pytest.approx(decode / 6, rel=1e-12)
    assert r.tokens_generated.to("token").m == 6
    assert r.energy_per_query.to("J").m == pytest.approx(401.1 * (ttft + decode), rel=1e-12)
    assert r.queries_per_second.to("1/s").m == pytest.approx(1 / (ttft + decode), rel=1e-12)
    # W + 1,030 x 131,072 = 16,060,522,496 + 135,004,160 = 16,195,526,656 B
    assert r.total_memory_required.to("byte").m == pytest.approx(16_195_526_656)
    assert r.memory_capacity.to("byte").m == pytest.approx(85_520_809_984)
    assert r.feasible and r.reasons == ()


def test_a_batch_shares_the_energy():
    one = R.solve("Llama3_8B", "H100", 2, 1024, tokens_per_step=3, batch_size=2, calibration=IDEAL)
    t = one.total_reasoning_time.to("s").m
    assert one.energy_per_query.to("J").m == pytest.approx(401.1 * t / 2, rel=1e-12)
    assert one.queries_per_second.to("1/s").m == pytest.approx(2 / t, rel=1e-12)


def test_defaults_and_the_header():
    r = R.solve("Llama3_8B", "H100", 4, 1000)
    assert repr(r).splitlines()[0] == ("Reasoning: Llama3_8B on H100 (reasoning_steps=4, context_length=1,000, "
                                       "tokens_per_step=100, batch_size=1, precision=fp16, tensor_parallel=1)")
    assert r.tokens_generated.to("token").m == 400                      # 4 x 100 by default
    swept = R.solve("Llama3_8B", "H100", np.array([1, 2]), Q_(1000, "token"), tokens_per_step=Q_(10, "token"))
    np.testing.assert_array_equal(swept.tokens_generated.to("token").m, [10, 20])


@pytest.mark.parametrize("name", ["reasoning_steps", "context_length", "tokens_per_step", "batch_size"])
def test_integers_only(name):
    kwargs = dict(reasoning_steps=2, context_length=1000, tokens_per_step=10, batch_size=1)
    kwargs[name] = 2.5
    with pytest.raises(InputError, match=f"^parameter '{name}': expected an integer"):
        R.solve("Llama3_8B", "H100", **kwargs)


@pytest.mark.parametrize("name", ["context_length", "tokens_per_step"])
def test_token_counts_take_tokens(name):
    kwargs = dict(reasoning_steps=2, context_length=1000, tokens_per_step=10)
    kwargs[name] = Q_(5, "s")
    with pytest.raises(InputError, match=f"^parameter '{name}': expected .*token"):
        R.solve("Llama3_8B", "H100", **kwargs)


def test_kv_precision_inputs_and_reasons():
    # an int8 cache: W + 1,030 x 65,536 = 16,060,522,496 + 67,502,080 = 16,128,024,576 B at the last token
    r = R.solve("Llama3_8B", "H100", 2, 1024, tokens_per_step=3, kv_precision="int8", calibration=IDEAL)
    assert r.total_memory_required.to("byte").m == pytest.approx(16_128_024_576)
    assert r.inputs["model"].key == "Llama3_8B" and r.inputs["hardware"].key == "H100"
    # Llama-3-70B's 141 GB of fp16 weights do not fit one H100: infeasible, and the reason says memory
    big = R.solve("Llama3_70B", "H100", 2, 1024)
    assert not big.feasible and big.reasons and big.reasons[0].startswith("memory")


def test_swept_tokens_are_numbers():
    swept = R.solve("Llama3_8B", "H100", np.array([1, 2]), 1000, tokens_per_step=10)
    assert swept.tokens_generated.to("token").m.dtype.kind in "iuf"
