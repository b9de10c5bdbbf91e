"""Turn a spec or a catalogue name into a spec: the one place every layer above looks names up.

A spec object passes through unchanged; a string is looked up in its catalogue
(case and punctuation ignored, with suggestions when unknown); anything else is an
:class:`~mlsysim.errors.InputError` naming the parameter.
"""
from __future__ import annotations

from mlsysim.errors import InputError


def _resolve(value, parameter, spec_type, catalog, example):
    if isinstance(value, spec_type):
        return value
    if isinstance(value, str):
        return catalog.get(value)
    raise InputError(parameter, f"a {spec_type.__name__} (e.g. {example}) or a name", type(value).__name__)


def resolve_model(model, parameter: str = "model"):
    """A :class:`~mlsysim.specs.models.ModelSpec` from a spec or a name such as ``"Llama3_70B"``."""
    from mlsysim.specs.catalog import Models
    from mlsysim.specs.models import ModelSpec

    return _resolve(model, parameter, ModelSpec, Models, "mlsysim.Models.Llama3_70B")


def resolve_hardware(hardware, parameter: str = "hardware"):
    """A :class:`~mlsysim.specs.hardware.HardwareSpec` from a spec or a name such as ``"H100"``."""
    from mlsysim.specs.catalog import Hardware
    from mlsysim.specs.hardware import HardwareSpec

    return _resolve(hardware, parameter, HardwareSpec, Hardware, "mlsysim.Hardware.Cloud.H100")
