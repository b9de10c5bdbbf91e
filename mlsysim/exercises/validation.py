"""Exercises of the chapter "How wrong is this model?" (tutorials/validation.qmd).

Every expected value is computed from :mod:`mlsysim.validation` and
:mod:`mlsysim.sensitivity` now, never typed in.
"""
from __future__ import annotations

import math

import numpy as np

from mlsysim.errors import InputError
from mlsysim.exercises import Design, design_exercise, exercise

KINDS = ("ttft", "itl", "throughput", "speedup")


def roofline_only():
    """The calibration of a bare roofline: datasheet peaks reached, the textbook max, no fixed costs."""
    from mlsysim.calibration import DEFAULT

    return DEFAULT.with_(compute_efficiency=1.0, memory_efficiency=1.0, attention_efficiency=1.0,
                         low_precision_efficiency=1.0, interconnect_efficiency=1.0, kernel_overhead=0.0,
                         allreduce_latency=0.0, prefill_overhead_per_layer=0.0, roofline_exponent=math.inf)


def median_error_by_kind(calibration=None) -> dict:
    """{kind: median |error|} over the end-to-end records."""
    from mlsysim import validation

    v = validation.run(calibration, software=False)
    return {kind: v.subset(kind=kind).median_abs_error for kind in KINDS}


def held_out_median(calibration=None) -> float:
    """Median |error| of the held-out end-to-end records."""
    from mlsysim import validation

    return validation.run(calibration, software=False).end_to_end.held_out.median_abs_error


@exercise("validation/textbook-max-held-out", kind="predict", minutes=15, points=2,
          objective="Judge a model change by its held-out error, not by how well it fits.",
          tolerance=0.05, close=0.20,
          hint="Refit the GEMM factors with exponents=(math.inf,) (validation.fit_gemm on the GEMM fit rows), "
               "put them and roofline_exponent=math.inf into DEFAULT.with_(...), and read the held-out "
               "end-to-end median |error| from validation.run(cal, software=False).",
          wrong=lambda value: value / 4)
def _textbook_max():
    from mlsysim import validation
    from mlsysim.calibration import DEFAULT

    fit_rows, _ = validation.gemm_split()
    factors = validation.fit_gemm(fit_rows, exponents=(math.inf,))
    return held_out_median(DEFAULT.with_(**factors))


@exercise("validation/fp8-ttft-interval-ratio", kind="change", minutes=15, points=2,
          objective="See how the spread of one calibration factor becomes the width of an answer's interval.",
          tolerance=0.03, close=0.15,
          hint="Draw calibrations with mlsysim.sensitivity.draw(4000, seed=0, spreads=...) as calibrated and with "
               "low_precision_efficiency's sigma doubled; solve the 4,096-token FP8 prefill of Llama3_70B on 4 H100s "
               "for each, take high / low of the 10th-90th percentiles of ttft, and divide the two.",
          wrong=lambda value: value * 3)
def _fp8_interval():
    from mlsysim import ServingModel
    from mlsysim.sensitivity import SPREADS, draw

    def width(spreads):
        cal = draw(4000, seed=0, spreads=spreads)
        ttft = ServingModel().solve("Llama3_70B", "H100", 4096, precision="fp8", tensor_parallel=4,
                                    calibration=cal).ttft.magnitude
        low, high = np.quantile(ttft, [0.1, 0.9])
        return high / low

    doubled = {**SPREADS, "low_precision_efficiency": 2 * SPREADS["low_precision_efficiency"]}
    return width(doubled) / width(SPREADS)


@design_exercise("validation/attention-factor", minutes=20, points=3, tolerance=0.05, close=0.25,
                 objective="Fit one factor on data and judge the fit by the records it was not fitted on.",
                 answer_format="a number between 0.3 and 1.0: the attention_efficiency you propose",
                 hint="Scan attention_efficiency from 0.3 to 1.0 and watch the held-out end-to-end median |error| "
                      "of validation.run(DEFAULT.with_(attention_efficiency=x), software=False).",
                 wrong=lambda best: 0.3)
def _attention(answer):
    from mlsysim.calibration import DEFAULT

    grid = np.round(np.arange(0.30, 1.0001, 0.05), 2)
    scores = {float(x): held_out_median(DEFAULT.with_(attention_efficiency=float(x))) for x in grid}
    best = min(scores, key=scores.get)
    if answer is None:
        return Design(True, scores[best], scores[best], best, unit="held-out median |error|")
    if isinstance(answer, bool) or not isinstance(answer, (int, float)) or not 0.3 <= float(answer) <= 1.0:
        raise InputError("answer", "a number between 0.3 and 1.0", answer)
    score = held_out_median(DEFAULT.with_(attention_efficiency=float(answer)))
    return Design(True, score, scores[best], best, unit="held-out median |error|")
