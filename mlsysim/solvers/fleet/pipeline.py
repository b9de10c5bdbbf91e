"""Can the input pipeline keep the accelerators fed?

One accelerator's share of the host: the stored bytes it reads (storage, then an optional
network link), the host cores that decode and augment its samples, and the host-to-device copy.
For a batch of b samples each stage takes [@mohan2021datastalls; @murray2021tfdata]

    t_read = b s / B_storage,   t_net = b s / B_network,   t_cpu = b / (c r_core),
    t_copy = b s_dev / B_pcie,  t_acc = b / r_acc

and the step takes max(t_i) when the stages overlap (prefetching) and sum(t_i) when they do not.
The accelerator is busy t_acc / t_step of the time; the stage with the largest time is the
bottleneck; ceil(u r_acc / r_core) cores keep it busy a share u of the time.
"""
from __future__ import annotations

import numpy as np

from mlsysim.core import validate
from mlsysim.errors import InputError
from mlsysim.physics import pipeline as pp
from mlsysim.solvers._common import resolve_calibration
from mlsysim.solvers.result import Result

STAGES = ("storage", "network", "cpu", "pcie", "accelerator")


class DataPipelineResult(Result):
    TITLE = "Input pipeline"
    FIELDS = {
        "step_time": ("s", "ms", "Step time"),
        "accelerator_utilization": ("", "percent", "Accelerator busy"),
        "bottleneck": (None, None, "Bottleneck"),
        "throughput": ("1/s", "1/s", "Samples per second delivered"),
        "demand": ("1/s", "1/s", "Samples per second the accelerator can take"),
        "workers_needed": (None, None, "Host cores needed"),
        "read_bandwidth_needed": ("B/s", "MB/s", "Storage read needed"),
        "storage_time": ("s", "ms", "Storage read, per step"),
        "network_time": ("s", "ms", "Network read, per step"),
        "cpu_time": ("s", "ms", "Decode and augment, per step"),
        "pcie_time": ("s", "ms", "Host-to-device copy, per step"),
        "accelerator_time": ("s", "ms", "Accelerator compute, per step"),
    }


def _demand(workload):
    """Samples per second one accelerator consumes: a number, a Quantity in 1/s, or a result
    with a ``samples_per_second``, ``tokens_per_second`` or ``throughput`` field (a training
    step's tokens per second are the whole fleet's, so they are divided by its accelerators)."""
    for name in ("samples_per_second", "tokens_per_second", "throughput"):
        if isinstance(workload, Result) and name in workload.field_names():
            rate = getattr(workload, name)
            rate = rate.to("token/s").magnitude if name == "tokens_per_second" else rate
            return validate.number(rate, "workload", "1/s") / workload.inputs.get("accelerators", 1)
    if isinstance(workload, Result):
        raise InputError("workload", "a result with samples_per_second, tokens_per_second or throughput",
                         type(workload).__name__)
    return validate.number(workload, "workload", "1/s")


