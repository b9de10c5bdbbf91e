"""End-to-end serving records (TTFT, ITL, throughput, quantization speedups, KV-cache and weight sizes)
from validation.yaml, and the software-bound vLLM records of Splitwise [@patel2024splitwise].

Three factors are fitted on declared end-to-end records because no per-operator data exist
for them (``END_TO_END_FITS``: decode attention's bandwidth, the fixed cost of a prefill, 8-bit
math); every other end-to-end record is held out.
"""
from __future__ import annotations

import csv
from functools import lru_cache

import numpy as np

from mlsysim.calibration import resolve_calibration
from mlsysim.validation import (FIT_IDS, MEASUREMENTS, SOFTWARE, Record, _measured_si, load_published,
                                predict_published, predictor)

#: The end-to-end records each factor is fitted on, in the order they are fitted (each fit
#: holds the factors before it fixed). Every other end-to-end record is held out.
#: attention_efficiency: the two 16-bit throughput records whose time goes mostly to reading
#: the KV cache (2,048 output tokens, MHA model, large batch).
ATTENTION_FIT_IDS = ("trtllm-tput-a100-llama2-7b-60-128-2048", "trtllm-tput-h100-llama2-7b-112-128-2048")
#: prefill_overhead_per_layer: the short-prompt TTFTs on A100 (the H100 ones are held out).
PREFILL_FIT_IDS = ("trtllm-ttft-a100-llama2-7b-128", "trtllm-ttft-a100-llama2-70b-128")
#: low_precision_efficiency: the compute-bound FP8 records: two prefills of 2,048 tokens and two
#: large-batch decodes.
LOW_PRECISION_FIT_IDS = ("trtllm-ttft-h100-llama2-7b-2048", "trtllm-ttft-h100-llama2-70b-2048",
                         "h200-tput-llama2-13b-1024-128-128", "h200-tput-llama2-70b-512-128-128")
#: factor -> (records, grid), in fitting order
END_TO_END_FITS = {
    "attention_efficiency": (ATTENTION_FIT_IDS, np.round(np.arange(0.30, 1.0001, 0.01), 2)),
    "prefill_overhead_per_layer": (PREFILL_FIT_IDS, np.round(np.arange(0.0, 300.0001e-6, 5e-6), 9)),
    "low_precision_efficiency": (LOW_PRECISION_FIT_IDS, np.round(np.arange(0.30, 0.9001, 0.01), 2)),
}
FIT_IDS.update(ATTENTION_FIT_IDS + PREFILL_FIT_IDS + LOW_PRECISION_FIT_IDS)


def _log_loss(records, calibration) -> float:
    errors = [predict_published(rec, calibration) / _measured_si(rec) for rec in records]
    return float(np.mean(np.log(errors) ** 2))


def _grid_fit(records, calibration, name, grid):
    """The value of factor ``name`` on ``grid`` minimising the mean squared log error on ``records``."""
    losses = [_log_loss(records, calibration.with_(**{name: float(x)})) for x in grid]
    return float(grid[int(np.argmin(losses))])


def fit_records(ids) -> list:
    """The validation.yaml records with these ids."""
    return [rec for rec in load_published() if rec["id"] in ids]


def low_precision_fit_records() -> list:
    return fit_records(LOW_PRECISION_FIT_IDS)


def fit_end_to_end(calibration=None) -> dict:
    """Fit the end-to-end factors (END_TO_END_FITS) in order, each on its records, the factors
    before it (and the hardware factors in ``calibration``) held fixed."""
    cal = resolve_calibration(calibration)
    fitted = {}
    for name, (ids, grid) in END_TO_END_FITS.items():
        fitted[name] = _grid_fit(fit_records(ids), cal, name, grid)
        cal = cal.with_(**{name: fitted[name]})
    return fitted


def fit_low_precision(calibration=None) -> dict:
    """``low_precision_efficiency`` alone on its records, the other factors as given."""
    cal = resolve_calibration(calibration)
    ids, grid = END_TO_END_FITS["low_precision_efficiency"]
    return {"low_precision_efficiency": _grid_fit(fit_records(ids), cal, "low_precision_efficiency", grid)}


def _replica(rec, precision=None, calibration=None):
    from mlsysim.solvers.serving import ReplicaPhysics

    return ReplicaPhysics(rec["model"], rec["hardware"], precision or rec["precision"], rec.get("tensor_parallel", 1),
                          rec.get("kv_precision"), calibration)


def _generation_time(replica, batch, prompt, output):
    """Seconds for a static batch: one prefill of ``prompt`` tokens (which yields the first
    token) then ``output - 1`` decode steps at contexts prompt + 1 ... prompt + output - 1."""
    t_prefill, _ = replica.prefill(prompt, batch)
    return float(t_prefill + replica.decode_sum(prompt + 1, output - 1, batch))



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

