"""The carbon catalogue (``mlsysim/data/carbon.yaml``): grid intensity by region, facility PUE
and water use, and embodied carbon, each with its source.

One catalogue serves :class:`~mlsysim.CarbonModel` and :class:`~mlsysim.EconomicsModel`, so the
energy, the dollars and the carbon of a run can never disagree. Values are returned in SI-ish
units: grams CO2e per kWh, litres per kWh, kilograms, years.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from mlsysim.errors import SpecError, UnknownChoiceError
from mlsysim.specs.fields import Source, read_yaml

FILE = "carbon.yaml"


@dataclass(frozen=True)
class GridRegion:
    """One electricity grid: its carbon intensity (g CO2e/kWh) in ``year``, and where published the
    off-site water of generating a kWh (L/kWh)."""

    key: str
    intensity: float
    year: int
    source: Source
    water: float | None = None
    water_source: Source | None = None


@dataclass(frozen=True)
class Facility:
    """A kind of data centre: its PUE and, where published, its on-site water use (L per IT kWh)."""

    key: str
    pue: float
    pue_source: Source
    wue: float | None = None
    wue_source: Source | None = None


@lru_cache(maxsize=None)
def _data() -> dict:
    from mlsysim.specs.catalog import DATA

    return read_yaml(DATA / FILE)


def _entry(where: str, entry, unit: str | None):
    from mlsysim.core.units import Q_

    if not isinstance(entry, dict) or "value" not in entry or "source" not in entry:
        raise SpecError(FILE, where, "expected {value, source, detail}")
    raw = entry["value"]
    try:
        value = Q_(raw).to(unit).magnitude if unit else float(raw)
    except Exception:
        raise SpecError(FILE, f"{where}.value", f"expected a quantity in {unit or 'plain number'}, got {raw!r}") from None
    return float(value), Source(str(entry["source"]), str(entry.get("detail", "")), str(entry.get("estimate", "")))


def _key(name) -> str:
    return str(name).strip().lower().replace(" ", "_").replace("-", "_")


def grid_regions() -> list[str]:
    """The region names of the catalogue, from the cleanest listed grid to the most carbon-intensive."""
    regions = _data()["grid_regions"]
    return sorted(regions, key=lambda k: grid_region(k).intensity)


@lru_cache(maxsize=None)
def _region(key: str) -> GridRegion:
    entry = _data()["grid_regions"][key]
    intensity, source = _entry(f"grid_regions.{key}", entry, "g/kWh")
    year = entry.get("year")
    if not isinstance(year, int):
        raise SpecError(FILE, f"grid_regions.{key}.year", f"expected the data year, got {year!r}")
    water = water_source = None
    if "water" in entry:
        water, water_source = _entry(f"grid_regions.{key}.water", entry["water"], "L/kWh")
    return GridRegion(key, intensity, year, source, water, water_source)


def grid_region(name, parameter: str = "region") -> GridRegion:
    """The grid region ``name`` (``"france"``, ``"us-average"``); an unknown name raises an
    :class:`~mlsysim.errors.InputError` naming ``parameter``, with the closest names."""
    if isinstance(name, GridRegion):
        return name
    key = _key(name)
    regions = _data()["grid_regions"]
    if key not in regions:
        raise UnknownChoiceError(parameter, "grid region", str(name), list(regions))
    return _region(key)


def facilities() -> list[str]:
    return list(_data()["facilities"])


@lru_cache(maxsize=None)
def _facility(key: str) -> Facility:
    entry = _data()["facilities"][key]
    pue, pue_source = _entry(f"facilities.{key}.pue", entry.get("pue"), None)
    wue = wue_source = None
    if "wue" in entry:
        wue, wue_source = _entry(f"facilities.{key}.wue", entry["wue"], "L/kWh")
    return Facility(key, pue, pue_source, wue, wue_source)


def facility(name, parameter: str = "facility") -> Facility:
    """The facility ``name`` (``"hyperscale"``, ``"industry_average"``, ...)."""
    if isinstance(name, Facility):
        return name
    key = _key(name)
    known = _data()["facilities"]
    if key not in known:
        raise UnknownChoiceError(parameter, "facility", str(name), list(known))
    return _facility(key)


@lru_cache(maxsize=None)
def embodied(name: str) -> tuple[float, Source]:
    """Embodied carbon defaults: ``"accelerator"`` and ``"server"`` in kg CO2e, ``"life"`` in years
    (parsed once, like the regions and facilities)."""
    entry = _data()["embodied"][name]
    return _entry(f"embodied.{name}", entry, "year" if name == "life" else "kg")
