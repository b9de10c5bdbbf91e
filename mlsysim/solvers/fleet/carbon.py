"""Energy, carbon and water of a fleet over a period, where it runs.

    P_IT        = N x (f x TDP + P_host)                     (accelerators plus the rest of the node)
    E_IT        = P_IT x t;   E_facility = PUE x E_IT        [@thegreengrid2012pue]
    CO2_op      = E_facility x grid intensity of the region  [@ember2024review]
    CO2_emb     = (N x C_accelerator + nodes x C_server) x t / life    [@luccioni2023bloom]
    water       = E_IT x WUE_on-site + E_facility x EWIF_off-site       [@li2023thirsty]

Grid intensity, PUE, water and embodied figures come from ``mlsysim/data/carbon.yaml`` with their
sources; :class:`~mlsysim.EconomicsModel` prices the same energy from the same catalogue.
"""
from __future__ import annotations

import numpy as np

from mlsysim.core import validate
from mlsysim.errors import InputError
from mlsysim.physics import carbon as co2
from mlsysim.physics.economics import SECONDS_PER_DAY
from mlsysim.physics.energy import JOULES_PER_KWH, carbon, energy, facility_energy, it_power
from mlsysim.solvers._common import host_power_per_accelerator, resolve_calibration
from mlsysim.solvers.result import Result, format_value


class CarbonResult(Result):
    TITLE = "Energy and carbon"
    FIELDS = {
        "energy_kwh": (None, None, "Facility energy (kWh)"),
        "it_energy_kwh": (None, None, "IT energy (kWh)"),
        "it_power": ("W", "kW", "IT power"),
        "facility_power": ("W", "kW", "Facility power"),
        "pue": (None, None, "PUE"),
        "grid_intensity": (None, None, "Grid intensity (g CO2e/kWh)"),
        "operational_co2_kg": (None, None, "Operational CO2e (kg)"),
        "embodied_co2_kg": (None, None, "Embodied CO2e, amortised (kg)"),
        "total_co2_kg": (None, None, "Total CO2e (kg)"),
        "water_onsite_liters": (None, None, "Water on site (L)"),
        "water_offsite_liters": (None, None, "Water to generate the power (L)"),
        "water_liters": (None, None, "Water in all (L)"),
        "duration": ("s", "day", "Duration"),
    }

    def _rows(self):
        yield from super()._rows()
        for name, (value, source) in self._inputs["assumptions"].items():
            yield f"  {name}", f"{format_value(value)}  [{source.key}]"

    @property
    def assumptions(self) -> dict:
        """Every default used: name -> (value, Source)."""
        return dict(self._inputs["assumptions"])


def _seconds(duration):
    if isinstance(duration, Result):
        for name in ("effective_duration", "training_time", "duration"):
            if name in duration.field_names():
                return validate.number(getattr(duration, name), "duration", "s")
        raise InputError("duration", "a result with an effective_duration, training_time or duration field",
                         type(duration).__name__)
    return validate.number(duration, "duration", "s")


