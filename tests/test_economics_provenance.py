"""Where each of the cost model's numbers comes from, and how a dollar figure reads.

Every figure in a TCO table cites its source; a number the reader typed (a Node's own
server price) must say so rather than borrow a catalogue citation."""
from __future__ import annotations

import pytest

from mlsysim.errors import InputError
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
