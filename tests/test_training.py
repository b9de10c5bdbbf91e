"""Training engine: collectives, training physics, memory, step time and compute budget.

Expected values are derived by hand in the comments (never from the engine's own helpers).
"""
from __future__ import annotations

import numpy as np
import pytest

import mlsysim
from mlsysim import ComputeBudgetModel, Fleet, Node, TrainingMemoryModel, TrainingModel
from mlsysim.calibration import DEFAULT
from mlsysim.errors import InputError
from mlsysim.physics import collectives as col
from mlsysim.physics import training as tr
from mlsysim.specs.models import model_from_record


# ------------------------------------------------------------------------------------ collectives
def test_ring_collectives_by_hand():
    # 1 GB over 8 devices at 100 GB/s per direction, no latency:
    # all-reduce 2 x 7/8 x 1e9 / 1e11 = 17.5 ms; reduce-scatter, all-gather, all-to-all 7/8 x 1e9 / 1e11 = 8.75 ms
    assert col.ring_allreduce_time(1e9, 8, 1e11) == pytest.approx(17.5e-3)
    assert col.ring_reduce_scatter_time(1e9, 8, 1e11) == pytest.approx(8.75e-3)
    assert col.ring_allgather_time(1e9, 8, 1e11) == pytest.approx(8.75e-3)
    assert col.alltoall_time(1e9, 8, 1e11) == pytest.approx(8.75e-3)
    # with 20 us per call and 1 us per ring step: 17.5 ms + 20 us + 2 x 7 x 1 us = 17.534 ms
    assert col.ring_allreduce_time(1e9, 8, 1e11, 20e-6, 1.0, 1e-6) == pytest.approx(17.534e-3)
    # efficiency 0.5 doubles the transfer: 35 ms
    assert col.ring_allreduce_time(1e9, 8, 1e11, efficiency=0.5) == pytest.approx(35e-3)
    # one device: nothing to do
    assert col.ring_allreduce_time(1e9, 1, 1e11, 20e-6) == 0.0


def test_tree_allreduce_by_hand():
    # pipelined tree: 2 x 1e9 / 1e11 = 20 ms, plus 2 log2(8) = 6 steps x 1 us
    assert col.tree_allreduce_time(1e9, 8, 1e11, hop_latency=1e-6) == pytest.approx(20.006e-3)
    # a tiny message on 1,024 devices: tree 2 x 10 = 20 steps, ring 2 x 1023 = 2,046 steps of 5 us
    tree = col.tree_allreduce_time(1e3, 1024, 1e11, hop_latency=5e-6)
    ring = col.ring_allreduce_time(1e3, 1024, 1e11, hop_latency=5e-6)
    assert tree == pytest.approx(20 * 5e-6 + 2e3 / 1e11) and ring > 100 * tree


def test_hierarchical_allreduce_by_hand():
    # 1 GB on 8 devices per node, 4 nodes; NVLink 400 GB/s, node NICs 8 x 50 GB/s = 400 GB/s:
    # RS in node 7/8 x 1e9 / 4e11 = 2.1875 ms; AR of 1e9 / 8 = 125 MB across 4 nodes at 400/8 = 50 GB/s
    # per device: 2 x 3/4 x 1.25e8 / 5e10 = 3.75 ms; AG in node 2.1875 ms. Total 8.125 ms.
    t = col.hierarchical_allreduce_time(1e9, 8, 4, 4e11, 4e11)
    assert t == pytest.approx(8.125e-3)
    # counting one NIC (50 GB/s) for the node instead of eight: the inter-node part grows 8x to 30 ms
    one_nic = col.hierarchical_allreduce_time(1e9, 8, 4, 4e11, 5e10)
    assert one_nic == pytest.approx(2.1875e-3 * 2 + 30e-3)
    # all-gather of a sharded 1 GB: AG across nodes of 1e9/8 at 50 GB/s per device 3/4 x 1.25e8 / 5e10 = 1.875 ms
    # then in the node 7/8 x 1e9 / 4e11 = 2.1875 ms
    assert col.hierarchical_allgather_time(1e9, 8, 4, 4e11, 4e11) == pytest.approx(4.0625e-3)


def test_two_level_alltoall_by_hand():
    # 800 MB per device over 16 devices, 8 per node: 7/16 over NVLink 400 GB/s = 0.875 ms,
    # 8/16 over the device's 50 GB/s NIC share = 8 ms
    t = col.two_level_alltoall_time(8e8, 16, 8, 4e11, 5e10)
    assert t == pytest.approx(0.875e-3 + 8e-3)
    # all in one node: plain all-to-all, 7/8 x 8e8 / 4e11 = 1.75 ms
    assert col.two_level_alltoall_time(8e8, 8, 8, 4e11, 5e10) == pytest.approx(1.75e-3)


