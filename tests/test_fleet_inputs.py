"""The fleet solvers' inputs: each bad one is refused with an InputError that names the parameter,
says what was expected and shows what was given; and the other forms an input may take (a
Quantity, another solver's result) give the same answer as the plain number, worked by hand."""
import numpy as np
import pytest

from mlsysim import Q_, CarbonModel, DataPipelineModel, Fleet, Node, ReliabilityModel
from mlsysim.errors import InputError
from mlsysim.solvers.result import Result

FLEET = Fleet("f", Node("n", "H100", 8), count=2)
CKPT = dict(checkpoint_bytes=1e9, write_bandwidth=1e9)
FEED = dict(storage_bandwidth=1e9, cpu_cores=4)


class Timed(Result):
    """A user's own result: a training time (shown in hours) and a duration."""
    FIELDS = {"training_time": ("s", "hour", "Training time"), "duration": ("s", "day", "Duration")}


class Clocked(Result):
    """A user's own result with a duration and a time (shown in minutes)."""
    FIELDS = {"duration": ("s", "day", "Duration"), "time": ("s", "minute", "Time")}


class Measured(Result):
    """A user's own measurement of an accelerator's intake (shown per minute) and its delivered throughput."""
    FIELDS = {"samples_per_second": ("1/s", "1/minute", "Samples per second"),
              "throughput": ("1/s", "1/s", "Throughput")}


class Delivered(Result):
    FIELDS = {"throughput": ("1/s", "1/minute", "Throughput")}


def _refused(call, parameter, expected, shown=None):
    with pytest.raises(InputError) as info:
        call()
    assert info.value.parameter == parameter
    assert expected in str(info.value)
    if shown is not None:
        assert shown in str(info.value)
    return info.value


# ------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, parameter, expected, shown", [
    (lambda: ReliabilityModel().solve(FLEET, 86400, **CKPT, mtbf_per_device=1e7, failures_per_day=24),
     "failures_per_day", "either mtbf_per_device or failures_per_day, not both", "got 24"),
    (lambda: ReliabilityModel().solve(FLEET, 86400, write_bandwidth=1e9),
     "checkpoint_bytes", "a size in bytes, or model= to size it from the parameters", None),
    (lambda: ReliabilityModel().solve(FLEET, 86400, model=42, write_bandwidth=1e9), "model", "or a name", "got 'int'"),
    (lambda: ReliabilityModel().solve(FLEET, 86400, model="Llama2_7B", write_bandwidth=1e9, weight_bytes=0),
     "weight_bytes", "a number > 0", "got 0"),
    (lambda: ReliabilityModel().solve(FLEET, 86400, model="Llama2_7B", write_bandwidth=1e9, optimizer_bytes=-1),
     "optimizer_bytes", "a number >= 0", "got -1"),
    (lambda: ReliabilityModel().solve(FLEET, 86400, checkpoint_bytes=1e9),
     "write_bandwidth", "the checkpoint write bandwidth in bytes/s", None),
    (lambda: ReliabilityModel().solve(FLEET, 86400, **CKPT, interval="often"),
     "interval", "'young', 'daly' or a number of seconds", "got 'often'"),
    (lambda: ReliabilityModel().solve(FLEET, DataPipelineModel().solve(2000, **FEED), **CKPT),
     "duration", "a result with a training_time or duration field", "got 'DataPipelineResult'"),
    (lambda: ReliabilityModel().solve(FLEET, Timed({"training_time": 0.0}, feasible=True), **CKPT),
     "duration", "a number > 0", None),
])
def test_reliability_refuses(call, parameter, expected, shown):
    _refused(call, parameter, expected, shown)


