"""KV-cache capacity and request latency: hand-derived values, invariants, bad input."""
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, strategies as st

import mlsysim
from mlsysim import Hardware, Models
from mlsysim.errors import InputError
from mlsysim.physics import kv_cache as kv
from mlsysim.solvers.capacity import CapacityModel
from mlsysim.solvers.latency import RequestLatencyModel

CAP = CapacityModel().solve
LAT = RequestLatencyModel()


# ---------------------------------------------------------------- physics by hand
def test_reservations_by_hand():
    # contiguous: every request reserves n_max, whatever its length
    assert kv.contiguous_reserved_tokens(100, 4096) == 4096
    assert list(kv.contiguous_reserved_tokens(np.array([1, 4096]), 2048)) == [2048, 2048]
    # paged, blocks of 16: 100 -> ceil(6.25) = 7 blocks = 112; 16 -> 1 block; 17 -> 2 blocks = 32
    assert kv.paged_reserved_tokens(100, 16) == 112
    assert list(kv.paged_reserved_tokens(np.array([16, 17, 1]), 16)) == [16, 32, 16]
    # waste: 100 used of 112 reserved -> 12 / 112 = 0.107142...
    assert kv.waste_fraction(100, 112) == pytest.approx(12 / 112)
    # 10 GB over 1.5 GB per sequence -> 6.67 -> 6; negative budget -> 0
    assert kv.sequences_that_fit(10e9, 1.5e9) == 6
    assert kv.sequences_that_fit(-1.0, 1.5e9) == 0
    assert kv.tokens_that_fit(1_000_000, 327_680) == 3  # 3.05 -> 3


# ---------------------------------------------------------------- solver by hand
def test_llama2_70b_contiguous_by_hand():
    r = CAP(Models.Llama2_70B, Hardware.H100, 4096, tensor_parallel=2, allocation="contiguous")
    # usable = 0.9 x 2 x 81,559 MiB = 0.9 x 171,041,619,968 B = 153,937,457,971.2 B
    # free = 153,937,457,971.2 - 68,976,648,192 x 2 B (137,953,296,384) = 15,984,161,587.2 B
    # per sequence = 4,096 x 327,680 B = 1,342,177,280 B -> 15,984,161,587.2 / 1,342,177,280 = 11.91 -> 11
    assert r.max_sequences == 11
    assert r.kv_budget.to("byte").magnitude == pytest.approx(15_984_161_587.2)
    assert r.reserved_bytes_per_sequence.to("byte").magnitude == pytest.approx(1_342_177_280)
    assert r.waste_fraction.to("").magnitude == 0
    # one sequence fills the budget at 15,984,161,587.2 / 327,680 = 48,779.8 -> 48,779 tokens
    assert r.context_to_fill.magnitude == 48_779
    assert r.feasible
    # same answer as the serving solver's largest batch
    assert r.max_sequences == mlsysim.ServingModel().max_batch_size(Models.Llama2_70B, Hardware.H100, 4096,
                                                                      tensor_parallel=2)


def test_llama2_70b_paged_distribution_by_hand():
    r = CAP(Models.Llama2_70B, Hardware.H100, np.array([100, 1000]), tensor_parallel=2, allocation="paged")
    # reservations: ceil(100/16) x 16 = 112 and ceil(1000/16) x 16 = 1,008 -> mean 560 tokens
    # 560 x 327,680 B = 183,500,800 B -> 15,984,161,587.2 / 183,500,800 = 87.1 -> 87 sequences
    assert r.max_sequences == 87
    assert r.reserved_bytes_per_sequence.to("byte").magnitude == pytest.approx(183_500_800)
    # used: mean 550 tokens -> waste = 1 - 550 / 560 = 1/56
    assert r.waste_fraction.to("").magnitude == pytest.approx(1 / 56)
    assert r.kv_used.to("byte").magnitude == pytest.approx(87 * 550 * 327_680)


def test_contiguous_with_distribution_reserves_max_context():
    r = CAP("Llama2_70B", "H100", np.array([100, 1000]), tensor_parallel=2, allocation="contiguous",
            max_context=2048)
    # 2,048 x 327,680 B = 671,088,640 B per sequence -> 15,984,161,587.2 / 671,088,640 = 23.82 -> 23
    assert r.max_sequences == 23
    # used 550 of 2,048 reserved -> waste = 1 - 550 / 2,048 = 0.73145...
    assert r.waste_fraction.to("").magnitude == pytest.approx(1 - 550 / 2048)


