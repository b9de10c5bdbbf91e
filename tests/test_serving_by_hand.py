"""ServingModel and ReplicaPhysics against values worked out by hand: what a reader sees in the
result and its reasons (memory with its numbers, a missing scale-up link), the memory boundary,
max_batch_size (KV precision, calibration, sweeps), and when a decode step is compute-bound.

Llama-3-8B fp16 on one H100: weights W = 16,060,522,496 B, KV 131,072 B per token (65,536 at fp8),
memory M = 85,520,809,984 B, B = 3.35e12 B/s. IDEAL: efficiencies 1, no fixed costs, max roofline.
"""
import math

import numpy as np
import pytest

import mlsysim
from mlsysim import Q_
from mlsysim.calibration import DEFAULT
from mlsysim.errors import InputError
from mlsysim.specs.models import model_from_record

S = mlsysim.ServingModel()
IDEAL = DEFAULT.with_(compute_efficiency=1, memory_efficiency=1, attention_efficiency=1, kernel_overhead=0,
                      allreduce_latency=0, prefill_overhead_per_layer=0, roofline_exponent=math.inf)
W, KV, M, B = 16_060_522_496, 131_072, 85_520_809_984, 3.35e12


def test_decode_result_by_hand():
    r = S.solve("Llama3_8B", "H100", 1024, batch_size=4, calibration=IDEAL)
    # a step reads the weights once and 4 x 1,024 tokens of KV: (W + 4,096 x 131,072) / B = 4.95 ms
    itl = (W + 4096 * KV) / B
    assert r.itl.to("s").magnitude == pytest.approx(itl, rel=1e-12)
    assert r.throughput.to("token/s").magnitude == pytest.approx(4 / itl, rel=1e-12)      # 808 tokens/s
    assert r.memory_capacity.to("byte").magnitude == pytest.approx(M, rel=1e-15)
    assert r.usable_memory.to("byte").magnitude == pytest.approx(0.9 * M, rel=1e-15)
    assert r.compute_precision == "fp16"
    assert repr(r).splitlines()[0] == ("Serving: Llama3_8B on H100 (seq_len=1,024, batch_size=4, precision=fp16, "
                                       "tensor_parallel=1, kv_precision=fp16)")
    assert r.inputs["model"].key == "Llama3_8B" and r.inputs["hardware"].key == "H100"


def test_short_prompt_prefill_is_memory_bound():
    # 2 tokens: 2 N x 2 / P = 32 us of math < W / B = 4.79 ms of weights
    assert S.solve("Llama3_8B", "H100", 2, calibration=IDEAL).prefill_bottleneck == "Memory"


def test_kv_precision_sets_the_cache():
    r = S.solve("Llama3_8B", "H100", 8192, batch_size=2, kv_precision="fp8")
    # 2 x 8,192 tokens x 65,536 B = 1,073,741,824 B
    assert r.kv_cache_size.to("byte").magnitude == 1_073_741_824
    assert r.inputs["kv_precision"] == "fp8"


@pytest.mark.parametrize("kv_precision, expected", [
    # (0.9 M - W) / (8,192 x 131,072) = 60,908,206,489.6 / 1,073,741,824 = 56.7
    (None, 56),
    # at fp8 half the bytes per token: 60,908,206,489.6 / 536,870,912 = 113.4
    ("fp8", 113),
])
def test_max_batch_size_by_kv_precision(kv_precision, expected):
    assert S.max_batch_size("Llama3_8B", "H100", 8192, kv_precision=kv_precision) == expected


def test_max_batch_size_over_a_sweep_is_whole_numbers():
    # 8,192 tokens: 56 (above); 4,096 tokens: 60,908,206,489.6 / 536,870,912 = 113.4
    out = S.max_batch_size("Llama3_8B", "H100", np.array([8192, 4096]))
    assert out.dtype.kind == "i" and out.tolist() == [56, 113]


def test_memory_exactly_full_fits():
    # usable = f M with f = (W + 8,192 x 131,072) / M: one 8,192-token sequence fills it to the byte
    cal = DEFAULT.with_(usable_memory_fraction=(W + 8192 * KV) / M)
    assert S.solve("Llama3_8B", "H100", 8192, calibration=cal).feasible
    assert not S.solve("Llama3_8B", "H100", 8192, batch_size=2, calibration=cal).feasible
    assert S.max_batch_size("Llama3_8B", "H100", 8192, calibration=cal) == 1


def test_memory_reason_with_its_numbers():
    r = S.solve("Llama3_8B", "H100", 8192, batch_size=np.array([1, 64]))
    # batch 64: W + 64 x 8,192 x 131,072 = 16,060,522,496 + 68,719,476,736 = 84,779,999,232 B;
    # usable 0.9 x 85,520,809,984 = 76,968,728,985.6 B
    assert list(r.feasible) == [True, False]
    assert r.reasons == ("memory: needs 84.8 GB (weights 16.1 GB + KV cache 68.7 GB); 77.0 GB usable "
                         "(90% of 85.5 GB) on 1 x H100 at 1 of 2 points (index 1)",)


@pytest.mark.parametrize("hardware, tp, warned", [
    ("JetsonOrinAGX", 2, True),     # no scale-up link: the all-reduces go over PCIe
    ("JetsonOrinAGX", 1, False),    # one device: no all-reduce at all
    ("H100", 2, False),             # NVLink
])
def test_tensor_parallel_without_a_link_is_flagged(hardware, tp, warned):
    r = S.solve("Llama3_8B", hardware, 512, tensor_parallel=tp)
    note = f"tensor parallelism: {hardware} has no scale-up interconnect; PCIe 4.0 x16 assumed"
    assert (note in r.reasons) is warned
    if not warned:
        assert r.reasons == ()


def test_decode_with_compressed_kv_can_be_compute_bound():
    # a tiny model with a 16-wide latent KV (MLA): 2 layers, attention 32 x 128 = 4,096 wide, 1,000 parameters.
    # One sequence at 1,000 tokens of context, IDEAL:
    #   linear: 2 x 1,000 / P = 2.0e-12 s of math, 2,000 B / B = 6.0e-10 s of weights
    #   attention: 4 x 2 x 4,096 x 1,000 / P = 3.31e-8 s of math; KV 2 x 16 x 2 B x 1,000 = 64,000 B / B = 1.91e-8 s
    # math 3.31e-8 > memory 1.97e-8: compute-bound (the attention math alone outweighs all memory traffic)
    tiny = model_from_record("TinyMLA", {"architecture": "decoder", "parameters": 1000, "layers": 2,
                                         "hidden_dim": 4096, "heads": 32, "kv_heads": 32, "head_dim": 128,
                                         "vocab_size": 100, "context_length": 4096, "kv_latent_dim": 16}, "test")
    r = S.solve(tiny, "H100", 1000, calibration=IDEAL)
    assert r.decode_bottleneck == "Compute"


@pytest.mark.parametrize("seq_len, shown", [(2.5, "an integer"), (Q_(3, "s"), "token")])
def test_max_batch_size_checks_seq_len(seq_len, shown):
    with pytest.raises(InputError) as info:
        S.max_batch_size("Llama3_8B", "H100", seq_len)
    assert info.value.parameter == "seq_len" and shown in str(info.value)
    # a Quantity in tokens is the plain count
    assert S.max_batch_size("Llama3_8B", "H100", Q_(8192, "token")) == 56
