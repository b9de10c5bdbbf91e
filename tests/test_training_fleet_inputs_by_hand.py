"""TrainingModel on fleets and schedules off the DGX path, by hand: devices without a scale-up link
(PCIe), a fabric bandwidth instead of NICs, interleaved schedules, and a pipeline with fewer
micro-batches than stages."""
from __future__ import annotations

import pytest

from mlsysim import Fleet, NetworkFabric, Node, TrainingModel
from mlsysim.specs.models import model_from_record


def tiny_model():
    # 2 layers of 12 h^2 at h = 1024 (25,165,824) + a 1,000 x 1,024 embedding (1,024,000) = 26,189,824
    return model_from_record("tiny", {"architecture": "decoder", "parameters": 26_189_824, "layers": 2,
                                      "hidden_dim": 1024, "heads": 8, "kv_heads": 8, "head_dim": 128,
                                      "ffn_dim": 4096, "vocab_size": 1000, "context_length": 2048}, "test")


def test_devices_without_a_scale_up_link_all_reduce_over_pcie():
    # two Jetson AGX Orin (no NVLink) in one node, TP 2, fp16, one micro-batch of 512 tokens: each all-reduce of
    # 512 x 1,024 x 2 B = 1,048,576 B goes over PCIe 4.0 x16 (31.5 GB/s) at 0.69:
    # 36 + 2 x 1/2 x 1,048,576 / 21.735e9 = 36 + 48.243662 = 84.243662 us. The backward ones hide entirely
    # behind the weight-gradient GEMMs (2 x 512 x 12,582,912 / 2 FLOPs at 42.5 TFLOP/s x 0.64 = 236.9 us):
    # 2 forward all-reduces x 2 layers = 336.974649 us
    fleet = Fleet("jetsons", Node("n", "JetsonOrinAGX", 2), 1)
    r = TrainingModel().solve(tiny_model(), fleet, 512, 1, tensor_parallel=2, precision="fp16")
    all_reduce = 36e-6 + 1_048_576 / (31.5e9 * 0.69)
    assert all_reduce * 1e6 == pytest.approx(84.243662, rel=1e-7)
    assert r.tensor_parallel_comm.to("s").m == pytest.approx(4 * all_reduce, rel=1e-12, abs=0)


def test_a_fabric_bandwidth_stands_in_for_the_nics():
    # 2 nodes of 8 H100 that state no NICs, on a 200 GB/s-per-node fabric; pure data parallel 16, no overlap.
    # fp32 gradients 4 x 26,189,824 = 104,759,296 B: RS and AG in the node 2 x (36 + 7/8 x 104,759,296 / 310.5e9
    # = 295.215407) us; AR of 1/8 (13,094,912 B) across 2 nodes, each device on 200/8 = 25 GB/s x 0.39:
    # 36 + 13,094,912 / 9.75e9 = 36 + 1,343.067897 us. Total 2,041.498712 us
    fleet = Fleet("fabric", Node("n", "H100", 8), 2, fabric=NetworkFabric("ib", 200e9))
    r = TrainingModel().solve(tiny_model(), fleet, 512, 16, overlap_data_parallel=False)
    expected = 2 * (36e-6 + 7 / 8 * 104_759_296 / (450e9 * 0.69)) + 36e-6 + 13_094_912 / (25e9 * 0.39)
    assert r.data_parallel_comm.to("s").m == pytest.approx(expected, rel=1e-9, abs=0)
    assert expected * 1e6 == pytest.approx(2041.4987, rel=1e-6)


def test_interleaved_schedules_need_whole_rounds_of_micro_batches():
    # PP 2 with 2 interleaved chunks on 2 H100s: the bubble is (p - 1) / (v m) = 1 / (2 x 2) = 25 % with
    # 2 micro-batches; 3 micro-batches are not a multiple of the 2 stages: refused with a reason (bubble 1/6)
    two = Fleet("two", Node("n", "H100", 2), 1)
    ok = TrainingModel().solve(tiny_model(), two, 512, 2, pipeline_parallel=2, virtual_stages=2)
    assert ok.feasible and ok.reasons == () and ok.bubble_fraction.to("").m == pytest.approx(0.25)
    bad = TrainingModel().solve(tiny_model(), two, 512, 3, pipeline_parallel=2, virtual_stages=2)
    assert not bad.feasible and bad.bubble_fraction.to("").m == pytest.approx(1 / 6)
    assert bad.reasons == ("interleaved schedule: micro-batches per step (3) must be a multiple of "
                           "pipeline_parallel (2)",)


def test_a_pipeline_with_one_micro_batch_holds_one_in_flight():
    # PP 2 on 2 H100s, one micro-batch of 512 tokens: the first stage (1 layer) holds 1 micro-batch, not p = 2.
    # A layer keeps sbh (10 + 24) with selective recomputation and FlashAttention (t = 1):
    # 34 x 512 x 1,024 = 17,825,792 B; + the stage's input s b h p / t = 512 x 1,024 x 2 = 1,048,576 B
    # -> 18,874,368 B (with 2 in flight it would be 36,700,160 B)
    two = Fleet("two", Node("n", "H100", 2), 1)
    r = TrainingModel().solve(tiny_model(), two, 512, 1, pipeline_parallel=2)
    assert r.microbatches == 1
    assert r.memory.activations.to("byte").m == pytest.approx(18_874_368, rel=1e-12)
