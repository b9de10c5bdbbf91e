"""Fixed-batch quantiles and the batching optimizer against values derived by hand, and what a
reader sees (defaults, plans, messages)."""
import math
import re

import numpy as np
import pytest

import mlsysim
from mlsysim.core.units import Q_
from mlsysim.errors import InputError
from mlsysim.solvers.batching import BatchingModel, BatchingOptimizer, fixed_batch_quantiles

OPT = BatchingOptimizer()


def test_quantiles_of_batch_formation_alone():
    # b = 2, lambda = 1/s, no wait: P(F <= t) = 1 - 0.5 e^-t. p50: already 0.5 at t = 0, so 0;
    # p90: e^-t = 0.2, t = ln 5 = 1.609438; p99: e^-t = 0.02, t = ln 50 = 3.912023
    p50, p90, p99 = fixed_batch_quantiles((0.50, 0.90, 0.99), 1.0, 2, 0.0, 0.0)
    assert p50 == 0.0
    assert p90 == pytest.approx(1.609438, rel=1e-5)
    assert p99 == pytest.approx(3.912023, rel=1e-5)
    # lambda scales time: at 4/s every quantile is a quarter
    assert fixed_batch_quantiles((0.99,), 4.0, 2, 0.0, 0.0)[0] == pytest.approx(3.912023 / 4, rel=1e-5)


def test_quantile_beyond_the_grid_is_its_end():
    # the grid ends at (b - 1 + 10 sqrt(b) + 10) / lambda: b = 2, lambda = 1: 11 + 14.142136 = 25.142136
    assert fixed_batch_quantiles((1.0,), 1.0, 2, 0.0, 0.0)[0] == pytest.approx(25.142136, rel=1e-7)
    # with a wait, plus c ln(rho / 1e-6) with c = E[W] / rho: b = 1, lambda = 10, E[W] = 0.1, rho = 0.5:
    # 20 / 10 + 0.2 x ln(500,000) = 2 + 0.2 x 13.122363 = 4.624473
    assert fixed_batch_quantiles((1.0,), 10.0, 1, 0.1, 0.5)[0] == pytest.approx(4.624473, rel=1e-6)


def test_quantiles_with_a_wait():
    # b = 1 (no formation), W = 0 with probability 1 - rho = 0.5, else exponential of mean
    # E[W] / rho = 0.1 / 0.5 = 0.2 s: P(W <= t) = 0.5 + 0.5 (1 - e^(-t/0.2)).
    # p50 = 0; p99: e^(-t/0.2) = 0.02, t = 0.2 ln 50 = 0.782405 (the grid step, 1.2 ms, sets the tolerance)
    p50, p99 = fixed_batch_quantiles((0.50, 0.99), 10.0, 1, 0.1, 0.5)
    assert p50 == 0.0
    assert p99 == pytest.approx(0.782405, rel=3e-3)
    # p90 with rho = 0.25 (c = 0.4): 0.75 + 0.25 (1 - e^(-t/0.4)) = 0.9, e^(-t/0.4) = 0.4, t = 0.4 ln 2.5 = 0.366516
    # (the grid step here is 6.97 s / 3,999 = 1.7 ms: the tolerance)
    assert fixed_batch_quantiles((0.90,), 10.0, 1, 0.1, 0.25)[0] == pytest.approx(0.366516, abs=2e-3)


def test_no_wait_when_either_the_mean_or_the_probability_is_zero():
    # W = 0 surely: the answer is batch formation alone (b = 2, lambda = 1: p99 = ln 50)
    for mean_wait, prob_wait in ((0.0, 0.0), (0.0, 0.5), (0.1, 0.0)):
        p99 = fixed_batch_quantiles((0.99,), 1.0, 2, mean_wait, prob_wait)[0]
        assert p99 == pytest.approx(3.912023, rel=1e-5), (mean_wait, prob_wait)


def test_unstable_point_has_infinite_quantiles():
    out = fixed_batch_quantiles((0.5, 0.99), 1.0, 2, math.inf, 1.0)
    assert out.shape == (2,) and np.all(np.isinf(out)) and np.all(out > 0)


