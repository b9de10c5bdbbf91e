"""Compatibility path: ``from mlsysim.core.constants import Q_`` (and ``ureg``)."""
from mlsysim.core.units import Q_, ureg

__all__ = ["Q_", "ureg"]
