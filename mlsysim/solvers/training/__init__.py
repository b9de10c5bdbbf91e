"""Training solvers: memory per device, the step on a fleet, and the compute budget.

``TrainingMemoryModel``, ``TrainingModel`` and ``ComputeBudgetModel`` (also exported from
``mlsysim``); the checked configuration they share is :class:`._plan.TrainingPlan`.
"""
from __future__ import annotations

from mlsysim.solvers.training.budget import ComputeBudgetModel, ComputeBudgetResult
from mlsysim.solvers.training.memory import TrainingMemoryModel, TrainingMemoryResult
from mlsysim.solvers.training.model import TrainingModel, TrainingResult

__all__ = ["ComputeBudgetModel", "ComputeBudgetResult", "TrainingMemoryModel", "TrainingMemoryResult",
           "TrainingModel", "TrainingResult"]
