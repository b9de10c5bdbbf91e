"""Every argument of every physics equation matters: each function at values where no argument
is neutral (no factor of 1, no latency of 0), at its boundaries (one device, a full queue), with
its defaults, and with its scalar / array contract. Expected values are derived by hand in the
comments. (The mutation run, scripts/mutation.sh, found these cases missing: a test at
efficiency 1 cannot tell * from /.)"""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mlsysim.physics import _array, collectives as col, kv_cache, operators as ops, pipeline as pp
from mlsysim.physics import queueing as qu, reliability as rel, roofline as rf, scheduling as sch
from mlsysim.physics import training as tr

settings.register_profile("ci", max_examples=60, deadline=None)
settings.load_profile("ci")

# a message of 6e8 B over p = 4 devices, 2e11 B/s links at efficiency 0.6 (1.2e11 B/s achieved),
# 3 us per call and 2 us per algorithm step
N, P, W, ALPHA, ETA, HOP = 6e8, 4, 2e11, 3e-6, 0.6, 2e-6


# ------------------------------------------------------------------------------- collectives
def test_collectives_with_every_argument_by_hand():
    # ring all-reduce: 2 x 3/4 x 6e8 / 1.2e11 = 7.5 ms; 2 (p - 1) = 6 steps x 2 us = 12 us; + 3 us
    assert col.ring_allreduce_time(N, P, W, ALPHA, ETA, HOP) == pytest.approx(7.515e-3, rel=1e-12)
    # tree: 2 x 6e8 / 1.2e11 = 10 ms; 2 log2(4) = 4 steps x 2 us = 8 us; + 3 us
    assert col.tree_allreduce_time(N, P, W, ALPHA, ETA, HOP) == pytest.approx(10.011e-3, rel=1e-12)
    # reduce-scatter and all-gather: 3/4 x 6e8 / 1.2e11 = 3.75 ms; p - 1 = 3 steps = 6 us; + 3 us
    assert col.ring_reduce_scatter_time(N, P, W, ALPHA, ETA, HOP) == pytest.approx(3.759e-3, rel=1e-12)
    assert col.ring_allgather_time(N, P, W, ALPHA, ETA, HOP) == pytest.approx(3.759e-3, rel=1e-12)
    # all-to-all: 3.75 ms + 3 us (no steps)
    assert col.alltoall_time(N, P, W, ALPHA, ETA) == pytest.approx(3.753e-3, rel=1e-12)
    # point to point: 6e8 / 1.2e11 = 5 ms + 3 us
    assert col.p2p_time(N, W, ALPHA, ETA) == pytest.approx(5.003e-3, rel=1e-12)


def test_collectives_defaults_are_no_latency_and_full_efficiency():
    # 6e8 B over 4 devices at 2e11 B/s: ring AR 2 x 3/4 x 3 ms = 4.5 ms; tree 2 x 3 ms = 6 ms;
    # RS, AG, all-to-all 3/4 x 3 ms = 2.25 ms; p2p 3 ms
    assert col.ring_allreduce_time(N, P, W) == pytest.approx(4.5e-3, rel=1e-12)
    assert col.tree_allreduce_time(N, P, W) == pytest.approx(6e-3, rel=1e-12)
    assert col.ring_reduce_scatter_time(N, P, W) == pytest.approx(2.25e-3, rel=1e-12)
    assert col.ring_allgather_time(N, P, W) == pytest.approx(2.25e-3, rel=1e-12)
    assert col.alltoall_time(N, P, W) == pytest.approx(2.25e-3, rel=1e-12)
    assert col.p2p_time(N, W) == pytest.approx(3e-3, rel=1e-12)
    assert col.two_level_alltoall_time(N, P, P, W, W) == pytest.approx(2.25e-3, rel=1e-12)
    assert col.hierarchical_allreduce_time(N, P, 1, W, W) == pytest.approx(4.5e-3, rel=1e-12)
    assert col.hierarchical_allgather_time(N, P, 1, W, W) == pytest.approx(2.25e-3, rel=1e-12)


