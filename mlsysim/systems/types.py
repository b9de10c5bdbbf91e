"""A fleet is ``count`` identical nodes, each holding ``accelerators_per_node`` devices."""
from __future__ import annotations

import math
from dataclasses import dataclass

from mlsysim.core import validate
from mlsysim.errors import InputError


def _bandwidth(value, parameter):
    if value is None:
        return None
    from mlsysim.core.units import Q_

    return Q_(validate.number(value, parameter, "byte/s"), "byte/s").to("GB/s")


@dataclass(frozen=True)
class NetworkFabric:
    """The scale-out network between nodes: a name and the bandwidth per node (per direction)."""

    name: str
    bandwidth: object = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise InputError("name", "a non-empty string", self.name)
        object.__setattr__(self, "bandwidth", _bandwidth(self.bandwidth, "bandwidth"))


@dataclass(frozen=True)
class Node:
    """One server: ``accelerators_per_node`` devices joined by ``intra_node_bw``
    (default: the accelerator's own scale-up link bandwidth, per direction).

    What a node states beyond its accelerators, all optional: ``nics`` scale-out ports of
    ``nic_bandwidth`` each (bytes/s per direction, or a Quantity such as
    ``Q_(400, "Gbit/s")``: a vendor's "Gb/s" is bits), its non-accelerator ``power_overhead``
    (watts for the whole node: CPUs, DRAM, switches, NICs, fans) and its non-accelerator
    ``server_price`` (USD for the whole node). ``Node.from_system("DGX_H100")`` fills them, with
    their sources, from the systems catalogue (``mlsysim/data/systems.yaml``).
    """

    name: str
    accelerator: object
    accelerators_per_node: int = 8
    intra_node_bw: object = None
    nics: int | None = None
    nic_bandwidth: object = None
    power_overhead: object = None
    server_price: object = None
    system: object = None

    def __post_init__(self):
        from mlsysim.specs.resolve import resolve_hardware

        if not isinstance(self.name, str) or not self.name:
            raise InputError("name", "a non-empty string", self.name)
        object.__setattr__(self, "accelerator", resolve_hardware(self.accelerator, "accelerator"))
        per_node = validate.number(self.accelerators_per_node, "accelerators_per_node", integer=True)
        if not isinstance(per_node, float):
            raise InputError("accelerators_per_node", "a single integer", self.accelerators_per_node)
        object.__setattr__(self, "accelerators_per_node", int(per_node))
        bw = self.intra_node_bw if self.intra_node_bw is not None else self.accelerator.interconnect_bandwidth
        object.__setattr__(self, "intra_node_bw", _bandwidth(bw, "intra_node_bw"))
        if self.nics is not None:
            nics = validate.number(self.nics, "nics", integer=True)
            if not isinstance(nics, float):
                raise InputError("nics", "a single integer", self.nics)
            object.__setattr__(self, "nics", int(nics))
        object.__setattr__(self, "nic_bandwidth", _bandwidth(self.nic_bandwidth, "nic_bandwidth"))
        if (self.nics is None) != (self.nic_bandwidth is None):
            raise InputError("nics", "both nics and nic_bandwidth, or neither",
                             f"nics={self.nics}, nic_bandwidth={self.nic_bandwidth}")
        if self.power_overhead is not None:
            from mlsysim.core.units import Q_

            watts = validate.number(self.power_overhead, "power_overhead", "W", minimum=0, inclusive=True)
            object.__setattr__(self, "power_overhead", Q_(watts, "W").to("kW"))
        if self.server_price is not None:
            from mlsysim.core.units import Q_

            usd = validate.number(self.server_price, "server_price", "USD", minimum=0, inclusive=True)
            object.__setattr__(self, "server_price", Q_(usd, "USD"))
        # SI floats for the solvers (bytes/s per direction): one device's link, and all NICs together
        object.__setattr__(self, "si", {
            "intra_node_bw": None if self.intra_node_bw is None else self.intra_node_bw.to("byte/s").magnitude,
            "scale_out": None if self.nics is None else self.nics * self.nic_bandwidth.to("byte/s").magnitude,
        })

    @classmethod
    def from_system(cls, system, name: str | None = None) -> "Node":
        """A node built from a systems-catalogue entry (``"DGX_H100"``, ``"DGX_B200"``, ...): its
        accelerator and count, scale-up bandwidth, NICs, non-accelerator power and price."""
        from mlsysim.specs.catalog import Systems
        from mlsysim.specs.systems import SystemSpec

        if not isinstance(system, (str, SystemSpec)):
            raise InputError("system", "a SystemSpec or a name such as 'DGX_H100'", type(system).__name__)
        spec = Systems.get(system)
        si = spec.si
        return cls(name or spec.name, spec.accelerator, spec.accelerators, si["scale_up"], spec.nics,
                   si["nic"], si["power_overhead"], si["server_price"], spec)

    @property
    def scale_out_bandwidth(self):
        """All NICs of the node together, per direction (a Quantity in GB/s, or None)."""
        if self.nics is None:
            return None
        return (self.nics * self.nic_bandwidth).to("GB/s")

    def matching_system(self):
        """The node's system: the one it was built from, else the catalogued system with the same
        accelerator and count (an 8 x B200 node is a DGX B200), else None."""
        if self.system is not None:
            return self.system
        from mlsysim.specs.catalog import Systems

        for spec in Systems:
            if spec.accelerator.key == self.accelerator.key and spec.accelerators == self.accelerators_per_node:
                return spec
        return None

    def source_of(self, field_name: str):
        """Where one of the node's numbers comes from (its system's source), or None for user input."""
        if self.system is None:
            return None
        names = {"nic_bandwidth": "nic_bandwidth", "nics": "nics", "power_overhead": "system_power",
                 "server_price": "server_price", "intra_node_bw": "scale_up_bandwidth"}
        return self.system.source_of(names.get(field_name, field_name))