class CarbonModel:
    """Energy (kWh), operational and embodied CO2e (kg) and water (L) of a run in a region.

    ``solve(fleet, duration=None, region="world", pue=None, facility=None, embodied=True,
    power_fraction=None, host_power=None, embodied_accelerator_kg=None, embodied_server_kg=None,
    life_years=None, calibration=None)``

    - ``fleet``: a :class:`~mlsysim.Fleet` (with ``duration``, seconds or a Quantity or a result
      with ``effective_duration``), or an IT energy (a number in kWh or an energy Quantity), in
      which case nothing embodied is charged.
    - ``region``: a grid of ``mlsysim/data/carbon.yaml`` (``"france"``, ``"us_average"``, ...).
    - ``pue`` or ``facility`` (``"hyperscale"``, ``"industry_average"``, ...); default: the
      industry-average facility. A facility with a published on-site water figure, and a region
      with a published off-site one, add water.
    - ``power_fraction``: mean accelerator power over TDP (default: the calibration's
      ``training_power_fraction``); ``host_power``: the rest of the node per accelerator, in W
      (default: the node's own, its catalogued system's, else ``economics.yaml``'s DGX H100 figure,
      the same rule as EconomicsModel's).

    ``duration``, ``pue``, ``power_fraction``, ``host_power`` and energies accept numpy arrays.
    """

    def solve(self, fleet, duration=None, region="world", pue=None, facility=None, embodied=True,
              power_fraction=None, host_power=None, embodied_accelerator_kg=None, embodied_server_kg=None,
              life_years=None, calibration=None) -> CarbonResult:
        from mlsysim.specs import carbon as catalogue
        from mlsysim.specs.fields import Source
        from mlsysim.systems.types import Fleet

        cal = resolve_calibration(calibration)
        used = {}
        grid = catalogue.grid_region(region, "region")
        used["grid_intensity"] = (grid.intensity, grid.source)
        if pue is not None and facility is not None:
            raise InputError("facility", "either pue or facility, not both", facility)
        site = catalogue.facility(facility if facility is not None else "industry_average", "facility")
        if pue is None:
            pue_value = site.pue
            used["pue"] = (pue_value, site.pue_source)
        else:
            pue_value = validate.number(pue, "pue", minimum=1.0, inclusive=True)
        values = {}
        if isinstance(fleet, Fleet):
            if duration is None:
                raise InputError("duration", "the run's duration (seconds, a Quantity or a result) with a fleet")
            seconds = _seconds(duration)
            hw = fleet.accelerator
            if power_fraction is None:
                fraction = cal.training_power_fraction
                used["power_fraction"] = (fraction, Source("luccioni2023bloom",
                                                           "mlsysim.calibration.training_power_fraction"))
            else:
                fraction = validate.number(power_fraction, "power_fraction", maximum=1)
            if host_power is None:
                host, source = host_power_per_accelerator(fleet.node)
                used["host_power"] = (host, source)
            else:
                host = validate.number(host_power, "host_power", "W", inclusive=True)
            power = it_power(fleet.total_accelerators, hw.si["tdp"], fraction, host)
            it_kwh = energy(power, seconds) / JOULES_PER_KWH
            values.update(it_power=power, facility_power=facility_energy(power, pue_value), duration=seconds)
        else:
            if duration is not None:
                raise InputError("duration", "no duration when the first argument is an energy", duration)
            if not validate.is_quantity(fleet) and not isinstance(fleet, (int, float, np.ndarray, list, tuple)):
                raise InputError("fleet", "a mlsysim.Fleet or an IT energy (kWh, or an energy Quantity)",
                                 type(fleet).__name__)
            it_kwh = validate.number(fleet, "energy_kwh", "kWh")
            embodied = False
        facility_kwh = facility_energy(it_kwh, pue_value)
        operational = carbon(facility_kwh * JOULES_PER_KWH, grid.intensity) / 1e3
        values.update(energy_kwh=facility_kwh, it_energy_kwh=it_kwh, pue=pue_value, grid_intensity=grid.intensity,
                      operational_co2_kg=operational)
        total = operational
        if embodied:
            accel_kg = self._pick(embodied_accelerator_kg, "accelerator", "embodied_accelerator_kg", "kg", used)
            server_kg = self._pick(embodied_server_kg, "server", "embodied_server_kg", "kg", used)
            life = self._pick(life_years, "life", "life_years", "year", used, inclusive=False)   # divides
            made = fleet.total_accelerators * accel_kg + fleet.count * server_kg
            values["embodied_co2_kg"] = co2.embodied_share(made, life, seconds / SECONDS_PER_DAY)
            total = total + values["embodied_co2_kg"]
        values["total_co2_kg"] = total
        onsite = None if site.wue is None or pue is not None else site.wue
        if onsite is not None:
            values["water_onsite_liters"] = co2.water(it_kwh, onsite, facility_kwh, 0.0)
            used["wue"] = (onsite, site.wue_source)
        if grid.water is not None:
            values["water_offsite_liters"] = co2.water(it_kwh, 0.0, facility_kwh, grid.water)
            used["water_intensity"] = (grid.water, grid.water_source)
        if onsite is not None and grid.water is not None:
            values["water_liters"] = co2.water(it_kwh, onsite, facility_kwh, grid.water)
        inputs = {"fleet": fleet.name if isinstance(fleet, Fleet) else None, "region": grid.key,
                  "facility": site.key if pue is None else None, "assumptions": used}
        return CarbonResult(values, feasible=True, reasons=(), inputs=inputs)

    @staticmethod
    def _pick(given, name, parameter, unit, used, inclusive=True):
        from mlsysim.specs.carbon import embodied

        if given is None:
            value, source = embodied(name)
            used[parameter] = (value, source)
            return value
        return validate.number(given, parameter, unit, inclusive=inclusive)
