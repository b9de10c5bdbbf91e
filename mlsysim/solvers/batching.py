"""Fixed (static) batching and the tail: throughput, waiting and latency percentiles as load rises.

The server waits until ``b`` requests have arrived, then serves them together in S(b)
seconds: one forward pass of a vision model (:meth:`mlsysim.Engine.solve`), or for an LLM one
prefill of the b prompts plus ``output_tokens`` decode steps of the whole batch. A request's
latency is the time its batch takes to fill, F, plus the time the full batch waits for the
server, W, plus S(b). With Poisson arrivals the batches arrive as a renewal process with
Erlang-b gaps (squared coefficient of variation 1/b), so

    capacity = b / S(b),  rho = lambda S(b) / b,
    E[F] = (b - 1) / (2 lambda),  E[W] ~ rho / (1 - rho) x (1/b) / 2 x S(b)   (Kingman).

F's distribution is exact (:func:`~mlsysim.physics.queueing.batch_formation_cdf`);
W is taken as zero with probability rho and exponential otherwise, independent
of F, and percentiles come from the distribution of F + W on a grid
[@kingman1961single; @harchol2013performance].

LLM serving with continuous batching (new requests join at any step, prompts in chunks) is
the book's serving schedule, :class:`mlsysim.ServingScheduleModel`; this module is the static
policy it is compared with. Both are models, not measurements: :mod:`mlsysim.simulation` runs
the same service times through a discrete-event simulation to show where they hold.
"""
from __future__ import annotations

import numpy as np

from mlsysim.core import validate
from mlsysim.errors import InputError
from mlsysim.physics import queueing as qu
from mlsysim.solvers._common import resolve_calibration, resolve_hardware, resolve_model
from mlsysim.solvers.result import Result

POLICIES = ("fixed",)
#: Default LLM request shape (an assumption of this engine, not a measured constant).
DEFAULT_PROMPT_TOKENS = 512
DEFAULT_OUTPUT_TOKENS = 256
_GRID = 4000


class BatchingResult(Result):
    """Throughput, utilization and latency of one replica under one batching policy."""

    TITLE = "Batching"
    FIELDS = {
        "policy": (None, None, "Policy"),
        "throughput": ("1/s", "1/s", "Throughput (requests/s)"),
        "max_throughput": ("1/s", "1/s", "Capacity (requests/s)"),
        "utilization": ("", "percent", "Utilization"),
        "service_time": ("s", "ms", "Service time (batch or step)"),
        "mean_batch": (None, None, "Mean batch"),
        "mean_wait": ("s", "ms", "Mean wait"),
        "latency_mean": ("s", "ms", "Mean latency"),
        "latency_p50": ("s", "ms", "p50 latency"),
        "latency_p99": ("s", "ms", "p99 latency"),
    }


