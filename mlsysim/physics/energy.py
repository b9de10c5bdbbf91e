"""Energy, facility overhead and carbon.

Energy is power x time; a facility draws PUE times the IT energy
[@thegreengrid2012pue]; emissions are energy x grid carbon intensity.
"""
from __future__ import annotations

JOULES_PER_KWH = 3.6e6


def energy(power_watts, seconds):
    """E = P x t, in joules [@barroso2018datacenter]."""
    return power_watts * seconds


def facility_energy(it_energy, pue):
    """E_facility = PUE x E_IT [@thegreengrid2012pue]."""
    return it_energy * pue


def carbon(energy_joules, intensity_g_per_kwh):
    """CO2e grams = E (kWh) x grid intensity (g/kWh); intensities by region from [@ember2024review]."""
    return energy_joules / JOULES_PER_KWH * intensity_g_per_kwh


def it_power(accelerators, tdp_watts, power_fraction, host_watts_per_accelerator):
    """P_IT = N x (f x TDP + P_host): N accelerators drawing a fraction f of their TDP, plus the
    rest of each node (CPUs, DRAM, NICs, switches, fans) per accelerator [@barroso2018datacenter]."""
    return accelerators * (tdp_watts * power_fraction + host_watts_per_accelerator)
