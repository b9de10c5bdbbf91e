"""The book's one serving schedule: continuous batching with chunked prefill, under TTFT and
TPOT targets, and the fleet that serves a load with it.

Every iteration (step) of a replica decodes one token for each sequence in flight and fills
the rest of a token budget K with chunks of waiting prompts, first come first served
[@yu2022orca; @agrawal2024sarathi]; a replica holds at most S sequences and as much KV cache
as its usable memory allows [@kwon2023pagedattention]. For requests of c prompt and n output
tokens arriving at rate lambda (Poisson), the steady state is:

- **Step time** t, a fixed point. A step carries N = lambda (n - 1) t decoding sequences (mean
  context c + n/2) and, on average, P = lambda c t prompt tokens; prompts arrive in lumps of c,
  so a share rho = P / (K - N) of the steps carry a full budget of chunks and the rest decode
  only: t = rho T(N, K - N) + (1 - rho) T(N, 0)
  (:meth:`~mlsysim.solvers.serving.ReplicaPhysics.mixed_step`). The largest lambda with a
  solution is the ``capacity``: every step full, lambda = K / ((c + n - 1) T_full).
- **TPOT**: every decoding sequence gets one token per step, so a request's mean time per output
  token is t (:mod:`mlsysim.simulation` shows how far a request's own TPOT spreads around it).
- **TTFT**: prompts queue for the spare budget K - N of full steps (T(N, K - N) each). One
  prompt needs S_p = c T(N, K - N) / (K - N) seconds of it; the queue is M/D/1 with utilization
  rho_p = lambda S_p, so the mean wait is rho_p S_p / (2 (1 - rho_p)) and the tail is taken as
  exponential [@harchol2013performance]. The first token comes at the end of the step holding
  the prompt's last chunk: TTFT = wait + ceil(c / (K - N)) full steps + up to one step to reach a
  step boundary + the fixed prefill cost L t_prefill.
- **Memory and sequences**: the number of decoding sequences is Poisson with mean N (M/G/inf);
  its 99th percentile must fit both S and the KV cache the usable memory holds.

:class:`ServingScheduleModel` evaluates one arrival rate (or a sweep) and finds the largest
rate that meets every constraint, naming the one that binds; :class:`ServingFleetModel` turns a
total load into replicas, nodes and energy at that operating point. These are models, not
measurements: :func:`mlsysim.simulation.simulate_schedule` runs the same step times through a
discrete-event simulation.
"""
from __future__ import annotations


import numpy as np

from mlsysim.core import validate
from mlsysim.errors import InputError
from mlsysim.physics import queueing as qu
from mlsysim.physics import scheduling as sch
from mlsysim.physics import transformer as tf
from mlsysim.physics.energy import energy, facility_energy, it_power
from mlsysim.solvers._common import count_where
from mlsysim.solvers.result import Result
from mlsysim.solvers.serving import ReplicaPhysics

#: Token budget per step (vLLM's ``max_num_batched_tokens``): an assumption of this engine,
#: inside the range of chunk sizes Sarathi-Serve evaluates (512 to 2,048) [@agrawal2024sarathi].
DEFAULT_TOKEN_BUDGET = 2048
#: Token budgets an operator tries when tuning a deployment (``token_budget="tuned"``): the
#: largest rate that meets the targets picks among them. A large model under a tight TPOT target
#: wants small chunks, a small model under a loose one large steps [@agrawal2024sarathi].
TUNED_BUDGETS = (256, 512, 1024, 2048, 4096, 8192)
#: Most sequences in flight (vLLM's ``max_num_seqs`` default) [@vllm2024engineargs].
DEFAULT_MAX_SEQUENCES = 256
#: The percentile the schedule's tail targets refer to (MLPerf's server scenario uses the
#: 99th percentile of TTFT and TPOT [@mlcommons2025loadgen]).
PERCENTILE = 0.99
_ITERATIONS = 50
_NEWTON = 20

#: The constraints, in the order they are reported when several bind at once.
CONSTRAINTS = ("TPOT target", "TTFT target", "KV-cache memory", "sequence limit", "token budget", "throughput")


