"""Exercises of the chapter "Failures at Scale" (tutorials/failures.qmd).

The scenario matches the chapter's parameters: Llama-3.1-405B trained on 16,384 GPUs, its
checkpoint (weights and Adam states) written at 2 TB/s, a 10-minute restart, 54 days of
failure-free work, and the engine's default per-GPU MTBF.
"""
from __future__ import annotations

import numpy as np

from mlsysim.exercises import Design, design_answer, design_exercise, exercise
from mlsysim.physics.economics import SECONDS_PER_DAY

#: The open design: at most this many GPUs, and at most this many GPU-days of wall-clock time.
MAX_GPUS = 65536
BUDGET_GPU_DAYS = 1.0e6


def run(gpus, MODEL, WRITE_TBPS, RESTART_MINUTES, TRAINING_DAYS, work_gpu_days=None, interval="young"):
    """ReliabilityModel for the chapter's run on ``gpus`` GPUs; the work is TRAINING_DAYS on the
    chapter's GPUS unless ``work_gpu_days`` is given (then it is spread over ``gpus``)."""
    from mlsysim import ReliabilityModel

    days = TRAINING_DAYS if work_gpu_days is None else work_gpu_days / gpus
    return ReliabilityModel().solve(gpus, days * SECONDS_PER_DAY, model=MODEL, write_bandwidth=WRITE_TBPS * 1e12,
                                    restart_time=RESTART_MINUTES * 60.0, interval=interval)


@exercise("failures/half-bandwidth-interval", unit="minute", tolerance=0.03, close=0.15, kind="predict",
          minutes=10, points=2, objective="Predict how Young's interval scales with the checkpoint write time.",
          hint="tau = sqrt(2 delta M): halving the bandwidth doubles delta, so tau grows by sqrt(2).",
          wrong=lambda value: value * 2)
def _half_bandwidth(MODEL="Llama3_405B", GPUS=16384, WRITE_TBPS=2.0, RESTART_MINUTES=10, TRAINING_DAYS=54):
    return run(GPUS, MODEL, WRITE_TBPS / 2, RESTART_MINUTES, TRAINING_DAYS).checkpoint_interval


@exercise("failures/fast-restart-days-saved", unit="day", tolerance=0.03, close=0.15, kind="change",
          minutes=10, points=2, objective="See which waste term dominates at scale and what cutting it buys.",
          hint="Solve the run twice, with restart_time 10 minutes and 1 minute, and subtract the effective_duration.",
          wrong=lambda value: value * 5)
def _fast_restart(MODEL="Llama3_405B", GPUS=16384, WRITE_TBPS=2.0, RESTART_MINUTES=10, TRAINING_DAYS=54):
    slow = run(GPUS, MODEL, WRITE_TBPS, RESTART_MINUTES, TRAINING_DAYS)
    fast = run(GPUS, MODEL, WRITE_TBPS, 1.0, TRAINING_DAYS)
    return slow.effective_duration - fast.effective_duration


def _evaluate_design(answer, MODEL, WRITE_TBPS, RESTART_MINUTES, TRAINING_DAYS, GPUS):
    from mlsysim.errors import InputError

    work = GPUS * TRAINING_DAYS                     # GPU-days of failure-free work

    def score(gpus, interval):
        r = run(gpus, MODEL, WRITE_TBPS, RESTART_MINUTES, TRAINING_DAYS, work, interval)
        wall = r.effective_duration.to("day").magnitude
        return float(wall), float(wall * gpus)

    grid = np.unique(np.round(np.geomspace(1024, MAX_GPUS, 97) / 8) * 8).astype(int)
    best_gpus, best_wall = None, np.inf
    for g in grid:
        wall, spent = score(int(g), "daly")
        if spent <= BUDGET_GPU_DAYS and wall < best_wall:
            best_gpus, best_wall = int(g), wall
    best = {"gpus": best_gpus, "interval_minutes": round(run(best_gpus, MODEL, WRITE_TBPS, RESTART_MINUTES,
                                                                TRAINING_DAYS, work, "daly")
                                                            .checkpoint_interval.to("minute").magnitude, 1)}
    if answer is None:
        return Design(True, best_wall, best_wall, best, unit="days", summary="the best design found")
    design_answer(answer, ("gpus", "interval_minutes"), "{'gpus': 24576, 'interval_minutes': 5}")
    gpus, minutes = answer["gpus"], answer["interval_minutes"]
    if isinstance(gpus, bool) or not isinstance(gpus, (int, np.integer)) or not 8 <= gpus <= MAX_GPUS:
        raise InputError("gpus", f"a whole number of GPUs from 8 to {MAX_GPUS:,}", gpus)
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or minutes <= 0:
        raise InputError("interval_minutes", "a positive number of minutes", minutes)
    wall, spent = score(int(gpus), float(minutes) * 60.0)
    reasons = () if spent <= BUDGET_GPU_DAYS else (
        f"it spends {spent:,.0f} GPU-days of wall-clock time, over the budget of {BUDGET_GPU_DAYS:,.0f}",)
    return Design(not reasons, wall, best_wall, best, reasons, "days", f"{gpus} GPUs, {minutes} min")


@design_exercise("failures/fastest-within-budget", tolerance=0.02, close=0.08, minutes=25, points=4,
                 objective="Trade cluster size against failures to finish a run soonest within a GPU-hour budget.",
                 answer_format="a dict {'gpus': 24576, 'interval_minutes': 5}",
                 hint="More GPUs shorten the failure-free time but lose more of it to failures; the budget "
                      "counts every GPU for the whole wall-clock time.",
                 wrong=lambda best: {"gpus": MAX_GPUS, "interval_minutes": 600.0})
def _fastest(answer, MODEL="Llama3_405B", GPUS=16384, WRITE_TBPS=2.0, RESTART_MINUTES=10, TRAINING_DAYS=54):
    return _evaluate_design(answer, MODEL, WRITE_TBPS, RESTART_MINUTES, TRAINING_DAYS, GPUS)
