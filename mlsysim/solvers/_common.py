"""Argument handling shared by the solvers (re-exported from the layers below them)."""
from __future__ import annotations

from mlsysim.calibration import resolve_calibration
from mlsysim.core.format import count_where
from mlsysim.specs.resolve import resolve_hardware, resolve_model

__all__ = ["resolve_calibration", "resolve_hardware", "resolve_model", "count_where"]
