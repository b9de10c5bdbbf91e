"""TrainingModel: the parts of one step that only some configurations show, derived by hand from the
equations of mlsysim/solvers/training/model.py's docstrings: the backward tensor-parallel all-reduces
that outlast the weight-gradient GEMMs, the expert all-to-alls (forward, backward and recomputed) with
sequence parallelism, expert groups that cross nodes, the attention scores selective recomputation
reruns, the backward pass that hides the gradient all-reduce, and which pipeline stage paces the step.

H100 figures: bf16 989.4 TFLOP/s x 0.64 (training GEMMs) = 633.216 TFLOP/s; HBM 3.35 TB/s x 0.83 =
2.7805 TB/s; NVLink 450 GB/s x 0.69 = 310.5 GB/s; DGX H100 NICs 8 x 50 GB/s = 400 GB/s per node, a
device's share 50 GB/s x 0.39 = 19.5 GB/s; 36 us per collective call; 1.45 B of elementwise traffic
per activation byte.
"""
from __future__ import annotations

import pytest

from mlsysim import Fleet, Node, TrainingModel
from mlsysim.specs.models import model_from_record
from training_support import CALL, HBM, NIC, NVLINK, tiny_model

GEMM = 989.4e12 * 0.64


def tiny_moe(layers=2, vocab=1000):
    # per layer: attention 4 h^2 = 4,194,304 and 8 experts of 2 h f = 8,388,608 each, top-2; a vocab x 1,024 embedding
    dense, expert = 4 * 1024 ** 2, 2 * 1024 * 4096
    return model_from_record("tinymoe", {
        "architecture": "decoder", "parameters": layers * (dense + 8 * expert) + vocab * 1024,
        "active_parameters": layers * (dense + 2 * expert) + vocab * 1024, "experts": 8,
        "active_experts_per_token": 2, "layers": layers, "hidden_dim": 1024, "heads": 8, "kv_heads": 8,
        "head_dim": 128, "ffn_dim": 4096, "vocab_size": vocab, "context_length": 2048}, "test")


def us(quantity):
    return quantity.to("us").m


def test_backward_all_reduces_show_beyond_the_weight_gradient_gemms():
    # tiny model, TP 8 in one DGX H100, one micro-batch of 512 tokens. Each all-reduce: 512 x 1,024 x 2 B =
    # 1,048,576 B -> 36 us + 2 x 7/8 x 1,048,576 / 310.5e9 = 36 + 5.909849 = 41.909849 us.
    # The weight-gradient GEMMs of a layer: 2 x 512 x 12,582,912 / 8 = 1,610,612,736 FLOPs = 2.543544 us,
    # far less than the two backward all-reduces: 2 x 41.909849 - 2.543544 = 81.276153 us shows.
    # Per layer: 2 forward (83.819697) + 81.276153 = 165.095850 us; 2 layers: 330.191701 us
    fleet = Fleet.from_system("DGX_H100", 1)
    for mode in ("none", "selective"):
        r = TrainingModel().solve(tiny_model(), fleet, 512, 1, tensor_parallel=8, recompute=mode)
        assert us(r.tensor_parallel_comm) == pytest.approx(330.191701, rel=1e-7), mode
    # full recomputation reruns the forward with its two all-reduces: + 2 x 2 x 41.909849 = 497.831096 us
    r = TrainingModel().solve(tiny_model(), fleet, 512, 1, tensor_parallel=8, recompute="full")
    assert us(r.tensor_parallel_comm) == pytest.approx(497.831096, rel=1e-7)


def test_expert_all_to_alls_recomputed_and_split_by_sequence_parallel():
    # tiny MoE on 2 DGX H100 nodes, TP 2, DP 8, EP 8, one micro-batch of 512 tokens, full recomputation:
    # 2 all-to-alls forward, 2 backward, 2 more in the recomputed forward = 6 per layer.
    # Sequence parallel: each tensor rank routes 512 / 2 = 256 tokens: 256 x top-2 x 1.25 x 1,024 x 2 B =
    # 1,310,720 B. Of the 8 EP ranks, 8 / 2 = 4 share a node: 3/8 over NVLink, 4/8 over the NIC share:
    # 36 + 491,520 / 310.5e9 (1.582995) + 655,360 / 19.5e9 (33.608205) = 71.191200 us
    # x 6 x 2 layers = 854.294400 us
    fleet = Fleet.from_system("DGX_H100", 2)
    r = TrainingModel().solve(tiny_moe(), fleet, 512, 8, tensor_parallel=2, expert_parallel=8, recompute="full")
    a2a = CALL + 1_310_720 * 3 / 8 / NVLINK + 1_310_720 * 4 / 8 / NIC
    assert a2a * 1e6 == pytest.approx(71.191200, rel=1e-6)
    assert us(r.expert_comm) == pytest.approx(854.294400, rel=1e-7)
    # without sequence parallelism every tensor rank routes all 512 tokens: the message doubles,
    # 36 + 3.165990 + 67.216410 = 106.382400 us, x 12 = 1,276.588801 us
    r = TrainingModel().solve(tiny_moe(), fleet, 512, 8, tensor_parallel=2, expert_parallel=8, recompute="full",
                              sequence_parallel=False)
    assert us(r.expert_comm) == pytest.approx(1276.588801, rel=1e-7)


