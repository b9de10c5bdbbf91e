"""Exercises of the chapter "Where to Invest" (tutorials/where-to-invest.qmd).

The scenario matches the chapter's parameters: Llama-3-70B served in fp8 on replicas of four
H100s under the book's schedule (1,024-token prompts, 256 output tokens, p99 TTFT and mean TPOT
targets, a token budget of 2,048), and trained on 128 DGX H100 nodes.
"""
from __future__ import annotations

from functools import lru_cache

from mlsysim.exercises import Design, design_exercise, exercise

#: The open design's target (author-chosen): requests/s one replica must sustain.
RATE_TARGET = 24.0
#: The upgrades a student may propose: a scale factor of 1 to 3 on each resource.
MAX_SCALE = 3.0


def max_rate(MODEL, GPU, TP, PRECISION, PROMPT_TOKENS, OUTPUT_TOKENS, TTFT_SLO, TPOT_SLO, TOKEN_BUDGET,
             hardware=None, calibration=None, **changes):
    """The schedule's largest arrival rate per replica (requests/s) for the chapter's scenario."""
    from mlsysim import ServingScheduleModel

    kwargs = dict(prompt_tokens=PROMPT_TOKENS, output_tokens=OUTPUT_TOKENS, precision=PRECISION,
                  tensor_parallel=TP, ttft_slo=TTFT_SLO, tpot_slo=TPOT_SLO, token_budget=TOKEN_BUDGET,
                  calibration=calibration)
    kwargs.update(changes)
    return ServingScheduleModel().max_rate(MODEL, hardware or GPU, **kwargs).arrival_rate.to("1/s").magnitude


PARAMS = dict(MODEL="Llama3_70B", GPU="H100", TP=4, PRECISION="fp8", PROMPT_TOKENS=1024, OUTPUT_TOKENS=256,
              TTFT_SLO=2.0, TPOT_SLO=0.05, TOKEN_BUDGET=2048)


@exercise("where-to-invest/no-fixed-costs", tolerance=0.03, close=0.15, kind="predict", minutes=10, points=2,
          objective="Predict an elasticity from the roofline before computing it.",
          hint="With no fixed costs a single decode step is weights and KV cache read at the memory's "
               "bandwidth: what does doubling the bandwidth do to its time?",
          wrong=lambda value: 0.0)
def _no_fixed(MODEL="Llama3_70B", GPU="H100", TP=4, PRECISION="fp8", PROMPT_TOKENS=1024):
    from mlsysim import ServingModel, sensitivity
    from mlsysim.calibration import DEFAULT
    from mlsysim.specs.resolve import resolve_hardware

    bare = DEFAULT.with_(kernel_overhead=0.0, allreduce_latency=0.0)

    def one(hardware):
        return ServingModel().solve(MODEL, hardware, PROMPT_TOKENS, precision=PRECISION, tensor_parallel=TP,
                                    calibration=bare)

    return sensitivity.elasticities(one, {"hardware": resolve_hardware(GPU)}, "itl")["hardware.memory_bandwidth"]


@exercise("where-to-invest/tight-tpot", tolerance=0.05, close=0.15, kind="change", minutes=10, points=2,
          objective="See that the resource worth buying depends on the target the service runs under.",
          hint="Solve the elasticities of the schedule's max_rate with tpot_slo=0.03 and read the row "
               "of the hardware's memory bandwidth.",
          wrong=lambda value: value + 1.0)
def _tight(MODEL="Llama3_70B", GPU="H100", TP=4, PRECISION="fp8", PROMPT_TOKENS=1024, OUTPUT_TOKENS=256,
           TTFT_SLO=2.0, TPOT_SLO=0.05, TOKEN_BUDGET=2048):
    from mlsysim import sensitivity
    from mlsysim.specs.resolve import resolve_hardware

    def rate(hardware):
        return max_rate(MODEL, GPU, TP, PRECISION, PROMPT_TOKENS, OUTPUT_TOKENS, TTFT_SLO, 0.03, TOKEN_BUDGET,
                        hardware=hardware)

    return sensitivity.elasticities(rate, {"hardware": resolve_hardware(GPU)})["hardware.memory_bandwidth"]


