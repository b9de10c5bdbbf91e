"""Argument handling shared by the solvers: resolve names, check calibration."""
from __future__ import annotations

from mlsysim.calibration import DEFAULT, Calibration
from mlsysim.errors import InputError


def resolve_model(model, parameter: str = "model"):
    from mlsysim.specs.catalog import Models
    from mlsysim.specs.models import ModelSpec

    if isinstance(model, ModelSpec):
        return model
    if isinstance(model, str):
        return Models.get(model)
    raise InputError(parameter, "a ModelSpec (e.g. mlsysim.Models.Llama3_70B) or a model name", type(model).__name__)


def resolve_hardware(hardware, parameter: str = "hardware"):
    from mlsysim.specs.catalog import Hardware
    from mlsysim.specs.hardware import HardwareSpec

    if isinstance(hardware, HardwareSpec):
        return hardware
    if isinstance(hardware, str):
        return Hardware.get(hardware)
    raise InputError(parameter, "a HardwareSpec (e.g. mlsysim.Hardware.Cloud.H100) or a hardware name", type(hardware).__name__)


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
