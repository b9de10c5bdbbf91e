"""Fleet records: a training run's energy and emissions (GPT-3, BLOOM), interruptions of a large
run (Llama 3), an input pipeline's read bandwidth (ResNet-50 on ImageNet) and a checkpoint's size
(BLOOM), from ``validation_fleet.yaml``. Each is predicted through the fleet solvers with the
configuration the paper states, and every record is held out (no default was set from it)."""
from __future__ import annotations

from mlsysim.validation import predictor

SECONDS_PER_DAY = 86400.0


def _fleet(rec):
    from mlsysim.systems.types import Fleet, Node

    per_node = rec.get("accelerators_per_node", 8)
    return Fleet(rec["description"][:40], Node("node", rec["hardware"], per_node), rec["accelerators"] // per_node)


def _host(rec):
    from mlsysim.core.units import Q_

    return float(Q_(rec["host_power"]).to("W").magnitude)


@predictor("training_energy", "kWh")
def _training_energy(rec, calibration=None):
    from mlsysim.solvers.fleet.carbon import CarbonModel

    r = CarbonModel().solve(_fleet(rec), rec["days"] * SECONDS_PER_DAY, region="world", pue=rec["pue"],
                            host_power=_host(rec), embodied=False, calibration=calibration)
    return r.energy_kwh


@predictor("training_co2", "kg")
def _training_co2(rec, calibration=None):
    from mlsysim.solvers.fleet.carbon import CarbonModel
    from mlsysim.specs.carbon import GridRegion
    from mlsysim.specs.fields import Source

    grid = GridRegion(rec["id"], float(rec["grid_intensity"]), 2022, Source(rec["source"], "the paper's grid intensity"))
    seconds = rec["gpu_hours"] / rec["accelerators"] * 3600.0
    r = CarbonModel().solve(_fleet(rec), seconds, region=grid, pue=rec["pue"], host_power=_host(rec),
                            embodied=False, calibration=calibration)
    return r.operational_co2_kg


@predictor("interruptions", "count")
def _interruptions(rec, calibration=None):
    from mlsysim.solvers.fleet.reliability import ReliabilityModel

    seconds = rec["days"] * SECONDS_PER_DAY
    r = ReliabilityModel().solve(rec["accelerators"], seconds, checkpoint_bytes=1.0, write_bandwidth=1.0)
    return seconds / r.cluster_mtbf.to("s").magnitude


@predictor("read_bandwidth", "B/s")
def _read_bandwidth(rec, calibration=None):
    from mlsysim.solvers.fleet.pipeline import DataPipelineModel

    r = DataPipelineModel().solve(rec["samples_per_second"], dataset=rec["dataset"], storage_bandwidth=1e12,
                                  cpu_cores=1e6, calibration=calibration)
    return r.read_bandwidth_needed.to("B/s").magnitude


@predictor("checkpoint_size", "byte")
def _checkpoint_size(rec, calibration=None):
    from mlsysim.physics.reliability import checkpoint_bytes

    return checkpoint_bytes(float(rec["parameters"]))
