"""Argument handling shared by the solvers (re-exported from the layers below them)."""
from __future__ import annotations

from mlsysim.calibration import resolve_calibration
from mlsysim.core.format import count_where
from mlsysim.specs.resolve import resolve_hardware, resolve_model

__all__ = ["resolve_calibration", "resolve_hardware", "resolve_model", "count_where", "kv_bytes_per_token",
           "kv_bytes_per_token_si",
           "host_power_per_accelerator"]


def kv_bytes_per_token(model, precision: str = "fp16"):
    """KV-cache bytes per token of ``model`` at ``precision`` (a Quantity in bytes): the latent
    vector of multi-head latent attention where the model has one
    (:func:`mlsysim.physics.transformer.kv_latent_bytes_per_token`), else keys and values of every
    KV head (:func:`mlsysim.physics.transformer.kv_cache_bytes_per_token`)."""
    from mlsysim.core.units import Q_

    return Q_(kv_bytes_per_token_si(model, precision), "byte")


def kv_bytes_per_token_si(model, precision: str = "fp16") -> float:
    """:func:`kv_bytes_per_token` as a plain number of bytes, for solvers that compute in SI
    floats (no Quantity is built on their hot path)."""
    from mlsysim.core import validate
    from mlsysim.physics import transformer as tf

    m = resolve_model(model)
    b = validate.BYTES_PER_ELEMENT[validate.precision(precision)]
    if not m.is_transformer:
        from mlsysim.errors import InputError

        raise InputError("model", "a transformer (a KV cache needs attention layers)", m.key)
    if m.kv_latent_dim:
        return tf.kv_latent_bytes_per_token(m.layers, m.kv_latent_dim, b)
    return tf.kv_cache_bytes_per_token(m.layers, m.kv_heads, m.head_dim, b)


def host_power_per_accelerator(node):
    """(watts, Source): the non-accelerator power of ``node`` per accelerator (CPUs, DRAM, NICs,
    switches, fans). The node's own ``power_overhead`` when it states one, else that of the
    catalogued system with the same accelerator and count (8 x B200 is a DGX B200), else the
    DGX H100 default of ``economics.yaml``. One rule for every solver that prices or weighs a node's
    energy (EconomicsModel, CarbonModel)."""
    from mlsysim.specs import economics as defaults
    from mlsysim.specs.fields import Source

    per_node = node.accelerators_per_node
    if node.power_overhead is not None:
        source = node.source_of("power_overhead") or Source("user-defined", f"mlsysim.Node({node.name!r}).power_overhead")
        return node.power_overhead.to("W").magnitude / per_node, source
    system = node.matching_system()
    if system is not None and system.si["power_overhead"] is not None:
        return system.si["power_overhead"] / per_node, system.source_of("system_power")
    return defaults.default("node_power_overhead_per_accelerator")
