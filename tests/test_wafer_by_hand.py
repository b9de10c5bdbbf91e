"""WaferScaleModel, both modes, every field against arithmetic done by hand, and what a reader
sees when a configuration does not fit or an input is wrong.

Llama-3-8B fp16 on WSE-3: N = 8,030,261,248 parameters, weights 2 N = 16,060,522,496 B, 32 layers,
d = 4,096 (activations 2 x 4,096 = 8,192 B per token), KV 2 x 32 x 8 x 128 x 2 = 131,072 B per token.
WSE-3: 125e15 FLOP/s fp16, 21e15 B/s SRAM, 44e9 B SRAM, 150e9 B/s link and external I/O, 23 kW.
The calibration has efficiencies of 1 and the textbook max roofline, so each term is F / P or B / W,
with small fixed costs that are easy to add by hand.
"""
import math
import re

import numpy as np
import pytest

import mlsysim
from mlsysim.calibration import DEFAULT
from mlsysim.core.units import Q_
from mlsysim.errors import InputError

W = mlsysim.WaferScaleModel()
CAL = DEFAULT.with_(compute_efficiency=1, memory_efficiency=1, attention_efficiency=1, network_efficiency=0.5,
                    roofline_exponent=math.inf, kernel_overhead=1e-8, allreduce_latency=1e-6,
                    prefill_overhead_per_layer=1e-6)
N, WEIGHTS, KV, ACT = 8_030_261_248, 16_060_522_496, 131_072, 8_192
PEAK, SRAM_BW, IO = 125e15, 21e15, 150e9
FIXED = 32 * 10 * 1e-8          # L x kernels_per_layer x kernel_overhead = 3.2 us per pass (one device: no all-reduce)


def test_resident_on_two_systems_by_hand():
    r = W.solve("Llama3_8B", "WSE3", 2048, 1, systems=2, calibration=CAL)
    # prefill of 2,048 tokens: linear compute 2 N x 2,048 / P = 263.1 us (> weights 16.06e9 / 21e15 = 0.76 us);
    # attention 4 x 32 x 4,096 x 2,048 x 1,024.5 / P = 8.80 us (> KV 2,048 x 131,072 / 21e15 = 12.8 ns);
    # + 3.2 us fixed + 32 x 1 us prefill overhead; one hop of the prompt's activations between the two
    # wafers: 1 us + 2,048 x 8,192 / (150e9 x 0.5) = 224.7 us
    prefill = 2 * N * 2048 / PEAK + 4 * 32 * 4096 * 2048 * 1024.5 / PEAK + FIXED + 32e-6
    prompt_hop = 1e-6 + 2048 * ACT / (IO * 0.5)
    assert r.ttft.to("s").m == pytest.approx(prefill + prompt_hop, rel=1e-12)
    # decode at 2,048 of context: weights 16,060,522,496 / 21e15 = 764.8 ns (> 2 N / P = 128.5 ns);
    # KV 2,048 x 131,072 / 21e15 = 12.78 ns (> 4 x 32 x 4,096 x 2,048 / P = 8.59 ns); + 3.2 us fixed
    # + one hop of one token: 1 us + 8,192 / 75e9 = 1.109 us
    hop = 1e-6 + ACT / (IO * 0.5)
    itl = WEIGHTS / SRAM_BW + 2048 * KV / SRAM_BW + FIXED + hop
    assert r.itl.to("s").m == pytest.approx(itl, rel=1e-12)
    assert r.tokens_per_second_per_user.to("token/s").m == pytest.approx(1 / itl, rel=1e-12)
    # two batches in flight, one per wafer: 2 x 1 / itl
    assert r.throughput.to("token/s").m == pytest.approx(2 / itl, rel=1e-12)
    # fixed 3.2 + 1.109 us beats memory 0.765 + 0.0128 us and compute 0.128 + 0.0086 us
    assert r.decode_bottleneck == "fixed costs"
    assert r.weights_size.to("byte").m == pytest.approx(WEIGHTS)
    assert r.kv_cache_size.to("byte").m == pytest.approx(2048 * KV)              # 268,435,456 B
    # each wafer holds 16 of 32 layers: (16,060,522,496 + 268,435,456) / 2 = 8,164,478,976 B
    assert r.sram_required.to("byte").m == pytest.approx(8_164_478_976)
    assert r.sram_usable.to("byte").m == pytest.approx(39.6e9)                     # 0.9 x 44e9
    assert r.memory_utilization.to("").m == pytest.approx(8_164_478_976 / 39.6e9)  # 0.20617
    # 2 x 23 kW x 0.573 = 26.358 kW
    assert r.power.to("kW").m == pytest.approx(26.358)
    assert r.mode == "resident" and r.systems == 2 and r.feasible is True and r.reasons == ()


