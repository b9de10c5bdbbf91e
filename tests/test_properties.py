"""Invariants of DESIGN.md, checked on many random inputs (hypothesis)."""
import numpy as np
from hypothesis import given, settings, strategies as st

import mlsysim
from mlsysim import Hardware, Models
from mlsysim.physics import energy

MODELS = st.sampled_from(["Llama2_7B", "Llama3_8B", "Llama3_70B", "Mixtral_8x7B", "Llama2_70B"])
HARDWARE = st.sampled_from(["A100", "H100", "H200", "B200", "MI300X"])
SEQ = st.integers(min_value=1, max_value=4096)
BATCH = st.integers(min_value=1, max_value=256)
settings.register_profile("ci", max_examples=60, deadline=None)
settings.load_profile("ci")


@given(MODELS, HARDWARE, SEQ, BATCH, st.floats(min_value=1.01, max_value=4.0))
def test_more_bandwidth_never_slows_decode(model, hw, seq, batch, factor):
    base = Hardware.get(hw)
    from dataclasses import replace
    faster = replace(base, memory_bandwidth=base.memory_bandwidth * factor)
    slow = mlsysim.ServingModel().solve(model, base, seq, batch_size=batch, tensor_parallel=8)
    fast = mlsysim.ServingModel().solve(model, faster, seq, batch_size=batch, tensor_parallel=8)
    assert fast.itl <= slow.itl
    assert fast.ttft <= slow.ttft


@given(MODELS, HARDWARE, SEQ, BATCH)
def test_longer_context_never_speeds_decode(model, hw, seq, batch):
    a = mlsysim.ServingModel().solve(model, hw, seq, batch_size=batch, tensor_parallel=8)
    b = mlsysim.ServingModel().solve(model, hw, seq + 1, batch_size=batch, tensor_parallel=8)
    assert b.itl >= a.itl and b.kv_cache_size > a.kv_cache_size


@given(st.integers(min_value=1, max_value=20), st.integers(min_value=1, max_value=2000))
def test_cost_is_linear_in_days(nodes, days):
    fleet = mlsysim.Fleet("f", mlsysim.Node("n", "H100", 8), count=nodes)
    one = mlsysim.EconomicsModel().solve(fleet, duration_days=1)
    many = mlsysim.EconomicsModel().solve(fleet, duration_days=days)
    assert np.isclose(many.tco_usd, days * one.tco_usd, rtol=1e-12)
    assert np.isclose(many.total_energy_kwh, days * one.total_energy_kwh, rtol=1e-12)


@given(st.floats(min_value=0, max_value=1e4), st.floats(min_value=0, max_value=1e6))
def test_energy_is_power_times_time(watts, seconds):
    assert energy.energy(watts, seconds) == watts * seconds


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


@given(MODELS, HARDWARE, SEQ)
def test_memory_is_weights_plus_kv(model, hw, seq):
    r = mlsysim.ServingModel().solve(model, hw, seq, tensor_parallel=8)
    m = Models.get(model)
    expected = m.si["parameters"] * 2 + m.kv_elements_per_token() * 2 * seq
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