def test_one_device_communicates_nothing_whatever_the_latencies():
    for fn in (col.ring_allreduce_time, col.tree_allreduce_time, col.ring_reduce_scatter_time,
               col.ring_allgather_time):
        assert fn(N, 1, W, ALPHA, ETA, HOP) == 0.0, fn.__name__
    assert col.alltoall_time(N, 1, W, ALPHA, ETA) == 0.0
    assert col.two_level_alltoall_time(N, 1, 8, W, W, ALPHA, ETA, ETA) == 0.0
    assert col.hierarchical_allreduce_time(N, 1, 1, W, W, ALPHA, ETA, ETA) == 0.0
    assert col.hierarchical_allgather_time(N, 1, 1, W, W, ALPHA, ETA, ETA) == 0.0


def test_two_devices_communicate():
    # all-to-all over 2: 1/2 x 6e8 / 1.2e11 = 2.5 ms + 3 us
    assert col.alltoall_time(N, 2, W, ALPHA, ETA) == pytest.approx(2.503e-3, rel=1e-12)
    # two-level over 2 devices of one node, scale-up 2e11 at 0.5: 1/2 x 6e8 / 1e11 = 3 ms + 3 us
    assert col.two_level_alltoall_time(N, 2, 2, W, 5e10, ALPHA, 0.5, 0.8) == pytest.approx(3.003e-3, rel=1e-12)
    # tree over 2: 2 x 6e8 / 1.2e11 = 10 ms, 2 log2(2) = 2 steps x 2 us, + 3 us
    assert col.tree_allreduce_time(N, 2, W, ALPHA, ETA, HOP) == pytest.approx(10.007e-3, rel=1e-12)


def test_two_level_and_hierarchical_efficiencies_by_hand():
    # two-level all-to-all of 6e8 B over 8 devices, 4 per node: 3/8 over 2e11 x 0.5 = 2.25 ms,
    # 4/8 over 5e10 x 0.8 = 7.5 ms, + 3 us = 9.753 ms
    assert col.two_level_alltoall_time(N, 8, 4, W, 5e10, ALPHA, 0.5, 0.8) == pytest.approx(9.753e-3, rel=1e-12)
    # hierarchical all-reduce of 8e8 B, 4 devices per node, 2 nodes, scale-up 2e11 at 0.5, node NICs 1e11 at 0.8:
    # RS in node 3/4 x 8e8 / 1e11 = 6 ms; AR of 2e8 over 2 nodes at 1e11 / 4 x 0.8 = 2e10: 2 x 1/2 x 2e8 / 2e10
    # = 10 ms; AG in node 6 ms -> 22 ms (+ 3 us per collective: 22.009 ms)
    assert col.hierarchical_allreduce_time(8e8, 4, 2, W, 1e11, 0.0, 0.5, 0.8) == pytest.approx(22e-3, rel=1e-12)
    assert col.hierarchical_allreduce_time(8e8, 4, 2, W, 1e11, ALPHA, 0.5, 0.8) == pytest.approx(22.009e-3,
                                                                                                 rel=1e-12)
    # hierarchical all-gather: across nodes 1/2 x 2e8 / 2e10 = 5 ms, then in the node 6 ms = 11 ms
    assert col.hierarchical_allgather_time(8e8, 4, 2, W, 1e11, 0.0, 0.5, 0.8) == pytest.approx(11e-3, rel=1e-12)


def test_collectives_broadcast_over_device_arrays():
    devices = np.array([1.0, 2.0, 4.0, 8.0])
    for fn in (col.ring_allreduce_time, col.tree_allreduce_time, col.ring_reduce_scatter_time,
               col.ring_allgather_time):
        sweep = fn(N, devices, W, ALPHA, ETA, HOP)
        assert sweep.shape == (4,)
        for i, p in enumerate(devices):
            assert sweep[i] == pytest.approx(fn(N, float(p), W, ALPHA, ETA, HOP), rel=1e-12), fn.__name__