class ScheduleResult(Result):
    """One replica under the book's serving schedule at one arrival rate."""

    TITLE = "Serving schedule"
    FIELDS = {
        "arrival_rate": ("1/s", "1/s", "Arrival rate (requests/s)"),
        "capacity": ("1/s", "1/s", "Capacity, no targets (requests/s)"),
        "output_token_rate": ("token/s", "token/s", "Output tokens/s"),
        "tpot": ("s", "ms", "TPOT (mean step)"),
        "ttft_mean": ("s", "ms", "TTFT mean"),
        "ttft_p99": ("s", "ms", "TTFT p99"),
        "request_latency_p99": ("s", "s", "Request latency p99"),
        "decoding_sequences": (None, None, "Sequences decoding (mean)"),
        "decoding_sequences_p99": (None, None, "Sequences decoding (p99)"),
        "prefill_tokens_per_step": (None, None, "Prompt tokens per step (mean)"),
        "prefill_utilization": ("", "percent", "Prefill budget in use"),
        "kv_cache_p99": ("byte", "GB", "KV cache (p99)"),
        "memory_utilization": ("", "percent", "Usable memory (p99)"),
        "power": ("W", "kW", "Replica power"),
        "energy_per_request": ("J", "kJ", "Device energy per request"),
        "token_budget": (None, None, "Token budget per step"),
        "binding": (None, None, "Binding constraint"),
    }


class _Pool:
    """What every kind of replica pool shares: the search for the largest rate meeting every
    constraint, and the reasons a rate fails. Subclasses provide ``capacity()`` and ``evaluate()``."""

    ttft_slo = tpot_slo = None

    def reasons(self, values, ok) -> tuple[list[str], np.ndarray]:
        feasible = np.ones(np.broadcast(*ok.values()).shape, dtype=bool)
        reasons = []
        for name in reversed(CONSTRAINTS):
            good = np.asarray(ok[name], dtype=bool)
            if not np.all(good):
                reasons.append(self._text(name, values) + count_where(np.logical_not(good)))
            feasible = feasible & good
        return reasons, feasible

    def _text(self, name, values) -> str:
        if name == "throughput":
            return "throughput: the arrival rate is at or above the replica's capacity"
        if name == "token budget":
            return (f"token budget: prompts need more of the {float(np.min(self.K)):,.0f}-token budget than "
                    f"decoding leaves free")
        if name == "sequence limit":
            return (f"sequence limit: {float(np.max(values['decoding_sequences_p99'])):,.0f} sequences at the 99th "
                    f"percentile exceed max_sequences = {float(np.min(self.S)):,.0f}")
        if name == "KV-cache memory":
            r = self.replica
            if np.any(np.asarray(self.kv_budget) <= 0):
                return (f"memory: the weights need {r.weights / 1e9:,.1f} GB, more than the "
                        f"{float(np.min(r.usable)) / 1e9:,.1f} GB usable on {r._replica_text()}")
            return (f"memory: the KV cache of the p99 batch needs {float(np.max(values['kv_cache_p99'])) / 1e9:,.1f} "
                    f"GB; {float(np.min(self.kv_budget)) / 1e9:,.1f} GB is left after the weights")
        if name == "TTFT target":
            return (f"latency: TTFT p99 of {float(np.nanmax(values['ttft_p99'])) * 1e3:,.0f} ms exceeds the "
                    f"{float(np.min(self.ttft_slo)) * 1e3:,.0f} ms target")
        return (f"latency: TPOT of {float(np.nanmax(values['tpot'])) * 1e3:,.1f} ms exceeds the "
                f"{float(np.min(self.tpot_slo)) * 1e3:,.1f} ms target")

    def max_rate(self):
        """The largest arrival rate meeting every constraint, and the constraint that binds there."""
        cap = np.asarray(self.capacity(), dtype=float)
        # the constraints may vary along more axes than the capacity (e.g. draws of one factor only)
        _, ok = self.evaluate(cap / 2)
        shape = np.broadcast_shapes(cap.shape, *(np.shape(v) for v in ok.values()))
        cap = np.broadcast_to(cap, shape)
        lo, hi = np.zeros(shape), cap * (1 - 1e-9)
        for _ in range(_ITERATIONS):
            mid = (lo + hi) / 2
            _, ok = self.evaluate(mid)
            good = np.logical_and.reduce(np.broadcast_arrays(*[np.asarray(v, dtype=bool) for v in ok.values()]))
            lo, hi = np.where(good, mid, lo), np.where(good, hi, mid)
        # which constraint fails just above the best rate
        _, ok_above = self.evaluate(np.minimum(lo * 1.0005 + 1e-9, cap * (1 - 1e-12)))
        binding = np.full(cap.shape, "throughput", dtype=object)
        for name in reversed(CONSTRAINTS):
            binding = np.where(np.asarray(ok_above[name], dtype=bool), binding, name)
        return lo, binding


