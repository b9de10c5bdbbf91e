"""Discrete-event simulation of one replica, to check the queueing formulas.

The formulas of :mod:`mlsysim.solvers.batching` and :mod:`mlsysim.solvers.schedule` rest on
assumptions (Poisson arrivals, equal output lengths, a mean occupancy instead of a
fluctuating one, heavy-traffic tails). This module runs the *same* service times through
an event-by-event simulation, so a chapter can show where the formulas hold and where they
break. It uses plain numpy and the standard library; every run is seeded.

- :func:`simulate_batching` (fixed batches): requests are grouped in arrival order into
  batches of ``b``; a batch is ready when its last request arrives, starts when the server
  is free, and takes S(b) (for an LLM: one prefill of the b prompts plus as many decode steps
  as its *longest* output [@yu2022orca]).
- :func:`simulate_schedule` (the book's serving schedule): every step decodes one token for
  each sequence in flight and fills the rest of a token budget with prompt chunks in arrival
  order; a sequence leaves after its own output length [@yu2022orca; @agrawal2024sarathi].
- :func:`simulate_checkpointing`: a training job that fails, restarts from its last checkpoint and
  writes checkpoints on a fixed interval (the check on :class:`mlsysim.ReliabilityModel`'s
  first-order goodput [@young1974first; @daly2006higher]).
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

__all__ = ["simulate_batching", "simulate_schedule", "simulate_checkpointing", "arrival_times", "output_lengths",
           "simulate_fixed", "run_schedule", "checkpointed_run", "SimulationResult", "ScheduleSimulationResult",
           "CheckpointSimulationResult"]


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
    if svc.is_llm:
        lengths = output_lengths(svc.output, requests, output_scv, seed)
        batches = len(arrivals) // int(b)
        longest = lengths[: batches * int(b)].reshape(batches, int(b)).max(axis=1)
        service = svc.replica.prefill(svc.prompt, b)[0] + longest * svc.step_time(b)
    else:
        service = svc.batch_time(b)
    latencies, busy = simulate_fixed(arrivals, b, service)
    mean_batch = float(b)
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


# ----------------------------------------------------------------------------------------
# The book's serving schedule: continuous batching with chunked prefill, step by step
# ----------------------------------------------------------------------------------------
class ScheduleSimulationResult(Result):
    """What one simulated run of the serving schedule measured (after the warm-up requests)."""

    TITLE = "Schedule simulation"
    FIELDS = {
        "throughput": ("1/s", "1/s", "Throughput (requests/s)"),
        "step_time": ("s", "ms", "Mean step"),
        "tpot_mean": ("s", "ms", "TPOT mean over requests"),
        "tpot_p99": ("s", "ms", "TPOT p99 over requests"),
        "ttft_mean": ("s", "ms", "TTFT mean"),
        "ttft_p50": ("s", "ms", "TTFT p50"),
        "ttft_p99": ("s", "ms", "TTFT p99"),
        "decoding_sequences": (None, None, "Sequences decoding (time mean)"),
        "decoding_sequences_p99": (None, None, "Sequences decoding (p99 of steps)"),
        "kv_cache_peak": ("byte", "GB", "KV cache (largest)"),
        "requests": (None, None, "Requests measured"),
    }
    __slots__ = ("ttfts", "tpots")


def run_schedule(arrivals, prompt_tokens, lengths, step_time, token_budget, max_sequences, prefill_overhead=0.0):
    """Simulate continuous batching with chunked prefill, one step at a time.

    Each step decodes one token for every sequence in flight and gives the rest of the
    ``token_budget`` to waiting prompts in arrival order (a prompt may be split across steps);
    a prompt starts only while fewer than ``max_sequences`` sequences are in flight.
    ``step_time(N, decode_context_sum, P, prefill_pairs)`` is the engine's time for a step
    with N decoding sequences whose contexts sum to ``decode_context_sum`` and P prompt tokens
    attending to ``prefill_pairs`` (query, key) pairs. A prompt's last chunk yields its first
    token (TTFT, plus ``prefill_overhead``); a sequence of n output tokens then decodes n - 1
    steps. Returns per-request TTFT and TPOT arrays, the step times, the decoding count of each
    step, the largest KV context held (in tokens), and the finishing time of the last request.
    """
    arr = [float(a) for a in arrivals]
    need = [int(x) for x in lengths]
    c, K, S = int(prompt_tokens), int(token_budget), int(max_sequences)
    total = len(arr)
    first = [math.nan] * total
    done = [math.nan] * total
    waiting: deque = deque()                   # [request, prompt tokens still to prefill]
    active: list = []                          # heap of (step it finishes, request)
    ctx_sum, now, step, nxt, finished = 0.0, 0.0, 0, 0, 0
    steps, sizes, held_peak = [], [], 0.0
    while finished < total:
        while nxt < total and arr[nxt] <= now:
            waiting.append([nxt, c])
            nxt += 1
        N = len(active)
        if N == 0 and not waiting:
            now = arr[nxt]
            continue
        budget, P, pairs, prefilling, completed = K - N, 0, 0.0, 0, []
        for item in waiting:
            if budget <= 0 or N + prefilling >= S:
                break
            take = min(budget, item[1])
            offset = c - item[1]               # prompt tokens already prefilled
            pairs += take * (offset + (take + 1) / 2)
            P += take
            budget -= take
            prefilling += 1
            item[1] -= take
            if item[1] == 0:
                completed.append(item[0])
        dt = float(step_time(N, ctx_sum, P, pairs))
        held_peak = max(held_peak, ctx_sum + N + c * prefilling)
        now += dt
        steps.append(dt)
        sizes.append(N)
        if N:
            step += 1
            ctx_sum += N
            while active and active[0][0] <= step:
                _, i = heapq.heappop(active)
                done[i] = now
                ctx_sum -= c + need[i] - 1
                finished += 1
        for i in completed:
            waiting.popleft()
            first[i] = now + prefill_overhead
            if need[i] <= 1:
                done[i] = first[i]
                finished += 1
            else:
                heapq.heappush(active, (step + need[i] - 1, i))
                ctx_sum += c
    first_a, done_a = np.array(first), np.array(done)
    ttft = first_a - np.asarray(arr)
    n = np.asarray(need, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        tpot = np.where(n > 1, (done_a - first_a + prefill_overhead) / np.maximum(n - 1, 1), np.nan)
    return ttft, tpot, np.array(steps), np.array(sizes), held_peak, float(np.nanmax(done_a))


def simulate_schedule(model, hardware, arrival_rate, prompt_tokens=512, output_tokens=256, precision="fp16",
                      tensor_parallel=1, kv_precision=None, token_budget=2048, max_sequences=256, requests=4000,
                      seed=0, arrival_scv=1.0, output_scv=0.0, warmup=0.2, calibration=None) -> ScheduleSimulationResult:
    """Simulate one replica under the book's serving schedule, with the step times of
    :class:`mlsysim.ServingScheduleModel` (:meth:`ReplicaPhysics.mixed_step`) and the same
    arguments, plus ``requests``, ``seed``, ``arrival_scv`` (1: Poisson), ``output_scv``
    (0: every request has ``output_tokens``) and ``warmup`` (the fraction of requests not
    measured). The result's ``ttfts`` and ``tpots`` hold the measured requests' values."""
    from mlsysim.solvers.serving import ReplicaPhysics

    replica = ReplicaPhysics(model, hardware, precision, tensor_parallel, kv_precision, calibration)
    lam = validate.number(arrival_rate, "arrival_rate", "1/s")
    c = validate.number(prompt_tokens, "prompt_tokens", "token", integer=True)
    n = validate.number(output_tokens, "output_tokens", "token", integer=True, minimum=2, inclusive=True)
    K = validate.number(token_budget, "token_budget", "token", integer=True)
    S = validate.number(max_sequences, "max_sequences", integer=True)
    count = int(validate.number(requests, "requests", integer=True, minimum=10, inclusive=True))
    for name, value in (("arrival_rate", lam), ("prompt_tokens", c), ("output_tokens", n), ("token_budget", K),
                        ("max_sequences", S)):
        if isinstance(value, np.ndarray):
            raise InputError(name, "a single number (one run per call)", f"an array of shape {value.shape}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError("seed", "a non-negative integer", seed)
    validate.number(arrival_scv, "arrival_scv")
    validate.number(output_scv, "output_scv", inclusive=True)
    validate.number(warmup, "warmup", inclusive=True, maximum=0.9)

    def step_time(N, ctx_sum, P, pairs):
        return replica.mixed_step(N, ctx_sum / N if N else 0.0, P, pairs / P if P else 0.0)

    arrivals = arrival_times(lam, count, arrival_scv, seed)
    lengths = output_lengths(n, count, output_scv, seed)
    ttft, tpot, steps, sizes, held, end = run_schedule(arrivals, c, lengths, step_time, K, S,
                                                       replica.prefill_overhead)
    keep = slice(int(warmup * count), count)
    t_keep, p_keep = ttft[keep], tpot[keep]
    p_keep = p_keep[np.isfinite(p_keep)]
    weights = steps / steps.sum()
    values = {
        "throughput": count / (end - arrivals[0]),
        "step_time": float(np.mean(steps)),
        "tpot_mean": float(np.mean(p_keep)),
        "tpot_p99": float(np.percentile(p_keep, 99)),
        "ttft_mean": float(np.mean(t_keep)),
        "ttft_p50": float(np.percentile(t_keep, 50)),
        "ttft_p99": float(np.percentile(t_keep, 99)),
        "decoding_sequences": float(np.sum(weights * sizes)),
        "decoding_sequences_p99": float(np.percentile(sizes, 99)),
        "kv_cache_peak": held * replica.kv_per_token,
        "requests": int(len(t_keep)),
    }
    inputs = {"model": replica.model, "hardware": replica.hardware, "arrival_rate": arrival_rate,
              "prompt_tokens": c, "output_tokens": n, "precision": replica.precision,
              "tensor_parallel": tensor_parallel, "requests": count, "seed": seed}
    result = ScheduleSimulationResult(values, feasible=True, reasons=(), inputs=inputs)
    object.__setattr__(result, "ttfts", t_keep)
    object.__setattr__(result, "tpots", p_keep)
    return result


# ----------------------------------------------------------------------------------------------
# Failures, checkpoints and restarts of a synchronous training job
# ----------------------------------------------------------------------------------------------
def checkpointed_run(work, interval, checkpoint_time, restart_time, mtbf, rng):
    """Wall-clock seconds and failures of one run of ``work`` seconds of useful work.

    The job computes ``interval`` seconds, then writes a checkpoint for ``checkpoint_time``
    seconds (not after the last piece of work). Failures arrive as a Poisson process of mean gap
    ``mtbf``, during work, writes and restarts alike. A failure discards the piece under way (work
    and write) and costs ``restart_time`` before the job resumes from the last checkpoint; a
    failure during a restart starts the restart again. Exponential gaps are memoryless, so a
    fresh draw at the start of each attempt is exact."""
    done, clock, failures = 0.0, 0.0, 0
    exponential = rng.exponential
    while done < work:
        piece = interval if work - done > interval else work - done
        attempt = piece + (checkpoint_time if done + piece < work else 0.0)
        gap = exponential(mtbf)
        if gap >= attempt:
            clock += attempt
            done += piece
            continue
        clock += gap
        failures += 1
        while True:                                   # restart, itself exposed to failures
            gap = exponential(mtbf)
            if gap >= restart_time:
                clock += restart_time
                break
            clock += gap
            failures += 1
    return clock, failures


class CheckpointSimulationResult(Result):
    """Simulated goodput of a checkpointed run against the first-order formula."""

    TITLE = "Checkpointing simulation"
    FIELDS = {
        "goodput": ("", "percent", "Goodput, simulated"),
        "goodput_formula": ("", "percent", "Goodput, first-order formula"),
        "goodput_spread": ("", "percent", "Goodput, std. dev. across runs"),
        "failures": (None, None, "Failures per run"),
        "wall_clock": ("s", "day", "Wall-clock time per run"),
        "interval": ("s", "minute", "Checkpoint interval"),
        "runs": (None, None, "Runs"),
    }


def simulate_checkpointing(mtbf, checkpoint_time, restart_time=0.0, interval="young", work=30 * 86400.0,
                           runs=20, seed=0) -> CheckpointSimulationResult:
    """Simulate ``runs`` runs of ``work`` seconds of useful work on a job whose mean time between
    failures is ``mtbf`` seconds (the whole job's, as :class:`mlsysim.ReliabilityModel` reports it),
    with checkpoints of ``checkpoint_time`` seconds every ``interval`` seconds of work (``"young"``,
    ``"daly"`` or a number) and restarts of ``restart_time`` seconds.

    Returns the simulated goodput (useful work / wall-clock time, mean over runs), its spread, the
    first-order formula's goodput (1 - delta/tau - tau/(2M) - R/M) for the same inputs, failures and
    wall-clock time per run. ``mtbf``, ``checkpoint_time``, ``restart_time`` and ``interval`` accept
    arrays (one set of runs per point); every point uses the same seed.
    """
    from mlsysim.physics import reliability as rel

    m = validate.number(mtbf, "mtbf", "s")
    d = validate.number(checkpoint_time, "checkpoint_time", "s")
    r = validate.number(restart_time, "restart_time", "s", inclusive=True)
    w = validate.number(work, "work", "s")
    n = int(validate.number(runs, "runs", integer=True))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError("seed", "a non-negative integer", seed)
    if isinstance(w, np.ndarray):
        raise InputError("work", "a single number", "an array")
    if isinstance(interval, str):
        choices = {"young": rel.young_interval, "daly": rel.daly_interval}
        if interval.lower() not in choices:
            raise InputError("interval", "'young', 'daly' or a number of seconds", interval)
        tau = choices[interval.lower()](d, m)
    else:
        tau = validate.number(interval, "interval", "s")
    m_a, d_a, r_a, t_a = np.broadcast_arrays(*(np.asarray(x, float) for x in (m, d, r, tau)))
    shape = m_a.shape
    good, spread, fails, wall = (np.empty(shape) for _ in range(4))
    for i in np.ndindex(shape):
        rng = np.random.default_rng(seed)
        outcomes = [checkpointed_run(w, float(t_a[i]), float(d_a[i]), float(r_a[i]), float(m_a[i]), rng)
                    for _ in range(n)]
        clocks = np.array([c for c, _ in outcomes])
        ratios = w / clocks
        good[i], spread[i] = ratios.mean(), ratios.std(ddof=1) if n > 1 else 0.0
        fails[i], wall[i] = np.mean([f for _, f in outcomes]), clocks.mean()
    formula = rel.goodput(d_a, t_a, m_a, r_a)
    scalar = not shape
    pick = (lambda a: float(a)) if scalar else (lambda a: a)
    values = {"goodput": pick(good), "goodput_formula": pick(formula), "goodput_spread": pick(spread),
              "failures": pick(fails), "wall_clock": pick(wall), "interval": pick(t_a), "runs": n}
    inputs = {"runs": n, "seed": seed, "interval": interval if isinstance(interval, str) else None}
    return CheckpointSimulationResult(values, feasible=True, reasons=(), inputs=inputs)
