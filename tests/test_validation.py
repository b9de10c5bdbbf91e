"""The engine against published measurements: error bounds, the fit/held-out split, citations."""
import re
from pathlib import Path

import numpy as np
import pytest

from mlsysim import validation
from mlsysim.calibration import DEFAULT
from mlsysim.physics.roofline import gemm_time

ROOT = Path(__file__).resolve().parents[1]

# Current error bounds (fraction), a little above what is reached, so a change that makes the
# engine worse fails here and a change that makes it better should tighten them. Reached
# (python -m mlsysim.validation --fit): held-out end-to-end median 6.2%, max 90%, 20 of 21
# within 30%; the one record outside is TensorRT-LLM v0.5's GQA decode attention on H200
# (see mlsysim/validation/__init__.py).
BOUNDS = {
    "published held-out": (0.09, 0.95),
    "published fit": (0.06, 0.31),
    "end-to-end held-out": (0.07, 0.95),
    "end-to-end fit": (0.02, 0.07),
    "gemm held-out": (0.08, 0.50),
    "gemm fit": (0.07, 0.40),
    "all-reduce held-out": (0.16, 4.5),
    "all-reduce fit": (0.19, 0.45),
}


@pytest.fixture(scope="module")
def published():
    # the serving records (training records have their own bounds, test_training_validation)
    return validation.run(software=False).serving


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
    assert published.end_to_end.held_out.within(0.30) >= 20 / 21 - 1e-9


def test_each_end_to_end_fit_is_on_its_declared_records_only(published):
    declared = {i for ids, _ in validation.END_TO_END_FITS.values() for i in ids}
    assert {r.id for r in published.end_to_end.fit.rows} == declared
    # every factor fitted on end-to-end records has at least two records behind it
    assert all(len(ids) >= 2 for ids, _ in validation.END_TO_END_FITS.values())


def test_the_rounded_roofline_beats_the_max_on_the_gemms():
    # the overlap exponent is a physical term fitted on 192 GEMMs, not a factor tuned on one record
    fit_rows, held_rows = validation.gemm_split()
    textbook = validation.fit_gemm(fit_rows, exponents=(float("inf"),))
    rounded = DEFAULT
    assert validation.kernels.gemm_loss(held_rows, rounded) < validation.kernels.gemm_loss(
        held_rows, DEFAULT.with_(**textbook))


def test_operator_error_bounds(operators):
    for kind in ("gemm", "all-reduce"):
        _check(operators.subset("held-out", kind), f"{kind} held-out")
        _check(operators.subset("fit", kind), f"{kind} fit")


def test_at_least_25_published_records_cover_every_kind(published):
    assert len(validation.load_published()) >= 25
    kinds = {r.kind for r in published.rows}
    assert {"ttft", "itl", "throughput", "speedup", "gemm", "all-reduce"} <= kinds
    hardware = {rec.get("hardware") for rec in validation.load_published() if rec.get("hardware")}
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
    # every end-to-end record is held out except those a factor is declared to be fitted on
    fitted = {r.id for r in published.end_to_end.fit.rows}
    assert fitted == set(validation.FIT_IDS)
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


# Training records (mlsysim/validation/training.py): the target is a held-out median
# |error| <= 10% with every held-out record within 25%. Reached: median 6.7%, max 20%
# (FlashAttention-2 at 8k context, under-predicted; the 1T iteration times are 16-17% over);
# fit 2.1% / 6.7%.
TRAINING_BOUNDS = {"fit": (0.03, 0.08), "held-out": (0.08, 0.22)}


def test_training_validation_bounds():
    v = validation.run(software=False).training
    for role, (med, mx) in TRAINING_BOUNDS.items():
        sub = v.subset(role)
        assert len(sub) > 0, role
        assert sub.median_abs_error <= med, f"training {role}: median {sub.median_abs_error:.3f}"
        assert sub.max_abs_error <= mx, f"training {role}: max {sub.max_abs_error:.3f}"
    held = v.held_out
    assert held.median_abs_error <= 0.10 and held.within(0.25) == 1.0    # the target
    kinds = {r.kind for r in v.rows}
    assert {"training_memory", "activation_saving", "layer_time", "iteration_time", "megatron_throughput"} <= kinds
    # the split: exactly TRAINING_FIT_IDS are fitted
    assert {r.id for r in v.fit.rows} == set(validation.TRAINING_FIT_IDS)
    timed = [r for r in held.rows if r.kind in ("iteration_time", "megatron_throughput", "model_flops_per_device")]
    assert len(timed) >= 24


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


FLEET_KINDS = {"training_energy", "training_co2", "interruptions", "read_bandwidth", "checkpoint_size"}


def test_fleet_records_are_held_out_and_bounded(published):
    # Reached: GPT-3 energy +33%, BLOOM CO2 +53% (TDP and the server maximum overstate the draw),
    # Llama 3 interruptions +18%, ImageNet read bandwidth -8%, BLOOM checkpoint -2%.
    fleet = validation.Validation([r for r in published.rows if r.kind in FLEET_KINDS])
    assert {r.kind for r in fleet.rows} == FLEET_KINDS
    assert all(r.role == "held-out" for r in fleet.rows)
    assert fleet.median_abs_error <= 0.20 and fleet.max_abs_error <= 0.55


# module-scoped fixtures: keep this file on one xdist worker (scripts/test.sh uses --dist loadgroup)
pytestmark = pytest.mark.xdist_group("test_validation")


# ------------------------------------------------------------------------------- per-record bounds
#: Each record's |error| may grow by at most this much before a test fails (the aggregate bounds above
#: let one record move a long way while the median stays put: a 2x error on one record passed them).
RECORD_SLACK = 0.05
RECORD_BOUNDS = ROOT / "tests" / "data" / "validation_record_bounds.json"


def _all_records():
    v = validation.run(software=False)
    return list(v.serving.rows) + list(v.training.rows) + list(validation.operators().rows)


def write_record_bounds():
    """Regenerate tests/data/validation_record_bounds.json: every record's |error| now, plus the slack.
    Run after a deliberate change to the engine or its calibration (python tests/test_validation.py)."""
    import json

    bounds = {r.id: round(abs(r.error) + RECORD_SLACK, 3) for r in _all_records()}
    RECORD_BOUNDS.parent.mkdir(exist_ok=True)
    RECORD_BOUNDS.write_text(json.dumps(dict(sorted(bounds.items())), indent=0) + "\n")


def test_every_record_stays_within_its_own_bound():
    import json

    bounds = json.loads(RECORD_BOUNDS.read_text())
    records = _all_records()
    ids = [r.id for r in records]
    assert len(ids) == len(set(ids)), "record ids must be unique"
    assert set(ids) == set(bounds), (f"records without a bound {sorted(set(ids) - set(bounds))[:5]}, bounds without "
                                     f"a record {sorted(set(bounds) - set(ids))[:5]}: python tests/test_validation.py")
    worse = [f"{r.id}: |error| {abs(r.error):.3f} > {bounds[r.id]:.3f}" for r in records if abs(r.error) > bounds[r.id]]
    assert not worse, f"{len(worse)} record(s) moved away from their measurement: " + "; ".join(worse[:8])


if __name__ == "__main__":
    write_record_bounds()
    print(f"wrote {RECORD_BOUNDS}")
