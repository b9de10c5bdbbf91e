"""The compute budget of training: FLOPs, parameters, tokens and, on a fleet, days.

    C = 6 N D                         [@kaplan2020scaling; @hoffmann2022chinchilla]
    N_opt = N_0 (C / C_0)^0.50,  D_opt = D_0 (C / C_0)^0.50     (Chinchilla, approach 1)
    days = C / (n P MFU) / 86,400      on n devices of dense peak P

Given C alone, the compute-optimal N and D (about 20 tokens per parameter); given N or D
alone, the compute-optimal other one and C; given two of C, N, D, the third.
"""
from __future__ import annotations

from mlsysim.core import validate
from mlsysim.errors import InputError
from mlsysim.physics import training as tr
from mlsysim.solvers.result import Result


class ComputeBudgetResult(Result):
    TITLE = "Compute budget"
    FIELDS = {
        "compute_flops": ("flop", "flop", "Training compute"),
        "parameters": ("count", "Gcount", "Parameters"),
        "tokens": ("token", "Gtoken", "Training tokens"),
        "tokens_per_parameter": ("", "", "Tokens per parameter"),
        "days": ("day", "day", "Days on the fleet"),
        "gpu_hours": ("hour", "hour", "Accelerator-hours"),
    }


class ComputeBudgetModel:
    """How many FLOPs, tokens and accelerator-days a model costs to train.

    ``solve(compute_flops=None, parameters=None, tokens=None, fleet=None, mfu=None, precision="bf16")``

    - ``compute_flops`` alone: the compute-optimal ``parameters`` and ``tokens``
      [@hoffmann2022chinchilla]; ``parameters`` or ``tokens`` alone: the compute-optimal other
      one; any two: the third from C = 6 N D.
    - ``fleet`` and ``mfu`` (model FLOPs utilisation, 0-1): ``days`` and ``gpu_hours`` at the
      fleet accelerators' dense peak in ``precision``.
    - Numeric arguments accept numpy arrays; arrays broadcast.
    """

    def solve(self, compute_flops=None, parameters=None, tokens=None, fleet=None, mfu=None,
              precision="bf16") -> ComputeBudgetResult:
        given = {k: v for k, v in (("compute_flops", compute_flops), ("parameters", parameters),
                                    ("tokens", tokens)) if v is not None}
        if not given:
            raise InputError("compute_flops", "at least one of compute_flops, parameters, tokens", None)
        if len(given) == 3:
            raise InputError("tokens", "at most two of compute_flops, parameters, tokens (the third follows "
                                       "from C = 6 N D)", tokens)
        c = validate.number(compute_flops, "compute_flops", "flop") if compute_flops is not None else None
        n = validate.number(parameters, "parameters", "count") if parameters is not None else None
        d = validate.number(tokens, "tokens", "token") if tokens is not None else None
        # C = 6 N D, solved for whichever is missing: N = C / (6 D) = C / training_flops(1, D)
        if c is not None and n is None and d is None:
            n, d = tr.compute_optimal_parameters(c), tr.compute_optimal_tokens(c)
        elif n is not None and c is None and d is None:   # invert N_opt(C)
            c = tr.compute_for_optimal_parameters(n)
            d = c / tr.training_flops(n, 1.0)
        elif d is not None and c is None and n is None:   # invert D_opt(C)
            c = tr.compute_for_optimal_tokens(d)
            n = c / tr.training_flops(1.0, d)
        elif c is None:
            c = tr.training_flops(n, d)
        elif n is None:
            n = c / tr.training_flops(1.0, d)
        else:
            d = c / tr.training_flops(n, 1.0)
        values = {"compute_flops": c, "parameters": n, "tokens": d, "tokens_per_parameter": d / n}
        inputs = {k: v for k, v in given.items()}
        if fleet is not None or mfu is not None:
            from mlsysim.systems.types import Fleet

            if not isinstance(fleet, Fleet):
                raise InputError("fleet", "a mlsysim.Fleet together with mfu", type(fleet).__name__)
            if mfu is None:
                raise InputError("mfu", "a model FLOPs utilisation between 0 and 1 together with fleet", None)
            u = validate.number(mfu, "mfu", maximum=1)
            hw = fleet.accelerator
            from mlsysim.core.validate import precision as check_precision

            peak = hw.si["peak_flops"][hw.compute_precision(check_precision(precision))]
            devices = fleet.total_accelerators
            days = tr.training_days(c, devices, peak, u)
            values["days"] = days
            values["gpu_hours"] = days * 24 * devices      # accelerator-days x 24 h
            inputs.update(fleet=fleet.name, accelerators=devices, mfu=mfu)
        return ComputeBudgetResult(values, feasible=True, reasons=(), inputs=inputs)
