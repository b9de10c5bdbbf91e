"""Activation memory of a training step by hand (Korthikanti et al. Table 2 generalised to grouped
queries and any MLP width, the embedding and logits edges, full recomputation's checkpoints, the
interleaved schedule's extra micro-batches in flight), and the states full fp32 training keeps."""
from __future__ import annotations

import pytest

from mlsysim import Fleet, Node, TrainingMemoryModel, TrainingModel
from mlsysim.physics import training as tr
from mlsysim.specs.models import model_from_record


def gqa_model(ffn_dim=3072):
    # 4 layers, h = 1,024, 8 query heads of 64 (attention width 512), 2 key/value heads (128), MLP 3,072,
    # vocabulary 1,000 (the parameter count does not enter the activations)
    record = {"architecture": "decoder", "parameters": 20_000_000, "layers": 4, "hidden_dim": 1024, "heads": 8,
              "kv_heads": 2, "head_dim": 64, "vocab_size": 1000, "context_length": 2048}
    if ffn_dim:
        record["ffn_dim"] = ffn_dim
    return model_from_record("gqa", record, "test")


def exact(value):
    return pytest.approx(value, rel=1e-12, abs=0)


def test_every_activation_kept_without_pipelining():
    # s = 512, b = 2, t = 2, no sequence parallelism, no recomputation, no FlashAttention; sbh = 1,048,576.
    # Per layer: sbh (10 + (4 (512 + 128) / 1,024 + 4 x 3,072 / 1,024) / 2 + 5 a s / h / 2)
    #          = sbh (10 + 14.5 / 2 + 5 x 8 x 512 / 1,024 / 2) = sbh x 27.25 = 28,573,696 B; 4 layers 114,294,784
    # Without pipelining the device also holds the embedding output s b h p / t = 524,288 B and the output
    # layer and fp32 logits 4 s b h / t (1 + V / h) = 2,097,152 x 1.9765625 = 4,145,152 B.
    # Total 118,964,224 B
    r = TrainingMemoryModel().solve(gqa_model(), "H100", 512, micro_batch_size=2, tensor_parallel=2,
                                    flash_attention=False)
    assert r.activations.to("byte").m == exact(118_964_224)
    # FlashAttention never stores the 5 a s^2 b / t scores: 4 x sbh x 10 = 41,943,040 B less
    flash = TrainingMemoryModel().solve(gqa_model(), "H100", 512, micro_batch_size=2, tensor_parallel=2)
    assert flash.activations.to("byte").m == exact(118_964_224 - 41_943_040)
    # and so does selective recomputation, which recomputes them
    selective = TrainingMemoryModel().solve(gqa_model(), "H100", 512, micro_batch_size=2, tensor_parallel=2,
                                            flash_attention=False, recompute="selective")
    assert selective.activations.to("byte").m == exact(118_964_224 - 41_943_040)
    # the 20,000,000 parameters split over t = 2: 10,000,000 x 2 B of weights
    assert r.weights.to("byte").m == exact(20_000_000)
    # no MLP width given: 4 h = 4,096, so the split term is (2.5 + 16) / 2 = 9.25 instead of 7.25:
    # + 4 layers x 2 x sbh = 8,388,608 B
    wide = TrainingMemoryModel().solve(gqa_model(ffn_dim=None), "H100", 512, micro_batch_size=2, tensor_parallel=2,
                                       flash_attention=False)
    assert wide.activations.to("byte").m == exact(118_964_224 + 8_388_608)


def test_full_recomputation_with_an_interleaved_pipeline():
    # 4 H100: TP 2 x PP 2 (2 layers a stage), 2 interleaved chunks, 4 micro-batches of 2 x 512 tokens, full
    # recomputation, sequence parallel, FlashAttention. In flight on the first stage: p (1 + (p - 1) / (p v))
    # = 2 x 1.25 = 2.5 micro-batches. Each layer keeps its input split over the tensor ranks:
    # 2 sbh / t = 1,048,576 B -> 1,048,576 x 2 layers x 2.5 = 5,242,880 B; plus the one layer being recomputed,
    # sbh (10 / 2 + 14.5 / 2) = sbh x 12.25 = 12,845,056 B; plus the stage's input s b h p / t = 1,048,576 B.
    # Total 19,136,512 B
    fleet = Fleet("four", Node("n", "H100", 4), 1)
    r = TrainingModel().solve(gqa_model(), fleet, 512, 8, micro_batch_size=2, tensor_parallel=2, pipeline_parallel=2,
                              virtual_stages=2, recompute="full")
    assert r.microbatches == 4
    assert r.memory.activations.to("byte").m == exact(19_136_512)


