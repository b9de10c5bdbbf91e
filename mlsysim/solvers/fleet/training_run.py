"""The whole bill of one training run, each part from the solver that owns it.

    compute budget   ComputeBudgetModel   C = 6 N D (tokens: given, or compute-optimal for N)
    training step    TrainingModel        tokens per second on the fleet; failure-free time D / rate
    reliability      ReliabilityModel     goodput and wall-clock time with failures and checkpoints
    energy, carbon   CarbonModel          facility energy, operational and embodied CO2e, water
    dollars          EconomicsModel       amortised capital, energy and maintenance for the wall-clock time

No part is computed here: this module only passes one solver's answer to the next, so a change
to any solver moves the whole bill, and the energy CarbonModel weighs is the energy
EconomicsModel prices (same fleet, PUE, power fraction and node power).
"""
from __future__ import annotations

import numpy as np

from mlsysim.core import validate
from mlsysim.errors import InputError
from mlsysim.physics.economics import SECONDS_PER_DAY
from mlsysim.solvers._common import resolve_calibration
from mlsysim.solvers.result import Result


class TrainingRunResult(Result):
    TITLE = "Training run"
    FIELDS = {
        "compute_flops": ("flop", "flop", "Training compute"),
        "tokens": ("token", "Gtoken", "Training tokens"),
        "step_time": ("s", "s", "Step time"),
        "tokens_per_second": ("token/s", "token/s", "Tokens per second"),
        "mfu": ("", "percent", "MFU"),
        "failure_free_time": ("s", "day", "Failure-free time"),
        "goodput": ("", "percent", "Goodput"),
        "expected_failures": (None, None, "Expected failures"),
        "wall_clock_time": ("s", "day", "Wall-clock time"),
        "energy_kwh": (None, None, "Facility energy (kWh)"),
        "operational_co2_kg": (None, None, "Operational CO2e (kg)"),
        "embodied_co2_kg": (None, None, "Embodied CO2e (kg)"),
        "total_co2_kg": (None, None, "Total CO2e (kg)"),
        "water_liters": (None, None, "Water (L)"),
        "cost_usd": (None, None, "Cost of the run (USD)"),
        "capex_usd": (None, None, "  capital, amortised (USD)"),
        "energy_usd": (None, None, "  energy (USD)"),
        "maintenance_usd": (None, None, "  maintenance (USD)"),
    }
    __slots__ = ("parts",)


class TrainingRun:
    """Compute budget -> training step -> reliability -> energy and carbon -> dollars, in one call.

    ``solve(model, fleet, seq_len, global_batch_size, tokens=None, region="world", pue=None,
    facility=None, write_bandwidth=..., restart_time=600, mtbf_per_device=None,
    electricity_price=None, power_fraction=None, calibration=None, **parallelism)``

    - ``tokens``: training tokens; default the compute-optimal count for the model's parameters
      (ComputeBudgetModel, Chinchilla).
    - ``parallelism``: passed to TrainingModel (``tensor_parallel``, ``pipeline_parallel``,
      ``micro_batch_size``, ``virtual_stages``, ``zero_stage``, ...).
    - ``write_bandwidth``, ``restart_time``, ``mtbf_per_device``: passed to ReliabilityModel
      (the checkpoint is sized from the model).
    - ``region``, ``pue`` / ``facility``: passed to CarbonModel; the same PUE, power fraction
      (default: the calibration's ``training_power_fraction``) and node power go to
      EconomicsModel, so energy, carbon and dollars describe the same kilowatt-hours.

    ``result.parts`` holds each solver's own result: ``budget``, ``step``, ``reliability``,
    ``carbon``, ``economics``. Infeasible when the step does not fit or goodput is not positive.
    """

    def solve(self, model, fleet, seq_len, global_batch_size, tokens=None, region="world", pue=None,
              facility=None, write_bandwidth=None, restart_time=600.0, mtbf_per_device=None,
              electricity_price=None, power_fraction=None, calibration=None, **parallelism) -> TrainingRunResult:
        from mlsysim.solvers.economics import EconomicsModel
        from mlsysim.solvers.fleet.carbon import CarbonModel
        from mlsysim.solvers.fleet.reliability import ReliabilityModel
        from mlsysim.solvers.training.budget import ComputeBudgetModel
        from mlsysim.solvers.training.model import TrainingModel
        from mlsysim.specs.resolve import resolve_model
        from mlsysim.systems.types import Fleet

        if not isinstance(fleet, Fleet):
            raise InputError("fleet", "a mlsysim.Fleet", type(fleet).__name__)
        if write_bandwidth is None:
            raise InputError("write_bandwidth", "the checkpoint write bandwidth in bytes/s (a number or a Quantity)")
        cal = resolve_calibration(calibration)
        spec = resolve_model(model, "model")
        parameters = float(spec.parameters.to("count").magnitude)
        budget = (ComputeBudgetModel().solve(parameters=parameters) if tokens is None
                  else ComputeBudgetModel().solve(parameters=parameters, tokens=validate.number(tokens, "tokens", "token")))
        trained_tokens = budget.tokens.to("token").magnitude
        step = TrainingModel().solve(spec, fleet, seq_len, global_batch_size, calibration=cal, **parallelism)
        failure_free = step.time_to_train(trained_tokens).to("s").magnitude
        reliability = ReliabilityModel().solve(fleet, failure_free, model=spec, write_bandwidth=write_bandwidth,
                                               restart_time=restart_time, mtbf_per_device=mtbf_per_device)
        wall = reliability.effective_duration.to("s").magnitude
        fraction = cal.training_power_fraction if power_fraction is None else power_fraction
        carbon = CarbonModel().solve(fleet, wall, region=region, pue=pue, facility=facility, power_fraction=fraction,
                                     calibration=cal)
        economics = EconomicsModel().solve(fleet, wall / SECONDS_PER_DAY, electricity_price=electricity_price,
                                           pue=carbon.pue, power_fraction=fraction, calibration=cal)
        values = {
            "compute_flops": budget.compute_flops.to("flop").magnitude, "tokens": trained_tokens,
            "step_time": step.step_time.to("s").magnitude,
            "tokens_per_second": step.tokens_per_second.to("token/s").magnitude,
            "mfu": step.mfu.to("").magnitude, "failure_free_time": failure_free,
            "goodput": reliability.goodput.to("").magnitude, "expected_failures": reliability.expected_failures,
            "wall_clock_time": wall, "energy_kwh": carbon.energy_kwh,
            "operational_co2_kg": carbon.operational_co2_kg, "embodied_co2_kg": carbon.embodied_co2_kg,
            "total_co2_kg": carbon.total_co2_kg, "cost_usd": economics.tco_usd, "capex_usd": economics.capex_usd,
            "energy_usd": economics.opex_energy_usd, "maintenance_usd": economics.opex_maintenance_usd,
        }
        if "water_liters" in carbon.field_names():
            values["water_liters"] = carbon.water_liters
        reasons = list(step.reasons) + list(reliability.reasons)
        feasible = np.asarray(step.feasible) & np.asarray(reliability.feasible)   # arrays under calibration draws
        feasible = bool(feasible) if feasible.ndim == 0 else feasible
        inputs = {"model": spec, "fleet": fleet.name, "accelerators": fleet.total_accelerators, "region": carbon.region}
        result = TrainingRunResult(values, feasible=feasible, reasons=reasons, inputs=inputs)
        object.__setattr__(result, "parts", {"budget": budget, "step": step, "reliability": reliability,
                                             "carbon": carbon, "economics": economics})
        return result
