"""How wrong is the engine? Predicted against published measurements.

Three kinds of evidence, each kept apart:

- **Per-operator and collective timings** (Vidur [@agrawal2024vidur], DGX A100 and DGX H100,
  subsets in ``mlsysim/data/measurements/vidur``). The hardware factors of
  :mod:`mlsysim.calibration` are *fitted* here, on a stated subset: GEMMs of Llama-2-7B
  (Llama-2-70B held out) and 8-GPU all-reduces (2- and 4-GPU held out).
- **End-to-end published results** from optimized stacks (TensorRT-LLM tables, NVIDIA NIM
  tables, TensorRT-LLM quantization blog), listed with their configuration and citation in
  ``mlsysim/data/validation.yaml``. Three factors have no per-operator data behind them and are
  fitted, in order, on declared subsets of two to four records each
  (:data:`mlsysim.validation.serving.END_TO_END_FITS`): decode attention's bandwidth, the fixed
  cost of a prefill, and 8-bit math. All other end-to-end records are held out.
- **Software-bound results** (Splitwise's vLLM of 2023 [@patel2024splitwise]): shown, never
  fitted, and kept out of the error bounds; their error is software overhead the roofline
  does not model.
- **Training records** (:mod:`.training`, family "training": ``run().training``): ZeRO's memory
  per device, Korthikanti et al.'s activation savings, per-layer and per-iteration times,
  Megatron-LM's weak scaling from 1.7B to 1T parameters and FlashAttention-2's runs, all on
  A100s. Three training factors are fitted on the records in ``TRAINING_FIT_IDS``; the rest are
  held out (median |error| 6.7%, max 20%).

Records of each kind live in their own module (:mod:`.kernels`, :mod:`.serving`; the
training and fleet kinds add theirs the same way): a module registers a predictor per record
kind with :func:`predictor`, and :func:`run` gathers every module's records.

``run()`` predicts every record and returns a :class:`Validation` table (rows of predicted,
measured and signed error, with median and max absolute error for the fit and held-out sets).
``python -m mlsysim.validation --fit`` refits the factors and prints them, with the error on
the fit and held-out sets, and the experiments that were tried and not adopted.

Where it stands (tests/test_validation.py holds these bounds; ``python -m mlsysim.validation
--fit`` prints them): held-out end-to-end records median |error| 6.2%, max 90%, 20 of 21 within
30% (before the rounded roofline, separate attention kernels and the prefill cost: 16%, 117%,
22 of 27); GEMMs held out (Llama-2-70B) median 7.3%; all-reduce held out (2 and 4 GPUs) median
15%, max 414% (a 2 kB message on 2 GPUs: 7 us measured). The one held-out record outside 30%
is Llama-2-70B on 4 x H200 at batch 512 with 2,048 output tokens in TensorRT-LLM v0.5 (+90%):
its decode attention predates the XQA kernel for grouped-query attention, which NVIDIA reports
gave up to 2.4x more Llama-70B throughput [@nvidia2024xqa]; a factor fitted on that one record
would be a fudge, so the miss stays and is stated. NIM's records (2025) are 11-29% faster than
predicted: its all-reduce kernels are faster than the NCCL of 2023 the collective factors were
fitted on.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent.parent / "data"
MEASUREMENTS = DATA / "measurements"

END_TO_END = ("ttft", "itl", "throughput", "speedup")

FIT, HELD_OUT, SOFTWARE = "fit", "held-out", "software-bound"
#: One colour per kind of record in every parity plot.
KIND_COLOURS = {"ttft": "C0", "itl": "C1", "throughput": "C2", "speedup": "C4", "gemm": "C7", "all-reduce": "C3",
                "layer_time": "C5", "iteration_time": "C6", "megatron_throughput": "C8", "training_memory": "C9"}



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


_DISPLAY = {"s": (1e3, "ms"), "byte": (1e-9, "GB"), "token/s": (1.0, "token/s"), "ratio": (1.0, "x"),
            "flop/s": (1e-12, "TFLOP/s"), "kWh": (1e-3, "MWh"), "kg": (1e-3, "t CO2e"), "B/s": (8e-6, "Mb/s"),
            "count": (1.0, "")}


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

    def family(self, name: str) -> "Validation":
        """Only the records of one family of kinds: "serving" (default kinds) or "training"."""
        return Validation([r for r in self.rows if FAMILIES.get(r.kind, "serving") == name], self.title)

    @property
    def training(self):
        """Only the training records (memory, per-layer and per-step times, throughput)."""
        return self.family("training")

    @property
    def serving(self):
        """Every record that is not of a training (or later, fleet) kind."""
        return self.family("serving")

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
# Published records (validation.yaml): one predictor per kind, registered by the kind modules
# ----------------------------------------------------------------------------------------
#: kind -> (predict(record dict, calibration) -> float in the SI unit, SI unit)
PREDICTORS: dict = {}
#: ids of validation.yaml records some factor is fitted on (each kind module adds its own);
#: every other record is held out
FIT_IDS: set = set()
#: kind -> family ("serving", "training", ...): which part of the engine a kind of record checks
FAMILIES: dict = {}
#: kind -> describe(record dict) -> str, for kinds whose records are not serving-shaped
DESCRIBERS: dict = {}


def predictor(kind: str, unit: str, family: str = "serving", describe=None):
    """Decorator: register ``fn(record, calibration) -> float`` as the engine's value for ``kind``
    (a kind of record of ``family``; ``describe(record) -> str`` for its one-line description)."""
    def register(fn):
        PREDICTORS[kind] = (fn, unit)
        FAMILIES[kind] = family
        if describe is not None:
            DESCRIBERS[kind] = describe
        return fn
    return register


@lru_cache(maxsize=None)
def load_published() -> tuple:
    """The records of ``validation.yaml`` (dicts, as written)."""
    from mlsysim.specs.fields import read_yaml

    records = []
    for path in [DATA / "validation.yaml"] + sorted(DATA.glob("validation_*.yaml")):   # one file per kind module
        records += [dict(v, id=k) for k, v in read_yaml(path).items()]
    return tuple(records)


def predict_published(rec, calibration=None) -> float:
    """The engine's value for one validation.yaml record, in the record's SI unit."""
    if rec["kind"] not in PREDICTORS:
        raise ValueError(f"validation.yaml:{rec['id']}: unknown kind {rec['kind']!r}; known: {', '.join(PREDICTORS)}")
    return float(PREDICTORS[rec["kind"]][0](rec, calibration))


def unit_of(kind: str) -> str:
    return PREDICTORS[kind][1]

def _measured_si(rec) -> float:
    from mlsysim.core.units import Q_

    value = rec["measured"]
    unit = unit_of(rec["kind"])
    if unit in ("ratio", "count"):
        return float(value)
    if unit == "token/s":
        return float(str(value).split()[0].replace(",", ""))
    return float(Q_(value).to(unit).magnitude)


def _describe(rec) -> str:
    if rec["kind"] in DESCRIBERS:
        return DESCRIBERS[rec["kind"]](rec)
    if "description" in rec:
        return f"{rec['kind']}: {rec['description']}"
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
                   unit_of(rec["kind"]), FIT if rec["id"] in FIT_IDS else rec.get("role", HELD_OUT), rec["source"], rec["detail"])
            for rec in load_published()]

def run(calibration=None, operators: bool = False, software: bool = True) -> Validation:
    """Predict every published record with ``calibration`` (default: the engine's).

    - the records of ``validation.yaml`` (end-to-end results, KV-cache sizes, and a sample of the
      per-operator and all-reduce timings) always;
    - ``operators=True`` adds every row of the committed Vidur GEMM and all-reduce subsets;
    - ``software=True`` adds the Splitwise vLLM records (role ``software-bound``, outside the bounds).
    """
    records = _published_records(calibration)
    if operators:
        records += _operators._operator_records(calibration)
    if software:
        records += _serving._software_records(calibration)
    return Validation(records)


def operators(calibration=None) -> Validation:
    """Only the per-operator GEMM and all-reduce rows (fit and held-out)."""
    return Validation(_operators._operator_records(calibration), "Per-operator and all-reduce timings (Vidur)")



def fit() -> dict:
    """Refit every factor on its stated subset; returns {factor: value}. The hardware factors
    come first (Vidur); ``low_precision_efficiency`` is fitted with them in place."""
    from mlsysim.calibration import DEFAULT

    gemm_fit, _ = _operators.gemm_split()
    ar_fit, _ = _operators.allreduce_split()
    hardware = {**_operators.fit_gemm(gemm_fit), **_operators.fit_allreduce(ar_fit)}
    serving = {**hardware, **_serving.fit_end_to_end(DEFAULT.with_(**hardware))}
    return {**serving, **_training.fit_training(DEFAULT.with_(**serving))}



# The kind modules register their predictors on import; their public names are re-exported.
from mlsysim.validation import kernels as _operators  # noqa: E402
from mlsysim.validation import serving as _serving  # noqa: E402
from mlsysim.validation import training as _training  # noqa: E402
from mlsysim.validation import fleet as _fleet  # noqa: E402,F401
from mlsysim.validation.kernels import (  # noqa: E402,F401
    ALLREDUCE_FIT_WORKERS, GEMM_FIT_MODEL, allreduce_split, fit_allreduce, fit_gemm, gemm_split, load_allreduce,
    load_gemm, predict_allreduce, predict_gemm)
from mlsysim.validation.training import (  # noqa: E402,F401
    TRAINING_FIT_IDS, fit_training, training_record)
from mlsysim.validation.serving import (  # noqa: E402,F401
    ATTENTION_FIT_IDS, END_TO_END_FITS, LOW_PRECISION_FIT_IDS, PREFILL_FIT_IDS, fit_end_to_end, fit_low_precision,
    load_splitwise, low_precision_fit_records)
