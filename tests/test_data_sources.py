"""Every number in the engine's data catalogues has a source.

Checks mlsysim/data/{hardware,models,economics}.yaml against references.bib:
- every record has a `source` key that exists in references.bib;
- every per-field `sources:` override names a real field of its record and an existing key;
- every numeric field parses as "<number> <unit>" (or is a bare number for counts/ratios).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "mlsysim" / "data"
BIB = ROOT / "references.bib"

NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
QUANTITY = re.compile(rf"^{NUMBER} [A-Za-z$%][A-Za-z0-9/*^ ]*$")
BARE = re.compile(rf"^{NUMBER}$")

# Fields that are text, not numbers.
TEXT_FIELDS = {"name", "tier", "source", "source_detail", "interconnect", "interconnect_topology", "architecture",
               "detail", "estimate", "key", "memory_kind"}
PRECISIONS = {"fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4", "int4"}
# Fields that must carry a unit (everything else numeric must be a bare count).
HARDWARE_QUANTITIES = {"memory", "flash", "memory_bandwidth", "tdp", "interconnect_bandwidth",
                       "unit_price", "external_bandwidth", "external_memory"}
HARDWARE_TIERS = {"cloud", "edge", "mobile", "tiny"}
MODEL_ARCHITECTURES = {"decoder", "encoder", "cnn"}


def bib_keys() -> set[str]:
    return set(re.findall(r"@\w+\{([^,]+),", BIB.read_text(encoding="utf-8")))


def load(name: str) -> dict:
    with open(DATA / f"{name}.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)


KEYS = bib_keys()
HARDWARE = load("hardware")
MODELS = load("models")
ECONOMICS = load("economics")


def is_number(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and bool(BARE.match(value.strip()))


def is_quantity(value) -> bool:
    return isinstance(value, str) and bool(QUANTITY.match(value.strip()))


def check_overrides(where: str, record: dict) -> None:
    overrides = record.get("sources", {}) or {}
    assert isinstance(overrides, dict), f"{where}: sources must be a mapping"
    # Overrides of a peak name it as "peak_flops.<precision>" (as the engine's loader reads it).
    fields = set(record) | {f"peak_flops.{p}" for p in record.get("peak_flops", {}) or {}}
    for field, override in overrides.items():
        assert field in fields and field != "sources", \
            f"{where}: sources override names unknown field {field!r}"
        assert isinstance(override, dict) and "key" in override, \
            f"{where}.sources.{field}: needs a 'key'"
        assert override["key"] in KEYS, \
            f"{where}.sources.{field}: key {override['key']!r} not in references.bib"
        assert "detail" in override or "estimate" in override, \
            f"{where}.sources.{field}: give a 'detail' or an 'estimate'"


# --------------------------------------------------------------------------- hardware
@pytest.mark.parametrize("name", sorted(HARDWARE))
def test_hardware_record(name):
    rec = HARDWARE[name]
    assert name.isidentifier(), name
    assert rec.get("source") in KEYS, f"{name}: source {rec.get('source')!r} not in references.bib"
    assert rec.get("source_detail"), f"{name}: missing source_detail"
    assert rec.get("tier") in HARDWARE_TIERS, f"{name}: bad tier {rec.get('tier')!r}"
    for field in ("name", "peak_flops", "memory", "memory_bandwidth", "tdp"):
        assert field in rec, f"{name}: missing {field}"
    assert rec["peak_flops"], f"{name}: no peak_flops"
    for prec, value in rec["peak_flops"].items():
        assert prec in PRECISIONS, f"{name}: unknown precision {prec!r}"
        assert is_quantity(value) and value.endswith("TFLOP/s"), \
            f"{name}.peak_flops.{prec}: {value!r} is not '<number> TFLOP/s'"
    for field, value in rec.items():
        if field in TEXT_FIELDS or field in ("peak_flops", "sources"):
            continue
        if field == "interconnect_links":
            assert is_number(value) and float(value) >= 1, f"{name}.interconnect_links: {value!r}"
            continue
        assert field in HARDWARE_QUANTITIES, f"{name}: unexpected field {field!r}"
        assert is_quantity(value), f"{name}.{field}: {value!r} is not '<number> <unit>'"
    if rec["tier"] in ("edge", "mobile", "tiny"):
        assert "interconnect_bandwidth" not in rec, f"{name}: no scale-up link for {rec['tier']}"
    check_overrides(name, rec)


def test_hardware_required_entries():
    required = {"V100", "A100", "H100", "H200", "B200", "MI300X", "TPUv4", "TPUv5e", "TPUv5p",
                "JetsonOrinAGX", "JetsonOrinNano", "L4", "Snapdragon8Gen3", "CortexM7", "ESP32S3"}
    assert required <= set(HARDWARE), required - set(HARDWARE)
    assert {"iPhone15Pro", "A17Pro"} & set(HARDWARE)


# --------------------------------------------------------------------------- models
TRANSFORMER_FIELDS = ("parameters", "layers", "hidden_dim", "heads", "kv_heads", "head_dim",
                      "ffn_dim", "vocab_size", "context_length")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_record(name):
    rec = MODELS[name]
    assert name.isidentifier(), name
    assert rec.get("source") in KEYS, f"{name}: source {rec.get('source')!r} not in references.bib"
    assert rec.get("source_detail"), f"{name}: missing source_detail"
    assert rec.get("architecture") in MODEL_ARCHITECTURES, name
    for field, value in rec.items():
        if field in TEXT_FIELDS or field == "sources":
            continue
        assert is_number(value), f"{name}.{field}: {value!r} is not a bare number"
    if rec["architecture"] == "cnn":
        for field in ("parameters", "inference_flops", "input_resolution"):
            assert field in rec, f"{name}: missing {field}"
    else:
        for field in TRANSFORMER_FIELDS:
            assert field in rec, f"{name}: missing {field}"
        assert rec["heads"] % rec["kv_heads"] == 0, f"{name}: heads not a multiple of kv_heads"
    if "experts" in rec:
        for field in ("active_experts_per_token", "active_parameters"):
            assert field in rec, f"{name}: MoE needs {field}"
        assert float(rec["active_parameters"]) < float(rec["parameters"])
    check_overrides(name, rec)


def test_models_required_entries():
    required = {"Llama2_7B", "Llama2_13B", "Llama2_70B", "Llama3_8B", "Llama3_70B", "Llama3_405B",
                "Llama3_2_1B", "Llama3_2_3B", "GPT3", "GPT4", "Mixtral_8x7B", "DeepSeek_V3",
                "BERT_Base", "BERT_Large", "ResNet50", "MobileNetV2"}
    assert required <= set(MODELS), required - set(MODELS)


def test_gpt4_is_marked_estimate():
    rec = MODELS["GPT4"]
    for field in ("parameters", "active_parameters", "experts", "active_experts_per_token",
                  "layers", "hidden_dim", "heads", "kv_heads", "head_dim", "ffn_dim"):
        assert "estimate" in rec["sources"][field], f"GPT4.{field} must be marked estimate"


# --------------------------------------------------------------------------- economics
CARBON = load("carbon")
PIPELINE = load("pipeline")
RELIABILITY = load("reliability")


def _economics_entries():
    for name, entry in ECONOMICS["defaults"].items():
        yield f"defaults.{name}", entry
    for name, entry in CARBON["grid_regions"].items():
        yield f"grid_carbon_intensity.{name}", {k: v for k, v in entry.items() if k not in ("year", "water")}
        if "water" in entry:
            yield f"grid_water.{name}", entry["water"]
    for name, entry in CARBON["facilities"].items():
        for field, sub in entry.items():
            yield f"facilities.{name}.{field}", sub
    for name, entry in CARBON["embodied"].items():
        yield f"embodied.{name}", entry
    for name, entry in PIPELINE.items():
        for field, sub in entry.items():
            if field != "description":
                yield f"pipeline.{name}.{field}", sub
    for name, entry in RELIABILITY.items():
        yield f"reliability.{name}", entry


@pytest.mark.parametrize("where,entry", list(_economics_entries()))
def test_economics_entry(where, entry):
    assert set(entry) <= {"value", "source", "detail", "estimate"}, where
    assert entry.get("source") in KEYS, f"{where}: source {entry.get('source')!r} not in references.bib"
    assert entry.get("detail"), f"{where}: missing detail"
    value = entry["value"]
    assert is_quantity(value) or is_number(value), f"{where}: {value!r} does not parse"
    if where.startswith("grid_carbon_intensity."):
        assert is_quantity(value) and value.endswith("g/kWh"), where


def test_economics_required_entries():
    required = {"electricity_price", "pue", "pue_hyperscale", "amortization_years",
                "maintenance_fraction_per_year", "server_overhead_per_accelerator",
                "network_cost_per_accelerator", "node_power_overhead_per_accelerator",
                }
    assert required <= set(ECONOMICS["defaults"]) | {"pue", "pue_hyperscale"}, required - set(ECONOMICS["defaults"])
    from mlsysim.specs import economics
    assert economics.default("pue")[0] == 1.58 and economics.default("pue_hyperscale")[0] == 1.10


def test_grid_regions_span_hydro_to_coal_with_years():
    regions = CARBON["grid_regions"]
    assert len(regions) >= 12
    grams = {k: float(str(v["value"]).split()[0]) for k, v in regions.items()}
    assert min(grams.values()) < 50 and max(grams.values()) > 600, grams
    for key, entry in regions.items():
        assert isinstance(entry.get("year"), int) and 2015 <= entry["year"] <= 2030, key


def test_quantities_parse_with_pint():
    """Every unit string is one pint understands (pint is a dependency of the engine: no skip)."""
    import pint

    ureg = pint.UnitRegistry()
    ureg.define("flop = [computation] = FLOP")
    ureg.define("USD = [currency]")
    values = []
    for rec in HARDWARE.values():
        values += list(rec["peak_flops"].values())
        values += [v for k, v in rec.items() if k in HARDWARE_QUANTITIES]
    values += [e["value"] for _, e in _economics_entries() if isinstance(e["value"], str)]
    for v in values:
        q = ureg.Quantity(v)
        assert q.magnitude > 0, v
    for rec in HARDWARE.values():
        for v in rec["peak_flops"].values():
            ureg.Quantity(v).to("FLOP/s")
        for field, unit in (("memory", "byte"), ("memory_bandwidth", "byte/s"), ("tdp", "W"),
                            ("interconnect_bandwidth", "byte/s"), ("unit_price", "USD"),
                            ("flash", "byte")):
            if field in rec:
                ureg.Quantity(rec[field]).to(unit)


# --------------------------------------------------------------------------- systems
SYSTEMS = load("systems")
SYSTEM_QUANTITIES = {"scale_up_bandwidth": "byte/s", "nic_bandwidth": "byte/s", "system_power": "W",
                     "system_price": "USD", "server_price": "USD"}


@pytest.mark.parametrize("name", sorted(SYSTEMS))
def test_system_record(name):
    rec = SYSTEMS[name]
    assert name.isidentifier(), name
    assert rec.get("source") in KEYS, f"{name}: source {rec.get('source')!r} not in references.bib"
    assert rec.get("source_detail"), f"{name}: missing source_detail"
    assert rec.get("accelerator") in HARDWARE, f"{name}: accelerator {rec.get('accelerator')!r} not in hardware.yaml"
    assert is_number(rec.get("accelerators")), f"{name}: accelerators must be a count"
    for field, value in rec.items():
        if field in SYSTEM_QUANTITIES:
            assert is_quantity(value), f"{name}.{field}: {value!r} is not '<number> <unit>'"
        if field == "nic_bandwidth":
            assert "bit" in value, f"{name}.nic_bandwidth: write NIC rates in bits (Gbit/s), as vendors quote them"
    check_overrides(name, rec)


def test_systems_required_entries():
    required = {"DGX_A100", "DGX_H100", "DGX_H200", "DGX_B200", "MI300X_Platform", "TPUv5p_Host"}
    assert required <= set(SYSTEMS), required - set(SYSTEMS)
