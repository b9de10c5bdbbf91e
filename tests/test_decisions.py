"""Decisions: elasticities, the inverse question, hypothetical devices, uncertainty of a training
solve, design-space searches, Pareto fronts and the wafer-scale modes.

Expected values are derived by hand in the comments, or come from a brute-force loop over the
solvers the vectorized code replaces.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlsysim
from mlsysim import sensitivity
from mlsysim.calibration import DEFAULT
from mlsysim.errors import InputError
from mlsysim.hardware import derive
from mlsysim.physics.roofline import overlapped_time
from mlsysim.physics.wafer import streamed_layer_time
from mlsysim.search import pareto_front

#: no fixed costs and the textbook max roofline: times are pure power laws of each resource
BARE = DEFAULT.with_(kernel_overhead=0.0, allreduce_latency=0.0, prefill_overhead_per_layer=0.0,
                     roofline_exponent=math.inf)


# ------------------------------------------------------------------------------------ elasticities
def test_elasticity_of_a_power_law_is_its_exponent():
    # y = 3 x^-1.7 z^0.5: d ln y / d ln x = -1.7 and d ln y / d ln z = 0.5 at any point and any step
    e = sensitivity.elasticities(lambda x, z: 3 * x ** -1.7 * z ** 0.5, {"x": 2.0, "z": 7.0}, rel_step=0.05)
    assert e["x"] == pytest.approx(-1.7, rel=1e-12)
    assert e["z"] == pytest.approx(0.5, rel=1e-12)
    assert [r.name for r in e.rows] == ["x", "z"]                       # largest in size first


@given(st.floats(-3, 3), st.floats(0.1, 100), st.sampled_from([0.001, 0.01, 0.1]))
@settings(max_examples=40, deadline=None)
def test_elasticity_of_any_power_law(k, x, h):
    e = sensitivity.elasticities(lambda x: 5.0 * x ** k, {"x": x}, rel_step=h)
    assert e["x"] == pytest.approx(k, abs=1e-8)


def test_rounded_roofline_splits_the_elasticity_by_share():
    # t = (a^p + b^p)^(1/p): d ln t / d ln a = a^p / (a^p + b^p). p = 1.5, a = b: 0.5 each;
    # a = 4, b = 1: 8 / (8 + 1) = 0.8889 and 1/9 = 0.1111
    e = sensitivity.elasticities(lambda a, b: overlapped_time(a, b, 1.5), {"a": 1.0, "b": 1.0}, rel_step=1e-4)
    assert e["a"] == pytest.approx(0.5, rel=1e-6) and e["b"] == pytest.approx(0.5, rel=1e-6)
    e = sensitivity.elasticities(lambda a, b: overlapped_time(a, b, 1.5), {"a": 4.0, "b": 1.0}, rel_step=1e-4)
    assert e["a"] == pytest.approx(8 / 9, rel=1e-6) and e["b"] == pytest.approx(1 / 9, rel=1e-6)


def test_memory_bound_decode_has_elasticity_minus_one_to_bandwidth():
    # Llama-3-8B, one sequence, 1,024 tokens of context, one H100, no fixed costs, max roofline:
    # ITL = W / (B eta_m) + KV / (B eta_kv), both memory-bound, so ITL ~ B^-1 and ~ P^0 exactly.
    def solve(hardware, calibration):
        return mlsysim.ServingModel().solve("Llama3_8B", hardware, 1024, calibration=calibration)

    e = sensitivity.elasticities(solve, {"hardware": mlsysim.Hardware.H100, "calibration": BARE}, "itl")
    assert e["hardware.memory_bandwidth"] == pytest.approx(-1.0, abs=1e-9)
    assert e["hardware.peak_flops"] == pytest.approx(0.0, abs=1e-9)
    assert e["hardware.memory"] == pytest.approx(0.0, abs=1e-12)
    # the weights' share of the bytes (weighted by 1/eta): W = 16.06 GB / 0.83, KV = 1,024 x 131,072 B / 0.87
    w, kv = 8_030_261_248 * 2 / 0.83, 1024 * 131_072 / 0.87
    assert e["calibration.memory_efficiency"] == pytest.approx(-w / (w + kv), rel=1e-4)
    assert e["calibration.attention_efficiency"] == pytest.approx(-kv / (w + kv), rel=1e-3)


def test_fraction_at_one_uses_a_one_sided_difference():
    # training_power_fraction = 1 cannot go up; energy is linear in it: e = 1 from below
    fleet = mlsysim.Fleet.from_system("DGX_H100", 1)

    def energy(calibration):
        return mlsysim.CarbonModel().solve(fleet, 86400.0, region="france", embodied=False,
                                           calibration=calibration).it_energy_kwh

    e = sensitivity.elasticities(energy, {"calibration": DEFAULT}, select="calibration.training_power_fraction")
    # IT power = 8 x (700 W f + host), host = (10.2 kW - 8 x 700 W) / 8 = 575 W (DGX H100). The one-sided
    # secant from f = 0.99 to 1: ln(1,275 / 1,268) / ln(1 / 0.99) = 0.0055051 / 0.0100503 = 0.54777
    # (the derivative at 1 is 700 / 1,275 = 0.549)
    host = fleet.node.power_overhead.to("W").m / 8
    assert host == pytest.approx(575.0)
    assert e["calibration.training_power_fraction"] == pytest.approx(
        math.log((700 + host) / (693 + host)) / math.log(1 / 0.99), rel=1e-9)


def test_required_inverts_a_power_law():
    # y = 2 / x^2 at x = 1 is 2; y = 0.5 needs x^2 = 4, a factor of 2
    r = sensitivity.required(lambda x: 2.0 / x ** 2, {"x": 1.0}, "x", None, 0.5)
    assert r.factor == pytest.approx(2.0, rel=1e-9) and r.value == pytest.approx(2.0, rel=1e-9)


def test_required_bandwidth_for_an_itl_target():
    # with BARE, ITL ~ 1 / B: halving the ITL needs exactly twice the bandwidth
    def solve(hardware):
        return mlsysim.ServingModel().solve("Llama3_8B", hardware, 1024, calibration=BARE)

    base = solve(mlsysim.Hardware.H100).itl.to("s").m
    r = sensitivity.required(solve, {"hardware": mlsysim.Hardware.H100}, "hardware.memory_bandwidth",
                             lambda res: res.itl.to("s").m, base / 2)
    assert r.factor == pytest.approx(2.0, rel=1e-9)
    assert r.value.to("TB/s").m == pytest.approx(6.7, rel=1e-9)


def test_required_says_when_an_input_cannot_reach_the_target():
    def solve(hardware):
        return mlsysim.ServingModel().solve("Llama3_8B", hardware, 1024, calibration=BARE)

    with pytest.raises(InputError) as info:   # more FLOP/s never speeds a memory-bound step
        sensitivity.required(solve, {"hardware": mlsysim.Hardware.H100}, "hardware.peak_flops",
                             lambda res: res.itl.to("s").m, 1e-4)
    assert info.value.parameter == "target"


@pytest.mark.parametrize("kwargs, parameter", [
    (dict(solve=3, inputs={"x": 1.0}), "solve"),
    (dict(solve=lambda x: x, inputs={}), "inputs"),
    (dict(solve=lambda x: x, inputs={"x": 1.0}, rel_step=0.9), "rel_step"),
    (dict(solve=lambda x: abs(x) + 1, inputs={"x": -1.0}), "x"),
    (dict(solve=lambda x: x, inputs={"x": 1.0}, select=["y"]), "select"),
    (dict(solve=lambda x: -x, inputs={"x": 1.0}), "output"),
    (dict(solve=lambda x: np.ones(3) * x, inputs={"x": 1.0}), "output"),
])
def test_elasticities_reject_bad_input(kwargs, parameter):
    with pytest.raises(InputError) as info:
        sensitivity.elasticities(**kwargs)
    assert info.value.parameter == parameter


def test_integer_argument_is_named():
    def solve(batch_size):
        return mlsysim.ServingModel().solve("Llama3_8B", "H100", 1024, batch_size=batch_size)

    with pytest.raises(InputError) as info:
        sensitivity.elasticities(solve, {"batch_size": 8}, "itl")
    assert info.value.parameter == "batch_size"


# ------------------------------------------------------------------------------------ derive
def test_derived_device_is_labelled_and_scaled():
    fast = derive("H100", memory_bandwidth=2)
    assert fast.key == "H100 (hypothetical: memory_bandwidth x2)" and fast.name.startswith("hypothetical")
    assert fast.si["bandwidth"] == pytest.approx(6.7e12)          # 2 x 3.35 TB/s
    assert fast.is_hypothetical and fast.source_of("memory_bandwidth").is_estimate
    assert "hypothetical" in repr(fast)
    r = mlsysim.ServingModel().solve("Llama3_8B", fast, 1024, calibration=BARE)
    assert "hypothetical" in repr(r)                                # every printout says so
    base = mlsysim.ServingModel().solve("Llama3_8B", "H100", 1024, calibration=BARE)
    assert r.itl.to("s").m == pytest.approx(base.itl.to("s").m / 2, rel=1e-12)   # memory-bound: half


def test_derive_absolute_values_stack_and_peaks():
    big = derive(derive("H100", memory="141 GiB"), peak_flops={"fp8": 2})
    assert big.si["memory"] == pytest.approx(141 * 2 ** 30)
    assert big.si["peak_flops"]["fp8"] == pytest.approx(2 * 1978.9e12, rel=1e-3)    # 2 x 1,978.9 TFLOP/s
    assert big.si["peak_flops"]["fp16"] == mlsysim.Hardware.H100.si["peak_flops"]["fp16"]
    assert big.key == "H100 (hypothetical: memory = 141 GiB, peak_flops.fp8 x2)"
    everything = derive("H100", peak_flops=0.5)
    assert all(everything.si["peak_flops"][p] == pytest.approx(0.5 * v)
               for p, v in mlsysim.Hardware.H100.si["peak_flops"].items())


@pytest.mark.parametrize("changes, parameter", [
    ({"bandwidth": 2}, "bandwidth"), ({"memory": -1}, "memory"), ({"memory": "3 W"}, "memory"),
    ({"memory": True}, "memory"), ({}, "changes"), ({"external_bandwidth": 2}, "external_bandwidth"),
])
def test_derive_rejects_bad_changes(changes, parameter):
    with pytest.raises(InputError) as info:
        derive("H100", **changes)
    assert info.value.parameter == parameter


# ------------------------------------------------------------------------------------ uncertainty
def test_training_factors_have_spreads_and_a_training_solve_takes_draws():
    for name in ("training_gemm_efficiency", "training_elementwise_traffic", "network_efficiency",
                 "training_power_fraction"):
        assert name in sensitivity.SPREADS and name in sensitivity.TIMED
    fleet = mlsysim.Fleet.from_system("DGX_H100", 16)
    cal = sensitivity.draw(4, seed=5)
    kwargs = dict(tensor_parallel=8, pipeline_parallel=2, micro_batch_size=1)
    swept = mlsysim.TrainingModel().solve("Llama3_70B", fleet, 4096, 256, calibration=cal, **kwargs)
    for i in range(4):
        one = DEFAULT.with_(**{n: float(getattr(cal, n)[i]) for n in sensitivity.SPREADS})
        scalar = mlsysim.TrainingModel().solve("Llama3_70B", fleet, 4096, 256, calibration=one, **kwargs)
        assert swept.step_time.to("s").m[i] == pytest.approx(scalar.step_time.to("s").m, rel=1e-12)
    iv = sensitivity.uncertainty(lambda c: mlsysim.TrainingRun().solve(
        "Llama3_70B", fleet, 4096, 256, tokens=1e11, write_bandwidth=1e11, calibration=c, **kwargs), "cost_usd", n=300)
    assert iv.low < iv.median < iv.high and iv.samples.shape == (300,)


# ------------------------------------------------------------------------------------ schedule speed-ups
@pytest.mark.parametrize("model, hardware, tp, precision, slos", [
    ("Llama3_70B", "H100", 4, "fp8", (2.0, 0.05)), ("Llama3_8B", "H100", 1, "fp16", (None, None)),
    ("Llama3_70B", "B200", 2, "fp16", (0.5, 0.03)), ("Llama2_7B", "L4", 1, "fp16", (2.0, 0.05)),
])
def test_max_rate_by_requests_per_step_equals_the_rate_bisection(model, hardware, tp, precision, slos):
    from mlsysim.solvers import schedule as S

    for K, (c, n) in itertools.product((256, 2048), ((512, 256), (128, 1024))):
        sched = S._Schedule(model, hardware, c, n, precision, tp, None, K, 256, slos[0], slos[1], None)
        rate_x, binding_x = sched.max_rate()
        rate_l, binding_l = S._Pool.max_rate(sched)         # the generic bisection over the rate
        assert rate_x == pytest.approx(rate_l, rel=1e-6, abs=1e-9)
        assert str(binding_x) == str(binding_l)
        if rate_x > 0:
            lam, t = sched.at_load(sched.x_max() * 0.5)     # a point on the curve is a fixed point
            assert sched.step_time(lam) == pytest.approx(t, rel=1e-11)


# ------------------------------------------------------------------------------------ Pareto
def _brute_front(p):
    keep = []
    for i in range(len(p)):
        if not np.all(np.isfinite(p[i])):
            continue
        dominated = any(np.all(p[j] <= p[i]) and np.any(p[j] < p[i]) for j in range(len(p)) if j != i
                        and np.all(np.isfinite(p[j])))
        duplicate_before = any(np.all(p[j] == p[i]) for j in range(i))
        if not dominated and not duplicate_before:
            keep.append(i)
    return np.array(keep, dtype=int)


@given(st.integers(1, 60), st.integers(2, 4), st.integers(0, 10_000))
@settings(max_examples=60, deadline=None)
def test_pareto_front_equals_brute_force(n, k, seed):
    rng = np.random.default_rng(seed)
    p = rng.integers(0, 6, size=(n, k)).astype(float)        # small integers: many ties and duplicates
    if n > 3:
        p[rng.integers(0, n)] = np.inf
    front = pareto_front(p, chunk=7)
    np.testing.assert_array_equal(front, _brute_front(p))
    for i in front:                                            # no front point is dominated
        assert not any(np.all(p[j] <= p[i]) and np.any(p[j] < p[i]) for j in range(n))


def test_pareto_front_by_hand():
    # (cost, latency): (1, 5) (2, 3) (3, 3) (4, 1) (5, 2): (3, 3) is dominated by (2, 3), (5, 2) by (4, 1)
    p = np.array([[3, 3], [1, 5], [5, 2], [2, 3], [4, 1]], dtype=float)
    np.testing.assert_array_equal(pareto_front(p), [1, 3, 4])


# ------------------------------------------------------------------------------------ serving search
def test_serving_search_best_equals_a_brute_force_loop():
    hardware, tps, budgets, load = ["H100", "A100"], [2, 4, 8], [512, 2048], 300.0
    kwargs = dict(prompt_tokens=1024, output_tokens=256, ttft_slo=2.0, tpot_slo=0.05)
    result = mlsysim.ServingDesignSpace().search("Llama3_70B", hardware, precision="fp16", tensor_parallel=tps,
                                                 load=load, token_budget=budgets, **kwargs)
    assert len(result) == 2 * 3 * 2
    best, best_cost = None, math.inf
    for hw, tp, K in itertools.product(hardware, tps, budgets):
        plan = mlsysim.ServingFleetModel().solve("Llama3_70B", hw, load, tensor_parallel=tp, token_budget=K,
                                                 **kwargs)
        cost = mlsysim.EconomicsModel().solve(plan).tco_usd
        i = result.best_index(where={"hardware": hw, "tensor_parallel": tp, "token_budget": K}) \
            if plan.feasible else None
        if plan.feasible:
            assert result["accelerators"][i] == plan.accelerators
            assert result["annual_cost_usd"][i] == pytest.approx(cost, rel=1e-12)
            assert result["tpot"][i] == pytest.approx(plan.tpot.to("s").m, rel=1e-9)
            # cost per million output tokens = annual cost / (300 req/s x 256 tokens x 365 days)
            assert result["cost_per_million_tokens"][i] == pytest.approx(cost / (300 * 256 * 365 * 86400) * 1e6)
            if cost < best_cost - 1e-6:
                best, best_cost = (hw, tp, K), cost
    top = result.best()
    assert top["annual_cost_usd"] == pytest.approx(best_cost, rel=1e-12)
    assert (top["hardware"], int(top["tensor_parallel"])) == best[:2]


def test_serving_search_pareto_has_no_dominated_design():
    result = mlsysim.ServingDesignSpace().search("Llama3_8B", ["H100", "L4"], precision=["fp16", "fp8"],
                                                 load=[20.0], ttft_slo=1.0, tpot_slo=0.05, max_sequences=[64, 256])
    front = result.pareto()
    cost, latency = result["cost_per_million_tokens"], result["request_latency_p99"]
    feasible = np.flatnonzero(result.feasible)
    for i in front:
        assert result.feasible[i]
        assert not any(cost[j] <= cost[i] and latency[j] <= latency[i] and (cost[j] < cost[i] or latency[j] < latency[i])
                       for j in feasible)
    assert result.best_index() in front


def test_serving_search_rejects_bad_input():
    space = mlsysim.ServingDesignSpace()
    with pytest.raises(InputError) as info:
        space.search("Llama3_8B", "H100", tensor_parallel=[0])
    assert info.value.parameter == "tensor_parallel"
    with pytest.raises(InputError) as info:
        space.search("Llama3_8B", "WSE3")
    assert info.value.parameter == "hardware"
    with pytest.raises(InputError) as info:
        space.search("Llama3_8B", "H100", prompt_tokens=8000, output_tokens=1000)
    assert info.value.parameter == "prompt_tokens"


# ------------------------------------------------------------------------------------ training search
def test_training_search_best_equals_a_brute_force_loop():
    from mlsysim.solvers.training.search import valid_configurations

    fleets = [mlsysim.Fleet.from_system("DGX_H100", n, name=f"{n} nodes") for n in (4, 8)]
    grids = dict(tp=(2, 4, 8), pp=(1, 2, 4), micro_batch=(1, 2), zero=(1, 3), recompute=("selective", "full"))
    common = dict(tokens=2e11, write_bandwidth=1e11)
    result = mlsysim.TrainingDesignSpace().search("Llama3_8B", fleets, 4096, 256, region="france", **grids, **common)
    best, best_days, count = None, math.inf, 0
    for fleet in fleets:
        layouts = valid_configurations("Llama3_8B", fleet, 256, tensor=grids["tp"], pipeline=grids["pp"],
                                       micro=grids["micro_batch"], virtual=(1,))
        for i, z, rc in itertools.product(range(len(layouts["tensor_parallel"])), grids["zero"], grids["recompute"]):
            layout = {k: int(v[i]) for k, v in layouts.items()}
            run = mlsysim.TrainingRun().solve("Llama3_8B", fleet, 4096, 256, region="france", zero_stage=z,
                                              recompute=rc, **layout, **common)
            count += 1
            days = run.wall_clock_time.to("day").m
            if run.feasible and days < best_days:
                best, best_days = (fleet.name, layout["tensor_parallel"], layout["pipeline_parallel"]), days
    assert len(result) == count
    top = result.best()
    assert top["days"] == pytest.approx(best_days, rel=1e-12)
    assert (top["fleet"], int(top["tensor_parallel"]), int(top["pipeline_parallel"])) == best
    front = result.pareto()
    assert len(front) >= 1 and all(result.feasible[i] for i in front)


# ------------------------------------------------------------------------------------ wafer scale
def test_streamed_layer_time_by_hand():
    # 2 GB of weights over 150 GB/s = 13.333 ms; 100 TFLOP at 125 PFLOP/s x 0.8 = 1 ms: the weights bind
    assert streamed_layer_time(2e9, 100e12, 150e9, 125e15, 0.8) == pytest.approx(2e9 / 150e9)
    # 10 PFLOP of math: 10e15 / 1e17 = 0.1 s > 13.3 ms: the math binds
    assert streamed_layer_time(2e9, 10e15, 150e9, 125e15, 0.8) == pytest.approx(0.1)


def test_wse3_catalogue_entry_states_bits_as_bytes():
    h = mlsysim.Hardware.WSE3
    assert h.memory_kind == "sram"
    assert h.si["memory"] == pytest.approx(44e9) and h.si["bandwidth"] == pytest.approx(21e15)
    assert h.si["external_bandwidth"] == pytest.approx(1.2e12 / 8)        # 1.2 Tb/s is 150 GB/s
    assert h.source_of("peak_flops.fp16").is_estimate and h.source_of("unit_price").is_estimate


def test_streamed_decode_by_hand():
    # Llama-3-8B, fp16, batch 1, 2,048 tokens of context, one WSE-3, no fixed costs:
    # weights 8,030,261,248 x 2 = 16,060,522,496 B; per layer / 32 = 501,891,328 B over 150 GB/s = 3.34594 ms;
    # its math 2 x 8.03e9 / 32 = 5.0e8 FLOP at 125 PFLOP/s x 0.77 = 5.2 ns: the weights bind. 32 layers: 107.070 ms.
    # Attention over 2,048 x 131,072 B of KV cache at 21 PB/s x 0.87 adds 14.7 us (0.014%).
    r = mlsysim.WaferScaleModel().solve("Llama3_8B", "WSE3", 2048, 1, mode="streamed", calibration=BARE)
    assert r.itl.to("ms").m == pytest.approx(107.070, rel=2e-4)
    assert r.decode_bottleneck == "weight streaming (I/O)"
    assert r.feasible                                      # KV 0.27 GB + two layers 1.0 GB << 39.6 GB


def test_resident_mode_across_systems_by_hand():
    # Llama-3-70B fp16: 70,553,706,496 x 2 = 141.1 GB of weights; usable SRAM 0.9 x 44 GB = 39.6 GB per system
    W = mlsysim.WaferScaleModel()
    one = W.solve("Llama3_70B", "WSE3", 2048, 1, systems=1)
    four = W.solve("Llama3_70B", "WSE3", 2048, 1, systems=4)
    assert not one.feasible and "4 or more systems" in one.reasons[0] and "streamed" in one.reasons[0]
    assert four.feasible
    # each of 4 systems holds 20 of 80 layers: (141.107 GB + KV 0.671 GB) / 4 = 35.44 GB
    assert four.sram_required.to("GB").m == pytest.approx((141.107413 + 0.671088640) / 4, rel=1e-5)
    # three hops of one token's activations: 3 x (36 us + 8,192 x 2 B / (150 GB/s x 0.39)) = 108.84 us
    hop = 36e-6 + 8192 * 2 / (150e9 * 0.39)
    assert four.itl.to("s").m - one.itl.to("s").m == pytest.approx(3 * hop, rel=1e-9)
    # four batches in flight, one per wafer
    assert four.throughput.to("token/s").m == pytest.approx(4 / four.itl.to("s").m)


def test_serving_model_names_the_wafer_modes():
    r = mlsysim.ServingModel().solve("Llama3_70B", "WSE3", 2048)
    assert not r.feasible and "mode='resident', systems=4" in r.reasons[0] and "mode='streamed'" in r.reasons[0]


@pytest.mark.parametrize("kwargs, parameter", [
    (dict(hardware="H100"), "hardware"), (dict(mode="paged"), "mode"), (dict(systems=0), "systems"),
    (dict(systems=200), "systems"),
])
def test_wafer_model_rejects_bad_input(kwargs, parameter):
    with pytest.raises(InputError) as info:
        mlsysim.WaferScaleModel().solve("Llama3_8B", **{"hardware": "WSE3", **kwargs})
    assert info.value.parameter == parameter


def test_interleaving_rule_applies_only_to_interleaved_rows_of_a_sweep():
    # 128 GPUs, TP 8, PP 4, DP 4, a batch of 40 sequences: 40 / (1 x 4) = 10 micro-batches, not a multiple
    # of 4 stages. Interleaving (v = 2) needs one; the plain schedule (v = 1) does not.
    fleet = mlsysim.Fleet.from_system("DGX_H100", 16)
    swept = mlsysim.TrainingModel().solve("Llama3_70B", fleet, 4096, 40, tensor_parallel=8, pipeline_parallel=4,
                                          virtual_stages=np.array([1.0, 2.0]))
    np.testing.assert_array_equal(swept.feasible, [True, False])
    assert "at 1 of 2 points" in swept.reasons[0] and "(10)" in swept.reasons[0]


def test_interval_of_precomputed_draws_by_hand():
    from mlsysim.sensitivity import Interval

    # draws 1..11: numpy's linear quantiles sit at positions (11 - 1) * q = 1, 5, 9 for
    # q = 0.1, 0.5, 0.9 (an 80% interval), i.e. the values 2, 6 and 10
    iv = Interval.of(np.arange(1.0, 12.0), 0.8)
    assert (iv.low, iv.median, iv.high) == pytest.approx((2.0, 6.0, 10.0), rel=1e-12)
    assert iv.text(lambda x: f"{x:.0f}") == "2–10"
    assert iv.text(lambda x: f"{x:.0f}", separator=" to ") == "2 to 10"
    with pytest.raises(InputError, match="level"):
        Interval.of(np.arange(5.0), 80)
    with pytest.raises(InputError, match="samples"):
        Interval.of([1.0], 0.8)


def test_pareto_front_drops_a_duplicate_of_an_earlier_chunks_front_row():
    # sorted by the first column the rows are (0,5,5) (1,1,1) | (1,1,1) (2,0,2) with chunk=2:
    # chunk 1 keeps (0,5,5) and the first (1,1,1); the twin in chunk 2 is not dominated (only
    # equal), so it must be dropped as a duplicate; (2,0,2) is on the front (best 2nd column)
    p = np.array([[1, 1, 1], [0, 5, 5], [2, 0, 2], [1, 1, 1]], dtype=float)
    np.testing.assert_array_equal(pareto_front(p, chunk=2), [0, 1, 2])
