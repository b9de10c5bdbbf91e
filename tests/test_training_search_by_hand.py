"""The configuration search (mlsysim/solvers/training/search.py): Megatron's rules one at a time, the
throughput objectives maximised, configurations that do not fit skipped, and the expert grid passed on."""
from __future__ import annotations

import numpy as np
import pytest

from mlsysim import Fleet, Node
from mlsysim.solvers.training.search import best_configuration, valid_configurations
from mlsysim.specs.models import model_from_record


def tiny_model(heads=8, hidden=1024):
    # 2 layers of 12 h^2 + a 1,000 x h embedding
    return model_from_record("tiny", {"architecture": "decoder", "parameters": 2 * 12 * hidden ** 2 + 1000 * hidden,
                                      "layers": 2, "hidden_dim": hidden, "heads": heads, "kv_heads": heads,
                                      "head_dim": hidden // heads, "ffn_dim": 4 * hidden, "vocab_size": 1000,
                                      "context_length": 2048}, "test")


def tensor_degrees(model, fleet, batch):
    c = valid_configurations(model, fleet, batch, tensor=(1, 2, 4, 8), pipeline=(1,), micro=(1,), virtual=(1,))
    return sorted(set(c["tensor_parallel"].tolist()))


def test_tensor_parallel_must_divide_the_node_and_the_heads_each():
    # two nodes of 4 GPUs (8 in all): t = 8 divides the fleet (8 / 8 = 1 data-parallel rank) and the 8 heads,
    # but not the node: tensor parallelism would cross nodes. t in {1, 2, 4}
    two_fours = Fleet("two fours", Node("n", "H100", 4), 2)
    assert tensor_degrees(tiny_model(), two_fours, 8) == [1.0, 2.0, 4.0]
    # one node of 8 GPUs and 12 heads (h = 1,536): t = 8 divides the node and the fleet but not the heads
    # (12 = 1.5 x 8); t in {1, 2, 4}
    eight = Fleet("eight", Node("n", "H100", 8), 1)
    assert tensor_degrees(tiny_model(heads=12, hidden=1536), eight, 8) == [1.0, 2.0, 4.0]
    # with 8 heads all four are allowed
    assert tensor_degrees(tiny_model(), eight, 8) == [1.0, 2.0, 4.0, 8.0]


@pytest.mark.parametrize("objective", ["mfu", "hfu", "tokens_per_second", "model_flops_per_device"])
def test_throughput_objectives_are_maximised(objective):
    # for one model and global batch the FLOPs and tokens of a step are fixed, so each of these objectives is
    # a constant / step time: maximising any of them picks the fastest configuration, and the pick holds
    # the largest value of the sweep (not the smallest)
    fleet = Fleet("one", Node("n", "H100", 8), 1)
    grid = dict(tensor=(1, 2, 4, 8), pipeline=(1, 2), micro=(1, 2), virtual=(1,))
    fastest, sweep, i = best_configuration(tiny_model(), fleet, 512, 8, **grid)
    best, sweep, j = best_configuration(tiny_model(), fleet, 512, 8, objective=objective, **grid)
    assert best == fastest and j == i
    values = getattr(sweep, objective).m
    assert values[j] == np.max(values) and values[j] > np.min(values)


def test_configurations_that_do_not_fit_are_skipped_even_when_fastest():
    # Llama-2-13B (13.0e9 parameters) on one DGX H100 without ZeRO: 16 B per parameter = 208 GB of model
    # states over the t x p devices of a model copy: 208 GB and 104 GB do not fit 80 GB, 52 GB (+ activations)
    # does. Only t x p >= 4 fits.
    fleet = Fleet.from_system("DGX_H100", 1)
    grid = dict(tensor=(1, 2, 4, 8), pipeline=(1, 2), micro=(1,), virtual=(1,))
    best, sweep, i = best_configuration("Llama2_13B", fleet, 4096, 8, zero_stage=0, **grid)
    t, p = sweep.inputs["tensor_parallel"], sweep.inputs["pipeline_parallel"]
    assert np.array_equal(sweep.feasible, t * p >= 4)
    times = sweep.step_time.to("s").m
    assert not sweep.feasible[np.argmin(times)]          # the fastest of all needs more than 80 GB
    assert times[i] == np.min(times[t * p >= 4]) and best["tensor_parallel"] * best["pipeline_parallel"] >= 4


def test_the_expert_grid_is_searched():
    # Mixtral (8 experts) on 2 DGX H100 nodes, TP 8, PP 1: DP 2, so expert parallel 1 or 2 (4 would not divide
    # DP); both are solved and the pick is one of them
    fleet = Fleet.from_system("DGX_H100", 2)
    best, sweep, i = best_configuration("Mixtral_8x7B", fleet, 4096, 16, tensor=(8,), pipeline=(1,), micro=(1,),
                                        virtual=(1,), expert=(1, 2, 4))
    assert sweep.inputs["expert_parallel"].tolist() == [1.0, 2.0]
    assert best["expert_parallel"] in (1, 2) and best["data_parallel"] == 2