class _Schedule(_Pool):
    """The schedule's equations for one replica and request shape; arrays broadcast."""

    def __init__(self, model, hardware, prompt_tokens, output_tokens, precision, tensor_parallel, kv_precision,
                 token_budget, max_sequences, ttft_slo, tpot_slo, calibration, decode_only=False):
        #: a decode-only replica of a disaggregated fleet: its prompts are prefilled elsewhere
        self.decode_only = decode_only
        self.replica = ReplicaPhysics(model, hardware, precision, tensor_parallel, kv_precision, calibration)
        self.c = validate.number(prompt_tokens, "prompt_tokens", "token", integer=True)
        self.n = validate.number(output_tokens, "output_tokens", "token", integer=True, minimum=2, inclusive=True)
        self.K = validate.number(token_budget, "token_budget", "token", integer=True)
        self.S = validate.number(max_sequences, "max_sequences", integer=True)
        self.ttft_slo = None if ttft_slo is None else validate.number(ttft_slo, "ttft_slo", "s")
        self.tpot_slo = None if tpot_slo is None else validate.number(tpot_slo, "tpot_slo", "s")
        r = self.replica
        self.context = self.c + self.n / 2                         # mean context of a decoding sequence
        self.prefill_context = tf.causal_mean_context(self.c)
        self.kv_budget = r.usable - r.weights
        longest = self.c + self.n
        if np.any(np.asarray(longest > r.model.context_length)):
            raise InputError("prompt_tokens", f"prompt + output within {r.model.name}'s context length of "
                             f"{r.model.context_length:,} tokens", f"{float(np.max(longest)):,.0f} tokens")

    def _parts(self, lam, t):
        """(N, P, spare budget K - N, tokens u a prompt-carrying step holds, share of steps that carry
        prompts, T(N, u), T(N, 0))."""
        N = sch.decoding_sequences(lam, self.n, t)
        P = 0.0 * N if self.decode_only else sch.prefill_tokens_per_step(lam, self.c, t)
        spare = np.maximum(self.K - N, 1e-9)
        alone = np.minimum(self.c, spare)
        u = alone + (spare - alone) * np.minimum(P / spare, 1.0)     # one prompt alone .. a full budget
        share = np.minimum(P / u, 1.0)
        r = self.replica
        with_prompts = r.mixed_step(N, self.context, u, self.prefill_context)
        decode = r.mixed_step(N, self.context, 0.0, self.prefill_context)
        return N, P, spare, u, share, with_prompts, decode

    def _step_at(self, lam, t):
        """Mean step time when the steps run at rate ``lam`` with mean step ``t``: prompts arrive
        in lumps of c tokens, so a share rho = P / (K - N) of the steps carry a full budget of
        prompt chunks and the rest decode only: rho T(N, K - N) + (1 - rho) T(N, 0)."""
        _, _, _, _, share, with_prompts, decode = self._parts(lam, t)
        return share * with_prompts + (1 - share) * decode

    def _t_max(self, lam):
        """The step time at which every step is full (N + P = K): beyond it prompts queue forever."""
        per_request = self.n - 1 if self.decode_only else self.c + self.n - 1
        with np.errstate(divide="ignore"):
            return np.where(lam > 0, self.K / (np.maximum(lam, 1e-300) * per_request), np.inf)

    def capacity(self):
        """The largest rate the replica sustains: every step full of K tokens, split between decode
        and prompts as (n - 1) : c, so lambda_max = K / ((c + n - 1) T_full)."""
        share = self.K / ((self.n - 1) if self.decode_only else (self.c + self.n - 1))
        N, P = share * (self.n - 1), (0.0 if self.decode_only else share * self.c)
        full = self.replica.mixed_step(N, self.context, P, self.prefill_context)
        return share / full

    def step_time(self, lam):
        """The fixed point t = rho T(N, K - N) + (1 - rho) T(N, 0) (inf where the prompts outrun the
        budget), by Newton's method kept inside a bracket [T(0, 0), t_max] that shrinks each step."""
        lam = np.asarray(lam, dtype=float)
        t0 = np.asarray(self._step_at(lam, 0.0), dtype=float)
        t_max = np.asarray(self._t_max(lam), dtype=float) * np.ones_like(t0)
        finite_max = np.isfinite(t_max)
        stable = ~finite_max | (self._step_at(lam, np.where(finite_max, t_max, t0)) < t_max)
        lo, hi = t0.copy(), np.where(finite_max & stable, t_max, t0)
        # start from one fixed-point step, T(lambda t0): the step time grows with t, so it is still
        # below the root and usually close to it (the bracket's midpoint can be far at light load)
        t = np.where(finite_max, np.clip(np.asarray(self._step_at(lam, t0), dtype=float), lo, hi), t0)
        for _ in range(_NEWTON):
            g = self._step_at(lam, t) - t
            # a point whose residual is at rounding level keeps its t (a bisection step from an
            # exact root would move it away again); when every point has, stop
            done = ~stable | (np.abs(g) <= 1e-13 * t)
            if np.all(done):
                break
            lo, hi = np.where(g > 0, t, lo), np.where(g <= 0, t, hi)
            dt = t * 1e-7
            dg = (self._step_at(lam, t + dt) - (t + dt)) - g
            with np.errstate(divide="ignore", invalid="ignore"):
                newton = t - g * dt / dg
            inside = np.isfinite(newton) & (newton > lo) & (newton < hi)
            t = np.where(done, t, np.where(inside, newton, (lo + hi) / 2))
        return np.where(stable, t, np.inf)

    def at_load(self, x):
        """(lambda, t) when x requests arrive per step. The step time depends on lambda and t only
        through N = x (n - 1) and P = x c, so t = T(x) directly (no fixed point) and lambda = x / t.
        Every x in [0, x_max), x_max = K / (c + n - 1), is a stable operating point."""
        x = np.asarray(x, dtype=float)
        t = np.asarray(self._step_at(x, 1.0), dtype=float)
        return x / t, t

    def x_max(self):
        """Requests per step at which every step is full (N + P = K): the capacity's load."""
        return self.K / ((self.n - 1) if self.decode_only else (self.c + self.n - 1))

    def max_rate(self):
        """The largest arrival rate meeting every constraint, and the constraint that binds there.

        Bisects the requests per step x (the rate grows with x up to the capacity) instead of the
        rate, so each trial needs one step time, not a fixed point: the same answer as bisecting
        the rate, about twenty times faster."""
        top = np.asarray(self.x_max(), dtype=float) * (1 - 1e-9)
        _, ok = self.evaluate(*self.at_load(top / 2))       # every constraint's shape (draws, sweeps)
        shape = np.broadcast(top, np.asarray(self.capacity(), dtype=float), *ok.values()).shape
        lo, hi = np.zeros(shape), np.broadcast_to(top, shape).copy()
        for _ in range(_ITERATIONS):
            mid = (lo + hi) / 2
            _, ok = self.evaluate(*self.at_load(mid))
            good = np.logical_and.reduce(np.broadcast_arrays(*[np.asarray(v, dtype=bool) for v in ok.values()]))
            lo, hi = np.where(good, mid, lo), np.where(good, hi, mid)
        rate, _ = self.at_load(lo)
        rate = np.where(lo > 0, rate, 0.0)
        above = np.minimum(lo * 1.0005 + 1e-12 * top, top)      # which constraint fails just above
        _, ok_above = self.evaluate(*self.at_load(above))
        binding = np.full(shape, "throughput", dtype=object)
        for name in reversed(CONSTRAINTS):
            binding = np.where(np.asarray(ok_above[name], dtype=bool), binding, name)
        return (rate if rate.ndim else float(rate)), binding

    def evaluate(self, lam, t=None) -> dict:
        """Every output and constraint at arrival rate ``lam`` (with its step time ``t`` when the
        caller knows it, else the fixed point :meth:`step_time`)."""
        r = self.replica
        lam = np.asarray(lam, dtype=float)
        t = self.step_time(lam) if t is None else np.asarray(t, dtype=float)
        finite = np.isfinite(t)
        tf_ = np.where(finite, t, 0.0)
        N, P, spare, u, _, full, _ = self._parts(lam, tf_)
        with np.errstate(divide="ignore", invalid="ignore"):
            service = self.c * full / u                 # one prompt's share of prompt-carrying steps
            rho_p = lam * service
        if self.decode_only:
            rho_p = 0.0 * rho_p
        wait = sch.md1_mean_wait(np.where(finite, rho_p, 1.0), service)
        wait_p99 = qu.exponential_wait_quantile(PERCENTILE, wait, np.minimum(rho_p, 1.0))
        # its first token comes at the end of the step holding its last chunk
        own = np.ceil(self.c / spare) * full
        overhead = r.prefill_overhead
        ttft_mean = wait + own + tf_ / 2 + overhead
        ttft_p99 = wait_p99 + own + tf_ + overhead
        if self.decode_only:                       # the prefill pool's concern
            ttft_mean = ttft_p99 = np.full(np.shape(ttft_mean), np.nan)
        N99 = sch.poisson_quantile(PERCENTILE, N)
        kv99 = N99 * self.context * r.kv_per_token + P * r.kv_per_token
        power = r.power
        with np.errstate(divide="ignore", invalid="ignore"):
            energy_per_request = np.where(lam > 0, energy(power, 1.0) / lam, np.inf)
        ok = {
            "throughput": finite,
            "token budget": finite & (rho_p < 1),
            "sequence limit": N99 <= self.S,
            "KV-cache memory": kv99 <= self.kv_budget,
            "TTFT target": np.ones_like(finite) if self.ttft_slo is None or self.decode_only
            else (ttft_p99 <= self.ttft_slo),
            "TPOT target": np.ones_like(finite) if self.tpot_slo is None else (t <= self.tpot_slo),
        }
        inf = np.inf
        values = {
            "arrival_rate": lam,
            "output_token_rate": lam * self.n,
            "tpot": t,
            "ttft_mean": np.where(ok["token budget"], ttft_mean, inf),
            "ttft_p99": np.where(ok["token budget"], ttft_p99, inf),
            "request_latency_p99": np.where(ok["token budget"], ttft_p99 + (self.n - 1) * t, inf),
            "decoding_sequences": N,
            "decoding_sequences_p99": N99,
            "prefill_tokens_per_step": P,
            "prefill_utilization": np.where(finite, rho_p, inf),
            "kv_cache_p99": kv99,
            "memory_utilization": (r.weights + kv99) / r.usable,
            "power": power * np.ones_like(lam),
            "energy_per_request": energy_per_request,
        }
        return values, ok


