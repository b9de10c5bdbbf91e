"""The input pipeline of training as a chain of rates.

Each stage moves samples at a rate: storage and the host-to-device link at bandwidth / bytes per
sample, the host CPUs at cores x the per-core decode and augment rate, the accelerators at the
rate their training step consumes. With prefetching the stages overlap and a step takes as long
as its slowest stage; without it they run one after another and the times add
[@mohan2021datastalls; @murray2021tfdata]. Floats or numpy arrays, SI units (bytes, seconds).
"""
from __future__ import annotations

import numpy as np


def link_rate(bandwidth, bytes_per_sample):
    """r = B / s: samples per second through a link or device of bandwidth B [@mohan2021datastalls]."""
    return bandwidth / bytes_per_sample


def cpu_rate(cores, per_core_rate):
    """r = c x r_core: samples per second that c host cores decode and augment [@mohan2021datastalls]."""
    return cores * per_core_rate


def stage_time(samples, rate):
    """t = n / r: the time one stage needs for n samples [@mohan2021datastalls]."""
    return samples / rate


def overlapped_step(*stage_times):
    """t_step = max_i t_i: with prefetching every stage works on a different batch at once, so the
    slowest stage sets the pace [@murray2021tfdata]."""
    out = stage_times[0]
    for t in stage_times[1:]:
        out = np.maximum(out, t)
    return out


def sequential_step(*stage_times):
    """t_step = sum_i t_i: without prefetching the stages wait for one another [@mohan2021datastalls]."""
    out = stage_times[0]
    for t in stage_times[1:]:
        out = out + t
    return out


def cores_needed(sample_rate, per_core_rate, target_utilization):
    """c = ceil(u x r_acc / r_core): the host cores that keep the accelerator busy a share u of the
    time [@mohan2021datastalls]."""
    return np.ceil(target_utilization * sample_rate / per_core_rate - 1e-9)
