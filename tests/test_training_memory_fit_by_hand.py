"""TrainingMemoryModel: the total a device holds, against its capacity, and the reason when it does not fit."""
from __future__ import annotations

import numpy as np
import pytest

from mlsysim import TrainingMemoryModel
from mlsysim.specs.models import model_from_record


def gqa_model():
    # 4 layers, h = 1,024, 8 query heads of 64, 2 key/value heads, MLP 3,072, vocabulary 1,000, 20,000,000 parameters
    return model_from_record("gqa", {"architecture": "decoder", "parameters": 20_000_000, "layers": 4,
                                     "hidden_dim": 1024, "heads": 8, "kv_heads": 2, "head_dim": 64, "ffn_dim": 3072,
                                     "vocab_size": 1000, "context_length": 2048}, "test")


def test_total_capacity_and_utilization():
    # TP 2, micro-batch 2 of 512 tokens, no recomputation, no FlashAttention, no ZeRO, bf16 Adam:
    # 10,000,000 parameters a device: weights 20,000,000 B + gradients 20,000,000 B + optimizer 120,000,000 B
    # + activations 118,964,224 B (tests/test_training_activations_by_hand.py) = 278,964,224 B
    # of the H100's 85,520,809,984 B (80 GiB): 0.32620 %
    r = TrainingMemoryModel().solve(gqa_model(), "H100", 512, micro_batch_size=2, tensor_parallel=2,
                                    flash_attention=False)
    assert r.total.to("byte").m == pytest.approx(278_964_224, rel=1e-12)
    assert r.capacity.to("byte").m == pytest.approx(85_520_809_984, rel=1e-12)
    assert r.utilization.to("").m == pytest.approx(278_964_224 / 85_520_809_984, rel=1e-12)
    assert r.stage_layers == 4 and r.feasible


def test_the_reason_gives_the_worst_point_and_the_capacity():
    # every activation term grows with the micro-batch: at 2,048 sequences (1,024 x the above) the activations
    # are 1,024 x 118,964,224 = 121,819,365,376 B; + 160,000,000 B of states = 121,979,365,376 B = 122.0 GB,
    # more than the H100's 85.5 GB ("86 GB"); the micro-batch of 2 fits
    r = TrainingMemoryModel().solve(gqa_model(), "H100", 512, micro_batch_size=np.array([2, 2048]),
                                    tensor_parallel=2, flash_attention=False)
    assert r.total.to("byte").m[1] == pytest.approx(121_979_365_376, rel=1e-12)
    assert r.feasible.tolist() == [True, False]
    assert r.reasons == ("memory: needs 122.0 GB per device (weights, gradients, optimizer states and activations), "
                         "H100 has 86 GB at 1 of 2 points (index 1)",)
