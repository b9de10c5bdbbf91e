"""Cost of owning and running hardware.

Capital is spread evenly over a stated life (straight-line depreciation, as in
the total-cost-of-ownership model of [@barroso2018datacenter], ch. 6);
operating cost is energy at a price per kWh plus maintenance as a yearly
fraction of capital.
"""
from __future__ import annotations

DAYS_PER_YEAR = 365.0
SECONDS_PER_DAY = 86400.0


def amortized_capex(capex, life_years, days):
    """C_cap(d) = capex x d / (365 x life) [@barroso2018datacenter]."""
    return capex * days / (DAYS_PER_YEAR * life_years)


def energy_cost(energy_kwh, price_per_kwh):
    """C_energy = E (kWh) x price ($/kWh) [@barroso2018datacenter]."""
    return energy_kwh * price_per_kwh


def maintenance_cost(capex, fraction_per_year, days):
    """C_maint = capex x f x d / 365 [@barroso2018datacenter]."""
    return capex * fraction_per_year * days / DAYS_PER_YEAR
