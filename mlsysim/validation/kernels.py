"""Per-operator GEMM and NCCL all-reduce timings of Vidur [@agrawal2024vidur] (DGX A100 and H100).

The hardware factors of :mod:`mlsysim.calibration` are fitted here on a stated subset
(GEMMs of ``GEMM_FIT_MODEL``, all-reduces on ``ALLREDUCE_FIT_WORKERS`` GPUs); the rest is held out.
"""
from __future__ import annotations

import csv
import math
from functools import lru_cache

import numpy as np

from mlsysim.calibration import resolve_calibration
from mlsysim.validation import FIT, HELD_OUT, MEASUREMENTS, Record, predictor

#: Split of the per-operator data: GEMMs of this model are fitted, the other model is held out.
GEMM_FIT_MODEL = "Llama-2-7B"
#: Split of the all-reduce data: these GPU counts are fitted, the others (2 and 4 GPUs) held out.
ALLREDUCE_FIT_WORKERS = (8,)


def _hw(name):
    from mlsysim.specs.catalog import Hardware

    return Hardware.get(name)


@lru_cache(maxsize=None)
def load_gemm() -> tuple:
    """Vidur per-projection medians: (device, model, op, tp, m, n, k, seconds) rows."""
    with open(MEASUREMENTS / "vidur" / "gemm.csv") as fh:
        return tuple((r["device"], r["model"], r["op"], int(r["tensor_parallel"]), int(r["m"]), int(r["n"]),
                      int(r["k"]), float(r["median_ms"]) * 1e-3) for r in csv.DictReader(fh))


@lru_cache(maxsize=None)
def load_allreduce() -> tuple:
    """Vidur NCCL all-reduce medians on one DGX node: (device, workers, bytes, seconds) rows."""
    with open(MEASUREMENTS / "vidur" / "all_reduce.csv") as fh:
        return tuple((r["device"], int(r["num_workers"]), int(r["size_bytes"]), float(r["median_ms"]) * 1e-3)
                     for r in csv.DictReader(fh))


def _gemm_arrays(rows):
    dev = [_hw(r[0]).si for r in rows]
    peak = np.array([d["peak_flops"]["fp16"] for d in dev])
    bw = np.array([d["bandwidth"] for d in dev])
    m, n, k, t = (np.array([r[i] for r in rows], dtype=float) for i in (4, 5, 6, 7))
    return m, n, k, peak, bw, t


def predict_gemm(rows, calibration=None) -> np.ndarray:
    """Engine time of each Vidur GEMM row (fp16, 2 bytes per element)."""
    from mlsysim.physics.roofline import gemm_time

    cal = resolve_calibration(calibration)
    m, n, k, peak, bw, _ = _gemm_arrays(rows)
    return gemm_time(m, n, k, 2, peak, bw, cal.compute_efficiency, cal.memory_efficiency, cal.kernel_overhead,
                     cal.roofline_exponent)


def _link(device):
    return _hw(device).si["link"]


def predict_allreduce(rows, calibration=None) -> np.ndarray:
    from mlsysim.physics.collectives import ring_allreduce_time

    cal = resolve_calibration(calibration)
    p = np.array([r[1] for r in rows], dtype=float)
    n = np.array([r[2] for r in rows], dtype=float)
    link = np.array([_link(r[0]) for r in rows])
    return ring_allreduce_time(n, p, link, cal.allreduce_latency, cal.interconnect_efficiency)


def gemm_split(rows=None):
    rows = load_gemm() if rows is None else rows
    return [r for r in rows if r[1] == GEMM_FIT_MODEL], [r for r in rows if r[1] != GEMM_FIT_MODEL]


def allreduce_split(rows=None):
    rows = load_allreduce() if rows is None else rows
    return ([r for r in rows if r[1] in ALLREDUCE_FIT_WORKERS], [r for r in rows if r[1] not in ALLREDUCE_FIT_WORKERS])


#: Overlap exponents the GEMM fit tries (math.inf is the textbook max).
EXPONENTS = (1.0, 1.5, 2.0, 3.0, 4.0, math.inf)


