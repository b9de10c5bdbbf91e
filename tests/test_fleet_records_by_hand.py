"""What the fleet solvers' results record, worked by hand: every field a reader looks at, the
defaults a call relies on (and the sources they come from), the inputs a result names, and the
feasibility verdict at its boundary with the reason it gives."""
import math

import numpy as np
import pytest

from mlsysim import CarbonModel, DataPipelineModel, Fleet, Node, ReliabilityModel
from mlsysim.calibration import DEFAULT

FLEET = Fleet("f", Node("n", "H100", 8), count=2)      # 16 H100, 2 nodes


# ------------------------------------------------------------------------------- reliability
def test_reliability_defaults_to_young_without_restarts():
    # 1,000 devices of MTBF 1e6 s: M = 1,000 s; delta = 1e12 / 1e10 = 100 s
    # Young: tau = sqrt(2 x 100 x 1,000) = 447.2136 s; no restart_time: R = 0
    # goodput = 1 - 100 / 447.2136 - 447.2136 / 2,000 - 0 = 1 - 2 x 0.2236068 = 0.5527864
    r = ReliabilityModel().solve(1000, 1e6, checkpoint_bytes=1e12, write_bandwidth=1e10, mtbf_per_device=1e6)
    assert r.interval == "young"
    assert r.checkpoint_interval.to("s").m == pytest.approx(447.2136, rel=1e-6)
    assert r.restart_fraction.to("").m == 0
    assert r.goodput.to("").m == pytest.approx(0.5527864, rel=1e-6)
    assert r.fleet is None                              # a device count, not a named fleet


def test_reliability_reports_both_intervals_and_the_work():
    # as above; Daly: x = 100 / 2,000 = 0.05, tau = 447.2136 x (1 + 0.2236068 / 3 + 0.05 / 9) - 100 = 383.032 s
    r = ReliabilityModel().solve(1000, 1e6, checkpoint_bytes=1e12, write_bandwidth=1e10, mtbf_per_device=1e6,
                                 interval="daly")
    assert r.interval == "daly"
    assert r.young_interval.to("s").m == pytest.approx(447.2136, rel=1e-6)
    assert r.daly_interval.to("s").m == pytest.approx(383.032, rel=1e-5)
    assert r.checkpoint_interval.to("s").m == pytest.approx(383.032, rel=1e-5)
    assert r.duration.to("s").m == pytest.approx(1e6)


def test_reliability_with_an_interval_in_seconds_names_no_rule():
    # tau = 500 s given: write 100 / 500 = 0.2, rework 500 / 2,000 = 0.25: goodput 0.55
    r = ReliabilityModel().solve(1000, 1e6, checkpoint_bytes=1e12, write_bandwidth=1e10, mtbf_per_device=1e6,
                                 interval=500)
    assert r.checkpoint_interval.to("s").m == pytest.approx(500)
    assert r.goodput.to("").m == pytest.approx(0.55)
    assert r.interval is None
    assert "interval=" not in repr(r).splitlines()[0]


def test_reliability_default_mtbf_is_recorded_with_its_source():
    # reliability.yaml: 43,008 GPU-hours = 154,828,800 s per device; 16 devices: M = 9,676,800 s
    r = ReliabilityModel().solve(FLEET, 86400, checkpoint_bytes=1e9, write_bandwidth=1e9)
    assert r.fleet == "f"
    assert r.cluster_mtbf.to("s").m == pytest.approx(9_676_800)
    value, source = r.inputs["assumptions"]["mtbf_per_device"]
    assert value == pytest.approx(154_828_800) and source.key == "bekman2022bloomtech"
    given = ReliabilityModel().solve(FLEET, 86400, checkpoint_bytes=1e9, write_bandwidth=1e9, mtbf_per_device=1e7)
    assert given.inputs["assumptions"] == {}


def test_weights_only_checkpoint_from_the_model():
    # fp32 weights and no optimizer state: 6,738,415,616 Llama-2-7B parameters x (4 + 0) B = 26,953,662,464 B
    r = ReliabilityModel().solve(8, 86400, model="Llama2_7B", write_bandwidth=1e9, weight_bytes=4, optimizer_bytes=0)
    assert r.checkpoint_size.to("B").m == pytest.approx(26_953_662_464)
    assert r.checkpoint_time.to("s").m == pytest.approx(26.953662464)