def test_expert_groups_of_whole_node_tensor_groups_cross_nodes():
    # TP 8 fills a DGX H100 node, so the 2 EP ranks (DP 2 over 2 nodes) sit in different nodes: none of the
    # all-to-all stays in the node. 512 / 8 = 64 tokens x 2 x 1.25 x 1,024 x 2 B = 327,680 B; 1/2 of it
    # leaves over the NIC share: 36 + 163,840 / 19.5e9 = 36 + 8.402051 = 44.402051 us. Selective
    # recomputation: 4 per layer, 2 layers -> 355.216410 us
    fleet = Fleet.from_system("DGX_H100", 2)
    r = TrainingModel().solve(tiny_moe(), fleet, 512, 2, tensor_parallel=8, expert_parallel=2,
                              recompute="selective")
    assert us(r.expert_comm) == pytest.approx(355.216410, rel=1e-7)


def test_selective_recompute_reruns_the_scores_and_without_flash_their_traffic():
    # tiny model on one H100, one micro-batch of 2 x 512 tokens. Selective recomputation adds, per layer,
    # QK^T and AV again: 4 b s^2 d = 4 x 2 x 512^2 x 1,024 = 2,147,483,648 FLOPs = 3.391392 us;
    # 2 layers: 6.782784 us over no recomputation
    one = Fleet("one", Node("n", "H100", 1), 1)

    def compute(recompute, flash):
        r = TrainingModel().solve(tiny_model(), one, 512, 2, micro_batch_size=2, recompute=recompute,
                                  flash_attention=flash)
        return us(r.compute)

    scores = 2 * 2_147_483_648 / GEMM * 1e6
    assert scores == pytest.approx(6.782784, rel=1e-6)
    assert compute("selective", True) - compute("none", True) == pytest.approx(scores, rel=1e-9)
    # without FlashAttention the softmax's 5 a s^2 b bytes are written and read again as well:
    # 1.45 x 5 x 8 x 512^2 x 2 = 30,408,704 B / 2.7805e12 = 10.936416 us per layer:
    # 2 x (3.391392 + 10.936416) = 28.655616 us
    assert compute("selective", False) - compute("none", False) == pytest.approx(28.655616, rel=1e-7)


def test_gradient_all_reduce_hides_behind_the_last_backward_pass_with_its_recompute():
    # tiny model, pure data parallel on 2 DGX H100 nodes (DP 16), one micro-batch of 512 tokens, full
    # recomputation. Compute = 2 layers x (forward + backward 2x + recomputed forward 1x = 4 forwards)
    # + the logits: 3 x 2 x 512 x 1,000 x 1,024 FLOPs (4.967843 us) + 3 x 4 x 512 x 1,000 B (2.209675 us)
    # = 7.177518 us. The last backward pass (3 of the 4 forwards' worth, recomputation included) hides
    # that much of the gradient all-reduce: exposed(no overlap) - exposed(overlap) = 3/4 (compute - logits)
    fleet = Fleet.from_system("DGX_H100", 2)

    def solve(overlap):
        return TrainingModel().solve(tiny_model(), fleet, 512, 16, recompute="full", overlap_data_parallel=overlap)

    hidden, shown = solve(True), solve(False)
    logits = 7.177518
    window = 0.75 * (us(hidden.compute) - logits)
    assert window > 100                                  # about 188 us, all of it less than the all-reduce
    assert us(shown.data_parallel_comm) - us(hidden.data_parallel_comm) == pytest.approx(window, rel=1e-6)


