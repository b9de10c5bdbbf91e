"""Invariants of DESIGN.md, checked on many random inputs (hypothesis)."""
import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

import mlsysim
from mlsysim import Hardware, Models
from mlsysim.calibration import DEFAULT, Calibration

MODELS = st.sampled_from(["Llama2_7B", "Llama3_8B", "Llama3_70B", "Mixtral_8x7B", "Llama2_70B"])
HARDWARE = st.sampled_from(["A100", "H100", "H200", "B200", "MI300X"])
SEQ = st.integers(min_value=1, max_value=4096)
BATCH = st.integers(min_value=1, max_value=256)
settings.register_profile("ci", max_examples=60, deadline=None)
settings.load_profile("ci")


@given(MODELS, HARDWARE, SEQ, BATCH, st.floats(min_value=1.01, max_value=4.0))
def test_more_bandwidth_never_slows_decode(model, hw, seq, batch, factor):
    base = Hardware.get(hw)
    faster = replace(base, memory_bandwidth=base.memory_bandwidth * factor)
    slow = mlsysim.ServingModel().solve(model, base, seq, batch_size=batch, tensor_parallel=8)
    fast = mlsysim.ServingModel().solve(model, faster, seq, batch_size=batch, tensor_parallel=8)
    # strictly: the rounded roofline (exponent 1.5) lets every byte count, even in a compute-bound step
    assert fast.itl < slow.itl
    assert fast.ttft < slow.ttft


#: Round factors with no fixed cost per step, so a memory-bound step is memory time alone.
PURE = Calibration(compute_efficiency=0.5, memory_efficiency=0.8, attention_efficiency=0.5, kernel_overhead=0.0,
                   roofline_exponent=math.inf, prefill_overhead_per_layer=0.0, allreduce_latency=0.0)


@given(MODELS, HARDWARE, SEQ, st.integers(min_value=1, max_value=8), st.floats(min_value=1.01, max_value=4.0))
def test_a_memory_bound_step_scales_as_one_over_bandwidth(model, hw, seq, batch, factor):
    # decode at batch <= 8 on one device is memory-bound in both its kernels (weights: intensity ~ batch
    # FLOP/B; attention: ~ the GQA ratio), also at 4x the bandwidth; with no fixed costs and the max
    # roofline, t = (weight bytes / W eta_m) + (KV bytes / W eta_a): k times the bandwidth, 1/k the time
    base = Hardware.get(hw)
    faster = replace(base, memory_bandwidth=base.memory_bandwidth * factor)
    slow = mlsysim.ServingModel().solve(model, base, seq, batch_size=batch, calibration=PURE)
    fast = mlsysim.ServingModel().solve(model, faster, seq, batch_size=batch, calibration=PURE)
    assert slow.decode_bottleneck == "Memory"
    assert fast.itl.magnitude * factor == pytest.approx(slow.itl.magnitude, rel=1e-9)


@given(MODELS, HARDWARE, SEQ, st.integers(min_value=1, max_value=16))
def test_double_bandwidth_cuts_a_memory_bound_decode_step_by_a_quarter(model, hw, seq, batch):
    # with the engine's own factors, fixed costs (kernel launches) stay: on one device, far below the
    # ridge (batch <= 16), reading the weights and the KV cache is still most of a decode step, so twice
    # the bandwidth saves more than 25% (28% at the least, Llama-2-7B on a B200; 30-46% elsewhere). Near
    # the ridge (batch ~ 100 on an A100) the rounded roofline gives less: the step is no longer purely
    # memory-bound.
    base = Hardware.get(hw)
    faster = replace(base, memory_bandwidth=base.memory_bandwidth * 2)
    slow = mlsysim.ServingModel().solve(model, base, seq, batch_size=batch)
    assume(slow.decode_bottleneck == "Memory")
    fast = mlsysim.ServingModel().solve(model, faster, seq, batch_size=batch)
    assert fast.itl < 0.75 * slow.itl


@given(MODELS, HARDWARE, SEQ, BATCH)
def test_longer_context_never_speeds_decode(model, hw, seq, batch):
    a = mlsysim.ServingModel().solve(model, hw, seq, batch_size=batch, tensor_parallel=8)
    b = mlsysim.ServingModel().solve(model, hw, seq + 1, batch_size=batch, tensor_parallel=8)
    # one more token of context is one more token of KV cache to read: strictly slower
    assert b.itl > a.itl and b.kv_cache_size > a.kv_cache_size


@given(st.integers(min_value=1, max_value=20), st.integers(min_value=1, max_value=2000))
def test_cost_is_linear_in_days(nodes, days):
    fleet = mlsysim.Fleet("f", mlsysim.Node("n", "H100", 8), count=nodes)
    one = mlsysim.EconomicsModel().solve(fleet, duration_days=1)
    many = mlsysim.EconomicsModel().solve(fleet, duration_days=days)
    assert np.isclose(many.tco_usd, days * one.tco_usd, rtol=1e-12)
    assert np.isclose(many.total_energy_kwh, days * one.total_energy_kwh, rtol=1e-12)


