"""How wrong is the engine? Predicted against published measurements.

Three kinds of evidence, each kept apart:

- **Per-operator and collective timings** (Vidur [@agrawal2024vidur], DGX A100 and DGX H100,
  subsets in ``mlsysim/data/measurements/vidur``). The hardware factors of
  :mod:`mlsysim.calibration` are *fitted* here, on a stated subset: GEMMs of Llama-2-7B
  (Llama-2-70B held out) and 8-GPU all-reduces (2- and 4-GPU held out).
- **End-to-end published results** from optimized stacks (TensorRT-LLM tables, NVIDIA NIM
  tables, TensorRT-LLM quantization blog), listed with their configuration and citation in
  ``mlsysim/data/validation.yaml``. One factor is fitted on two of them, because no per-operator
  data exist for it: ``low_precision_efficiency`` (FP8/INT8 math) on the two compute-bound H100
  FP8 prefills of 2,048 tokens (``LOW_PRECISION_FIT_IDS``). All other end-to-end records are
  held out.
- **Software-bound results** (Splitwise's vLLM of 2023 [@patel2024splitwise]): shown, never
  fitted, and kept out of the error bounds; their error is software overhead the roofline
  does not model.

``run()`` predicts every record and returns a :class:`Validation` table (rows of predicted,
measured and signed error, with median and max absolute error for the fit and held-out sets).
``python -m mlsysim.validation --fit`` refits the factors and prints them, with the error on
the fit and held-out sets, and the experiments that were tried and not adopted.

Where it stands (tests/test_validation.py holds these bounds; ``python -m mlsysim.validation``
prints them): held-out end-to-end records median |error| 16%, max 117%, 22 of 27 within 30%
(before low_precision_efficiency: 22%, 185%);
GEMMs held out (Llama-2-70B) median 7.7%, max 33%; all-reduce held out (2 and 4 GPUs) median
16%, max 414% (a 2 kB message on 2 GPUs: 7 us measured). The issue's target (median <= 10%,
every held-out record within 30%) is not reached. What misses most: (1) throughput at very
large static batches in TensorRT-LLM v0.5 on H200 (batch 512-1,024: up to 2.2x too much; the
engine's decode is bound by reading the KV cache there, and a lower efficiency for those reads
is *not* supported by the A100 records it would have to be fitted on); (2) short prompts (128
tokens) at batch 1, 30-45% under-predicted on A100, where time goes to work the model does not
count (sampling, embedding, kernel setup); a fixed per-pass cost fitted on the A100 records
(5.75 ms) fixes them but raises the held-out median error (16% -> 19%), so it is not adopted
(:func:`pass_overhead_experiment`).
"""
from __future__ import annotations

import csv
import html
import statistics
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data"
MEASUREMENTS = DATA / "measurements"

#: Split of the per-operator data: GEMMs of this model are fitted, the other model is held out.
GEMM_FIT_MODEL = "Llama-2-7B"
#: Split of the all-reduce data: these GPU counts are fitted, the others (2 and 4 GPUs) held out.
ALLREDUCE_FIT_WORKERS = (8,)

#: The end-to-end records ``low_precision_efficiency`` is fitted on: compute-bound FP8 prefills.
LOW_PRECISION_FIT_IDS = ("trtllm-ttft-h100-llama2-7b-2048", "trtllm-ttft-h100-llama2-70b-2048")
#: Where a fixed per-pass cost would be fitted (the experiment that was not adopted).
PASS_OVERHEAD_FIT_HARDWARE = "A100"
END_TO_END = ("ttft", "itl", "throughput", "speedup")

FIT, HELD_OUT, SOFTWARE = "fit", "held-out", "software-bound"
#: One colour per kind of record in every parity plot.
KIND_COLOURS = {"ttft": "C0", "itl": "C1", "throughput": "C2", "speedup": "C4", "gemm": "C7", "all-reduce": "C3"}