def test_bus_bandwidth_factors():
    assert col.allreduce_bus_factor(8) == pytest.approx(1.75)     # 2 x 7 / 8
    assert col.gather_bus_factor(8) == pytest.approx(0.875)       # 7 / 8


def test_ring_bandwidth_per_topology():
    hw = mlsysim.Hardware
    # NVSwitch: the whole 450 GB/s for any group
    assert hw.H100.ring_bandwidth(2) == pytest.approx(450e9)
    # MI300X mesh: 64 GB/s per link per direction, a ring over p GPUs uses p - 1 links (max 7)
    assert hw.MI300X.ring_bandwidth(2) == pytest.approx(64e9)
    assert hw.MI300X.ring_bandwidth(4) == pytest.approx(192e9)
    assert hw.MI300X.ring_bandwidth(8) == pytest.approx(448e9)
    # TPU v5p: 600 GB/s per direction over 6 links -> a bidirectional ring on one axis: 2 x 100 GB/s
    assert hw.TPUv5p.interconnect_bandwidth.to("GB/s").m == pytest.approx(600)
    assert hw.TPUv5p.ring_bandwidth(8) == pytest.approx(200e9)
    # TPU v5e: 200 GB/s per direction over 4 links -> 2 x 50 GB/s
    assert hw.TPUv5e.interconnect_bandwidth.to("GB/s").m == pytest.approx(200)
    assert hw.TPUv5e.ring_bandwidth(4) == pytest.approx(100e9)
    np.testing.assert_allclose(hw.MI300X.ring_bandwidth(np.array([2.0, 8.0])), [64e9, 448e9])


def test_serving_tensor_parallel_uses_the_ring_bandwidth():
    # two MI300X: one 64 GB/s link, not 448 GB/s. The all-reduce part of a Llama-2-70B decode step:
    # 2 x 80 layers x (36 us + 2 x 1/2 x 8 x 8192 x 2 B / (64e9 x 0.69)) = 160 x (36 us + 2.968 us) = 6.235 ms
    from mlsysim.solvers.serving import ReplicaPhysics

    rep = ReplicaPhysics("Llama2_70B", "MI300X", "fp16", 2)
    assert rep.link == pytest.approx(64e9)
    fixed = rep.fixed_time(8)
    kernels = 80 * DEFAULT.kernels_per_layer * DEFAULT.kernel_overhead
    assert fixed - kernels == pytest.approx(160 * (36e-6 + 8 * 8192 * 2 / (64e9 * DEFAULT.interconnect_efficiency)),
                                            rel=1e-6)


# ------------------------------------------------------------------------------------ physics
def test_model_states_by_hand():
    # ZeRO Figure 1: 7.5e9 parameters, 64-way DP, K = 12. Stage 0: 2 + 2 + 12 = 16 B x 7.5e9 = 120 GB.
    w, g, o = tr.model_state_bytes(7.5e9, 2, 2, 12, 64, 0)
    assert w + g + o == pytest.approx(120e9)
    # stage 1: 15 + 15 + 90/64 = 31.40625 GB; stage 2: 15 + (15 + 90)/64 = 16.640625 GB; stage 3: 120/64 = 1.875 GB
    assert sum(tr.model_state_bytes(7.5e9, 2, 2, 12, 64, 1)) == pytest.approx(31.40625e9)
    assert sum(tr.model_state_bytes(7.5e9, 2, 2, 12, 64, 2)) == pytest.approx(16.640625e9)
    assert sum(tr.model_state_bytes(7.5e9, 2, 2, 12, 64, 3)) == pytest.approx(1.875e9)


