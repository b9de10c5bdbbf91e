"""The book's serving schedule and fleet sizing: hand-derived values, the simulation, properties."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mlsysim
from mlsysim.errors import InputError
from test_solvers import ROUND

SCHEDULE = mlsysim.ServingScheduleModel()
FLEET = mlsysim.ServingFleetModel()


def test_an_idle_replica_by_hand():
    # Llama-3-8B on one H100, ROUND factors (max roofline), 512-token prompts, no load:
    # an empty step reads the weights, 2 x 8,030,261,248 B / (3.35e12 x 0.8) = 5.9927 ms, plus
    # 32 layers x 10 kernels x 5 us = 1.6 ms: t_0 = 7.5927 ms
    # a prompt alone in a step: linear 2 x 8,030,261,248 x 512 / (989.4e12 x 0.5) = 16.6218 ms (> 5.99 ms);
    # attention 4 x 32 x 4,096 x 512 x 256.5 / 494.7e12 = 0.1392 ms (> its KV write 0.0401 ms);
    # + 1.6 ms = 18.3614 ms; ceil(512 / 2,048) = 1 such step
    # TTFT mean = 18.3614 + t_0 / 2 (half a step to reach a boundary) + 32 x 25 us = 22.9577 ms
    # TTFT p99 = 18.3614 + t_0 + 0.8 = 26.7541 ms (no queue at zero load)
    r = SCHEDULE.solve("Llama3_8B", "H100", 0.0, prompt_tokens=512, output_tokens=257, calibration=ROUND)
    assert r.tpot.to("ms").magnitude == pytest.approx(7.5927, rel=1e-4)
    assert r.ttft_mean.to("ms").magnitude == pytest.approx(22.9577, rel=1e-4)
    assert r.ttft_p99.to("ms").magnitude == pytest.approx(26.7541, rel=1e-4)
    assert r.decoding_sequences == 0 and r.feasible


def test_capacity_by_hand():
    # at capacity every step holds the whole budget K = 2,048 tokens, split as (n - 1) : c = 256 : 512:
    # N* = 682.67 decoding sequences (mean context 512 + 257/2 = 640.5), P* = 1,365.33 prompt tokens.
    # linear: 2 x 8,030,261,248 x 2,048 / 494.7e12 = 66.4887 ms (> 5.99 ms)
    # attention: (682.67 x 640.5 + 1,365.33 x 256.5) pairs x 4 x 32 x 4,096 / 494.7e12 = 0.8346 ms;
    #   KV (682.67 x 640.5 + 1,365.33) x 131,072 B / 1.675e12 = 34.3223 ms -> 34.3223 ms
    # + 1.6 ms: T_full = 102.4110 ms; capacity = (2,048 / 768) / 0.1024110 s = 26.0389 requests/s
    r = SCHEDULE.solve("Llama3_8B", "H100", 1.0, prompt_tokens=512, output_tokens=257, calibration=ROUND)
    assert r.capacity.to("1/s").magnitude == pytest.approx(26.0389, rel=1e-4)


def test_the_step_time_is_the_fixed_point_of_littles_law():
    r = SCHEDULE.solve("Llama3_70B", "H100", 8.0, prompt_tokens=1024, output_tokens=256, precision="fp8",
                       tensor_parallel=4)
    t = r.tpot.to("s").magnitude
    # N = lambda (n - 1) t and P = lambda c t
    assert r.decoding_sequences == pytest.approx(8.0 * 255 * t, rel=1e-9)
    assert r.prefill_tokens_per_step == pytest.approx(8.0 * 1024 * t, rel=1e-9)


@pytest.mark.parametrize("model, hardware, kwargs", [
    ("Llama3_70B", "H100", dict(prompt_tokens=1024, output_tokens=256, precision="fp8", tensor_parallel=4)),
    ("Llama3_8B", "H100", dict(prompt_tokens=128, output_tokens=512)),
])
@pytest.mark.parametrize("load", [0.2, 0.4, 0.6])
def test_formula_against_the_simulation(model, hardware, kwargs, load):
    """Stated tolerances (prompts that fit one step's budget, feasible loads up to 60% of capacity):
    mean TPOT within 5%, mean TTFT within 15%, p99 TTFT within 70% (the exponential tail is
    pessimistic for short deterministic prefills; it errs on the side of more replicas)."""
    cap = SCHEDULE.solve(model, hardware, 1.0, **kwargs).capacity.to("1/s").magnitude
    rate = load * cap
    f = SCHEDULE.solve(model, hardware, rate, **kwargs)
    assert f.feasible, f.reasons
    s = mlsysim.simulate_schedule(model, hardware, rate, requests=2500, seed=1, **kwargs)
    assert f.tpot.to("ms").magnitude == pytest.approx(s.tpot_mean.to("ms").magnitude, rel=0.05)
    assert f.ttft_mean.to("ms").magnitude == pytest.approx(s.ttft_mean.to("ms").magnitude, rel=0.15)
    assert f.ttft_p99.to("ms").magnitude == pytest.approx(s.ttft_p99.to("ms").magnitude, rel=0.70)


def test_the_simulation_is_seeded():
    a = mlsysim.simulate_schedule("Llama3_8B", "H100", 20.0, requests=500, seed=3)
    b = mlsysim.simulate_schedule("Llama3_8B", "H100", 20.0, requests=500, seed=3)
    assert np.array_equal(a.ttfts, b.ttfts) and a.tpot_p99 == b.tpot_p99


def test_max_rate_meets_every_target_and_names_the_one_that_binds():
    kwargs = dict(prompt_tokens=1024, output_tokens=256, precision="fp8", tensor_parallel=4,
                  ttft_slo=2.0, tpot_slo=0.05)
    best = SCHEDULE.max_rate("Llama3_70B", "H100", **kwargs)
    assert best.feasible and best.binding == "TPOT target"
    assert best.tpot.to("s").magnitude <= 0.05 and best.ttft_p99.to("s").magnitude <= 2.0
    rate = best.arrival_rate.to("1/s").magnitude
    above = SCHEDULE.solve("Llama3_70B", "H100", rate * 1.01, **kwargs)
    assert not above.feasible and any("TPOT" in r for r in above.reasons)
    # a strict TTFT target binds instead
    strict = SCHEDULE.max_rate("Llama3_70B", "H100", **{**kwargs, "ttft_slo": 0.3})
    assert strict.binding == "TTFT target" and strict.arrival_rate < best.arrival_rate


def test_no_rate_meets_an_impossible_target():
    r = SCHEDULE.max_rate("Llama3_70B", "H100", prompt_tokens=1024, output_tokens=256, precision="fp8",
                          tensor_parallel=4, tpot_slo=0.005)
    assert not r.feasible and "no arrival rate" in r.reasons[0] and "TPOT" in r.reasons[0]


def test_memory_binds_for_long_contexts_on_a_small_replica():
    r = SCHEDULE.max_rate("Llama3_8B", "L4", prompt_tokens=6000, output_tokens=2000)
    assert r.binding == "KV-cache memory"
    assert r.memory_utilization.to("").magnitude <= 1.0



def test_memory_bound_rate_sweeps_the_usable_fraction_alone():
    # Only the usable memory fraction is an array: the memory constraint varies, the others do not,
    # and the search must broadcast them. Llama-2-70B fp16 on two H100s (81,559 MiB = 85,520,809,984 B
    # each), weights 2 x 68,976,648,192 = 137,953,296,384 B; KV budget = f x 171,041,619,968 B - weights:
    #   f = 0.9: 153,937,457,971 - 137,953,296,384 = 15,984,161,587 B
    #   f = 1.0: 171,041,619,968 - 137,953,296,384 = 33,088,323,584 B
    # Under MLPerf's server targets memory binds, so the p99 KV cache at the largest rate fills each budget.
    kwargs = dict(prompt_tokens=1024, output_tokens=256, tensor_parallel=2, ttft_slo=2.0, tpot_slo=0.2)
    cal = mlsysim.calibration.DEFAULT.with_(usable_memory_fraction=np.array([0.9, 1.0]))
    r = SCHEDULE.max_rate("Llama2_70B", "H100", calibration=cal, **kwargs)
    assert list(r.binding) == ["KV-cache memory", "KV-cache memory"]
    assert r.kv_cache_p99.to("B").magnitude == pytest.approx([15_984_161_587, 33_088_323_584], rel=1e-4)
    for i, f in enumerate((0.9, 1.0)):
        one = SCHEDULE.max_rate("Llama2_70B", "H100", calibration=mlsysim.calibration.DEFAULT.with_(
            usable_memory_fraction=f), **kwargs)
        assert r.arrival_rate.magnitude[i] == pytest.approx(one.arrival_rate.magnitude, rel=1e-9)

@settings(max_examples=20, deadline=None)
@given(st.floats(min_value=0.02, max_value=0.2))
def test_a_tighter_tpot_target_never_allows_more_load(target):
    kwargs = dict(prompt_tokens=512, output_tokens=256)
    loose = SCHEDULE.max_rate("Llama3_8B", "H100", tpot_slo=target, **kwargs).arrival_rate
    tight = SCHEDULE.max_rate("Llama3_8B", "H100", tpot_slo=target * 0.8, **kwargs).arrival_rate
    assert tight <= loose


@settings(max_examples=20, deadline=None)
@given(st.floats(min_value=0.5, max_value=20.0))
def test_more_load_never_shortens_a_step(rate):
    a = SCHEDULE.solve("Llama3_8B", "H100", rate)
    b = SCHEDULE.solve("Llama3_8B", "H100", rate * 1.1)
    assert b.tpot >= a.tpot and b.ttft_mean >= a.ttft_mean


def test_max_rate_with_draws_of_one_factor_equals_scalar_calls():
    # Only usable_memory_fraction is an array: the memory check is then an array while the others
    # stay scalars, and max_rate must broadcast them (it raised before). Llama-3-70B in fp16 on two
    # H100s is memory-bound (141 GB of weights in 2 x 85.5 GB x f), so less usable memory serves less.
    fractions = np.array([0.88, 0.90])
    cal = mlsysim.calibration.DEFAULT.with_(usable_memory_fraction=fractions)
    kwargs = dict(prompt_tokens=1024, output_tokens=256, tensor_parallel=2, ttft_slo=2.0, tpot_slo=0.2)
    both = SCHEDULE.max_rate("Llama3_70B", "H100", calibration=cal, **kwargs).arrival_rate.magnitude
    for i, f in enumerate(fractions):
        one = SCHEDULE.max_rate("Llama3_70B", "H100", **kwargs,
                                calibration=mlsysim.calibration.DEFAULT.with_(usable_memory_fraction=float(f)))
        assert both[i] == pytest.approx(one.arrival_rate.magnitude, rel=1e-6)
        assert one.binding == "KV-cache memory"
    assert both[0] < both[1]


def test_sweep_equals_scalar_calls():
    rates = np.array([1.0, 5.0, 12.0])
    sweep = SCHEDULE.solve("Llama3_8B", "H100", rates, prompt_tokens=256)
    for i, x in enumerate(rates):
        one = SCHEDULE.solve("Llama3_8B", "H100", float(x), prompt_tokens=256)
        assert sweep.tpot.magnitude[i] == pytest.approx(one.tpot.magnitude, rel=1e-9)
        assert sweep.ttft_p99.magnitude[i] == pytest.approx(one.ttft_p99.magnitude, rel=1e-9)


def test_fleet_by_hand():
    kwargs = dict(prompt_tokens=1024, output_tokens=256, precision="fp8", tensor_parallel=4,
                  ttft_slo=2.0, tpot_slo=0.05)
    best = SCHEDULE.max_rate("Llama3_70B", "H100", **kwargs).arrival_rate.to("1/s").magnitude
    plan = FLEET.solve("Llama3_70B", "H100", 100, **kwargs)
    # replicas = ceil(100 / best); each holds 4 GPUs; nodes of 8 -> ceil(replicas x 4 / 8)
    assert plan.replicas == math.ceil(100 / best)
    assert plan.nodes == math.ceil(plan.replicas * 4 / 8) and plan.fleet.count == plan.nodes
    assert plan.rate_per_replica.to("1/s").magnitude == pytest.approx(100 / plan.replicas)
    assert plan.binding == "TPOT target" and plan.feasible
    # facility power: accelerators x (700 W x 0.573 + 575 W node share) x PUE 1.58
    accelerators = plan.nodes * 8
    expected = accelerators * (700 * 0.573 + 575) * 1.58
    assert plan.facility_power.to("W").magnitude == pytest.approx(expected, rel=1e-9)
    assert plan.energy_per_request.to("J").magnitude == pytest.approx(expected / 100, rel=1e-9)


@pytest.mark.parametrize("kwargs, parameter", [
    (dict(arrival_rate=-1.0), "arrival_rate"),
    (dict(arrival_rate=1.0, tpot_slo="fast"), "tpot_slo"),
    (dict(arrival_rate=1.0, token_budget=0), "token_budget"),
    (dict(arrival_rate=1.0, output_tokens=1), "output_tokens"),
    (dict(arrival_rate=1.0, prompt_tokens=9000), "prompt_tokens"),
    (dict(arrival_rate=1.0, tensor_parallel=3), "tensor_parallel"),
])
def test_schedule_rejects_bad_input(kwargs, parameter):
    with pytest.raises(InputError) as info:
        SCHEDULE.solve("Llama3_8B", "H100", **kwargs)
    assert info.value.parameter == parameter


def test_fleet_rejects_array_load():
    with pytest.raises(InputError) as info:
        FLEET.solve("Llama3_8B", "H100", np.array([1.0, 2.0]))
    assert info.value.parameter == "load"


def test_prefill_pool_by_hand():
    from mlsysim.solvers.schedule import _PrefillPool
    from mlsysim.solvers.serving import ReplicaPhysics

    r = ReplicaPhysics("Llama3_405B", "H100", "fp8", 8)
    # KV per token: 126 layers x 8 KV heads x 128 x 2 (K and V) x 1 B = 258,048 B; a 1,024-token prompt
    # carries 264,241,152 B over 8 GPUs' 400 Gb/s ports (8 x 50e9 B/s): 0.66060 ms
    transfer = 1024 * 258_048 / (8 * 50e9)
    assert r.kv_per_token == 258_048 and transfer == pytest.approx(0.66060e-3, rel=1e-4)
    pool = _PrefillPool(r, 1024, 2048, 2.0, transfer)
    # a budget of 2,048 tokens holds floor(2,048 / 1,024) = 2 prompts per pass
    assert pool.b == 2 and pool.pass_time == pytest.approx(r.prefill(1024, 2)[0])
    assert pool.capacity() == pytest.approx(2 / pool.pass_time)
    values, ok = pool.evaluate(0.0)
    # no queue at zero load: TTFT = one pass + the transfer
    assert values["ttft_p99"] == pytest.approx(pool.pass_time + transfer)


def test_separate_prefill_fleet_adds_the_two_pools():
    kwargs = dict(prompt_tokens=1024, output_tokens=800, precision="fp8", tensor_parallel=8,
                  ttft_slo=2.0, tpot_slo=0.06)
    plan = FLEET.solve("Llama3_405B", "H100", 1000, prefill="separate", **kwargs)
    decode_rate = plan.max_rate_per_replica.to("1/s").magnitude
    decode_replicas = math.ceil(1000 / decode_rate)
    assert plan.replicas == decode_replicas + plan.prefill_replicas and plan.prefill_replicas > 0
    assert plan.nodes == math.ceil(plan.replicas * 8 / 8)
    assert plan.binding.startswith("prefill: ") and "; decode: " in plan.binding
    # decode replicas carry no prompt chunks: their step is a plain decode step at the mean context
    op = plan.operating_point
    assert op.prefill_tokens_per_step == 0
    assert plan.ttft_p99.to("s").magnitude <= 2.0 and plan.tpot.to("s").magnitude <= 0.06


def test_prefill_mode_is_checked():
    with pytest.raises(InputError) as info:
        FLEET.solve("Llama3_8B", "H100", 10, prefill="split")
    assert info.value.parameter == "prefill"


def test_weights_that_do_not_fit_are_named_as_such():
    # Llama-3-70B in fp16 on one H100: 141 GB of weights against 77.0 GB usable
    r = SCHEDULE.solve("Llama3_70B", "H100", 1.0)
    assert not r.feasible and any("the weights need 141.1 GB, more than the 77.0 GB usable" in x for x in r.reasons)