def test_resident_layers_split_unevenly_take_the_larger_share():
    # 3 systems over 32 layers: the largest holds ceil(32 / 3) = 11 layers:
    # 16,328,957,952 x 11 / 32 = 5,613,079,296 B
    r = W.solve("Llama3_8B", "WSE3", 2048, 1, systems=3, calibration=CAL)
    assert r.sram_required.to("byte").m == pytest.approx(5_613_079_296)


def test_resident_decode_turns_compute_bound_with_batch():
    # batch 8, no fixed costs: linear 2 N x 8 / P = 1.0278 us > weights 0.7648 us;
    # attention 4 x 32 x 4,096 x 8 x 2,048 / P = 68.7 ns < KV 8 x 2,048 x 131,072 / 21e15 = 102.3 ns;
    # compute 1.0278 + 0.0687 = 1.0965 us > memory 0.7648 + 0.1023 = 0.8671 us
    bare = CAL.with_(kernel_overhead=0.0, allreduce_latency=0.0)
    r = W.solve("Llama3_8B", "WSE3", 2048, 8, calibration=bare)
    assert r.decode_bottleneck == "compute"
    itl = 2 * N * 8 / PEAK + 8 * 2048 * KV / SRAM_BW
    assert r.itl.to("s").m == pytest.approx(itl, rel=1e-12)
    assert r.throughput.to("token/s").m == pytest.approx(8 / itl, rel=1e-12)
    assert W.solve("Llama3_8B", "WSE3", 2048, 1, calibration=bare).decode_bottleneck == "memory"


def test_streamed_by_hand():
    r = W.solve("Llama3_8B", "WSE3", 2048, 1, systems=2, mode="streamed", calibration=CAL)
    layer = WEIGHTS / 32                                   # 501,891,328 B per layer
    # prefill: per layer max(501,891,328 / 150e9 = 3.346 ms, 2 N x 2,048 / 32 / P = 8.2 us) x 32 layers
    # + attention 4 x 32 x 4,096 x 2,048 x 1,024.5 / P = 8.80 us + 3.2 us fixed + 32 us prefill overhead
    ttft = 32 * layer / IO + 4 * 32 * 4096 * 2048 * 1024.5 / PEAK + FIXED + 32e-6
    assert r.ttft.to("s").m == pytest.approx(ttft, rel=1e-12)
    # decode: 32 x 3.346 ms + KV 2,048 x 131,072 / 21e15 + 3.2 us
    itl = 32 * layer / IO + 2048 * KV / SRAM_BW + FIXED
    assert r.itl.to("s").m == pytest.approx(itl, rel=1e-12)
    assert r.throughput.to("token/s").m == pytest.approx(2 / itl, rel=1e-12)   # two separate batches
    assert r.decode_bottleneck == "weight streaming (I/O)"
    # a wafer keeps its KV (268,435,456 B) and two layers (1,003,782,656 B): 1,272,218,112 B, whatever systems is
    assert r.sram_required.to("byte").m == pytest.approx(1_272_218_112)
    assert r.kv_cache_size.to("byte").m == pytest.approx(268_435_456)
    assert r.power.to("kW").m == pytest.approx(26.358)
    assert r.mode == "streamed" and r.feasible is True


