"""Every public entry point rejects bad input with a clear, named error."""
import math

import numpy as np
import pytest

import mlsysim
from mlsysim import Q_
from mlsysim.errors import InputError, MlsysimError, UnknownNameError

SERVE = mlsysim.ServingModel().solve


@pytest.mark.parametrize("kwargs, parameter", [
    (dict(seq_len=0), "seq_len"),
    (dict(seq_len=-5), "seq_len"),
    (dict(seq_len=1.5), "seq_len"),
    (dict(seq_len=math.nan), "seq_len"),
    (dict(seq_len="long"), "seq_len"),
    (dict(seq_len=None), "seq_len"),
    (dict(seq_len=True), "seq_len"),
    (dict(seq_len=512, batch_size=0), "batch_size"),
    (dict(seq_len=512, batch_size=np.array([1, -1])), "batch_size"),
    (dict(seq_len=512, batch_size=np.array([1, np.nan])), "batch_size"),
    (dict(seq_len=512, tensor_parallel=0), "tensor_parallel"),
    (dict(seq_len=Q_("3 GB")), "seq_len"),
])
def test_serving_rejects_bad_numbers(kwargs, parameter):
    with pytest.raises(InputError) as info:
        SERVE("Llama3_8B", "H100", **kwargs)
    assert info.value.parameter == parameter
    assert f"parameter '{parameter}'" in str(info.value)


def test_quantity_inputs_with_right_units_work():
    r = SERVE("Llama3_8B", "H100", seq_len=Q_(512, "token"))
    assert r.feasible


def test_unknown_names_and_precisions():
    with pytest.raises(UnknownNameError, match="did you mean"):
        SERVE("Llama3_8b_typo", "H100", 512)
    with pytest.raises(UnknownNameError, match="hardware"):
        SERVE("Llama3_8B", "H1OO", 512)
    with pytest.raises(UnknownNameError, match="precision"):
        SERVE("Llama3_8B", "H100", 512, precision="fp12")
    with pytest.raises(InputError, match="'precision'"):
        SERVE("Llama3_8B", "H100", 512, precision=16)
    with pytest.raises(InputError, match="'model'"):
        SERVE(42, "H100", 512)


def test_engine_and_reasoning_bad_input():
    with pytest.raises(InputError, match="'batch_size'"):
        mlsysim.Engine.solve("ResNet50", "H100", batch_size=-1)
    with pytest.raises(InputError, match="'reasoning_steps'"):
        mlsysim.InferenceScalingModel().solve("Llama3_8B", "H100", 0, 1000)
    with pytest.raises(InputError, match="'context_length'"):
        mlsysim.InferenceScalingModel().solve("Llama3_8B", "H100", 4, Q_("1 s"))


def test_economics_bad_input():
    fleet = mlsysim.Fleet("f", mlsysim.Node("n", "H100", 8), count=1)
    with pytest.raises(InputError, match="'fleet'"):
        mlsysim.EconomicsModel().solve("not a fleet", 365)
    with pytest.raises(InputError, match="'duration_days'"):
        mlsysim.EconomicsModel().solve(fleet, -1)
    with pytest.raises(InputError, match="'pue'"):
        mlsysim.EconomicsModel().solve(fleet, 365, pue=0.9)
    with pytest.raises(InputError, match="'electricity_price'"):
        mlsysim.EconomicsModel().solve(fleet, 365, electricity_price=Q_("3 GB"))
    # a device without a public price (whatever the catalogue holds today): asks for unit_price
    from dataclasses import replace
    unpriced = replace(mlsysim.Hardware.H100, unit_price=None)
    unpriced_fleet = mlsysim.Fleet("t", mlsysim.Node("n", unpriced, 8), count=1)
    with pytest.raises(InputError, match="'unit_price'") as info:
        mlsysim.EconomicsModel().solve(unpriced_fleet, 365)
    assert info.value.parameter == "unit_price" and "no public unit price" in str(info.value)
    # and with a price given it solves
    assert mlsysim.EconomicsModel().solve(unpriced_fleet, 365, unit_price=30_000).capex_total_usd == pytest.approx(
        8 * (30_000 + 10_000 + 5_000))


