"""Input-pipeline workloads (``mlsysim/data/pipeline.yaml``): bytes and decode cost per sample,
each with its source."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from mlsysim.errors import SpecError, UnknownChoiceError
from mlsysim.specs.fields import Source, read_yaml

FILE = "pipeline.yaml"
_UNITS = {"samples": None, "bytes_per_sample": "B", "device_bytes_per_sample": "B", "per_core_rate": "1/s"}


@dataclass(frozen=True)
class PipelineWorkload:
    """What one sample costs: stored bytes, bytes sent to the device, and host-core decode rate."""

    key: str
    description: str
    bytes_per_sample: float
    device_bytes_per_sample: float
    per_core_rate: float
    samples: float | None
    sources: dict

    def source_of(self, field: str) -> Source:
        return self.sources[field]


@lru_cache(maxsize=None)
def _data() -> dict:
    from mlsysim.specs.catalog import DATA

    return read_yaml(DATA / FILE)


@lru_cache(maxsize=None)
def _load(key: str) -> PipelineWorkload:
    from mlsysim.core.units import Q_

    entry = _data()[key]
    values, sources = {}, {}
    for field, unit in _UNITS.items():
        if field not in entry:
            if field == "samples":
                values[field] = None
                continue
            raise SpecError(FILE, f"{key}.{field}", "missing")
        rec = entry[field]
        if not isinstance(rec, dict) or "value" not in rec or "source" not in rec:
            raise SpecError(FILE, f"{key}.{field}", "expected {value, source, detail}")
        try:
            values[field] = float(Q_(rec["value"]).to(unit).magnitude) if unit else float(rec["value"])
        except Exception:
            raise SpecError(FILE, f"{key}.{field}.value", f"expected a quantity in {unit}, got {rec['value']!r}") from None
        sources[field] = Source(str(rec["source"]), str(rec.get("detail", "")), str(rec.get("estimate", "")))
    return PipelineWorkload(key, str(entry.get("description", key)), values["bytes_per_sample"],
                            values["device_bytes_per_sample"], values["per_core_rate"], values["samples"], sources)


def workloads() -> list[str]:
    return list(_data())


def workload(name, parameter: str = "workload") -> PipelineWorkload:
    """The workload ``name`` (``"imagenet"``, ``"tokens"``)."""
    if isinstance(name, PipelineWorkload):
        return name
    key = str(name).strip().lower()
    if key not in _data():
        raise UnknownChoiceError(parameter, "pipeline workload", str(name), list(_data()))
    return _load(key)