def test_activation_bytes_by_hand():
    # 22B of Korthikanti Table 3: s = 2048, b = 1, h = 6144, a = 64, t = 8.
    # sbh = 2048 x 6144 = 12,582,912. Tensor parallel: sbh (10 + 24/8) = 163,577,856 plus
    # 5 a s^2 b / t = 5 x 64 x 2048^2 / 8 = 167,772,160 -> 331,350,016 bytes
    assert tr.activation_bytes_per_layer(2048, 1, 6144, 64, 8, False, True) == pytest.approx(331_350_016)
    # + sequence parallel: sbh x 34 / 8 = 53,477,376, + scores 167,772,160 = 221,249,536
    assert tr.activation_bytes_per_layer(2048, 1, 6144, 64, 8, True, True) == pytest.approx(221_249_536)
    # + selective recomputation (no scores): 53,477,376
    assert tr.activation_bytes_per_layer(2048, 1, 6144, 64, 8, True, False) == pytest.approx(53_477_376)
    # no parallelism: sbh (34 + 5 a s / h) = 12,582,912 x (34 + 5 x 64 x 2048 / 6144) = 12,582,912 x 140.67 = 1,770,000,384
    assert tr.activation_bytes_per_layer(2048, 1, 6144, 64) == pytest.approx(12_582_912 * (34 + 640 / 6))
    # full recomputation: 2 sbh = 25,165,824 (split over t with sequence parallelism: 3,145,728)
    assert tr.checkpoint_bytes_per_layer(2048, 1, 6144) == pytest.approx(25_165_824)
    assert tr.checkpoint_bytes_per_layer(2048, 1, 6144, 8, True) == pytest.approx(3_145_728)


def test_bubble_and_flops_by_hand():
    # (p - 1) / (v m): 7 / 64 = 0.109375; interleaved v = 2: 0.0546875
    assert tr.pipeline_bubble_fraction(8, 64) == pytest.approx(0.109375)
    assert tr.pipeline_bubble_fraction(8, 64, 2) == pytest.approx(0.0546875)
    # 6 N D for a 70e9 model on 1.4e12 tokens = 5.88e23 FLOPs
    assert tr.training_flops(70e9, 1.4e12) == pytest.approx(5.88e23)
    # attention: 12 L d s per token: 12 x 80 x 8192 x 4096 = 3.2212e10 per token
    assert tr.attention_training_flops(80, 8192, 4096, 1) == pytest.approx(32_212_254_720)
    # selective recompute adds 4 L d s per token: 1.0737e10; full adds 2N + that
    assert tr.recompute_flops("selective", 70e9, 80, 8192, 4096, 1) == pytest.approx(10_737_418_240)
    assert tr.recompute_flops("full", 70e9, 80, 8192, 4096, 1) == pytest.approx(140e9 + 10_737_418_240)
    assert tr.stage_layers(80, 6) == 14 and tr.stage_layers(80, 8) == 10


def test_compute_optimal_by_hand():
    # C_0 = 6 x 70e9 x 1.4e12 = 5.88e23. C = 5.76e23 (Chinchilla Table 3's 67B row):
    # (5.76 / 5.88)^0.5 = 0.989743 -> N = 69.282e9, D = 1.38564e12 (Table 3: 67B, 1.5T)
    r = ComputeBudgetModel().solve(compute_flops=5.76e23)
    assert r.parameters.to("count").m == pytest.approx(69.282e9, rel=1e-4)
    assert r.tokens.to("token").m == pytest.approx(1.38564e12, rel=1e-4)
    assert r.tokens_per_parameter.m == pytest.approx(20.0)


# ------------------------------------------------------------------------------------ solvers
def tiny_model():
    # 2 layers of 12 h^2 at h = 1024 (25,165,824) + a 1,000 x 1,024 embedding (1,024,000) = 26,189,824
    return model_from_record("tiny", {"architecture": "decoder", "parameters": 26_189_824, "layers": 2,
                                      "hidden_dim": 1024, "heads": 8, "kv_heads": 8, "head_dim": 128,
                                      "ffn_dim": 4096, "vocab_size": 1000, "context_length": 2048}, "test")