def test_streamed_prefill_averages_causal_context():
    # a prompt of 3 tokens attends to (3 + 1) / 2 = 2 keys on average: attention compute
    # 4 x 32 x 4,096 x 3 x 2 / P = 3,145,728 / 125e15 = 25.2 ps > its KV 3 x 131,072 / 21e15 = 18.7 ps
    bare = CAL.with_(kernel_overhead=0.0, allreduce_latency=0.0, prefill_overhead_per_layer=0.0)
    r = W.solve("Llama3_8B", "WSE3", 3, 1, mode="streamed", calibration=bare)
    assert r.ttft.to("s").m == pytest.approx(32 * (WEIGHTS / 32) / IO + 4 * 32 * 4096 * 3 * 2 / PEAK, rel=1e-13)


def test_streamed_compute_bound_at_huge_batch():
    # batch 1,000,000 tokens per step: 2 N x 1e6 / P = 0.12848 s > 32 x 3.346 ms = 0.10707 s
    bare = CAL.with_(kernel_overhead=0.0, allreduce_latency=0.0)
    r = W.solve("Llama3_8B", "WSE3", 1, 1_000_000, mode="streamed", calibration=bare)
    assert r.decode_bottleneck == "compute"
    one = W.solve("Llama3_8B", "WSE3", 1, 1, mode="streamed", calibration=bare)
    assert one.decode_bottleneck == "weight streaming (I/O)"


def test_defaults_and_what_a_reader_sees():
    r = W.solve("Llama3_8B")
    assert repr(r).splitlines()[0] == ("Wafer-scale serving: Llama3_8B on WSE3 (seq_len=2,048, batch_size=1, "
                                       "precision=fp16, systems=1, mode=resident)")
    assert r.inputs["precision"] == "fp16" and r.inputs["mode"] == "resident" and r.inputs["systems"] == 1
    assert r.kv_cache_size.to("byte").m == pytest.approx(2048 * KV)
    s = W.solve("Llama3_8B", seq_len=Q_(1024, "token"), mode="streamed")
    assert s.kv_cache_size.to("byte").m == pytest.approx(1024 * KV)
    assert s.inputs["mode"] == "streamed"


def test_reasons_say_what_does_not_fit_and_what_to_do():
    # 70B fp16: 141,107,412,992 B + KV 2 x 80 x 8 x 128 x 2 = 327,680 B/token: at 2,048 tokens 671,088,640 B,
    # at 9,000 tokens 2,949,120,000 B -> 144.1 GB; needs ceil(144.06 / 39.6) = 4 systems
    r = W.solve("Llama3_70B", seq_len=np.array([2048, 9000]))
    assert r.reasons == (
        "memory (resident): a system must keep its layers' weights and KV cache in SRAM, 144.1 GB; 39.6 GB is "
        "usable (90% of 44.0 GB) on each WSE3 at 2 of 2 points (indices 0, 1); hold them across 4 or more "
        "systems, or stream them (mode='streamed')",
        "context: 9,000 tokens exceeds Llama-3-70B's context length of 8,192 tokens at 1 of 2 points (index 1)")
    np.testing.assert_array_equal(r.feasible, [False, False])
    # streamed, batch 200 at 2,048: KV 53,687,091,200 + two layers 1,003,782,656 = 54.7 GB
    s = W.solve("Llama3_8B", batch_size=np.array([1, 200]), mode="streamed")
    assert s.reasons == (
        "memory (streamed): a system must keep its batch's KV cache and two layers of weights in SRAM, 54.7 GB; "
        "39.6 GB is usable (90% of 44.0 GB) on each WSE3 at 1 of 2 points (index 1); shrink the batch or the "
        "context, or use more systems for more batches",)
    np.testing.assert_array_equal(s.feasible, [True, False])
    # exactly at the context length is in context
    assert W.solve("Llama3_8B", seq_len=8192).feasible is True
    assert W.solve("Llama3_8B", seq_len=8193).feasible is False


def _raises(message, *args, **kwargs):
    with pytest.raises(InputError, match="^" + re.escape(message) + "$"):
        W.solve(*args, **kwargs)


