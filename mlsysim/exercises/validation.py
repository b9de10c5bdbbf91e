"""Exercises of the chapter "How wrong is this model?" (tutorials/validation.qmd).

Every expected value is computed from :mod:`mlsysim.validation` now, never typed in.
"""
from __future__ import annotations

from mlsysim.exercises import exercise

KINDS = ("ttft", "itl", "throughput", "speedup")


def roofline_only():
    """The calibration of a bare roofline: datasheet peaks reached, no fixed costs."""
    from mlsysim.calibration import DEFAULT

    return DEFAULT.with_(compute_efficiency=1.0, memory_efficiency=1.0, low_precision_efficiency=1.0,
                         interconnect_efficiency=1.0, kernel_overhead=0.0, allreduce_latency=0.0, pass_overhead=0.0)


def median_error_by_kind(calibration=None) -> dict:
    """{kind: median |error|} over the end-to-end records."""
    from mlsysim import validation

    v = validation.run(calibration, software=False)
    return {kind: v.subset(kind=kind).median_abs_error for kind in KINDS}


def reasoning_time(k, calibration=None) -> float:
    """Seconds for one query at K steps in the reasoning-cost chapter's setup (batch 1)."""
    from mlsysim import InferenceScalingModel
    from mlsysim.exercises import reasoning_cost as rc

    run = InferenceScalingModel().solve(rc.MODEL, "H100", k, rc.PROMPT, precision=rc.PRECISION,
                                        tokens_per_step=rc.TOKENS_PER_STEP, tensor_parallel=rc.TP,
                                        calibration=calibration)
    return float(run.total_reasoning_time.to("s").magnitude)


def worst_kind(calibration=None) -> str:
    errors = median_error_by_kind(calibration)
    return max(errors, key=errors.get)


@exercise("validation/roofline-worst-kind", choices=KINDS,
          hint="Run mlsysim.validation.run(roofline_only()) and compare the median |error| of each kind. "
               "Which kind has the most time the roofline does not count?",
          wrong=lambda value: next(k for k in KINDS if k != value))
def _worst_kind():
    return worst_kind(roofline_only())


@exercise("validation/recalibrate-fp8", tolerance=0.03, close=0.20,
          hint="Set low_precision_efficiency to DEFAULT.compute_efficiency with DEFAULT.with_(...), "
               "run validation.run(cal, software=False).end_to_end.held_out and read median_abs_error.",
          wrong=lambda value: value + 0.5)
def _recalibrate_fp8():
    from mlsysim import validation
    from mlsysim.calibration import DEFAULT

    cal = DEFAULT.with_(low_precision_efficiency=DEFAULT.compute_efficiency)
    return validation.run(cal, software=False).end_to_end.held_out.median_abs_error


@exercise("validation/pass-overhead-reasoning", tolerance=0.02, close=0.10,
          hint="Solve the reasoning-cost query (K=8, batch 1) with DEFAULT and with "
               "DEFAULT.with_(pass_overhead=...) and divide the two total_reasoning_time values.",
          wrong=lambda value: 1.0)
def _pass_overhead_reasoning():
    from mlsysim import validation
    from mlsysim.calibration import DEFAULT
    fitted = validation.pass_overhead_experiment()["pass_overhead"]
    return reasoning_time(8, DEFAULT.with_(pass_overhead=fitted)) / reasoning_time(8, DEFAULT)