@pytest.mark.parametrize("call, parameter, expected, shown", [
    (lambda: CarbonModel().solve(FLEET, 86400, pue=1.2, facility="hyperscale"),
     "facility", "either pue or facility, not both", "got 'hyperscale'"),
    (lambda: CarbonModel().solve(FLEET), "duration", "the run's duration (seconds, a Quantity or a result)", None),
    (lambda: CarbonModel().solve(1000, 86400),
     "duration", "no duration when the first argument is an energy", "got 86400"),
    (lambda: CarbonModel().solve("lots"),
     "fleet", "a mlsysim.Fleet or an IT energy (kWh, or an energy Quantity)", "got 'str'"),
    (lambda: CarbonModel().solve(-5), "energy_kwh", "a number > 0", "got -5"),
    (lambda: CarbonModel().solve(Q_(5, "kg")), "energy_kwh", "a quantity in kWh", None),
    (lambda: CarbonModel().solve(FLEET, DataPipelineModel().solve(2000, **FEED)), "duration",
     "a result with an effective_duration, training_time or duration field", "got 'DataPipelineResult'"),
    (lambda: CarbonModel().solve(FLEET, Timed({"duration": -1.0}, feasible=True)), "duration", "a number > 0", None),
])
def test_carbon_refuses(call, parameter, expected, shown):
    _refused(call, parameter, expected, shown)


@pytest.mark.parametrize("call, parameter, expected, shown", [
    (lambda: DataPipelineModel().solve(2000, batch_size=2.5, **FEED), "batch_size", "an integer > 0", "got 2.5"),
    (lambda: DataPipelineModel().solve(2000, cpu_cores=4),
     "storage_bandwidth", "this accelerator's share of the storage read bandwidth (bytes/s)", None),
    (lambda: DataPipelineModel().solve(2000, storage_bandwidth=1e9),
     "cpu_cores", "the host cores that decode for this accelerator", None),
    (lambda: DataPipelineModel().solve(2000, prefetch="yes", **FEED), "prefetch", "True or False", "got 'yes'"),
    (lambda: DataPipelineModel().solve(2000, hardware=42, **FEED), "hardware", "or a name", "got 'int'"),
    (lambda: DataPipelineModel().solve(CarbonModel().solve(1000), **FEED), "workload",
     "a result with samples_per_second, tokens_per_second or throughput", "got 'CarbonResult'"),
    (lambda: DataPipelineModel().solve(Delivered({"throughput": 0.0}, feasible=True), **FEED),
     "workload", "a number > 0", None),
])
def test_pipeline_refuses(call, parameter, expected, shown):
    _refused(call, parameter, expected, shown)


# ------------------------------------------------------------------------------- other forms
def _wall_clock(work):
    # 16 devices of MTBF 1e7 s: M = 625,000 s; delta = 1 s; tau = sqrt(2 x 625,000) = 1,118.034 s
    # goodput = 1 - 1 / 1,118.034 - 1,118.034 / 1,250,000 = 1 - 2 x 0.000894427 = 0.998211146
    return work / 0.998211146          # the wall-clock time of `work` seconds of work


@pytest.mark.parametrize("duration, work", [
    (7200.0, 7200.0),
    (Q_(2, "hour"), 7200.0),
    # a training time wins over a duration (2 h, not 1 day)
    (Timed({"training_time": 7200.0, "duration": 86400.0}, feasible=True), 7200.0),
    # a duration wins over a time (1 day, not 30 minutes)
    (Clocked({"duration": 86400.0, "time": 1800.0}, feasible=True), 86400.0),
    (Clocked({"time": 1800.0}, feasible=True), 1800.0),
    # a carbon result's duration: 3 days
    (CarbonModel().solve(FLEET, 3 * 86400.0), 3 * 86400.0),
])
def test_reliability_takes_the_work_from_a_result(duration, work):
    r = ReliabilityModel().solve(FLEET, duration, **CKPT, mtbf_per_device=1e7)
    assert r.duration.to("s").m == pytest.approx(work)
    assert r.effective_duration.to("s").m == pytest.approx(_wall_clock(work), rel=1e-8)