def test_kv_precision_halves_the_cache():
    fp16 = CAP("Llama2_70B", "H100", 4096, tensor_parallel=2, allocation="contiguous")
    fp8 = CAP("Llama2_70B", "H100", 4096, tensor_parallel=2, allocation="contiguous", kv_precision="fp8")
    # 163,840 B per token: 15,984,161,587.2 / (4,096 x 163,840) = 23.82 -> 23 (fp16: 11)
    assert fp8.kv_bytes_per_token.to("byte").magnitude == 163_840
    assert fp8.max_sequences == 23 and fp16.max_sequences == 11


def test_mha_variant_needs_eight_times_the_cache():
    mha = replace(Models.Llama2_70B, key="Llama2_70B_MHA", kv_heads=64)
    # 2 x 80 layers x 64 heads x 128 x 2 B = 2,621,440 B per token, 8 x GQA's 327,680 B
    r = CAP(mha, "H100", 4096, tensor_parallel=2)
    assert r.kv_bytes_per_token.to("byte").magnitude == 2_621_440


def test_sweep_over_tensor_parallel_equals_scalar_calls():
    lengths = np.array([100, 1000, 3000])
    swept = CAP("Llama2_70B", "H100", lengths, tensor_parallel=np.array([2, 4, 8]), allocation="paged")
    for i, tp in enumerate([2, 4, 8]):
        one = CAP("Llama2_70B", "H100", lengths, tensor_parallel=tp, allocation="paged")
        assert swept.max_sequences[i] == one.max_sequences
        assert swept.waste_fraction[i] == one.waste_fraction


def test_infeasible_reports_reasons():
    weights = CAP("Llama2_70B", "H100", 1024)               # 138 GB of weights on one 80 GB device
    assert not weights.feasible and "weights of 138 GB" in weights.reasons[0]
    # H200 at 95% usable: 0.95 x 141 GiB = 143,827,717,324.8 B - 137,953,296,384 = 5.87 GB free; an MHA
    # sequence of 4,096 tokens needs 4,096 x 2,621,440 B = 10.7 GB
    full = CAP(replace(Models.Llama2_70B, kv_heads=64), "H200", 4096, allocation="contiguous",
               calibration=mlsysim.calibration.DEFAULT.with_(usable_memory_fraction=0.95))
    assert full.max_sequences == 0 and not full.feasible and "one sequence reserves" in full.reasons[0]
    long = CAP("Llama2_70B", "H100", np.array([100, 5000]), tensor_parallel=2)
    assert not long.feasible and any("exceed max_context" in r for r in long.reasons)


# ---------------------------------------------------------------- properties
LENGTHS = st.lists(st.integers(min_value=1, max_value=4096), min_size=1, max_size=30)


@given(LENGTHS, st.sampled_from([1, 8, 16, 32, 128]))
def test_paged_never_holds_fewer_than_contiguous(lengths, block):
    a = np.array(lengths)
    paged = CAP("Llama2_70B", "H100", a, tensor_parallel=2, allocation="paged", block_size=block)
    contiguous = CAP("Llama2_70B", "H100", a, tensor_parallel=2, allocation="contiguous")
    assert paged.max_sequences >= contiguous.max_sequences
    assert 0 <= paged.waste_fraction.magnitude <= contiguous.waste_fraction.magnitude + 1e-12


@given(st.integers(min_value=1, max_value=4000), st.integers(min_value=1, max_value=96))
def test_longer_context_never_fits_more_sequences(length, extra):
    short = CAP("Llama3_8B", "A100", length, allocation="paged")
    longer = CAP("Llama3_8B", "A100", length + extra, allocation="paged")
    assert longer.max_sequences <= short.max_sequences


@given(st.integers(min_value=1, max_value=4096), st.sampled_from([1, 16, 64]))
def test_paged_waste_is_below_one_block(length, block):
    r = CAP("Llama3_8B", "H100", length, allocation="paged", block_size=block)
    reserved = r.reserved_bytes_per_sequence.to("byte").magnitude / r.kv_bytes_per_token.to("byte").magnitude
    assert length - 1e-6 <= reserved < length + block


# ---------------------------------------------------------------- request latency
from test_solvers import ROUND  # noqa: E402  (the same round factors, so the arithmetic matches)


def test_request_latency_by_hand():
    r = LAT.solve(Models.Llama2_70B, Hardware.H100, 1024, 2, tensor_parallel=2, calibration=ROUND)
    # TTFT as in tests/test_solvers.py: 163.6986 ms
    # one decode step at context 1,025: weights 25.7376 ms + KV 327,680 x 1,025 B / (2 x 3.35e12 x 0.5)
    #   = 0.1003 ms + fixed 5.6117 ms = 31.4496 ms
    assert r.ttft.to("ms").magnitude == pytest.approx(163.6986, rel=1e-4)
    assert r.tpot.to("ms").magnitude == pytest.approx(31.4496, rel=1e-4)
    assert r.request_time.to("ms").magnitude == pytest.approx(163.6986 + 31.4496, rel=1e-4)
    assert r.prefill_bottleneck == "Compute" and r.decode_bottleneck == "Memory"