def test_training_step_by_hand():
    # one H100, no parallelism, 2 micro-batches of 2 x 512 tokens, no recompute, no elementwise traffic,
    # GEMMs at 50% of 989.4 TFLOP/s = 494.7 TFLOP/s, HBM at 0.78 x 3.35 TB/s = 2.613 TB/s.
    # per layer forward: 2 b s N_layer = 2 x 2 x 512 x 12,582,912 = 25,769,803,776
    #                    + 4 b s^2 d = 4 x 2 x 512^2 x 1024 = 2,147,483,648  -> 27,917,287,424 FLOPs = 56.4328 us
    # forward + backward (2x) = 169.2985 us; two layers 338.5969 us
    # logits: 3 x 2 b s V h = 3 x 2,097,152,000 FLOPs = 12.7178 us; + 3 x 4 b s V = 3 x 4,096,000 B = 4.7027 us
    # per micro-batch 338.5969 + 12.7178 + 4.7027 = 356.0174 us, x 2 = 712.0348 us
    # optimizer: 28 B x 26,189,824 = 733,315,072 B = 280.6410 us.  Step = 992.6758 us
    cal = DEFAULT.with_(training_gemm_efficiency=0.5, training_elementwise_traffic=0, memory_efficiency=0.78)
    fleet = Fleet("one", Node("n", "H100", 1), 1)
    r = TrainingModel().solve(tiny_model(), fleet, 512, 4, micro_batch_size=2, recompute="none",
                              sequence_parallel=False, zero_stage=0, calibration=cal)
    assert r.compute.to("us").m == pytest.approx(712.0348, rel=1e-4)
    assert r.optimizer_step.to("us").m == pytest.approx(280.6410, rel=1e-4)
    assert r.step_time.to("us").m == pytest.approx(992.6758, rel=1e-4)
    # MFU: 6 N D + 12 L d s D with D = 2,048 tokens: 321,820,557,312 + 25,769,803,776 = 347,590,361,088 FLOPs
    # / (992.6758 us x 989.4e12 = 982,153,436,520 FLOP) = 0.353906
    assert r.mfu.to("").m == pytest.approx(0.353906, rel=1e-4)
    assert r.hfu.to("").m == pytest.approx(r.mfu.to("").m)            # no recomputation
    assert r.tokens_per_second.to("token/s").m == pytest.approx(2048 / 992.6758e-6, rel=1e-4)
    assert r.time_to_train(2048 * 86400).to("day").m == pytest.approx(992.6758e-6, rel=1e-4)


def test_data_parallel_gradients_by_hand():
    # 2 DGX H100 nodes, pure data parallel (d = 16), no overlap. Gradients reduced in fp32:
    # 4 B x 26,189,824 = 104,759,296 B per device. 8 DP ranks per node, 2 nodes.
    # RS in node: 36 us + 7/8 x 104,759,296 / (450e9 x 0.69) = 36 + 295.2197 us
    # AR across nodes of 1/8 (13,094,912 B) over 400e9 / 8 = 50 GB/s per device at 0.39:
    #    36 us + 2 x 1/2 x 13,094,912 / 19.5e9 = 36 + 671.5340 us
    # AG in node: 36 + 295.2197 us.  Total 1,369.9734 us
    fleet = Fleet.from_system("DGX_H100", 2)
    r = TrainingModel().solve(tiny_model(), fleet, 512, 16, overlap_data_parallel=False, zero_stage=1)
    assert r.data_parallel == 16
    assert r.data_parallel_comm.to("us").m == pytest.approx(1369.9734, rel=1e-4)
    # overlapped with the last backward pass it can only shrink
    r2 = TrainingModel().solve(tiny_model(), fleet, 512, 16, overlap_data_parallel=True, zero_stage=1)
    assert r2.data_parallel_comm < r.data_parallel_comm


def test_data_parallel_gradients_are_one_tensor_x_pipeline_shard():
    # 2 DGX H100 nodes, TP 2 x PP 2 x DP 4. A device holds half (TP) of one stage's layer (PP: 1 of 2
    # layers) and, on the first stage, half the 1,000 x 1,024 embedding:
    # (12,582,912 + 1,024,000) / 2 = 6,803,456 parameters -> 27,213,824 B of fp32 gradients (not the
    # model's 104,759,296 B). Megatron order: TP 2 x DP 4 = the 8 GPUs of a node, so the DP group is
    # inside one node: RS + AG over 4 ranks, each 36 us + 3/4 x 27,213,824 / (450e9 x 0.69) = 36 + 65.7339 us
    # -> 203.4678 us (no inter-node step)
    fleet = Fleet.from_system("DGX_H100", 2)
    r = TrainingModel().solve(tiny_model(), fleet, 512, 16, tensor_parallel=2, pipeline_parallel=2,
                              overlap_data_parallel=False, zero_stage=1)
    assert r.data_parallel == 4
    assert r.data_parallel_comm.to("us").m == pytest.approx(203.4678, rel=1e-5)
    assert r.memory.parameters_per_device.to("count").m == pytest.approx(6_803_456)


def test_tensor_parallel_comm_by_hand():
    # Llama-3-70B on one DGX H100, TP 8, micro-batch 1 of 4,096 tokens, selective recompute:
    # each all-reduce moves 4096 x 8192 x 2 B = 67,108,864 B: 36 us + 2 x 7/8 x 67,108,864 / (450e9 x 0.69)
    # = 36 + 378.2565 = 414.2565 us. Two exposed forward all-reduces per layer (the two backward ones
    # hide behind the weight-gradient GEMMs); 80 layers, one micro-batch: 160 x 414.2565 us = 66.2810 ms
    fleet = Fleet.from_system("DGX_H100", 1)
    r = TrainingModel().solve("Llama3_70B", fleet, 4096, 1, tensor_parallel=8)
    assert r.tensor_parallel_comm.to("ms").m == pytest.approx(66.2810, rel=1e-4)


