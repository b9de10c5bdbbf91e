"""OperatorModel against a block worked out by hand: every operator of a non-gated (GELU)
encoder block, the totals, what the result shows a reader, and the messages of bad input.

The calibration is ideal (efficiencies 1, no per-kernel cost, the textbook max roofline) so
each time is F / P or B / W by hand: H100 fp16 P = 989.4e12 FLOP/s, W = 3.35e12 B/s.
"""
import math
import re
from dataclasses import replace

import pytest

import mlsysim
from mlsysim.calibration import DEFAULT
from mlsysim.core.units import Q_
from mlsysim.errors import InputError
from mlsysim.specs.catalog import Models

SOLVE = mlsysim.OperatorModel().solve
IDEAL = DEFAULT.with_(compute_efficiency=1, memory_efficiency=1, kernel_overhead=0, roofline_exponent=math.inf)

# BERT-Base, batch 1, 4 tokens (context 4): d = 768, h = g = 12, d_h = 64, f = 3072, fp16 (2 bytes).
# Gated or not: attention 4 x 768 x 768 = 2,359,296 per layer, embeddings 30,522 x 768 = 23,440,896;
# plain MLP 12 x (2,359,296 + 2 x 768 x 3072) + 23,440,896 = 108,375,552 (1.1 M from 109,482,240),
# gated 12 x (2,359,296 + 3 x 768 x 3072) + 23,440,896 = 136,687,104: plain, so LayerNorm and GELU.
BERT_ROWS = [
    # name, count, FLOPs (all counts), bytes (all counts)
    # LayerNorm: 4 x 4 x 768 = 12,288 FLOPs; 2 x 3,072 x 2 + 2 x 768 gains = 13,824 B; x 2
    ("LayerNorm", 2, 24_576, 27_648),
    # QKV: m 4, n (12 + 2 x 12) x 64 = 2,304, k 768: 2 x 4 x 2,304 x 768 = 14,155,776;
    # 2 x (4 x 768 + 4 x 2,304) + 2 x 768 x 2,304 = 24,576 + 3,538,944 = 3,563,520 B
    ("QKV projection", 1, 14_155_776, 3_563_520),
    # scores: 2 x 12 x 4 x 4 x 64 = 24,576; Q 2 x 12 x 4 x 64 = 6,144 + K 6,144 + S 2 x 12 x 16 = 384
    ("attention scores", 1, 24_576, 12_672),
    # softmax over 12 x 4 x 4 = 192 scores: 5 x 192 = 960 FLOPs; 2 x 192 x 2 = 768 B
    ("softmax", 1, 960, 768),
    # values: 2 x 12 x 4 x 4 x 64 = 24,576; P 384 + V 6,144 + O 6,144 = 12,672 B
    ("attention values", 1, 24_576, 12_672),
    # output: 2 x 4 x 768 x 768 = 4,718,592; 2 x (3,072 + 3,072) + 2 x 589,824 = 1,191,936 B
    ("output projection", 1, 4_718_592, 1_191_936),
    # MLP up: 2 x 4 x 3,072 x 768 = 18,874,368; 2 x (3,072 + 12,288) + 2 x 2,359,296 = 4,749,312 B
    ("MLP up", 1, 18_874_368, 4_749_312),
    # GELU on 4 x 3,072 = 12,288 elements: 8 x 12,288 = 98,304 FLOPs; 2 x 12,288 x 2 = 49,152 B
    ("GELU", 1, 98_304, 49_152),
    # MLP down: the same matrix transposed
    ("MLP down", 1, 18_874_368, 4_749_312),
    # residual add: 3,072 FLOPs, 2 x 3,072 x 3 = 18,432 B; x 2
    ("residual add", 2, 6_144, 36_864),
]
# totals: 56,802,240 FLOPs and 14,393,856 B; all memory-bound at 4 tokens: 14,393,856 / 3.35e12 = 4.296673 us
TOTAL_FLOPS, TOTAL_BYTES = 56_802_240, 14_393_856


def bert4():
    return SOLVE("BERT_Base", "H100", seq_len=4, calibration=IDEAL)


