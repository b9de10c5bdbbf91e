"""How much of a training run do failures and checkpoints eat?

A synchronous job of N devices stops at the first failure of any device, so its mean time
between failures is M = M_device / N. It checkpoints S bytes at write bandwidth B (delta = S / B)
every tau seconds of work, and each failure costs a restart of R seconds and, on average, half an
interval of lost work. To first order [@young1974first; @daly2006higher]

    goodput = 1 - delta / tau - tau / (2 M) - R / M,

with Young's tau = sqrt(2 delta M) or Daly's higher-order interval. A run of W seconds of
failure-free work then takes W / goodput, during which about that time / M failures occur.
:func:`mlsysim.simulate_checkpointing` checks the formula event by event and shows where it
breaks (M comparable to tau or R).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from mlsysim.core import validate
from mlsysim.errors import InputError
from mlsysim.physics import reliability as rel
from mlsysim.physics.economics import SECONDS_PER_DAY
from mlsysim.solvers.result import Result


class ReliabilityResult(Result):
    TITLE = "Failures and checkpoints"
    FIELDS = {
        "devices": (None, None, "Devices"),
        "cluster_mtbf": ("s", "hour", "Job MTBF"),
        "expected_failures": (None, None, "Expected failures"),
        "checkpoint_size": ("B", "GB", "Checkpoint size"),
        "checkpoint_time": ("s", "s", "Checkpoint write time"),
        "checkpoint_interval": ("s", "minute", "Checkpoint interval"),
        "young_interval": ("s", "minute", "Young's interval"),
        "daly_interval": ("s", "minute", "Daly's interval"),
        "write_fraction": ("", "percent", "Lost to writing"),
        "rework_fraction": ("", "percent", "Lost to rework"),
        "restart_fraction": ("", "percent", "Lost to restarts"),
        "goodput": ("", "percent", "Goodput"),
        "duration": ("s", "day", "Failure-free duration"),
        "effective_duration": ("s", "day", "Wall-clock duration"),
    }


@lru_cache(maxsize=None)
def default_device_mtbf():
    """(seconds, Source) of the default per-device MTBF (``mlsysim/data/reliability.yaml``)."""
    from mlsysim.core.units import Q_
    from mlsysim.specs.catalog import DATA
    from mlsysim.specs.fields import Source, read_yaml

    entry = read_yaml(DATA / "reliability.yaml")["device_mtbf"]
    return (float(Q_(entry["value"]).to("s").magnitude),
            Source(entry["source"], entry.get("detail", ""), entry.get("estimate", "")))


def _devices(fleet):
    from mlsysim.systems.types import Fleet

    if isinstance(fleet, Fleet):
        return float(fleet.total_accelerators), fleet
    return validate.number(fleet, "fleet", integer=True), None


def _duration(duration):
    """Seconds of failure-free work: a number (seconds), a Quantity, or a result with a duration."""
    if isinstance(duration, Result):
        for name in ("training_time", "duration", "time"):
            if name in duration.field_names():
                return validate.number(getattr(duration, name), "duration", "s")
        raise InputError("duration", "a result with a training_time or duration field", type(duration).__name__)
    return validate.number(duration, "duration", "s")


class ReliabilityModel:
    """Cluster MTBF, checkpoint cost, the optimal interval and goodput of a synchronous run.

    ``solve(fleet, duration, checkpoint_bytes=None, write_bandwidth=None, restart_time=0,
    mtbf_per_device=None, failures_per_day=None, model=None, interval="young",
    weight_bytes=2, optimizer_bytes=12)``

    - ``fleet``: a :class:`~mlsysim.Fleet` or a device count (arrays sweep cluster sizes).
    - ``duration``: the failure-free training time (seconds, a Quantity, or a result with a
      ``training_time``).
    - ``checkpoint_bytes``: default ``model``'s parameters x (weight_bytes + optimizer_bytes),
      mixed-precision Adam [@rajbhandari2020zero]; ``write_bandwidth`` (bytes/s) sets its write time.
    - ``mtbf_per_device`` (seconds) or ``failures_per_day`` (of the whole fleet); default: the
      per-device MTBF of ``mlsysim/data/reliability.yaml``.
    - ``interval``: ``"young"`` (sqrt(2 delta M)), ``"daly"``, or a number of seconds.

    Numeric arguments accept numpy arrays; arrays broadcast. A goodput at or below zero is
    infeasible: the first-order model no longer holds there.
    """

    def solve(self, fleet, duration, checkpoint_bytes=None, write_bandwidth=None, restart_time=0.0,
              mtbf_per_device=None, failures_per_day=None, model=None, interval="young", weight_bytes=2.0,
              optimizer_bytes=12.0) -> ReliabilityResult:
        devices, fleet_obj = _devices(fleet)
        work = _duration(duration)
        used = {}
        if mtbf_per_device is not None and failures_per_day is not None:
            raise InputError("failures_per_day", "either mtbf_per_device or failures_per_day, not both", failures_per_day)
        if failures_per_day is not None:
            per_day = validate.number(failures_per_day, "failures_per_day", "1/day")
            mtbf = SECONDS_PER_DAY / per_day
        else:
            if mtbf_per_device is None:
                device_mtbf, source = default_device_mtbf()
                used["mtbf_per_device"] = (device_mtbf, source)
            else:
                device_mtbf = validate.number(mtbf_per_device, "mtbf_per_device", "s")
            mtbf = rel.cluster_mtbf(device_mtbf, devices)
        if checkpoint_bytes is None:
            if model is None:
                raise InputError("checkpoint_bytes", "a size in bytes, or model= to size it from the parameters")
            from mlsysim.specs.resolve import resolve_model

            spec = resolve_model(model, "model")
            size = rel.checkpoint_bytes(float(spec.parameters.to("count").magnitude),
                                        validate.number(weight_bytes, "weight_bytes"),
                                        validate.number(optimizer_bytes, "optimizer_bytes", inclusive=True))
        else:
            size = validate.number(checkpoint_bytes, "checkpoint_bytes", "byte")
        if write_bandwidth is None:
            raise InputError("write_bandwidth", "the checkpoint write bandwidth in bytes/s (a number or a Quantity)")
        bandwidth = validate.number(write_bandwidth, "write_bandwidth", "byte/s")
        restart = validate.number(restart_time, "restart_time", "s", inclusive=True)

        delta = rel.checkpoint_time(size, bandwidth)
        young = rel.young_interval(delta, mtbf)
        daly = rel.daly_interval(delta, mtbf)
        if isinstance(interval, str):
            tau = {"young": young, "daly": daly}.get(interval.lower())
            if tau is None:
                raise InputError("interval", "'young', 'daly' or a number of seconds", interval)
        else:
            tau = validate.number(interval, "interval", "s")
        write, rework, restarts = (rel.write_fraction(delta, tau), rel.rework_fraction(tau, mtbf),
                                   rel.restart_fraction(restart, mtbf))
        good = rel.goodput(delta, tau, mtbf, restart)
        ok = np.asarray(good) > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            wall = np.where(ok, rel.wall_clock(work, np.where(ok, good, 1.0)), np.inf)
        wall = wall if np.ndim(wall) else float(wall)
        values = {
            "devices": devices, "cluster_mtbf": mtbf, "expected_failures": rel.expected_failures(wall, mtbf),
            "checkpoint_size": size, "checkpoint_time": delta, "checkpoint_interval": tau,
            "young_interval": young, "daly_interval": daly, "write_fraction": write, "rework_fraction": rework,
            "restart_fraction": restarts, "goodput": good, "duration": work, "effective_duration": wall,
        }
        sweep = validate.is_array(*[v for v in values.values()])
        reasons = [] if np.all(ok) else [
            "goodput at or below zero: failures come faster than the first-order model allows "
            "(simulate_checkpointing shows what happens there)"]
        inputs = {"fleet": fleet_obj.name if fleet_obj else None, "interval": interval if isinstance(interval, str) else None,
                  "assumptions": used}
        return ReliabilityResult(values, feasible=ok if sweep else bool(ok), reasons=reasons, inputs=inputs)