def test_goodput_of_exactly_zero_is_infeasible():
    # one device, M = 1,000 s; delta = 2.5e11 / 1e9 = 250 s; tau = 500 s; R = 250 s:
    # goodput = 1 - 250/500 - 500/2,000 - 250/1,000 = 1 - 0.5 - 0.25 - 0.25 = 0 (exact in binary)
    r = ReliabilityModel().solve(1, 1e6, checkpoint_bytes=2.5e11, write_bandwidth=1e9, mtbf_per_device=1000,
                                 interval=500, restart_time=250)
    assert r.goodput.to("").m == 0.0
    assert r.feasible is False
    assert r.effective_duration.to("s").m == math.inf
    assert len(r.reasons) == 1
    assert r.reasons[0].startswith("goodput at or below zero: failures come faster than the first-order model allows")
    assert r.reasons[0].endswith("(simulate_checkpointing shows what happens there)")
    # a shorter restart (R = 200 s): goodput 0.05 > 0, feasible, no reason; 1e6 s of work take 2e7 s
    ok = ReliabilityModel().solve(1, 1e6, checkpoint_bytes=2.5e11, write_bandwidth=1e9, mtbf_per_device=1000,
                                  interval=500, restart_time=200)
    assert ok.goodput.to("").m == pytest.approx(0.05)
    assert ok.feasible is True and ok.reasons == ()
    assert ok.effective_duration.to("s").m == pytest.approx(2e7)


# ------------------------------------------------------------------------------- carbon
def test_carbon_defaults_are_recorded_with_their_sources():
    # world grid 481 g/kWh; industry-average PUE 1.58; power fraction 1 (the calibration's);
    # host power: the DGX H100's 10.2 kW - 8 x 700 W = 4.6 kW, 575 W per accelerator
    # P_IT = 16 x (1.0 x 700 + 575) = 20,400 W; one day: 489.6 kWh; x 1.58 = 773.568 kWh
    # operational 773.568 x 0.481 = 372.0862 kg; embodied (16 x 150 + 2 x 2,500) kg / (365 x 6) = 3.378995 kg
    r = CarbonModel().solve(FLEET, 86400)
    assert r.feasible is True and r.reasons == ()
    assert (r.fleet, r.region, r.facility) == ("f", "world", "industry_average")
    assert r.grid_intensity == 481
    assert r.it_power.to("W").m == pytest.approx(20_400)
    assert r.energy_kwh == pytest.approx(773.568)
    assert r.operational_co2_kg == pytest.approx(372.0862, rel=1e-6)
    assert r.embodied_co2_kg == pytest.approx(3.378995, rel=1e-6)
    expected = {
        "grid_intensity": (481, "ember2024review"), "pue": (1.58, "uptime2023survey"),
        "power_fraction": (1.0, "luccioni2023bloom"), "host_power": (575, "nvidia2023dgxh100"),
        "embodied_accelerator_kg": (150, "luccioni2023bloom"), "embodied_server_kg": (2500, "luccioni2023bloom"),
        "life_years": (6, "luccioni2023bloom"),
    }
    assert set(r.assumptions) == set(expected)
    for name, (value, key) in expected.items():
        got, source = r.assumptions[name]
        assert got == pytest.approx(value) and source.key == key, name
    assert r.assumptions["power_fraction"][1].detail == "mlsysim.calibration.training_power_fraction"
    # the printed record lists each default with its value and source
    lines = repr(r).splitlines()
    assert any("grid_intensity" in line and "481" in line and "[ember2024review]" in line for line in lines)
    assert any(line.split()[:3] == ["pue", "1.58", "[uptime2023survey]"] for line in lines)


def test_carbon_with_a_pue_names_no_facility():
    # PUE 1.2 given: 489.6 kWh x 1.2 = 587.52 kWh; nothing defaulted for the facility
    r = CarbonModel().solve(FLEET, 86400, pue=1.2)
    assert r.facility is None
    assert r.energy_kwh == pytest.approx(587.52)
    assert "pue" not in r.assumptions


def test_water_figures_are_recorded_with_their_sources():
    # Microsoft US: WUE 0.55 L/kWh on site; the US grid: 3.14 L/kWh off site (both li2023thirsty)
    r = CarbonModel().solve(FLEET, 86400, region="us_average", facility="microsoft_us")
    assert r.facility == "microsoft_us"
    wue, wue_source = r.assumptions["wue"]
    water, water_source = r.assumptions["water_intensity"]
    assert wue == pytest.approx(0.55) and wue_source.key == "li2023thirsty"
    assert water == pytest.approx(3.14) and water_source.key == "li2023thirsty"
    # 489.6 kWh IT x 0.55 = 269.28 L on site
    assert r.water_onsite_liters == pytest.approx(269.28)


