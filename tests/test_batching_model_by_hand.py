"""BatchingModel and ServiceTimes on a small vision model worked out by hand (what the calibration,
the precision and the batch change), the stability boundary and its message, and the LLM request's
inputs (whole tokens, one request shape, the policy).

TinyCNN: 1,000,000 parameters, 2e9 FLOPs per image, 100 x 100 images, no layer table, so one pass
of b images takes S(b) = b x 2e9 / P on an H100 under IDEAL (compute-bound: the weights and images,
2e6 + b x 60,000 B, take well under a microsecond at B = 3.35e12 B/s). Capacity b / S = P / 2e9 =
494,700 requests/s for every batch.
"""
import math

import numpy as np
import pytest

import mlsysim
from mlsysim import Q_
from mlsysim.calibration import DEFAULT
from mlsysim.errors import InputError
from mlsysim.solvers.batching import BatchingModel, BatchingOptimizer, ServiceTimes
from mlsysim.specs.models import model_from_record

IDEAL = DEFAULT.with_(compute_efficiency=1, memory_efficiency=1, low_precision_efficiency=1, kernel_overhead=0,
                      roofline_exponent=math.inf)
P, P8 = 989.4e12, 1978.9e12
solve = BatchingModel().solve


def cnn(params, key="TinyCNN"):
    return model_from_record(key, {"architecture": "cnn", "parameters": params, "inference_flops": 2e9,
                                   "input_resolution": 100}, "test")


TINY = cnn(1_000_000)


def test_stable_point_by_hand():
    r = solve(TINY, "H100", 100_000, 4, calibration=IDEAL)
    S = 8e9 / P                                             # 8.0857 us
    rho = 100_000 * S / 4                                   # 0.2021
    assert r.service_time.to("s").magnitude == pytest.approx(S, rel=1e-12)
    assert r.max_throughput.to("1/s").magnitude == pytest.approx(494_700, rel=1e-12)
    assert r.utilization.to("").magnitude == pytest.approx(rho, rel=1e-12)
    # filling a batch of 4 at 1e5/s takes (4 - 1) / (2 x 1e5) = 15 us on average; Kingman's wait with
    # arrival SCV 1/4: rho / (1 - rho) x (1/4) / 2 x S
    wait = 15e-6 + rho / (1 - rho) * 0.125 * S
    assert r.mean_wait.to("s").magnitude == pytest.approx(wait, rel=1e-12)
    assert r.latency_mean.to("s").magnitude == pytest.approx(wait + S, rel=1e-12)
    assert r.feasible is True and r.reasons == ()
    assert r.policy == "fixed" and r.inputs["policy"] == "fixed" and r.to_dict()["policy"] == "fixed"
    assert repr(r).splitlines()[0] == "Batching: TinyCNN on H100 (arrival_rate=100,000, batch_size=4, policy=fixed)"


def test_calibration_and_precision_reach_the_service_time():
    half = IDEAL.with_(compute_efficiency=0.5)
    r = solve(TINY, "H100", 1000, 4, calibration=half)
    assert r.service_time.to("s").magnitude == pytest.approx(8e9 / (P * 0.5), rel=1e-12)      # 16.17 us
    # fp8 math at 1,978.9e12: 4.04 us (the weights, 1e6 + 4 x 30,000 B, take 0.33 us)
    r8 = solve(TINY, "H100", 1000, 4, precision="fp8", calibration=IDEAL)
    assert r8.service_time.to("s").magnitude == pytest.approx(8e9 / P8, rel=1e-12)
    svc = ServiceTimes(TINY, "H100", precision="fp8", calibration=half)
    assert svc.batch_time(4) == pytest.approx(8e9 / (P8 * 1), rel=1e-12)   # low_precision_efficiency stays 1


def test_memory_check_uses_batch_precision_and_calibration():
    # 25e9 parameters at 2 B = 50 GB: fits 0.9 x 85.52 GB = 77.0 GB, not 0.5 x 85.52 = 42.8 GB
    assert solve(cnn(25e9), "H100", 1.0, 1).feasible
    r = solve(cnn(25e9), "H100", 1.0, 1, calibration=DEFAULT.with_(usable_memory_fraction=0.5))
    assert not r.feasible
    assert r.reasons == ("memory: needs 50.0 GB, has 42.8 GB usable on H100",)
    # 38e9 parameters = 76 GB + b x 60,000 x 8 B of images: batch 1 fits, batch 10,000 needs 80.8 GB
    assert solve(cnn(38e9), "H100", 1.0, 1).feasible
    assert ServiceTimes(cnn(38e9), "H100").memory(10_000) == (["memory: needs 80.8 GB, has 77.0 GB usable on H100"],
                                                              False)
    # 50e9 parameters: 100 GB at fp16, 50 GB at fp8
    assert not solve(cnn(50e9), "H100", 1.0, 1).feasible
    assert solve(cnn(50e9), "H100", 1.0, 1, precision="fp8").feasible


