"""TrainingRun: what a reader sees (the header, the parts, the reasons of an infeasible run) and
its messages."""
import re

import pytest

import mlsysim
from mlsysim.errors import InputError

T = mlsysim.TrainingRun()


@pytest.fixture(scope="module")
def small_fleet():
    return mlsysim.Fleet.from_system("DGX_H100", 1)


def test_an_infeasible_step_makes_an_infeasible_run(small_fleet):
    # Llama-3-70B unsharded on one 8-GPU node: 70.55e9 parameters x (2 weights + 2 gradients + 12 Adam) bytes
    # = 1.13 TB before activations, far above one H100's 86 GB; the checkpoint side is fine
    r = T.solve("Llama3_70B", small_fleet, 4096, 64, tokens=1e9, write_bandwidth=10e9)
    assert r.parts["step"].feasible is False and r.parts["reliability"].feasible is True
    assert r.feasible is False
    assert r.reasons and r.reasons[0].startswith("memory: needs ") and "per device" in r.reasons[0]


def test_header_and_parts(small_fleet):
    r = T.solve("Llama3_8B", small_fleet, 4096, 64, tokens=1e9, write_bandwidth=10e9, region="WORLD")
    assert repr(r).splitlines()[0] == "Training run: Llama3_8B (fleet=DGX_H100 cluster, accelerators=8, region=world)"
    assert r.inputs["model"].key == "Llama3_8B" and r.inputs["fleet"] == "DGX_H100 cluster"
    assert sorted(r.parts) == ["budget", "carbon", "economics", "reliability", "step"]
    assert r.feasible is True
    # 6 x 8,030,261,248 x 1e9 = 4.8181567e19 FLOP
    assert r.compute_flops.to("flop").m == pytest.approx(4.8181567488e19)
    assert r.parts["budget"].tokens.to("token").m == pytest.approx(1e9)


def test_messages(small_fleet):
    with pytest.raises(InputError, match="^" + re.escape("parameter 'fleet': expected a mlsysim.Fleet, got 'int'") + "$"):
        T.solve("Llama3_8B", 32, 4096, 64, write_bandwidth=1e10)
    with pytest.raises(InputError, match="^" + re.escape(
            "parameter 'write_bandwidth': expected the checkpoint write bandwidth in bytes/s (a number or a Quantity)")
            + "$"):
        T.solve("Llama3_8B", small_fleet, 4096, 64)
    with pytest.raises(InputError, match="^parameter 'model': expected a ModelSpec"):
        T.solve(42, small_fleet, 4096, 64, write_bandwidth=1e10)


def test_water_when_the_facility_and_region_publish_it(small_fleet):
    # Microsoft US: PUE 1.17 and 0.55 L on site per kWh of IT energy; the US grid: 3.14 L per kWh generated.
    # water = E / 1.17 x 0.55 + E x 3.14 for E kWh at the facility
    r = T.solve("Llama3_8B", small_fleet, 4096, 64, tokens=1e9, write_bandwidth=10e9, region="us_average",
                facility="microsoft_us")
    e = r.energy_kwh
    assert r.water_liters == pytest.approx(e / 1.17 * 0.55 + e * 3.14, rel=1e-9)
    assert r.to_dict()["water_liters"] == pytest.approx(r.water_liters)
    # the world grid publishes no water figure: no water field
    assert "water_liters" not in T.solve("Llama3_8B", small_fleet, 4096, 64, tokens=1e9,
                                         write_bandwidth=10e9).to_dict()