class ServiceTimes:
    """The replica's service times for fixed batches, from the engine's physics.

    ``batch_time(b)``: seconds to serve a fixed batch of b requests; ``step_time(n)``: an LLM
    decode step with n sequences at the mean context. Shared by :class:`BatchingModel` and
    :mod:`mlsysim.simulation` so they can never disagree.
    """

    def __init__(self, model, hardware, policy=None, prompt_tokens=DEFAULT_PROMPT_TOKENS,
                 output_tokens=DEFAULT_OUTPUT_TOKENS, precision="fp16", tensor_parallel=1, calibration=None):
        self.model = resolve_model(model)
        self.hardware = resolve_hardware(hardware)
        self.calibration = resolve_calibration(calibration)
        self.precision = validate.precision(precision)
        self.is_llm = self.model.architecture == "decoder"
        policy = "fixed" if policy is None else policy
        if policy == "continuous":
            raise InputError("policy", "'fixed'", policy,
                             detail="continuous batching is the book's serving schedule: use "
                                    "mlsysim.ServingScheduleModel (and simulate_schedule)")
        self.policy = validate.choice(policy, "policy", POLICIES)
        self.replica = None
        if self.is_llm:
            from mlsysim.solvers.serving import ReplicaPhysics

            self.prompt = validate.number(prompt_tokens, "prompt_tokens", "token", integer=True)
            self.output = validate.number(output_tokens, "output_tokens", "token", integer=True)
            for name, value in (("prompt_tokens", self.prompt), ("output_tokens", self.output)):
                if isinstance(value, np.ndarray):
                    raise InputError(name, "a single number (sweep arrival_rate or batch_size instead)", "an array")
            self.replica = ReplicaPhysics(self.model, self.hardware, self.precision, tensor_parallel,
                                          calibration=self.calibration)
            # decode steps are affine in the context, so the mean context gives the mean step
            self.mean_context = self.prompt + (self.output - 1) / 2

    def step_time(self, n):
        """Seconds of one decode step with ``n`` sequences at the mean context."""
        return self.replica.decode_step(self.mean_context, n)[0]

    def batch_time(self, b):
        """Seconds to serve a fixed batch of ``b`` requests."""
        if self.is_llm:
            return self.replica.prefill(self.prompt, b)[0] + self.output * self.step_time(b)
        from mlsysim.solvers.engine import Engine

        return Engine.solve(self.model, self.hardware, batch_size=b, precision=self.precision,
                            calibration=self.calibration).latency.to("s").magnitude

    def memory(self, b):
        """(reasons, feasible) for holding a batch of ``b`` requests."""
        if self.is_llm:
            return self.replica.reasons(self.prompt + self.output, b)
        from mlsysim.solvers.engine import Engine

        r = Engine.solve(self.model, self.hardware, batch_size=b, precision=self.precision,
                         calibration=self.calibration)
        return list(r.reasons), r.feasible


def fixed_batch_quantiles(ps, arrival_rate, batch_size, mean_wait, prob_wait, grid=_GRID):
    """Quantiles of F + W for one fixed-batch operating point (see the module docstring):
    F exact, W zero with probability ``prob_wait`` else exponential, F and W independent."""
    lam, b = float(arrival_rate), int(batch_size)
    if not np.isfinite(mean_wait):
        return np.full(len(ps), np.inf)
    waits = mean_wait > 0 and prob_wait > 0
    cond_mean = mean_wait / prob_wait if waits else 0.0
    t_hi = (b - 1 + 10 * np.sqrt(b) + 10) / lam + (cond_mean * np.log(max(prob_wait, 1e-12) / 1e-6) if waits else 0)
    t = np.linspace(0.0, t_hi, grid)
    cdf = qu.batch_formation_cdf(t, lam, b)
    if waits:
        dt = t[1] - t[0]
        edges = np.exp(-np.arange(grid + 1) * dt / cond_mean)
        mass = edges[:-1] - edges[1:]              # P(W in [k dt, (k+1) dt) | W > 0)
        cdf = (1 - prob_wait) * cdf + prob_wait * np.convolve(cdf, mass)[:grid]
    cdf = np.maximum.accumulate(cdf)
    out = []
    for p in ps:
        i = int(np.searchsorted(cdf, p))
        if i == 0:
            out.append(0.0)
        elif i >= grid:
            out.append(t_hi)
        else:
            f = (p - cdf[i - 1]) / (cdf[i] - cdf[i - 1])
            out.append(t[i - 1] + f * (t[i] - t[i - 1]))
    return np.array(out)


def _scalar(x):
    x = np.asarray(x)
    return x if x.ndim else (x.item() if x.dtype.kind in "fiub" else x[()])


