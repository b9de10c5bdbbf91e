"""Hardware specs: one frozen record per accelerator, with the source of every number.

Peak FLOP/s are the vendor's **dense** figures (never the 2:4-sparsity ones).
``interconnect_bandwidth`` is the scale-up link bandwidth per device in one
direction (NVLink, Infinity Fabric, ICI, or PCIe for cards without one), summed
over its ``interconnect_links``; ``interconnect_topology`` says how much of it a
ring collective can use (:meth:`HardwareSpec.ring_bandwidth`).

Wafer-scale devices keep their weights in on-chip SRAM (``memory_kind: sram``): ``memory`` and
``memory_bandwidth`` are then the SRAM's, and ``external_bandwidth`` / ``external_memory`` describe
the off-wafer weight store a layer can be streamed from (:mod:`mlsysim.solvers.wafer`).
A device made with :func:`mlsysim.hardware.derive` carries ``hypothetical`` (what was changed),
and its key and every printout say so.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from mlsysim.core.validate import BYTES_PER_ELEMENT
from mlsysim.errors import InputError, SpecError
from mlsysim.specs.fields import RecordReader, Source, read_yaml

TIERS = ("cloud", "edge", "mobile", "tiny")

#: When a device states no peak for a precision, its math runs in fp16 (or the next
#: wider precision it states): weight-only quantization, as in GPTQ/AWQ kernels,
#: stores 4- or 8-bit weights and multiplies in fp16 [@frantar2023gptq; @lin2024awq].
COMPUTE_FALLBACK = {
    "int4": ("int4", "fp16", "bf16", "fp32"),
    "fp4": ("fp4", "fp16", "bf16", "fp32"),
    "int8": ("int8", "fp16", "bf16", "fp32"),
    "fp8": ("fp8", "fp16", "bf16", "fp32"),
    "fp16": ("fp16", "bf16", "fp32"),
    "bf16": ("bf16", "fp16", "fp32"),
    "tf32": ("tf32", "fp32"),
    "fp32": ("fp32", "tf32"),
    "fp64": ("fp64",),
}

_FIELDS = {"name", "tier", "source", "source_detail", "estimate", "sources", "peak_flops", "memory",
           "memory_bandwidth", "tdp", "interconnect", "interconnect_bandwidth", "interconnect_links",
           "interconnect_topology", "unit_price", "flash", "notes", "memory_kind", "external_bandwidth",
           "external_memory"}

#: Where a device keeps its weights: off-chip HBM/DRAM, or on-chip SRAM (wafer-scale engines).
MEMORY_KINDS = ("hbm", "sram")

#: How the scale-up links are joined: a switch (NVSwitch), a fully connected mesh of point-to-point
#: links (MI300X xGMI), a torus (TPU ICI), or the host's PCIe.
TOPOLOGIES = ("switch", "mesh", "torus", "pcie")


@dataclass(frozen=True, repr=False)
class HardwareSpec:
    """One accelerator. Quantities are pint Quantities; ``si`` holds the same numbers as SI floats."""

    key: str
    name: str
    tier: str
    peak_flops: MappingProxyType  # precision -> Quantity in FLOP/s (dense)
    memory_capacity: object
    memory_bandwidth: object
    tdp: object
    interconnect: str | None = None
    interconnect_bandwidth: object = None
    interconnect_links: int = 1
    interconnect_topology: str = "switch"
    unit_price: object = None
    flash: object = None
    source: Source = Source("user-defined")
    sources: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    notes: str = ""
    memory_kind: str = "hbm"
    external_bandwidth: object = None
    external_memory: object = None
    hypothetical: str = ""

    def __post_init__(self):
        si = {
            "peak_flops": {p: q.to("flop/s").magnitude for p, q in self.peak_flops.items()},
            "memory": self.memory_capacity.to("byte").magnitude,
            "bandwidth": self.memory_bandwidth.to("byte/s").magnitude,
            "tdp": self.tdp.to("W").magnitude,
            "link": None if self.interconnect_bandwidth is None else self.interconnect_bandwidth.to("byte/s").magnitude,
            "price": None if self.unit_price is None else self.unit_price.to("USD").magnitude,
            "external_bandwidth": (None if self.external_bandwidth is None
                                   else self.external_bandwidth.to("byte/s").magnitude),
            "external_memory": None if self.external_memory is None else self.external_memory.to("byte").magnitude,
        }
        object.__setattr__(self, "si", MappingProxyType(si))

    # -- derived quantities -------------------------------------------------
    def compute_precision(self, precision: str) -> str:
        """The precision the math actually runs in for weights stored in ``precision``."""
        for candidate in COMPUTE_FALLBACK[precision]:
            if candidate in self.si["peak_flops"]:
                return candidate
        raise InputError("precision", f"a precision {self.key} has a peak for ({', '.join(self.peak_flops)})", precision)

    def ring_bandwidth(self, devices):
        """Bytes/s per device, per direction, that one ring collective over ``devices`` devices
        of this kind gets from the scale-up links (SI float or array; None without a link):

            W_ring = n_used x W / n_links

        with W the per-direction bandwidth summed over the device's n_links links and n_used
        the links the ring can drive at once: all of them through a switch (NVSwitch) or the
        host link (pcie); min(p - 1, n_links) in a fully connected mesh, one link to each peer
        [@amd2025rcclxgmi]; 2 in a torus, a bidirectional ring along one axis
        [@jouppi2023tpuv4]. Summing every link of a mesh or torus overstates what a ring gets.
        """
        total = self.si["link"]
        if total is None:
            return None
        per_link = total / self.interconnect_links
        topology = self.interconnect_topology
        if topology == "mesh":
            peers = devices - 1
            if isinstance(peers, np.ndarray):
                used = np.clip(peers, 1, self.interconnect_links)
            else:
                used = min(max(peers, 1), self.interconnect_links)
            return used * per_link
        if topology == "torus":
            return min(2, self.interconnect_links) * per_link + 0.0 * devices
        return total + 0.0 * devices

    def peak(self, precision: str = "fp16"):
        """Dense peak FLOP/s for ``precision`` (falling back as :meth:`compute_precision` says)."""
        from mlsysim.core.validate import precision as check_precision

        return self.peak_flops[self.compute_precision(check_precision(precision))]

    def ridge_point(self, precision: str = "fp16"):
        """Arithmetic intensity (FLOP/byte) where the roofline bends: peak / bandwidth
        (:func:`mlsysim.physics.roofline.ridge_point`)."""
        from mlsysim.physics.roofline import ridge_point

        return ridge_point(self.peak(precision), self.memory_bandwidth).to("flop/byte")

    def source_of(self, field_name: str) -> Source:
        """The source of one field (per-field override, else the record's source)."""
        return self.sources.get(field_name) or self.sources.get(field_name.split(".")[0]) or self.source

    @property
    def is_hypothetical(self) -> bool:
        """True for a what-if device made by :func:`mlsysim.hardware.derive`."""
        return bool(self.hypothetical)

    def __repr__(self) -> str:
        fp16 = self.peak_flops.get("fp16") or self.peak_flops.get("bf16") or next(iter(self.peak_flops.values()))
        return (f"HardwareSpec({self.key}: {self.name}, {fp16.to('TFLOP/s'):.4g~P} dense, "
                f"{self.memory_capacity.to('GB'):.4g~P}, {self.memory_bandwidth.to('TB/s'):.3g~P}, {self.tdp:.4g~P})")


def hardware_from_record(key: str, record: dict, where: str, default_source: str = "user-defined") -> HardwareSpec:
    """Validate one YAML record and build a :class:`HardwareSpec`."""
    reader = RecordReader(where, record, _FIELDS)
    tier = reader.text("tier", "cloud").lower()
    if tier not in TIERS:
        raise SpecError(where, "tier", f"expected one of {', '.join(TIERS)}, got {tier!r}")
    flops_raw = record.get("peak_flops")
    if not isinstance(flops_raw, dict) or not flops_raw:
        raise SpecError(where, "peak_flops", "is required: a mapping of precision -> dense peak, e.g. {fp16: 989.4 TFLOP/s}")
    peak = {}
    for precision, value in flops_raw.items():
        if precision not in BYTES_PER_ELEMENT:
            raise SpecError(where, f"peak_flops.{precision}", f"unknown precision; expected one of {', '.join(BYTES_PER_ELEMENT)}")
        peak[precision] = reader.quantity(f"peak_flops.{precision}", "flop/s", value=value)
    links = reader.count("interconnect_links", required=False) or 1
    topology = reader.text("interconnect_topology", "switch").lower()
    if topology not in TOPOLOGIES:
        raise SpecError(where, "interconnect_topology", f"expected one of {', '.join(TOPOLOGIES)}, got {topology!r}")
    kind = reader.text("memory_kind", "hbm").lower()
    if kind not in MEMORY_KINDS:
        raise SpecError(where, "memory_kind", f"expected one of {', '.join(MEMORY_KINDS)}, got {kind!r}")
    fields = set(_FIELDS) | {f"peak_flops.{p}" for p in peak}
    source, sources = reader.sources(fields, default_source)
    return HardwareSpec(
        key=key,
        name=reader.text("name", key),
        tier=tier,
        peak_flops=MappingProxyType(peak),
        memory_capacity=reader.quantity("memory", "byte"),
        memory_bandwidth=reader.quantity("memory_bandwidth", "byte/s"),
        tdp=reader.quantity("tdp", "W"),
        interconnect=str(record["interconnect"]) if record.get("interconnect") else None,
        interconnect_bandwidth=reader.quantity("interconnect_bandwidth", "byte/s", required=False),
        interconnect_links=links,
        interconnect_topology=topology,
        unit_price=reader.quantity("unit_price", "USD", required=False),
        flash=reader.quantity("flash", "byte", required=False),
        source=source,
        sources=MappingProxyType(sources),
        notes=str(record.get("notes", "")),
        memory_kind=kind,
        external_bandwidth=reader.quantity("external_bandwidth", "byte/s", required=False),
        external_memory=reader.quantity("external_memory", "byte", required=False),
    )


def load_hardware(path: str | Path, name: str | None = None) -> HardwareSpec:
    """Load a user-defined accelerator from YAML, validated like the built-in catalogue.

    The file holds one record, either at the top level (with a ``name`` field) or
    under one key; with several records, pass ``name=`` to choose one.
    """
    data = read_yaml(path)
    return hardware_from_record(*_pick_record(data, path, name))


def _pick_record(data: dict, path, name):
    if "name" in data and not isinstance(data["name"], dict):
        return Path(path).stem, data, str(path)
    if name is None:
        if len(data) != 1:
            raise SpecError(str(path), "(file)", f"holds {len(data)} records ({', '.join(map(str, data))}); pass name=")
        name = next(iter(data))
    if name not in data:
        raise SpecError(str(path), name, f"no such record; records: {', '.join(map(str, data))}")
    return str(name), data[name], f"{path}:{name}"
