"""Exercises of the chapter "A Different Chip" (tutorials/wafer-scale.qmd).

The scenario matches the chapter's parameters: Llama-3 models served on Cerebras WSE-3 systems
(weights resident in SRAM or streamed layer by layer) and on GPUs, 2,048 tokens of context,
decode steps compared from the same pass equations, priced with EconomicsModel.
"""
from __future__ import annotations

from functools import lru_cache

from mlsysim.exercises import Design, design_answer, design_exercise, exercise, one_of

#: The open design's target (author-chosen): tokens/s each user sees.
SPEED_TARGET = 200.0
SYSTEM_CHOICES = tuple(range(1, 25))
PRECISIONS = ("fp16", "fp8")


def wafer_cost_per_year(WAFER="WSE3"):
    """USD per system-year of a wafer-scale system: EconomicsModel on one system, whose stated power
    and price cover the whole box (no separate host)."""
    from mlsysim import EconomicsModel, Fleet, Node
    from mlsysim.specs.resolve import resolve_hardware

    node = Node("one system", resolve_hardware(WAFER), 1, power_overhead=0, server_price=0)
    return EconomicsModel().solve(Fleet("one system", node, 1)).tco_usd


def cost_per_million(throughput, systems, WAFER="WSE3"):
    return systems * wafer_cost_per_year(WAFER) / (throughput * 365 * 86400) * 1e6


@exercise("wafer-scale/systems-for-405b", tolerance=0.0, close=0.10, kind="predict", minutes=10, points=2,
          objective="Size a wafer-scale deployment from capacity alone, before any speed.",
          hint="Weights at one byte per parameter plus the KV cache, over the SRAM a system may fill "
               "(usable fraction x 44 GB), rounded up.",
          wrong=lambda value: value * 2)
def _systems(SEQ_LEN=2048, WAFER="WSE3"):
    import math

    from mlsysim import WaferScaleModel

    r = WaferScaleModel().solve("Llama3_405B", WAFER, SEQ_LEN, 1, systems=1, precision="fp8")
    needed = r.sram_required.to("byte").magnitude
    usable = r.sram_usable.to("byte").magnitude
    k = math.ceil(needed / usable)
    while not WaferScaleModel().solve("Llama3_405B", WAFER, SEQ_LEN, 1, systems=k, precision="fp8").feasible:
        k += 1                                   # the stage with the most layers sets the need
    return k


@exercise("wafer-scale/streamed-70b", tolerance=0.03, close=0.10, kind="change", minutes=10, points=2,
          objective="See what weight streaming does to one user's speed.",
          hint="WaferScaleModel().solve('Llama3_70B', 'WSE3', SEQ_LEN, 8, mode='streamed') and read "
               "tokens_per_second_per_user.",
          wrong=lambda value: value * 100)
def _streamed(SEQ_LEN=2048, WAFER="WSE3"):
    from mlsysim import WaferScaleModel

    r = WaferScaleModel().solve("Llama3_70B", WAFER, SEQ_LEN, 8, mode="streamed")
    return r.tokens_per_second_per_user.to("token/s").magnitude


def _evaluate(precision, systems, batch, SEQ_LEN, WAFER):
    from mlsysim import WaferScaleModel

    r = WaferScaleModel().solve("Llama3_70B", WAFER, SEQ_LEN, batch, systems=systems, precision=precision)
    return r, cost_per_million(r.throughput.to("token/s").magnitude, systems, WAFER)


@lru_cache(maxsize=8)
def _best(SEQ_LEN, WAFER):
    import numpy as np

    from mlsysim import WaferScaleModel

    best, best_cost = None, float("inf")
    batches = np.arange(1, 4097)
    for precision in PRECISIONS:
        for k in SYSTEM_CHOICES:
            r = WaferScaleModel().solve("Llama3_70B", WAFER, SEQ_LEN, batches, systems=k, precision=precision)
            ok = np.asarray(r.feasible) & (r.tokens_per_second_per_user.to("token/s").magnitude >= SPEED_TARGET)
            if not ok.any():
                continue
            cost = cost_per_million(r.throughput.to("token/s").magnitude, k, WAFER)
            i = int(np.argmin(np.where(ok, cost, np.inf)))
            if cost[i] < best_cost:
                best, best_cost = {"precision": precision, "systems": k, "batch_size": int(batches[i])}, float(cost[i])
    return best, best_cost


@design_exercise("wafer-scale/fast-and-cheap", tolerance=0.05, close=0.15, minutes=25, points=4,
                 objective="Trade systems, batch and number format on a wafer-scale deployment against a speed "
                           "target.",
                 answer_format="a dict {'precision': 'fp16', 'systems': 4, 'batch_size': 16}",
                 hint="More systems leave more SRAM for the KV cache and so a larger batch, but each one costs "
                      "and adds a hop; the batch is limited by SRAM and by the speed each user must see.",
                 wrong=lambda best: {"precision": "fp16", "systems": 4, "batch_size": 1})
def _fast(answer, SEQ_LEN=2048, WAFER="WSE3"):
    from mlsysim.errors import InputError

    best, best_cost = _best(SEQ_LEN, WAFER)
    if answer is None:
        return Design(True, best_cost, best_cost, best, unit="USD per million tokens")
    design_answer(answer, ("precision", "systems", "batch_size"),
                  "{'precision': 'fp16', 'systems': 4, 'batch_size': 16}")
    one_of(answer["precision"], "precision", PRECISIONS)
    for name, top in (("systems", max(SYSTEM_CHOICES)), ("batch_size", 4096)):
        value = answer[name]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
            raise InputError(name, f"a whole number from 1 to {top}", value)
    r, cost = _evaluate(answer["precision"], answer["systems"], answer["batch_size"], SEQ_LEN, WAFER)
    reasons = list(r.reasons)
    speed = r.tokens_per_second_per_user.to("token/s").magnitude
    if speed < SPEED_TARGET:
        reasons.append(f"each user sees {speed:.0f} tokens/s, below the {SPEED_TARGET:.0f} the design needs")
    return Design(not reasons, cost, best_cost, best, tuple(reasons), "USD per million tokens")
