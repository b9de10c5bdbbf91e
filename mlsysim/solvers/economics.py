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
from mlsysim.physics.energy import JOULES_PER_KWH, carbon
from mlsysim.solvers._common import resolve_calibration
from mlsysim.solvers.result import Result, format_value
from mlsysim.specs import economics as defaults


class EconomicsResult(Result):
    TITLE = "Total cost of ownership"
    FIELDS = {
        "tco_usd": (None, None, "TCO (USD)"),
        "capex_usd": (None, None, "Capital, amortised (USD)"),
        "opex_energy_usd": (None, None, "Energy (USD)"),
        "opex_maintenance_usd": (None, None, "Maintenance (USD)"),
        "capex_total_usd": (None, None, "Purchase price (USD)"),
        "total_energy_kwh": (None, None, "Facility energy (kWh)"),
        "average_power": ("W", "kW", "Facility power"),
        "carbon_tonnes": (None, None, "Emissions (t CO2)"),
    }

    def _rows(self):
        yield from super()._rows()
        for name, (value, source) in self._inputs["assumptions"].items():
            yield f"  {name}", f"{format_value(value)}  [{source.key}]"

    @property
    def assumptions(self) -> dict:
        """Every default used: name -> (value, Source)."""
        return dict(self._inputs["assumptions"])


class EconomicsModel:
    """Annual or any-period cost of a :class:`~mlsysim.Fleet`.

    ``solve(fleet, duration_days=365, electricity_price=None, pue=None, amortization_years=None,
    maintenance_fraction=None, unit_price=None, power_fraction=None, region=None, calibration=None)``

    Defaults (each with its source in ``mlsysim/data/economics.yaml``):
    electricity 0.0804 USD/kWh (US industrial, EIA 2023), PUE 1.58 (Uptime Institute 2023),
    5-year life (Amazon 10-K 2024), maintenance 5 % of capex a year (estimate),
    server overhead 10,000 USD and network 5,000 USD per accelerator (estimates),
    575 W of node power per accelerator (DGX H100 datasheet), and the accelerator's
    ``unit_price`` from the hardware catalogue. ``region`` (e.g. ``"france"``) adds
    ``carbon_tonnes`` at that grid's intensity. ``duration_days``, ``electricity_price``,
    ``pue`` and ``power_fraction`` accept numpy arrays.
    """

    def solve(self, fleet, duration_days=365, electricity_price=None, pue=None, amortization_years=None,
              maintenance_fraction=None, unit_price=None, power_fraction=None, region=None,
              calibration=None) -> EconomicsResult:
        from mlsysim.systems.types import Fleet

        if not isinstance(fleet, Fleet):
            raise InputError("fleet", "a mlsysim.Fleet", type(fleet).__name__)
        cal = resolve_calibration(calibration)
        used = {}

        def pick(name, given, parameter, unit=None, maximum=None):
            if given is None:
                value, source = defaults.default(name)
                used[name] = (value, source)
                return value
            return validate.number(given, parameter, unit, maximum=maximum)

        days = validate.number(duration_days, "duration_days", "day")
        price = pick("electricity_price", electricity_price, "electricity_price", "USD/kWh")
        pue_value = pick("pue", pue, "pue")
        if validate.is_array(pue_value) and (pue_value < 1).any() or not validate.is_array(pue_value) and pue_value < 1:
            raise InputError("pue", "a number >= 1 (facility energy / IT energy)", pue)
        life = pick("amortization_years", amortization_years, "amortization_years", "year")
        maintenance = pick("maintenance_fraction_per_year", maintenance_fraction, "maintenance_fraction", maximum=1)
        server = pick("server_overhead_per_accelerator", None, "")
        network = pick("network_cost_per_accelerator", None, "")
        node_power = pick("node_power_overhead_per_accelerator", None, "")

        hw = fleet.accelerator
        if unit_price is None:
            if hw.unit_price is None:
                raise InputError("unit_price", f"a price in USD: {hw.key} has no public unit price in the catalogue", None)
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

        n = fleet.total_accelerators
        capex_total = n * (accel_price + server + network)
        capex = econ.amortized_capex(capex_total, life, days)
        it_power = n * (hw.si["tdp"] * fraction + node_power)
        facility_power = it_power * pue_value
        kwh = facility_power * days * econ.SECONDS_PER_DAY / JOULES_PER_KWH
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
        if region is not None:
            intensity, source = defaults.grid_intensity(region)
            used["grid_carbon_intensity"] = (intensity, source)
            values["carbon_tonnes"] = carbon(kwh * JOULES_PER_KWH, intensity) / 1e6
        inputs = {"fleet": fleet.name, "accelerators": n, "duration_days": duration_days, "assumptions": used}
        return EconomicsResult(values, feasible=True, reasons=(), inputs=inputs)