class _PrefillPool(_Pool):
    """The prefill replicas of a disaggregated fleet [@zhong2024distserve; @patel2024splitwise]: they
    only run prompts, in passes of b = max(1, floor(K / c)) prompts taken first come first served,
    each pass one prefill of the engine; the KV cache then travels to a decode replica over the
    scale-out network. Prompts queue as in an M/D/1 queue whose server takes S(b) per pass and
    serves b prompts in it; TTFT = wait + S(b) + transfer, with the exponential tail of the
    mixed schedule."""

    def __init__(self, replica, prompt_tokens, token_budget, ttft_slo, transfer_time):
        self.replica = replica
        self.c = prompt_tokens
        self.K = token_budget
        self.S = np.inf
        self.b = np.maximum(np.floor(self.K / self.c), 1.0)
        self.ttft_slo = ttft_slo
        self.transfer = transfer_time
        self.kv_budget = replica.usable - replica.weights
        self.pass_time = np.asarray(replica.prefill(self.c, self.b)[0], dtype=float)

    def capacity(self):
        return self.b / self.pass_time

    def evaluate(self, lam):
        lam = np.asarray(lam, dtype=float)
        rho = lam * self.pass_time / self.b
        wait = sch.md1_mean_wait(rho, self.pass_time)
        wait_p99 = qu.exponential_wait_quantile(PERCENTILE, wait, np.minimum(rho, 1.0))
        ttft_mean = wait + self.pass_time + self.transfer
        ttft_p99 = wait_p99 + self.pass_time + self.transfer
        kv = self.b * self.c * self.replica.kv_per_token * np.ones_like(lam)
        zero = np.zeros_like(lam)
        ok = {
            "throughput": rho < 1,
            "token budget": rho < 1,
            "sequence limit": np.ones_like(rho, dtype=bool),
            "KV-cache memory": kv <= self.kv_budget,
            "TTFT target": np.ones_like(rho, dtype=bool) if self.ttft_slo is None else (ttft_p99 <= self.ttft_slo),
            "TPOT target": np.ones_like(rho, dtype=bool),
        }
        values = {"arrival_rate": lam, "ttft_mean": np.where(rho < 1, ttft_mean, np.inf),
                  "ttft_p99": np.where(rho < 1, ttft_p99, np.inf), "decoding_sequences": zero,
                  "decoding_sequences_p99": zero, "kv_cache_p99": kv, "prefill_utilization": rho}
        return values, ok


