"""CapacityModel: what a reader sees (the header of inputs, the reasons word for word, the
boundaries of max_context) and a paged and a contiguous count by hand.

Llama-3-8B fp16 on one H100: KV 2 x 32 x 8 x 128 x 2 = 131,072 B per token, weights 16,060,522,496 B,
usable 0.9 x 85,520,809,984 = 76,968,728,985.6 B, so 60,908,206,489.6 B for the cache.
"""
import re
from dataclasses import replace

import numpy as np
import pytest

import mlsysim
from mlsysim.errors import InputError
from mlsysim.specs.catalog import Models

C = mlsysim.CapacityModel()


def test_paged_by_hand_and_the_header():
    r = C.solve("Llama3_8B", "H100", 1000)
    # 16-token blocks: ceil(1,000 / 16) = 63 blocks = 1,008 tokens x 131,072 = 132,120,576 B reserved;
    # floor(60,908,206,489.6 / 132,120,576) = 461 sequences
    assert r.reserved_bytes_per_sequence.to("byte").m == pytest.approx(132_120_576)
    assert r.max_sequences == 461
    assert repr(r).splitlines()[0] == (
        "KV-cache capacity: Llama3_8B on H100 (precision=fp16, kv_precision=fp16, tensor_parallel=1, "
        "allocation=paged, block_size=16, max_context=8,192, context_lengths=1,000)")
    # 32-token blocks: 32 x 32 = 1,024 tokens = 134,217,728 B: floor(453.8) = 453
    assert C.solve("Llama3_8B", "H100", 1000, block_size=32).max_sequences == 453


def test_contiguous_header_has_no_block_size():
    r = C.solve("Llama3_8B", "H100", 1000, allocation="contiguous", max_context=4096)
    assert repr(r).splitlines()[0] == (
        "KV-cache capacity: Llama3_8B on H100 (precision=fp16, kv_precision=fp16, tensor_parallel=1, "
        "allocation=contiguous, max_context=4,096, context_lengths=1,000)")
    assert r.inputs["block_size"] is None and r.inputs["max_context"] == 4096
    assert r.inputs["allocation"] == "contiguous" and r.allocation == "contiguous"
    # 4,096 x 131,072 = 536,870,912 B reserved each: floor(113.45) = 113
    assert r.max_sequences == 113
    # a sweep of max_context is reported as given
    swept = C.solve("Llama3_8B", "H100", 1000, allocation="contiguous", max_context=np.array([2048, 4096]))
    np.testing.assert_array_equal(swept.inputs["max_context"], [2048, 4096])
    np.testing.assert_array_equal(swept.max_sequences, [226, 113])      # floor(226.9), floor(113.45)


def test_weights_that_do_not_fit():
    r = C.solve("Llama3_70B", "H100", 1000)
    # 70,553,706,496 x 2 = 141 GB against 76.97 GB usable
    assert r.reasons == ("memory: weights of 141 GB do not fit the 77 GB usable on 1 x H100",)
    assert not r.feasible
    s = C.solve("Llama3_70B", "H100", 1000, tensor_parallel=np.array([1, 2]))
    assert s.reasons == ("memory: weights of 141 GB do not fit the 77 GB usable on 1-2 x H100 at 1 of 2 points "
                         "(index 0)",)
    np.testing.assert_array_equal(s.feasible, [False, True])


def test_one_sequence_that_does_not_fit():
    # Llama-2-70B with 64 KV heads (context 4,096): 2 x 80 x 64 x 128 x 2 = 2,621,440 B per token at fp16;
    # two H100s leave 2 x 76,968,728,985.6 - 137,953,296,384 = 15,984,161,587 B = 15.98 GB for the cache.
    # fp16: 4,096 x 2,621,440 = 10.74 GB, one sequence fits; fp32: 21,474,836,480 B = 21.47 GB, none
    mha = replace(Models.Llama2_70B, key="Llama2_70B_MHA", kv_heads=64)
    r = C.solve(mha, "H100", 4096, tensor_parallel=2, allocation="contiguous")
    assert r.max_sequences == 1 and r.feasible
    r = C.solve(mha, "H100", 4096, tensor_parallel=2, allocation="contiguous", kv_precision="fp32")
    assert r.max_sequences == 0 and not r.feasible
    assert r.reasons == ("memory: one sequence reserves 21.47 GB of KV cache; 15.98 GB is left after the weights "
                         "on 2 x H100",)


