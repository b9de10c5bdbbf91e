"""RequestLatencyModel against a request worked out by hand, the balance prompt found by hand,
and what a reader sees (SLO reasons, the header, messages).

Llama-3-8B fp16 on one H100 with an ideal calibration (efficiencies 1, no fixed costs, the
textbook max roofline): N = 8,030,261,248, weights W = 16,060,522,496 B, KV 131,072 B per token,
attention 4 x 32 x 4,096 = 524,288 FLOPs per (query, key) pair; P = 989.4e12 FLOP/s, B = 3.35e12 B/s.
"""
import math
import re

import numpy as np
import pytest

import mlsysim
from mlsysim.calibration import DEFAULT
from mlsysim.errors import InputError

L = mlsysim.RequestLatencyModel()
IDEAL = DEFAULT.with_(compute_efficiency=1, memory_efficiency=1, attention_efficiency=1, kernel_overhead=0,
                      allreduce_latency=0, prefill_overhead_per_layer=0, roofline_exponent=math.inf)
N, W, KV, A, P, B = 8_030_261_248, 16_060_522_496, 131_072, 524_288, 989.4e12, 3.35e12


def test_one_request_by_hand():
    r = L.solve("Llama3_8B", "H100", 1024, 3, calibration=IDEAL)
    # prefill of 1,024 tokens: linear 2 N x 1,024 / P = 16.62 ms (> W / B = 4.79 ms); attention
    # 524,288 x 1,024 x 512.5 / P = 0.278 ms (> its KV 1,024 x 131,072 / B = 40 us): both compute-bound
    ttft = 2 * N * 1024 / P + A * 1024 * 512.5 / P
    assert r.ttft.to("s").m == pytest.approx(ttft, rel=1e-12)
    assert r.prefill_bottleneck == "Compute"
    # two decode steps at 1,025 and 1,026 tokens of context: each W / B (> 2 N / P) plus its KV read
    decode = 2 * W / B + KV * (1025 + 1026) / B
    assert r.decode_time.to("s").m == pytest.approx(decode, rel=1e-12)
    assert r.tpot.to("s").m == pytest.approx(decode / 2, rel=1e-12)
    assert r.request_time.to("s").m == pytest.approx(ttft + decode, rel=1e-12)
    assert r.prefill_share.to("").m == pytest.approx(ttft / (ttft + decode), rel=1e-12)      # 63.6%
    assert r.decode_bottleneck == "Memory"
    # memory at the last token: W + 1,027 x 131,072 = 16,195,133,440 B; one H100 holds 85,520,809,984 B
    assert r.total_memory_required.to("byte").m == pytest.approx(16_195_133_440)
    assert r.memory_capacity.to("byte").m == pytest.approx(85_520_809_984)
    assert r.prompt_tokens.to("token").m == 1024 and r.output_tokens.to("token").m == 3
    assert r.feasible is True and r.reasons == ()


def test_decode_turns_compute_bound_with_batch():
    # batch 512 at ~1,025 tokens: 2 N x 512 / P = 8.31 ms > W / B = 4.79 ms in the linear layers, and
    # attention compute 524,288 x 512 x 1,025 / P = 0.278 ms < its KV 512 x 1,025 x 131,072 / B = 20.5 ms,
    # so compute 8.59 ms < memory 25.3 ms: still memory-bound; batch 4,096 at 16 tokens: compute
    # 2 N x 4,096 / P = 66.5 ms + 0.036 ms > memory 4.79 + 2.6 ms
    assert L.solve("Llama3_8B", "H100", 1024, 3, batch_size=512, calibration=IDEAL).decode_bottleneck == "Memory"
    assert L.solve("Llama3_8B", "H100", 16, 3, batch_size=4096, calibration=IDEAL).decode_bottleneck == "Compute"
    # a 2-token prompt is memory-bound in prefill: 2 N x 2 / P = 32 us < W / B = 4.79 ms
    assert L.solve("Llama3_8B", "H100", 2, 3, calibration=IDEAL).prefill_bottleneck == "Memory"


def test_header_shows_every_input():
    r = L.solve("Llama3_8B", "H100", 1024, 3)
    assert repr(r).splitlines()[0] == ("Request latency: Llama3_8B on H100 (precision=fp16, kv_precision=fp16, "
                                       "prompt_tokens=1,024, output_tokens=3, batch_size=1, tensor_parallel=1)")
    s = L.solve("Llama3_8B", "H100", 1024, 3, ttft_slo=0.5, tpot_slo=0.25)
    assert s.inputs["ttft_slo"] == 0.5 and s.inputs["tpot_slo"] == 0.25
    assert "ttft_slo=0.5" in repr(s).splitlines()[0] and "tpot_slo=0.25" in repr(s).splitlines()[0]