# ------------------------------------------------------------------------------- training
def test_training_flops_with_every_argument_by_hand():
    # N = 11 parameters, L = 2 layers, d = 7, s = 5, D = 3 tokens
    assert tr.training_flops(11, 3) == 198                                   # 6 x 11 x 3
    assert tr.attention_training_flops(2, 7, 5, 3) == 2520                   # 12 x 2 x 7 x 5 x 3
    assert tr.recompute_flops("selective", 11, 2, 7, 5, 3) == 840            # 4 x 2 x 7 x 5 x 3
    assert tr.recompute_flops("full", 11, 2, 7, 5, 3) == 906                 # 2 x 11 x 3 + 840
    assert tr.recompute_flops("none", 11, 2, 7, 5, 3) == 0


def test_activation_bytes_with_every_argument_by_hand():
    # s = 4, b = 3, h = 8, a = 2 heads, t = 2, d_attn = 16, d_kv = 4, f = 24:
    # split = 4 (16 + 4) / 8 + 4 x 24 / 8 = 10 + 12 = 22; scores 5 a s / h = 5 x 2 x 4 / 8 = 5; sbh = 96
    # no SP: 96 x (10 + 22 / 2 + 5 / 2) = 96 x 23.5 = 2,256; SP: 96 x (5 + 11 + 2.5) = 1,776
    args = dict(attention_dim=16, kv_dim=4, ffn_dim=24)
    assert tr.activation_bytes_per_layer(4, 3, 8, 2, 2, False, True, **args) == pytest.approx(2256)
    assert tr.activation_bytes_per_layer(4, 3, 8, 2, 2, True, True, **args) == pytest.approx(1776)
    assert tr.activation_bytes_per_layer(4, 3, 8, 2, 2, True, False, **args) == pytest.approx(96 * 16)
    # defaults: t = 1, no SP, scores kept, d_attn = d_kv = h, f = 4h: split = 8 + 16 = 24 -> 96 x (10 + 24 + 5)
    assert tr.activation_bytes_per_layer(4, 3, 8, 2) == pytest.approx(96 * 39)
    # a full-recompute checkpoint: 2 s b h = 192; over t = 2 only with SP
    assert tr.checkpoint_bytes_per_layer(4, 3, 8) == pytest.approx(192)
    assert tr.checkpoint_bytes_per_layer(4, 3, 8, 2) == pytest.approx(192)
    assert tr.checkpoint_bytes_per_layer(4, 3, 8, 2, True) == pytest.approx(96)


def test_pipeline_inflight_factor_by_hand():
    # 1F1B: p micro-batches; interleaved: p (1 + (p - 1) / (p v))
    assert tr.pipeline_inflight_factor(4) == 4
    assert tr.pipeline_inflight_factor(4, 1) == 4
    assert tr.pipeline_inflight_factor(4, 2) == pytest.approx(5.5)       # 4 x (1 + 3/8)
    assert tr.pipeline_inflight_factor(4, 3) == pytest.approx(5.0)       # 4 x (1 + 3/12)
    assert tr.pipeline_inflight_factor(1, 2) == pytest.approx(1.0)
    assert np.allclose(tr.pipeline_inflight_factor(np.array([4, 4]), np.array([1, 2])), [4, 5.5])


def test_training_days_by_hand():
    # 8.64e19 FLOPs on 10 devices of 1e14 FLOP/s at MFU 0.5: 8.64e19 / 5e14 = 172,800 s = 2 days
    assert tr.training_days(8.64e19, 10, 1e14, 0.5) == pytest.approx(2.0, rel=1e-12)


# ------------------------------------------------------------------------------- reliability
def test_checkpoint_bytes_defaults_and_arguments():
    # mixed-precision Adam by default: 1e9 x (2 + 12) = 14e9 B; fp32 weights and SGD momentum: 1e9 x (4 + 8)
    assert rel.checkpoint_bytes(1e9) == pytest.approx(14e9)
    assert rel.checkpoint_bytes(1e9, 4, 8) == pytest.approx(12e9)


