"""Energy, power and carbon of every solver that reports them, derived by hand: the power
fraction, the device count, the PUE and the unit each field claims. And the conservation laws
that tie them together (a fleet's energy is the sum of its parts; the energy a plan states is the
energy EconomicsModel prices)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mlsysim
from mlsysim import CarbonModel, EconomicsModel, Fleet, Hardware, Models, Node
from test_solvers import ROUND

settings.register_profile("ci", max_examples=60, deadline=None)
settings.load_profile("ci")


def test_engine_moe_forward_pass_by_hand():
    # Mixtral-8x7B, one sequence of 1,024 tokens on one H100 (ROUND: max roofline, eta_c 0.5, eta_m 0.8):
    # linear FLOPs with the ACTIVE parameters: 2 x 12,879,925,248 x 1,024 = 26,378,086,907,904
    # attention: 4 x 32 layers x 4,096 x 1,024 queries x 512.5 mean context = 275,146,342,400
    # F = 26,653,233,250,304 FLOP -> / (989.4e12 x 0.5) = 53.87757 ms
    # (with all 46,702,792,704 parameters it would be 95.65e12 FLOP, 193.3 ms)
    # bytes: weights ~ all 46,702,792,704 x 2 B (1,024 tokens touch every expert) = 93.41 GB,
    #   + 94.1 GB in all -> / (3.35e12 x 0.8) = 35.1 ms < 53.88 ms: compute-bound
    r = mlsysim.Engine.solve(Models.Mixtral_8x7B, Hardware.H100, batch_size=1, seq_len=1024, calibration=ROUND)
    assert r.flops.to("flop").magnitude == pytest.approx(26_653_233_250_304, rel=1e-12)
    assert r.latency.to("ms").magnitude == pytest.approx(53.87757, rel=1e-6)
    assert r.bottleneck == "Compute"
    # energy = TDP x power fraction x latency = 700 W x 0.5 x 53.87757 ms = 18.85715 J
    assert r.energy.to("J").magnitude == pytest.approx(18.85715, rel=1e-6)


def test_engine_energy_follows_the_power_fraction():
    # halve the power fraction (0.5 -> 0.25): 700 W x 0.25 x 53.87757 ms = 9.42857 J
    r = mlsysim.Engine.solve(Models.Mixtral_8x7B, Hardware.H100, batch_size=1, seq_len=1024,
                             calibration=ROUND.with_(serving_power_fraction=0.25))
    assert r.energy.to("J").magnitude == pytest.approx(9.42857, rel=1e-6)


def test_reasoning_energy_counts_every_tensor_parallel_device():
    # 4 H100s at 0.5 of 700 W = 1,400 W for the query's time T, shared by the batch of 2:
    # E = 1,400 W x T / 2 = 700 W x T
    r = mlsysim.InferenceScalingModel().solve(Models.Llama3_70B, Hardware.H100, 4, 2000, tokens_per_step=50,
                                              tensor_parallel=4, batch_size=2, calibration=ROUND)
    t = r.total_reasoning_time.to("s").magnitude
    assert r.energy_per_query.to("J").magnitude == pytest.approx(700 * t, rel=1e-12)
    # and T itself: prefill once, then 200 decode steps at contexts 2,000 .. 2,199
    replica = mlsysim.solvers.serving.ReplicaPhysics(Models.Llama3_70B, Hardware.H100, tensor_parallel=4,
                                                     calibration=ROUND)
    brute = replica.prefill(2000, 2)[0] + sum(replica.decode_step(2000 + i, 2)[0] for i in range(200))
    assert t == pytest.approx(brute, rel=1e-12)
    assert r.queries_per_second.to("1/s").magnitude == pytest.approx(2 / t, rel=1e-12)


def test_schedule_power_counts_every_tensor_parallel_device():
    # a replica of 2 H100s at 0.5 of 700 W draws 700 W; at 5 requests/s that is 140 J per request
    r = mlsysim.ServingScheduleModel().solve("Llama3_8B", "H100", 5.0, tensor_parallel=2, calibration=ROUND)
    assert r.power.to("W").magnitude == pytest.approx(700, rel=1e-12)
    assert r.energy_per_request.to("J").magnitude == pytest.approx(140, rel=1e-12)
    one = mlsysim.ServingScheduleModel().solve("Llama3_8B", "H100", 5.0, calibration=ROUND)
    assert one.power.to("W").magnitude == pytest.approx(350, rel=1e-12)


def test_economics_carbon_is_in_tonnes_by_hand():
    # 8 H100 (one DGX H100: 575 W of node power per GPU), power fraction 0.5, PUE 1.5, a year:
    # IT power 8 x (700 x 0.5 + 575) = 7,400 W; x 8,760 h = 64,824 kWh; x 1.5 = 97,236 kWh
    # France 56 g/kWh: 97,236 x 56 = 5,445,216 g = 5.445216 t
    fleet = Fleet("f", Node("n", "H100", 8), count=1)
    r = EconomicsModel().solve(fleet, 365, pue=1.5, power_fraction=0.5, region="france")
    assert r.total_energy_kwh == pytest.approx(97_236)
    assert r.carbon_tonnes == pytest.approx(5.445216, rel=1e-9)
    # average facility power 7,400 W x 1.5 = 11.1 kW
    assert r.average_power.to("W").magnitude == pytest.approx(11_100)


def test_carbon_facility_power_by_hand():
    # 16 H100, f = 0.5, 100 W of host power per GPU: P_IT = 16 x 450 = 7,200 W; x PUE 1.2 = 8,640 W
    fleet = Fleet("f", Node("n", "H100", 8), count=2)
    r = CarbonModel().solve(fleet, 86400, region="france", pue=1.2, power_fraction=0.5, host_power=100)
    assert r.it_power.to("W").magnitude == pytest.approx(7200)
    assert r.facility_power.to("W").magnitude == pytest.approx(8640)
    assert r.duration.to("day").magnitude == pytest.approx(1)
    # a day of it: 8,640 W x 24 h = 207.36 kWh
    assert r.energy_kwh == pytest.approx(207.36)


# ------------------------------------------------------------------------------- conservation
def test_a_serving_plan_states_the_energy_economics_prices():
    # the facility power a ServingFleetModel plan states, over a day, is the facility energy
    # EconomicsModel prices for the same plan (same power fraction, node power and PUE)
    plan = mlsysim.ServingFleetModel().solve("Llama3_8B", "H100", 200, ttft_slo=1.0, tpot_slo=0.05, pue=1.3)
    money = EconomicsModel().solve(plan, 1, pue=1.3)
    day_kwh = plan.facility_power.to("W").magnitude * 86400 / 3.6e6
    assert money.total_energy_kwh == pytest.approx(day_kwh, rel=1e-12)
    # and energy per request is that power over the load
    assert plan.energy_per_request.to("J").magnitude == pytest.approx(plan.facility_power.to("W").magnitude / 200,
                                                                      rel=1e-12)


@given(st.lists(st.integers(1, 30), min_size=2, max_size=5), st.integers(1, 1000), st.floats(1.0, 2.0))
def test_economics_energy_and_cost_of_a_fleet_are_the_sums_of_its_parts(parts, days, pue):
    whole = EconomicsModel().solve(Fleet("w", Node("n", "H100", 8), count=sum(parts)), days, pue=pue)
    pieces = [EconomicsModel().solve(Fleet("p", Node("n", "H100", 8), count=n), days, pue=pue) for n in parts]
    for field in ("total_energy_kwh", "tco_usd", "capex_usd", "opex_energy_usd", "opex_maintenance_usd"):
        assert getattr(whole, field) == pytest.approx(sum(getattr(p, field) for p in pieces), rel=1e-12), field


@given(st.integers(1, 20), st.floats(1, 3650), st.floats(1.0, 2.5), st.floats(0.01, 1.0))
def test_energy_cost_is_linear_in_days_pue_and_price(nodes, days, pue, price):
    fleet = Fleet("f", Node("n", "H100", 8), count=nodes)
    base = EconomicsModel().solve(fleet, 1, pue=1.0, electricity_price=1.0)
    run = EconomicsModel().solve(fleet, days, pue=pue, electricity_price=price)
    assert run.opex_energy_usd == pytest.approx(base.opex_energy_usd * days * pue * price, rel=1e-12)
    # capital and maintenance scale with days only
    assert run.capex_usd == pytest.approx(base.capex_usd * days, rel=1e-12)
    assert run.opex_maintenance_usd == pytest.approx(base.opex_maintenance_usd * days, rel=1e-12)


@given(st.floats(0.05, 1.0), st.floats(0.05, 1.0))
def test_economics_energy_is_affine_in_the_power_fraction(f1, f2):
    # P = N (f TDP + P_host): the difference of two fractions costs N x TDP x (f2 - f1) x t x PUE
    # 8 H100 for a day at PUE 1.0: 8 x 700 W x 24 h = 134.4 kWh per unit of f
    fleet = Fleet("f", Node("n", "H100", 8), count=1)
    a = EconomicsModel().solve(fleet, 1, pue=1.0, power_fraction=f1).total_energy_kwh
    b = EconomicsModel().solve(fleet, 1, pue=1.0, power_fraction=f2).total_energy_kwh
    assert b - a == pytest.approx(134.4 * (f2 - f1), rel=1e-9, abs=1e-9)


def test_more_replicas_draw_power_in_proportion():
    # twice the load at the same operating point: twice the replicas, nodes and facility power
    kw = dict(prompt_tokens=512, output_tokens=256, tensor_parallel=1, ttft_slo=1.0, tpot_slo=0.05, pue=1.2,
              token_budget=2048)
    best = mlsysim.ServingScheduleModel().max_rate("Llama3_8B", "H100", prompt_tokens=512, output_tokens=256,
                                                   ttft_slo=1.0, tpot_slo=0.05).arrival_rate.to("1/s").magnitude
    one = mlsysim.ServingFleetModel().solve("Llama3_8B", "H100", 8 * best, **kw)
    two = mlsysim.ServingFleetModel().solve("Llama3_8B", "H100", 16 * best, **kw)
    assert one.replicas == 8 and two.replicas == 16
    assert two.facility_power.to("W").magnitude == pytest.approx(2 * one.facility_power.to("W").magnitude, rel=1e-12)
    # per request the energy is the same
    assert two.energy_per_request.to("J").magnitude == pytest.approx(one.energy_per_request.to("J").magnitude,
                                                                     rel=1e-12)
    assert np.isfinite(one.energy_per_request.to("J").magnitude)
