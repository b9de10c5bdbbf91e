"""Physics functions called the way a reader calls them: with their defaults, and away from
the anchor points where a wrong exponent or operator would still give the right number.
Every expectation is worked out by hand in the comment above it."""
from __future__ import annotations

import pytest

from mlsysim.physics._array import sum_max_affine
from mlsysim.physics.roofline import arithmetic_intensity, gemm_time, roofline_time
from mlsysim.physics.training import (checkpoint_bytes_per_layer, compute_for_optimal_tokens,
                                      compute_optimal_tokens)


def test_arithmetic_intensity_is_flops_per_byte():
    # a 4096^3 fp16 matmul: 2 x 4096^3 = 1.374e11 FLOP over 3 x 4096^2 x 2 B = 1.007e8 B
    # -> 1.374e11 / 1.007e8 = 1365.3 FLOP/B (= 4096 / 3)
    assert arithmetic_intensity(2 * 4096**3, 3 * 4096**2 * 2) == pytest.approx(4096 / 3)


def test_roofline_time_defaults_to_full_efficiency():
    # 1e12 FLOP at 1e12 FLOP/s = 1 s; 5e11 B at 1e12 B/s = 0.5 s; max = 1 s (efficiencies 1)
    assert roofline_time(1e12, 5e11, 1e12, 1e12) == pytest.approx(1.0)


def test_gemm_time_defaults_to_full_efficiency():
    # m = n = k = 1000 at 2 B per element: 2e9 FLOP at 1e12 FLOP/s = 2 ms;
    # (1e6 + 1e6 + 1e6) x 2 B = 6e6 B at 1e12 B/s = 6 us; max = 2 ms, no overhead by default
    assert gemm_time(1000, 1000, 1000, 2, 1e12, 1e12) == pytest.approx(2e-3)


def test_checkpoint_with_sequence_parallel_and_default_tensor_parallel_is_not_split():
    # 2 s b h = 2 x 4096 x 1 x 8192 = 67,108,864 B; tensor_parallel defaults to 1, so
    # sequence parallelism splits it over one rank: unchanged
    assert checkpoint_bytes_per_layer(4096, 1, 8192, sequence_parallel=True) == 67_108_864
    # and over 8 ranks when given: 67,108,864 / 8 = 8,388,608
    assert checkpoint_bytes_per_layer(4096, 1, 8192, tensor_parallel=8, sequence_parallel=True) == 8_388_608


def test_compute_for_optimal_tokens_away_from_the_chinchilla_anchor():
    # C_0 = 6 x 70e9 x 1.4e12 = 5.88e23 FLOP; b = 0.5 so C = C_0 (D / 1.4e12)^2
    # D = 2.8e12 tokens -> C = 5.88e23 x 4 = 2.352e24 FLOP
    assert compute_for_optimal_tokens(2.8e12) == pytest.approx(2.352e24)
    # D = 0.7e12 -> 5.88e23 / 4 = 1.47e23
    assert compute_for_optimal_tokens(0.7e12) == pytest.approx(1.47e23)
    # and it inverts compute_optimal_tokens: (2.352e24 / 5.88e23)^0.5 x 1.4e12 = 2.8e12
    assert compute_optimal_tokens(2.352e24) == pytest.approx(2.8e12)


def test_sum_max_affine_of_numbers_is_a_plain_float():
    # max(1 + 0 i, 2 + 0 i) = 2 for i = 0, 1, 2 -> 6; scalars in, a Python float out
    total = sum_max_affine(1, 0, 2, 0, 3)
    assert total == 6.0 and type(total) is float


def test_kv_bytes_per_token_defaults_to_16_bit_and_follows_the_precision():
    from mlsysim.solvers._common import kv_bytes_per_token

    # Llama 3 8B: K and V x 32 layers x 8 KV heads x 128 dims = 65,536 elements per token;
    # at 2 bytes (fp16, the default) 131,072 B, at 1 byte (fp8) 65,536 B
    assert kv_bytes_per_token("Llama3_8B").to("byte").magnitude == 131_072
    assert kv_bytes_per_token("Llama3_8B", "fp8").to("byte").magnitude == 65_536
