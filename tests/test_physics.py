"""Each physics equation against a value derived by hand (arithmetic in the comments)."""
import numpy as np
import pytest

from mlsysim.physics import collectives, economics, energy, roofline, transformer
from mlsysim.physics._array import sum_max_affine


def test_kv_bytes_per_token_llama2_70b():
    # 2 x 80 layers x 8 kv heads x 128 head_dim x 2 bytes = 327,680 B
    assert transformer.kv_cache_bytes_per_token(80, 8, 128, 2) == 327_680


def test_kv_latent_bytes_deepseek_v3():
    # 61 layers x 576 latent x 2 bytes = 70,272 B
    assert transformer.kv_latent_bytes_per_token(61, 576, 2) == 70_272


def test_linear_flops_two_per_mac():
    # 7e9 parameters x 2 FLOPs x 10 tokens = 1.4e11
    assert transformer.linear_flops(7e9, 10) == pytest.approx(1.4e11)


def test_attention_flops():
    # 4 x 32 layers x 4096 d_attn x 1 query x 1000 context = 524,288,000
    assert transformer.attention_flops(32, 4096, 1, 1000) == 524_288_000


def test_experts_touched():
    # one token touches exactly k: 8 x (1 - (1 - 2/8)^1) = 8 x 0.25 = 2
    assert transformer.expected_experts_touched(8, 2, 1) == pytest.approx(2)
    # two tokens: 8 x (1 - 0.75^2) = 8 x 0.4375 = 3.5
    assert transformer.expected_experts_touched(8, 2, 2) == pytest.approx(3.5)
    # many tokens touch nearly all
    assert transformer.expected_experts_touched(8, 2, 1000) == pytest.approx(8)


def test_roofline_time_and_ridge():
    # 1e12 FLOP at 1e15 FLOP/s = 1 ms; 1e9 B at 1e12 B/s = 1 ms -> max = 1 ms; ridge 1e15/1e12 = 1000
    assert roofline.roofline_time(1e12, 1e9, 1e15, 1e12) == pytest.approx(1e-3)
    assert roofline.ridge_point(1e15, 1e12) == 1000
    # at intensity 10 FLOP/B: attainable = min(1e15, 10 x 1e12) = 1e13
    assert roofline.attainable_flops(10, 1e15, 1e12) == 1e13
    # efficiencies divide: 1e12 / (1e15 x 0.5) = 2 ms
    assert roofline.roofline_time(1e12, 1e6, 1e15, 1e12, compute_efficiency=0.5) == pytest.approx(2e-3)


def test_ring_allreduce():
    # p = 4, n = 1e9 B, W = 1e11 B/s: 2 x 3/4 x 1e9 / 1e11 = 15 ms, plus alpha 1 ms = 16 ms
    assert collectives.ring_allreduce_time(1e9, 4, 1e11, latency=1e-3) == pytest.approx(16e-3)
    assert collectives.ring_allreduce_time(1e9, 1, 1e11, latency=1e-3) == 0


def test_energy_and_carbon():
    # 700 W for 3600 s = 2.52 MJ = 0.7 kWh; at PUE 1.5: 1.05 kWh; at 400 g/kWh: 420 g
    e = energy.energy(700, 3600)
    assert e == 2.52e6
    facility = energy.facility_energy(e, 1.5)
    assert facility / energy.JOULES_PER_KWH == pytest.approx(1.05)
    assert energy.carbon(facility, 400) == pytest.approx(420)


def test_economics_equations():
    # 1.2M over 4 years, 365 days -> 300k; 0.1 $/kWh x 1000 kWh = $100; 5% of 1M for half a year = 25k
    assert economics.amortized_capex(1.2e6, 4, 365) == pytest.approx(3e5)
    assert economics.energy_cost(1000, 0.1) == pytest.approx(100)
    assert economics.maintenance_cost(1e6, 0.05, 182.5) == pytest.approx(25_000)


@pytest.mark.parametrize("a0, a1, b0, b1, n", [
    (1.0, 0.5, 3.0, 0.1, 20),   # lines cross inside the range
    (5.0, 0.0, 1.0, 1.0, 10),   # b overtakes a constant a
    (1.0, 1.0, 1.0, 1.0, 7),    # identical lines
    (2.0, -0.1, 0.0, 0.2, 30),  # a falls, b rises
])
def test_sum_max_affine_equals_brute_force(a0, a1, b0, b1, n):
    brute = sum(max(a0 + a1 * i, b0 + b1 * i) for i in range(n))
    assert sum_max_affine(a0, a1, b0, b1, n) == pytest.approx(brute)


def test_sum_max_affine_small_case_by_hand():
    # i = 0,1,2: max(0, 2), max(1, 2), max(2, 2) -> 2 + 2 + 2 = 6
    assert sum_max_affine(0.0, 1.0, 2.0, 0.0, 3) == pytest.approx(6)
    arr = sum_max_affine(np.array([0.0, 0.0]), 1.0, 2.0, 0.0, np.array([3, 4]))
    # n = 4 adds max(3, 2) = 3 -> 9
    assert np.allclose(arr, [6, 9])
