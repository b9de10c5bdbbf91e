"""Per-operator physics and the OperatorModel solver, against values derived by hand."""
import numpy as np
import pytest

import mlsysim
from mlsysim.errors import InputError
from mlsysim.physics import operators as ops
from mlsysim.physics import quantization as qz

SOLVE = mlsysim.OperatorModel().solve


def test_gemm_flops_and_bytes():
    # (4 x 16) @ (16 x 8): 2 x 4 x 8 x 16 = 1,024 FLOPs
    assert ops.gemm_flops(4, 8, 16) == 1024
    # fp16 everywhere: 2 x (4x16 + 4x8) + 2 x 16x8 = 2 x 96 + 256 = 448 B
    assert ops.gemm_bytes(4, 8, 16, 2, 2) == 448
    # int4 weights, fp16 activations: 2 x 96 + 0.5 x 128 = 192 + 64 = 256 B
    assert ops.gemm_bytes(4, 8, 16, 0.5, 2) == 256


def test_conv2d_resnet_conv2_3x3():
    # 56x56, 64 -> 64, 3x3: 2 x 56 x 56 x 64 x 64 x 9 = 2 x 3,136 x 36,864 = 231,211,008 FLOPs
    assert ops.conv2d_flops(1, 56, 56, 64, 64, 3) == 231_211_008
    # fp16: in + out maps 2 x (200,704 + 200,704) = 802,816 B; filters 2 x 9 x 64 x 64 = 73,728 B
    assert ops.conv2d_bytes(1, 56, 56, 56, 56, 64, 64, 3, 2, 2) == 876_544


def test_conv2d_depthwise_and_output_size():
    # depthwise 3x3 on 56x56 x 144 (g = 144): 2 x 3,136 x 144 x 1 x 9 = 8,128,512 FLOPs
    assert ops.conv2d_flops(1, 56, 56, 144, 144, 3, groups=144) == 8_128_512
    # maps 2 x 2 x 3,136 x 144 = 1,806,336 B; filters 2 x 9 x 1 x 144 = 2,592 B
    assert ops.conv2d_bytes(1, 56, 56, 56, 56, 144, 144, 3, 2, 2, groups=144) == 1_808_928
    # conv1 7x7/2 on 224: (224 + 2 x 3 - 7) // 2 + 1 = 111 + 1 = 112
    assert ops.conv2d_output_size(224, 7, 2) == 112
    assert ops.conv2d_output_size(56, 3, 1) == 56


def test_attention_and_elementwise():
    # b=2, h=4 query heads, g=2 KV heads, q=1, c=10, d=8
    # FLOPs 2 x 2 x 4 x 1 x 10 x 8 = 1,280
    assert ops.attention_score_flops(2, 4, 1, 10, 8) == 1280
    # Q 2 x (2x4x1x8) = 128; K 1 x (2x2x10x8) = 320; S 2 x (2x4x1x10) = 160 -> 608 B
    assert ops.attention_score_bytes(2, 4, 2, 1, 10, 8, 2, 1) == 608
    # P 160 + V 320 + O 128 = 608 B
    assert ops.attention_value_bytes(2, 4, 2, 1, 10, 8, 2, 1) == 608
    # residual add of 100 elements: 1 FLOP each; reads 2, writes 1 at 2 B: 600 B
    assert ops.elementwise_flops(100, 1) == 100
    assert ops.elementwise_bytes(100, 2, reads=2) == 600
    # a norm over 100 elements with a gain of 10: 2 x 100 x 2 + 2 x 10 = 420 B
    assert ops.elementwise_bytes(100, 2, parameters=10) == 420


def test_quantization_helpers():
    # 80% of the time shrinks 4x: 1 / (0.2 + 0.8 / 4) = 1 / 0.4 = 2.5
    assert qz.amdahl_speedup(0.8, 4) == pytest.approx(2.5)
    assert qz.amdahl_speedup(1.0, 4) == pytest.approx(4)
    assert qz.amdahl_speedup(0.0, 4) == pytest.approx(1)
    # int4 in groups of 128 with an fp16 scale: 4 + 16 / 128 = 4.125 bits
    assert qz.effective_bits_per_weight(4, 128) == pytest.approx(4.125)
    # with an fp16 zero point as well: 4 + 32 / 128 = 4.25
    assert qz.effective_bits_per_weight(4, 128, zero_bits=16) == pytest.approx(4.25)
    assert qz.effective_bits_per_weight(8) == 8