class BatchingModel:
    """One replica under a batching policy, as offered load rises.

    ``solve(model, hardware, arrival_rate, batch_size, policy=None, prompt_tokens=512,
    output_tokens=256, precision="fp16", tensor_parallel=1, calibration=None)``

    - ``arrival_rate``: offered load in requests per second (Poisson arrivals).
    - ``batch_size``: the fixed batch the server waits for (``policy="fixed"``, the only policy
      here; continuous batching is :class:`mlsysim.ServingScheduleModel`).
    - ``prompt_tokens``, ``output_tokens``, ``tensor_parallel``: the LLM request and replica.
    - ``arrival_rate`` and ``batch_size`` accept numpy arrays; they broadcast.

    ``feasible`` is stable (utilization < 1) and the batch fits in memory.
    """

    def solve(self, model, hardware, arrival_rate, batch_size, policy=None, prompt_tokens=DEFAULT_PROMPT_TOKENS,
              output_tokens=DEFAULT_OUTPUT_TOKENS, precision="fp16", tensor_parallel=1,
              calibration=None) -> BatchingResult:
        svc = ServiceTimes(model, hardware, policy, prompt_tokens, output_tokens, precision, tensor_parallel,
                           calibration)
        lam = validate.number(arrival_rate, "arrival_rate", "1/s")
        b = validate.number(batch_size, "batch_size", integer=True)
        sweep = isinstance(lam, np.ndarray) or isinstance(b, np.ndarray)
        lam_a, b_a = np.broadcast_arrays(np.asarray(lam, float), np.asarray(b, float))
        values = self._fixed(svc, lam_a, b_a)
        mem_reasons, fits = svc.memory(b_a if sweep else float(b))
        stable = values["utilization"] < 1
        reasons = list(mem_reasons)
        if not np.all(stable):
            where = f" at {int(np.sum(~stable))} of {stable.size} points" if sweep else ""
            worst = np.argmax(values["utilization"])
            reasons.append(f"unstable: arrival rate {lam_a.flat[worst]:,.4g}/s is at or above the capacity "
                           f"{values['max_throughput'].flat[worst]:,.4g}/s of batch {int(b_a.flat[worst])}{where}")
        feasible = stable & np.asarray(fits)
        if not sweep:
            values = {k: _scalar(v) for k, v in values.items()}
            feasible = bool(feasible)
        values["policy"] = svc.policy
        inputs = {"model": svc.model, "hardware": svc.hardware, "arrival_rate": arrival_rate,
                  "batch_size": batch_size, "policy": svc.policy}
        if svc.is_llm:
            inputs.update(prompt_tokens=prompt_tokens, output_tokens=output_tokens, precision=svc.precision,
                          tensor_parallel=tensor_parallel)
        return BatchingResult(values, feasible=feasible, reasons=reasons, inputs=inputs)

    @staticmethod
    def _fixed(svc, lam, b):
        S = np.asarray(svc.batch_time(b), float) * np.ones_like(lam)
        cap = b / S
        rho = lam / cap
        formation = qu.batch_formation_mean(lam, b)
        wait = np.asarray(qu.kingman_mean_wait(rho, S, 1 / b, 0.0), float) + np.zeros_like(lam)
        stable = rho < 1
        p50, p99 = np.full(lam.shape, np.inf), np.full(lam.shape, np.inf)
        for i in np.ndindex(lam.shape):
            if stable[i]:
                p50[i], p99[i] = S[i] + fixed_batch_quantiles((0.50, 0.99), lam[i], b[i], wait[i], rho[i])
        return {"throughput": np.minimum(lam, cap), "max_throughput": cap, "utilization": rho, "service_time": S,
                "mean_batch": b.copy(), "mean_wait": np.where(stable, formation + wait, np.inf),
                "latency_mean": np.where(stable, formation + wait + S, np.inf), "latency_p50": p50,
                "latency_p99": p99}


class BatchingPlan(Result):
    """The batch size an optimizer picked, with the sweep it picked from in ``candidates``."""

    TITLE = "Batching plan"
    FIELDS = {
        "batch_size": (None, None, "Best batch"),
        "throughput": ("1/s", "1/s", "Throughput (requests/s)"),
        "max_throughput": ("1/s", "1/s", "Capacity (requests/s)"),
        "utilization": ("", "percent", "Utilization"),
        "latency_p99": ("s", "ms", "p99 latency"),
        "p99_target": ("s", "ms", "p99 target"),
    }
    __slots__ = ("candidates",)