def test_memory_by_hand():
    # Llama-2-7B (6,738,415,616 parameters) on one H100, no sharding: 16 B per parameter = 107.8 GB of
    # model states alone: it does not fit in 80 GB although the model serves from one GPU (13.5 GB in bf16).
    r = TrainingMemoryModel().solve("Llama2_7B", "H100", 4096)
    states = (r.weights + r.gradients + r.optimizer_states).to("byte").m
    assert states == pytest.approx(16 * 6_738_415_616)
    assert not r.feasible and "memory" in r.reasons[0]
    # ZeRO-3 over 8 ranks: 16 B x 6,738,415,616 / 8 = 13.477 GB of states
    r3 = TrainingMemoryModel().solve("Llama2_7B", "H100", 4096, data_parallel=8, zero_stage=3)
    assert (r3.weights + r3.gradients + r3.optimizer_states).to("byte").m == pytest.approx(2 * 6_738_415_616)


def test_moe_holds_all_parameters_and_computes_with_active():
    m = mlsysim.Models.Mixtral_8x7B
    # expert parallel 8 over 8 DP ranks: each device holds 1/8 of the experts, all of the dense part
    mem = TrainingMemoryModel().solve(m, "H100", 4096, data_parallel=8, expert_parallel=8)
    total = m.si["parameters"]
    per_expert = m.si["expert_parameters"]
    dense = total - 8 * per_expert
    assert mem.parameters_per_device.to("count").m == pytest.approx(dense + per_expert)
    # compute follows the active parameters: same layer time as a dense model of the active size,
    # up to the capacity factor on the expert part
    fleet = Fleet.from_system("DGX_H100", 1)
    moe = TrainingModel().solve(m, fleet, 4096, 8, capacity_factor=1.0, expert_parallel=8)
    dense_twin = model_from_record("twin", {"architecture": "decoder", "parameters": m.si["active_parameters"],
                                            "layers": 32, "hidden_dim": 4096, "heads": 32, "kv_heads": 8,
                                            "head_dim": 128, "ffn_dim": 14336 * 2, "vocab_size": 32000,
                                            "context_length": 32768}, "test")
    # (the twin's MLP width is top-2 x 14,336 so that its stored activations match too)
    twin = TrainingModel().solve(dense_twin, fleet, 4096, 8)
    assert moe.compute.to("s").m == pytest.approx(twin.compute.to("s").m, rel=1e-6)
    assert moe.expert_comm.to("s").m > 0 and twin.expert_comm.to("s").m == 0


def test_moe_pays_two_all_to_alls_forward_and_two_backward():
    # Mixtral (32 MoE layers, top-2) on 2 DGX H100 nodes, TP 2, DP 8, EP 8, micro-batch 1 of 4,096 tokens,
    # sequence parallel off, selective recompute: per layer and micro-batch 2 all-to-alls forward and 2
    # backward, each of b s k c h 2 B = 4096 x 2 x 1.25 x 4096 x 2 = 83,886,080 B per device.
    # The 8 EP ranks: 8 / 2 = 4 in each node -> 3/8 of the message over NVLink (450e9 x 0.69), 4/8 over
    # the device's NIC share (400e9 / 8 = 50 GB/s x 0.39), + 36 us. m = 16 / (1 x 8) = 2 micro-batches.
    fleet = Fleet.from_system("DGX_H100", 2)
    r = TrainingModel().solve("Mixtral_8x7B", fleet, 4096, 16, tensor_parallel=2, expert_parallel=8,
                              sequence_parallel=False, recompute="selective")
    msg = 4096 * 2 * 1.25 * 4096 * 2
    a2a = 36e-6 + msg * 3 / 8 / (450e9 * 0.69) + msg * 4 / 8 / (50e9 * 0.39)
    assert r.expert_comm.to("s").m == pytest.approx(2 * 32 * 4 * a2a, rel=1e-6)
    # inside one node (TP 1: 8 EP ranks per node): 7/8 over NVLink only
    one = TrainingModel().solve("Mixtral_8x7B", Fleet.from_system("DGX_H100", 1), 4096, 8, expert_parallel=8,
                                sequence_parallel=False, recompute="selective")
    a2a_in_node = 36e-6 + msg * 7 / 8 / (450e9 * 0.69)
    assert one.expert_comm.to("s").m == pytest.approx(32 * 4 * a2a_in_node, rel=1e-6)


