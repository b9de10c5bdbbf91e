"""The fleet solvers (input pipeline, reliability, carbon) and the checkpointing simulation:
values derived by hand (arithmetic in the comments), physics properties, the simulation against
the formula, and bad input."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mlsysim
from mlsysim import CarbonModel, DataPipelineModel, EconomicsModel, Fleet, InputError, Node, ReliabilityModel
from mlsysim.errors import UnknownNameError
from mlsysim.simulation import simulate_checkpointing

settings.register_profile("ci", max_examples=60, deadline=None)
settings.load_profile("ci")


def fleet(nodes=2, hw="H100", per_node=8):
    return Fleet("f", Node("n", hw, per_node), count=nodes)


# ------------------------------------------------------------------------------- reliability
def test_reliability_by_hand():
    # 1,000 devices of MTBF 1e6 s -> job MTBF 1e6 / 1e3 = 1,000 s.
    # checkpoint 1e12 B at 1e10 B/s -> delta = 100 s.
    # Young: sqrt(2 x 100 x 1000) = sqrt(200,000) = 447.2136 s.
    # goodput = 1 - 100/447.2136 - 447.2136/2000 - 50/1000 = 1 - 0.2236068 - 0.2236068 - 0.05 = 0.5027864
    # wall clock for 1e6 s of work = 1e6 / 0.5027864 = 1,988,916 s; failures = 1,988,916 / 1,000 = 1,988.9
    r = ReliabilityModel().solve(1000, 1e6, checkpoint_bytes=1e12, write_bandwidth=1e10, restart_time=50,
                                 mtbf_per_device=1e6)
    assert r.cluster_mtbf.to("s").m == pytest.approx(1000)
    assert r.checkpoint_time.to("s").m == pytest.approx(100)
    assert r.checkpoint_interval.to("s").m == pytest.approx(447.2136, rel=1e-6)
    assert r.write_fraction.to("").m == pytest.approx(0.2236068, rel=1e-6)
    assert r.rework_fraction.to("").m == pytest.approx(0.2236068, rel=1e-6)
    assert r.restart_fraction.to("").m == pytest.approx(0.05)
    assert r.goodput.to("").m == pytest.approx(0.5027864, rel=1e-6)
    assert r.effective_duration.to("s").m == pytest.approx(1_988_916, rel=1e-5)
    assert r.expected_failures == pytest.approx(1988.916, rel=1e-5)


def test_daly_interval_by_hand():
    # delta = 100 s, M = 1000 s: x = delta / 2M = 0.05, sqrt(x) = 0.2236068
    # tau = 447.2136 x (1 + 0.2236068/3 + 0.05/9) - 100 = 447.2136 x 1.0800912 - 100 = 383.032 s
    r = ReliabilityModel().solve(1000, 1e6, checkpoint_bytes=1e12, write_bandwidth=1e10, mtbf_per_device=1e6,
                                 interval="daly")
    assert r.checkpoint_interval.to("s").m == pytest.approx(383.032, rel=1e-5)
    # delta >= 2M: Daly's interval is M itself (delta = 3000 s, M = 1000 s)
    long = ReliabilityModel().solve(1000, 1e6, checkpoint_bytes=3e13, write_bandwidth=1e10, mtbf_per_device=1e6)
    assert long.daly_interval.to("s").m == pytest.approx(1000)


def test_checkpoint_size_from_model_by_hand():
    # Llama-2-7B: 6,738,415,616 parameters x (2 + 12) bytes = 94,337,818,624 B
    r = ReliabilityModel().solve(8, 86400, model="Llama2_7B", write_bandwidth=1e9)
    assert r.checkpoint_size.to("B").m == pytest.approx(94_337_818_624)


def test_failures_per_day_sets_the_job_mtbf():
    # 24 failures a day -> one every 3,600 s, whatever the device count
    r = ReliabilityModel().solve(16384, 86400, checkpoint_bytes=1e9, write_bandwidth=1e9, failures_per_day=24)
    assert r.cluster_mtbf.to("s").m == pytest.approx(3600)


@given(st.integers(1, 100_000), st.floats(1e4, 1e8), st.floats(1, 1e3), st.floats(0, 3600))
def test_goodput_falls_strictly_with_cluster_size(devices, device_mtbf, delta, restart):
    kw = dict(checkpoint_bytes=delta * 1e9, write_bandwidth=1e9, restart_time=restart, mtbf_per_device=device_mtbf)
    small = ReliabilityModel().solve(devices, 1e6, **kw).goodput.to("").m
    large = ReliabilityModel().solve(devices * 2, 1e6, **kw).goodput.to("").m
    assert large < small


@given(st.floats(1, 1e3), st.floats(1e3, 1e7), st.floats(0.2, 5.0).filter(lambda k: abs(k - 1) > 1e-3))
def test_young_interval_maximises_first_order_goodput(delta, mtbf, k):
    from mlsysim.physics import reliability as rel
    tau = rel.young_interval(delta, mtbf)
    assert rel.goodput(delta, tau, mtbf, 0.0) > rel.goodput(delta, tau * k, mtbf, 0.0)


def test_reliability_sweep_equals_scalar_calls():
    sizes = np.array([512, 4096, 32768])
    kw = dict(checkpoint_bytes=2e12, write_bandwidth=5e10, restart_time=300, mtbf_per_device=5e7)
    sweep = ReliabilityModel().solve(sizes, 30 * 86400, **kw)
    for i, n in enumerate(sizes):
        one = ReliabilityModel().solve(int(n), 30 * 86400, **kw)
        assert sweep.goodput.m[i] == pytest.approx(one.goodput.m, rel=1e-12)
        assert sweep.effective_duration.m[i] == pytest.approx(one.effective_duration.m, rel=1e-12)


def test_simulation_agrees_with_formula_at_long_mtbf():
    # M = 20 h, delta = 60 s, R = 600 s: tau = sqrt(2 x 60 x 72,000) = 2,939 s << M. The first-order
    # goodput and 20 simulated runs of 20 days agree within one percentage point.
    sim = simulate_checkpointing(20 * 3600, 60, 600, work=20 * 86400, runs=20, seed=3)
    assert abs(sim.goodput.to("").m - sim.goodput_formula.to("").m) < 0.01


def test_simulation_shows_the_formula_break_at_short_mtbf():
    # M = 6 min, delta = 60 s, R = 10 min: the first-order goodput is negative (1 - 0.316 - 0.316 - 1.67),
    # but the job still progresses in the simulation, slowly
    sim = simulate_checkpointing(360, 60, 600, work=2 * 86400, runs=5, seed=1)
    assert sim.goodput_formula.to("").m < 0 < sim.goodput.to("").m < 0.2


# ------------------------------------------------------------------------------- carbon
def test_carbon_by_hand():
    # 16 H100: P_IT = 16 x (0.5 x 700 W + 100 W) = 7,200 W; 10 days = 864,000 s
    # E_IT = 7,200 x 864,000 / 3.6e6 = 1,728 kWh; x PUE 1.2 = 2,073.6 kWh
    # France 56 g/kWh: 2,073.6 x 56 = 116,121.6 g = 116.1216 kg
    # embodied: (16 x 150 + 2 x 2,500) kg x 10 / (365 x 6) = 7,400 x 0.004566210 = 33.790 kg
    r = CarbonModel().solve(fleet(), 10 * 86400, region="france", pue=1.2, power_fraction=0.5, host_power=100)
    assert r.it_energy_kwh == pytest.approx(1728)
    assert r.energy_kwh == pytest.approx(2073.6)
    assert r.operational_co2_kg == pytest.approx(116.1216)
    assert r.embodied_co2_kg == pytest.approx(33.790, rel=1e-4)
    assert r.total_co2_kg == pytest.approx(116.1216 + 33.790, rel=1e-5)
    assert r.operational_co2_kg < 1000, "kilograms, not grams or tonnes"


def test_water_by_hand():
    # Microsoft US facility: PUE 1.17, WUE 0.55 L/kWh; US grid 3.14 L/kWh off site.
    # E_IT 1,728 kWh (as above): on site 1,728 x 0.55 = 950.4 L;
    # facility 1,728 x 1.17 = 2,021.76 kWh x 3.14 = 6,348.33 L; total 7,298.73 L
    r = CarbonModel().solve(fleet(), 10 * 86400, region="us_average", facility="microsoft_us", power_fraction=0.5,
                            host_power=100)
    assert r.water_onsite_liters == pytest.approx(950.4)
    assert r.water_offsite_liters == pytest.approx(6348.3264)
    assert r.water_liters == pytest.approx(7298.7264)
    assert "water_liters" not in CarbonModel().solve(fleet(), 86400, region="france").field_names()


@given(st.integers(1, 50), st.floats(1, 1000), st.floats(1.0, 2.5))
def test_carbon_is_linear_in_days_and_pue(nodes, days, pue):
    one = CarbonModel().solve(fleet(nodes), 86400, region="germany", pue=1.0)
    run = CarbonModel().solve(fleet(nodes), days * 86400, region="germany", pue=pue)
    assert run.operational_co2_kg == pytest.approx(one.operational_co2_kg * days * pue, rel=1e-12)
    assert run.embodied_co2_kg == pytest.approx(one.embodied_co2_kg * days, rel=1e-12)


@given(st.lists(st.integers(1, 20), min_size=2, max_size=5), st.floats(1, 100))
def test_fleet_energy_is_the_sum_of_its_parts(parts, days):
    whole = CarbonModel().solve(fleet(sum(parts)), days * 86400, region="poland")
    pieces = [CarbonModel().solve(fleet(n), days * 86400, region="poland") for n in parts]
    assert whole.energy_kwh == pytest.approx(sum(p.energy_kwh for p in pieces), rel=1e-12)
    assert whole.total_co2_kg == pytest.approx(sum(p.total_co2_kg for p in pieces), rel=1e-12)


@given(st.integers(1, 20), st.integers(1, 400), st.floats(1.0, 2.0), st.sampled_from(["france", "india", "quebec"]))
def test_economics_and_carbon_agree(nodes, days, pue, region):
    f = fleet(nodes)
    money = EconomicsModel().solve(f, days, pue=pue, region=region)
    co2 = CarbonModel().solve(f, days * 86400, region=region, pue=pue, power_fraction=0.573, embodied=False)
    assert money.total_energy_kwh == pytest.approx(co2.energy_kwh, rel=1e-12)
    assert money.carbon_tonnes * 1e3 == pytest.approx(co2.operational_co2_kg, rel=1e-12)


def test_economics_cost_is_linear_in_pue_energy():
    f = fleet(3)
    a = EconomicsModel().solve(f, 30, pue=1.1)
    b = EconomicsModel().solve(f, 30, pue=2.2)
    assert b.opex_energy_usd == pytest.approx(2 * a.opex_energy_usd, rel=1e-12)
    assert b.capex_usd == pytest.approx(a.capex_usd, rel=1e-12)


def test_cleaner_grid_emits_strictly_less():
    from mlsysim.specs.carbon import grid_regions
    names = grid_regions()
    co2 = [CarbonModel().solve(fleet(), 86400, region=n, embodied=False).operational_co2_kg for n in names]
    assert co2 == sorted(co2) and len(set(co2)) == len(co2)


def test_carbon_from_energy_and_sweeps():
    # 1,000 kWh of IT energy in India (713 g/kWh) at PUE 1.58: 1,580 kWh x 0.713 = 1,126.54 kg
    r = CarbonModel().solve(1000, region="india")
    assert r.operational_co2_kg == pytest.approx(1126.54)
    sweep = CarbonModel().solve(fleet(), np.array([1.0, 2.0, 4.0]) * 86400, region="norway")
    assert np.allclose(sweep.total_co2_kg / sweep.total_co2_kg[0], [1, 2, 4], rtol=1e-12)


# ------------------------------------------------------------------------------- pipeline
def test_pipeline_by_hand():
    # batch 256 at 2,000 samples/s: t_acc = 256 / 2000 = 128 ms
    # storage 1e9 B/s / 1e5 B = 10,000 samples/s: 25.6 ms; 4 cores x 200/s = 800/s: 320 ms
    # PCIe 31.5e9 / 150,528 = 209,264/s: 1.22334 ms
    kw = dict(storage_bandwidth=1e9, cpu_cores=4, per_core_rate=200, bytes_per_sample=1e5)
    r = DataPipelineModel().solve(2000, "A100", **kw)
    assert r.step_time.to("ms").m == pytest.approx(320)
    assert r.accelerator_utilization.to("").m == pytest.approx(0.4)
    assert r.bottleneck == "cpu"
    assert r.workers_needed == 10                    # ceil(0.95 x 2000 / 200) = ceil(9.5)
    assert r.read_bandwidth_needed.to("B/s").m == pytest.approx(2e8)
    assert not r.feasible
    # without prefetching: 25.6 + 320 + 1.22334 + 128 = 474.823 ms; 128 / 474.823 = 0.26957
    seq = DataPipelineModel().solve(2000, **kw, prefetch=False)
    assert seq.step_time.to("ms").m == pytest.approx(474.823, rel=1e-5)
    assert seq.accelerator_utilization.to("").m == pytest.approx(0.26957, rel=1e-4)


@given(st.floats(100, 10_000), st.integers(1, 63), st.floats(50, 1000))
def test_more_cores_never_lower_utilization(demand, cores, per_core):
    kw = dict(storage_bandwidth=1e10, per_core_rate=per_core)
    few = DataPipelineModel().solve(demand, cpu_cores=cores, **kw)
    more = DataPipelineModel().solve(demand, cpu_cores=cores + 1, **kw)
    assert more.accelerator_utilization >= few.accelerator_utilization
    others = max(few.storage_time, few.pcie_time, few.accelerator_time)
    if few.cpu_time > others * (1 + 1e-9):          # strictly CPU-bound: one more core strictly helps
        assert more.throughput > few.throughput


def test_pipeline_sweep_and_tokens_are_not_input_bound():
    cores = np.array([1, 2, 4, 8, 16])
    sweep = DataPipelineModel().solve(2500, storage_bandwidth=2e9, cpu_cores=cores)
    for i, c in enumerate(cores):
        one = DataPipelineModel().solve(2500, storage_bandwidth=2e9, cpu_cores=int(c))
        assert sweep.step_time.m[i] == pytest.approx(one.step_time.m, rel=1e-12)
        assert sweep.bottleneck[i] == one.bottleneck
    llm = DataPipelineModel().solve(5000, dataset="tokens", batch_size=8192, storage_bandwidth=1e8, cpu_cores=1)
    assert llm.bottleneck == "accelerator" and llm.feasible


# ------------------------------------------------------------------------------- bad input
def test_fleet_bad_input():
    f = fleet()
    with pytest.raises(InputError, match="'storage_bandwidth'"):
        DataPipelineModel().solve(1000, storage_bandwidth=-1, cpu_cores=4)
    with pytest.raises(InputError, match="'workload'"):
        DataPipelineModel().solve("fast", storage_bandwidth=1e9, cpu_cores=4)
    with pytest.raises(InputError, match="'dataset'"):
        DataPipelineModel().solve(1000, dataset="imagenett", storage_bandwidth=1e9, cpu_cores=4)
    with pytest.raises(InputError, match="'mtbf_per_device'"):
        ReliabilityModel().solve(f, 86400, checkpoint_bytes=1e9, write_bandwidth=1e9, mtbf_per_device=0)
    with pytest.raises(InputError, match="'write_bandwidth'"):
        ReliabilityModel().solve(f, 86400, checkpoint_bytes=1e9, write_bandwidth=mlsysim.Q_("-3 GB/s"))
    with pytest.raises(InputError, match="'checkpoint_bytes'"):
        ReliabilityModel().solve(f, 86400, write_bandwidth=1e9)
    with pytest.raises(InputError, match="'interval'"):
        ReliabilityModel().solve(f, 86400, checkpoint_bytes=1e9, write_bandwidth=1e9, interval="often")
    with pytest.raises(InputError, match="'region'") as err:
        CarbonModel().solve(f, 86400, region="frnace")
    assert "france" in err.value.suggestions and isinstance(err.value, UnknownNameError)
    with pytest.raises(InputError, match="'region'"):
        EconomicsModel().solve(f, 30, region="frnace")
    with pytest.raises(InputError, match="'pue'"):
        CarbonModel().solve(f, 86400, pue=0.8)
    with pytest.raises(InputError, match="'duration'"):
        CarbonModel().solve(f, region="france")
    with pytest.raises(InputError, match="'mtbf'"):
        simulate_checkpointing(0, 60)


# ------------------------------------------------------------------------------- TrainingRun
@pytest.fixture(scope="module")
def training_run():
    f = Fleet.from_system("DGX_H100", 64)
    kw = dict(tensor_parallel=8, pipeline_parallel=4)
    run = mlsysim.TrainingRun().solve("Llama3_70B", f, 4096, 512, tokens=1e12, region="france",
                                      write_bandwidth=5e11, restart_time=300, **kw)
    return f, kw, run


def test_training_run_is_its_parts(training_run):
    # every number of the bill is the answer of the solver that owns it, called on its own
    f, kw, run = training_run
    step = mlsysim.TrainingModel().solve("Llama3_70B", f, 4096, 512, **kw)
    free = step.time_to_train(1e12).to("s").m
    rel = ReliabilityModel().solve(f, free, model="Llama3_70B", write_bandwidth=5e11, restart_time=300)
    wall = rel.effective_duration.to("s").m
    co2 = CarbonModel().solve(f, wall, region="france")
    money = EconomicsModel().solve(f, wall / 86400, pue=co2.pue, power_fraction=1.0)
    assert run.failure_free_time.to("s").m == pytest.approx(free, rel=1e-12)
    assert run.wall_clock_time.to("s").m == pytest.approx(free / rel.goodput.to("").m, rel=1e-12)
    assert run.total_co2_kg == pytest.approx(co2.total_co2_kg, rel=1e-12)
    assert run.cost_usd == pytest.approx(money.tco_usd, rel=1e-12)
    # 6 N D with Llama-3-70B's catalogue parameters and 1e12 tokens
    n = mlsysim.Models.Llama3_70B.parameters.to("count").m
    assert run.compute_flops.to("flop").m == pytest.approx(6 * n * 1e12, rel=1e-12)


def test_training_run_energy_carbon_and_dollars_agree(training_run):
    _, _, run = training_run
    carbon, money = run.parts["carbon"], run.parts["economics"]
    assert money.total_energy_kwh == pytest.approx(carbon.energy_kwh, rel=1e-12)
    # France 56 g/kWh: operational kg = facility kWh x 0.056
    assert run.operational_co2_kg == pytest.approx(run.energy_kwh * 0.056, rel=1e-12)


def test_training_run_bad_input():
    f = Fleet.from_system("DGX_H100", 4)
    with pytest.raises(InputError, match="'write_bandwidth'"):
        mlsysim.TrainingRun().solve("Llama3_8B", f, 4096, 64)
    with pytest.raises(InputError, match="'region'"):
        mlsysim.TrainingRun().solve("Llama3_8B", f, 4096, 64, region="atlantis", write_bandwidth=1e11)
    with pytest.raises(InputError, match="'fleet'"):
        mlsysim.TrainingRun().solve("Llama3_8B", 32, 4096, 64, write_bandwidth=1e11)


def test_pipeline_takes_a_training_step():
    # a step's tokens per second are the fleet's; the pipeline sees one GPU's share
    f = Fleet.from_system("DGX_H100", 4)
    step = mlsysim.TrainingModel().solve("Llama3_8B", f, 4096, 64)
    feed = DataPipelineModel().solve(step, dataset="tokens", batch_size=4096, storage_bandwidth=1e9, cpu_cores=1)
    assert feed.demand.to("1/s").m == pytest.approx(step.tokens_per_second.to("token/s").m / 32, rel=1e-12)


def test_training_run_passes_every_argument_to_the_solver_that_owns_it():
    # every argument away from its default; every field against the owning solver called on its own
    from mlsysim.calibration import DEFAULT
    f = Fleet.from_system("DGX_H100", 8)
    cal = DEFAULT.with_(training_gemm_efficiency=0.5, training_power_fraction=0.8)
    run = mlsysim.TrainingRun().solve("Llama3_8B", f, 2048, 256, tokens=2e11, region="germany", facility="hyperscale",
                                      write_bandwidth=2e11, restart_time=900, mtbf_per_device=2e7,
                                      electricity_price=0.12, power_fraction=0.7, calibration=cal, tensor_parallel=2)
    step = mlsysim.TrainingModel().solve("Llama3_8B", f, 2048, 256, calibration=cal, tensor_parallel=2)
    free = step.time_to_train(2e11).to("s").m
    rel = ReliabilityModel().solve(f, free, model="Llama3_8B", write_bandwidth=2e11, restart_time=900,
                                   mtbf_per_device=2e7)
    wall = rel.effective_duration.to("s").m
    co2 = CarbonModel().solve(f, wall, region="germany", facility="hyperscale", power_fraction=0.7, calibration=cal)
    money = EconomicsModel().solve(f, wall / 86400, electricity_price=0.12, pue=co2.pue, power_fraction=0.7,
                                   calibration=cal)
    n = mlsysim.Models.Llama3_8B.parameters.to("count").m
    expected = {
        "compute_flops": (run.compute_flops.to("flop").m, 6 * n * 2e11),
        "tokens": (run.tokens.to("token").m, 2e11),
        "step_time": (run.step_time.to("s").m, step.step_time.to("s").m),
        "tokens_per_second": (run.tokens_per_second.to("token/s").m, step.tokens_per_second.to("token/s").m),
        "mfu": (run.mfu.to("").m, step.mfu.to("").m),
        "failure_free_time": (run.failure_free_time.to("s").m, free),
        "goodput": (run.goodput.to("").m, rel.goodput.to("").m),
        "expected_failures": (run.expected_failures, rel.expected_failures),
        "wall_clock_time": (run.wall_clock_time.to("s").m, wall),
        "energy_kwh": (run.energy_kwh, co2.energy_kwh),
        "operational_co2_kg": (run.operational_co2_kg, co2.operational_co2_kg),
        "embodied_co2_kg": (run.embodied_co2_kg, co2.embodied_co2_kg),
        "total_co2_kg": (run.total_co2_kg, co2.total_co2_kg),
        "cost_usd": (run.cost_usd, money.tco_usd),
        "capex_usd": (run.capex_usd, money.capex_usd),
        "energy_usd": (run.energy_usd, money.opex_energy_usd),
        "maintenance_usd": (run.maintenance_usd, money.opex_maintenance_usd),
    }
    for name, (got, want) in expected.items():
        assert got == pytest.approx(want, rel=1e-12), name
    assert ("water_liters" in run.field_names()) == ("water_liters" in co2.field_names())
    if "water_liters" in co2.field_names():
        assert run.water_liters == pytest.approx(co2.water_liters, rel=1e-12)
    assert run.parts["step"].step_time == step.step_time and run.parts["carbon"].pue == co2.pue
    assert run.inputs["region"] == "germany" and run.inputs["accelerators"] == 64 and run.feasible
    # the calibration's training power fraction is the default; a PUE may replace the facility
    default = mlsysim.TrainingRun().solve("Llama3_8B", f, 2048, 256, tokens=2e11, region="germany", pue=1.3,
                                          write_bandwidth=2e11, calibration=cal, tensor_parallel=2)
    co2_default = CarbonModel().solve(f, default.wall_clock_time.to("s").m, region="germany", pue=1.3,
                                      power_fraction=0.8, calibration=cal)
    assert default.energy_kwh == pytest.approx(co2_default.energy_kwh, rel=1e-12)
    assert default.parts["economics"].total_energy_kwh == pytest.approx(co2_default.energy_kwh, rel=1e-12)


def test_training_run_tokens_default_to_compute_optimal():
    # no tokens: Chinchilla's D for the model's N (about 20 tokens per parameter)
    f = Fleet.from_system("DGX_H100", 8)
    run = mlsysim.TrainingRun().solve("Llama3_8B", f, 2048, 256, write_bandwidth=2e11, tensor_parallel=2)
    n = mlsysim.Models.Llama3_8B.parameters.to("count").m
    assert run.tokens.to("token").m == pytest.approx(20 * n, rel=1e-12)
    assert run.compute_flops.to("flop").m == pytest.approx(6 * n * 20 * n, rel=1e-12)
    with pytest.raises(InputError) as info:
        mlsysim.TrainingRun().solve("Llama3_8B", f, 2048, 256, tokens=mlsysim.Q_(1, "s"), write_bandwidth=2e11)
    assert info.value.parameter == "tokens"
    assert mlsysim.TrainingRun().solve("Llama3_8B", f, 2048, 256, tokens=mlsysim.Q_(0.2, "Ttoken"), write_bandwidth=2e11,
                                       tensor_parallel=2).tokens.to("token").m == pytest.approx(2e11)
