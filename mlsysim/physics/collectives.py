"""Collective communication time.

Ring all-reduce on p devices moves 2 (p - 1) / p of the message through each
device's link [@patarasuk2009bandwidth; @thakur2005optimization].
"""
from __future__ import annotations

from mlsysim.physics._array import where


def ring_allreduce_time(message_bytes, devices, link_bandwidth, latency=0.0, efficiency=1.0):
    """t = alpha + 2 (p - 1) / p x n / (W x eta) for p > 1, and 0 for p = 1
    [@patarasuk2009bandwidth].

    ``latency`` (alpha) is the fixed cost of one collective call; ``link_bandwidth``
    is per device, per direction.
    """
    transfer = 2 * (devices - 1) / devices * message_bytes / (link_bandwidth * efficiency)
    return where(devices > 1, latency + transfer, 0.0 * transfer)