def test_uneven_pipeline_stages_are_allowed_and_reported():
    # 80 layers over 6 stages: 14, 14, 13, 13, 13, 13 layers; the largest sets the pace: 14 x 6 / 80 = 1.05
    fleet = Fleet.from_system("DGX_H100", 6)
    r = TrainingModel().solve("Llama3_70B", fleet, 4096, 48, tensor_parallel=8, pipeline_parallel=6)
    assert r.stage_layers == 14
    assert r.stage_imbalance.m == pytest.approx(1.05)


def test_sweep_equals_scalar_calls():
    fleet = Fleet.from_system("DGX_H100", 8)
    tps = np.array([2, 4, 8])
    sweep = TrainingModel().solve("Llama3_70B", fleet, 4096, 256, tensor_parallel=tps, pipeline_parallel=4)
    for i, t in enumerate(tps):
        one = TrainingModel().solve("Llama3_70B", fleet, 4096, 256, tensor_parallel=int(t), pipeline_parallel=4)
        assert sweep.step_time.m[i] == pytest.approx(one.step_time.m)
        assert sweep.memory_per_device.m[i] == pytest.approx(one.memory_per_device.m)


def test_calibration_arrays_broadcast():
    # Monte Carlo passes factors as arrays of draws: every field becomes an array, equal to scalar calls
    from dataclasses import replace

    draws = np.array([0.55, 0.64, 0.7])
    cal = replace(DEFAULT, training_gemm_efficiency=draws, network_efficiency=np.array([0.3, 0.39, 0.6]))
    fleet = Fleet.from_system("DGX_H100", 4)
    r = TrainingModel().solve("Llama3_70B", fleet, 4096, 128, tensor_parallel=8, pipeline_parallel=2,
                              calibration=cal)
    assert r.step_time.m.shape == (3,)
    one = TrainingModel().solve("Llama3_70B", fleet, 4096, 128, tensor_parallel=8, pipeline_parallel=2,
                                calibration=DEFAULT.with_(training_gemm_efficiency=0.7, network_efficiency=0.6))
    assert r.step_time.m[2] == pytest.approx(one.step_time.m)


def test_budget_two_of_three_and_days():
    # N = 1e9, D = 20e9 -> C = 6 x 1e9 x 20e9 = 1.2e20
    assert ComputeBudgetModel().solve(parameters=1e9, tokens=20e9).compute_flops.m == pytest.approx(1.2e20)
    # C = 1.2e20, N = 1e9 -> D = 2e10
    assert ComputeBudgetModel().solve(compute_flops=1.2e20, parameters=1e9).tokens.to("token").m == pytest.approx(2e10)
    # 1e24 FLOPs on 128 DGX H100 (1,024 GPUs x 989.4 TFLOP/s) at 40% MFU:
    # 1e24 / (1024 x 989.4e12 x 0.4) = 2,467,553.6 s = 28.5597 days; x 24 x 1024 = 701,883 GPU-hours
    r = ComputeBudgetModel().solve(compute_flops=1e24, parameters=50e9, fleet=Fleet.from_system("DGX_H100", 128),
                                   mfu=0.4)
    assert r.days.to("day").m == pytest.approx(28.5597, rel=1e-4)
    assert r.gpu_hours.to("hour").m == pytest.approx(28.5597 * 24 * 1024, rel=1e-4)
    # parameters alone: compute-optimal tokens, 20 per parameter on Chinchilla's frontier
    assert ComputeBudgetModel().solve(parameters=70e9).tokens.to("token").m == pytest.approx(1.4e12)


def test_economics_uses_the_nodes_own_power_overhead():
    # DGX B200: 14.3 kW - 8 x 1,000 W = 6.3 kW, 787.5 W per GPU (not the DGX H100's 575 W)
    fleet = Fleet("b", Node("8 x B200", "B200", 8), 1)
    r = mlsysim.EconomicsModel().solve(fleet)
    value, source = r.assumptions["node_power_overhead_per_accelerator"]
    assert value == pytest.approx(787.5) and source.key == "nvidia2024dgxb200guide"
    # DGX H100: 10.2 kW - 8 x 700 W = 4.6 kW -> 575 W
    r = mlsysim.EconomicsModel().solve(Fleet.from_system("DGX_H100", 1))
    assert r.assumptions["node_power_overhead_per_accelerator"][0] == pytest.approx(575)
    # a node that states its own overhead uses it: 2 kW over 4 GPUs = 500 W each
    own = Fleet("o", Node("custom", "H100", 4, power_overhead=2000), 1)
    assert mlsysim.EconomicsModel().solve(own).assumptions["node_power_overhead_per_accelerator"][0] == 500


