"""Units, catalogues and spec loading."""
import pytest

import mlsysim
from mlsysim import Hardware, Models, Q_
from mlsysim.errors import SpecError, UnknownNameError


def test_information_has_its_own_dimension():
    assert Q_(3, "GB").to("bit").magnitude == pytest.approx(24e9)  # 3e9 bytes x 8 bits
    with pytest.raises(Exception):
        Q_(3, "GB").to("count")


def test_money_is_its_own_dimension():
    with pytest.raises(Exception):
        Q_(1, "USD") + Q_(1, "count")


def test_parameters_are_counts():
    # GPT-4 estimate stored as 1.8e12 parameters -> 1,800 Gcount
    assert Models.GPT4.parameters.to("Gcount").magnitude == pytest.approx(1800, rel=0.03)
    assert Models.GPT4.is_estimate("parameters")


def test_required_catalogue_names():
    for name in ["Llama2_7B", "Llama2_13B", "Llama2_70B", "Llama3_8B", "Llama3_70B", "Llama3_405B", "GPT3",
                 "GPT4", "Mixtral_8x7B", "DeepSeek_V3", "BERT_Base", "BERT_Large", "ResNet50", "MobileNetV2"]:
        assert getattr(Models, name).name
    for name in ["V100", "A100", "H100", "H200", "B200", "MI300X", "TPUv4", "TPUv5e", "TPUv5p"]:
        assert getattr(Hardware.Cloud, name).tier == "cloud"
    assert len(Hardware.Edge) and len(Hardware.Mobile) and len(Hardware.Tiny)


def test_dense_peaks_only():
    # H100 SXM dense fp16 is 989.4 TFLOP/s; the datasheet's 1,979 is the 2:4-sparsity figure.
    assert Hardware.H100.peak("fp16").to("TFLOP/s").magnitude == pytest.approx(989.4)
    assert Hardware.A100.peak("fp16").to("TFLOP/s").magnitude == pytest.approx(312)


def test_ridge_point_by_hand():
    # H100 fp16: 989.4e12 FLOP/s / 3.35e12 B/s = 295.3 FLOP/B
    assert Hardware.H100.ridge_point("fp16").magnitude == pytest.approx(295.34, rel=1e-3)


def test_weight_only_quantization_falls_back_to_fp16_math():
    # H100 states no int4 peak: int4 weights multiply in fp16.
    assert Hardware.H100.compute_precision("int4") == "fp16"
    assert Hardware.H100.compute_precision("fp8") == "fp8"
    assert Hardware.A100.compute_precision("fp8") == "fp16"


def test_unknown_names_suggest():
    with pytest.raises(UnknownNameError, match="Llama2_70B"):
        Models.Llama2_70b
    with pytest.raises(AttributeError):
        Hardware.Cloud.H1000
    assert Hardware.get("h100") is Hardware.H100
    assert Models.get("Llama-2-70B") is Models.Llama2_70B


def test_every_spec_number_has_a_bib_source(repo_root):
    import re

    keys = set(re.findall(r"@\w+\{([^,]+),", (repo_root / "references.bib").read_text()))
    for spec in list(Hardware) + list(Models):
        assert spec.source.key in keys, spec.key
        for field, source in spec.sources.items():
            assert source.key in keys, (spec.key, field)


def test_load_hardware_yaml(tmp_path):
    path = tmp_path / "chip.yaml"
    path.write_text("name: Toy\ntier: edge\npeak_flops: {fp16: 10 TFLOP/s}\nmemory: 8 GB\n"
                    "memory_bandwidth: 100 GB/s\ntdp: 15 W\n")
    chip = mlsysim.load_hardware(path)
    assert chip.si["memory"] == 8e9 and chip.si["bandwidth"] == 100e9
    r = mlsysim.Engine.solve("ResNet50", chip)
    assert r.feasible


@pytest.mark.parametrize("text, field", [
    ("name: Toy\npeak_flops: {fp16: 10 TFLOP/s}\nmemory: 8 GB/s\nmemory_bandwidth: 100 GB/s\ntdp: 15 W\n", "memory"),
    ("name: Toy\npeak_flops: {fp16: 10 TFLOP/s}\nmemory: 8 GB\nmemory_bandwidth: 100 GB\ntdp: 15 W\n", "memory_bandwidth"),
    ("name: Toy\npeak_flops: {fp7: 10 TFLOP/s}\nmemory: 8 GB\nmemory_bandwidth: 100 GB/s\ntdp: 15 W\n", "peak_flops.fp7"),
    ("name: Toy\npeak_flops: {fp16: 10 TFLOP/s}\nmemory: 8 GB\nmemory_bandwidth: 100 GB/s\n", "tdp"),
    ("name: Toy\npeak_flops: {fp16: 10 TFLOP/s}\nmemory: -8 GB\nmemory_bandwidth: 100 GB/s\ntdp: 1 W\n", "memory"),
    ("name: Toy\npeak_flops: {fp16: 10 TFLOP/s}\nmemroy: 8 GB\nmemory_bandwidth: 100 GB/s\ntdp: 1 W\n", "memroy"),
])
def test_bad_hardware_yaml_names_the_field(tmp_path, text, field):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        mlsysim.load_hardware(path)
    assert f"'{field}'" in str(info.value) and "bad.yaml" in str(info.value)


def test_load_model_yaml_and_errors(tmp_path):
    good = tmp_path / "tiny.yaml"
    good.write_text("tiny:\n  name: Tiny-LM\n  architecture: decoder\n  parameters: 1e9\n  layers: 16\n"
                    "  hidden_dim: 2048\n  heads: 16\n  kv_heads: 4\n  head_dim: 128\n  vocab_size: 32000\n"
                    "  context_length: 4096\n")
    model = mlsysim.load_model(good)
    # 2 x 16 layers x 4 kv heads x 128 x 2 bytes = 32,768 B per token
    assert mlsysim.kv_bytes_per_token(model, "fp16").magnitude == 32768
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("kv_heads: 4", "kv_heads: 40"))
    with pytest.raises(SpecError, match="'kv_heads'"):
        mlsysim.load_model(bad)
    with pytest.raises(SpecError, match="cannot read"):
        mlsysim.load_model(tmp_path / "missing.yaml")
