"""Queueing physics, the batching solver and optimizer, and the discrete-event simulation."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlsysim
from mlsysim import BatchingModel, BatchingOptimizer, Q_, simulate_batching
from mlsysim.errors import InputError
from mlsysim.physics import queueing as qu
from mlsysim.simulation import arrival_times, simulate_fixed


# -- physics, against values derived by hand ---------------------------------------------

def test_mm1_mean_wait_and_quantile():
    # lambda = 8/s, mu = 10/s: rho = 0.8, W_q = 0.8 / (10 - 8) = 0.4 s
    assert qu.utilization(8, 10) == pytest.approx(0.8)
    assert qu.mm1_mean_wait(8, 10) == pytest.approx(0.4)
    # response ~ Exp(mu - lambda = 2/s): p99 = ln(100) / 2 = 4.60517 / 2 = 2.302585 s
    assert qu.mm1_response_quantile(0.99, 8, 10) == pytest.approx(2.302585, rel=1e-6)
    assert qu.mm1_mean_wait(10, 10) == math.inf


def test_pollaczek_khinchine():
    # M/D/1, lambda = 5/s, S = 0.1 s: rho = 0.5, W_q = 0.5 x 0.1 x (1 + 0) / (2 x 0.5) = 0.05 s
    assert qu.pk_mean_wait(5, 0.1, 0.0) == pytest.approx(0.05)
    # M/M/1 (C_s^2 = 1) gives twice that, 0.1 s = rho / (mu - lambda) = 0.5 / 5
    assert qu.pk_mean_wait(5, 0.1, 1.0) == pytest.approx(qu.mm1_mean_wait(5, 10))


def test_kingman():
    # rho = 0.9, S = 2 ms, C_a^2 = 1/8, C_s^2 = 0: 9 x 0.0625 x 2 ms = 1.125 ms
    assert qu.kingman_mean_wait(0.9, 2e-3, 1 / 8, 0.0) == pytest.approx(1.125e-3)
    # with Poisson arrivals it is the P-K formula: rho 0.5, S 0.1, C_s^2 0 -> 0.05 s
    assert qu.kingman_mean_wait(0.5, 0.1, 1.0, 0.0) == pytest.approx(qu.pk_mean_wait(5, 0.1, 0.0))


def test_exponential_wait_quantile_is_mm1():
    # M/M/1 at rho 0.8, W_q = 0.4 s: P(W > t) = 0.8 exp(-2 t); p99: t = ln(0.8 / 0.01) / 2 = ln 80 / 2 = 2.19101 s
    assert qu.exponential_wait_quantile(0.99, 0.4, 0.8) == pytest.approx(math.log(80) / 2)
    # the median is 0 when at most half the requests wait
    assert qu.exponential_wait_quantile(0.5, 0.4, 0.4) == 0


def test_erlang_c():
    # c = 2, a = 1 (rho 0.5): B_1 = 1/2, B_2 = (1 x 1/2) / (2 + 1/2) = 0.2, C = 0.2 / (1 - 0.5 x 0.8) = 1/3
    assert qu.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # one server: C = rho
    assert qu.erlang_c(1, 0.7) == pytest.approx(0.7)
    # M/M/2, lambda 1, mu 1: W_q = (1/3) / (2 - 1) = 1/3 s
    assert qu.mmc_mean_wait(2, 1.0, 1.0) == pytest.approx(1 / 3)


def test_batch_formation():
    # b = 4, lambda = 100/s: E[F] = 3 / 200 = 15 ms
    assert qu.batch_formation_mean(100, 4) == pytest.approx(0.015)
    # b = 2: F is 0 (second in the batch) or Exp(lambda) (first), each half the time:
    # P(F <= t) = 1/2 + 1/2 (1 - exp(-lambda t)); at lambda t = 1: 1 - 0.5 e^-1 = 0.816060
    assert qu.batch_formation_cdf(0.01, 100, 2) == pytest.approx(1 - 0.5 * math.exp(-1))
    assert qu.batch_formation_cdf(0.0, 100, 4) == pytest.approx(0.25)
    # the mean from the CDF: integral of (1 - CDF) = (b - 1) / (2 lambda)
    t = np.linspace(0, 1.0, 200_001)
    tail = 1 - qu.batch_formation_cdf(t, 100, 8)
    assert np.sum(tail) * (t[1] - t[0]) == pytest.approx(qu.batch_formation_mean(100, 8), rel=1e-3)


# -- solver -----------------------------------------------------------------------------

def test_fixed_batch_solver_matches_hand_formulas():
    r = BatchingModel().solve("ResNet50", "L4", 2000, 8)
    S = mlsysim.Engine.solve("ResNet50", "L4", batch_size=8).latency.to("s").magnitude
    rho = 2000 * S / 8
    assert r.utilization.to("").magnitude == pytest.approx(rho)
    assert r.max_throughput.to("1/s").magnitude == pytest.approx(8 / S)
    # mean latency = (b - 1) / (2 lambda) + Kingman wait with C_a^2 = 1/b + S
    expected = 7 / 4000 + rho / (1 - rho) * (1 / 8) / 2 * S + S
    assert r.latency_mean.to("s").magnitude == pytest.approx(expected)
    assert r.latency_p50 < r.latency_p99
    assert r.feasible


def test_batch_one_is_md1():
    # b = 1 has no formation wait; the mean wait is the M/D/1 P-K value
    r = BatchingModel().solve("ResNet50", "L4", 2000, 1)
    S = r.service_time.to("s").magnitude
    assert r.mean_wait.to("s").magnitude == pytest.approx(qu.pk_mean_wait(2000, S, 0.0))


def test_unstable_is_infeasible_with_reason():
    r = BatchingModel().solve("ResNet50", "L4", np.array([1000.0, 1e6]), 8)
    assert list(r.feasible) == [True, False]
    assert np.isinf(r.latency_p99.magnitude[1])
    assert any("unstable" in reason for reason in r.reasons)


def test_static_llm_memory_reason():
    r = BatchingModel().solve("Llama3_70B", "H100", 1, 8, policy="fixed")
    assert not r.feasible and any("memory" in reason for reason in r.reasons)


@settings(max_examples=15, deadline=None)
@given(st.floats(100, 9000), st.floats(1.01, 1.5), st.sampled_from([1, 2, 8, 32]))
def test_higher_load_never_lowers_p99_fixed(rate, factor, batch):
    r = BatchingModel().solve("ResNet50", "L4", np.array([rate, rate * factor]), batch)
    p99 = r.latency_p99.magnitude
    # above the load that minimizes it, p99 rises with load (below it, batches fill faster);
    # the wait for the server alone never falls
    waits = r.mean_wait.magnitude - qu.batch_formation_mean(np.array([rate, rate * factor]), batch) * 1e3
    assert waits[1] >= waits[0] - 1e-12
    if batch == 1:
        assert p99[1] >= p99[0]


def test_sweep_equals_scalar_calls():
    rates = np.array([500.0, 4000.0, 9000.0])
    sweep = BatchingModel().solve("ResNet50", "L4", rates, 8)
    for i, rate in enumerate(rates):
        one = BatchingModel().solve("ResNet50", "L4", rate, 8)
        assert sweep.latency_p99.magnitude[i] == pytest.approx(one.latency_p99.magnitude)


# -- optimizer --------------------------------------------------------------------------

@pytest.mark.parametrize("model, hardware, rate, target", [
    ("ResNet50", "L4", 2500, 0.01),
    ("ResNet50", "L4", 500, 0.005),
    ("Llama3_8B", "H100", 10, 10.0),
])
def test_optimizer_respects_target(model, hardware, rate, target):
    plan = BatchingOptimizer().solve(model, hardware, rate, target)
    assert plan.feasible
    assert plan.latency_p99.to("s").magnitude <= target
    c = plan.candidates
    ok = np.asarray(c.feasible) & (c.latency_p99.to("s").magnitude <= target)
    # no candidate that meets the target has more capacity (beyond the 1% tie band)
    assert c.max_throughput.magnitude[ok].max() <= plan.max_throughput.magnitude / 0.99 + 1e-9


def test_optimizer_reports_impossible_target():
    plan = BatchingOptimizer().solve("ResNet50", "L4", 5000, Q_(1, "us"))
    assert not plan.feasible and "no batch size" in plan.reasons[0]


# -- simulation -------------------------------------------------------------------------

def test_simulation_agrees_with_mm1_within_tolerance():
    # exponential service is not a policy here, so drive the fixed-batch simulator (b = 1)
    # with exponential service times directly: an M/M/1 queue at rho = 0.7
    rng = np.random.default_rng(11)   # a stream independent of the arrivals' (seed 3)
    lam, mu, n = 7.0, 10.0, 200_000
    arrivals = arrival_times(lam, n, seed=3)
    latencies, _ = simulate_fixed(arrivals, 1, rng.exponential(1 / mu, n))
    keep = latencies[n // 10:]
    # mean response 1 / (mu - lambda) = 1/3 s; p99 = ln(100) / 3 = 1.535 s
    assert np.mean(keep) == pytest.approx(1 / 3, rel=0.05)
    assert np.percentile(keep, 99) == pytest.approx(qu.mm1_response_quantile(0.99, lam, mu), rel=0.08)


def test_simulation_agrees_with_fixed_batch_model():
    model = BatchingModel().solve("ResNet50", "L4", 2000, 8)
    sim = simulate_batching("ResNet50", "L4", 2000, 8, requests=40_000, seed=1)
    assert sim.latency_mean.magnitude == pytest.approx(model.latency_mean.magnitude, rel=0.05)
    assert sim.latency_p99.magnitude == pytest.approx(model.latency_p99.magnitude, rel=0.10)


def test_simulation_is_seeded():
    a = simulate_batching("ResNet50", "L4", 3000, 8, requests=5000, seed=7)
    b = simulate_batching("ResNet50", "L4", 3000, 8, requests=5000, seed=7)
    assert a.latency_p99 == b.latency_p99


def test_continuous_policy_points_to_the_schedule():
    with pytest.raises(InputError, match="ServingScheduleModel"):
        BatchingModel().solve("Llama3_8B", "H100", 1, 8, policy="continuous")


def test_simulation_sweep():
    s = simulate_batching("ResNet50", "L4", np.array([1000.0, 5000.0]), 4, requests=2000)
    assert s.latency_p99.magnitude.shape == (2,)


# -- bad input --------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, parameter", [
    (dict(arrival_rate=0, batch_size=8), "arrival_rate"),
    (dict(arrival_rate=-1, batch_size=8), "arrival_rate"),
    (dict(arrival_rate="fast", batch_size=8), "arrival_rate"),
    (dict(arrival_rate=Q_(3, "GB"), batch_size=8), "arrival_rate"),
    (dict(arrival_rate=100, batch_size=0), "batch_size"),
    (dict(arrival_rate=100, batch_size=2.5), "batch_size"),
    (dict(arrival_rate=100, batch_size=8, policy="dynamic"), "policy"),
    (dict(arrival_rate=100, batch_size=8, policy="continuous"), "policy"),
])
def test_batching_bad_input(kwargs, parameter):
    with pytest.raises(InputError) as info:
        BatchingModel().solve("ResNet50", "L4", **kwargs)
    assert info.value.parameter == parameter


@pytest.mark.parametrize("kwargs, parameter", [
    (dict(output_tokens=0), "output_tokens"),
    (dict(prompt_tokens=-3), "prompt_tokens"),
])
def test_batching_bad_llm_input(kwargs, parameter):
    with pytest.raises(InputError) as info:
        BatchingModel().solve("Llama3_8B", "H100", 1, 8, **kwargs)
    assert info.value.parameter == parameter


@pytest.mark.parametrize("args, kwargs, parameter", [
    ((np.array([1.0, 2.0]), 1.0), {}, "arrival_rate"),
    ((100, -1), {}, "p99_target"),
    ((100, Q_(5, "GB")), {}, "p99_target"),
    ((100, 0.01), dict(batch_sizes=[0, 2]), "batch_sizes"),
])
def test_optimizer_bad_input(args, kwargs, parameter):
    with pytest.raises(InputError) as info:
        BatchingOptimizer().solve("ResNet50", "L4", *args, **kwargs)
    assert info.value.parameter == parameter


@pytest.mark.parametrize("kwargs, parameter", [
    (dict(requests=0), "requests"),
    (dict(requests=20), "requests"),
    (dict(seed=-1), "seed"),
    (dict(seed=1.5), "seed"),
    (dict(arrival_scv=0), "arrival_scv"),
    (dict(output_scv=-1), "output_scv"),
    (dict(warmup=0.95), "warmup"),
])
def test_simulation_bad_input(kwargs, parameter):
    with pytest.raises(InputError) as info:
        simulate_batching("ResNet50", "L4", 1000, 8, **kwargs)
    assert info.value.parameter == parameter
