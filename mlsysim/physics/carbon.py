"""Embodied carbon and water of running hardware.

Operational carbon is energy x grid intensity (:func:`mlsysim.physics.energy.carbon`). Embodied
carbon, emitted once when the hardware is made, is charged to a job in proportion to the share of
the hardware's life the job uses, straight-line as capital is (:mod:`mlsysim.physics.economics`)
[@luccioni2023bloom]. Water is the cooling water evaporated on site plus the water consumed to
generate the electricity [@li2023thirsty].
"""
from __future__ import annotations

from mlsysim.physics.economics import amortized_capex


def embodied_share(embodied_kg, life_years, days):
    """C_emb(d) = C_embodied x d / (365 x life): the manufacturing emissions charged to d days of
    use, amortised straight-line like capital [@luccioni2023bloom; @barroso2018datacenter]."""
    return amortized_capex(embodied_kg, life_years, days)


def water(it_kwh, onsite_wue, facility_kwh, offsite_ewif):
    """W = E_IT x WUE_on-site + E_facility x EWIF_off-site, litres [@li2023thirsty]."""
    return it_kwh * onsite_wue + facility_kwh * offsite_ewif