class BatchingOptimizer:
    """Pick the batch size that serves a load within a p99 latency target with the most headroom.

    ``solve(model, hardware, arrival_rate, p99_target, batch_sizes=None, policy=None, **kwargs)``

    Every candidate batch is solved with :class:`BatchingModel` at ``arrival_rate``; of those
    that are feasible (stable, fit in memory) and meet ``p99_target`` (seconds, or a time
    Quantity), the plan takes the one with the largest capacity; within 1% of that capacity,
    the lowest p99. Default candidates: powers of two up to 256, or for an LLM up to the
    largest batch that fits in memory. ``kwargs`` go to :meth:`BatchingModel.solve`.
    """

    def solve(self, model, hardware, arrival_rate, p99_target, batch_sizes=None, policy=None,
              **kwargs) -> BatchingPlan:
        lam = validate.number(arrival_rate, "arrival_rate", "1/s")
        if isinstance(lam, np.ndarray):
            raise InputError("arrival_rate", "a single arrival rate (call solve once per rate)", "an array")
        target = validate.number(p99_target, "p99_target", "s")
        if isinstance(target, np.ndarray):
            raise InputError("p99_target", "a single latency target", "an array")
        if batch_sizes is None:
            svc = ServiceTimes(model, hardware, policy, kwargs.get("prompt_tokens", DEFAULT_PROMPT_TOKENS),
                               kwargs.get("output_tokens", DEFAULT_OUTPUT_TOKENS), kwargs.get("precision", "fp16"),
                               kwargs.get("tensor_parallel", 1))
            limit = 256
            if svc.is_llm:
                from mlsysim.physics.kv_cache import sequences_that_fit

                limit = int(sequences_that_fit(svc.replica.usable - svc.replica.weights,
                                               svc.replica.kv_cache(svc.prompt + svc.output, 1)))
                if limit < 1:
                    raise InputError("model", "a model whose weights and one request fit the replica",
                                     svc.model.key, detail="no batch fits in memory")
            batch_sizes = 2 ** np.arange(int(np.log2(limit)) + 1)
        sizes = np.atleast_1d(validate.number(batch_sizes, "batch_sizes", integer=True)).astype(float)
        sweep = BatchingModel().solve(model, hardware, lam, sizes, policy=policy, **kwargs)
        p99 = sweep.latency_p99.to("s").magnitude
        cap = sweep.max_throughput.to("1/s").magnitude
        ok = np.asarray(sweep.feasible) & (p99 <= target)
        if ok.any():
            best_cap = cap[ok].max()
            near = ok & (cap >= 0.99 * best_cap)
            i = int(np.flatnonzero(near)[np.argmin(p99[near])])
            reasons = []
        else:
            i = int(np.argmin(p99))
            reasons = [f"no batch size in {int(sizes.min())}..{int(sizes.max())} serves {lam:,.4g} requests/s "
                       f"within a p99 of {target * 1e3:,.4g} ms; the lowest p99 is {p99[i] * 1e3:,.4g} ms "
                       f"at batch {int(sizes[i])}"]
        values = {"batch_size": int(sizes[i]), "throughput": float(sweep.throughput.to("1/s").magnitude[i]),
                  "max_throughput": float(cap[i]), "utilization": float(sweep.utilization.to("").magnitude[i]),
                  "latency_p99": float(p99[i]), "p99_target": target}
        inputs = {"model": sweep.model, "hardware": sweep.hardware, "arrival_rate": arrival_rate,
                  "policy": sweep.policy}
        plan = BatchingPlan(values, feasible=bool(ok.any()), reasons=reasons, inputs=inputs)
        object.__setattr__(plan, "candidates", sweep)
        return plan