def test_arrival_at_capacity_is_unstable():
    capacity = solve(TINY, "H100", 1000, 4, calibration=IDEAL).max_throughput.to("1/s").magnitude
    r = solve(TINY, "H100", capacity, 4, calibration=IDEAL)      # rho = 1 exactly
    assert r.utilization.to("").magnitude == 1.0
    assert r.feasible is False and r.reasons[0].startswith("unstable:")


def test_unstable_reason_names_rate_capacity_and_batch():
    # 600,000/s: rho = 600,000 / 494,700 = 1.21
    r = solve(TINY, "H100", 600_000, 4, calibration=IDEAL)
    assert r.feasible is False
    assert r.reasons == ("unstable: arrival rate 6e+05/s is at or above the capacity 4.947e+05/s of batch 4",)
    assert math.isinf(r.mean_wait.to("s").magnitude) and math.isinf(r.latency_mean.to("s").magnitude)
    assert math.isinf(r.latency_p50.to("s").magnitude) and math.isinf(r.latency_p99.to("s").magnitude)


def test_unstable_reason_over_a_sweep_shows_the_worst_point():
    r = solve(TINY, "H100", np.array([100_000, 600_000, 1_000_000]), 4, calibration=IDEAL)
    assert list(r.feasible) == [True, False, False]
    # the worst is the last (rho = 2.02): 1e6/s
    assert r.reasons == ("unstable: arrival rate 1e+06/s is at or above the capacity 4.947e+05/s of batch 4 "
                         "at 2 of 3 points",)
    assert math.isinf(r.latency_p99.to("s").magnitude[2]) and math.isfinite(r.latency_p99.to("s").magnitude[0])


def test_llm_memory_holds_prompt_plus_output():
    # Llama-3-8B: 64 requests x (4,096 + 4,096) tokens x 131,072 B = 68.7 GB of KV + 16.06 GB of weights
    # = 84.8 GB > 77.0 GB usable
    r = solve("Llama3_8B", "H100", 0.01, 64, prompt_tokens=4096, output_tokens=4096)
    assert not r.feasible
    assert r.reasons[0].startswith("memory: needs 84.8 GB (weights 16.1 GB + KV cache 68.7 GB)")


def test_optimizer_prefers_lowest_p99_among_equal_capacities_in_any_order():
    # batch 1 and 4 both serve 494,700/s; batch 1 does not wait for a batch to fill, so its p99 is lower
    plan = BatchingOptimizer().solve(TINY, "H100", 1000, 1.0, batch_sizes=[4, 1], calibration=IDEAL)
    assert plan.batch_size == 1


@pytest.mark.parametrize("kwargs, parameter, shown", [
    (dict(batch_size=2.5), "batch_size", "2.5"),
    (dict(prompt_tokens=2.5), "prompt_tokens", "2.5"),
    (dict(output_tokens=2.5), "output_tokens", "2.5"),
])
def test_llm_counts_are_whole(kwargs, parameter, shown):
    args = dict(batch_size=4, **{k: v for k, v in kwargs.items() if k != "batch_size"})
    if "batch_size" in kwargs:
        args["batch_size"] = kwargs["batch_size"]
    with pytest.raises(InputError) as info:
        solve("Llama3_8B", "H100", 1.0, **args)
    assert info.value.parameter == parameter
    assert "an integer" in str(info.value) and shown in str(info.value)


@pytest.mark.parametrize("parameter", ["prompt_tokens", "output_tokens"])
def test_llm_token_counts_are_in_tokens(parameter):
    with pytest.raises(InputError) as info:
        ServiceTimes("Llama3_8B", "H100", **{parameter: Q_(3, "s")})
    assert info.value.parameter == parameter and "token" in str(info.value)
    # a Quantity in tokens is the plain count
    a = ServiceTimes("Llama3_8B", "H100", **{parameter: Q_(300, "token")})
    b = ServiceTimes("Llama3_8B", "H100", **{parameter: 300})
    assert a.batch_time(2) == b.batch_time(2)


@pytest.mark.parametrize("parameter", ["prompt_tokens", "output_tokens"])
def test_llm_request_shape_is_one_number(parameter):
    with pytest.raises(InputError) as info:
        ServiceTimes("Llama3_8B", "H100", **{parameter: np.array([128, 256])})
    assert info.value.parameter == parameter
    assert str(info.value) == (f"parameter '{parameter}': expected a single number (sweep arrival_rate or "
                               f"batch_size instead), got 'an array'")


def test_continuous_policy_points_to_the_schedule_model():
    with pytest.raises(InputError) as info:
        ServiceTimes("Llama3_8B", "H100", policy="continuous")
    assert info.value.parameter == "policy"
    assert str(info.value).startswith("parameter 'policy': expected 'fixed', got 'continuous'")
    assert "mlsysim.ServingScheduleModel (and simulate_schedule)" in str(info.value)
