"""Failures, checkpoints and restarts of a synchronous training job.

A job on N devices stops whenever any one of them fails, so with independent, exponentially
distributed failures the job's mean time between failures is the device's divided by N. The job
writes a checkpoint (taking delta seconds) after every tau seconds of work; a failure loses the
work since the last checkpoint and costs a restart of R seconds. To first order the fraction of
time lost is [@young1974first; @daly2006higher]

    waste = delta / tau  (writing)  +  tau / (2 M)  (rework)  +  R / M  (restarting),

minimised by Young's interval tau = sqrt(2 delta M); Daly's higher-order estimate corrects it
when delta is not small against M. Every function takes plain floats or numpy arrays in SI units
(seconds, bytes, bytes/second).
"""
from __future__ import annotations

import numpy as np


def cluster_mtbf(device_mtbf, devices):
    """M = M_device / N: a synchronous job of N devices stops at the first failure of any one of
    them (independent, exponential failures) [@young1974first]."""
    return device_mtbf / devices


def expected_failures(duration, mtbf):
    """E[failures] = t / M over t seconds of wall-clock time [@young1974first]."""
    return duration / mtbf


def checkpoint_bytes(parameters, weight_bytes=2.0, optimizer_bytes=12.0):
    """S = P x (b_w + b_opt): the whole model's weights in training precision plus its optimizer
    state, the model state of :func:`mlsysim.physics.training.model_state_bytes` on one unsharded
    copy without gradients (not saved); for mixed-precision Adam b_w = 2 and b_opt = 12
    [@rajbhandari2020zero]."""
    from mlsysim.physics.training import model_state_bytes

    weights, _, optimizer = model_state_bytes(parameters, weight_bytes, 0.0, optimizer_bytes, 1, 0)
    return weights + optimizer


def checkpoint_time(size_bytes, write_bandwidth):
    """delta = S / B_write: the time to write one checkpoint [@young1974first]."""
    return size_bytes / write_bandwidth


def young_interval(checkpoint_seconds, mtbf):
    """tau = sqrt(2 delta M), Young's first-order optimum of the work between checkpoints
    [@young1974first]."""
    return np.sqrt(2.0 * checkpoint_seconds * mtbf)


def daly_interval(checkpoint_seconds, mtbf):
    """Daly's higher-order optimum [@daly2006higher]:

        tau = sqrt(2 delta M) [1 + sqrt(delta / (2M)) / 3 + (delta / (2M)) / 9] - delta,   delta < 2M
        tau = M,                                                                             delta >= 2M
    """
    d, m = np.asarray(checkpoint_seconds, dtype=float), np.asarray(mtbf, dtype=float)
    x = d / (2.0 * m)
    tau = np.sqrt(2.0 * d * m) * (1.0 + np.sqrt(x) / 3.0 + x / 9.0) - d
    out = np.where(d < 2.0 * m, tau, m)
    return out if out.ndim else float(out)


def write_fraction(checkpoint_seconds, interval):
    """delta / tau: the share of time spent writing checkpoints [@young1974first]."""
    return checkpoint_seconds / interval


def rework_fraction(interval, mtbf):
    """tau / (2M): on average a failure loses half an interval of work [@young1974first]."""
    return interval / (2.0 * mtbf)


def restart_fraction(restart_seconds, mtbf):
    """R / M: each failure costs one restart (detect, reschedule, reload) [@daly2006higher]."""
    return restart_seconds / mtbf


def goodput(checkpoint_seconds, interval, mtbf, restart_seconds):
    """G = 1 - delta/tau - tau/(2M) - R/M, the first-order share of wall-clock time that is useful
    work [@young1974first; @daly2006higher]. It can fall below zero when M is short: the
    first-order expansion no longer holds there (see mlsysim.simulate_checkpointing)."""
    return (1.0 - write_fraction(checkpoint_seconds, interval) - rework_fraction(interval, mtbf)
            - restart_fraction(restart_seconds, mtbf))


def wall_clock(useful_seconds, goodput_fraction):
    """T = W / G: the wall-clock time to finish W seconds of failure-free work at goodput G
    [@daly2006higher]."""
    return useful_seconds / goodput_fraction