def _make(model, hardware, prompt_tokens, output_tokens, precision, tensor_parallel, kv_precision, token_budget,
          max_sequences, ttft_slo, tpot_slo, calibration):
    args = (model, hardware, prompt_tokens, output_tokens, precision, tensor_parallel, kv_precision)
    rest = (max_sequences, ttft_slo, tpot_slo, calibration)
    if isinstance(token_budget, str):
        if token_budget != "tuned":
            raise InputError("token_budget", "a number of tokens or 'tuned'", token_budget)
        return _tuned(args, rest)
    return _Schedule(*args, token_budget, *rest)


def _tuned(args, rest, decode_only=False):
    """The schedule at the token budget (of TUNED_BUDGETS) that allows the largest rate meeting every
    constraint, chosen per draw or sweep point."""
    best_rate, best_budget = None, None
    for budget in TUNED_BUDGETS:
        rate, _ = _Schedule(*args, budget, *rest, decode_only=decode_only).max_rate()
        rate = np.asarray(rate, dtype=float)
        if best_rate is None:
            best_rate, best_budget = rate, np.full(rate.shape, float(budget))
        else:
            better = rate > best_rate * (1 + 1e-9)
            best_rate, best_budget = np.where(better, rate, best_rate), np.where(better, budget, best_budget)
    return _Schedule(*args, best_budget if best_budget.ndim else float(best_budget), *rest, decode_only=decode_only)