# ----------------------------------------------------------------------------------------
# Records
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Record:
    """One measurement and the engine's prediction of it (SI units: s, byte, token/s, ratio)."""

    id: str
    kind: str
    description: str
    measured: float
    predicted: float
    unit: str
    role: str
    source: str
    detail: str

    @property
    def error(self) -> float:
        """Signed relative error, predicted / measured - 1."""
        return self.predicted / self.measured - 1.0


_DISPLAY = {"s": (1e3, "ms"), "byte": (1e-9, "GB"), "token/s": (1.0, "token/s"), "ratio": (1.0, "x")}


def _shown(value: float, unit: str) -> str:
    from mlsysim.show import sig

    scale, label = _DISPLAY.get(unit, (1.0, unit))
    if unit == "s" and value < 1e-3:
        scale, label = 1e6, "us"
    return f"{sig(value * scale, 3)} {label}"


class Validation:
    """Predicted against measured for a list of :class:`Record`; renders as a table.

    ``.rows`` are the records; ``.summary`` gives, per role, the count, the median and the
    max absolute relative error; ``.fit`` / ``.held_out`` / ``.software`` are the subsets.
    """

    HEADERS = ["id", "kind", "role", "measured", "predicted", "error", "source"]

    def __init__(self, records, title="Engine against published measurements"):
        self.rows = list(records)
        self.title = title

    def subset(self, role=None, kind=None) -> "Validation":
        return Validation([r for r in self.rows if (role is None or r.role == role) and (kind is None or r.kind == kind)],
                          self.title)

    @property
    def fit(self):
        return self.subset(FIT)

    @property
    def held_out(self):
        return self.subset(HELD_OUT)

    @property
    def software(self):
        return self.subset(SOFTWARE)

    @property
    def end_to_end(self):
        """Only the end-to-end records (TTFT, ITL, throughput, speedup)."""
        return Validation([r for r in self.rows if r.kind in END_TO_END], self.title)

    def within(self, band: float) -> float:
        """Fraction of records whose |error| is at most ``band``."""
        return float(np.mean(np.abs(self.errors) <= band)) if self.rows else float("nan")

    def plot(self, band=0.25, title=None):
        """Parity plots (:func:`mlsysim.plots.parity`), one panel per unit: times in ms, throughput in
        token/s, speedups; colour by kind, filled points fitted, hollow held out. Returns the axes."""
        import matplotlib.pyplot as plt

        from mlsysim.plots import parity

        panels = [(u, [r for r in self.rows if r.unit == u]) for u in ("s", "token/s", "ratio")]
        panels = [(u, rows) for u, rows in panels if rows]
        fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.4), layout="constrained", squeeze=False)
        labels = {"s": ("time, ms", 1e3), "token/s": ("throughput, token/s", 1.0), "ratio": ("speedup, x", 1.0)}
        for ax, (unit, rows) in zip(axes[0], panels):
            label, scale = labels[unit]
            parity([r.predicted * scale for r in rows], [r.measured * scale for r in rows],
                   groups=[r.kind for r in rows], fit=[r.role == FIT for r in rows], band=band, ax=ax,
                   colours=KIND_COLOURS,
                   xlabel=f"measured {label}", ylabel=f"predicted {label}")
        if title:
            fig.suptitle(title)
        return axes[0]

    @property
    def errors(self) -> np.ndarray:
        return np.array([r.error for r in self.rows])

    @property
    def median_abs_error(self) -> float:
        return float(np.median(np.abs(self.errors))) if self.rows else float("nan")

    @property
    def max_abs_error(self) -> float:
        return float(np.max(np.abs(self.errors))) if self.rows else float("nan")

    @property
    def summary(self) -> dict:
        out = {}
        for role in (FIT, HELD_OUT, SOFTWARE):
            sub = self.subset(role)
            if sub.rows:
                out[role] = {"n": len(sub.rows), "median_abs_error": sub.median_abs_error,
                             "max_abs_error": sub.max_abs_error}
        return out

    def table(self):
        from mlsysim.show import Table, pct

        rows = [[r.id, r.kind, r.role, _shown(r.measured, r.unit), _shown(r.predicted, r.unit),
                 ("+" if r.error >= 0 else "") + pct(r.error, 2), r.source] for r in self.rows]
        return Table(self.HEADERS, rows, self.title)

    def summary_table(self):
        from mlsysim.show import Table, pct

        rows = [[role, s["n"], pct(s["median_abs_error"], 2), pct(s["max_abs_error"], 2)]
                for role, s in self.summary.items()]
        return Table(["set", "n", "median |error|", "max |error|"], rows, "Error summary")

    def __len__(self):
        return len(self.rows)

    def __repr__(self) -> str:
        return repr(self.table()) + "\n\n" + repr(self.summary_table())

    def _repr_html_(self) -> str:
        return self.table()._repr_html_() + self.summary_table()._repr_html_()

    def to_dicts(self) -> list[dict]:
        return [dict(r.__dict__, error=r.error) for r in self.rows]