def test_request_decode_is_the_sum_of_serving_steps():
    serve = mlsysim.ServingModel().solve(Models.Llama3_8B, Hardware.A100, np.arange(513, 520))
    r = LAT.solve(Models.Llama3_8B, Hardware.A100, 512, 8)
    # 7 decode steps at contexts 513 .. 519
    assert r.decode_time.to("s").magnitude == pytest.approx(serve.itl.to("s").magnitude.sum(), rel=1e-9)
    assert r.ttft == mlsysim.ServingModel().solve(Models.Llama3_8B, Hardware.A100, 512).ttft


def test_latency_budget_makes_request_infeasible():
    r = LAT.solve("Llama2_70B", "A100", 1024, 256, tensor_parallel=2, ttft_slo=0.01, tpot_slo=1.0)
    assert not r.feasible and any(x.startswith("latency: TTFT") for x in r.reasons)
    ok = LAT.solve("Llama2_70B", "A100", 1024, 256, tensor_parallel=2, ttft_slo=10, tpot_slo=1.0)
    assert ok.feasible


def test_balance_prompt_is_the_first_prompt_where_prefill_catches_up():
    r = LAT.balance_prompt("Llama2_70B", "H100", 4, tensor_parallel=2)
    c = int(r.prompt_tokens.magnitude)
    assert r.feasible
    assert r.ttft >= r.decode_time
    before = LAT.solve("Llama2_70B", "H100", c - 1, 4, tensor_parallel=2)
    assert before.ttft < before.decode_time


def test_balance_prompt_sweep_and_no_balance():
    r = LAT.balance_prompt("Llama2_70B", "H100", np.array([2, 4, 8]), tensor_parallel=2)
    assert np.all(np.diff(r.prompt_tokens.magnitude) > 0)   # more output to balance, longer prompt
    none = LAT.balance_prompt("Llama2_70B", "H100", 512, tensor_parallel=2)
    assert not none.feasible and "balance" in none.reasons[-1]


@given(st.integers(min_value=1, max_value=3000), st.integers(min_value=2, max_value=500))
def test_more_output_tokens_never_shorten_a_request(prompt, output):
    a = LAT.solve("Llama2_70B", "H100", prompt, output, tensor_parallel=2)
    b = LAT.solve("Llama2_70B", "H100", prompt, output + 1, tensor_parallel=2)
    assert b.request_time >= a.request_time and b.ttft == a.ttft


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, parameter", [
    (dict(context_lengths=0), "context_lengths"),
    (dict(context_lengths=np.array([10, -1])), "context_lengths"),
    (dict(context_lengths=np.ones((2, 2))), "context_lengths"),
    (dict(context_lengths=1.5), "context_lengths"),
    (dict(context_lengths=100, allocation="buddy"), "allocation"),
    (dict(context_lengths=100, block_size=0), "block_size"),
    (dict(context_lengths=100, max_context=-5), "max_context"),
    (dict(context_lengths=100, tensor_parallel=0), "tensor_parallel"),
    (dict(context_lengths=100, kv_precision=8), "kv_precision"),
])
def test_capacity_rejects_bad_input(kwargs, parameter):
    with pytest.raises(InputError) as info:
        CAP("Llama3_8B", "H100", **kwargs)
    assert info.value.parameter == parameter


@pytest.mark.parametrize("kwargs, parameter", [
    (dict(prompt_tokens=0, output_tokens=10), "prompt_tokens"),
    (dict(prompt_tokens=10, output_tokens=1), "output_tokens"),
    (dict(prompt_tokens=10, output_tokens=10, ttft_slo=-1), "ttft_slo"),
    (dict(prompt_tokens=10, output_tokens=10, tpot_slo="fast"), "tpot_slo"),
    (dict(prompt_tokens=10, output_tokens=10, batch_size=0), "batch_size"),
])
def test_request_latency_rejects_bad_input(kwargs, parameter):
    with pytest.raises(InputError) as info:
        LAT.solve("Llama3_8B", "H100", **kwargs)
    assert info.value.parameter == parameter


def test_balance_prompt_rejects_arrays_other_than_output():
    with pytest.raises(InputError) as info:
        LAT.balance_prompt("Llama3_8B", "H100", 8, batch_size=np.array([1, 2]))
    assert info.value.parameter == "batch_size"