def _make_decode(common, token_budget, max_sequences, tpot_slo, calibration):
    """The decode replicas of a disaggregated fleet: no prompts, no TTFT target (tuned budget as _make)."""
    rest = (max_sequences, None, tpot_slo, calibration)
    if isinstance(token_budget, str):
        if token_budget != "tuned":
            raise InputError("token_budget", "a number of tokens or 'tuned'", token_budget)
        return _tuned(common, rest, decode_only=True)
    return _Schedule(*common, token_budget, *rest, decode_only=True)


def _scalar(x):
    x = np.asarray(x)
    if x.ndim:
        return x
    return x.item() if x.dtype.kind in "fiub" else x[()]


class ServingScheduleModel:
    """One replica under the book's serving schedule (continuous batching, chunked prefill).

    ``solve(model, hardware, arrival_rate, prompt_tokens=512, output_tokens=256, precision="fp16",
    tensor_parallel=1, kv_precision=None, ttft_slo=None, tpot_slo=None, token_budget=2048,
    max_sequences=256, calibration=None)`` evaluates one arrival rate (requests/s; an array
    sweeps it); ``feasible`` says whether every constraint holds and ``reasons`` which do not.
    ``token_budget="tuned"`` picks, of :data:`TUNED_BUDGETS`, the budget that allows the most
    load under the targets, as an operator tuning the deployment would.

    ``max_rate(...)`` (same arguments, no ``arrival_rate``) returns the result at the largest
    rate that meets every constraint, with ``binding`` naming the one that stops it: a TTFT or
    TPOT target, the KV-cache memory, the sequence limit, the token budget or raw throughput.
    ``ttft_slo`` is on the 99th percentile of TTFT, ``tpot_slo`` on the mean TPOT.
    """

    def solve(self, model, hardware, arrival_rate, prompt_tokens=512, output_tokens=256, precision="fp16",
              tensor_parallel=1, kv_precision=None, ttft_slo=None, tpot_slo=None, token_budget=DEFAULT_TOKEN_BUDGET,
              max_sequences=DEFAULT_MAX_SEQUENCES, calibration=None) -> ScheduleResult:
        sched = _make(model, hardware, prompt_tokens, output_tokens, precision, tensor_parallel, kv_precision,
                      token_budget, max_sequences, ttft_slo, tpot_slo, calibration)
        lam = validate.number(arrival_rate, "arrival_rate", "1/s", minimum=0, inclusive=True)
        return self._result(sched, lam, None, dict(arrival_rate=arrival_rate))

    def max_rate(self, model, hardware, prompt_tokens=512, output_tokens=256, precision="fp16", tensor_parallel=1,
                 kv_precision=None, ttft_slo=None, tpot_slo=None, token_budget=DEFAULT_TOKEN_BUDGET,
                 max_sequences=DEFAULT_MAX_SEQUENCES, calibration=None) -> ScheduleResult:
        sched = _make(model, hardware, prompt_tokens, output_tokens, precision, tensor_parallel, kv_precision,
                      token_budget, max_sequences, ttft_slo, tpot_slo, calibration)
        lam, binding = sched.max_rate()
        return self._result(sched, lam, binding, {})

    @staticmethod
    def _result(sched, lam, binding, inputs) -> ScheduleResult:
        values, ok = sched.evaluate(lam)
        reasons, feasible = sched.reasons(values, ok)
        values["capacity"] = sched.capacity()
        values["token_budget"] = sched.K * np.ones_like(np.asarray(lam, dtype=float))
        if binding is not None:
            values["binding"] = binding
            if np.any(np.asarray(lam) <= 0):
                reasons = [f"no arrival rate meets every constraint{count_where(np.asarray(lam) <= 0)}: "
                           + "; ".join(reasons or ["even one request at a time misses a target"])]
                feasible = np.asarray(lam) > 0
        shaped = [v for v in values.values() if isinstance(v, np.ndarray) and v.ndim]
        if not shaped:
            values = {k: _scalar(v) for k, v in values.items()}
            feasible = bool(np.all(feasible))
        r = sched.replica
        inputs = {"model": r.model, "hardware": r.hardware, **inputs, "prompt_tokens": sched.c,
                  "output_tokens": sched.n, "precision": r.precision, "tensor_parallel": r.tp,
                  "ttft_slo": sched.ttft_slo, "tpot_slo": sched.tpot_slo, "token_budget": sched.K,
                  "max_sequences": sched.S}
        return ScheduleResult(values, feasible=feasible, reasons=reasons, inputs=inputs)


