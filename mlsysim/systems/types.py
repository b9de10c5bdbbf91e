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
    (default: the accelerator's own scale-up link bandwidth)."""

    name: str
    accelerator: object
    accelerators_per_node: int = 8
    intra_node_bw: object = None

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
