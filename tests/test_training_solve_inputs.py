"""TrainingModel.solve's inputs: the documented defaults, the exact messages of what it refuses, and
the rows a TrainingResult prints (its nested memory result is not one of them)."""
from __future__ import annotations

import re

import pytest

from mlsysim import Fleet, Node, TrainingModel
from mlsysim.errors import InputError
from mlsysim.specs.models import model_from_record


def tiny_model():
    # 2 layers of 12 h^2 at h = 1024 (25,165,824) + a 1,000 x 1,024 embedding (1,024,000) = 26,189,824
    return model_from_record("tiny", {"architecture": "decoder", "parameters": 26_189_824, "layers": 2,
                                      "hidden_dim": 1024, "heads": 8, "kv_heads": 8, "head_dim": 128,
                                      "ffn_dim": 4096, "vocab_size": 1000, "context_length": 2048}, "test")


def test_the_documented_defaults():
    # the class docstring: micro_batch_size=1, data_parallel=None (the rest of the fleet), expert_parallel=1,
    # virtual_stages=1, zero_stage=1, recompute="selective", sequence_parallel=True, precision="bf16",
    # overlap_data_parallel=True, flash_attention=True, capacity_factor=1.25, optimizer="adam".
    # A configuration where each of them shows: TP 2 (sequence parallel), PP 2 (interleaving), DP 4 over
    # 2 nodes (ZeRO stage, overlap), 2 micro-batches, selective recomputation (FlashAttention or not)
    fleet = Fleet.from_system("DGX_H100", 2)
    default = TrainingModel().solve(tiny_model(), fleet, 512, 8, tensor_parallel=2, pipeline_parallel=2)
    explicit = TrainingModel().solve(tiny_model(), fleet, 512, 8, micro_batch_size=1, tensor_parallel=2,
                                     pipeline_parallel=2, data_parallel=4, expert_parallel=1, virtual_stages=1,
                                     zero_stage=1, recompute="selective", sequence_parallel=True, precision="bf16",
                                     overlap_data_parallel=True, flash_attention=True, capacity_factor=1.25,
                                     optimizer="adam")
    for name in ("step_time", "memory_per_device", "bubble_fraction") + explicit.PARTS:
        assert getattr(default, name).m == getattr(explicit, name).m, name
    # and each default matters here: changing any one changes the step or the memory
    for change in (dict(virtual_stages=2), dict(zero_stage=2), dict(sequence_parallel=False),
                   dict(overlap_data_parallel=False), dict(flash_attention=False)):
        other = TrainingModel().solve(tiny_model(), fleet, 512, 8, tensor_parallel=2, pipeline_parallel=2, **change)
        assert (other.step_time.m, other.memory_per_device.m) != (default.step_time.m,
                                                                   default.memory_per_device.m), change


def _refused(message, parameter, model="Llama3_70B", fleet=None, **kwargs):
    fleet = Fleet.from_system("DGX_H100", 8) if fleet is None else fleet
    args = {"global_batch_size": 64, "tensor_parallel": 8}
    args.update(kwargs)
    with pytest.raises(InputError, match="^" + re.escape(message) + "$") as err:
        TrainingModel().solve(model, fleet, 4096, **args)
    assert err.value.parameter == parameter


