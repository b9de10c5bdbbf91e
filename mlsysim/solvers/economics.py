"""Total cost of ownership of a fleet over a period [@barroso2018datacenter].

    capex_total = N x (accelerator price + server overhead + network), per accelerator
    capex       = capex_total x days / (365 x life)                 (straight-line)
    energy_kWh  = N x (TDP x f + node overhead W) x 24 x days x PUE / 1000
    opex_energy = energy_kWh x price per kWh
    maintenance = capex_total x m x days / 365
    TCO         = capex + opex_energy + maintenance

N is the fleet's accelerator count and f the mean fraction of TDP drawn
(calibrated from Splitwise power traces [@patel2024splitwise]). Defaults come
from ``mlsysim/data/economics.yaml`` with their sources; the result lists every
value it used in ``assumptions``.
"""
from __future__ import annotations

from mlsysim.core import validate
from mlsysim.errors import InputError
from mlsysim.physics import economics as econ
from mlsysim.physics.energy import JOULES_PER_KWH, energy, facility_energy, it_power
from mlsysim.solvers._common import host_power_per_accelerator, resolve_calibration
from mlsysim.solvers.result import Result, format_value
from mlsysim.specs import economics as defaults


def _node_source(node, field):
    from mlsysim.specs.fields import Source

    return node.source_of(field) or Source("user-defined", f"mlsysim.Node({node.name!r}).{field}")


# How each default reads in a table: label, and the unit its number is stored in
# ("%" shows a fraction as a percentage, "$" a dollar amount).
ASSUMPTIONS = {
    "electricity_price": ("Electricity price", "USD/kWh"),
    "pue": ("Power usage effectiveness (PUE)", ""),
    "amortization_years": ("Amortisation period", "years"),
    "maintenance_fraction_per_year": ("Maintenance per year, share of purchase price", "%"),
    "server_overhead_per_accelerator": ("Server share per accelerator", "$"),
    "network_cost_per_accelerator": ("Network share per accelerator", "$"),
    "node_power_overhead_per_accelerator": ("Node power per accelerator, besides the chip", "W"),
    "unit_price": ("Accelerator price", "$"),
    "power_fraction": ("Mean accelerator power, share of TDP", "%"),
    "grid_carbon_intensity": ("Grid carbon intensity", "gCO2/kWh"),
}
_UNITS = {"tco_usd": "$", "capex_usd": "$", "opex_energy_usd": "$", "opex_maintenance_usd": "$",
          "capex_total_usd": "$", "total_energy_kwh": "kWh", "carbon_tonnes": "t CO2"}


def _shown(value, unit: str) -> str:
    """A plain number (or sweep) with its unit, as a reader expects it."""
    if unit == "%":
        scaled = value * 100
        return format_value(scaled) + " %"
    if unit == "$":
        if isinstance(value, (int, float)) and abs(value) >= 1:
            return f"${value:,.0f}"
        return format_value(value) + " USD"
    return f"{format_value(value)} {unit}".strip()


class EconomicsResult(Result):
    TITLE = "Total cost of ownership"
    FIELDS = {
        "tco_usd": (None, None, "Total cost of ownership"),
        "capex_usd": (None, None, "Capital, amortised"),
        "opex_energy_usd": (None, None, "Energy"),
        "opex_maintenance_usd": (None, None, "Maintenance"),
        "capex_total_usd": (None, None, "Purchase price"),
        "total_energy_kwh": (None, None, "Facility energy"),
        "average_power": ("W", "kW", "Facility power"),
        "carbon_tonnes": (None, None, "Emissions"),
    }

    def _rows(self):
        for label, value in super()._rows():
            name = next((n for n, f in self.FIELDS.items() if f[2] == label), None)
            if name in _UNITS:
                value = _shown(getattr(self, name), _UNITS[name])
            yield label, value
        for name, (value, source) in self._inputs["assumptions"].items():
            label, unit = ASSUMPTIONS[name]       # every default the solver uses has a label here
            yield label, _shown(value, unit), source.key

    def sources(self) -> dict:
        """references.bib key of every default used: name -> key."""
        return {name: source.key for name, (_, source) in self._inputs["assumptions"].items()}

    @property
    def assumptions(self) -> dict:
        """Every default used: name -> (value, Source)."""
        return dict(self._inputs["assumptions"])


