"""Efficiency factors: how far achieved performance sits below the datasheet.

Every first-principles time in the engine divides by a peak; real kernels reach a
fraction of it. All such fractions live here, one record each, with the
measurements they were fitted on and the records held out. No solver keeps a factor
of its own, and no factor is tuned to a single published number.

The fitting data are the per-operator and NCCL timings of Vidur [@agrawal2024vidur],
the power traces of Splitwise [@patel2024splitwise] (subsets in
``mlsysim/data/measurements``), and, for the three factors no per-operator data can
fit (8-bit math, decode attention, the fixed cost of a prefill), declared subsets of
the end-to-end records in ``mlsysim/data/validation.yaml``. ``python -m
mlsysim.validation --fit`` refits every factor in that order and reports the error on
the fitted and the held-out records separately.

A factor may be a numpy array (one value per Monte Carlo draw, see
:mod:`mlsysim.sensitivity`): every solver computes with them elementwise.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np


@dataclass(frozen=True)
class Calibration:
    """The efficiency factors one prediction uses. Replace one to see what moves:

    >>> from mlsysim.calibration import DEFAULT
    >>> slower_memory = DEFAULT.with_(memory_efficiency=0.6)
    """

    # -- GEMMs: fitted jointly on the Vidur GEMM timings of Llama-2-7B (all four projections,
    #    A100 + H100, TP 1/2/4/8, 1-4,096 tokens; 192 rows), least squares in log time of
    #    physics.roofline.gemm_time; held out: the same for Llama-2-70B (192 rows).
    #: Achieved / peak FLOP/s of a 16-bit GEMM (tensor cores never run at datasheet rate: tile
    #: quantization, pipeline fill).
    compute_efficiency: float = 0.77
    #: Achieved / peak HBM bandwidth when streaming weights (DRAM refresh, page misses).
    memory_efficiency: float = 0.83
    #: Fixed cost of one kernel in seconds (launch, prologue, tail that no bandwidth hides); also
    #: matches Vidur's non-GEMM kernels at 1-8 tokens (layer norm, rope, activation, add: 1-8 us).
    kernel_overhead: float = 4.0e-6
    #: How far a kernel's compute and memory time overlap: t = (t_c^p + t_m^p)^(1/p)
    #: (physics.roofline.overlapped_time; p = infinity is the textbook max). Fitted with the three
    #: factors above over p in {1, 1.5, 2, 3, 4, infinity}: p = 1.5 gives a mean squared log error of
    #: 0.0097 against 0.0188 for the max. Measured times round the roofline's corner near the ridge.
    roofline_exponent: float = 1.5
    #: Kernels per transformer layer that pay kernel_overhead. Not fitted: Vidur's per-layer
    #: operator list (2 norms, QKV, rope, attention, output projection, up, activation, down, add).
    kernels_per_layer: float = 10

    # -- Factors fitted on declared end-to-end records (mlsysim.validation.serving), in this order.
    #: Achieved / peak HBM bandwidth of decode attention reading the KV cache. Fit: the two
    #: 16-bit throughput records whose time goes mostly to KV reads (Llama-2-7B, 2,048 output
    #: tokens, A100 batch 60 and H100 batch 112) [@nvidia2023trtllmperf]. It comes out close to
    #: memory_efficiency: attention kernels of that release read the cache about as well as
    #: GEMVs read weights.
    attention_efficiency: float = 0.87
    #: Fixed cost of a prefill pass per transformer layer, in seconds: the launch and setup of
    #: the context phase's kernels, which decode steps avoid (they replay a captured CUDA graph).
    #: Charged once per prefill pass (the schedule charges it to a request's TTFT), never per
    #: decode step. Per layer, because the 70B model (80 layers) pays about 2.5x the 7B's (32).
    #: Fit: the two A100 128-token TTFT records (Llama-2-7B and -70B) [@nvidia2023trtllmperf];
    #: held out: the H100 ones.
    prefill_overhead_per_layer: float = 75e-6
    #: Achieved / peak FLOP/s of 8-bit (FP8, INT8) and 4-bit tensor-core math. The datasheet
    #: doubles the peak at 8 bits, but per-tensor scaling, casting activations and smaller tiles
    #: keep real kernels further from it than 16-bit GEMMs. Fit: the four compute-bound FP8
    #: records: two H100 prefills of 2,048 tokens [@nvidia2023trtllmperf] and two H200 decodes
    #: at batch 512-1,024 [@nvidia2023trtllmh200]; every other 8-bit record is held out.
    low_precision_efficiency: float = 0.45

    # -- Collectives: fitted with allreduce_latency on Vidur {a100,h100}_dgx_all_reduce, 8 GPUs
    #    on one node, 2 kB-63 MB (12 rows), least squares in relative error; held out: 2 and 4
    #    GPUs (24 rows).
    #: Achieved / peak per-direction link bandwidth in ring all-reduce (NCCL protocol overhead).
    interconnect_efficiency: float = 0.69
    #: Fixed cost of one all-reduce call in seconds (kernel launch, handshake).
    allreduce_latency: float = 36e-6

    # -- Memory and power
    #: Share of a device's memory a serving stack may fill with weights and KV cache; the rest
    #: holds the CUDA context, activations and workspace. vLLM's default
    #: gpu_memory_utilization is 0.9 [@vllm2024engineargs].
    usable_memory_fraction: float = 0.90
    #: Mean device power while serving, as a fraction of TDP. Splitwise perf_model.csv, mean of
    #: the 260 rows (A100, Llama-2-70B and BLOOM-176B, vLLM) that report average_power: 0.573.
    serving_power_fraction: float = 0.573
    #: Mean device power while training, as a fraction of TDP. Not fitted: the published carbon
    #: accounts of large training runs charge every GPU its TDP for the whole run (BLOOM
    #: [@luccioni2023bloom], Llama 2 and 3 [@touvron2023llama2; @dubey2024llama3]), and a
    #: synchronous training step keeps the GPUs near their power limit. The fleet validation
    #: records (mlsysim.validation.fleet) show what this gives against measured energy.
    training_power_fraction: float = 1.0
    #: Link used when a device has no scale-up interconnect: PCIe 4.0 x16, about 31.5 GB/s per
    #: direction [@pcisig2017pcie4].
    pcie_bandwidth: float = 31.5e9

    # ------------------------------------------------------------------------------------
    # Training (issue 8). Fitted by ``python -m mlsysim.validation --fit`` on the records of
    # mlsysim/validation/training.py named in TRAINING_FIT_IDS; every other training record is
    # held out. The serving factors above are not touched by this fit; the training solver
    # reuses interconnect_efficiency and allreduce_latency for NVLink collectives and
    # memory_efficiency for HBM traffic, which Vidur's measurements fix.
    # ------------------------------------------------------------------------------------
    #: Achieved / peak FLOP/s of the matrix multiplies of a training step (forward, and the
    #: input- and weight-gradient GEMMs of the backward pass, bf16). Fit: the five per-layer
    #: times of Korthikanti et al. Table 4 (22B model, one layer on 8 A100s, micro-batch 4,
    #: 2,048 tokens: no recompute, sequence parallel, full, selective, selective + sequence
    #: parallel) [@korthikanti2023reducing], jointly with the next factor, least squares in
    #: log time. The fit leaves those ten times within 7%; it is a little below the
    #: inference GEMMs' compute_efficiency.
    training_gemm_efficiency: float = 0.64
    #: HBM bytes moved by the non-matrix kernels of a layer (layer norms, GeLU, dropout,
    #: residual adds, softmax) per byte of activation the layer stores for the backward pass
    #: (Korthikanti's Table 2 bytes); the backward pass moves twice the forward's. Same fit.
    #: It is why small models reach a lower fraction of peak than large ones: these bytes
    #: grow with s b h while the GEMMs grow with s b h^2.
    training_elementwise_traffic: float = 1.45
    #: Achieved / peak per-direction bandwidth of the scale-out NICs in inter-node collectives
    #: (NCCL over InfiniBand). Fit: the one record where only data-parallel traffic changes,
    #: Korthikanti et al. Sec. 6.3: the 530B model from 280 to 2,240 A100s (8-way data
    #: parallel), 37.83 s -> 39.15 s per iteration, gradients all-reduced in fp32 after the
    #: backward pass [@korthikanti2023reducing; @nvidia2024megatronlm]. The value is low for
    #: NCCL on a quiet fabric (nccl-tests reach far more of the line rate): it also absorbs
    #: what the engine does not model, such as 35 pipeline stages finishing their backward
    #: passes at different times. One record fits it: treat data-parallel times as uncertain.
    network_efficiency: float = 0.39

    def compute_efficiency_for(self, precision: str):
        """The compute efficiency of math in ``precision``: low_precision_efficiency below 16 bits."""
        return self.low_precision_efficiency if precision in _LOW_PRECISION else self.compute_efficiency

    def with_(self, **changes) -> "Calibration":
        """A copy with some factors replaced. Each value is a positive number, or a numpy array
        of them (Monte Carlo draws; shape (n,), or (n, 1, ...) to broadcast against a sweep); fixed costs may be 0; fractions may not exceed 1."""
        from mlsysim.errors import InputError

        names = {f.name for f in fields(self)}
        checked = {}
        for name, value in changes.items():
            if name not in names:
                raise InputError(name, f"a calibration factor ({', '.join(sorted(names))})", name)
            zero_ok = name in _MAY_BE_ZERO
            expected = "a non-negative number" if zero_ok else "a positive number"
            if name == "roofline_exponent":
                expected += " (math.inf for the textbook max)"
            if name in _FRACTIONS:
                expected += " at most 1"
            if isinstance(value, bool) or value is None:
                raise InputError(name, expected, value)
            try:
                array = np.asarray(value, dtype=float)
            except (TypeError, ValueError):
                raise InputError(name, expected + " (or an array of them)", value) from None
            ok = np.all(array >= 0) if zero_ok else np.all(array > 0)
            if name in _FRACTIONS:
                ok = ok and np.all(array <= 1)
            finite = np.all(np.isfinite(array)) or (name == "roofline_exponent" and np.all(array > 0))
            if array.size == 0 or not finite or not ok:
                raise InputError(name, expected + " (or an array of them)", value)
            checked[name] = float(array) if array.ndim == 0 else array
        return replace(self, **checked)

    @property
    def draws(self) -> int:
        """1 for a plain calibration, else the length of its array-valued factors."""
        sizes = {np.size(getattr(self, f.name)) for f in fields(self)}
        return max(sizes)


_LOW_PRECISION = frozenset({"fp8", "int8", "fp4", "int4"})
_MAY_BE_ZERO = frozenset({"kernel_overhead", "allreduce_latency", "prefill_overhead_per_layer",
                          "training_elementwise_traffic"})
_FRACTIONS = frozenset({"compute_efficiency", "memory_efficiency", "attention_efficiency", "low_precision_efficiency",
                        "interconnect_efficiency", "usable_memory_fraction", "serving_power_fraction",
                        "training_power_fraction", "training_gemm_efficiency", "network_efficiency"})


DEFAULT = Calibration()


def resolve_calibration(calibration) -> Calibration:
    """``None`` means :data:`DEFAULT`; a :class:`Calibration` passes through; anything else is an error."""
    if calibration is None:
        return DEFAULT
    if not isinstance(calibration, Calibration):
        from mlsysim.errors import InputError

        raise InputError("calibration", "a mlsysim.calibration.Calibration", type(calibration).__name__)
    return calibration