def test_systems_catalogue_by_hand():
    s = mlsysim.Systems
    # DGX H100: eight 400 Gb/s NICs = 8 x 50 GB/s = 400 GB/s per direction
    assert s.DGX_H100.scale_out_bandwidth.to("GB/s").m == pytest.approx(400)
    assert s.DGX_A100.scale_out_bandwidth.to("GB/s").m == pytest.approx(200)    # 8 x 200 Gb/s
    assert s.DGX_A100.power_overhead.to("W").m == pytest.approx(6500 - 8 * 400)
    assert s.TPUv5p_Host.scale_out_bandwidth.to("GB/s").m == pytest.approx(25)   # 4 x 50 Gb/s
    node = Node.from_system("DGX_B200")
    assert node.accelerators_per_node == 8 and node.nics == 8
    assert node.source_of("nic_bandwidth").key == "nvidia2024dgxb200guide"
    # Node(...) as before keeps working
    assert Node("x", "H100", 8).nics is None


# ------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kwargs,parameter", [
    ({"tensor_parallel": 3}, "tensor_parallel"),             # 64 heads not divisible by 3 (and not a divisor of 8)
    ({"tensor_parallel": 2.5}, "tensor_parallel"),
    ({"tensor_parallel": 16}, "tensor_parallel"),            # beyond the 8-GPU node
    ({"pipeline_parallel": 3}, "tensor_parallel"),           # 8 x 3 does not divide 64 GPUs
    ({"data_parallel": 3}, "data_parallel"),
    ({"global_batch_size": 100}, "global_batch_size"),       # not a multiple of 1 x 8
    ({"recompute": "some"}, "recompute"),
    ({"zero_stage": 4}, "zero_stage"),
    ({"precision": "fp8"}, "precision"),
    ({"expert_parallel": 2}, "expert_parallel"),             # dense model
    ({"sequence_parallel": "yes"}, "sequence_parallel"),
    ({"micro_batch_size": 0}, "micro_batch_size"),
])
def test_training_bad_input(kwargs, parameter):
    fleet = Fleet.from_system("DGX_H100", 8)
    args = {"global_batch_size": 64, "tensor_parallel": 8, "pipeline_parallel": 1}
    args.update(kwargs)
    with pytest.raises(InputError) as err:
        TrainingModel().solve("Llama3_70B", fleet, 4096, **args)
    assert err.value.parameter == parameter


def test_training_bad_fleet_and_budget():
    with pytest.raises(InputError) as err:
        TrainingModel().solve("Llama3_70B", "H100", 4096, 8)
    assert err.value.parameter == "fleet"
    no_nics = Fleet("f", Node("x", "H100", 8), 2)
    with pytest.raises(InputError) as err:
        TrainingModel().solve("Llama3_70B", no_nics, 4096, 16, tensor_parallel=8)
    assert err.value.parameter == "fleet"
    with pytest.raises(InputError) as err:
        TrainingMemoryModel().solve("ResNet50", "H100", 224)
    assert err.value.parameter == "model"
    with pytest.raises(InputError) as err:
        ComputeBudgetModel().solve()
    assert err.value.parameter == "compute_flops"
    with pytest.raises(InputError) as err:
        ComputeBudgetModel().solve(compute_flops=1e24, parameters=1e9, tokens=1e12)
    assert err.value.parameter == "tokens"
    with pytest.raises(InputError) as err:
        ComputeBudgetModel().solve(compute_flops=1e24, fleet=Fleet.from_system("DGX_H100", 1))
    assert err.value.parameter == "mfu"
    with pytest.raises(InputError) as err:
        Node("x", "H100", 8, nics=8)
    assert err.value.parameter == "nics"
    with pytest.raises(InputError) as err:
        Node.from_system(42)
    assert err.value.parameter == "system"


