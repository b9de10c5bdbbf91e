"""What quantization saves, and why the saving is smaller than the bit ratio.

Storing a number in fewer bits shrinks only the traffic of that number. When a
fraction f of a step's time scales with the shrunk bytes and the rest does not,
the step speeds up by Amdahl's law [@amdahl1967validity], never by the full ratio.
"""
from __future__ import annotations


def amdahl_speedup(fraction, factor):
    """S = 1 / ((1 - f) + f / s): the whole-step speedup when a fraction f of the time
    becomes s times faster and the rest does not change [@amdahl1967validity].

    Example: weights are 80% of a decode step and int4 reads them 4x faster:
    1 / (0.2 + 0.8 / 4) = 2.5x, not 4x.
    """
    return 1.0 / ((1.0 - fraction) + fraction / factor)


def effective_bits_per_weight(bits, group_size=None, scale_bits=16, zero_bits=0):
    """b_eff = b + (b_scale + b_zero) / G: group-wise quantization stores one scale (and,
    if asymmetric, one zero point) per group of G weights [@frantar2023gptq; @lin2024awq].

    4-bit weights in groups of 128 with an fp16 scale: 4 + 16 / 128 = 4.125 bits.
    ``group_size=None`` is per-tensor (or per-channel) scaling: b.
    """
    if group_size is None:
        return float(bits)
    return bits + (scale_bits + zero_bits) / group_size