class DataPipelineModel:
    """Step time, accelerator utilization and bottleneck of a training input pipeline.

    ``solve(workload, hardware=None, dataset="imagenet", batch_size=256, storage_bandwidth=...,
    cpu_cores=..., network_bandwidth=None, per_core_rate=None, bytes_per_sample=None,
    device_bytes_per_sample=None, pcie_bandwidth=None, prefetch=True, target_utilization=0.95)``

    - ``workload``: the samples (images or tokens) per second one accelerator consumes, as a
      number, a Quantity or a solver result with such a field.
    - ``hardware``: the accelerator (named in the result; optional).
    - ``dataset``: a workload of ``mlsysim/data/pipeline.yaml`` (``"imagenet"``, ``"tokens"``)
      giving the bytes per stored sample, the bytes copied per sample and the per-core decode
      rate, each overridable.
    - Bandwidths and cores are this accelerator's share (a node's divided by its accelerators).
      ``pcie_bandwidth`` defaults to the calibration's PCIe link; ``network_bandwidth`` (remote
      storage) is skipped when None.

    Every numeric argument accepts numpy arrays; arrays broadcast.
    """

    def solve(self, workload, hardware=None, dataset="imagenet", batch_size=256, storage_bandwidth=None,
              cpu_cores=None, network_bandwidth=None, per_core_rate=None, bytes_per_sample=None,
              device_bytes_per_sample=None, pcie_bandwidth=None, prefetch=True, target_utilization=0.95,
              calibration=None) -> DataPipelineResult:
        from mlsysim.specs.pipeline import workload as find_workload
        from mlsysim.specs.resolve import resolve_hardware

        cal = resolve_calibration(calibration)
        hw = resolve_hardware(hardware, "hardware") if hardware is not None else None
        spec = find_workload(dataset, "dataset")
        demand = _demand(workload)
        batch = validate.number(batch_size, "batch_size", integer=True)
        if storage_bandwidth is None:
            raise InputError("storage_bandwidth", "this accelerator's share of the storage read bandwidth (bytes/s)")
        if cpu_cores is None:
            raise InputError("cpu_cores", "the host cores that decode for this accelerator")
        storage = validate.number(storage_bandwidth, "storage_bandwidth", "byte/s")
        cores = validate.number(cpu_cores, "cpu_cores")
        net = None if network_bandwidth is None else validate.number(network_bandwidth, "network_bandwidth", "byte/s")
        rate = spec.per_core_rate if per_core_rate is None else validate.number(per_core_rate, "per_core_rate", "1/s")
        size = spec.bytes_per_sample if bytes_per_sample is None else validate.number(bytes_per_sample, "bytes_per_sample", "byte")
        dev = (spec.device_bytes_per_sample if device_bytes_per_sample is None
               else validate.number(device_bytes_per_sample, "device_bytes_per_sample", "byte"))
        pcie = cal.pcie_bandwidth if pcie_bandwidth is None else validate.number(pcie_bandwidth, "pcie_bandwidth", "byte/s")
        target = validate.number(target_utilization, "target_utilization", maximum=1)
        if not isinstance(prefetch, bool):
            raise InputError("prefetch", "True or False", prefetch)

        times = {
            "storage": pp.stage_time(batch, pp.link_rate(storage, size)),
            "network": None if net is None else pp.stage_time(batch, pp.link_rate(net, size)),
            "cpu": pp.stage_time(batch, pp.cpu_rate(cores, rate)),
            "pcie": pp.stage_time(batch, pp.link_rate(pcie, dev)),
            "accelerator": pp.stage_time(batch, demand),
        }
        present = [k for k in STAGES if times[k] is not None]
        parts = [times[k] for k in present]
        step = pp.overlapped_step(*parts) if prefetch else pp.sequential_step(*parts)
        utilization = times["accelerator"] / step
        stacked = np.stack(np.broadcast_arrays(*[np.asarray(t, float) for t in parts]))
        names = np.array(present)[np.argmax(stacked, axis=0)]
        bottleneck = names if names.ndim else str(names)
        sweep = validate.is_array(step, utilization)
        workers = pp.cores_needed(demand, rate, target)
        met = utilization >= target * (1 - 1e-12)
        values = {
            "step_time": step, "accelerator_utilization": utilization, "bottleneck": bottleneck,
            "throughput": batch / step, "demand": demand,
            "workers_needed": workers if np.ndim(workers) else int(workers),
            "read_bandwidth_needed": demand * size,
            "storage_time": times["storage"], "cpu_time": times["cpu"], "pcie_time": times["pcie"],
            "accelerator_time": times["accelerator"],
        }
        if net is not None:
            values["network_time"] = times["network"]
        reasons = [] if np.all(met) else [
            f"the accelerator is busy less than the target {target:.0%} of the time: the pipeline is bound by "
            f"{', '.join(sorted(set(np.atleast_1d(bottleneck)[~np.atleast_1d(met)].tolist())))}"]
        inputs = {"hardware": hw, "dataset": spec.key, "batch_size": batch_size, "prefetch": prefetch,
                  "target_utilization": target_utilization}
        return DataPipelineResult(values, feasible=met if sweep else bool(met), reasons=reasons, inputs=inputs)