def test_the_slower_pipeline_stage_paces_the_step():
    # tiny MoE with 3 layers on one DGX H100: TP 2, PP 2 (stages of 2 and 1 layers), DP 2, EP 2, one
    # micro-batch of 512 tokens, full recomputation, sequence parallel. Per layer:
    #   GEMMs forward: 2 x 512 x (4,194,304 + 1.25 x 16,777,216) / 2 = 12,884,901,888 FLOPs = 20.348352 us
    #                  + scores 4 x 512^2 x 1,024 / 2 = 536,870,912 FLOPs = 0.847848 us
    #   elementwise:   1.45 x 512 x 1,024 x (10/2 + (8 + 4 x 10,240 / 1,024) / 2) = 1.45 x 15,204,352 B = 7.928901 us
    #   forward compute 29.125101 us; compute with backward (2x) and recomputation (1x): 116.500405 us
    #   all-reduce of 1,048,576 B over 2: 36 + 1,048,576 / 310.5e9 = 39.377056 us; 2 forward, 2 recomputed,
    #     2 backward less the weight-gradient GEMMs (20.348352): 6 x 39.377056 - 20.348352 = 215.913986 us
    #   all-to-all of 256 x 2 x 1.25 x 1,024 x 2 = 1,310,720 B over 2 ranks in the node:
    #     36 + 1/2 x 1,310,720 / 310.5e9 = 38.110660 us, 6 of them = 228.663961 us
    #   one layer: 116.500405 + 215.913986 + 228.663961 = 561.078352 us
    # The logits (on the last stage) cost 3 x 2 x 512 x V x 1,024 / 2 FLOPs + 3 x 4 x 512 x V / 2 B
    # = V x 3.588767e-3 us. The first stage (2 layers) paces while the logits take less than one layer.
    fleet = Fleet.from_system("DGX_H100", 1)

    def solve(vocab):
        return TrainingModel().solve(tiny_moe(3, vocab), fleet, 512, 2, tensor_parallel=2, pipeline_parallel=2,
                                     expert_parallel=2, recompute="full")

    # V = 140,000: logits 502.427368 us < 561.078352: the first stage paces, 2 layers of everything
    first = solve(140_000)
    assert us(first.compute) == pytest.approx(2 * 116.500405, rel=1e-7)
    assert us(first.tensor_parallel_comm) == pytest.approx(2 * 215.913986, rel=1e-7)
    assert us(first.expert_comm) == pytest.approx(2 * 228.663961, rel=1e-7)
    # the bubble: (p - 1) / (v m) = 1 / 1 of the ideal time, one micro-batch through the pacing stage
    # (its compute, all-reduces, all-to-alls and sends)
    ideal = sum(us(getattr(first, part)) for part in ("compute", "tensor_parallel_comm", "expert_comm",
                                                      "pipeline_comm"))
    assert us(first.pipeline_bubble) == pytest.approx(ideal, rel=1e-9)
    # V = 170,000: logits 610.090375 us > one layer: the last stage paces, 1 layer + the logits
    last = solve(170_000)
    assert us(last.compute) == pytest.approx(116.500405 + 610.090375, rel=1e-7)
    assert us(last.tensor_parallel_comm) == pytest.approx(215.913986, rel=1e-7)
    assert us(last.expert_comm) == pytest.approx(228.663961, rel=1e-7)


def test_a_dense_model_computes_with_all_its_non_embedding_parameters():
    # tiny model on one H100, one micro-batch of 2 x 512 tokens, no recomputation, FlashAttention.
    # Per layer forward: GEMMs 2 b s x 12,582,912 (the 25,165,824 non-embedding parameters / 2 layers, not one
    # fewer) + scores 4 b s^2 d = 4 x 2 x 512^2 x 1,024; elementwise 1.45 x sbh x 34 B (sbh = 1,048,576);
    # forward + backward = 3 forwards, 2 layers; + the logits 3 x 2 b s V h FLOPs + 3 x 4 b s V B.
    one = Fleet("one", Node("n", "H100", 1), 1)
    r = TrainingModel().solve(tiny_model(), one, 512, 2, micro_batch_size=2, recompute="none")
    forward = (2 * 1024 * 12_582_912 + 4 * 2 * 512 ** 2 * 1024) / GEMM + 1.45 * 1_048_576 * 34 / HBM
    logits = 3 * 2 * 1024 * 1000 * 1024 / GEMM + 3 * 4 * 1024 * 1000 / HBM
    assert r.compute.to("s").m == pytest.approx(2 * 3 * forward + logits, rel=1e-12, abs=0)
    assert (2 * 3 * forward + logits) * 1e6 == pytest.approx(390.3, rel=1e-3)
