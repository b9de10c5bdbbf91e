"""TrainingModel: what data parallelism costs beyond the dense gradients, by hand: the expert
gradients' own all-reduce over the ranks that hold the same experts, the optimizer step over a
ZeRO shard of dense and expert parameters, ZeRO-3's weight gathers; and the pipeline sends, over
the scale-up link or the NICs, and the hardware FLOPs recomputation adds.

H100 figures: HBM 3.35 TB/s x 0.83 = 2.7805 TB/s; NVLink 450 GB/s x 0.69 = 310.5 GB/s; DGX H100
NICs 8 x 50 GB/s = 400 GB/s per node, 50 GB/s per device at 0.39 = 19.5 GB/s; 36 us per call.
"""
from __future__ import annotations

import pytest

from mlsysim import Fleet, Node, TrainingModel
from mlsysim.specs.models import model_from_record
from training_support import CALL, HBM, NIC, NVLINK, tiny_model



def tiny_moe():
    # 2 layers of attention 4 h^2 = 4,194,304 and 8 experts of 2 h f = 8,388,608, top-2; 1,000 x 1,024 embedding.
    # Dense: 2 x 4,194,304 + 1,024,000 = 9,412,608; experts 2 x 8 x 8,388,608 = 134,217,728
    dense, expert = 4 * 1024 ** 2, 2 * 1024 * 4096
    return model_from_record("tinymoe", {
        "architecture": "decoder", "parameters": 2 * (dense + 8 * expert) + 1000 * 1024,
        "active_parameters": 2 * (dense + 2 * expert) + 1000 * 1024, "experts": 8, "active_experts_per_token": 2,
        "layers": 2, "hidden_dim": 1024, "heads": 8, "kv_heads": 8, "head_dim": 128, "ffn_dim": 4096,
        "vocab_size": 1000, "context_length": 2048}, "test")


def us(quantity):
    return quantity.to("us").m


def moe_on_two_nodes(zero_stage, batch=16, expert_parallel=4):
    # 2 DGX H100 nodes, pure data parallel 16, expert parallel 4: a device holds all 9,412,608 dense
    # parameters and 1/4 of the experts, 33,554,432. Each expert shard is held by 16 / 4 = 4 ranks, 2 per node
    return TrainingModel().solve(tiny_moe(), Fleet.from_system("DGX_H100", 2), 512, batch,
                                 expert_parallel=expert_parallel, overlap_data_parallel=False, zero_stage=zero_stage)


def test_expert_gradients_reduce_over_the_ranks_holding_the_same_experts():
    # fp32 gradients. Dense: 4 x 9,412,608 = 37,650,432 B over the 16 ranks, 8 per node:
    #   RS and AG in the node: 2 x (36 + 7/8 x 37,650,432 / 310.5e9 = 106.1044) us
    #   AR of 1/8 across 2 nodes at 50 GB/s x 0.39 per device: 36 + 4,706,304 / 19.5e9 = 36 + 241.3489 us
    #   = 561.5494 us
    # Experts: 4 x 33,554,432 = 134,217,728 B over their 4 ranks, 2 per node, who share 2/8 of the NICs:
    #   RS and AG in the node: 2 x (36 + 1/2 x 134,217,728 / 310.5e9 = 216.1316) us
    #   AR of 1/2 across 2 nodes at 100 GB/s / 2 x 0.39 = 19.5 GB/s: 36 + 67,108,864 / 19.5e9 = 36 + 3,441.4802 us
    #   = 3,981.7434 us.  Together 4,543.2928 us
    dense = 2 * (CALL + 7 / 8 * 37_650_432 / NVLINK) + CALL + 4_706_304 / NIC
    experts = 2 * (CALL + 1 / 2 * 134_217_728 / NVLINK) + CALL + 67_108_864 / NIC
    assert dense * 1e6 == pytest.approx(561.5494, rel=1e-6) and experts * 1e6 == pytest.approx(3981.7434, rel=1e-6)
    for stage in (0, 1, 2):
        assert us(moe_on_two_nodes(stage).data_parallel_comm) == pytest.approx(4543.292845, rel=1e-7), stage
    # expert parallel 8: a node's 8 ranks hold the 8 different shards, so the 2 ranks of a shard are in
    # different nodes, each on 1/8 of its node's NICs: 1/8 of the experts, 4 x 16,777,216 = 67,108,864 B,
    # all-reduced across the 2 nodes only: 36 + 2 x 1/2 x 67,108,864 / 19.5e9 = 3,477.4802 us;
    # + the dense 561.5494 us = 4,039.0296 us
    assert us(moe_on_two_nodes(1, expert_parallel=8).data_parallel_comm) == pytest.approx(4039.0296, rel=1e-6)