# ------------------------------------------------------------------------------- input pipeline
KW = dict(storage_bandwidth=1e9, cpu_cores=4, per_core_rate=200, bytes_per_sample=1e5)


def test_pipeline_record_names_its_inputs():
    r = DataPipelineModel().solve(2000, "A100", **KW)
    assert r.hardware.name == "NVIDIA A100 SXM4 80GB"
    assert (r.dataset, r.batch_size, r.prefetch, r.target_utilization) == ("imagenet", 256, True, 0.95)
    assert "Input pipeline" in repr(r) and "dataset=imagenet" in repr(r)
    assert DataPipelineModel().solve(2000, **KW).hardware is None


def test_pipeline_calibration_sets_the_pcie_link():
    # a 1.50528 GB/s link copies 150,528-byte ImageNet crops at 10,000/s: 256 take 25.6 ms
    cal = DEFAULT.with_(pcie_bandwidth=1.50528e9)
    r = DataPipelineModel().solve(2000, **KW, calibration=cal)
    assert r.pcie_time.to("ms").m == pytest.approx(25.6)


def test_pipeline_network_stage_by_hand():
    # 5e8 B/s over 1e5-byte samples = 5,000/s: 256 take 51.2 ms (the CPU's 320 ms is still the bottleneck)
    r = DataPipelineModel().solve(2000, **KW, network_bandwidth=5e8)
    assert r.network_time.to("ms").m == pytest.approx(51.2)
    assert "network_time" not in DataPipelineModel().solve(2000, **KW).field_names()


def test_pipeline_scalar_answers_are_plain_python_values():
    # CPU-bound (320 ms against 128 ms): utilization 0.4 < 0.95
    r = DataPipelineModel().solve(2000, **KW)
    assert type(r.bottleneck) is str and r.bottleneck.upper() == "CPU"
    assert type(r.workers_needed) is int and r.workers_needed == 10       # ceil(0.95 x 2,000 / 200) = ceil(9.5)
    assert r.feasible is False
    assert len(r.reasons) == 1 and r.reasons[0].endswith("the pipeline is bound by cpu")
    assert "target 95%" in r.reasons[0]


def test_pipeline_sweep_reasons_name_only_the_points_that_miss():
    # 1 core: 200/s, CPU-bound at 2,000/s (utilization 0.1); 64 cores: 12,800/s, storage 10,000/s,
    # PCIe 209,264/s: accelerator-bound, utilization 1 (meets 0.95)
    r = DataPipelineModel().solve(2000, **{**KW, "cpu_cores": np.array([1, 64])})
    np.testing.assert_array_equal(r.feasible, [False, True])
    assert list(r.bottleneck) == ["cpu", "accelerator"]
    assert len(r.reasons) == 1 and r.reasons[0].endswith("bound by cpu")
    # host cores needed for a sweep of per-core rates: ceil(1,900 / 100, 200, 400) = 19, 10, 5
    w = DataPipelineModel().solve(2000, **{**KW, "per_core_rate": np.array([100.0, 200.0, 400.0])})
    np.testing.assert_array_equal(w.workers_needed, [19, 10, 5])


def test_pipeline_meets_a_target_it_reaches_exactly():
    # accelerator-bound (t_acc = 128 ms is the longest stage): utilization exactly 1, target 1: met
    r = DataPipelineModel().solve(2000, storage_bandwidth=1e10, cpu_cores=64, per_core_rate=200,
                                  bytes_per_sample=1e5, target_utilization=1.0)
    assert r.accelerator_utilization.to("").m == 1.0
    assert r.feasible is True and r.reasons == ()


def test_pipeline_target_allows_for_rounding_and_no_more():
    # one sample a step, taken in 1 s by the accelerator; one host core decoding r samples/s takes 1 / r s,
    # so the utilization is 1 / (1 / r) = r. The target 0.95 is met within a relative 1e-12 (rounding):
    # r = 0.95 x (1 - 1e-12) = 0.9499999999990499 meets it, r = 0.95 x (1 - 1e-11) does not
    kw = dict(batch_size=1, storage_bandwidth=1e9, cpu_cores=1)
    edge = DataPipelineModel().solve(1.0, **kw, per_core_rate=0.9499999999990499)
    assert edge.accelerator_utilization.to("").m == pytest.approx(0.95, rel=1e-11)
    assert edge.bottleneck == "cpu" and edge.feasible is True
    short = DataPipelineModel().solve(1.0, **kw, per_core_rate=0.95 * (1 - 1e-11))
    assert short.feasible is False