# ------------------------------------------------------------------------------------ configuration search
def test_valid_configurations_by_hand():
    from mlsysim.solvers.training.search import valid_configurations

    # 8 GPUs in one node; the tiny model has 2 layers and 8 heads; global batch 8.
    # t x p must divide 8 (p <= 2 layers, so p = 3 never); d = 8 / (t p); b d must divide 8;
    # v = 2 needs 2 layers to split into p x v = 4 chunks: never.
    fleet = Fleet("one", Node("n", "H100", 8), 1)
    c = valid_configurations(tiny_model(), fleet, 8, tensor=(1, 2, 4, 8), pipeline=(1, 2, 3), micro=(1, 2),
                             virtual=(1, 2))
    rows = list(zip(*(c[k].astype(int).tolist() for k in ("tensor_parallel", "pipeline_parallel", "data_parallel",
                                                            "micro_batch_size", "virtual_stages", "expert_parallel"))))
    assert rows == [(1, 1, 8, 1, 1, 1), (1, 2, 4, 1, 1, 1), (1, 2, 4, 2, 1, 1), (2, 1, 4, 1, 1, 1), (2, 1, 4, 2, 1, 1),
                    (2, 2, 2, 1, 1, 1), (2, 2, 2, 2, 1, 1), (4, 1, 2, 1, 1, 1), (4, 1, 2, 2, 1, 1), (4, 2, 1, 1, 1, 1),
                    (4, 2, 1, 2, 1, 1), (8, 1, 1, 1, 1, 1), (8, 1, 1, 2, 1, 1)]
    # a node of 4 GPUs: t = 8 no longer divides the node
    four = Fleet("four", Node("n", "H100", 4), 1)
    assert set(valid_configurations(tiny_model(), four, 8, tensor=(1, 2, 4, 8), pipeline=(1,), micro=(1,),
                                    virtual=(1,))["tensor_parallel"]) == {1.0, 2.0, 4.0}


def test_valid_configurations_follow_megatrons_rules():
    from mlsysim.solvers.training.search import valid_configurations

    fleet = Fleet.from_system("DGX_H100", 2)
    m = mlsysim.Models.Mixtral_8x7B
    c = valid_configurations(m, fleet, 64, expert=(1, 2, 4, 16))
    t, p, d, b, v, e = (c[k] for k in ("tensor_parallel", "pipeline_parallel", "data_parallel", "micro_batch_size",
                                       "virtual_stages", "expert_parallel"))
    assert len(t) > 20 and set(e) == {1.0, 2.0, 4.0} and set(v) >= {1.0, 2.0, 4.0}   # 16 experts would not divide 8
    assert np.all(t * p * d == 16) and np.all(8 % t == 0) and np.all(m.heads % t == 0) and np.all(p <= m.layers)
    assert np.all(64 % (b * d) == 0) and np.all(d % e == 0) and np.all(m.experts % e == 0)
    inter = v > 1
    assert np.all(p[inter] > 1) and np.all((64 // (b * d))[inter] % p[inter] == 0)
    assert np.all(m.layers % (p[inter] * v[inter]) == 0)
    # a dense model never gets expert parallelism
    assert set(valid_configurations("Llama3_8B", fleet, 64, expert=(1, 2))["expert_parallel"]) == {1.0}


def test_best_configuration_is_the_fastest_that_fits():
    from mlsysim.solvers.training.search import best_configuration, valid_configurations

    fleet = Fleet("one", Node("n", "H100", 8), 1)
    grid = dict(tensor=(1, 2, 4, 8), pipeline=(1, 2), micro=(1, 2), virtual=(1,))
    best, sweep, i = best_configuration(tiny_model(), fleet, 512, 8, **grid, zero_stage=0)
    configs = valid_configurations(tiny_model(), fleet, 8, **grid)
    times = []
    for k in range(len(configs["tensor_parallel"])):
        one = TrainingModel().solve(tiny_model(), fleet, 512, 8, zero_stage=0,
                                    **{name: int(v[k]) for name, v in configs.items()})
        times.append(one.step_time.to("s").m if one.feasible else np.inf)
        assert sweep.step_time.to("s").m[k] == pytest.approx(one.step_time.to("s").m, rel=1e-12)
    assert i == int(np.argmin(times))
    assert best == {name: int(v[i]) for name, v in configs.items()}
    # MFU is maximised, not minimised
    best_mfu, sweep, j = best_configuration(tiny_model(), fleet, 512, 8, objective="mfu", **grid)
    assert sweep.mfu.to("").m[j] == pytest.approx(np.max(np.where(sweep.feasible, sweep.mfu.to("").m, -1)))
    with pytest.raises(ValueError, match="no valid configuration$"):
        best_configuration(tiny_model(), fleet, 512, 8, tensor=(3,))
    with pytest.raises(ValueError, match="no valid configuration fits in memory: memory: needs"):
        best_configuration("GPT4", fleet, 4096, 8, pipeline=(1,))
