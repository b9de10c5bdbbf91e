"""Discrete-event simulation of one replica under a batching policy.

The queueing formulas of :mod:`mlsysim.solvers.batching` rest on assumptions
(Poisson arrivals, equal output lengths, a mean occupancy instead of a
fluctuating one, Kingman's heavy-traffic approximation). This module runs the
*same* service times (:class:`~mlsysim.solvers.batching.ServiceTimes`) through
an event-by-event simulation, so a chapter can show where the formulas hold and
where they break. It uses plain numpy and the standard library; every run is
seeded and takes well under a second for tens of thousands of requests.

- ``fixed``: requests are grouped in arrival order into batches of ``b``; a batch
  is ready when its last request arrives, starts when the server is free, and
  takes S(b) (for an LLM: one prefill of the b prompts plus as many decode steps
  as its *longest* output, [@yu2022orca]).
- ``continuous``: a request is admitted at a decode-step boundary when one of the
  ``b`` slots is free; its prefill pauses the other sequences; each step of N
  sequences takes t(N) and gives every sequence one token; a sequence leaves
  after its own output length [@yu2022orca; @kwon2023pagedattention].

Entry point: :func:`simulate_batching`.
"""
from __future__ import annotations

import heapq
import math
from collections import deque

import numpy as np

from mlsysim.core import validate
from mlsysim.errors import InputError
from mlsysim.solvers.batching import DEFAULT_OUTPUT_TOKENS, DEFAULT_PROMPT_TOKENS, ServiceTimes
from mlsysim.solvers.result import Result

__all__ = ["simulate_batching", "arrival_times", "output_lengths", "simulate_fixed", "simulate_continuous",
           "SimulationResult"]


def arrival_times(rate, requests, scv=1.0, seed=0):
    """Arrival times of ``requests`` requests at ``rate`` per second. The gaps are
    exponential (a Poisson process) when ``scv`` = 1, else gamma-distributed with
    mean 1/rate and squared coefficient of variation ``scv`` (> 1: bursty)."""
    rng = np.random.default_rng(seed)
    if scv == 1.0:
        gaps = rng.exponential(1 / rate, int(requests))
    else:
        gaps = rng.gamma(1 / scv, scv / rate, int(requests))
    return np.cumsum(gaps)


def output_lengths(mean, requests, scv=0.0, seed=0):
    """Output tokens per request: all equal to ``mean`` when ``scv`` = 0, else
    lognormal with that mean and squared coefficient of variation (a heavy right
    tail), rounded to whole tokens of at least one."""
    if scv == 0:
        return np.full(int(requests), int(round(mean)))
    rng = np.random.default_rng(seed + 1)
    sigma2 = math.log1p(scv)
    draws = rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2), int(requests))
    return np.maximum(np.rint(draws), 1).astype(int)


def simulate_fixed(arrivals, batch_size, batch_time):
    """Latency of every request (seconds) under fixed-size batching, and the busy time.

    ``batch_time`` is S(b) in seconds, one number or one per batch. Requests beyond
    the last full batch are dropped (they would wait forever)."""
    b = int(batch_size)
    batches = len(arrivals) // b
    arrivals = np.asarray(arrivals[: batches * b], dtype=float)
    ready = arrivals[b - 1::b].tolist()
    service = np.broadcast_to(np.asarray(batch_time, dtype=float), (batches,)).tolist()
    finish, free = [0.0] * batches, 0.0
    for j in range(batches):                      # Lindley's recursion, one batch at a time
        free = (ready[j] if ready[j] > free else free) + service[j]
        finish[j] = free
    return np.repeat(finish, b) - arrivals, float(np.sum(service))


def simulate_continuous(arrivals, lengths, max_batch, step_times, prefill_time):
    """Latency of every request (seconds) under continuous batching, the busy time and
    the time-averaged number of sequences decoding.

    ``step_times[N]`` is the decode step with N sequences (N = 1..max_batch);
    ``prefill_time`` the prefill of one prompt. Between events (an arrival that can be
    admitted, a sequence finishing) the batch is constant, so the loop jumps from
    event to event rather than step to step."""
    arr, need = [float(a) for a in arrivals], [int(x) for x in lengths]
    steps = [float(s) for s in step_times]
    n, cap = len(arr), int(max_batch)
    done = [0.0] * n
    active: list = []                             # heap of (step at which it finishes, request)
    waiting: deque = deque()
    now, step, nxt, busy, area = 0.0, 0, 0, 0.0, 0.0
    while nxt < n or waiting or active:
        while nxt < n and arr[nxt] <= now:
            waiting.append(nxt)
            nxt += 1
        while waiting and len(active) < cap:
            i = waiting.popleft()
            now += prefill_time
            busy += prefill_time
            area += len(active) * prefill_time
            heapq.heappush(active, (step + need[i], i))
            while nxt < n and arr[nxt] <= now:
                waiting.append(nxt)
                nxt += 1
        if not active:
            now = arr[nxt]
            continue
        size = len(active)
        dt = steps[size]
        k = active[0][0] - step
        if size < cap and nxt < n:
            k = min(k, max(1, math.ceil((arr[nxt] - now) / dt)))
        now += k * dt
        step += k
        busy += k * dt
        area += size * k * dt
        while active and active[0][0] <= step:
            done[heapq.heappop(active)[1]] = now
    return np.array(done) - np.asarray(arrivals, float), busy, area / busy if busy else 0.0