def test_optimizer_default_candidates_come_from_memory():
    # Llama-3-8B fp16 on one H100: usable 0.9 x 85,520,809,984 = 76,968,728,986 B, weights 16,060,522,496 B;
    # one request of 512 + 256 tokens holds 768 x 131,072 = 100,663,296 B: floor(60,908,206,490 / 100,663,296)
    # = 605 fit, so batches 1, 2, 4, ..., 512
    # (a load of 1e6 requests/s leaves every candidate unstable: no quantiles to compute, a fast solve)
    plan = OPT.solve("Llama3_8B", "H100", 1e6, 10.0)
    np.testing.assert_array_equal(plan.candidates.inputs["batch_size"], 2.0 ** np.arange(10))
    # 1,536 output tokens: 2,048 x 131,072 = 268,435,456 B a request, floor(226.9) = 226 fit: up to 128
    long = OPT.solve("Llama3_8B", "H100", 1e6, 1e4, output_tokens=1536)
    np.testing.assert_array_equal(long.candidates.inputs["batch_size"], 2.0 ** np.arange(8))
    # 3,328 prompt tokens: (3,328 + 256) x 131,072 = 469,762,048 B, floor(129.7) = 129 fit: up to 128
    np.testing.assert_array_equal(OPT.solve("Llama3_8B", "H100", 1e6, 1e4, prompt_tokens=3328)
                                  .candidates.inputs["batch_size"], 2.0 ** np.arange(8))
    # int8 weights and cache: 8,030,261,248 B and 768 x 65,536 = 50,331,648 B a request:
    # floor(68,938,467,738 / 50,331,648) = 1,369 fit: up to 1,024
    np.testing.assert_array_equal(OPT.solve("Llama3_8B", "H100", 1e6, 10.0, precision="int8")
                                  .candidates.inputs["batch_size"], 2.0 ** np.arange(11))
    # two devices: 2 x 76,968,728,986 - 16,060,522,496 = 137,876,935,475 B: 1,369 fit: up to 1,024
    np.testing.assert_array_equal(OPT.solve("Llama3_8B", "H100", 1e6, 10.0, tensor_parallel=2)
                                  .candidates.inputs["batch_size"], 2.0 ** np.arange(11))
    # a vision model: powers of two up to 256
    np.testing.assert_array_equal(OPT.solve("ResNet50", "H100", 1e9, 1.0).candidates.inputs["batch_size"],
                                  2.0 ** np.arange(9))


def test_optimizer_plan_and_what_a_reader_sees():
    plan = OPT.solve("Llama3_8B", "H100", 1.0, 0.001)
    assert repr(plan).splitlines()[0] == "Batching plan: Llama3_8B on H100 (arrival_rate=1, policy=fixed)"
    assert plan.inputs["policy"] == "fixed" and plan.inputs["arrival_rate"] == 1.0
    assert plan.feasible is False
    (reason,) = plan.reasons
    assert re.fullmatch(r"no batch size in 1\.\.512 serves 1 requests/s within a p99 of 1 ms; the lowest p99 is "
                        r"[0-9,.]+ ms at batch \d+", reason), reason
    # the plan reports the candidate with the lowest p99, its numbers taken from the sweep
    sweep = plan.candidates
    p99 = sweep.latency_p99.to("s").magnitude
    i = int(np.argmin(p99))
    assert plan.batch_size == int(sweep.inputs["batch_size"][i])
    assert plan.latency_p99.to("s").magnitude == pytest.approx(p99[i])
    assert reason.endswith(f"at batch {plan.batch_size}")
    assert plan.max_throughput.to("1/s").magnitude == pytest.approx(sweep.max_throughput.to("1/s").magnitude[i])
    assert plan.throughput.to("1/s").magnitude == pytest.approx(sweep.throughput.to("1/s").magnitude[i])
    assert plan.utilization.to("").magnitude == pytest.approx(sweep.utilization.to("").magnitude[i])
    assert plan.p99_target.to("s").magnitude == pytest.approx(0.001)


def test_optimizer_takes_most_capacity_then_lowest_p99():
    plan = OPT.solve("ResNet50", "H100", 100.0, Q_(1, "s"), batch_sizes=[1, 2, 4, 8])
    sweep = plan.candidates
    cap = sweep.max_throughput.to("1/s").magnitude
    ok = np.asarray(sweep.feasible) & (sweep.latency_p99.to("s").magnitude <= 1.0)
    assert plan.feasible and plan.reasons == ()
    # capacity b / S(b) grows with the batch: the largest meeting the target has the most
    assert plan.batch_size == 8 and ok.all() and cap[3] == cap.max()


def test_optimizer_target_is_inclusive():
    # a target exactly equal to a candidate's p99 is met
    probe = OPT.solve("ResNet50", "H100", 100.0, 10.0, batch_sizes=[4])
    exact = probe.latency_p99.to("s").magnitude
    assert OPT.solve("ResNet50", "H100", 100.0, exact, batch_sizes=[4]).feasible is True
    assert OPT.solve("ResNet50", "H100", 100.0, exact * (1 - 1e-9), batch_sizes=[4]).feasible is False


def _raises(message, *args, **kwargs):
    with pytest.raises(InputError, match="^" + re.escape(message) + "$"):
        OPT.solve(*args, **kwargs)