def test_slo_reasons_and_the_boundary():
    r = L.solve("Llama3_8B", "H100", np.array([1024, 8192]), 3, ttft_slo=0.02, tpot_slo=0.001)
    assert r.reasons[1:] == (
        "latency: TTFT of 200 ms exceeds the 20 ms target at 2 of 2 points (indices 0, 1)",
        "latency: TPOT of 7 ms exceeds the 1 ms target at 2 of 2 points (indices 0, 1)")
    one = L.solve("Llama3_8B", "H100", 1024, 3, calibration=IDEAL)
    ttft, tpot = one.ttft.to("s").m, one.tpot.to("s").m
    # exactly at a target meets it; a hair below misses it, and only the missed target is named
    assert L.solve("Llama3_8B", "H100", 1024, 3, ttft_slo=ttft, tpot_slo=tpot, calibration=IDEAL).feasible is True
    miss = L.solve("Llama3_8B", "H100", 1024, 3, ttft_slo=ttft * 0.999, tpot_slo=tpot, calibration=IDEAL)
    assert miss.feasible is False and len(miss.reasons) == 1 and miss.reasons[0].startswith("latency: TTFT of 17 ms")
    miss = L.solve("Llama3_8B", "H100", 1024, 3, ttft_slo=ttft, tpot_slo=tpot * 0.999, calibration=IDEAL)
    assert miss.feasible is False and len(miss.reasons) == 1 and miss.reasons[0].startswith("latency: TPOT of 5 ms")


def test_output_tokens_start_at_two():
    assert L.solve("Llama3_8B", "H100", 1024, 2).output_tokens.to("token").m == 2
    with pytest.raises(InputError, match=r"^parameter 'output_tokens': expected an integer >= 2"):
        L.solve("Llama3_8B", "H100", 1024, 1)
    with pytest.raises(InputError, match=r"^parameter 'output_tokens': expected an integer >= 2"):
        L.balance_prompt("Llama3_8B", "H100", 1)
    with pytest.raises(InputError, match=r"^parameter 'prompt_tokens': expected an integer"):
        L.solve("Llama3_8B", "H100", 10.5, 3)
    with pytest.raises(InputError, match=r"^parameter 'batch_size': expected an integer"):
        L.solve("Llama3_8B", "H100", 10, 3, batch_size=1.5)


def test_balance_prompt_by_hand():
    # one decode step (n = 2) at c + 1 tokens: W / B + KV (c + 1) / B. Prefill of c short tokens:
    # W / B (memory-bound linear layers while 2 N c / P < W / B, c < 295) + attention compute
    # 524,288 c (c + 1) / 2 / P. Equal when 524,288 c / (2 P) = 131,072 / B:
    # c = 131,072 x 2 x 989.4e12 / (3.35e12 x 524,288) = 147.67, so the shortest prompt is 148
    r = L.balance_prompt("Llama3_8B", "H100", 2, calibration=IDEAL)
    assert r.prompt_tokens.to("token").m == 148
    assert r.feasible and r.reasons == ()
    assert repr(r).splitlines()[0] == ("Request latency: Llama3_8B on H100 (precision=fp16, kv_precision=fp16, "
                                       "output_tokens=2, batch_size=1, tensor_parallel=1)")
    # an array of output lengths, one answer each
    both = L.balance_prompt("Llama3_8B", "H100", np.array([2, 2]), calibration=IDEAL)
    np.testing.assert_array_equal(both.prompt_tokens.to("token").m, [148, 148])
    # a range that stops short of 148 finds none: the result at the range's end, infeasible
    short = L.balance_prompt("Llama3_8B", "H100", 2, max_prompt=147, calibration=IDEAL)
    assert short.prompt_tokens.to("token").m == 147 and not short.feasible
    assert short.reasons == ("balance: no prompt up to 147 tokens makes the prefill as long as the decode",)
    assert L.balance_prompt("Llama3_8B", "H100", 2, max_prompt=148, calibration=IDEAL).feasible