def test_daly_interval_at_and_beyond_its_bound():
    # delta = 2M exactly: the bound, tau = M (the formula would give 2M x 13/9 - 2M = 8M/9)
    assert rel.daly_interval(2000.0, 1000.0) == pytest.approx(1000.0)
    assert rel.daly_interval(2500.0, 1000.0) == pytest.approx(1000.0)
    assert isinstance(rel.daly_interval(100.0, 1000.0), float)
    assert np.allclose(rel.daly_interval(np.array([100.0, 2500.0]), 1000.0), [383.0317, 1000.0], rtol=1e-5)


# ------------------------------------------------------------------------------- roofline
def test_roofline_defaults_and_gemm_by_hand():
    assert rf.compute_time(1e12, 1e15) == pytest.approx(1e-3)                 # full efficiency by default
    assert rf.memory_time(1e9, 1e12) == pytest.approx(1e-3)
    assert rf.roofline_time(1e12, 2e9, 1e15, 1e12) == pytest.approx(2e-3)
    # GEMM 64 x 256 @ 256 x 128, 2 B: F = 2 x 64 x 128 x 256 = 4,194,304; B = 2 x (16,384 + 32,768 + 8,192)
    # = 114,688. On P = 1e12, W = 1e9: t = max(4.194 us, 114.688 us) = 114.688 us (no overhead by default)
    assert rf.gemm_time(64, 128, 256, 2, 1e12, 1e9) == pytest.approx(114.688e-6, rel=1e-12)
    # at eta_c 0.5, eta_m 0.8 and 1 us of overhead: max(8.389 us, 143.36 us) + 1 us = 144.36 us
    assert rf.gemm_time(64, 128, 256, 2, 1e12, 1e9, 0.5, 0.8, 1e-6) == pytest.approx(144.36e-6, rel=1e-12)
    # compute-bound the other way round (W = 1e15): 4,194,304 / 5e11 = 8.388608 us + 1 us
    assert rf.gemm_time(64, 128, 256, 2, 1e12, 1e15, 0.5, 0.8, 1e-6) == pytest.approx(9.388608e-6, rel=1e-9)


def test_overlap_exponent_may_be_an_array_of_draws():
    # (3^1 + 4^1) = 7 and sqrt(9 + 16) = 5
    assert np.allclose(rf.overlapped_time(3.0, 4.0, np.array([1.0, 2.0])), [7.0, 5.0])
    assert rf.overlapped_time(3.0, 4.0) == 4.0
    assert rf.overlapped_time(3.0, 4.0, np.float64(math.inf)) == 4.0


# ------------------------------------------------------------------------------- elementwise helpers
def test_array_helpers_mix_scalars_and_arrays():
    assert np.array_equal(_array.minimum(np.array([1.0, 5.0]), 3.0), [1.0, 3.0])
    assert np.array_equal(_array.minimum(3.0, np.array([1.0, 5.0])), [1.0, 3.0])
    assert np.array_equal(_array.maximum(np.array([1.0, 5.0]), 3.0), [3.0, 5.0])
    assert np.array_equal(_array.where(False, np.array([1.0, 2.0]), 0.0), [0.0, 0.0])
    assert np.array_equal(_array.where(True, 0.0, np.array([1.0, 2.0])), [0.0, 0.0])
    assert np.array_equal(_array.where(np.array([True, False]), 1.0, 2.0), [1.0, 2.0])
    assert np.array_equal(_array.power(np.array([2.0, 3.0]), 2.0), [4.0, 9.0])
    assert _array.minimum(2.0, 3.0) == 2.0 and _array.maximum(2.0, 3.0) == 3.0 and _array.power(2.0, 3.0) == 8.0


@given(st.integers(-20, 20), st.integers(-5, 5), st.integers(-20, 20), st.integers(-5, 5), st.integers(0, 30),
       st.floats(0.0, 1.0))