def test_systems_bad_input():
    with pytest.raises(InputError, match="'count'"):
        mlsysim.Fleet("f", mlsysim.Node("n", "H100", 8), count=0)
    with pytest.raises(InputError, match="'accelerators_per_node'"):
        mlsysim.Node("n", "H100", 2.5)
    with pytest.raises(UnknownNameError):
        mlsysim.Node("n", "H999", 8)
    with pytest.raises(InputError, match="'bandwidth'"):
        mlsysim.NetworkFabric("ib", Q_("400 GB"))


def test_show_and_exercises_bad_input():
    from mlsysim.show import table
    with pytest.raises(InputError, match="'rows'"):
        table(["a", "b"], [[1]])
    with pytest.raises(UnknownNameError):
        mlsysim.exercises.check("no-such/exercise", 1)


def test_all_user_errors_share_a_base_class():
    for exc in (InputError("x", "y"), UnknownNameError("model", "x", [])):
        assert isinstance(exc, MlsysimError)


@pytest.mark.parametrize("exercise_id, unit, other", [
    ("compute-budget/gpu-hours-8b", "hour", "day"),
    ("compute-budget/double-the-fleet", "day", "hour"),
    ("capstone-audit/half-the-gpus", "day", "hour"),
    ("batching/more-sequences", "1/s", "1/minute"),
    ("kv-cache/lift-sequence-limit", "1/s", "1/minute"),
])
def test_time_and_rate_answers_are_accepted_as_quantities(exercise_id, unit, other):
    """The natural answer (a time or rate straight from a result) is accepted in any unit of
    the right kind; a plain number is read in the exercise's unit."""
    from mlsysim.core.units import Q_
    from mlsysim.exercises import REGISTRY, check

    ex = REGISTRY[exercise_id]
    value = ex.expected(**ex.parameters)            # the engine's answer, in `unit`
    assert ex.unit == unit
    assert check(exercise_id, value).status == "correct"
    assert check(exercise_id, Q_(value, unit).to(other)).status == "correct"
    assert check(exercise_id, Q_(2 * value, unit)).status == "wrong"
    with pytest.raises(InputError, match="convertible"):
        check(exercise_id, Q_(value, "GB"))


def test_design_answers_of_the_wrong_shape_say_what_to_pass():
    from mlsysim.exercises import check, design_answer, one_of

    with pytest.raises(InputError, match=r"parameter 'answer': expected a dict such as \{'gpus': 8\}"):
        design_answer([8], ("gpus",), "{'gpus': 8}")
    with pytest.raises(InputError, match=r"keys gpus, region.*got \"a dict without 'region'\""):
        design_answer({"gpus": 8}, ("gpus", "region"), "{'gpus': 8, 'region': 'france'}")
    with pytest.raises(InputError, match=r"unknown key\(s\) 'extra'"):
        design_answer({"gpus": 8, "extra": 1}, ("gpus",), "{'gpus': 8}")
    assert design_answer({"gpus": 8, "extra": 1}, ("gpus",), "{'gpus': 8}", exact=False) == {"gpus": 8, "extra": 1}
    assert one_of(4, "tensor_parallel", (1, 2, 4, 8)) == 4
    with pytest.raises(InputError, match=r"parameter 'tensor_parallel': expected one of 1, 2, 4, 8, got 3"):
        one_of(3, "tensor_parallel", (1, 2, 4, 8))
    with pytest.raises(InputError, match="tensor_parallel"):      # True == 1 in Python, not here
        one_of(True, "tensor_parallel", (1, 2, 4, 8))
    # through a real design exercise, check reports it as a verdict that says what to pass
    verdict = check("quantization/fewest-gpus", {"precision": "fp8"})
    assert verdict.status == "wrong"
    assert "keys precision, tensor_parallel" in verdict.message
    assert "without 'tensor_parallel'" in verdict.message