@lru_cache(maxsize=32)
def _cheapest_upgrade(params: tuple):
    """The upgrade {peak_flops: f, memory_bandwidth: b} reaching RATE_TARGET with the least f + b - 2:
    for each bandwidth scale on a grid, the least compute scale by bisection (the rate grows with it)."""
    import numpy as np

    from mlsysim.hardware import derive

    p = dict(params)

    def rate(f, b):
        return max_rate(**p, hardware=derive(p["GPU"], peak_flops=f, memory_bandwidth=b))

    best = None
    for b in np.round(np.arange(1.0, MAX_SCALE + 1e-9, 0.1), 2):
        if rate(MAX_SCALE, b) < RATE_TARGET:
            continue
        lo, hi = 1.0, MAX_SCALE
        if rate(lo, b) >= RATE_TARGET:
            hi = lo
        for _ in range(14):
            if hi - lo < 1e-3:
                break
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if rate(mid, b) >= RATE_TARGET else (mid, hi)
        score = hi + b - 2
        if best is None or score < best[0]:
            best = (score, {"peak_flops": round(float(hi), 3), "memory_bandwidth": float(b)})
    return best


@design_exercise("where-to-invest/cheapest-upgrade", tolerance=0.05, close=0.15, minutes=25, points=4,
                 objective="Spend an improvement budget where the elasticities say it pays, and see where "
                           "they stop saying so.",
                 answer_format="a dict {'peak_flops': 2.0, 'memory_bandwidth': 1.2} of scale factors (1 to 3)",
                 hint="Compute pays most at first; as it grows the step becomes memory-bound and the "
                      "elasticities shift. Try a little bandwidth with a lot of compute.",
                 wrong=lambda best: {"peak_flops": 1.0, "memory_bandwidth": 3.0})
def _upgrade(answer, MODEL="Llama3_70B", GPU="H100", TP=4, PRECISION="fp8", PROMPT_TOKENS=1024, OUTPUT_TOKENS=256,
             TTFT_SLO=2.0, TPOT_SLO=0.05, TOKEN_BUDGET=2048):
    from mlsysim.errors import InputError
    from mlsysim.hardware import derive

    params = dict(MODEL=MODEL, GPU=GPU, TP=TP, PRECISION=PRECISION, PROMPT_TOKENS=PROMPT_TOKENS,
                  OUTPUT_TOKENS=OUTPUT_TOKENS, TTFT_SLO=TTFT_SLO, TPOT_SLO=TPOT_SLO, TOKEN_BUDGET=TOKEN_BUDGET)
    found = _cheapest_upgrade(tuple(sorted(params.items())))
    if found is None:
        raise InputError("RATE_TARGET", f"a target reachable with scale factors up to {MAX_SCALE:g}", RATE_TARGET)
    best_score, best = found
    best_score = max(best_score, 1e-9)
    if answer is None:
        return Design(True, best_score, best_score, best, unit="(sum of the increases)")
    if not isinstance(answer, dict) or set(answer) != {"peak_flops", "memory_bandwidth"}:
        raise InputError("answer", "a dict {'peak_flops': 2.0, 'memory_bandwidth': 1.2}", answer)
    f, b = answer["peak_flops"], answer["memory_bandwidth"]
    for name, value in (("peak_flops", f), ("memory_bandwidth", b)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= MAX_SCALE:
            raise InputError(name, f"a scale factor between 1 and {MAX_SCALE:g}", value)
    rate = max_rate(**params, hardware=derive(GPU, peak_flops=float(f), memory_bandwidth=float(b)))
    reasons = () if rate >= RATE_TARGET else (f"one replica sustains {rate:.1f} requests/s, below the "
                                               f"{RATE_TARGET:g} the design needs",)
    return Design(not reasons, max(f + b - 2, 1e-9), best_score, best, reasons, "(sum of the increases)")