class FleetPlan(Result):
    """Replicas and nodes that serve a load under the schedule's targets, and the operating point."""

    TITLE = "Serving fleet"
    FIELDS = {
        "load": ("1/s", "1/s", "Load (requests/s)"),
        "prefill": (None, None, "Prefill"),
        "replicas": (None, None, "Replicas"),
        "prefill_replicas": (None, None, "of which prefill replicas"),
        "nodes": (None, None, "Nodes"),
        "accelerators": (None, None, "Accelerators"),
        "max_rate_per_replica": ("1/s", "1/s", "Most requests/s per (decode) replica"),
        "rate_per_replica": ("1/s", "1/s", "Requests/s per (decode) replica"),
        "binding": (None, None, "Binding constraint"),
        "token_budget": (None, None, "Token budget per step"),
        "tpot": ("s", "ms", "TPOT at the operating point"),
        "ttft_p99": ("s", "ms", "TTFT p99 at the operating point"),
        "facility_power": ("W", "kW", "Facility power"),
        "energy_per_request": ("J", "kJ", "Facility energy per request"),
    }
    __slots__ = ("fleet", "operating_point", "max_point", "prefill_point", "node")


#: Scale-out bandwidth per GPU that carries a prompt's KV cache from a prefill to a decode replica
#: when the node states none: one 400 Gb/s port per GPU, as on a DGX H100 [@nvidia2023dgxh100].
DEFAULT_NIC_BANDWIDTH = 400e9 / 8
PREFILL_MODES = ("chunked", "separate")


def replicas_needed(load, best):
    """(replicas, served): ceil(load / best) replicas where one replica sustains ``best`` > 0."""
    served = np.asarray(best) > 0
    with np.errstate(divide="ignore"):
        count = np.where(served, np.ceil(load / np.where(served, best, 1.0) * (1 - 1e-12)), 0.0)
    return count, served


def fleet_nodes(replicas, tensor_parallel, per_node):
    """Whole nodes that hold ``replicas`` replicas of ``tensor_parallel`` devices: ceil(r t / g)."""
    return np.ceil(replicas * tensor_parallel / per_node)


