"""End-to-end serving records (TTFT, ITL, throughput, quantization speedups, KV-cache and weight sizes)
from validation.yaml, and the software-bound vLLM records of Splitwise [@patel2024splitwise].

One factor is fitted on end-to-end records because no per-operator data exist for it
(``low_precision_efficiency``, on ``LOW_PRECISION_FIT_IDS``); every other end-to-end record is held out.
"""
from __future__ import annotations

import csv
from functools import lru_cache

import numpy as np

from mlsysim.calibration import resolve_calibration
from mlsysim.validation import (END_TO_END, HELD_OUT, MEASUREMENTS, SOFTWARE, Record, Validation, _measured_si,
                                load_published, predict_published, predictor)

#: The end-to-end records ``low_precision_efficiency`` is fitted on: compute-bound FP8 prefills.
LOW_PRECISION_FIT_IDS = ("trtllm-ttft-h100-llama2-7b-2048", "trtllm-ttft-h100-llama2-70b-2048")
#: Where a fixed per-pass cost would be fitted (the experiment that was not adopted).
PASS_OVERHEAD_FIT_HARDWARE = "A100"


def _log_loss(records, calibration) -> float:
    errors = [predict_published(rec, calibration) / _measured_si(rec) for rec in records]
    return float(np.mean(np.log(errors) ** 2))


def _grid_fit(records, calibration, name, grid):
    """The value of factor ``name`` on ``grid`` minimising the mean squared log error on ``records``."""
    losses = [_log_loss(records, calibration.with_(**{name: float(x)})) for x in grid]
    return float(grid[int(np.argmin(losses))])


def low_precision_fit_records() -> list:
    return [rec for rec in load_published() if rec["id"] in LOW_PRECISION_FIT_IDS]


def fit_low_precision(calibration=None) -> dict:
    """``low_precision_efficiency`` on the compute-bound FP8 prefills (LOW_PRECISION_FIT_IDS),
    on a 0.01 grid, the other factors as given."""
    cal = resolve_calibration(calibration)
    value = _grid_fit(low_precision_fit_records(), cal, "low_precision_efficiency", np.arange(0.30, 0.9001, 0.01))
    return {"low_precision_efficiency": round(value, 2)}


def pass_overhead_experiment(calibration=None, hardware=PASS_OVERHEAD_FIT_HARDWARE) -> dict:
    """Fit a fixed per-pass cost on the end-to-end records of one ``hardware`` and evaluate it on
    the others. Returns the fitted value (s) and the held-out end-to-end summary before and after:
    ``{"pass_overhead", "fit_before", "fit_after", "held_before", "held_after"}``, each summary a
    Validation. Not adopted in the calibration (see ``Calibration.pass_overhead``)."""
    cal = resolve_calibration(calibration)
    fit_recs = [rec for rec in load_published() if rec["kind"] in END_TO_END and rec["hardware"] == hardware]
    value = _grid_fit(fit_recs, cal, "pass_overhead", np.arange(0.0, 10.0001e-3, 0.25e-3))
    fit_ids = {rec["id"] for rec in fit_recs}

    def split(c):
        from mlsysim.validation import run

        v = run(c, software=False).end_to_end
        return (Validation([r for r in v.rows if r.id in fit_ids]),
                Validation([r for r in v.rows if r.id not in fit_ids and r.role == HELD_OUT]))

    (fit_before, held_before), (fit_after, held_after) = split(cal), split(cal.with_(pass_overhead=value))
    return {"pass_overhead": value, "fit_before": fit_before, "fit_after": fit_after,
            "held_before": held_before, "held_after": held_after}



def _replica(rec, precision=None, calibration=None):
    from mlsysim.solvers.serving import ReplicaPhysics

    return ReplicaPhysics(rec["model"], rec["hardware"], precision or rec["precision"], rec.get("tensor_parallel", 1),
                          rec.get("kv_precision"), calibration)


def _generation_time(replica, batch, prompt, output):
    """Seconds for a static batch: one prefill of ``prompt`` tokens (which yields the first
    token) then ``output - 1`` decode steps at contexts prompt + 1 ... prompt + output - 1."""
    t_prefill, _ = replica.prefill(prompt, batch)
    if output <= 1:
        return float(t_prefill)
    context = prompt + np.arange(1, output)
    t_decode, _ = replica.decode_step(context.astype(float), batch)
    return float(t_prefill) + float(np.sum(t_decode))



@predictor("kv_cache", "byte")
def _kv(rec, calibration=None):
    r = _replica(rec, calibration=calibration)
    return float(r.kv_per_token * rec["context_tokens"] * rec.get("batch_size", 1))


@predictor("weights", "byte")
def _weights(rec, calibration=None):
    return float(_replica(rec, calibration=calibration).weights)


@predictor("ttft", "s")
def _ttft(rec, calibration=None):
    return float(_replica(rec, calibration=calibration).prefill(rec["input_tokens"], rec.get("batch_size", 1))[0])


@predictor("itl", "s")
def _itl(rec, calibration=None):
    r = _replica(rec, calibration=calibration)
    context = rec["input_tokens"] + np.arange(1, rec["output_tokens"])
    return float(np.mean(r.decode_step(context.astype(float), rec.get("batch_size", 1))[0]))


@predictor("throughput", "token/s")
def _throughput(rec, calibration=None):
    r = _replica(rec, calibration=calibration)
    b = rec.get("batch_size", 1)
    return b * rec["output_tokens"] / _generation_time(r, b, rec["input_tokens"], rec["output_tokens"])


@predictor("speedup", "ratio")
def _speedup(rec, calibration=None):
    fast = _replica(rec, rec["precision"], calibration)
    base = _replica(rec, rec["baseline_precision"], calibration)
    args = (rec.get("batch_size", 1), rec["input_tokens"], rec["output_tokens"])
    return _generation_time(base, *args) / _generation_time(fast, *args)


@lru_cache(maxsize=None)
def load_splitwise() -> tuple:
    with open(MEASUREMENTS / "splitwise" / "llama2_70b.csv") as fh:
        return tuple(csv.DictReader(fh))


def _software_records(calibration=None):
    from mlsysim.solvers.serving import ReplicaPhysics

    hw = {"a100-80gb": "A100", "h100-80gb": "H100"}
    out = []
    for r in load_splitwise():
        tp, s, b, o = (int(r[c]) for c in ("tensor_parallel", "prompt_size", "batch_size", "token_size"))
        rep = ReplicaPhysics("Llama2_70B", hw[r["hardware"]], "fp16", tp, None, calibration)
        tag = f"{hw[r['hardware']]}-tp{tp}-s{s}-b{b}".lower()
        detail = "Splitwise data/perf_model.csv (vLLM 2023, fp16), mean of repeated runs"
        desc = f"Llama-2-70B on {tp} x {hw[r['hardware']]}, fp16, batch {b}, {s} in / {o} out"
        out.append(Record(f"splitwise-ttft-{tag}", "ttft", "ttft: " + desc, float(r["prompt_time_ms"]) * 1e-3,
                          float(rep.prefill(s, b)[0]), "s", SOFTWARE, "patel2024splitwise", detail))
        ctx = (s + np.arange(1, o)).astype(float)
        out.append(Record(f"splitwise-itl-{tag}", "itl", "itl: " + desc, float(r["token_time_ms"]) * 1e-3,
                          float(np.mean(rep.decode_step(ctx, b)[0])), "s", SOFTWARE, "patel2024splitwise", detail))
    return out

