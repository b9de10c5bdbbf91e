"""Invariants of the training engine on many random configurations (hypothesis)."""
from dataclasses import replace

import numpy as np
from hypothesis import given, settings, strategies as st

from mlsysim import ComputeBudgetModel, Fleet, Node, TrainingMemoryModel, TrainingModel
from mlsysim.calibration import DEFAULT
from mlsysim.physics import collectives as col

FEW = settings(max_examples=40, deadline=None)   # per test, so other files' profiles are left alone

DENSE = st.sampled_from(["Llama2_7B", "Llama3_8B", "Llama3_70B", "Llama2_70B", "GPT3"])
POW2 = st.sampled_from([1, 2, 4, 8])
SEQ = st.sampled_from([1024, 2048, 4096, 8192])


@FEW
@given(DENSE, SEQ, POW2, POW2, POW2, st.booleans(), st.booleans())
def test_more_recomputation_never_raises_memory(model, seq, mbs, tp, pp, sp, flash):
    def act(mode):
        return TrainingMemoryModel().solve(model, "H100", seq, mbs, tp, pp, recompute=mode, sequence_parallel=sp,
                                           flash_attention=flash).activations.m
    none, selective, full = act("none"), act("selective"), act("full")
    assert none >= selective >= full
    assert full < none            # strictly: full keeps 2 sbh of the >= 34 sbh a layer stores


@FEW
@given(DENSE, st.sampled_from([2, 4, 8, 16, 64, 256]), st.sampled_from([0, 1, 2, 3]))
def test_zero_shards_model_states_as_one_over_dp(model, dp, stage):
    one = TrainingMemoryModel().solve(model, "H100", 2048, data_parallel=1, zero_stage=stage)
    many = TrainingMemoryModel().solve(model, "H100", 2048, data_parallel=dp, zero_stage=stage)
    # what ZeRO-3 shards falls as exactly 1 / DP; stage 0 shards nothing
    if stage == 3:
        for part in ("weights", "gradients", "optimizer_states"):
            assert np.isclose(getattr(many, part).m * dp, getattr(one, part).m, rtol=1e-12)
    if stage == 0:
        assert np.isclose(many.total.m, one.total.m, rtol=1e-12)
    assert many.total.m <= one.total.m
    # higher stages never hold more
    if stage > 0:
        lower = TrainingMemoryModel().solve(model, "H100", 2048, data_parallel=dp, zero_stage=stage - 1)
        assert many.total.m < lower.total.m


@FEW
@given(DENSE, st.sampled_from([2, 4, 8]), st.integers(min_value=1, max_value=6), st.sampled_from([1, 2]))
def test_bubble_falls_with_more_microbatches(model, pp, k, v):
    fleet = Fleet.from_system("DGX_H100", pp)
    few = TrainingModel().solve(model, fleet, 2048, 8 * k, tensor_parallel=8, pipeline_parallel=pp,
                                virtual_stages=v)
    more = TrainingModel().solve(model, fleet, 2048, 16 * k, tensor_parallel=8, pipeline_parallel=pp,
                                 virtual_stages=v)
    assert more.bubble_fraction < few.bubble_fraction
    # the bubble's share of the step falls too
    assert (more.pipeline_bubble / more.step_time) < (few.pipeline_bubble / few.step_time)


@FEW
@given(DENSE, st.sampled_from([2, 4, 8, 16]), st.floats(min_value=1.2, max_value=8.0))
def test_more_network_bandwidth_strictly_speeds_data_parallel(model, nodes, factor):
    # pure data parallel across nodes, no overlap: the gradient all-reduce must get strictly faster
    slow = Fleet.from_system("DGX_H100", nodes)
    node = slow.node
    fast = Fleet("fast", replace(node, nic_bandwidth=node.nic_bandwidth * factor), nodes)
    kw = dict(tensor_parallel=8, global_batch_size=8 * nodes, overlap_data_parallel=False)
    a = TrainingModel().solve(model, slow, 2048, **kw)
    b = TrainingModel().solve(model, fast, 2048, **kw)
    assert b.data_parallel_comm.m < a.data_parallel_comm.m
    assert b.step_time.m < a.step_time.m