def test_optimizer_messages():
    _raises("parameter 'arrival_rate': expected a single arrival rate (call solve once per rate), got 'an array'",
            "ResNet50", "H100", np.array([1.0, 2.0]), 1.0)
    _raises("parameter 'p99_target': expected a single latency target, got 'an array'",
            "ResNet50", "H100", 1.0, np.array([1.0, 2.0]))
    _raises("parameter 'model': expected a model whose weights and one request fit the replica, got 'Llama3_70B' "
            "(no batch fits in memory)", "Llama3_70B", "H100", 1.0, 1.0)
    with pytest.raises(InputError, match="^parameter 'arrival_rate': expected .*1/s"):
        OPT.solve("ResNet50", "H100", Q_(1.0, "s"), 1.0)
    with pytest.raises(InputError, match="^parameter 'p99_target': expected .*s"):
        OPT.solve("ResNet50", "H100", 1.0, Q_(1.0, "m"))
    with pytest.raises(InputError, match="^parameter 'batch_sizes': expected an integer"):
        OPT.solve("ResNet50", "H100", 1.0, 1.0, batch_sizes=[1.5])
    # a rate and a target given as Quantities in other units
    plan = OPT.solve("ResNet50", "H100", Q_(6000, "1/minute"), Q_(1000, "ms"), batch_sizes=[8])
    assert plan.p99_target.to("s").magnitude == pytest.approx(1.0)
    assert plan.candidates.inputs["arrival_rate"] == pytest.approx(100.0)


def test_batching_model_llm_inputs_shown():
    r = BatchingModel().solve("Llama3_8B", "H100", 1.0, 4)
    assert r.inputs["prompt_tokens"] == 512 and r.inputs["output_tokens"] == 256
    assert r.inputs["precision"] == "fp16" and r.inputs["tensor_parallel"] == 1
    assert isinstance(r.mean_batch, float) and r.mean_batch == 4.0


def test_llm_service_times_by_hand():
    import math as _m

    from mlsysim.calibration import DEFAULT
    from mlsysim.solvers.batching import ServiceTimes

    ideal = DEFAULT.with_(compute_efficiency=1, memory_efficiency=1, attention_efficiency=1, kernel_overhead=0,
                          allreduce_latency=0, prefill_overhead_per_layer=0, roofline_exponent=_m.inf)
    svc = ServiceTimes("Llama3_8B", "H100", prompt_tokens=512, output_tokens=256, calibration=ideal)
    # a decode step of one sequence at the mean context 512 + 255 / 2 = 639.5 tokens: weights
    # 16,060,522,496 / 3.35e12 plus its KV 639.5 x 131,072 / 3.35e12 (both above the math)
    step = 16_060_522_496 / 3.35e12 + 639.5 * 131_072 / 3.35e12
    assert svc.step_time(1) == pytest.approx(step, rel=1e-12)
    # a batch of one: prefill of 512 tokens (2 N x 512 / P = 8.31 ms > 4.79 ms of weights; attention
    # 524,288 x 512 x 256.5 / P) plus 256 steps
    prefill = 2 * 8_030_261_248 * 512 / 989.4e12 + 524_288 * 512 * 256.5 / 989.4e12
    assert svc.batch_time(1) == pytest.approx(prefill + 256 * step, rel=1e-12)


def test_scalar_fields_are_plain_numbers():
    r = BatchingModel().solve("Llama3_8B", "H100", 1.0, 4)
    assert repr(r.mean_batch) == "4.0" and type(r.utilization.magnitude) is float


def test_optimizer_limit_of_exactly_one_request():
    # 300,512 tokens a request: 300,512 x 131,072 = 39,388,708,864 B; floor(60,908,206,489.6 / that) = 1
    plan = OPT.solve("Llama3_8B", "H100", 1e6, 10.0, output_tokens=300_000)
    np.testing.assert_array_equal(plan.candidates.inputs["batch_size"], [1.0])
    assert plan.candidates.inputs["output_tokens"] == 300_000


def test_optimizer_passes_the_policy_and_names_its_inputs():
    with pytest.raises(InputError, match="^parameter 'policy'"):
        OPT.solve("ResNet50", "H100", 10.0, 1.0, batch_sizes=[1], policy="continuous")
    plan = OPT.solve("ResNet50", "H100", 10.0, 1.0, batch_sizes=[1])
    assert plan.inputs["model"].key == "ResNet50" and plan.inputs["hardware"].key == "H100"


def test_optimizer_reason_states_the_lowest_p99_in_ms():
    plan = OPT.solve("Llama3_8B", "H100", 1.0, 0.001)
    lowest_ms = plan.latency_p99.to("ms").magnitude
    assert lowest_ms > 1000                     # seconds of decode: the number is in ms, not s
    assert f"the lowest p99 is {lowest_ms:,.4g} ms" in plan.reasons[0]