def test_fp32_training_keeps_two_optimizer_states():
    # fp32 Adam: no master copy, momentum and variance only: 8 B per parameter (4 + 4 + 8 = 16 B with weights
    # and gradients). Llama-2-7B, 6,738,415,616 parameters: 53,907,324,928 B of optimizer states
    r = TrainingMemoryModel().solve("Llama2_7B", "H100", 4096, precision="fp32")
    assert r.optimizer_states.to("byte").m == exact(8 * 6_738_415_616)
    assert r.weights.to("byte").m == exact(4 * 6_738_415_616)


def test_activation_bytes_default_to_no_sequence_parallelism():
    # 22B of Korthikanti Table 3 with t = 8 and nothing else said: sbh (10 + 24 / 8) + 5 a s^2 b / 8 = 331,350,016 B
    assert tr.activation_bytes_per_layer(2048, 1, 6144, 64, 8) == exact(331_350_016)


def test_experts_shard_over_the_ranks_that_hold_them():
    # 2 layers of attention 4 h^2 = 4,194,304 and 8 experts of 2 h f = 8,388,608 (no MLP width given: f = 4 h),
    # top-2, 1,000 x 1,024 embedding: dense 9,412,608, experts 134,217,728 parameters. DP 8, EP 4, ZeRO-1:
    # a device holds the dense part and 1/4 of the experts (33,554,432); the Adam states of the dense part
    # shard over the 8 ranks, those of its experts over the 8 / 4 = 2 ranks that hold the same experts:
    # 12 x 9,412,608 / 8 + 12 x 33,554,432 / 2 = 14,118,912 + 201,326,592 = 215,445,504 B
    dense, expert = 4 * 1024 ** 2, 2 * 1024 * 4096
    moe = model_from_record("moe", {
        "architecture": "decoder", "parameters": 2 * (dense + 8 * expert) + 1000 * 1024,
        "active_parameters": 2 * (dense + 2 * expert) + 1000 * 1024, "experts": 8, "active_experts_per_token": 2,
        "layers": 2, "hidden_dim": 1024, "heads": 8, "kv_heads": 8, "head_dim": 128, "vocab_size": 1000,
        "context_length": 2048}, "test")
    r = TrainingMemoryModel().solve(moe, "H100", 512, data_parallel=8, expert_parallel=4, zero_stage=1)
    assert r.optimizer_states.to("byte").m == exact(215_445_504)
    assert r.weights.to("byte").m == exact(2 * (9_412_608 + 33_554_432))
    # activations: the MLP holds top-2 x 1.25 (capacity) x 4,096 = 10,240 wide: sbh (10 + 8 + 4 x 10,240 / 1,024)
    # = 524,288 x 58 = 30,408,704 B a layer, x 2 + the edges 524,288 + 4,145,152 = 65,486,848 B
    assert r.activations.to("byte").m == exact(65_486_848)


def test_the_memory_model_assumes_a_plain_one_f_one_b_pipeline():
    # PP 2 (2 layers a stage), 512 tokens, no recomputation, FlashAttention, t = 1: a layer keeps sbh (10 + 14.5)
    # = 524,288 x 24.5 = 12,845,056 B; 1F1B holds p = 2 micro-batches in flight on the first stage (no
    # interleaving: TrainingMemoryModel takes no virtual_stages): 2 x 2 x 12,845,056 = 51,380,224 B; + the
    # stage's input s b h p = 1,048,576 B -> 52,428,800 B
    r = TrainingMemoryModel().solve(gqa_model(), "H100", 512, pipeline_parallel=2)
    assert r.activations.to("byte").m == exact(52_428_800)