def fit_gemm(rows, exponents=EXPONENTS) -> dict:
    """Least squares in log time over a grid: (compute_efficiency, memory_efficiency, kernel_overhead,
    roofline_exponent) minimising the mean squared log error of
    :func:`~mlsysim.physics.roofline.gemm_time` on ``rows``."""
    from mlsysim.physics.roofline import overlapped_time

    m, n, k, peak, bw, t = _gemm_arrays(rows)
    tc = 2 * m * n * k / peak
    tm = 2 * (m * k + k * n + m * n) / bw
    etas = np.arange(0.50, 1.0001, 0.01)
    overheads = np.arange(0.0, 10.01e-6, 0.25e-6)
    best = (np.inf, None)
    for p in exponents:
        for eta_c in etas:
            for eta_m in etas:
                base = overlapped_time(tc / eta_c, tm / eta_m, p)
                pred = base[None, :] + overheads[:, None]
                loss = np.mean(np.log(pred / t[None, :]) ** 2, axis=1)
                i = int(np.argmin(loss))
                if loss[i] < best[0]:
                    best = (loss[i], (round(float(eta_c), 2), round(float(eta_m), 2), float(overheads[i]), p))
    eta_c, eta_m, t0, p = best[1]
    return {"compute_efficiency": eta_c, "memory_efficiency": eta_m, "kernel_overhead": t0, "roofline_exponent": p}


def gemm_loss(rows, calibration=None) -> float:
    """Mean squared log error of the engine's GEMM times on ``rows``."""
    t = np.array([r[7] for r in rows])
    return float(np.mean(np.log(predict_gemm(rows, calibration) / t) ** 2))


def fit_allreduce(rows) -> dict:
    """(allreduce_latency, interconnect_efficiency) by linear least squares in relative error:
    t = alpha + x / eta with x = 2 (p - 1) / p x n / W, each row weighted by 1 / t."""
    p = np.array([r[1] for r in rows], dtype=float)
    n = np.array([r[2] for r in rows], dtype=float)
    link = np.array([_link(r[0]) for r in rows])
    t = np.array([r[3] for r in rows])
    x = 2 * (p - 1) / p * n / link
    a = np.stack([np.ones_like(x), x], axis=1) / t[:, None]
    (alpha, inv_eta), *_ = np.linalg.lstsq(a, np.ones_like(t), rcond=None)
    return {"allreduce_latency": float(alpha), "interconnect_efficiency": float(1 / inv_eta)}



def _operator_records(calibration=None):
    out = []
    rows = load_gemm()
    pred = predict_gemm(rows, calibration)
    for r, p in zip(rows, pred):
        role = FIT if r[1] == GEMM_FIT_MODEL else HELD_OUT
        out.append(Record(f"gemm-{r[0]}-{r[1]}-{r[2]}-tp{r[3]}-m{r[4]}".lower(), "gemm",
                          f"{r[2]} of {r[1]} on {r[0]}, TP {r[3]}, {r[4]} tokens ({r[4]}x{r[6]} @ {r[6]}x{r[5]}, fp16)",
                          r[7], float(p), "s", role, "agrawal2024vidur",
                          f"Vidur data/profiling/compute/{r[0].lower()}/meta-llama/{r[1]}-hf/mlp.csv, median"))
    rows = load_allreduce()
    pred = predict_allreduce(rows, calibration)
    for r, p in zip(rows, pred):
        role = FIT if r[1] in ALLREDUCE_FIT_WORKERS else HELD_OUT
        out.append(Record(f"allreduce-{r[0]}-p{r[1]}-{r[2]}".lower(), "all-reduce",
                          f"NCCL all-reduce of {r[2]:,} bytes on {r[1]} x {r[0]} (one DGX node)", r[3], float(p), "s",
                          role, "agrawal2024vidur",
                          f"Vidur data/profiling/network/{r[0].lower()}_dgx/all_reduce.csv, median"))
    return out


# ----------------------------------------------------------------------------------------


@predictor("gemm", "s")
def _predict_gemm_record(rec, calibration=None):
    row = (rec["hardware"], "", "", rec["tensor_parallel"], rec["m"], rec["n"], rec["k"], 0.0)
    return float(predict_gemm([row], calibration)[0])


@predictor("all-reduce", "s")
def _predict_allreduce_record(rec, calibration=None):
    return float(predict_allreduce([(rec["hardware"], rec["workers"], rec["message_bytes"], 0.0)], calibration)[0])
