"""ComputeBudgetModel: C = 6 N D solved for whichever is missing, the Chinchilla inversions,
days on a fleet, and the messages, all by hand."""
import re

import pytest

import mlsysim
from mlsysim.errors import InputError

BUDGET = mlsysim.ComputeBudgetModel()


def test_two_of_three_give_the_third():
    # N = 1e10, D = 1e11: C = 6 x 1e10 x 1e11 = 6e21
    r = BUDGET.solve(parameters=1e10, tokens=1e11)
    assert r.compute_flops.to("flop").m == pytest.approx(6e21)
    # C = 6e21, D = 1e11: N = 6e21 / (6 x 1e11) = 1e10
    r = BUDGET.solve(compute_flops=6e21, tokens=1e11)
    assert r.parameters.to("count").m == pytest.approx(1e10) and r.tokens.to("token").m == pytest.approx(1e11)
    # C = 6e21, N = 1e10: D = 6e21 / (6 x 1e10) = 1e11, 10 tokens per parameter
    r = BUDGET.solve(compute_flops=6e21, parameters=1e10)
    assert r.tokens.to("token").m == pytest.approx(1e11) and r.tokens_per_parameter.m == pytest.approx(10)


def test_one_given_follows_chinchilla():
    # Chinchilla's anchor: 70e9 parameters on 1.4e12 tokens, C = 6 x 70e9 x 1.4e12 = 5.88e23, 20 tokens/parameter
    for kwargs in (dict(tokens=1.4e12), dict(parameters=70e9), dict(compute_flops=5.88e23)):
        r = BUDGET.solve(**kwargs)
        assert r.compute_flops.to("flop").m == pytest.approx(5.88e23, rel=1e-9), kwargs
        assert r.parameters.to("count").m == pytest.approx(70e9, rel=1e-9), kwargs
        assert r.tokens.to("token").m == pytest.approx(1.4e12, rel=1e-9), kwargs
        assert r.tokens_per_parameter.m == pytest.approx(20, rel=1e-9), kwargs


def test_days_on_a_fleet():
    fleet = mlsysim.Fleet.from_system("DGX_H100", 2)        # 16 H100, bf16 989.4e12 FLOP/s
    r = BUDGET.solve(tokens=1.4e12, fleet=fleet, mfu=0.5)
    # 5.88e23 / (16 x 989.4e12 x 0.5) = 7.428744e7 s = 859.808 days; x 24 h x 16 = 330,166 accelerator-hours
    assert r.days.to("day").m == pytest.approx(859.808, rel=1e-6)
    assert r.gpu_hours.to("hour").m == pytest.approx(859.808 * 24 * 16, rel=1e-6)
    assert repr(r).splitlines()[0] == "Compute budget (tokens=1.4e+12, fleet=DGX_H100 cluster, accelerators=16, mfu=0.5)"
    # an mfu of exactly 1 is allowed: 1e21 / (16 x 989.4e12) = 63,169.6 s = 0.731130 days
    assert BUDGET.solve(compute_flops=1e21, fleet=fleet, mfu=1.0).days.to("day").m == pytest.approx(0.731130, rel=1e-6)
    # the math precision picks the peak: fp8 1,978.9e12 FLOP/s halves the days
    fp8 = BUDGET.solve(compute_flops=1e21, fleet=fleet, mfu=1.0, precision="fp8")
    assert fp8.days.to("day").m == pytest.approx(1e21 / (16 * 1978.9e12) / 86400, rel=1e-9)
    assert "days" not in BUDGET.solve(compute_flops=1e21).to_dict()


def _raises(message, **kwargs):
    with pytest.raises(InputError, match="^" + re.escape(message) + "$"):
        BUDGET.solve(**kwargs)


def test_messages():
    fleet = mlsysim.Fleet.from_system("DGX_H100", 2)
    _raises("parameter 'compute_flops': expected at least one of compute_flops, parameters, tokens")
    _raises("parameter 'tokens': expected at most two of compute_flops, parameters, tokens (the third follows from "
            "C = 6 N D), got 1000000000000.0", compute_flops=1e21, parameters=1e9, tokens=1e12)
    _raises("parameter 'fleet': expected a mlsysim.Fleet together with mfu, got 'str'",
            compute_flops=1e21, fleet="x", mfu=0.5)
    _raises("parameter 'fleet': expected a mlsysim.Fleet together with mfu, got 'NoneType'",
            compute_flops=1e21, mfu=0.5)
    _raises("parameter 'mfu': expected a model FLOPs utilisation between 0 and 1 together with fleet",
            compute_flops=1e21, fleet=fleet)
    _raises("parameter 'mfu': expected a number > 0 and <= 1, got 1.5", compute_flops=1e21, fleet=fleet, mfu=1.5)
    for name in ("compute_flops", "parameters", "tokens"):
        with pytest.raises(InputError, match=f"^parameter '{name}'"):
            BUDGET.solve(**{name: -1.0})


def test_header_names_what_was_given():
    r = BUDGET.solve(compute_flops=6e21, parameters=1e10)
    assert repr(r).splitlines()[0] == "Compute budget (compute_flops=6e+21, parameters=10,000,000,000)"
    assert r.inputs == {"compute_flops": 6e21, "parameters": 1e10}
    assert BUDGET.solve(tokens=1e11).inputs == {"tokens": 1e11}
    # a budget is always a valid plan
    assert r.feasible is True and r.reasons == ()