@dataclass(frozen=True)
class Fleet:
    """``count`` nodes of one kind, optionally on a named network fabric."""

    name: str
    node: Node
    count: int
    fabric: NetworkFabric | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise InputError("name", "a non-empty string", self.name)
        if not isinstance(self.node, Node):
            raise InputError("node", "a mlsysim.Node", type(self.node).__name__)
        count = validate.number(self.count, "count", integer=True)
        if not isinstance(count, float):
            raise InputError("count", "a single integer", self.count)
        object.__setattr__(self, "count", int(count))
        if self.fabric is not None and not isinstance(self.fabric, NetworkFabric):
            raise InputError("fabric", "a mlsysim.NetworkFabric or None", type(self.fabric).__name__)

    @property
    def total_accelerators(self) -> int:
        return self.count * self.node.accelerators_per_node

    @property
    def accelerator(self):
        return self.node.accelerator

    @classmethod
    def from_system(cls, system, nodes, name: str | None = None, fabric=None) -> "Fleet":
        """``nodes`` nodes of a systems-catalogue entry: ``Fleet.from_system("DGX_H100", 128)``."""
        node = Node.from_system(system)
        return cls(name or f"{node.system.key} cluster", node, nodes, fabric)

    @classmethod
    def for_replicas(cls, name: str, node: Node, replicas, devices_per_replica, fabric=None) -> "Fleet":
        """The smallest fleet of ``node`` that holds ``replicas`` replicas of ``devices_per_replica``
        devices each: ceil(replicas x devices / accelerators_per_node) nodes."""
        replicas = validate.number(replicas, "replicas", integer=True)
        devices = validate.number(devices_per_replica, "devices_per_replica", integer=True)
        if not isinstance(replicas, float) or not isinstance(devices, float):
            raise InputError("replicas", "single integers (use a loop for sweeps of fleets)", replicas)
        return cls(name, node, math.ceil(replicas * devices / node.accelerators_per_node), fabric)

    def __repr__(self) -> str:
        fabric = f", fabric {self.fabric.name}" if self.fabric else ""
        return (f"Fleet({self.name}: {self.count} x {self.node.name} of {self.node.accelerators_per_node} x "
                f"{self.accelerator.key} = {self.total_accelerators} accelerators{fabric})")
