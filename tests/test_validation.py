"""The engine against published measurements: error bounds, the fit/held-out split, citations."""
import re
from pathlib import Path

import numpy as np
import pytest

from mlsysim import validation
from mlsysim.calibration import DEFAULT
from mlsysim.physics.roofline import gemm_time

ROOT = Path(__file__).resolve().parents[1]

# Current error bounds (fraction). A change that makes the engine worse fails here; a change
# that makes it better should tighten these. Reached on the held-out end-to-end records:
# median 16%, max 117%, 22 of 27 within 30% (large-batch TensorRT-LLM v0.5 throughput misses
# most, see mlsysim/validation.py); the target (median <= 10%, max <= 30%) is not reached.
BOUNDS = {
    "published held-out": (0.17, 1.20),
    "published fit": (0.09, 0.31),
    "end-to-end held-out": (0.17, 1.20),
    "end-to-end fit": (0.01, 0.01),
    "gemm held-out": (0.09, 0.36),
    "gemm fit": (0.10, 0.50),
    "all-reduce held-out": (0.22, 4.5),
    "all-reduce fit": (0.26, 0.45),
}


@pytest.fixture(scope="module")
def published():
    return validation.run(software=False)


@pytest.fixture(scope="module")
def operators():
    return validation.operators()


def _check(v, name):
    med, mx = BOUNDS[name]
    assert len(v) > 0, name
    assert v.median_abs_error <= med, f"{name}: median |error| {v.median_abs_error:.3f} > {med}"
    assert v.max_abs_error <= mx, f"{name}: max |error| {v.max_abs_error:.3f} > {mx}"


def test_published_error_bounds(published):
    _check(published.held_out, "published held-out")
    _check(published.fit, "published fit")
    _check(published.end_to_end.held_out, "end-to-end held-out")
    _check(published.end_to_end.fit, "end-to-end fit")
    assert published.end_to_end.held_out.within(0.30) >= 22 / 27 - 1e-9


def test_pass_overhead_experiment_is_not_adopted():
    # fitted on the A100 records it helps them and hurts the held-out median: kept at 0
    exp = validation.pass_overhead_experiment()
    assert DEFAULT.pass_overhead == 0
    assert exp["pass_overhead"] > 1e-3
    assert exp["fit_after"].median_abs_error < exp["fit_before"].median_abs_error
    assert exp["held_after"].median_abs_error > exp["held_before"].median_abs_error


def test_operator_error_bounds(operators):
    for kind in ("gemm", "all-reduce"):
        _check(operators.subset("held-out", kind), f"{kind} held-out")
        _check(operators.subset("fit", kind), f"{kind} fit")


def test_at_least_25_published_records_cover_every_kind(published):
    assert len(validation.load_published()) >= 25
    kinds = {r.kind for r in published.rows}
    assert {"ttft", "itl", "throughput", "speedup", "gemm", "all-reduce"} <= kinds
    hardware = {rec.get("hardware") for rec in validation.load_published()}
    assert {"A100", "H100", "H200"} <= hardware


def test_held_out_is_non_empty_and_disjoint_from_fit(published, operators):
    for v in (published, operators):
        fit = {r.id for r in v.fit.rows}
        held = {r.id for r in v.held_out.rows}
        assert held and not fit & held
    # the split rules themselves are disjoint
    gemm_fit, gemm_held = validation.gemm_split()
    assert gemm_held and not set(gemm_fit) & set(gemm_held)
    ar_fit, ar_held = validation.allreduce_split()
    assert ar_held and not set(ar_fit) & set(ar_held)
    # every end-to-end record is held out except the two that fit low_precision_efficiency
    fitted = {r.id for r in published.end_to_end.fit.rows}
    assert fitted == set(validation.LOW_PRECISION_FIT_IDS)
    assert all(r.role == "held-out" for r in published.rows
               if r.kind not in ("gemm", "all-reduce") and r.id not in fitted)


def test_fit_reproduces_the_calibration():
    fitted = validation.fit()
    for name, value in fitted.items():
        assert getattr(DEFAULT, name) == pytest.approx(value, rel=0.02), name


def test_every_citation_key_exists():
    keys = set(re.findall(r"@\w+\{([^,\s]+),", (ROOT / "references.bib").read_text()))
    v = validation.run(operators=True)
    missing = {r.source for r in v.rows} - keys
    assert not missing
    for rec in validation.load_published():
        assert rec["detail"], rec["id"]


def test_software_bound_records_are_outside_the_bounds():
    v = validation.run()
    soft = v.software
    assert len(soft) > 0 and all(r.source == "patel2024splitwise" for r in soft.rows)
    # vLLM (2023) decode at TP 8 is far slower than the roofline: the engine under-predicts it
    assert all(r.error < 0 for r in soft.rows if r.kind == "itl" and "tp8" in r.id)


def test_table_renders(published):
    assert "held-out" in published._repr_html_()
    assert "median |error|" in repr(published)
    assert set(published.summary) >= {"fit", "held-out"}


def test_gemm_time_by_hand():
    # 4096 x 4096 @ 4096 x 4096 in fp16 on P = 1e15 FLOP/s, W = 2e12 B/s, eta_c = 0.5, eta_m = 0.8:
    # FLOPs = 2 x 4096^3 = 137,438,953,472 -> / (1e15 x 0.5) = 274.878 us
    # bytes = 2 x 3 x 4096^2 = 100,663,296 -> / (2e12 x 0.8) = 62.915 us -> compute-bound
    # + 5 us fixed = 279.878 us
    t = gemm_time(4096, 4096, 4096, 2, 1e15, 2e12, 0.5, 0.8, 5e-6)
    assert t == pytest.approx(279.878e-6, rel=1e-5)
    # one token: 2 x (4096 + 4096^2 + 4096) = 33,570,816 B / 1.6e12 = 20.982 us (+5 us) -> memory-bound
    assert gemm_time(1, 4096, 4096, 2, 1e15, 2e12, 0.5, 0.8, 5e-6) == pytest.approx(25.982e-6, rel=1e-4)
    # arrays broadcast like scalars
    m = np.array([1, 4096])
    assert np.allclose(gemm_time(m, 4096, 4096, 2, 1e15, 2e12, 0.5, 0.8, 5e-6), [25.982e-6, 279.878e-6], rtol=1e-4)