def test_sum_max_affine_equals_brute_force_everywhere(a0, a1, b0, b1, n, frac):
    # integer slopes and intercepts (ties and crossings at whole steps) plus a fractional shift of one intercept
    a0 = a0 + frac
    brute = sum(max(a0 + a1 * i, b0 + b1 * i) for i in range(n))
    assert _array.sum_max_affine(a0, a1, b0, b1, n) == pytest.approx(brute, rel=1e-12, abs=1e-9)


def test_sum_max_affine_returns_a_float_for_scalars():
    assert isinstance(_array.sum_max_affine(1.0, 0.0, 0.0, 0.0, 3), float)


# ------------------------------------------------------------------------------- queueing
def test_queues_with_every_argument_by_hand():
    # P-K at rho = 0.8 (lambda 8/s, S 0.1 s), C_s^2 = 0.5: 0.8 x 0.1 x 1.5 / (2 x 0.2) = 0.3 s
    assert qu.pk_mean_wait(8, 0.1, 0.5) == pytest.approx(0.3)
    # Kingman at rho 0.8, S 0.1 s, C_a^2 1, C_s^2 0.5: 0.8 / 0.2 x 1.5 / 2 x 0.1 = 0.3 s
    assert qu.kingman_mean_wait(0.8, 0.1, 1.0, 0.5) == pytest.approx(0.3)
    # M/M/2 with lambda = 2/s, mu = 2/s per server: a = 1, C(2, 1) = 1/3, W_q = (1/3) / (4 - 2) = 1/6 s
    assert qu.mmc_mean_wait(2, 2.0, 2.0) == pytest.approx(1 / 6)
    # an idle M/M/c never waits: C(2, 0) = 0
    assert qu.erlang_c(2, 0.0) == 0.0


def test_unstable_queues_wait_forever():
    # rho = 1.5 (beyond the stability bound; the formulas alone would give negative waits)
    assert qu.kingman_mean_wait(1.5, 0.1, 1.0, 0.5) == math.inf
    assert qu.pk_mean_wait(15, 0.1, 0.5) == math.inf
    assert qu.mm1_mean_wait(15, 10) == math.inf and qu.mm1_response_quantile(0.99, 15, 10) == math.inf
    assert qu.mmc_mean_wait(2, 5.0, 2.0) == math.inf
    assert qu.erlang_c(2, 3.0) == 1.0 and qu.erlang_c(2, 2.0) == pytest.approx(1.0)
    assert sch.md1_mean_wait(1.5, 0.1) == math.inf and sch.md1_mean_wait(1.0, 0.1) == math.inf
    assert qu.exponential_wait_quantile(0.99, math.inf, 0.5) == math.inf


def test_queueing_scalars_are_floats_and_arrays_broadcast():
    for value in (qu.mm1_mean_wait(8, 10), qu.mm1_response_quantile(0.99, 8, 10), qu.pk_mean_wait(8, 0.1, 0.5),
                  qu.kingman_mean_wait(0.8, 0.1, 1.0, 0.5), qu.exponential_wait_quantile(0.99, 0.4, 0.8),
                  qu.erlang_c(2, 1.0), qu.mmc_mean_wait(2, 2.0, 2.0), sch.md1_mean_wait(0.5, 0.1),
                  sch.poisson_quantile(0.99, 100.0)):
        assert type(value) is float
    assert np.allclose(sch.md1_mean_wait(np.array([0.5, 0.8]), 0.1), [0.05, 0.2])
    assert np.allclose(qu.erlang_c(2, np.array([0.0, 1.0, 3.0])), [0.0, 1 / 3, 1.0])


def test_batch_formation_at_time_zero():
    # at t = 0 only the last request of the batch has nothing to wait for: P(F <= 0) = 1/b
    assert qu.batch_formation_cdf(0.0, 100, 3) == pytest.approx(1 / 3)
    assert qu.batch_formation_cdf(-1.0, 100, 5) == pytest.approx(1 / 5)
    assert np.allclose(qu.batch_formation_cdf(np.array([0, 0]), 100, 3), [1 / 3, 1 / 3])