def test_optimizer_updates_a_zero_shard_of_dense_and_expert_parameters():
    # Adam moves 28 B per parameter it updates. ZeRO-1 and up: 1/16 of the dense parameters and 1/4 of the
    # device's experts (the 4 ranks that hold them): 588,288 + 8,388,608 = 8,976,896 x 28 B = 251,353,088 B
    # / 2.7805e12 = 90.398521 us. Without ZeRO: 9,412,608 + 33,554,432 = 42,967,040 x 28 B = 432.683733 us
    assert us(moe_on_two_nodes(1).optimizer_step) == pytest.approx(90.398521, rel=1e-7)
    assert us(moe_on_two_nodes(2).optimizer_step) == pytest.approx(90.398521, rel=1e-7)
    assert us(moe_on_two_nodes(0).optimizer_step) == pytest.approx(432.683733, rel=1e-7)


def test_zero3_gathers_the_weights_before_every_forward_and_backward():
    # ZeRO-3, 2 micro-batches (global batch 32): 2 x 2 weight all-gathers of bf16 weights beyond ZeRO-2.
    # Dense 2 x 9,412,608 = 18,825,216 B: across nodes 1/8 of it, 1/2 of that over the NIC share:
    #   36 + 1,176,576 / 19.5e9 (60.3372) us; in the node 36 + 7/8 x 18,825,216 / 310.5e9 (53.0522) us
    # Experts 2 x 33,554,432 = 67,108,864 B: across nodes 1/2 of it, 1/2 of that: 36 + 16,777,216 / 19.5e9
    #   (860.3700) us; in the node 36 + 1/2 x 67,108,864 / 310.5e9 (108.0658) us
    # One gather 1,225.8232 us; x 4 = 4,903.2928 us
    gather = (CALL + 1_176_576 / NIC + CALL + 7 / 8 * 18_825_216 / NVLINK
              + CALL + 16_777_216 / NIC + CALL + 1 / 2 * 67_108_864 / NVLINK)
    assert gather * 1e6 == pytest.approx(1225.8232, rel=1e-6)
    three, two = moe_on_two_nodes(3, batch=32), moe_on_two_nodes(2, batch=32)
    assert three.microbatches == 2
    assert us(three.data_parallel_comm) - us(two.data_parallel_comm) == pytest.approx(4 * gather * 1e6, rel=1e-7)


def test_pipeline_sends_over_the_link_or_the_nics():
    # each micro-batch sends its activations forward and its gradients back: 2 sends of b s h x 2 B / t,
    # at the network efficiency 0.39, + 36 us each
    # one DGX H100, TP 2 x PP 2 x DP 2: the next stage is in the node (NVSwitch, 450 GB/s);
    # 512 x 1,024 x 2 / 2 = 524,288 B: 2 x (36 + 524,288 / 175.5e9 = 2.987393) us x 2 micro-batches = 155.949584 us
    r = TrainingModel().solve(tiny_model(), Fleet.from_system("DGX_H100", 1), 512, 4, tensor_parallel=2,
                              pipeline_parallel=2)
    assert r.microbatches == 2 and us(r.pipeline_comm) == pytest.approx(155.949584, rel=1e-7)
    # 2 nodes, TP 8 x PP 2: a stage fills a node, the send leaves over the device's 50 GB/s NIC share:
    # 1,048,576 / 8 = 131,072 B: 2 x (36 + 131,072 / 19.5e9 = 6.721641) us x 2 = 170.886564 us
    r = TrainingModel().solve(tiny_model(), Fleet.from_system("DGX_H100", 2), 512, 2, tensor_parallel=8,
                              pipeline_parallel=2)
    assert r.microbatches == 2 and us(r.pipeline_comm) == pytest.approx(170.886564, rel=1e-7)
    # 8 MI300X (a mesh: one 64 GB/s link between two GPUs), PP 2 x DP 4: 1,048,576 B over one link:
    # 2 x (36 + 1,048,576 / (64e9 x 0.39) = 42.010256) us = 156.020513 us, one micro-batch
    r = TrainingModel().solve(tiny_model(), Fleet("mi", Node("n", "MI300X", 8), 1), 512, 4, pipeline_parallel=2)
    assert r.microbatches == 1 and us(r.pipeline_comm) == pytest.approx(156.020513, rel=1e-7)


def test_hardware_flops_count_the_recomputation():
    # tiny model, per token: 6 N = 6 x 26,189,824 = 157,138,944 and attention 12 L d s = 12 x 2 x 1,024 x 512 =
    # 12,582,912: 169,721,856 model FLOPs. Selective recomputation adds 4 L d s = 4,194,304:
    # HFU / MFU = 173,916,160 / 169,721,856 = 1.024713; full adds 2 N + 4 L d s = a third: 4 / 3
    one = Fleet("one", Node("n", "H100", 1), 1)
    for mode, ratio in (("none", 1.0), ("selective", 1.024713), ("full", 4 / 3)):
        r = TrainingModel().solve(tiny_model(), one, 512, 2, recompute=mode)
        assert r.hfu.m / r.mfu.m == pytest.approx(ratio, rel=1e-6), mode