def test_error_messages():
    _raises("parameter 'hardware': expected a wafer-scale device with on-chip SRAM (memory_kind: sram), e.g. 'WSE3', "
            "got 'H100' (a device with HBM is served by mlsysim.ServingModel)", "Llama3_8B", "H100")
    _raises("parameter 'systems': expected at most Llama-3-8B's 32 layers (one layer per system at least), got 33",
            "Llama3_8B", systems=33)
    assert W.solve("Llama3_8B", systems=32).systems == 32          # one layer per system is allowed
    _raises("parameter 'mode': expected one of resident, streamed, got 'paged'", "Llama3_8B", mode="paged")
    for parameter in ("seq_len", "batch_size", "systems"):
        with pytest.raises(InputError, match=f"^parameter '{parameter}': expected an integer"):
            W.solve("Llama3_8B", **{parameter: 2.5})
    with pytest.raises(InputError, match="^parameter 'seq_len': expected .*token"):
        W.solve("Llama3_8B", seq_len=Q_(5, "s"))


def test_streamed_needs_the_external_bandwidth():
    from dataclasses import replace

    h = mlsysim.Hardware.WSE3
    no_io = replace(h, key="WSE3_noio", external_bandwidth=None)
    _raises("parameter 'hardware': expected a wafer-scale device that states its external_bandwidth, got 'WSE3_noio'",
            "Llama3_8B", no_io, mode="streamed")
    assert W.solve("Llama3_8B", no_io).feasible is True        # resident mode does not need it


def test_resident_bottleneck_near_the_tie():
    # no fixed costs; decode at 2,048 tokens of context. Attention's KV read (131,072 B / 21e15 per token)
    # always outweighs its math (524,288 FLOPs / 125e15 per token), so the batch decides:
    # batch 6: compute 2 N x 6 / P + 524,288 x 6 x 2,048 / P = 770.9 + 51.5 = 822.4 ns
    #          memory W / 21e15 + 6 x 2,048 x 131,072 / 21e15 = 764.8 + 76.7 = 841.5 ns: memory
    # batch 7: compute 899.4 + 60.1 = 959.5 ns, memory 764.8 + 89.5 = 854.3 ns: compute
    bare = CAL.with_(kernel_overhead=0.0, allreduce_latency=0.0)
    assert W.solve("Llama3_8B", "WSE3", 2048, 6, calibration=bare).decode_bottleneck == "memory"
    assert W.solve("Llama3_8B", "WSE3", 2048, 7, calibration=bare).decode_bottleneck == "compute"


def test_resident_hops_count_as_fixed_costs():
    # three wafers, two hops a token; a hop is 0.3 us + 8,192 / (150e9 x 0.5) = 0.409 us:
    # two hops 0.818 us > memory 764.8 + 12.8 = 777.6 ns > compute 128.5 + 8.6 ns: fixed costs
    hops = CAL.with_(kernel_overhead=0.0, allreduce_latency=0.3e-6)
    assert W.solve("Llama3_8B", "WSE3", 2048, 1, systems=3, calibration=hops).decode_bottleneck == "fixed costs"
    # one hop (two wafers) without latency: 0.109 us < 777.6 ns: memory
    bare = CAL.with_(kernel_overhead=0.0, allreduce_latency=0.0)
    assert W.solve("Llama3_8B", "WSE3", 2048, 1, systems=2, calibration=bare).decode_bottleneck == "memory"


def test_streamed_prefill_of_a_million_tokens_by_hand():
    # batch 500,000 of 2-token prompts = 1e6 tokens, compute at half efficiency (62.5e15 FLOP/s), KV at a quarter:
    # per layer max(501,891,328 / 150e9 = 3.346 ms, 2 N x 1e6 / 32 / 62.5e15 = 8.03 ms): the math binds,
    # 32 layers 256.97 ms; attention math 524,288 x 1e6 x 1.5 / 62.5e15 = 12.6 us < its KV
    # 131,072 x 1e6 / (21e15 x 0.25) = 24.97 us; + 3.2 us fixed + 32 us prefill overhead
    cal = CAL.with_(compute_efficiency=0.5, attention_efficiency=0.25)
    r = W.solve("Llama3_8B", "WSE3", 2, 500_000, mode="streamed", calibration=cal)
    ttft = 2 * N * 1e6 / (PEAK * 0.5) + KV * 1e6 / (SRAM_BW * 0.25) + FIXED + 32e-6
    assert r.ttft.to("s").m == pytest.approx(ttft, rel=1e-12)