class SimulationResult(Result):
    """What one simulated run measured (after dropping the warm-up requests)."""

    TITLE = "Simulation"
    FIELDS = {
        "policy": (None, None, "Policy"),
        "throughput": ("1/s", "1/s", "Throughput (requests/s)"),
        "utilization": ("", "percent", "Busy fraction"),
        "mean_batch": (None, None, "Mean batch"),
        "latency_mean": ("s", "ms", "Mean latency"),
        "latency_p50": ("s", "ms", "p50 latency"),
        "latency_p99": ("s", "ms", "p99 latency"),
        "requests": (None, None, "Requests measured"),
    }
    __slots__ = ("latencies",)


def _run(svc, lam, b, requests, seed, arrival_scv, output_scv, warmup):
    arrivals = arrival_times(lam, requests, arrival_scv, seed)
    if svc.policy == "fixed":
        if svc.is_llm:
            lengths = output_lengths(svc.output, requests, output_scv, seed)
            batches = len(arrivals) // int(b)
            longest = lengths[: batches * int(b)].reshape(batches, int(b)).max(axis=1)
            service = svc.replica.prefill(svc.prompt, b)[0] + longest * svc.step_time(b)
        else:
            service = svc.batch_time(b)
        latencies, busy = simulate_fixed(arrivals, b, service)
        mean_batch = float(b)
    else:
        lengths = output_lengths(svc.output, requests, output_scv, seed)
        step_times = np.concatenate(([0.0], np.asarray(svc.step_time(np.arange(1, int(b) + 1, dtype=float)))))
        latencies, busy, mean_batch = simulate_continuous(arrivals, lengths, b, step_times, svc.prefill_time)
    keep = latencies[int(warmup * len(latencies)):]
    finished = float(np.max(arrivals[: len(latencies)] + latencies) - arrivals[0])
    return {"throughput": len(latencies) / finished, "utilization": busy / finished,
            "mean_batch": mean_batch, "latency_mean": float(np.mean(keep)),
            "latency_p50": float(np.percentile(keep, 50)), "latency_p99": float(np.percentile(keep, 99)),
            "requests": int(len(keep))}, latencies


def simulate_batching(model, hardware, arrival_rate, batch_size, policy=None, requests=20_000, seed=0,
                      arrival_scv=1.0, output_scv=0.0, warmup=0.1, prompt_tokens=DEFAULT_PROMPT_TOKENS,
                      output_tokens=DEFAULT_OUTPUT_TOKENS, precision="fp16", tensor_parallel=1,
                      calibration=None) -> SimulationResult:
    """Simulate one replica under a batching policy, with the service times of
    :class:`mlsysim.BatchingModel` and the same arguments, plus:

    - ``requests``: requests simulated (the first ``warmup`` fraction is not measured);
    - ``seed``: the random seed (same seed, same numbers);
    - ``arrival_scv``: squared coefficient of variation of the gaps between arrivals
      (1: Poisson, as the formulas assume; > 1: bursty);
    - ``output_scv``: of the LLM output lengths (0: all ``output_tokens``, as the
      formulas assume; > 0: lognormal with a heavy tail).

    ``arrival_rate`` and ``batch_size`` accept arrays (one run per point). The result's
    ``latencies`` holds every request's latency in seconds (for a single point).
    """
    svc = ServiceTimes(model, hardware, policy, prompt_tokens, output_tokens, precision, tensor_parallel, calibration)
    lam = validate.number(arrival_rate, "arrival_rate", "1/s")
    b = validate.number(batch_size, "batch_size", integer=True)
    requests = int(validate.number(requests, "requests", integer=True, minimum=1))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError("seed", "a non-negative integer", seed)
    validate.number(arrival_scv, "arrival_scv")
    validate.number(output_scv, "output_scv", inclusive=True)
    validate.number(warmup, "warmup", inclusive=True, maximum=0.9)
    if isinstance(arrival_scv, np.ndarray) or isinstance(output_scv, np.ndarray):
        raise InputError("arrival_scv", "a single number", "an array")
    if requests < 10 * np.max(b):
        raise InputError("requests", f"at least 10 x batch_size = {10 * int(np.max(b))}", requests)
    lam_a, b_a = np.broadcast_arrays(np.asarray(lam, float), np.asarray(b, float))
    rows, last = [], None
    for i in np.ndindex(lam_a.shape):
        row, last = _run(svc, float(lam_a[i]), int(b_a[i]), requests, seed, float(arrival_scv),
                         float(output_scv), float(warmup))
        rows.append(row)
    sweep = lam_a.ndim > 0
    values = {k: (np.array([r[k] for r in rows]).reshape(lam_a.shape) if sweep else rows[0][k]) for k in rows[0]}
    values["policy"] = svc.policy
    from mlsysim.solvers.batching import BatchingModel

    model_result = BatchingModel().solve(svc.model, svc.hardware, lam, b, policy=svc.policy,
                                         prompt_tokens=prompt_tokens, output_tokens=output_tokens,
                                         precision=precision, tensor_parallel=tensor_parallel,
                                         calibration=calibration)
    stable = np.asarray(model_result.utilization.to("").magnitude) < 1
    reasons = [] if np.all(stable) else [
        "unstable: the offered load is at or above the capacity; simulated latencies grow with the run length"]
    inputs = {"model": svc.model, "hardware": svc.hardware, "arrival_rate": arrival_rate, "batch_size": batch_size,
              "policy": svc.policy, "requests": requests, "seed": seed, "arrival_scv": arrival_scv,
              "output_scv": output_scv}
    result = SimulationResult(values, feasible=stable if sweep else bool(stable), reasons=reasons, inputs=inputs)
    object.__setattr__(result, "latencies", last if not sweep else None)
    return result