class EconomicsModel:
    """Annual or any-period cost of a :class:`~mlsysim.Fleet` (or of a
    :class:`~mlsysim.ServingFleetModel` plan, whose accelerator count may be an array of draws).

    ``solve(fleet, duration_days=365, electricity_price=None, pue=None, amortization_years=None,
    maintenance_fraction=None, unit_price=None, power_fraction=None, region=None, calibration=None)``

    Defaults (each with its source in ``mlsysim/data/economics.yaml``):
    electricity 0.0804 USD/kWh (US industrial, EIA 2023), PUE 1.58 (Uptime Institute 2023),
    5-year life (Amazon 10-K 2024), maintenance 5 % of capex a year (estimate),
    server overhead 10,000 USD and network 5,000 USD per accelerator (estimates),
    575 W of node power per accelerator (DGX H100 datasheet), and the accelerator's
    ``unit_price`` from the hardware catalogue. A node that states its own non-accelerator
    power or server price (``Node.from_system("DGX_B200")``, or ``Node(..., power_overhead=...)``)
    uses them; a node of a catalogued system's accelerator and count (8 x B200 is a DGX B200)
    uses that system's; only otherwise the DGX H100 defaults apply. ``region`` (e.g. ``"france"``) adds
    ``carbon_tonnes``: the operational carbon :class:`~mlsysim.CarbonModel` gives for the same
    energy, from the same catalogue (``mlsysim/data/carbon.yaml``). ``duration_days``, ``electricity_price``,
    ``pue`` and ``power_fraction`` accept numpy arrays.
    """

    def solve(self, fleet, duration_days=365, electricity_price=None, pue=None, amortization_years=None,
              maintenance_fraction=None, unit_price=None, power_fraction=None, region=None,
              calibration=None) -> EconomicsResult:
        from mlsysim.solvers.schedule import FleetPlan
        from mlsysim.systems.types import Fleet

        if isinstance(fleet, FleetPlan):          # a serving plan: its accelerator count may be an array
            n, hw, name, node_spec = (fleet._values["accelerators"], fleet.hardware, f"{fleet.model.name} fleet",
                                      fleet.node)
        elif isinstance(fleet, Fleet):
            n, hw, name, node_spec = fleet.total_accelerators, fleet.accelerator, fleet.name, fleet.node
        else:
            raise InputError("fleet", "a mlsysim.Fleet or a ServingFleetModel plan", type(fleet).__name__)
        cal = resolve_calibration(calibration)
        used = {}

        def default(name):
            value, source = defaults.default(name)
            used[name] = (value, source)
            return value

        def pick(name, given, parameter, unit=None, maximum=None):
            if given is None:
                return default(name)
            return validate.number(given, parameter, unit, maximum=maximum)

        days = validate.number(duration_days, "duration_days", "day")
        price = pick("electricity_price", electricity_price, "electricity_price", "USD/kWh")
        pue_value = pick("pue", pue, "pue")
        if validate.is_array(pue_value) and (pue_value < 1).any() or not validate.is_array(pue_value) and pue_value < 1:
            raise InputError("pue", "a number >= 1 (facility energy / IT energy)", pue)
        life = pick("amortization_years", amortization_years, "amortization_years", "year")
        maintenance = pick("maintenance_fraction_per_year", maintenance_fraction, "maintenance_fraction", maximum=1)
        per_node = node_spec.accelerators_per_node
        if node_spec.server_price is not None:  # the node's own non-accelerator price, when it states one
            server = node_spec.server_price.to("USD").magnitude / per_node
            used["server_overhead_per_accelerator"] = (server, _node_source(node_spec, "server_price"))
        else:
            server = default("server_overhead_per_accelerator")
        network = default("network_cost_per_accelerator")
        node_power, node_power_source = host_power_per_accelerator(node_spec)
        used["node_power_overhead_per_accelerator"] = (node_power, node_power_source)

        if unit_price is None:
            if hw.unit_price is None:
                raise InputError("unit_price", f"a price in USD: {hw.key} has no public unit price in the catalogue")
            accel_price = hw.si["price"]
            used["unit_price"] = (accel_price, hw.source_of("unit_price"))
        else:
            accel_price = validate.number(unit_price, "unit_price", "USD")
        if power_fraction is None:
            fraction = cal.serving_power_fraction
            from mlsysim.specs.fields import Source
            used["power_fraction"] = (fraction, Source("patel2024splitwise", "mlsysim.calibration.serving_power_fraction"))
        else:
            fraction = validate.number(power_fraction, "power_fraction", maximum=1)

        capex_total = n * (accel_price + server + network)
        capex = econ.amortized_capex(capex_total, life, days)
        power = it_power(n, hw.si["tdp"], fraction, node_power)
        facility_power = facility_energy(power, pue_value)      # PUE x power: the same law as for energy
        kwh = facility_energy(energy(power, days * econ.SECONDS_PER_DAY), pue_value) / JOULES_PER_KWH
        energy_usd = econ.energy_cost(kwh, price)
        maintenance_usd = econ.maintenance_cost(capex_total, maintenance, days)
        values = {
            "tco_usd": capex + energy_usd + maintenance_usd,
            "capex_usd": capex,
            "opex_energy_usd": energy_usd,
            "opex_maintenance_usd": maintenance_usd,
            "capex_total_usd": capex_total,
            "total_energy_kwh": kwh,
            "average_power": facility_power,
        }
        if region is not None:   # the carbon of the same energy, from CarbonModel and its catalogue
            from mlsysim.solvers.fleet.carbon import CarbonModel

            carbon_fleet = fleet.fleet if isinstance(fleet, FleetPlan) else fleet
            if carbon_fleet is None:
                raise InputError("region", "None for a plan solved with calibration draws (price its carbon with "
                                 "CarbonModel per draw)", region)
            footprint = CarbonModel().solve(carbon_fleet, days * econ.SECONDS_PER_DAY, region=region, pue=pue_value,
                                            power_fraction=fraction, host_power=node_power, embodied=False,
                                            calibration=cal)
            used["grid_carbon_intensity"] = footprint.assumptions["grid_intensity"]
            values["carbon_tonnes"] = footprint.operational_co2_kg / 1e3
        inputs = {"fleet": name, "accelerators": n, "duration_days": duration_days, "assumptions": used}
        return EconomicsResult(values, feasible=True, inputs=inputs)