def test_streamed_bottleneck_uses_the_achieved_compute():
    # decode of b sequences at 1 token: math 2 N b / (125e15 x 0.5) against streaming 32 x 3.346 ms = 107.07 ms:
    # b = 400,000: 102.8 ms, the weights bind; b = 450,000: 115.6 ms, the math binds
    cal = CAL.with_(compute_efficiency=0.5, kernel_overhead=0.0, allreduce_latency=0.0)
    assert W.solve("Llama3_8B", "WSE3", 1, 400_000, mode="streamed", calibration=cal).decode_bottleneck \
        == "weight streaming (I/O)"
    assert W.solve("Llama3_8B", "WSE3", 1, 450_000, mode="streamed", calibration=cal).decode_bottleneck == "compute"
    # at full efficiency, b = 800,000 (102.8 ms) is still bound by the weights
    bare = CAL.with_(kernel_overhead=0.0, allreduce_latency=0.0)
    assert W.solve("Llama3_8B", "WSE3", 1, 800_000, mode="streamed", calibration=bare).decode_bottleneck \
        == "weight streaming (I/O)"


def test_kv_precision_and_mixture_of_experts():
    # an int8 cache halves the KV bytes: 2,048 x 65,536 = 134,217,728 B
    r = W.solve("Llama3_8B", kv_precision="int8")
    assert r.kv_cache_size.to("byte").m == pytest.approx(134_217_728)
    # Mixtral streams the experts a batch touches; it must run in either mode
    for mode in ("resident", "streamed"):
        m = W.solve("Mixtral_8x7B", mode=mode, systems=4)
        assert m.itl.to("s").m > 0 and m.weights_size.to("byte").m == pytest.approx(46_702_792_704 * 2)


def test_fields_inputs_and_sweeps_as_a_reader_sees_them():
    r = W.solve("Llama3_8B", "WSE3", 2048, 1, systems=2)
    d = r.to_dict()
    assert d["mode"] == "resident" and d["systems"] == 2 and d["decode_bottleneck"] == r.decode_bottleneck
    assert r.inputs["model"].key == "Llama3_8B" and r.inputs["hardware"].key == "WSE3"
    assert isinstance(r.decode_bottleneck, str)
    # a sweep gives one bottleneck per point
    bare = CAL.with_(kernel_overhead=0.0, allreduce_latency=0.0)
    swept = W.solve("Llama3_8B", "WSE3", 2048, np.array([6, 7]), calibration=bare)
    assert list(swept.decode_bottleneck) == ["memory", "compute"]


def test_sram_exactly_full_fits():
    # usable fraction chosen so that 44e9 x f = 16,060,522,496 + 2,048 x 131,072 = 16,328,957,952 B exactly
    f = 16_328_957_952 / 44e9
    assert 44e9 * f == 16_328_957_952
    r = W.solve("Llama3_8B", calibration=DEFAULT.with_(usable_memory_fraction=f))
    assert r.sram_required.to("byte").m == r.sram_usable.to("byte").m and r.feasible is True


def test_systems_needed_counts_the_kv_cache():
    # 70B at 8,192 tokens x 20: KV 327,680 x 8,192 x 20 = 53,687,091,200 B; with the weights 194.8 GB,
    # ceil(194.79 / 39.6) = 5 systems (the weights alone would need ceil(3.56) = 4)
    r = W.solve("Llama3_70B", seq_len=8192, batch_size=20)
    assert r.reasons[0].startswith("memory (resident): a system must keep its layers' weights and KV cache in SRAM, "
                                   "194.8 GB;")
    assert "hold them across 5 or more systems" in r.reasons[0]