# ----------------------------------------------------------------------------------------
# Per-operator GEMMs and all-reduce (Vidur)
# ----------------------------------------------------------------------------------------
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
    from mlsysim.solvers._common import resolve_calibration

    cal = resolve_calibration(calibration)
    m, n, k, peak, bw, _ = _gemm_arrays(rows)
    return gemm_time(m, n, k, 2, peak, bw, cal.compute_efficiency, cal.memory_efficiency, cal.kernel_overhead)


def _link(device):
    return _hw(device).si["link"]


def predict_allreduce(rows, calibration=None) -> np.ndarray:
    from mlsysim.physics.collectives import ring_allreduce_time
    from mlsysim.solvers._common import resolve_calibration

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


def fit_gemm(rows) -> dict:
    """Least squares in log time over a grid: (compute_efficiency, memory_efficiency, kernel_overhead)
    minimising the mean squared log error of :func:`~mlsysim.physics.roofline.gemm_time` on ``rows``."""
    m, n, k, peak, bw, t = _gemm_arrays(rows)
    tc = 2 * m * n * k / peak
    tm = 2 * (m * k + k * n + m * n) / bw
    etas = np.arange(0.50, 1.0001, 0.01)
    overheads = np.arange(0.0, 10.01e-6, 0.25e-6)
    best = (np.inf, None)
    for eta_c in etas:
        for eta_m in etas:
            base = np.maximum(tc / eta_c, tm / eta_m)
            pred = base[None, :] + overheads[:, None]
            loss = np.mean(np.log(pred / t[None, :]) ** 2, axis=1)
            i = int(np.argmin(loss))
            if loss[i] < best[0]:
                best = (loss[i], (round(float(eta_c), 2), round(float(eta_m), 2), float(overheads[i])))
    eta_c, eta_m, t0 = best[1]
    return {"compute_efficiency": eta_c, "memory_efficiency": eta_m, "kernel_overhead": t0}


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
    from mlsysim.solvers._common import resolve_calibration

    cal = resolve_calibration(calibration)
    value = _grid_fit(low_precision_fit_records(), cal, "low_precision_efficiency", np.arange(0.30, 0.9001, 0.01))
    return {"low_precision_efficiency": round(value, 2)}


def pass_overhead_experiment(calibration=None, hardware=PASS_OVERHEAD_FIT_HARDWARE) -> dict:
    """Fit a fixed per-pass cost on the end-to-end records of one ``hardware`` and evaluate it on
    the others. Returns the fitted value (s) and the held-out end-to-end summary before and after:
    ``{"pass_overhead", "fit_before", "fit_after", "held_before", "held_after"}``, each summary a
    Validation. Not adopted in the calibration (see ``Calibration.pass_overhead``)."""
    from mlsysim.solvers._common import resolve_calibration

    cal = resolve_calibration(calibration)
    fit_recs = [rec for rec in load_published() if rec["kind"] in END_TO_END and rec["hardware"] == hardware]
    value = _grid_fit(fit_recs, cal, "pass_overhead", np.arange(0.0, 10.0001e-3, 0.25e-3))
    fit_ids = {rec["id"] for rec in fit_recs}

    def split(c):
        v = run(c, software=False).end_to_end
        return (Validation([r for r in v.rows if r.id in fit_ids]),
                Validation([r for r in v.rows if r.id not in fit_ids and r.role == HELD_OUT]))

    (fit_before, held_before), (fit_after, held_after) = split(cal), split(cal.with_(pass_overhead=value))
    return {"pass_overhead": value, "fit_before": fit_before, "fit_after": fit_after,
            "held_before": held_before, "held_after": held_after}