# ------------------------------------------------------------------------------- scheduling
def test_poisson_quantile_by_hand():
    # z(0.99) = 2.326348: 100 + 2.326348 x 10 + (5.411894 - 1) / 6 = 100 + 23.26348 + 0.735316 = 123.998795
    assert sch.poisson_quantile(0.99, 100.0) == pytest.approx(123.998795, rel=1e-6)
    # mean 0.5: 0.5 + 2.326348 x 0.707107 + 0.735316 = 2.880292
    assert sch.poisson_quantile(0.99, 0.5) == pytest.approx(2.880292, rel=1e-5)
    # the median of a mean of 4: 4 + 0 + (0 - 1) / 6 = 3.833333
    assert sch.poisson_quantile(0.5, 4.0) == pytest.approx(3.833333, rel=1e-6)
    # no sequences: none at any percentile (negative means are clipped)
    assert sch.poisson_quantile(0.99, 0.0) == 0.0 and sch.poisson_quantile(0.99, -3.0) == 0.0


def test_md1_mean_wait_by_hand():
    # rho 0.8, S 0.1 s: 0.8 x 0.1 / (2 x 0.2) = 0.2 s
    assert sch.md1_mean_wait(0.8, 0.1) == pytest.approx(0.2)


# ------------------------------------------------------------------------------- input pipeline, KV cache
def test_pipeline_stages_by_hand():
    assert pp.overlapped_step(5.0, 2.0, 3.0) == 5.0 and pp.overlapped_step(2.0, 5.0, 3.0) == 5.0
    assert pp.sequential_step(5.0, 2.0, 3.0) == 10.0
    # exactly enough: 0.5 x 100 samples/s / 10 per core = 5 cores, not 6
    assert pp.cores_needed(100, 10, 0.5) == 5
    assert pp.cores_needed(101, 10, 0.5) == 6


def test_kv_budget_by_hand():
    # half a sequence's worth of memory holds none; a negative budget (weights do not fit) holds none
    assert kv_cache.sequences_that_fit(0.5, 1.0) == 0.0
    assert kv_cache.sequences_that_fit(-5.0, 2.0) == 0.0
    assert kv_cache.sequences_that_fit(10.0, 3.0) == 3.0 and type(kv_cache.sequences_that_fit(10.0, 3.0)) is float
    assert kv_cache.contiguous_reserved_tokens(100, 4096) == 4096
    assert np.array_equal(kv_cache.contiguous_reserved_tokens(np.array([1, 100]), 4096), [4096, 4096])


# ------------------------------------------------------------------------------- operators
def test_attention_operators_with_every_argument_by_hand():
    # b = 2, h = 3 query heads, q = 5, c = 7, d = 11: 2 x 2 x 3 x 5 x 7 x 11 = 4,620 FLOPs each
    assert ops.attention_score_flops(2, 3, 5, 7, 11) == 4620
    assert ops.attention_value_flops(2, 3, 5, 7, 11) == 4620
    # b = 2, h = 4, g = 2 KV heads, q = 3, c = 5, d = 7, activations 2 B, KV 1 B:
    # scores: Q 2 x 2 x 4 x 3 x 7 = 336, K 1 x 2 x 2 x 5 x 7 = 140, S 2 x 2 x 4 x 3 x 5 = 240 -> 716
    assert ops.attention_score_bytes(2, 4, 2, 3, 5, 7, 2, 1) == 716
    # values: P 240, V 140, O 336 -> 716; with q = 1 (decode): 80 + 140 + 112 = 332
    assert ops.attention_value_bytes(2, 4, 2, 3, 5, 7, 2, 1) == 716
    assert ops.attention_value_bytes(2, 4, 2, 1, 5, 7, 2, 1) == 332
    assert ops.attention_score_bytes(2, 4, 2, 1, 5, 7, 2, 1) == 332


