"""Economic and energy defaults (prices, PUE, asset life, grid carbon), each with its source."""
from __future__ import annotations

from functools import lru_cache

from mlsysim.errors import SpecError, UnknownNameError  # noqa: F401
from mlsysim.specs.fields import Source, read_yaml

_UNITS = {
    "electricity_price": "USD/kWh", "amortization_years": "year", "server_overhead_per_accelerator": "USD",
    "network_cost_per_accelerator": "USD", "node_power_overhead_per_accelerator": "W",
}


_FACILITY_PUE = {"pue": "industry_average", "pue_hyperscale": "hyperscale"}


@lru_cache(maxsize=None)
def _data() -> dict:
    from mlsysim.specs.catalog import DATA

    return read_yaml(DATA / "economics.yaml")


def _entry(where: str, name: str, entry: dict, unit: str | None):
    from mlsysim.core.units import Q_

    if not isinstance(entry, dict) or "value" not in entry or "source" not in entry:
        raise SpecError(where, name, "expected {value, source, detail}")
    raw = entry["value"]
    try:
        value = Q_(raw).to(unit).magnitude if unit else float(raw)
    except Exception:
        raise SpecError(where, f"{name}.value", f"expected a quantity in {unit or 'plain number'}, got {raw!r}") from None
    return value, Source(str(entry["source"]), str(entry.get("detail", "")), str(entry.get("estimate", "")))


def default(name: str) -> tuple[float, Source]:
    """(value in SI-ish units: USD, USD/kWh, years, W, or a plain number; its source)."""
    if name in _FACILITY_PUE:  # one source for PUE: the facilities of carbon.yaml
        from mlsysim.specs.carbon import facility

        f = facility(_FACILITY_PUE[name])
        return f.pue, f.pue_source
    defaults = _data()["defaults"]
    if name not in defaults:
        raise UnknownNameError("economics default", name, list(defaults))
    return _entry("economics.yaml:defaults", name, defaults[name], _UNITS.get(name))


def grid_intensity(region: str) -> tuple[float, Source]:
    """(grams CO2 per kWh, source) for a region of the carbon catalogue (e.g. ``"france"``);
    the catalogue lives in ``carbon.yaml`` (:mod:`mlsysim.specs.carbon`)."""
    from mlsysim.specs.carbon import grid_region

    r = grid_region(region)
    return r.intensity, r.source


def grid_regions() -> list[str]:
    from mlsysim.specs.carbon import grid_regions as names

    return names()