@FEW
@given(st.floats(min_value=1e3, max_value=1e10), st.integers(min_value=2, max_value=4096),
       st.floats(min_value=1e9, max_value=1e12))
def test_collective_volumes(n, p, w):
    # reduce-scatter then all-gather moves what one all-reduce moves (the ring all-reduce is the two)
    ar = col.ring_allreduce_time(n, p, w)
    assert np.isclose(col.ring_reduce_scatter_time(n, p, w) + col.ring_allgather_time(n, p, w), ar, rtol=1e-12)
    # a ring never moves more than 2n per device; a tree moves 2n
    assert ar <= col.tree_allreduce_time(n, p, w) + 1e-15
    # twice the bandwidth halves the transfer exactly
    assert np.isclose(col.ring_allreduce_time(n, p, 2 * w), ar / 2, rtol=1e-12)


@FEW
@given(st.floats(min_value=1e20, max_value=1e27), st.floats(min_value=1.01, max_value=100.0))
def test_compute_optimal_scales_as_square_root(c, k):
    a = ComputeBudgetModel().solve(compute_flops=c)
    b = ComputeBudgetModel().solve(compute_flops=c * k)
    # a = b = 0.5: k times the compute buys sqrt(k) times the parameters and the tokens; C = 6 N D holds
    assert np.isclose(b.parameters.m / a.parameters.m, np.sqrt(k), rtol=1e-9)
    assert np.isclose(b.tokens.m / a.tokens.m, np.sqrt(k), rtol=1e-9)
    assert np.isclose(6 * b.parameters.to("count").m * b.tokens.to("token").m, c * k, rtol=1e-9)


@FEW
@given(st.floats(min_value=1e22, max_value=1e26), st.sampled_from([1, 16, 128]), st.floats(min_value=0.1, max_value=0.7))
def test_days_are_inverse_in_mfu_and_fleet_size(c, nodes, mfu):
    fleet = Fleet.from_system("DGX_H100", nodes)
    one = ComputeBudgetModel().solve(compute_flops=c, parameters=1e10, fleet=fleet, mfu=mfu)
    two = ComputeBudgetModel().solve(compute_flops=c, parameters=1e10, fleet=Fleet.from_system("DGX_H100", 2 * nodes),
                                     mfu=mfu)
    assert np.isclose(two.days.m * 2, one.days.m, rtol=1e-12)
    assert np.isclose(one.gpu_hours.m, two.gpu_hours.m, rtol=1e-12)   # accelerator-hours do not depend on the fleet


@FEW
@given(DENSE, st.sampled_from([1, 2, 4]), st.sampled_from([1024, 4096]))
def test_step_is_the_sum_of_its_parts_and_mfu_below_one(model, pp, seq):
    fleet = Fleet.from_system("DGX_H100", 2 * pp)
    r = TrainingModel().solve(model, fleet, seq, 64, tensor_parallel=8, pipeline_parallel=pp)
    parts = sum(v.to("s").m for v in r.breakdown.values())
    assert np.isclose(parts, r.step_time.to("s").m, rtol=1e-12)
    assert 0 < r.mfu.m <= r.hfu.m < 100      # percent


@FEW
@given(st.sampled_from([0.5, 0.64, 0.8]), st.sampled_from([0.2, 0.39, 0.9]))
def test_faster_hardware_factors_never_slow_a_step(eta, net):
    fleet = Fleet.from_system("DGX_H100", 4)
    base = TrainingModel().solve("Llama3_70B", fleet, 4096, 64, tensor_parallel=8, pipeline_parallel=2,
                                 calibration=DEFAULT.with_(training_gemm_efficiency=eta, network_efficiency=net))
    better = TrainingModel().solve("Llama3_70B", fleet, 4096, 64, tensor_parallel=8, pipeline_parallel=2,
                                   calibration=DEFAULT.with_(training_gemm_efficiency=min(eta * 1.1, 1.0),
                                                             network_efficiency=net))
    assert better.step_time.m < base.step_time.m
    assert Node("x", "H100", 8) is not None
