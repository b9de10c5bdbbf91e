"""CapacityModel's memory fields as a reader reads them (weights, budget, what the cache holds at
capacity), when nothing fits, and the weights message at its rounding edges.

Llama-3-8B fp16 on one H100: weights W = 16,060,522,496 B, KV 131,072 B per token, memory
M = 85,520,809,984 B, usable 0.9 M = 76,968,728,985.6 B: 60,908,206,489.6 B left for the cache.
"""
import numpy as np
import pytest

import mlsysim
from mlsysim.calibration import DEFAULT
from mlsysim.specs.models import model_from_record

C = mlsysim.CapacityModel()
W, M = 16_060_522_496, 85_520_809_984


def test_memory_fields_by_hand():
    r = C.solve("Llama3_8B", "H100", 8192)
    # 8,192 tokens = 512 blocks of 16: 8,192 x 131,072 = 1,073,741,824 B a sequence; floor(56.7) = 56 sequences
    assert r.max_sequences == 56
    assert r.weights_size.to("byte").m == pytest.approx(W, rel=1e-15)
    assert r.memory_capacity.to("byte").m == pytest.approx(M, rel=1e-15)
    assert r.kv_budget.to("byte").m == pytest.approx(60_908_206_489.6, rel=1e-15)
    assert type(r.kv_budget.m) is float
    # at capacity 56 sequences reserve (and, filled to 8,192 tokens, use) 56 x 1,073,741,824 B
    assert r.kv_reserved.to("byte").m == pytest.approx(60_129_542_144, rel=1e-15)
    assert r.kv_used.to("byte").m == pytest.approx(60_129_542_144, rel=1e-15)


def test_nothing_fits_holds_no_cache():
    # Llama-3-70B: 141 GB of weights on one H100's 77 GB usable: no budget, no sequence, nothing reserved
    r = C.solve("Llama3_70B", "H100", 8192)
    assert r.max_sequences == 0
    assert r.kv_budget.to("byte").m == 0.0 and type(r.kv_budget.m) is float
    assert r.kv_reserved.to("byte").m == 0.0 and r.kv_used.to("byte").m == 0.0
    # over a sweep of 1 and 2 devices: 2 x 76.97 GB - 141.1 GB = 12.83 GB for the cache at 2
    s = C.solve("Llama3_70B", "H100", 8192, tensor_parallel=np.array([1, 2]))
    assert s.kv_budget.to("byte").m[0] == 0.0
    assert s.kv_budget.to("byte").m[1] == pytest.approx(2 * 0.9 * M - 141_107_412_992, rel=1e-12)


def test_weights_exactly_at_usable_over_a_sweep_names_that_point():
    # usable fraction f = W / M: one H100 has exactly W usable (no room: does not fit), two have 2 W
    f = W / M
    r = C.solve("Llama3_8B", "H100", 1000, tensor_parallel=np.array([1, 2]),
                calibration=DEFAULT.with_(usable_memory_fraction=f))
    assert r.reasons == ("memory: weights of 16 GB do not fit the 16 GB usable on 1-2 x H100 at 1 of 2 points "
                         "(index 0)",)


def test_weights_message_rounds_half_gigabytes_correctly():
    # 8.75e9 parameters x 2 B = 17.5 GB exactly: shown as 18 (round half to even); the Jetson Orin Nano's
    # 8 GB x 0.9375 = 7.5 GB usable: shown as 8
    spec = model_from_record("Half", {"architecture": "decoder", "parameters": 8.75e9, "layers": 32,
                                      "hidden_dim": 4096, "heads": 32, "kv_heads": 8, "head_dim": 128,
                                      "vocab_size": 128256, "context_length": 8192}, "test")
    r = C.solve(spec, "JetsonOrinNano", 1000, calibration=DEFAULT.with_(usable_memory_fraction=0.9375))
    assert r.reasons == ("memory: weights of 18 GB do not fit the 8 GB usable on 1 x JetsonOrinNano",)


def test_one_sequence_too_big_over_a_sweep_names_the_points():
    from dataclasses import replace

    # Llama-2-70B with 64 KV heads, KV at fp32: 2 x 80 x 64 x 128 x 4 = 5,242,880 B per token, 4,096 tokens
    # = 21.47 GB a sequence. Weights 137,953,296,384 B: 2 H100s leave 2 x 76,968,728,985.6 - 137,953,296,384
    # = 15.98 GB (none fits); 4 leave 169.92 GB: floor(169.92 / 21.47) = floor(7.91) = 7 fit
    mha = replace(mlsysim.Models.Llama2_70B, key="Llama2_70B_MHA", kv_heads=64)
    r = C.solve(mha, "H100", 4096, tensor_parallel=np.array([2, 4]), allocation="contiguous", kv_precision="fp32")
    np.testing.assert_array_equal(r.max_sequences, [0, 7])
    assert r.reasons == ("memory: one sequence reserves 21.47 GB of KV cache; 15.98 GB is left after the weights "
                         "on 2-4 x H100 at 1 of 2 points (index 0)",)