def test_context_limits_and_their_boundaries():
    r = C.solve("Llama3_8B", "H100", 10000, max_context=9000)
    assert r.reasons == ("context: requests of 10,000 tokens exceed max_context of 9,000 tokens",
                         "context: max_context of 9,000 tokens exceeds Llama-3-8B's context length of 8,192 tokens")
    assert not r.feasible
    # exactly at the limits is allowed
    assert C.solve("Llama3_8B", "H100", 8192, max_context=8192).feasible
    assert C.solve("Llama3_8B", "H100", 4096, max_context=4096).feasible
    assert C.solve("Llama3_8B", "H100", 4096, max_context=8193).reasons == (
        "context: max_context of 8,193 tokens exceeds Llama-3-8B's context length of 8,192 tokens",)
    assert C.solve("Llama3_8B", "H100", 4097, max_context=4096).reasons == (
        "context: requests of 4,097 tokens exceed max_context of 4,096 tokens",)


def test_messages():
    with pytest.raises(InputError, match="^" + re.escape(
            "parameter 'context_lengths': expected one length or a 1-D array of per-request lengths, "
            "got 'an array of shape (2, 2)'") + "$"):
        C.solve("Llama3_8B", "H100", np.ones((2, 2)))
    for name in ("block_size", "max_context"):
        with pytest.raises(InputError, match=f"^parameter '{name}': expected an integer"):
            C.solve("Llama3_8B", "H100", 1000, **{name: 16.5})
    with pytest.raises(InputError, match="^parameter 'context_lengths': expected an integer"):
        C.solve("Llama3_8B", "H100", 1000.5)


def test_a_length_distribution_against_a_block_size_sweep():
    # requests of 1,000 and 3,000 tokens; 16-token blocks reserve 1,008 and 3,008 (mean 2,008),
    # 32-token blocks 1,024 and 3,008 (mean 2,016); x 131,072 B
    r = C.solve("Llama3_8B", "H100", np.array([1000, 3000]), block_size=np.array([16, 32]))
    np.testing.assert_allclose(r.reserved_bytes_per_sequence.to("byte").m, [2008 * 131_072, 2016 * 131_072])
    # the mean used is 2,000 tokens x 131,072 = 262,144,000 B
    assert r.kv_bytes_per_sequence.to("byte").m == pytest.approx(262_144_000)
    # floor(60,908,206,489.6 / 263,192,576) = 231 and floor(/ 264,241,152) = 230
    np.testing.assert_array_equal(r.max_sequences, [231, 230])
    assert r.max_sequences.dtype.kind == "i"


def test_fields_and_inputs_as_a_reader_sees_them():
    r = C.solve("Llama3_8B", "H100", 1000)
    assert r.kv_bytes_per_sequence.to("byte").m == pytest.approx(131_072_000)      # 1,000 x 131,072
    assert r.to_dict()["allocation"] == "paged"
    assert r.inputs["model"].key == "Llama3_8B" and r.inputs["hardware"].key == "H100"


def test_weights_exactly_filling_the_usable_memory_leave_no_room():
    # a usable fraction that makes the usable memory exactly the 16,060,522,496 B of weights
    from mlsysim.calibration import DEFAULT

    f = 16_060_522_496 / 85_520_809_984
    assert 85_520_809_984 * f == 16_060_522_496
    r = C.solve("Llama3_8B", "H100", 1000, calibration=DEFAULT.with_(usable_memory_fraction=f))
    assert r.reasons == ("memory: weights of 16 GB do not fit the 16 GB usable on 1 x H100",)