def test_every_operator_of_a_plain_encoder_block_by_hand():
    r = bert4()
    assert [(o.operator, o.count) for o in r] == [(n, c) for n, c, _, _ in BERT_ROWS]
    for (name, count, flops, nbytes), o in zip(BERT_ROWS, r):
        assert o.flops.to("flop").magnitude == pytest.approx(flops, rel=1e-12), name
        assert o.bytes_moved.to("byte").magnitude == pytest.approx(nbytes, rel=1e-12), name
        assert o.arithmetic_intensity.magnitude == pytest.approx(flops / nbytes, rel=1e-12), name
        # memory-bound: the time is B / W, and achieved FLOP/s = F / t
        assert o.latency.to("s").magnitude == pytest.approx(nbytes / 3.35e12, rel=1e-9), name
        assert o.achieved_flops.to("flop/s").magnitude == pytest.approx(flops / (nbytes / 3.35e12), rel=1e-9)
        assert o.bottleneck == "Memory"
        assert r[name] is o and r[list(r.names).index(name)] is o
    assert len(r) == 10


def test_totals_ridges_and_shares_by_hand():
    r = bert4()
    assert r.flops.to("flop").magnitude == pytest.approx(TOTAL_FLOPS, rel=1e-12)
    assert r.bytes_moved.to("byte").magnitude == pytest.approx(TOTAL_BYTES, rel=1e-12)
    # 56,802,240 / 14,393,856 = 3.946284
    assert r.arithmetic_intensity.magnitude == pytest.approx(3.946284, rel=1e-6)
    assert r.latency.to("s").magnitude == pytest.approx(4.296673e-6, rel=1e-6)
    # ridge 989.4e12 / 3.35e12 = 295.3433 both ways with efficiencies of 1
    assert r.ridge_point.magnitude == pytest.approx(295.3433, rel=1e-6)
    assert r.achieved_ridge_point.magnitude == pytest.approx(295.3433, rel=1e-6)
    assert r.compute_bound_share.to("").magnitude == 0.0
    assert r.compute_precision == "fp16"
    assert r.scope == "one of 12 blocks, 1 x 4 new tokens, context 4"
    assert r.feasible is True and r.reasons == ()


def test_achieved_ridge_uses_each_efficiency_and_the_math_precision():
    # ridge achieved = P eta_c / (W eta_m): 989.4e12 x 0.5 / (3.35e12 x 0.8) = 184.5896
    cal = IDEAL.with_(compute_efficiency=0.5, memory_efficiency=0.8)
    r = SOLVE("BERT_Base", "H100", seq_len=4, calibration=cal)
    assert r.achieved_ridge_point.magnitude == pytest.approx(184.5896, rel=1e-6)
    assert r.ridge_point.magnitude == pytest.approx(295.3433, rel=1e-6)
    # fp8 math takes the low-precision efficiency: 1,978.9e12 x 0.25 / 3.35e12 = 147.6791
    r8 = SOLVE("Llama3_8B", "H100", precision="fp8", calibration=IDEAL.with_(low_precision_efficiency=0.25))
    assert r8.compute_precision == "fp8"
    assert r8.achieved_ridge_point.magnitude == pytest.approx(147.6791, rel=1e-6)


def test_compute_bound_share_counts_the_compute_bound_operators():
    # batch 4 of BERT's default 512 tokens (an encoder's default seq_len is its context, 512): 2,048 tokens.
    # QKV intensity 2 x 2,048 x 2,304 x 768 / (2 x (2,048 x 768 + 2,048 x 2,304) + 2 x 768 x 2,304)
    #   = 7,247,757,312 / 16,121,856 = 449.6 > 295.3: compute-bound (so are output, MLP up and down);
    # scores 1,610,612,736 / (3,145,728 + 3,145,728 + 25,165,824) = 51.2: memory-bound.
    r = SOLVE("BERT_Base", "H100", batch_size=4, calibration=IDEAL)
    assert r.scope == "one of 12 blocks, 4 x 512 new tokens, context 512"
    compute = [o.operator for o in r if o.bottleneck == "Compute"]
    assert compute == ["QKV projection", "output projection", "MLP up", "MLP down"]
    # QKV time: 7,247,757,312 / 989.4e12 = 7.325407 us (compute-bound: F / P)
    assert r["QKV projection"].latency.to("s").magnitude == pytest.approx(7.325407e-6, rel=1e-6)
    share = sum(o.latency.to("s").magnitude for o in r if o.bottleneck == "Compute") / r.latency.to("s").magnitude
    assert 0 < share < 1
    assert r.compute_bound_share.to("").magnitude == pytest.approx(share, rel=1e-12)