class ServingFleetModel:
    """The fleet that serves ``load`` requests/s under the book's schedule and its targets.

    ``solve(model, hardware, load, prompt_tokens=512, output_tokens=256, precision="fp16",
    tensor_parallel=1, ttft_slo=None, tpot_slo=None, prefill="chunked", node=None, pue=None,
    kv_precision=None, token_budget="tuned", max_sequences=256, calibration=None)``

    ``prefill="chunked"`` (the book's schedule): every replica decodes and prefills, prompts in
    chunks inside the decode steps. Each replica runs at most the largest rate that meets every
    target (:meth:`ServingScheduleModel.max_rate`), with the token budget tuned for it by default
    (``token_budget="tuned"``, as an operator would; pass a number to fix it); the fleet has
    ceil(load / that rate) replicas.

    ``prefill="separate"`` (disaggregated serving [@zhong2024distserve; @patel2024splitwise]):
    prefill replicas only run prompts (sized by the TTFT target, the KV cache's trip over the
    node's network included) and decode replicas only decode (sized by the TPOT target, the
    memory and the sequence limit), so prompt work never lengthens a decode step.

    Replicas are packed onto nodes of ``node`` (default: eight of ``hardware``). The load spreads
    evenly, so each replica runs at load / replicas: ``operating_point`` is that (decode) schedule
    result, ``max_point`` the one at the limit, ``prefill_point`` the prefill pool's (separate
    prefill only), ``fleet`` a :class:`~mlsysim.Fleet` (None when calibration draws make the
    counts arrays). :class:`~mlsysim.EconomicsModel` takes the plan itself, arrays included.
    Facility power counts the accelerators at the calibrated serving power, the rest of each node
    (:func:`~mlsysim.solvers._common.host_power_per_accelerator`, as EconomicsModel counts it), and the PUE (default from ``mlsysim/data/economics.yaml``); ``energy_per_request`` is that
    power over the load.
    """

    def solve(self, model, hardware, load, prompt_tokens=512, output_tokens=256, precision="fp16",
              tensor_parallel=1, ttft_slo=None, tpot_slo=None, prefill="chunked", node=None, pue=None,
              kv_precision=None, token_budget="tuned", max_sequences=DEFAULT_MAX_SEQUENCES,
              calibration=None) -> FleetPlan:
        from mlsysim.solvers._common import host_power_per_accelerator
        from mlsysim.specs import economics as defaults
        from mlsysim.systems.types import Fleet, Node

        total = validate.number(load, "load", "1/s")
        for name, value in (("load", total), ("tensor_parallel", tensor_parallel)):
            if isinstance(value, np.ndarray):
                raise InputError(name, "a single number (call solve once per fleet)", f"an array of shape {value.shape}")
        mode = validate.choice(prefill, "prefill", PREFILL_MODES)
        common = (model, hardware, prompt_tokens, output_tokens, precision, tensor_parallel, kv_precision)
        if mode == "chunked":
            sched = _make(*common, token_budget, max_sequences, ttft_slo, tpot_slo, calibration)
            prefill_pool = None
        else:
            sched = _make_decode(common, token_budget, max_sequences, tpot_slo, calibration)
        r = sched.replica
        if node is None:
            node = Node(f"8 x {r.hardware.key}", r.hardware, 8)
        elif not isinstance(node, Node):
            raise InputError("node", "a mlsysim.Node", type(node).__name__)
        elif node.accelerator.key != r.hardware.key:
            raise InputError("node", f"a node of {r.hardware.key}", node.accelerator.key)
        if mode == "separate":
            nic = getattr(node, "nic_bandwidth", None)
            nic = DEFAULT_NIC_BANDWIDTH if nic is None else validate.number(nic, "nic_bandwidth", "byte/s")
            transfer = sched.c * r.kv_per_token / (r.tp * nic)
            budget = DEFAULT_TOKEN_BUDGET if isinstance(token_budget, str) else token_budget
            prefill_pool = _PrefillPool(r, sched.c, max(float(np.max(budget)), float(sched.c)),
                                        None if ttft_slo is None else validate.number(ttft_slo, "ttft_slo", "s"),
                                        transfer)
        schedule = ServingScheduleModel()
        best, binding = sched.max_rate()
        max_point = schedule._result(sched, best, binding, {})
        replicas, served = replicas_needed(total, best)
        rate = np.where(served, total / np.maximum(replicas, 1.0), 0.0)
        point = schedule._result(sched, np.where(served, rate, best), binding, {})
        prefill_replicas = np.zeros_like(replicas)
        ttft_p99 = point.ttft_p99.to("s").magnitude
        reasons = list(point.reasons)
        feasible = np.asarray(point.feasible) & served
        prefill_point = None
        if prefill_pool is not None:
            p_best, p_binding = prefill_pool.max_rate()
            prefill_replicas, p_served = replicas_needed(total, p_best)
            p_values, p_ok = prefill_pool.evaluate(np.where(p_served, total / np.maximum(prefill_replicas, 1.0), p_best))
            p_reasons, p_feasible = prefill_pool.reasons(p_values, p_ok)
            ttft_p99 = p_values["ttft_p99"]
            reasons += [f"prefill replicas: {x}" for x in p_reasons]
            feasible = feasible & p_feasible & p_served
            served = served & p_served
            binding = np.char.add(np.char.add("prefill: ", np.asarray(p_binding, dtype=str)),
                                  np.char.add("; decode: ", np.asarray(binding, dtype=str))).astype(object)
            prefill_point = p_values
        per_node = node.accelerators_per_node
        nodes = fleet_nodes(replicas + prefill_replicas, r.tp, per_node)
        accelerators = nodes * per_node
        pue_value = defaults.default("pue")[0] if pue is None else validate.number(pue, "pue", minimum=1,
                                                                                   inclusive=True)
        overhead_per_accelerator = host_power_per_accelerator(node)[0]
        facility_power = facility_energy(it_power(accelerators, r.hardware.si["tdp"],
                                                  r.calibration.serving_power_fraction, overhead_per_accelerator),
                                         pue_value)
        values = {
            "load": total, "prefill": mode, "replicas": replicas + prefill_replicas,
            "prefill_replicas": prefill_replicas, "nodes": nodes, "accelerators": accelerators,
            "max_rate_per_replica": best, "rate_per_replica": rate, "binding": binding,
            "token_budget": sched.K * np.ones_like(np.asarray(best, dtype=float)),
            "tpot": point.tpot.to("s").magnitude, "ttft_p99": ttft_p99,
            "facility_power": facility_power, "energy_per_request": energy(facility_power, 1.0) / total,
        }
        scalar = not any(isinstance(v, np.ndarray) and v.ndim for v in values.values())
        if scalar:
            values = {k: _scalar(v) for k, v in values.items()}
            for name in ("replicas", "prefill_replicas", "nodes", "accelerators"):
                values[name] = int(values[name])
        if not np.all(served):
            reasons = list(max_point.reasons) or ["no arrival rate meets every constraint"]
        fleet = Fleet(f"{r.model.name} on {r.hardware.key}", node, values["nodes"]) if scalar and values["nodes"] \
            else None
        plan = FleetPlan(values, feasible=bool(np.all(feasible)) if scalar else feasible, reasons=reasons,
                         inputs={"model": r.model, "hardware": r.hardware, "load": load,
                                 "prompt_tokens": sched.c, "output_tokens": sched.n, "precision": r.precision,
                                 "tensor_parallel": r.tp, "ttft_slo": ttft_slo, "tpot_slo": sched.tpot_slo,
                                 "pue": pue_value})
        for name, value in (("fleet", fleet), ("operating_point", point), ("max_point", max_point),
                            ("prefill_point", prefill_point), ("node", node)):
            object.__setattr__(plan, name, value)
        return plan
