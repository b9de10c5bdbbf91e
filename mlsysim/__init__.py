"""mlsysim: a small first-principles engine for machine-learning systems questions.

    >>> import mlsysim
    >>> r = mlsysim.ServingModel().solve(mlsysim.Models.Llama3_70B, mlsysim.Hardware.Cloud.H100,
    ...                                  seq_len=4096, tensor_parallel=2)
    >>> r.ttft, r.itl, r.feasible

Names are loaded on first use (PEP 562), so ``import mlsysim`` is cheap; pint and
the data catalogues load when a quantity or spec is first needed.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "Engine": "mlsysim.solvers.engine",
    "ServingModel": "mlsysim.solvers.serving",
    "OperatorModel": "mlsysim.solvers.operators",
    "InferenceScalingModel": "mlsysim.solvers.reasoning",
    "EconomicsModel": "mlsysim.solvers.economics",
    "BatchingModel": "mlsysim.solvers.batching",
    "BatchingOptimizer": "mlsysim.solvers.batching",
    "simulate_batching": "mlsysim.simulation",
    "simulate_schedule": "mlsysim.simulation",
    "CapacityModel": "mlsysim.solvers.capacity",
    "ServingScheduleModel": "mlsysim.solvers.schedule",
    "ServingFleetModel": "mlsysim.solvers.schedule",
    "DataPipelineModel": "mlsysim.solvers.fleet.pipeline",
    "ReliabilityModel": "mlsysim.solvers.fleet.reliability",
    "CarbonModel": "mlsysim.solvers.fleet.carbon",
    "TrainingRun": "mlsysim.solvers.fleet.training_run",
    "ServingDesignSpace": "mlsysim.search",
    "TrainingDesignSpace": "mlsysim.search",
    "WaferScaleModel": "mlsysim.solvers.wafer",
    "simulate_checkpointing": "mlsysim.simulation",
    "RequestLatencyModel": "mlsysim.solvers.latency",
    "kv_bytes_per_token": "mlsysim.solvers._common",
    "Models": "mlsysim.specs.catalog",
    "Hardware": "mlsysim.specs.catalog",
    "Systems": "mlsysim.specs.catalog",
    "SystemSpec": "mlsysim.specs.systems",
    "TrainingMemoryModel": "mlsysim.solvers.training.memory",
    "TrainingModel": "mlsysim.solvers.training.model",
    "ComputeBudgetModel": "mlsysim.solvers.training.budget",
    "Fleet": "mlsysim.systems.types",
    "Node": "mlsysim.systems.types",
    "NetworkFabric": "mlsysim.systems.types",
    "Q_": "mlsysim.core.units",
    "ureg": "mlsysim.core.units",
    "load_hardware": "mlsysim.specs.hardware",
    "load_model": "mlsysim.specs.models",
    "HardwareSpec": "mlsysim.specs.hardware",
    "ModelSpec": "mlsysim.specs.models",
    "Calibration": "mlsysim.calibration",
    "MlsysimError": "mlsysim.errors",
    "InputError": "mlsysim.errors",
    "UnknownNameError": "mlsysim.errors",
    "SpecError": "mlsysim.errors",
}
_SUBMODULES = {"show", "plots", "exercises", "calibration", "physics", "solvers", "specs", "systems", "core",
               "errors", "cli", "validation", "sensitivity", "simulation", "hardware", "search"}

__all__ = sorted(_EXPORTS) + sorted(_SUBMODULES)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"mlsysim.{name}")
    raise AttributeError(f"module 'mlsysim' has no attribute '{name}'")


def __dir__():
    return __all__
