"""What-if devices: a real accelerator with some numbers changed, labelled hypothetical.

    >>> import mlsysim
    >>> fast = mlsysim.hardware.derive("H100", memory_bandwidth=2)          # 2x the bandwidth
    >>> fast.key
    'H100 (hypothetical: memory_bandwidth x2)'
    >>> big = mlsysim.hardware.derive("H100", memory="141 GiB", name="H100-141")

A plain number multiplies the field; a Quantity (or a string with a unit, ``"6.7 TB/s"``)
replaces it. ``peak_flops`` scales every precision, or takes a dict {precision: value}. The
derived device's key, name and every result that prints it carry the word *hypothetical* and
what changed; a changed field keeps its original source (so a citation still resolves) and
says, as an estimate, that it is a what-if, not a product.
"""
from __future__ import annotations

import numbers
from dataclasses import replace
from types import MappingProxyType

from mlsysim.errors import InputError

__all__ = ["derive", "FIELDS"]

#: Fields a derived device may change, with their unit (peak_flops: per precision, FLOP/s).
FIELDS = {
    "peak_flops": "flop/s",
    "memory": "byte",
    "memory_bandwidth": "byte/s",
    "tdp": "W",
    "interconnect_bandwidth": "byte/s",
    "unit_price": "USD",
    "external_bandwidth": "byte/s",
    "external_memory": "byte",
}
#: The attribute of :class:`~mlsysim.specs.hardware.HardwareSpec` behind each field name.
_ATTRIBUTE = {"memory": "memory_capacity"}


def _changed(base_value, change, field, unit):
    """The new Quantity for one field: base x change for a number, else the given quantity."""
    from mlsysim.core.units import Q_

    if isinstance(change, bool) or change is None:
        raise InputError(field, f"a scale factor (a positive number) or a quantity in {unit}", change)
    if isinstance(change, numbers.Real):
        if not change > 0:
            raise InputError(field, "a positive scale factor", change)
        if base_value is None:
            raise InputError(field, f"a quantity in {unit} (the base device states no {field} to scale)", change)
        return base_value * float(change), f"x{float(change):g}"
    try:
        quantity = Q_(change) if isinstance(change, str) else change
        magnitude = quantity.to(unit).magnitude
    except Exception:
        raise InputError(field, f"a scale factor or a quantity convertible to {unit}", change) from None
    if not magnitude > 0:
        raise InputError(field, f"a positive quantity in {unit}", change)
    return quantity, f"= {quantity:~P}"


def derive(base, name: str | None = None, **changes):
    """A hypothetical device: ``base`` (a spec or a catalogue name) with ``changes`` applied.

    Each change is a field of :data:`FIELDS` set to a scale factor (a plain number: 2 doubles it)
    or to a new value (a Quantity or a string such as ``"6.7 TB/s"``). ``name`` labels the
    device (default: the base's name); the key always reads ``"<base> (hypothetical: ...)"``.
    Derive from a derived device to stack changes; the label lists them all.
    """
    from mlsysim.specs.fields import Source
    from mlsysim.specs.resolve import resolve_hardware

    spec = resolve_hardware(base, "base")
    if not changes:
        raise InputError("changes", f"at least one field to change ({', '.join(FIELDS)})", "none")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise InputError("name", "a non-empty string", name)
    updates, labels = {}, []
    sources = dict(spec.sources)
    for field, change in changes.items():
        if field not in FIELDS:
            raise InputError(field, f"a hardware field to change ({', '.join(FIELDS)})", field)
        unit = FIELDS[field]
        if field == "peak_flops":
            if isinstance(change, dict):
                peak = dict(spec.peak_flops)
                for precision, value in change.items():
                    peak[precision], text = _changed(peak.get(precision), value, f"peak_flops.{precision}", unit)
                    labels.append(f"peak_flops.{precision} {text}")
            else:
                peak, text = {}, ""
                for precision, value in spec.peak_flops.items():
                    peak[precision], text = _changed(value, change, "peak_flops", unit)
                labels.append(f"peak_flops {text}")
            updates["peak_flops"] = MappingProxyType(peak)
        else:
            attribute = _ATTRIBUTE.get(field, field)
            updates[attribute], text = _changed(getattr(spec, attribute), change, field, unit)
            labels.append(f"{field} {text}")
        original = spec.source_of("peak_flops" if field == "peak_flops" else field)
        sources[field] = Source(original.key, f"{field} of {spec.key} ({original.key}) changed: {labels[-1]}",
                                "a hypothetical device, not a product")
    base_key = spec.key.split(" (hypothetical:")[0]
    label = ", ".join(([spec.hypothetical] if spec.hypothetical else []) + labels)
    key = f"{base_key} (hypothetical: {label})"
    title = name.strip() if name else spec.name.removeprefix("hypothetical ")
    return replace(spec, key=key, name=f"hypothetical {title}", hypothetical=label,
                   sources=MappingProxyType(sources), **updates)