def test_what_a_reader_sees():
    r = bert4()
    text = repr(r)
    assert text.splitlines()[0] == "Operators: BERT_Base on H100 (batch_size=1, seq_len=4, precision=fp16, kv_precision=fp16)"
    assert r.inputs["precision"] == "fp16" and r.inputs["kv_precision"] == "fp16"
    assert r.inputs["batch_size"] == 1 and r.inputs["seq_len"] == 4 and r.inputs["context"] is None
    assert r.inputs["model"].key == "BERT_Base" and r.inputs["hardware"].key == "H100"
    # the operator list is shown once, as the table, not as a field row
    assert "  Operators  " not in text and not any(line.lstrip().startswith("Operators ") for line in text.splitlines()[1:])
    table = r.table()
    assert table.headers == ["operator", "x", "FLOPs", "bytes", "FLOP/B", "time", "share", "bound"]
    assert table.title == text.splitlines()[0]
    assert r.table(title=False).title is None
    # LayerNorm: 24,576 FLOPs = 0.0246 MFLOP, 27,648 B = 0.0276 MB, I = 0.889, t = 27,648 / 3.35e12 = 8.25 ns
    # = 0.00825 us, share 8.253e-9 / 4.2967e-6 = 0.19%
    assert table.rows[0] == ["LayerNorm", "2", "0.0246 MFLOP", "0.0276 MB", "0.889", "0.00825 µs", "0.19%", "Memory"]
    # MLP up: 1.4177 us of 4.2967 us = 33%
    assert table.rows[6] == ["MLP up", "1", "18.9 MFLOP", "4.75 MB", "3.97", "1.42 µs", "33%", "Memory"]
    body = text.split("\n", 1)[1]
    assert "\noperator" in body and "MLP up" in body and text.count(text.splitlines()[0]) == 1
    html = r._repr_html_()
    assert html.startswith("<table class='mlsysim-result'>") and html.count("<table") == 2
    assert "GELU" in html and "FLOP/B" in html
    d = r.to_dict()
    assert [o["operator"] for o in d["operators"]] == [n for n, _, _, _ in BERT_ROWS]
    assert d["operators"][1]["flops"]["value"] == pytest.approx(14.155776)  # MFLOP
    assert r.points()[0][0] == "LayerNorm" and len(r.points()[0]) == 3
    label, intensity, achieved = r.points("p:")[1]
    assert label == "p:QKV projection"
    # QKV: 14,155,776 / 3,563,520 = 3.972414; 14,155,776 / 1.0637373 us = 13.30759 TFLOP/s
    assert intensity.magnitude == pytest.approx(3.972414, rel=1e-6)
    assert achieved.to("TFLOP/s").magnitude == pytest.approx(13.30759, rel=1e-6)
    assert r.points(group="g")[2][3] == "g"


def test_infeasible_says_how_much_memory():
    # Llama-3-70B fp16: 70,553,706,496 x 2 = 141,107,412,992 B + one token of KV 2 x 80 x 8 x 128 x 2 = 327,680 B
    # = 141.1 GB; H100 81,559 MiB = 85,520,809,984 B (85.5 GB), 90% usable = 76,968,728,986 B (77.0 GB)
    r = SOLVE("Llama3_70B", "H100")
    assert r.feasible is False
    assert r.reasons == ("memory: the whole model needs 141.1 GB, H100 has 77.0 GB usable of 85.5 GB",)


def test_kv_precision_default():
    # 4-bit weights keep an fp16 cache; 8-bit weights keep their own precision; an explicit one wins
    assert SOLVE("Llama3_8B", "H100", precision="int4").inputs["kv_precision"] == "fp16"
    assert SOLVE("Llama3_8B", "H100", precision="fp8").inputs["kv_precision"] == "fp8"
    assert SOLVE("Llama3_8B", "H100", precision="fp8", kv_precision="fp16").inputs["kv_precision"] == "fp16"
    # the cache precision sets the K bytes: decode, context 8, Llama-3-8B (h 32, g 8, d 128), fp16 math:
    # Q 2 x 32 x 128 = 8,192 + K b_kv x 8 x 8 x 128 + S 2 x 32 x 8 = 512
    fp16 = SOLVE("Llama3_8B", "H100", context=8)["attention scores"].bytes_moved.to("byte").magnitude
    int8 = SOLVE("Llama3_8B", "H100", context=8, kv_precision="int8")["attention scores"].bytes_moved.to("byte").magnitude
    assert fp16 == pytest.approx(8_192 + 2 * 8_192 + 512)     # 25,088
    assert int8 == pytest.approx(8_192 + 1 * 8_192 + 512)     # 16,896