def test_carbon_takes_the_wall_clock_time_of_a_reliability_result():
    # 16 devices of MTBF 16 x 10,000 s: M = 10,000 s; delta = 200 s; tau = sqrt(2 x 200 x 10,000) = 2,000 s
    # goodput = 1 - 200/2,000 - 2,000/20,000 - 0 = 0.8: 8 days of work take 10 days of wall clock
    rel = ReliabilityModel().solve(FLEET, 8 * 86400.0, checkpoint_bytes=2e11, write_bandwidth=1e9,
                                   mtbf_per_device=160_000)
    assert rel.goodput.to("").m == pytest.approx(0.8)
    r = CarbonModel().solve(FLEET, rel, region="france", pue=1.0, power_fraction=0.5, host_power=100)
    assert r.duration.to("s").m == pytest.approx(10 * 86400)
    # 16 x (0.5 x 700 + 100) W = 7,200 W x 240 h = 1,728 kWh
    assert r.it_energy_kwh == pytest.approx(1728)


@pytest.mark.parametrize("duration, seconds", [
    # a training time wins over a duration (2 days, not 1)
    (Timed({"training_time": 2 * 86400.0, "duration": 86400.0}, feasible=True), 2 * 86400.0),
    (Timed({"duration": 86400.0}, feasible=True), 86400.0),
    (Q_(36, "hour"), 1.5 * 86400.0),
])
def test_carbon_takes_the_duration_from_a_result(duration, seconds):
    # 16 x (0.5 x 700 + 100) W = 7,200 W; 1 day = 172.8 kWh
    r = CarbonModel().solve(FLEET, duration, pue=1.0, power_fraction=0.5, host_power=100)
    assert r.duration.to("s").m == pytest.approx(seconds)
    assert r.it_energy_kwh == pytest.approx(172.8 * seconds / 86400)


def test_carbon_of_an_energy_quantity():
    # 1 MWh = 1,000 kWh of IT energy in India (713 g/kWh) at PUE 1.5: 1,500 kWh x 0.713 = 1,069.5 kg
    r = CarbonModel().solve(Q_(1, "MWh"), region="india", pue=1.5)
    assert r.it_energy_kwh == pytest.approx(1000)
    assert r.operational_co2_kg == pytest.approx(1069.5)
    assert "embodied_co2_kg" not in r.field_names()


@pytest.mark.parametrize("workload, demand", [
    # samples per second win over the throughput (shown per minute: 120,000/min = 2,000/s)
    (Measured({"samples_per_second": 2000.0, "throughput": 500.0}, feasible=True), 2000.0),
    (Delivered({"throughput": 2000.0}, feasible=True), 2000.0),
    (Q_(120_000, "1/minute"), 2000.0),
])
def test_pipeline_takes_the_demand_from_a_result(workload, demand):
    # no 'accelerators' among the result's inputs: the rate is one accelerator's
    # batch 256 at 2,000/s: t_acc = 128 ms; 4 cores x 200/s = 800/s: 320 ms; utilization 0.4
    r = DataPipelineModel().solve(workload, **FEED, per_core_rate=200, bytes_per_sample=1e5)
    assert r.demand.to("1/s").m == pytest.approx(demand)
    assert r.accelerator_time.to("ms").m == pytest.approx(128)
    assert r.accelerator_utilization.to("").m == pytest.approx(0.4)


def test_pipeline_divides_a_fleets_rate_by_its_accelerators():
    # a result of a whole fleet's 8,000 samples/s over 4 accelerators: 2,000/s each
    fleet_rate = Delivered({"throughput": 8000.0}, feasible=True, inputs={"accelerators": 4})
    r = DataPipelineModel().solve(fleet_rate, **FEED)
    assert r.demand.to("1/s").m == pytest.approx(2000)
    np.testing.assert_allclose(r.accelerator_time.to("s").m, 256 / 2000)