def test_balance_prompt_default_range_is_the_context_left():
    # 4,000 output tokens decode for ~19 s; no prompt up to 8,192 - 4,000 = 4,192 tokens prefills that long
    r = L.balance_prompt("Llama3_8B", "H100", 4000, calibration=IDEAL)
    assert r.prompt_tokens.to("token").m == 4192 and not r.feasible
    assert r.reasons == ("balance: no prompt up to 4,192 tokens makes the prefill as long as the decode",)
    mixed = L.balance_prompt("Llama3_8B", "H100", np.array([2, 4000]), calibration=IDEAL)
    np.testing.assert_array_equal(mixed.feasible, [True, False])
    assert mixed.reasons == ("balance: no prompt up to 4,192 tokens makes the prefill as long as the decode"
                             " at 1 of 2 points (index 1)",)


@pytest.mark.parametrize("name", ["tensor_parallel", "batch_size", "max_prompt"])
def test_balance_prompt_takes_scalars(name):
    with pytest.raises(InputError, match="^" + re.escape(
            f"parameter '{name}': expected a single number (only output_tokens may be an array here), "
            "got 'an array of shape (2,)'") + "$"):
        L.balance_prompt("Llama3_8B", "H100", 2, **{name: np.array([1, 2])})


def test_kv_precision_and_inputs():
    # an int8 cache: W + 1,027 x 65,536 = 16,060,522,496 + 67,305,472 = 16,127,827,968 B at the last token
    r = L.solve("Llama3_8B", "H100", 1024, 3, kv_precision="int8", calibration=IDEAL)
    assert r.total_memory_required.to("byte").m == pytest.approx(16_127_827_968)
    assert r.inputs["kv_precision"] == "int8"
    assert r.inputs["model"].key == "Llama3_8B" and r.inputs["hardware"].key == "H100"


def test_tpot_target_alone_is_checked():
    r = L.solve("Llama3_8B", "H100", 1024, 3, tpot_slo=1e-3, calibration=IDEAL)
    # TPOT 4.83 ms against 1 ms
    assert not r.feasible and r.reasons == ("latency: TPOT of 5 ms exceeds the 1 ms target",)


def test_slo_message_numbers_by_hand():
    # batch 64 of 1,024-token prompts: 2 N x 65,536 / P + 524,288 x 65,536 x 512.5 / P = 1,081.6 ms
    ttft = 2 * N * 65536 / P + A * 65536 * 512.5 / P
    assert round(ttft * 1e3) == 1082
    r = L.solve("Llama3_8B", "H100", 1024, 3, batch_size=64, ttft_slo=1.5e-3, calibration=IDEAL)
    assert r.reasons == ("latency: TTFT of 1,082 ms exceeds the 2 ms target",)
    r = L.solve("Llama3_8B", "H100", 1024, 3, batch_size=64, ttft_slo=0.5, calibration=IDEAL)
    assert r.reasons == ("latency: TTFT of 1,082 ms exceeds the 500 ms target",)
    r = L.solve("Llama3_8B", "H100", 1024, 3, batch_size=64, ttft_slo=1.0, calibration=IDEAL)
    assert r.reasons == ("latency: TTFT of 1,082 ms exceeds the 1,000 ms target",)


def test_balance_prompt_range_is_at_least_one_token():
    # 8,192 output tokens leave no context for a prompt: the range is the single prompt of 1 token
    r = L.balance_prompt("Llama3_8B", "H100", 8192, calibration=IDEAL)
    assert r.prompt_tokens.to("token").m == 1 and not r.feasible
    assert r.reasons[-1] == "balance: no prompt up to 1 tokens makes the prefill as long as the decode"


def test_one_token_prompt_balances_one_decode_step_with_the_prefill_overhead():
    # the default calibration charges a prefill pass 32 x 75 us = 2.4 ms that a decode step does not pay,
    # and one decode step (n = 2) is otherwise the same pass over the weights: the shortest prompt, 1, balances
    r = L.balance_prompt("Llama3_8B", "H100", 2)
    assert r.prompt_tokens.to("token").m == 1 and r.feasible


def test_unbalanced_result_keeps_its_inputs():
    r = L.balance_prompt("Llama3_8B", "H100", 2, max_prompt=147, calibration=IDEAL)
    assert repr(r).splitlines()[0] == ("Request latency: Llama3_8B on H100 (precision=fp16, kv_precision=fp16, "
                                       "output_tokens=2, batch_size=1, tensor_parallel=1)")
