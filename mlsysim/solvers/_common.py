"""Argument handling shared by the solvers: resolve names, check calibration."""
from __future__ import annotations

from mlsysim.calibration import DEFAULT, Calibration
from mlsysim.errors import InputError


def _resolve(value, parameter, spec_type, catalog, example):
    """A spec passes through; a name is looked up in its catalogue; anything else is an error."""
    if isinstance(value, spec_type):
        return value
    if isinstance(value, str):
        return catalog.get(value)
    raise InputError(parameter, f"a {spec_type.__name__} (e.g. {example}) or a name", type(value).__name__)


def resolve_model(model, parameter: str = "model"):
    from mlsysim.specs.catalog import Models
    from mlsysim.specs.models import ModelSpec

    return _resolve(model, parameter, ModelSpec, Models, "mlsysim.Models.Llama3_70B")


def resolve_hardware(hardware, parameter: str = "hardware"):
    from mlsysim.specs.catalog import Hardware
    from mlsysim.specs.hardware import HardwareSpec

    return _resolve(hardware, parameter, HardwareSpec, Hardware, "mlsysim.Hardware.Cloud.H100")


def resolve_calibration(calibration) -> Calibration:
    if calibration is None:
        return DEFAULT
    if not isinstance(calibration, Calibration):
        raise InputError("calibration", "a mlsysim.calibration.Calibration", type(calibration).__name__)
    return calibration


def count_where(mask) -> str:
    """'at 3 of 10 points' for a boolean array, '' for a scalar."""
    import numpy as np

    if isinstance(mask, np.ndarray) and mask.ndim:
        return f" at {int(mask.sum())} of {mask.size} points"
    return ""