def test_context_defaults_to_seq_len_and_takes_tokens():
    # seq_len 4 with no context attends to 4 tokens; a token Quantity is accepted for both
    r = SOLVE("BERT_Base", "H100", seq_len=Q_(4, "token"), context=Q_(4, "token"), calibration=IDEAL)
    assert r["attention scores"].flops.to("flop").magnitude == 24_576
    # decode (a decoder's default seq_len is 1) at context 8: 2 x 32 x 1 x 8 x 128 = 65,536
    assert SOLVE("Llama3_8B", "H100", context=8)["attention scores"].flops.to("flop").magnitude == 65_536
    assert SOLVE("Llama3_8B", "H100").scope == "one of 32 blocks, 1 x 1 new tokens, context 1"


def _toy(parameters, ffn_dim=8):
    # d 4, 2 heads of 2, 1 KV head, 2 layers, vocab 10
    return replace(Models.Llama3_8B, key="Toy", name="Toy", layers=2, hidden_dim=4, heads=2, kv_heads=1, head_dim=2,
                   ffn_dim=ffn_dim, vocab_size=10, context_length=16, parameters=Q_(parameters, "count"))


@pytest.mark.parametrize("parameters, ffn_dim, gated", [
    # attention 2 x 4 x 2 x 2 + 2 x 4 x 1 x 2 = 48 per layer, embeddings 10 x 4 = 40;
    # f = 8: gated 2 x (48 + 3 x 4 x 8) + 40 = 328, plain 2 x (48 + 2 x 4 x 8) + 40 = 264, halfway 296
    (297, 8, True), (295, 8, False),
    (296, 8, False),            # a tie is not gated
    # no ffn_dim: f = 4 d = 16: gated 2 x (48 + 192) + 40 = 520, plain 2 x (48 + 128) + 40 = 392, halfway 456
    (457, None, True), (455, None, False),
])
def test_gated_mlp_is_the_closer_parameter_count(parameters, ffn_dim, gated):
    names = SOLVE(_toy(parameters, ffn_dim), "H100").names
    if gated:
        assert names[0] == "RMSNorm" and "MLP gate+up" in names and "SwiGLU" in names
    else:
        assert names[0] == "LayerNorm" and "MLP up" in names and "GELU" in names


def test_swiglu_reads_two_tensors():
    # toy, f = 8, one token: SwiGLU on 8 elements: 5 x 8 = 40 FLOPs; 2 x 8 x (2 reads + 1 write) = 48 B;
    # gate+up: 2 x 1 x 16 x 4 = 128 FLOPs
    r = SOLVE(_toy(297), "H100")
    assert r["SwiGLU"].flops.to("flop").magnitude == 40
    assert r["SwiGLU"].bytes_moved.to("byte").magnitude == 48
    assert r["MLP gate+up"].flops.to("flop").magnitude == 128


def test_cnn_scope():
    assert SOLVE("ResNet50", "H100").scope == "every layer of ResNet-50 in 31 groups, batch 1"
    assert SOLVE("ResNet50", "H100", batch_size=8).scope == "every layer of ResNet-50 in 31 groups, batch 8"


def _raises(message, *args, **kwargs):
    with pytest.raises(InputError, match="^" + re.escape(message) + "$"):
        SOLVE(*args, **kwargs)


def test_error_messages_name_the_parameter_and_what_was_expected():
    _raises("parameter 'model': expected a dense transformer or a CNN (ResNet50, MobileNetV2), got 'Mixtral_8x7B' "
            "(the per-operator view does not model expert routing; use ServingModel)", "Mixtral_8x7B", "H100")
    _raises("parameter 'context': expected at least seq_len (8 tokens), got 4", "Llama3_8B", "H100",
            seq_len=8, context=4)
    _raises("parameter 'seq_len': expected None for a CNN (it takes images, not tokens), got 16",
            "ResNet50", "H100", seq_len=16)
    _raises("parameter 'context': expected None for a CNN (it takes images, not tokens), got 16",
            "ResNet50", "H100", context=16)
    _raises("parameter 'model': expected a transformer or a CNN with a layer table (ResNet50, MobileNetV2), "
            "got 'MyCNN'", replace(Models.ResNet50, key="MyCNN"), "H100")
    _raises("parameter 'batch_size': expected a single integer (OperatorModel solves one shape; loop for a sweep), "
            "got 'list'", "Llama3_8B", "H100", batch_size=[1, 2])
    _raises("parameter 'seq_len': expected a single integer (OperatorModel solves one shape; loop for a sweep), "
            "got 'tuple'", "Llama3_8B", "H100", seq_len=(1, 2))
    for parameter in ("batch_size", "seq_len", "context"):
        with pytest.raises(InputError, match=f"^parameter '{parameter}': expected an integer"):
            SOLVE("Llama3_8B", "H100", **{parameter: 2.5})
    with pytest.raises(InputError, match="^parameter 'seq_len': expected .*token"):
        SOLVE("Llama3_8B", "H100", seq_len=Q_(4, "s"))
    r = bert4()
    with pytest.raises(InputError, match="^" + re.escape(
            "parameter 'operator': expected one of LayerNorm, QKV projection, attention scores, softmax, "
            "attention values, output projection, MLP up, GELU, MLP down, residual add, got 'nope'") + "$"):
        r["nope"]


