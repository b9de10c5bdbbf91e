"""Systems: the servers (nodes) accelerators come in, with the source of every number.

A system states its accelerator and how many it holds, the scale-up link inside the
node, its scale-out NICs (count and line rate each, per direction; vendors' "Gb/s" are
bits), its maximum input power and, where published, its price. The node's
non-accelerator power is derived: system power minus the accelerators' TDP.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

from mlsysim.errors import SpecError
from mlsysim.specs.fields import RecordReader, Source

_FIELDS = {"name", "accelerator", "accelerators", "scale_up", "scale_up_bandwidth", "nics", "nic_bandwidth",
           "system_power", "system_price", "server_price", "source", "source_detail", "estimate", "sources",
           "notes"}


@dataclass(frozen=True, repr=False)
class SystemSpec:
    """One node type. Quantities are pint Quantities; ``si`` holds SI floats (None when unknown)."""

    key: str
    name: str
    accelerator: object              # HardwareSpec
    accelerators: int
    scale_up: str = ""
    scale_up_bandwidth: object = None  # per accelerator, per direction
    nics: int | None = None
    nic_bandwidth: object = None       # per NIC, per direction
    system_power: object = None
    system_price: object = None
    server_price: object = None
    source: Source = Source("user-defined")
    sources: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    notes: str = ""

    def __post_init__(self):
        hw = self.accelerator.si
        link = self.scale_up_bandwidth.to("byte/s").magnitude if self.scale_up_bandwidth is not None else hw["link"]
        nic = self.nic_bandwidth.to("byte/s").magnitude if self.nic_bandwidth is not None else None
        power = self.system_power.to("W").magnitude if self.system_power is not None else None
        si = {
            "scale_up": link,
            "nic": nic,
            "scale_out": None if nic is None or self.nics is None else self.nics * nic,
            "system_power": power,
            "power_overhead": None if power is None else power - self.accelerators * hw["tdp"],
            "system_price": None if self.system_price is None else self.system_price.to("USD").magnitude,
            "server_price": None if self.server_price is None else self.server_price.to("USD").magnitude,
        }
        if si["power_overhead"] is not None and si["power_overhead"] < 0:
            raise SpecError(self.key, "system_power", f"is below the accelerators' TDP ({self.accelerators} x "
                                                      f"{hw['tdp']:g} W)")
        object.__setattr__(self, "si", MappingProxyType(si))

    @property
    def power_overhead(self):
        """Non-accelerator power of the node: system power - accelerators x TDP (a Quantity, or None)."""
        from mlsysim.core.units import Q_

        value = self.si["power_overhead"]
        return None if value is None else Q_(value, "W").to("kW")

    @property
    def scale_out_bandwidth(self):
        """All NICs of the node together, per direction (a Quantity, or None)."""
        from mlsysim.core.units import Q_

        value = self.si["scale_out"]
        return None if value is None else Q_(value, "byte/s").to("GB/s")

    def source_of(self, field_name: str) -> Source:
        """The source of one field (per-field override, else the record's source)."""
        return self.sources.get(field_name) or self.source

    def __repr__(self) -> str:
        nics = "" if self.nics is None else f", {self.nics} x {self.nic_bandwidth.to('Gbit/s'):.4g~P} NICs"
        power = "" if self.system_power is None else f", {self.system_power.to('kW'):.3g~P} max"
        return f"SystemSpec({self.key}: {self.name}, {self.accelerators} x {self.accelerator.key}{nics}{power})"


def system_from_record(key: str, record: dict, where: str, default_source: str = "user-defined") -> SystemSpec:
    """Validate one YAML record and build a :class:`SystemSpec`."""
    from mlsysim.specs.resolve import resolve_hardware

    reader = RecordReader(where, record, _FIELDS)
    try:
        accelerator = resolve_hardware(reader.text("accelerator"), "accelerator")
    except Exception as exc:  # unknown name: name the file and field
        raise SpecError(where, "accelerator", str(exc)) from None
    source, sources = reader.sources(set(_FIELDS), default_source)
    return SystemSpec(
        key=key,
        name=reader.text("name", key),
        accelerator=accelerator,
        accelerators=reader.count("accelerators"),
        scale_up=str(record.get("scale_up", "")),
        scale_up_bandwidth=reader.quantity("scale_up_bandwidth", "byte/s", required=False),
        nics=reader.count("nics", required=False),
        nic_bandwidth=reader.quantity("nic_bandwidth", "byte/s", required=False),
        system_power=reader.quantity("system_power", "W", required=False),
        system_price=reader.quantity("system_price", "USD", required=False),
        server_price=reader.quantity("server_price", "USD", required=False),
        source=source,
        sources=MappingProxyType(sources),
        notes=str(record.get("notes", "")),
    )
