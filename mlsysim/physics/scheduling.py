"""Continuous batching with chunked prefill: the equations of one replica's steady state.

Each iteration (step) of the replica runs one decode token for every sequence in flight
and fills the rest of a token budget K with chunks of waiting prompts, first come first
served [@yu2022orca; @agrawal2024sarathi]. With requests arriving at rate lambda, each
with c prompt tokens and n output tokens (the first from the prefill, n - 1 from decode
steps), a step of mean length t carries, on average,

    N = lambda (n - 1) t      decoding sequences (Little's law), and
    P = lambda c t            prompt tokens,

and t itself depends on N and P, so t is a fixed point (solved in the solver). Decoding
sequences come and go independently, so their number is Poisson with mean N (the M/G/inf
queue [@harchol2013performance]). Every function takes floats or numpy arrays.
"""
from __future__ import annotations

import numpy as np


def decoding_sequences(arrival_rate, output_tokens, step_time):
    """N = lambda (n - 1) t: mean sequences in the decode phase, by Little's law
    [@harchol2013performance]. 10 requests/s of 257 output tokens at 20 ms steps: N = 51.2."""
    return arrival_rate * (output_tokens - 1) * step_time


def prefill_tokens_per_step(arrival_rate, prompt_tokens, step_time):
    """P = lambda c t: prompt tokens the steps must carry on average to keep up
    [@agrawal2024sarathi]. 10 requests/s of 512-token prompts at 20 ms steps: P = 102.4."""
    return arrival_rate * prompt_tokens * step_time


def poisson_quantile(p, mean):
    """The p-quantile of a Poisson count with the given mean (elementwise), by the
    Cornish-Fisher expansion q = m + z sqrt(m) + (z^2 - 1) / 6 with z the standard normal
    p-quantile (within one count of the exact quantile for m >= 5): the number of decoding
    sequences exceeded with probability about 1 - p in the M/G/inf occupancy
    [@harchol2013performance]. Mean 100, p = 0.99 (z = 2.326): 100 + 23.26 + 0.73 = 124.0."""
    from statistics import NormalDist

    z = NormalDist().inv_cdf(float(p))
    m = np.maximum(np.asarray(mean, dtype=float), 0.0)
    q = np.where(m > 0, m + z * np.sqrt(m) + (z * z - 1) / 6, 0.0)
    return q if q.ndim else float(q)


def md1_mean_wait(utilization, service_time):
    """Mean wait of an M/D/1 queue (Poisson arrivals, one deterministic server), the
    Pollaczek-Khinchine formula with no service variance [@harchol2013performance]:

        W_q = rho S / (2 (1 - rho))     (inf for rho >= 1).

    rho = 0.5, S = 100 ms: W_q = 50 ms."""
    rho = np.asarray(utilization, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(rho < 1, rho * service_time / (2 * (1 - rho)), np.inf)
    return w if w.ndim else float(w)