def test_rounded_roofline_uses_the_calibrated_exponent():
    # p = 2: QKV of the 4-token block: t_c = 14,155,776 / 989.4e12 = 14.3074 ns, t_m = 3,563,520 / 3.35e12 =
    # 1,063.737 ns; t = sqrt(t_c^2 + t_m^2) = 1,063.833 ns (the max would be 1,063.737 ns)
    r = SOLVE("BERT_Base", "H100", seq_len=4, calibration=IDEAL.with_(roofline_exponent=2))
    t_c, t_m = 14_155_776 / 989.4e12, 3_563_520 / 3.35e12
    assert r["QKV projection"].latency.to("s").magnitude == pytest.approx(math.hypot(t_c, t_m), rel=1e-12)


def test_each_operator_is_a_result_of_its_own():
    o = bert4()["MLP up"]
    assert o.feasible is True
    assert o.inputs["model"].key == "BERT_Base" and o.inputs["hardware"].key == "H100"
    assert repr(o).splitlines()[0] == "Operator: BERT_Base on H100"


def test_the_html_shows_the_header_once():
    r = bert4()
    header = "Operators: BERT_Base on H100 (batch_size=1, seq_len=4, precision=fp16, kv_precision=fp16)"
    assert r._repr_html_().count(header) == 1


def test_whole_model_exactly_filling_memory_fits():
    # BERT-Base, 512 tokens: 109,482,240 x 2 + 2 x 12 x 12 x 64 x 2 x 512 = 218,964,480 + 18,874,368
    # = 237,838,848 B; a usable fraction that makes the usable memory exactly that
    f = 237_838_848 / 85_520_809_984
    assert 85_520_809_984 * f == 237_838_848
    assert SOLVE("BERT_Base", "H100", calibration=DEFAULT.with_(usable_memory_fraction=f)).feasible is True
    assert SOLVE("BERT_Base", "H100", calibration=DEFAULT.with_(usable_memory_fraction=f * (1 - 1e-9))).feasible is False


def test_kv_precision_is_named_when_wrong():
    with pytest.raises(InputError, match="^parameter 'kv_precision': expected one of"):
        SOLVE("Llama3_8B", "H100", kv_precision=16)


def test_mlp_width_defaults_to_four_times_the_model_width():
    # toy without ffn_dim, gated (457 parameters): f = 4 x 4 = 16, one token: gate+up 2 x 1 x 32 x 4 = 256 FLOPs,
    # down 2 x 1 x 4 x 16 = 128 FLOPs
    r = SOLVE(_toy(457, None), "H100")
    assert r["MLP gate+up"].flops.to("flop").magnitude == 256
    assert r["MLP down"].flops.to("flop").magnitude == 128


def test_mobilenetv2_groups_follow_the_paper_table():
    # Sandler et al. 2018, Table 2: bottleneck stages (c, n) = (16, 1), (24, 2), (32, 3), (64, 4), (96, 3),
    # (160, 3), (320, 1). A stage's first block changes the channels (and stride) and is its own group;
    # the other n - 1 blocks share a shape. c = 24 has one of each, a tie, won by the later block.
    counts = {o.operator: o.count for o in SOLVE("MobileNetV2", "H100")}
    for c, n in ((24, 2), (32, 3), (64, 4), (96, 3), (160, 3)):
        for role in ("expand 1x1", "depthwise 3x3", "project 1x1"):
            assert counts[f"c={c} {role} (first block)"] == 1, (c, role)
            assert counts[f"c={c} {role}"] == n - 1, (c, role)
        assert counts[f"c={c} residual add"] == n - 1
    assert counts["c=16 depthwise 3x3"] == 1 and counts["c=320 expand 1x1"] == 1
