"""Queueing: how long a request waits for a busy server.

Requests arrive at rate lambda (per second) to a server that completes work at
rate mu; the utilization is rho = lambda / mu and a queue is stable only while
rho < 1. The mean waiting time of the single-server queues follows the
Pollaczek-Khinchine formula for Poisson arrivals and Kingman's heavy-traffic
approximation for general arrivals; the many-server queue uses the Erlang C
formula [@harchol2013performance; @kleinrock1975queueing; @kingman1961single].

Every function takes plain floats or numpy arrays in SI units (seconds,
1/seconds) and returns ``inf`` where the queue is unstable (rho >= 1).
"""
from __future__ import annotations

import numpy as np


def _finite_where(stable, value):
    """value where the queue is stable, inf elsewhere (0-d results become floats)."""
    out = np.where(stable, value, np.inf)
    return out if out.ndim else float(out)


def _f(x):
    """As a float array (so that division by zero gives inf, not an exception)."""
    return np.asarray(x, dtype=float)


def utilization(arrival_rate, service_rate):
    """rho = lambda / mu: the fraction of time the server is busy [@harchol2013performance]."""
    return arrival_rate / service_rate


def mm1_mean_wait(arrival_rate, service_rate):
    """M/M/1 mean time in queue: W_q = rho / (mu - lambda) [@harchol2013performance]."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lam, mu = _f(arrival_rate), _f(service_rate)
        return _finite_where(lam < mu, lam / mu / (mu - lam))


def mm1_response_quantile(p, arrival_rate, service_rate):
    """M/M/1 p-quantile of the response time (wait + service), which is exponential
    with rate mu - lambda: t_p = ln(1 / (1 - p)) / (mu - lambda) [@harchol2013performance]."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lam, mu = _f(arrival_rate), _f(service_rate)
        return _finite_where(lam < mu, -np.log1p(-_f(p)) / (mu - lam))


def pk_mean_wait(arrival_rate, mean_service, service_scv):
    """M/G/1 mean time in queue, the Pollaczek-Khinchine formula
    [@kleinrock1975queueing; @harchol2013performance]:

        W_q = rho S (1 + C_s^2) / (2 (1 - rho)),   rho = lambda S,

    with S the mean service time and C_s^2 its squared coefficient of variation
    (0 for a deterministic server, M/D/1; 1 for an exponential one, M/M/1).
    """
    rho = _f(arrival_rate) * mean_service
    with np.errstate(divide="ignore", invalid="ignore"):
        return _finite_where(rho < 1, rho * mean_service * (1 + service_scv) / (2 * (1 - rho)))


def kingman_mean_wait(rho, mean_service, arrival_scv, service_scv):
    """G/G/1 mean time in queue, Kingman's heavy-traffic approximation [@kingman1961single]:

        W_q ~ rho / (1 - rho) x (C_a^2 + C_s^2) / 2 x S,

    with C_a^2 and C_s^2 the squared coefficients of variation of the time between
    arrivals and of the service time. Exact for M/G/1 (C_a^2 = 1); accurate as rho -> 1.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = _f(rho)
        return _finite_where(rho < 1, rho / (1 - rho) * (arrival_scv + service_scv) / 2 * mean_service)


def exponential_wait_quantile(p, mean_wait, prob_wait):
    """p-quantile of a waiting time that is zero with probability 1 - pi and otherwise
    exponential with mean W_q / pi, so that its mean is W_q:

        P(W > t) = pi exp(-pi t / W_q),   t_p = (W_q / pi) ln(pi / (1 - p))  (0 if pi <= 1 - p).

    Exact for M/M/1 (pi = rho) and M/M/c (pi = Erlang C); for G/G/1 it is the
    heavy-traffic limit, in which the wait tends to an exponential [@kingman1961single;
    @harchol2013performance].
    """
    mean_wait, prob_wait = _f(mean_wait), _f(prob_wait)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = mean_wait / prob_wait * np.log(prob_wait / (1 - p))
        q = np.where(prob_wait > 1 - p, q, 0.0)
        q = np.where(np.isfinite(mean_wait), q, np.inf)
    return q if q.ndim else float(q)


def erlang_c(servers, offered_load):
    """Probability that an arrival waits in an M/M/c queue, the Erlang C formula
    [@harchol2013performance], with c servers and offered load a = lambda / mu
    (per-server rate mu), computed through the stable Erlang B recursion

        B_0 = 1,  B_k = a B_{k-1} / (k + a B_{k-1}),   C = B_c / (1 - (a / c)(1 - B_c)).

    Returns 1 where a >= c (the queue is unstable and everyone waits).
    """
    c = int(servers)
    a = np.asarray(offered_load, dtype=float)
    b = np.ones_like(a)
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    rho = a / c
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.where(rho < 1, b / (1 - rho * (1 - b)), 1.0)
    return result if result.ndim else float(result)


def mmc_mean_wait(servers, arrival_rate, service_rate):
    """M/M/c mean time in queue: W_q = C(c, a) / (c mu - lambda), a = lambda / mu
    [@harchol2013performance]."""
    lam, mu = _f(arrival_rate), _f(service_rate)
    prob_wait = erlang_c(servers, lam / mu)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _finite_where(lam < servers * mu, prob_wait / (servers * mu - lam))


def batch_formation_mean(arrival_rate, batch_size):
    """Mean time a request waits for its fixed-size batch to fill, with Poisson
    arrivals: the request in position k waits for b - k more arrivals, each 1/lambda
    apart on average, and k is uniform on 1..b, so E[F] = (b - 1) / (2 lambda)."""
    return (batch_size - 1) / (2 * arrival_rate)


def batch_formation_cdf(t, arrival_rate, batch_size):
    """P(F <= t) for the time F a request waits for its fixed-size batch to fill.

    The request waits for j further arrivals, j uniform on 0..b-1, and j Poisson
    arrivals come within t exactly when N_t >= j, N_t ~ Poisson(lambda t):

        P(F <= t) = (1 / b) sum_{j=0}^{b-1} P(N_t >= j) = E[min(N_t + 1, b)] / b.

    ``t`` may be an array; ``arrival_rate`` and ``batch_size`` are scalars.
    """
    t = np.asarray(t, dtype=float)
    b = int(batch_size)
    if b == 1:
        return np.ones_like(t)
    mean = arrival_rate * np.maximum(t, 0.0)[..., None]
    j = np.arange(b - 1)                                  # P(N = j) for j = 0 .. b-2
    log_factorial = np.concatenate(([0.0], np.cumsum(np.log(np.arange(1, b - 1)))))
    log_pmf = -mean + j * np.log(np.maximum(mean, 1e-300)) - log_factorial
    pmf = np.where(mean > 0, np.exp(log_pmf), (j == 0).astype(float))
    # E[min(N + 1, b)] = b - sum_{j=0}^{b-2} (b - 1 - j) P(N = j)
    expected = b - pmf @ (b - 1 - j)
    return expected / b