@given(st.sampled_from([("A100", 400), ("H100", 700), ("B200", 1000), ("MI300X", 750)]),
       st.sampled_from(["ResNet50", "BERT_Base", "Llama3_8B", "Mixtral_8x7B"]), BATCH, st.floats(0.05, 1.0))
def test_energy_is_power_times_time(hw_tdp, model, batch, fraction):
    # one device at its catalogued TDP (A100 SXM 400 W, H100 SXM 700 W, B200 1,000 W, MI300X 750 W)
    # times the power fraction, for the pass's latency
    hw, tdp = hw_tdp
    r = mlsysim.Engine.solve(model, hw, batch_size=batch, calibration=DEFAULT.with_(serving_power_fraction=fraction))
    assert r.energy.to("J").magnitude == pytest.approx(tdp * fraction * r.latency.to("s").magnitude, rel=1e-12)


@given(MODELS, HARDWARE, st.lists(st.tuples(SEQ, BATCH, st.sampled_from([1, 2, 4, 8])), min_size=1, max_size=8))
def test_sweep_equals_scalar_calls(model, hw, points):
    seq, batch, tp = (np.array(v) for v in zip(*points))
    sweep = mlsysim.ServingModel().solve(model, hw, seq, batch_size=batch, tensor_parallel=tp)
    for i, (s, b, t) in enumerate(points):
        one = mlsysim.ServingModel().solve(model, hw, s, batch_size=b, tensor_parallel=t)
        assert np.isclose(sweep.itl.magnitude[i], one.itl.magnitude, rtol=1e-12)
        assert np.isclose(sweep.ttft.magnitude[i], one.ttft.magnitude, rtol=1e-12)
        assert bool(sweep.feasible[i]) == bool(one.feasible)


@given(MODELS, st.integers(min_value=1, max_value=32), st.integers(min_value=1, max_value=4000))
def test_reasoning_sweep_equals_scalar_calls(model, k, context):
    ks = np.array([1, k])
    sweep = mlsysim.InferenceScalingModel().solve(model, "H100", ks, context, tensor_parallel=8)
    one = mlsysim.InferenceScalingModel().solve(model, "H100", k, context, tensor_parallel=8)
    assert np.isclose(sweep.total_reasoning_time.magnitude[1], one.total_reasoning_time.magnitude, rtol=1e-12)


#: parameters (catalogue) and fp16 KV bytes per token, by hand: 2 (K, V) x layers x KV heads x 128 x 2 B
WEIGHTS_AND_KV = {
    "Llama2_7B": (6_738_415_616, 524_288),      # 2 x 32 x 32 x 128 x 2 (multi-head)
    "Llama3_8B": (8_030_261_248, 131_072),      # 2 x 32 x 8 x 128 x 2
    "Llama3_70B": (70_553_706_496, 327_680),    # 2 x 80 x 8 x 128 x 2
    "Mixtral_8x7B": (46_702_792_704, 131_072),  # 2 x 32 x 8 x 128 x 2 (holds every expert)
    "Llama2_70B": (68_976_648_192, 327_680),    # 2 x 80 x 8 x 128 x 2
}


@given(MODELS, HARDWARE, SEQ)
def test_memory_is_weights_plus_kv(model, hw, seq):
    r = mlsysim.ServingModel().solve(model, hw, seq, tensor_parallel=8)
    parameters, per_token = WEIGHTS_AND_KV[model]
    expected = parameters * 2 + per_token * seq
    assert np.isclose(r.total_memory_required.to("byte").magnitude, expected, rtol=1e-12)


@given(st.sampled_from(["ResNet50", "MobileNetV2", "BERT_Base", "Llama3_8B", "Mixtral_8x7B"]), HARDWARE,
       st.lists(BATCH, min_size=1, max_size=6))
def test_engine_sweep_equals_scalar_calls(model, hw, batches):
    sweep = mlsysim.Engine.solve(model, hw, batch_size=np.array(batches))
    for i, b in enumerate(batches):
        one = mlsysim.Engine.solve(model, hw, batch_size=b)
        assert np.isclose(sweep.latency.magnitude[i], one.latency.magnitude, rtol=1e-12)
        assert sweep.bottleneck[i] == one.bottleneck


@given(st.lists(st.integers(min_value=1, max_value=3650), min_size=1, max_size=6))
def test_economics_sweep_equals_scalar_calls(days):
    fleet = mlsysim.Fleet("f", mlsysim.Node("n", "H100", 8), count=3)
    sweep = mlsysim.EconomicsModel().solve(fleet, duration_days=np.array(days))
    for i, d in enumerate(days):
        assert np.isclose(sweep.tco_usd[i], mlsysim.EconomicsModel().solve(fleet, duration_days=d).tco_usd, rtol=1e-12)
