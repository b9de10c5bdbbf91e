"""What a training configuration refuses (mlsysim/solvers/training/_plan.py, shared by TrainingMemoryModel and
TrainingModel): the parameter it names and the exact message, one check at a time."""
from __future__ import annotations

import re

import numpy as np
import pytest

from mlsysim import Fleet, TrainingMemoryModel, TrainingModel
from mlsysim.errors import InputError

REFUSED = [
    ("ResNet50", {}, "model", "expected a transformer (decoder or encoder) model, got 'ResNet50' (ResNet50 is a cnn; "
                              "training memory and time follow transformer layers)"),
    ("Llama3_8B", {"seq_len": 512.5}, "seq_len",
     "expected an integer > 0 (plain number in token, or a Quantity convertible to token), got 512.5"),
    ("Llama3_8B", {"micro_batch_size": 1.5}, "micro_batch_size", "expected an integer >= 1, got 1.5"),
    ("Llama3_8B", {"tensor_parallel": 1.5}, "tensor_parallel", "expected an integer >= 1, got 1.5"),
    ("Llama3_8B", {"tensor_parallel": 3}, "tensor_parallel", "expected a divisor of Llama3_8B's 32 attention heads, "
                                                             "got 3"),
    ("Llama3_8B", {"pipeline_parallel": 0}, "pipeline_parallel", "expected an integer >= 1, got 0"),
    ("Llama3_8B", {"pipeline_parallel": 64}, "pipeline_parallel", "expected at most Llama3_8B's 32 layers, got 64"),
    ("Llama3_8B", {"data_parallel": 0}, "data_parallel", "expected an integer >= 1, got 0"),
    ("Llama3_8B", {"expert_parallel": 0}, "expert_parallel", "expected an integer >= 1, got 0"),
    ("Llama3_8B", {"expert_parallel": 2, "data_parallel": 2}, "expert_parallel",
     "expected 1 for a dense model, got 2 (Llama3_8B has no experts)"),
    ("Mixtral_8x7B", {"expert_parallel": 3, "data_parallel": 3}, "expert_parallel",
     "expected a divisor of Mixtral_8x7B's 8 experts, got 3"),
    ("Mixtral_8x7B", {"expert_parallel": 4, "data_parallel": 2}, "expert_parallel",
     "expected a divisor of data_parallel (expert-parallel groups are carved out of the data-parallel ranks), got 4"),
    ("Llama3_8B", {"zero_stage": 1.5}, "zero_stage", "expected an integer >= 0 and <= 3, got 1.5"),
    ("Llama3_8B", {"zero_stage": -1}, "zero_stage", "expected an integer >= 0 and <= 3, got -1"),
    ("Llama3_8B", {"zero_stage": 4}, "zero_stage", "expected an integer >= 0 and <= 3, got 4"),
    ("Llama3_8B", {"recompute": "some"}, "recompute", "expected one of 'none', 'selective', 'full', got 'some'"),
    ("Llama3_8B", {"sequence_parallel": "yes"}, "sequence_parallel", "expected True or False, got 'yes'"),
    ("Llama3_8B", {"flash_attention": 1}, "flash_attention", "expected True or False, got 1"),
    ("Llama3_8B", {"precision": "fp8"}, "precision",
     "expected a training precision (bf16, fp16, fp32); weights, gradients and activations are kept in it, with "
     "fp32 optimizer states, got 'fp8'"),
    ("Llama3_8B", {"optimizer": "lion"}, "optimizer", "expected one of adam, sgd, got 'lion'"),
]


@pytest.mark.parametrize("model,kwargs,parameter,message", REFUSED)
def test_memory_model_refusals(model, kwargs, parameter, message):
    kwargs = dict(kwargs)
    seq_len = kwargs.pop("seq_len", 2048)
    with pytest.raises(InputError, match="^" + re.escape(f"parameter '{parameter}': {message}") + "$") as err:
        TrainingMemoryModel().solve(model, "H100", seq_len, **kwargs)
    assert err.value.parameter == parameter


def test_step_model_refusals_of_its_own_parameters():
    fleet = Fleet.from_system("DGX_H100", 1)
    with pytest.raises(InputError, match=r"^parameter 'virtual_stages': expected an integer >= 1, got 0$"):
        TrainingModel().solve("Llama3_8B", fleet, 2048, 8, virtual_stages=0)
    with pytest.raises(InputError, match=r"^parameter 'capacity_factor': expected a number >= 1, got 0\.5$"):
        TrainingModel().solve("Mixtral_8x7B", fleet, 2048, 8, capacity_factor=0.5)


def test_a_sweep_is_refused_when_any_point_is():
    # pipeline degrees 1 and 64 for a 32-layer model: the 64 is beyond the layers
    with pytest.raises(InputError, match=r"^parameter 'pipeline_parallel': expected at most Llama3_8B's 32 layers"):
        TrainingMemoryModel().solve("Llama3_8B", "H100", 2048, pipeline_parallel=np.array([1, 64]))
    # and a sweep whose points are all allowed is not
    ok = TrainingMemoryModel().solve("Llama3_8B", "H100", 2048, pipeline_parallel=np.array([1, 32]))
    assert ok.activations.m.shape == (2,)
