"""Efficiency factors: how far achieved performance sits below the datasheet.

Every first-principles time in the engine divides by a peak; real kernels reach a
fraction of it. All such fractions live here, one record each, with the
measurements they were fitted on. No solver keeps a factor of its own, and no
factor is tuned to a single published number.

The fitting data are the per-operator and NCCL timings of Vidur
[@agrawal2024vidur] and the power traces of Splitwise [@patel2024splitwise]
(subsets in ``mlsysim/data/measurements``; :mod:`mlsysim.validation` refits them
and reports the error on the fitted and the held-out measurements separately).
No factor is fitted on an end-to-end benchmark: those are all held out.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Calibration:
    """The efficiency factors one prediction uses. Replace one to see what moves:

    >>> from mlsysim.calibration import DEFAULT
    >>> slower_memory = DEFAULT.with_(memory_efficiency=0.6)
    """

    # Hardware factors: fitted by ``python -m mlsysim.validation --fit`` (or benchmarks/calibrate.py)
    # on the committed Vidur subsets [@agrawal2024vidur] in mlsysim/data/measurements/vidur/.
    # One set for A100 and H100: the fit residuals do not demand per-device values for GEMMs.
    #: Achieved / peak FLOP/s of a GEMM (tensor cores never run at datasheet rate: tile
    #: quantization, pipeline fill). Fit: all four projections of Llama-2-7B, A100 + H100,
    #: TP 1/2/4/8, 1-4,096 tokens (192 rows), jointly with the next two factors, least squares
    #: in log time of gemm_time(); held out: the same for Llama-2-70B.
    compute_efficiency: float = 0.69
    #: Achieved / peak HBM bandwidth when streaming weights (DRAM refresh, page misses).
    #: Same fit as compute_efficiency.
    memory_efficiency: float = 0.78
    #: Fixed cost of one kernel in seconds (launch, prologue, tail that no bandwidth hides).
    #: Same fit as compute_efficiency; also matches Vidur's non-GEMM kernels at 1-8 tokens
    #: (layer norm, rope, activation, add: 1-8 us).
    kernel_overhead: float = 4.25e-6
    #: Kernels per transformer layer that pay kernel_overhead. Not fitted: Vidur's per-layer
    #: operator list (2 norms, QKV, rope, attention, output projection, up, activation, down, add).
    kernels_per_layer: float = 10
    #: Achieved / peak per-direction link bandwidth in ring all-reduce (NCCL protocol and
    #: synchronisation overhead). Fit with allreduce_latency: Vidur {a100,h100}_dgx_all_reduce,
    #: 8 GPUs on one node, 2 kB-63 MB (12 rows), least squares in relative error; held out:
    #: 2 and 4 GPUs (24 rows).
    interconnect_efficiency: float = 0.69
    #: Fixed cost of one all-reduce call in seconds (kernel launch, handshake). Same fit.
    allreduce_latency: float = 36e-6
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