def fit() -> dict:
    """Refit every factor on its stated subset; returns {factor: value}. The hardware factors
    come first (Vidur); ``low_precision_efficiency`` is fitted with them in place."""
    from mlsysim.calibration import DEFAULT

    gemm_fit, _ = gemm_split()
    ar_fit, _ = allreduce_split()
    hardware = {**fit_gemm(gemm_fit), **fit_allreduce(ar_fit)}
    return {**hardware, **fit_low_precision(DEFAULT.with_(**hardware))}


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
# End-to-end records (validation.yaml) and software-bound records (Splitwise)
# ----------------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def load_published() -> tuple:
    """The records of ``validation.yaml`` (dicts, as written)."""
    from mlsysim.specs.fields import read_yaml

    data = read_yaml(DATA / "validation.yaml")
    return tuple(dict(v, id=k) for k, v in data.items())


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


def predict_published(rec, calibration=None) -> float:
    """The engine's value for one validation.yaml record, in the record's SI unit."""
    kind = rec["kind"]
    if kind == "gemm":
        row = (rec["hardware"], "", "", rec["tensor_parallel"], rec["m"], rec["n"], rec["k"], 0.0)
        return float(predict_gemm([row], calibration)[0])
    if kind == "all-reduce":
        return float(predict_allreduce([(rec["hardware"], rec["workers"], rec["message_bytes"], 0.0)], calibration)[0])
    if kind == "kv_cache":
        r = _replica(rec, calibration=calibration)
        return float(r.kv_per_token * rec["context_tokens"] * rec.get("batch_size", 1))
    if kind == "weights":
        return float(_replica(rec, calibration=calibration).weights)
    b = rec.get("batch_size", 1)
    if kind == "ttft":
        return float(_replica(rec, calibration=calibration).prefill(rec["input_tokens"], b)[0])
    if kind == "itl":
        r = _replica(rec, calibration=calibration)
        context = rec["input_tokens"] + np.arange(1, rec["output_tokens"])
        return float(np.mean(r.decode_step(context.astype(float), b)[0]))
    if kind == "throughput":
        r = _replica(rec, calibration=calibration)
        return b * rec["output_tokens"] / _generation_time(r, b, rec["input_tokens"], rec["output_tokens"])
    if kind == "speedup":
        fast = _replica(rec, rec["precision"], calibration)
        base = _replica(rec, rec["baseline_precision"], calibration)
        args = (b, rec["input_tokens"], rec["output_tokens"])
        return _generation_time(base, *args) / _generation_time(fast, *args)
    raise ValueError(f"validation.yaml:{rec['id']}: unknown kind {kind!r}")


_UNITS = {"gemm": "s", "all-reduce": "s", "ttft": "s", "itl": "s", "throughput": "token/s", "speedup": "ratio", "kv_cache": "byte", "weights": "byte"}


def _measured_si(rec) -> float:
    from mlsysim.core.units import Q_

    value = rec["measured"]
    unit = _UNITS[rec["kind"]]
    if unit == "ratio":
        return float(value)
    if unit == "token/s":
        return float(str(value).split()[0].replace(",", ""))
    return float(Q_(value).to(unit).magnitude)


def _describe(rec) -> str:
    if rec["kind"] == "gemm":
        return f"gemm: {rec['m']} x {rec['k']} @ {rec['k']} x {rec['n']}, fp16, on {rec['hardware']}"
    if rec["kind"] == "all-reduce":
        return f"all-reduce: {rec['message_bytes']:,} bytes on {rec['workers']} x {rec['hardware']}"
    parts = [f"{rec['model']} on {rec.get('tensor_parallel', 1)} x {rec['hardware']}, {rec['precision']}"]
    if "batch_size" in rec:
        parts.append(f"batch {rec['batch_size']}")
    if "input_tokens" in rec:
        parts.append(f"{rec['input_tokens']} in / {rec.get('output_tokens', 1)} out")
    return f"{rec['kind']}: " + ", ".join(parts)