def test_elementwise_and_conv_arguments_by_hand():
    assert ops.elementwise_flops(10, 3) == 30
    # 10 elements of 2 B, 2 reads + 1 write, 5 parameters of 4 B: 60 + 20 = 80 (parameters in act bytes: 70)
    assert ops.elementwise_bytes(10, 2, reads=2, writes=1, parameters=5, parameter_bytes=4) == 80
    assert ops.elementwise_bytes(10, 2, reads=2, writes=1, parameters=5) == 70
    # 'same' padding and stride 1 by default: 8 -> 8; stride 2, no padding: (8 - 3) // 2 + 1 = 3
    assert ops.conv2d_output_size(8, 3) == 8
    assert ops.conv2d_output_size(8, 3, 2, 0) == 3
    # 2 images, 4 x 4 out, 3 -> 4 channels, 3 x 3: 2 x 2 x 16 x 4 x 3 x 9 = 6,912
    assert ops.conv2d_flops(2, 4, 4, 3, 4, 3) == 6912


def test_cnn_layer_costs_of_every_kind_by_hand():
    # batch 2, weights 1 B, activations 2 B
    layers = [
        # conv 8x8x3 -> 4 channels, 3x3 stride 2, padding 1: out (8 + 2 - 3) // 2 + 1 = 4
        #   FLOPs 2 x 2 x 4 x 4 x 4 x 3 x 9 = 6,912; bytes 2 x 2 x (8x8x3 + 4x4x4) + 9 x 3 x 4 = 1,024 + 108 = 1,132
        ("c", "conv", 8, 3, 4, 3, 2, 1),
        # grouped conv 4x4x4 -> 4, 3x3 stride 1, 2 groups: out 4; FLOPs 2 x 2 x 16 x 4 x 2 x 9 = 4,608;
        #   bytes 2 x 2 x (64 + 64) + 9 x 2 x 4 = 512 + 72 = 584
        ("g", "conv", 4, 4, 4, 3, 1, 2),
        # pool 4x4x4, 2x2 stride 2, padding 1: out (4 + 2 - 2) // 2 + 1 = 3; 2 x 3 x 3 x 4 = 72 outputs x 4 FLOPs
        #   = 288; bytes 2 x 2 x (4x4x4 + 3x3x4) = 4 x 100 = 400
        ("p", "pool", 4, 4, 4, 2, 2, 4),
        # residual add of a 3x3x4 map: 72 elements, 1 FLOP each; reads the shortcut once: 2 x 72 = 144 B
        ("a", "add", 3, 4, 4, 1, 1, 1),
        # fc 36 -> 10 on 2 images: 2 x 2 x 10 x 36 = 1,440 FLOPs; 2 x (2 x 36 + 2 x 10) + 36 x 10 = 544 B
        ("f", "fc", 1, 36, 10, 1, 1, 1),
    ]
    costs = ops.cnn_layer_costs(layers, 2, 1, 2)
    assert [c[0] for c in costs] == ["c", "g", "p", "a", "f"]
    assert [c[1] for c in costs] == pytest.approx([6912, 4608, 288, 72, 1440])
    assert [c[2] for c in costs] == pytest.approx([1132, 584, 400, 144, 544])


def test_queues_at_the_stability_bound_are_infinite_without_warnings():
    # rho = 1 exactly: each formula divides by zero on purpose (numpy warnings are errors in these tests)
    assert qu.mm1_mean_wait(10.0, 10.0) == math.inf
    assert qu.mm1_response_quantile(0.99, 10.0, 10.0) == math.inf
    assert qu.pk_mean_wait(10.0, 0.1, 0.5) == math.inf
    assert qu.kingman_mean_wait(1.0, 0.1, 1.0, 0.5) == math.inf
    assert qu.mmc_mean_wait(2, 4.0, 2.0) == math.inf
    assert sch.md1_mean_wait(1.0, 0.1) == math.inf
    # nobody waits: a zero mean wait with zero probability of waiting has a zero quantile
    assert qu.exponential_wait_quantile(0.99, 0.0, 0.0) == 0.0
