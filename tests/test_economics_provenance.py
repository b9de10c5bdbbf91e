"""Where each of the cost model's numbers comes from, and how a dollar figure reads.

Every figure in a TCO table cites its source; a number the reader typed (a Node's own
server price) must say so rather than borrow a catalogue citation."""
from __future__ import annotations

import numpy as np
import pytest

from mlsysim.errors import InputError
from mlsysim.specs.fields import Source
from mlsysim.solvers.economics import EconomicsModel, _shown
from mlsysim.systems.types import Fleet, Node


def test_a_nodes_own_server_price_is_cited_as_user_defined():
    # a node that states its server price: USD 80,000 for 8 accelerators -> 10,000 per accelerator
    node = Node("my-node", "H100", 8, server_price=80_000)
    r = EconomicsModel().solve(Fleet("mine", node, 2))
    value, source = r.assumptions["server_overhead_per_accelerator"]
    assert value == pytest.approx(10_000)
    assert (source.key, source.detail) == ("user-defined", "mlsysim.Node('my-node').server_price")
    # capex: 16 accelerators x (H100 price + 10,000 server + 5,000 network); the server share moved
    # from the catalogue's default to the node's, so the row reads $10,000 with the user-defined tag
    row = next(row for row in r._rows() if row[0] == "Server share per accelerator")
    assert row == ("Server share per accelerator", "$10,000", "user-defined")


def test_a_catalogued_nodes_server_price_cites_the_catalogue():
    # systems.yaml: DGX A100 server_price 80,000 USD, source nvidia2020dgxa100 (an estimate from
    # the launch price) -> 10,000 per GPU, cited to that key
    r = EconomicsModel().solve(Fleet("a100s", Node.from_system("DGX_A100"), 1))
    value, source = r.assumptions["server_overhead_per_accelerator"]
    assert value == pytest.approx(10_000) and source.key == "nvidia2020dgxa100"


@pytest.mark.parametrize("value, text", [
    (1.0, "$1"),            # a whole dollar or more reads as dollars, no cents
    (1.5, "$2"),            # rounded to the dollar
    (12_345.6, "$12,346"),  # with thousands separators
    (0.25, "0.25 USD"),     # under a dollar keeps its digits
])
def test_dollar_amounts_read_as_a_reader_expects(value, text):
    assert _shown(value, "$") == text


def test_shown_percentages_and_units():
    # a fraction 0.05 shown as a percentage: 5 %; a plain unit follows the number
    assert _shown(0.05, "%") == "5 %"
    assert _shown(1.58, "") == "1.58"
    assert _shown(0.0804, "USD/kWh") == "0.0804 USD/kWh"


def test_a_fleet_of_the_wrong_type_is_named():
    with pytest.raises(InputError) as err:
        EconomicsModel().solve("H100")
    assert err.value.parameter == "fleet"
    assert str(err.value) == "parameter 'fleet': expected a mlsysim.Fleet or a ServingFleetModel plan, got 'str'"


# ------------------------------------------------------------------ calibration, PUE, plans
def _dgx_h100(nodes=1):
    return Fleet("dgx", Node.from_system("DGX_H100"), nodes)


def test_the_calibrations_serving_power_fraction_sets_the_energy():
    import dataclasses

    from mlsysim.calibration import DEFAULT

    # one DGX H100: 8 x (f x 700 W + 575 W host), PUE 1, one day
    # f = 0.5:   8 x (350 + 575)   = 7,400 W   -> 7.4 kW x 24 h   = 177.6 kWh
    # f = 0.573: 8 x (401.1 + 575) = 7,808.8 W -> 7.8088 x 24     = 187.41 kWh (the default)
    half = dataclasses.replace(DEFAULT, serving_power_fraction=0.5)
    r = EconomicsModel().solve(_dgx_h100(), duration_days=1, pue=1.0, calibration=half)
    assert r.total_energy_kwh == pytest.approx(177.6)
    assert r.assumptions["power_fraction"] == (0.5, Source("patel2024splitwise",
                                                           "mlsysim.calibration.serving_power_fraction"))
    default = EconomicsModel().solve(_dgx_h100(), duration_days=1, pue=1.0)
    assert default.total_energy_kwh == pytest.approx(187.4112)


def test_pue_below_one_is_refused_and_exactly_one_is_allowed():
    with pytest.raises(InputError) as err:
        EconomicsModel().solve(_dgx_h100(), pue=0.9)
    assert str(err.value) == "parameter 'pue': expected a number >= 1 (facility energy / IT energy), got 0.9"
    with pytest.raises(InputError) as err:
        EconomicsModel().solve(_dgx_h100(), pue=np.array([1.2, 0.9]))
    assert err.value.parameter == "pue"
    with pytest.raises(InputError) as err:
        EconomicsModel().solve(_dgx_h100(), pue="high")
    assert err.value.parameter == "pue"
    # PUE 1 (no facility overhead) is the floor, not an error, alone or in a sweep:
    # 187.41 kWh a day of IT energy (above) x 1.0 and x 1.5 = 281.12 kWh
    sweep = EconomicsModel().solve(_dgx_h100(), duration_days=1, pue=np.array([1.0, 1.5]))
    assert sweep.total_energy_kwh == pytest.approx([187.4112, 281.1168])


def test_the_accelerator_price_cites_its_own_source():
    # hardware.yaml gives the H100's unit price its own source (TechSpot 2023), not the datasheet's
    r = EconomicsModel().solve(_dgx_h100())
    value, source = r.assumptions["unit_price"]
    assert value == 30_000 and source.key == "techspot2023h100price"


def test_a_serving_plans_carbon_is_its_energy_times_the_grid_intensity():
    from mlsysim import ServingFleetModel

    plan = ServingFleetModel().solve("Llama3_8B", "H100", load=20, node=Node.from_system("DGX_H100"))
    r = EconomicsModel().solve(plan, duration_days=30, region="france")
    intensity, source = r.assumptions["grid_carbon_intensity"]
    # operational carbon = facility energy x grid intensity: kWh x g/kWh / 1e6 = tonnes
    assert r.carbon_tonnes == pytest.approx(
        r.total_energy_kwh * intensity / 1e6)
    assert source.key  # the intensity is cited (carbon.yaml)


def test_a_plan_solved_with_calibration_draws_cannot_price_its_carbon():
    from mlsysim import ServingFleetModel
    from mlsysim.sensitivity import draw

    plan = ServingFleetModel().solve("Llama3_8B", "H100", load=20, calibration=draw(8, seed=1))
    with pytest.raises(InputError) as err:
        EconomicsModel().solve(plan, region="france")
    assert err.value.parameter == "region" and "CarbonModel per draw" in str(err.value)
    assert "got 'france'" in str(err.value)
