"""Efficiency factors: how far achieved performance sits below the datasheet.

Every first-principles time in the engine divides by a peak; real kernels reach a
fraction of it. All such fractions live here, one record each, with the
measurements they were fitted on. No solver keeps a factor of its own, and no
factor is tuned to a single published number.

The fitting data are the per-operator and NCCL timings of Vidur
[@agrawal2024vidur] and the power traces of Splitwise [@patel2024splitwise]
(``shared/data/measurements``; see ``mlsysim/validation`` for the fit and the
held-out error).
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Calibration:
    """The efficiency factors one prediction uses. Replace one to see what moves:

    >>> from mlsysim.calibration import DEFAULT
    >>> slower_memory = DEFAULT.with_(memory_efficiency=0.6)
    """

    #: Achieved / peak FLOP/s of large GEMMs. Vidur mlp_up_proj at 2,048-4,096 tokens, TP 1,
    #: Llama-2-7B: H100 0.75-0.76 of 989.4 TFLOP/s, A100 0.70-0.74 of 312 TFLOP/s; mean 0.74.
    compute_efficiency: float = 0.74
    #: Achieved / peak HBM bandwidth when streaming weights. Vidur mlp_up_proj at 1-8 tokens,
    #: TP 1, Llama-2-7B (180 MB of fp16 weights): H100 0.064 ms -> 2.82 TB/s = 0.84 of 3.35 TB/s;
    #: A100 0.111-0.116 ms -> 1.55-1.62 TB/s = 0.76-0.80 of 2.039 TB/s; mean 0.81.
    memory_efficiency: float = 0.81
    #: Achieved / peak per-direction link bandwidth in ring all-reduce (bus bandwidth).
    #: Vidur h100_dgx_all_reduce, 8 GPUs, 9.6 MB: 0.087 ms -> 2 x 7/8 x 9.6 MB / 0.087 ms
    #: = 193 GB/s of 450 GB/s = 0.43.
    interconnect_efficiency: float = 0.43
    #: Fixed cost of one all-reduce call (seconds). Vidur h100_dgx_all_reduce, 8 GPUs,
    #: messages of 2 kB to 1 MB: medians 20-39 microseconds; 25 us taken.
    allreduce_latency: float = 25e-6
    #: Mean device power while serving, as a fraction of TDP. Splitwise perf_model.csv,
    #: mean of the 260 rows (A100, Llama-2-70B and BLOOM-176B, vLLM) that report
    #: average_power: 0.573.
    serving_power_fraction: float = 0.573
    #: Link used when a device has no scale-up interconnect: PCIe 4.0 x16, about
    #: 31.5 GB/s per direction [@pcisig2017pcie4].
    pcie_bandwidth: float = 31.5e9

    def with_(self, **changes) -> "Calibration":
        """A copy with some factors replaced (checked to be positive numbers)."""
        from mlsysim.errors import InputError

        names = {f.name for f in fields(self)}
        for name, value in changes.items():
            if name not in names:
                raise InputError(name, f"a calibration factor ({', '.join(sorted(names))})", name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise InputError(name, "a positive number", value)
        return replace(self, **changes)


DEFAULT = Calibration()