def test_block_matmul_flops_match_two_n_per_token():
    # Llama-3-8B, one token: 2 x (8,030,261,248 - 2 x 128,256 x 4,096 embeddings - 266,240 norm gains)
    # = 2 x 6,979,321,856 = 13,958,643,712 FLOPs over 32 blocks of four projections
    r = SOLVE("Llama3_8B", "H100")
    gemms = sum(r[name].flops.to("flop").magnitude
                for name in ("QKV projection", "output projection", "MLP gate+up", "MLP down"))
    assert 32 * gemms == pytest.approx(13_958_643_712)


def test_decode_gemm_crosses_the_ridge_with_batch():
    up = lambda b: SOLVE("Llama3_8B", "H100", batch_size=b)["MLP gate+up"]  # noqa: E731
    assert up(1).bottleneck == "Memory"
    assert up(1024).bottleneck == "Compute"
    # fp16 GEMM intensity 2 m n k / (2 (m k + m n) + 2 k n) is about m for m << k, n:
    # at m = 1: 234,881,024 / (2 x (4,096 + 28,672) + 234,881,024) = 234,881,024 / 234,946,560 = 0.99972
    assert up(1).arithmetic_intensity.magnitude == pytest.approx(0.99972, rel=1e-5)
    # the crossing sits where I = P eta_c / (W eta_m) (the achieved ridge)
    ridge = SOLVE("Llama3_8B", "H100").achieved_ridge_point.magnitude
    batch = next(b for b in range(1, 2048) if up(b).bottleneck == "Compute")
    assert up(batch).arithmetic_intensity.magnitude >= ridge > up(batch - 1).arithmetic_intensity.magnitude


def test_decode_attention_intensity_does_not_grow_with_batch():
    # GQA decode scores: I = 2 b h c d / (2 b h d + 2 b g c d + 2 b h c), b cancels;
    # h=32, g=8, d=128, c=4096: 33,554,432 / (8,192 + 8,388,608 + 262,144) = 33,554,432 / 8,658,944 = 3.87512
    one = SOLVE("Llama3_8B", "H100", context=4096)["attention scores"].arithmetic_intensity.magnitude
    many = SOLVE("Llama3_8B", "H100", batch_size=64, context=4096)["attention scores"].arithmetic_intensity.magnitude
    assert one == pytest.approx(3.87512, rel=1e-5)
    assert many == pytest.approx(one)


def test_cnn_layers_and_result_shape():
    r = SOLVE("ResNet50", "H100")
    assert r.names[0] == "conv1 7x7/2"
    # conv2_x 3x3 runs 3 times: 3 x 231,211,008 FLOPs
    assert r["conv2_x 3x3"].flops.to("flop").magnitude == pytest.approx(3 * 231_211_008)
    # every layer of the architecture table, in 31 groups that add up to its 72 layers
    assert len(r) == 31 and sum(op.count for op in r.operators) == 72 and r.feasible
    mobile = SOLVE("MobileNetV2", "H100", batch_size=64)
    assert mobile["c=24 depthwise 3x3"].bottleneck == "Memory"
    assert "operators" in r.to_dict() and "conv1" in repr(r)
    assert len(r.points(group="x")[0]) == 4


def test_quantized_weights_keep_fp16_math():
    r = SOLVE("Llama3_8B", "H100", precision="int4")
    assert r.compute_precision == "fp16"
    # QKV at batch 1 (4,096 x 6,144 weight): fp16 2 x 25,165,824 + 2 x (4,096 + 6,144) = 50,352,128 B;
    # int4 0.5 x 25,165,824 + 20,480 = 12,603,392 B (activations stay fp16): ratio 0.250305
    fp16 = SOLVE("Llama3_8B", "H100")["QKV projection"].bytes_moved
    assert (r["QKV projection"].bytes_moved / fp16).to("").magnitude == pytest.approx(0.250305, rel=1e-5)


@pytest.mark.parametrize("kwargs, parameter", [
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size=np.array([1, 2])), "batch_size"),
    (dict(seq_len=0), "seq_len"),
    (dict(seq_len=8, context=4), "context"),
    (dict(precision="fp7"), "precision"),
])
def test_bad_input(kwargs, parameter):
    with pytest.raises(mlsysim.MlsysimError) as info:
        SOLVE("Llama3_8B", "H100", **kwargs)
    assert parameter in str(info.value)


def test_bad_models_and_names():
    with pytest.raises(InputError, match="'model'"):
        SOLVE("Mixtral_8x7B", "H100")
    with pytest.raises(InputError, match="'seq_len'"):
        SOLVE("ResNet50", "H100", seq_len=16)
    with pytest.raises(InputError, match="'operator'"):
        SOLVE("ResNet50", "H100")["no such layer"]
    with pytest.raises(InputError, match="'precision'"):
        mlsysim.plots.roofline("H100", precision=[])
