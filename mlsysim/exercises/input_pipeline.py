"""Exercises of the chapter "Starving the Accelerator" (tutorials/input-pipeline.qmd).

The scenario matches the chapter's parameters: ResNet-50 trained on ImageNet at the A100's
published rate, with the chapter's host cores and storage bandwidth per GPU.
"""
from __future__ import annotations

import math

from mlsysim.exercises import Design, design_answer, design_exercise, exercise

#: NVIDIA's published mixed-precision ResNet-50 training rate on one V100 16GB [@nvidia2021rn50].
V100_IMAGES_PER_S = 1200
#: Prices of the open design (author-chosen, per GPU).
PRICE_PER_CORE = 150.0
PRICE_PER_GBPS = 400.0
TARGET = 0.95


def pipeline(images_per_s, cores, storage_gbps, prefetch=True):
    from mlsysim import DataPipelineModel

    return DataPipelineModel().solve(images_per_s, dataset="imagenet", cpu_cores=cores,
                                     storage_bandwidth=storage_gbps * 1e9, prefetch=prefetch,
                                     target_utilization=TARGET)


@exercise("input-pipeline/v100-cores", unit=None, tolerance=0.0, close=0.2, kind="predict", minutes=10, points=2,
          objective="Predict the host cores a slower GPU needs from the chain of rates.",
          hint="cores = ceil(0.95 x images/s / images per core per second), with the per-core rate of the imagenet workload.",
          wrong=lambda value: value * 3)
def _v100_cores(IMAGES_PER_S=2470, CORES_PER_GPU=6, STORAGE_GBPS=1.0):
    return pipeline(V100_IMAGES_PER_S, CORES_PER_GPU, STORAGE_GBPS).workers_needed


@exercise("input-pipeline/slow-storage", unit=None, tolerance=0.02, close=0.10, kind="change", minutes=10,
          points=2, objective="See which stage binds when one rate in the chain drops.",
          hint="Solve with storage_bandwidth=0.1e9 and read accelerator_utilization (a fraction).",
          wrong=lambda value: min(1.0, value * 3))
def _slow_storage(IMAGES_PER_S=2470, CORES_PER_GPU=6, STORAGE_GBPS=1.0):
    return pipeline(IMAGES_PER_S, CORES_PER_GPU, 0.1).accelerator_utilization.to("").magnitude


@design_exercise("input-pipeline/cheapest-host", tolerance=0.05, close=0.15, minutes=20, points=3,
                 objective="Size the host of one GPU (cores and storage bandwidth) at least cost for 95% utilization.",
                 answer_format="a dict {'cpu_cores': 12, 'storage_gbps': 0.5}",
                 hint="Each stage must deliver at least 95% of the GPU's rate; buy no more than that of each.",
                 wrong=lambda best: {"cpu_cores": 2, "storage_gbps": best["storage_gbps"]})
def _cheapest_host(answer, IMAGES_PER_S=2470, CORES_PER_GPU=6, STORAGE_GBPS=1.0):
    from mlsysim.errors import InputError
    from mlsysim.specs.pipeline import workload

    spec = workload("imagenet")
    cores = int(pipeline(IMAGES_PER_S, 1, 1.0).workers_needed)
    gbps = math.ceil(TARGET * IMAGES_PER_S * spec.bytes_per_sample / 1e9 * 100) / 100   # to 10 MB/s
    best = {"cpu_cores": cores, "storage_gbps": gbps}
    best_cost = cores * PRICE_PER_CORE + gbps * PRICE_PER_GBPS
    if answer is None:
        return Design(True, best_cost, best_cost, best, unit="USD")
    design_answer(answer, ("cpu_cores", "storage_gbps"), "{'cpu_cores': 12, 'storage_gbps': 0.5}")
    c, s = answer["cpu_cores"], answer["storage_gbps"]
    if isinstance(c, bool) or not isinstance(c, int) or c < 1:
        raise InputError("cpu_cores", "a whole number of cores, at least 1", c)
    if isinstance(s, bool) or not isinstance(s, (int, float)) or s <= 0:
        raise InputError("storage_gbps", "a positive number of GB/s", s)
    r = pipeline(IMAGES_PER_S, c, float(s))
    util = float(r.accelerator_utilization.to("").magnitude)
    reasons = () if util >= TARGET - 1e-9 else (f"the GPU is busy {util:.0%} of the time, below {TARGET:.0%}; "
                                               f"the bottleneck is {r.bottleneck}",)
    cost = c * PRICE_PER_CORE + float(s) * PRICE_PER_GBPS
    return Design(not reasons, cost, best_cost, best, reasons, "USD")