def test_refusals_name_the_parameter_and_what_was_expected():
    _refused("parameter 'fleet': expected a mlsysim.Fleet (e.g. mlsysim.Fleet.from_system('DGX_H100', 16)), "
             "got 'str'", "fleet", fleet="H100")
    # 8 x 3 = 24 does not divide 64 accelerators
    _refused("parameter 'tensor_parallel': expected tensor x pipeline parallel dividing the fleet's 64 accelerators, "
             "got '8 x 3'", "tensor_parallel", pipeline_parallel=3)
    # degrees are whole numbers, checked before anything is multiplied by them
    _refused("parameter 'tensor_parallel': expected an integer > 0, got 2.5", "tensor_parallel", tensor_parallel=2.5)
    _refused("parameter 'pipeline_parallel': expected an integer > 0, got 1.5", "pipeline_parallel",
             pipeline_parallel=1.5)
    _refused("parameter 'data_parallel': expected an integer > 0, got 2.5", "data_parallel", data_parallel=2.5)
    _refused("parameter 'global_batch_size': expected an integer > 0, got 64.5", "global_batch_size",
             global_batch_size=64.5)
    _refused("parameter 'micro_batch_size': expected an integer > 0, got 1.5", "micro_batch_size",
             micro_batch_size=1.5)
    # 8 x 1 x 3 = 24 accelerators, not 64
    _refused("parameter 'data_parallel': expected tensor x pipeline x data parallel = the fleet's 64 accelerators, "
             "got '8 x 1 x 3'", "data_parallel", data_parallel=3)
    # 3 nodes: 6 x 1 divides 24 accelerators, but not a node's 8
    _refused("parameter 'tensor_parallel': expected a divisor of the node's 8 accelerators (tensor-parallel traffic "
             "stays inside a node), got 6", "tensor_parallel", fleet=Fleet.from_system("DGX_H100", 3),
             tensor_parallel=6, global_batch_size=4)
    _refused("parameter 'overlap_data_parallel': expected True or False, got 'yes'", "overlap_data_parallel",
             overlap_data_parallel="yes")
    _refused("parameter 'fleet': expected a node that states its NICs (mlsysim.Node.from_system('DGX_H100'), or "
             "Node(..., nics=8, nic_bandwidth=Q_(400, 'Gbit/s'))) or a fabric bandwidth, got 'f' (2 nodes need a "
             "scale-out network)", "fleet", fleet=Fleet("f", Node("x", "H100", 8), 2), global_batch_size=16)
    # 100 sequences do not split over 1 x 8 (micro-batch x data parallel); the detail says what they must split over
    with pytest.raises(InputError, match=r"^parameter 'global_batch_size': expected a multiple of micro_batch_size x "
                                         r"data_parallel, got 100 \(micro_batch_size x data_parallel = 1(\.0)? x "
                                         r"8(\.0)?\)$"):
        TrainingModel().solve("Llama3_70B", Fleet.from_system("DGX_H100", 8), 4096, 100, tensor_parallel=8)


def test_printed_rows_leave_the_memory_breakdown_to_its_own_result():
    r = TrainingModel().solve(tiny_model(), Fleet("one", Node("n", "H100", 1), 1), 512, 2, recompute="none")
    labels = [re.split(r"\s{2,}", line.strip())[0] for line in repr(r).splitlines()[1:]]
    assert labels == ["Step time", "Tokens per second", "Model FLOP/s per device", "Model FLOPs utilization (MFU)",
                      "Hardware FLOPs utilization (HFU)", "Pipeline bubble / ideal time", "compute",
                      "tensor-parallel all-reduces", "expert all-to-alls", "pipeline sends", "pipeline bubble",
                      "data-parallel gradients (exposed)", "optimizer step", "Data-parallel degree",
                      "Micro-batches per step", "Layers on the pacing stage", "Largest stage / mean stage",
                      "Memory per device", "Feasible"]
    assert "<th style='text-align:left'>Memory</th>" not in r._repr_html_()
    assert "Activations" in repr(r.memory)          # the breakdown is there, as a result of its own


def test_the_header_and_inputs_name_what_was_solved():
    r = TrainingModel().solve(tiny_model(), Fleet("one", Node("n", "H100", 1), 1), 512, 2, recompute="none")
    assert repr(r).splitlines()[0] == (
        "Training step: tiny (fleet=one, accelerators=1, seq_len=512, global_batch_size=2, micro_batch_size=1, "
        "tensor_parallel=1, pipeline_parallel=1, expert_parallel=1, virtual_stages=1, zero_stage=1, recompute=none, "
        "sequence_parallel=yes, precision=bf16)")
    assert r.inputs["model"].key == "tiny" and r.inputs["fleet"] == "one"


def test_the_nested_memory_result_says_whether_it_fits_and_why():
    # Llama-2-13B without ZeRO on one H100: 16 B x 13.0e9 parameters = 208 GB of model states alone
    r = TrainingModel().solve("Llama2_13B", Fleet("one", Node("n", "H100", 1), 1), 4096, 1, zero_stage=0)
    assert r.memory.feasible is False and not r.feasible
    assert r.memory.reasons[0].startswith("memory: needs ") and r.memory.reasons == r.reasons
    assert set(r.memory.inputs) == {"model", "hardware"}
    assert repr(r.memory).splitlines()[0] == "Training memory per device: Llama2_13B on H100"
