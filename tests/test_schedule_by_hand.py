"""The prefill pool of disaggregated serving against an M/D/1 queue worked by hand, and the
decode pool's token budget (a number, 'tuned', or a wrong word)."""
import math
import re

import numpy as np
import pytest

import mlsysim
from mlsysim.errors import InputError
from mlsysim.solvers.schedule import _PrefillPool

FLEET = mlsysim.ServingFleetModel()


class _Replica:
    """A stand-in replica whose prefill of b prompts takes 0.1 b seconds (easy arithmetic)."""
    usable, weights, kv_per_token = 10e6, 4e6, 1000.0

    def prefill(self, c, b):
        return 0.1 * np.asarray(b, dtype=float), True


def test_prefill_pool_passes():
    # budget 2,000 tokens of 1,000-token prompts: floor(2,000 / 1,000) = 2 prompts a pass of 0.2 s
    pool = _PrefillPool(_Replica(), 1000, 2000, None, 0.05)
    assert pool.b == 2 and pool.pass_time == pytest.approx(0.2)
    assert pool.capacity() == pytest.approx(10.0)                       # 2 / 0.2 s
    assert pool.kv_budget == pytest.approx(6e6)                         # 10e6 - 4e6
    # a budget below one prompt still takes one prompt a pass
    one = _PrefillPool(_Replica(), 1000, 500, None, 0.05)
    assert one.b == 1 and one.pass_time == pytest.approx(0.1)


def test_prefill_pool_queue_by_hand():
    pool = _PrefillPool(_Replica(), 1000, 2000, 1.1, 0.05)
    values, ok = pool.evaluate(np.array([0.0, 5.0, 10.0]))
    # lambda = 5/s: rho = 5 x 0.2 / 2 = 0.5; M/D/1 wait 0.5 x 0.2 / (2 x 0.5) = 0.1 s;
    # p99 of the wait (0.1 / 0.5) ln(0.5 / 0.01) = 0.2 ln 50 = 0.782405 s
    np.testing.assert_allclose(values["prefill_utilization"], [0.0, 0.5, 1.0])
    assert values["ttft_mean"][1] == pytest.approx(0.1 + 0.2 + 0.05)          # wait + pass + transfer = 0.35
    assert values["ttft_p99"][1] == pytest.approx(0.782405 + 0.2 + 0.05, rel=1e-6)   # 1.032405
    # no load: no wait; rho = 1: unstable, infinite
    assert values["ttft_mean"][0] == pytest.approx(0.25) and values["ttft_p99"][0] == pytest.approx(0.25)
    assert math.isinf(values["ttft_mean"][2]) and math.isinf(values["ttft_p99"][2])
    np.testing.assert_array_equal(values["arrival_rate"], [0.0, 5.0, 10.0])
    np.testing.assert_array_equal(values["decoding_sequences"], [0, 0, 0])
    np.testing.assert_array_equal(values["decoding_sequences_p99"], [0, 0, 0])
    # a pass holds 2 x 1,000 x 1,000 B = 2e6 B of KV cache
    np.testing.assert_allclose(values["kv_cache_p99"], [2e6, 2e6, 2e6])
    assert list(ok) == ["throughput", "token budget", "sequence limit", "KV-cache memory", "TTFT target", "TPOT target"]
    np.testing.assert_array_equal(ok["throughput"], [True, True, False])
    np.testing.assert_array_equal(ok["token budget"], [True, True, False])
    np.testing.assert_array_equal(ok["sequence limit"], [True, True, True])
    np.testing.assert_array_equal(ok["KV-cache memory"], [True, True, True])
    np.testing.assert_array_equal(ok["TPOT target"], [True, True, True])
    # TTFT p99 1.032 s against 1.1 s: met at 0 and 5/s; infinite at 10/s
    np.testing.assert_array_equal(ok["TTFT target"], [True, True, False])
    tight = _PrefillPool(_Replica(), 1000, 2000, 1.0, 0.05).evaluate(5.0)[1]["TTFT target"]
    assert not bool(tight)
    # no target: always met
    assert bool(_PrefillPool(_Replica(), 1000, 2000, None, 0.05).evaluate(10.0)[1]["TTFT target"])


def test_prefill_pool_kv_memory_boundary():
    class Tight(_Replica):
        usable = 6e6          # 6e6 - 4e6 = 2e6 left: a pass's 2e6 B fit exactly
    assert bool(_PrefillPool(Tight(), 1000, 2000, None, 0.0).evaluate(1.0)[1]["KV-cache memory"])

    class Tighter(_Replica):
        usable = 6e6 - 1
    assert not bool(_PrefillPool(Tighter(), 1000, 2000, None, 0.0).evaluate(1.0)[1]["KV-cache memory"])


def test_decode_pool_takes_a_numeric_token_budget():
    plan = FLEET.solve("Llama3_8B", "H100", 10, prefill="separate", token_budget=1024, tpot_slo=0.05)
    assert plan.token_budget == 1024
    # decode replicas run no prompt chunks
    assert plan.operating_point.prefill_tokens_per_step == 0
    tuned = FLEET.solve("Llama3_8B", "H100", 10, prefill="separate", tpot_slo=0.05)
    assert tuned.operating_point.prefill_tokens_per_step == 0


@pytest.mark.parametrize("prefill", ["chunked", "separate"])
def test_token_budget_word_is_checked(prefill):
    with pytest.raises(InputError, match="^" + re.escape(
            "parameter 'token_budget': expected a number of tokens or 'tuned', got 'auto'") + "$"):
        FLEET.solve("Llama3_8B", "H100", 10, prefill=prefill, token_budget="auto")


def test_prefill_pool_values_take_the_shape_and_type_of_the_load():
    pool = _PrefillPool(_Replica(), 1000, 2000, None, 0.05)
    values, _ = pool.evaluate(np.array([1.0, 2.0, 3.0]))
    for name in ("decoding_sequences", "decoding_sequences_p99", "kv_cache_p99", "ttft_p99"):
        assert np.shape(values[name]) == (3,), name
    # an integer load is a rate in requests/s all the same
    values, _ = pool.evaluate(5)
    assert values["arrival_rate"].dtype.kind == "f"


def test_prefill_pool_ttft_target_is_inclusive():
    p99 = float(_PrefillPool(_Replica(), 1000, 2000, None, 0.05).evaluate(5.0)[0]["ttft_p99"])
    assert bool(_PrefillPool(_Replica(), 1000, 2000, p99, 0.05).evaluate(5.0)[1]["TTFT target"])
