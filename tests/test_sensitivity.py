"""Uncertainty from the validation errors: the stored spreads, the Monte Carlo, bad input."""

import numpy as np
import pytest

import mlsysim
from mlsysim import sensitivity
from mlsysim.calibration import DEFAULT
from mlsysim.errors import InputError


def test_stored_spreads_are_the_derived_ones():
    derived = sensitivity.derive_spreads()
    for name in sensitivity.TIMED:
        assert sensitivity.SPREADS[name] == pytest.approx(derived[name], abs=0.002), name


def test_interval_of_a_lognormal_factor_by_hand():
    # ln(memory_efficiency) ~ N(ln 0.83, 0.143^2): median 0.83; the 80% interval is
    # 0.83 x exp(-+1.2816 x 0.143) = 0.83 x (0.8325, 1.2012) = (0.6910, 0.9970)
    iv = sensitivity.uncertainty(lambda cal: cal.memory_efficiency, n=200_000, factors=["memory_efficiency"])
    assert iv.median == pytest.approx(0.83, rel=0.005)
    assert iv.low == pytest.approx(0.6910, rel=0.01)
    assert iv.high == pytest.approx(0.9970, rel=0.01)


def test_fractions_never_exceed_one():
    cal = sensitivity.draw(50_000, factors=["attention_efficiency"])
    assert cal.attention_efficiency.max() <= 1.0 and cal.attention_efficiency.min() > 0


def test_one_vectorized_call_equals_the_scalar_calls():
    cal = sensitivity.draw(5, seed=3)
    swept = mlsysim.ServingModel().solve("Llama3_70B", "H100", 2048, batch_size=8, tensor_parallel=4,
                                         calibration=cal).itl.to("s").magnitude
    for i in range(5):
        one = DEFAULT.with_(**{name: float(getattr(cal, name)[i]) for name in sensitivity.SPREADS})
        scalar = mlsysim.ServingModel().solve("Llama3_70B", "H100", 2048, batch_size=8, tensor_parallel=4,
                                              calibration=one).itl.to("s").magnitude
        assert swept[i] == pytest.approx(scalar, rel=1e-12)


def test_fleet_bill_interval_brackets_the_point_estimate():
    kwargs = dict(prompt_tokens=1024, output_tokens=256, precision="fp8", tensor_parallel=4,
                  ttft_slo=2.0, tpot_slo=0.05)

    def bill(cal):
        plan = mlsysim.ServingFleetModel().solve("Llama3_70B", "H100", 1000, calibration=cal, **kwargs)
        return mlsysim.EconomicsModel().solve(plan).tco_usd

    iv = sensitivity.uncertainty(bill, n=400)
    point = bill(DEFAULT)
    # whole nodes make the bill a step function of the factors: the point may sit on an end
    assert iv.low <= point <= iv.high and iv.low < iv.high and iv.samples.shape == (400,)


@pytest.mark.parametrize("kwargs, parameter", [
    (dict(solve=3), "solve"),
    (dict(solve=lambda cal: mlsysim.ServingModel().solve("Llama3_8B", "H100", 512, calibration=cal),
          output="latency"), "output"),
    (dict(solve=lambda cal: 1.0, level=80), "level"),
    (dict(solve=lambda cal: 1.0, factors=["nope"]), "factors"),
    (dict(solve=lambda cal: 1.0, n=1), "n"),
    (dict(solve=lambda cal: np.ones(3)), "solve"),
])
def test_uncertainty_rejects_bad_input(kwargs, parameter):
    with pytest.raises(InputError) as info:
        sensitivity.uncertainty(**{"n": 10, **kwargs})
    assert info.value.parameter == parameter
