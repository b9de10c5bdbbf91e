"""TrainingMemoryModel: its defaults are the documented ones, a Node or a Fleet stands for its
accelerator, and the header shows every input."""
import mlsysim
import pytest

M = mlsysim.TrainingMemoryModel()

EXPLICIT = dict(micro_batch_size=1, tensor_parallel=1, pipeline_parallel=1, data_parallel=1, expert_parallel=1,
                zero_stage=0, recompute="none", sequence_parallel=False, flash_attention=True, precision="bf16",
                optimizer="adam")


def test_defaults_are_the_documented_ones():
    default = M.solve("Llama3_8B", "H100", 2048)
    assert default.to_dict() == M.solve("Llama3_8B", "H100", 2048, **EXPLICIT).to_dict()
    # each default matters: moving it moves the answer (so the comparison above has teeth)
    for change in (dict(micro_batch_size=2), dict(recompute="full"), dict(flash_attention=False),
                   dict(precision="fp32"), dict(optimizer="sgd"), dict(data_parallel=2, zero_stage=1),
                   dict(tensor_parallel=2, sequence_parallel=True)):
        assert M.solve("Llama3_8B", "H100", 2048, **{**EXPLICIT, **change}).to_dict() != default.to_dict(), change
    # bf16 weights of Llama-3-8B on one device: 8,030,261,248 x 2 = 16,060,522,496 B
    assert default.weights.to("byte").m == pytest.approx(16_060_522_496)
    mixtral = dict(EXPLICIT, data_parallel=8, expert_parallel=8, zero_stage=1)
    assert M.solve("Mixtral_8x7B", "H100", 2048, **mixtral).to_dict() != \
        M.solve("Mixtral_8x7B", "H100", 2048, **dict(mixtral, expert_parallel=1)).to_dict()


def test_a_node_or_fleet_stands_for_its_accelerator():
    fleet = mlsysim.Fleet.from_system("DGX_H100", 2)
    assert M.solve("Llama3_8B", fleet, 2048).to_dict() == M.solve("Llama3_8B", "H100", 2048).to_dict()
    assert M.solve("Llama3_8B", fleet, 2048).inputs["hardware"].key == "H100"


def test_header_shows_every_input():
    r = M.solve("Llama3_8B", "H100", 2048, micro_batch_size=2, tensor_parallel=2, pipeline_parallel=2,
                data_parallel=2, zero_stage=1, recompute="selective", sequence_parallel=True,
                flash_attention=False, precision="BF16", optimizer="adam")
    assert repr(r).splitlines()[0] == (
        "Training memory per device: Llama3_8B on H100 (seq_len=2,048, micro_batch_size=2, tensor_parallel=2, "
        "pipeline_parallel=2, data_parallel=2, expert_parallel=1, zero_stage=1, recompute=selective, "
        "sequence_parallel=yes, flash_attention=no, precision=bf16, optimizer=adam)")
    assert r.inputs["precision"] == "bf16"


def test_header_of_the_defaults():
    r = M.solve("Llama3_8B", "H100", 2048)
    assert repr(r).splitlines()[0] == (
        "Training memory per device: Llama3_8B on H100 (seq_len=2,048, micro_batch_size=1, tensor_parallel=1, "
        "pipeline_parallel=1, data_parallel=1, expert_parallel=1, zero_stage=0, recompute=none, "
        "sequence_parallel=no, flash_attention=yes, precision=bf16, optimizer=adam)")
    # unsharded, 8B parameters with Adam need 137.4 GB: more than one H100
    assert r.inputs["model"].key == "Llama3_8B" and r.feasible is False