def _published_records(calibration=None):
    return [Record(rec["id"], rec["kind"], _describe(rec), _measured_si(rec), predict_published(rec, calibration),
                   _UNITS[rec["kind"]], rec.get("role", HELD_OUT), rec["source"], rec["detail"])
            for rec in load_published()]


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


def run(calibration=None, operators: bool = False, software: bool = True) -> Validation:
    """Predict every published record with ``calibration`` (default: the engine's).

    - the records of ``validation.yaml`` (end-to-end results, KV-cache sizes, and a sample of the
      per-operator and all-reduce timings) always;
    - ``operators=True`` adds every row of the committed Vidur GEMM and all-reduce subsets;
    - ``software=True`` adds the Splitwise vLLM records (role ``software-bound``, outside the bounds).
    """
    records = _published_records(calibration)
    if operators:
        records += _operator_records(calibration)
    if software:
        records += _software_records(calibration)
    return Validation(records)


def operators(calibration=None) -> Validation:
    """Only the per-operator GEMM and all-reduce rows (fit and held-out)."""
    return Validation(_operator_records(calibration), "Per-operator and all-reduce timings (Vidur)")


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m mlsysim.validation", description="Engine against published measurements")
    ap.add_argument("--fit", action="store_true", help="refit the hardware factors and print them")
    ap.add_argument("--all", action="store_true", help="list every record, including every operator row")
    args = ap.parse_args(argv)
    from mlsysim.calibration import DEFAULT
    from mlsysim.show import pct

    if args.fit:
        fitted = fit()
        print("Refit on: GEMMs of", GEMM_FIT_MODEL, "(A100 + H100, TP 1-8, 1-4,096 tokens);",
              f"all-reduce on {' and '.join(map(str, ALLREDUCE_FIT_WORKERS))} GPUs (A100 + H100);",
              "low-precision math on", ", ".join(LOW_PRECISION_FIT_IDS))
        for name, value in fitted.items():
            now = getattr(DEFAULT, name)
            print(f"  {name:26s} fitted {value:.4g}   in calibration.py {now:.4g}")
        cal = DEFAULT.with_(**fitted)
        ops = operators(cal)
        for kind in ("gemm", "all-reduce"):
            for role in (FIT, HELD_OUT):
                sub = ops.subset(role, kind)
                print(f"  {kind:10s} {role:8s} n={len(sub):3d}  median |err| {pct(sub.median_abs_error, 2):>6s}"
                      f"  max |err| {pct(sub.max_abs_error, 2):>6s}")
        e2e = run(cal, software=False).end_to_end
        for role in (FIT, HELD_OUT):
            sub = e2e.subset(role)
            print(f"  {'end-to-end':10s} {role:8s} n={len(sub):3d}  median |err| {pct(sub.median_abs_error, 2):>6s}"
                  f"  max |err| {pct(sub.max_abs_error, 2):>6s}  within 30%: {sum(abs(sub.errors) <= 0.3)}/{len(sub)}")
        exp = pass_overhead_experiment(cal)
        print(f"\nNot adopted: pass_overhead fitted on the {PASS_OVERHEAD_FIT_HARDWARE} end-to-end records = "
              f"{exp['pass_overhead'] * 1e3:.2f} ms")
        for name in ("fit", "held"):
            b, a = exp[f"{name}_before"], exp[f"{name}_after"]
            print(f"  {name:4s} n={len(a):2d}  median |err| {pct(b.median_abs_error, 2)} -> {pct(a.median_abs_error, 2)}"
                  f"   max |err| {pct(b.max_abs_error, 2)} -> {pct(a.max_abs_error, 2)}")
        print()
    v = run(operators=args.all)
    print(v if args.all else v)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
