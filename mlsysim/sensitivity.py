"""How sure is an answer? The calibration's validation errors carried into any output.

Each efficiency factor of :mod:`mlsysim.calibration` was fitted on some measurements; the
published records it governs scatter around the engine's predictions. :func:`derive_spreads`
turns that scatter into a spread per factor: for every validation record whose prediction is
sensitive to the factor (elasticity e = d ln(prediction) / d ln(factor) of at least 0.5 in
size), the factor that would have matched the measurement differs from the fitted one by
about d = -ln(predicted / measured) / e in log space; the factor's spread sigma is the root mean
scale of those d over the fitted and held-out records alike, measured robustly (1.4826 x the
median |d|, the normal-equivalent of the median absolute deviation), so that the few records
the validation chapter explains by software (a 2023 attention kernel, a 2025 all-reduce) do not
widen every interval. :data:`SPREADS` stores the result (a test checks it against a fresh
derivation).

:func:`uncertainty` then draws every factor independently from a log-normal distribution
around its calibrated value with that sigma (fractions capped at 1), solves once with all the
draws at once (the solvers broadcast array-valued factors), and reports the median and an
interval. Treating the factors as independent overstates the spread somewhat where one
record's error is explained by several factors; the interval is meant as an honest width, not
a confidence statement.

Why our own code: a Monte Carlo over a few log-normal factors is a dozen lines of numpy; no
uncertainty library fits an engine whose solvers take a calibration record.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, fields, replace

import numpy as np

from mlsysim.calibration import _FRACTIONS, DEFAULT, Calibration, resolve_calibration
from mlsysim.errors import InputError

#: Log-space spread (sigma of ln factor) of each calibration factor, from
#: ``derive_spreads()`` on the validation records (``python -m mlsysim.sensitivity``).
#: ``usable_memory_fraction`` and ``serving_power_fraction`` have no timing record behind them;
#: their spreads are estimates, with the reasoning next to them. The training factors come from
#: the training and fleet records (layer and iteration times, weak scaling, model FLOP/s, energy).
SPREADS = {
    "compute_efficiency": 0.106,
    "memory_efficiency": 0.143,
    "kernel_overhead": 0.198,
    "attention_efficiency": 0.106,
    "prefill_overhead_per_layer": 0.224,
    "low_precision_efficiency": 0.113,
    "interconnect_efficiency": 0.270,
    "allreduce_latency": 0.361,
    # -- training (mlsysim.validation.training and .fleet records, the same derivation)
    "training_gemm_efficiency": 0.129,
    "training_elementwise_traffic": 0.128,
    #: the weakest-constrained factor: one record fits it, and the held-out records it moves
    #: (Megatron weak scaling) move by at most 0.17 per unit of ln(factor), so each record's
    #: whole residual, divided by that, gives a wide spread. Treat data-parallel times as uncertain.
    "network_efficiency": 0.959,
    #: from the two records with a measured training energy (GPT-3's energy, BLOOM's CO2e), both
    #: overstated by charging every GPU its TDP; capped at 1, so the interval's top is the TDP case.
    "training_power_fraction": 0.951,
    #: estimate: serving stacks leave 5-15% of memory for activations and workspace (vLLM's
    #: gpu_memory_utilization default 0.9 [@vllm2024engineargs]); sigma 0.03 spans about 0.87-0.93.
    "usable_memory_fraction": 0.03,
    #: estimate: the committed Splitwise subset has no power column, so its spread cannot be
    #: derived here; prompt phases run near TDP and token phases well below it
    #: [@patel2024splitwise], and sigma 0.15 puts 80% of draws between 0.47 and 0.69 of TDP.
    "serving_power_fraction": 0.15,
}
#: Factors derived from the timing records (the rest are stated above).
#: A record informs a factor when |d ln prediction / d ln factor| reaches the first of these that
#: leaves at least three records (a factor that only shapes a small part of any record, like the
#: fixed prefill cost, is judged on the records it moves most).
SENSITIVITY_THRESHOLDS = (0.5, 0.2, 0.1)
TIMED = ("compute_efficiency", "memory_efficiency", "kernel_overhead", "attention_efficiency",
         "prefill_overhead_per_layer", "low_precision_efficiency", "interconnect_efficiency", "allreduce_latency",
         "training_gemm_efficiency", "training_elementwise_traffic", "network_efficiency",
         "training_power_fraction")


@dataclass(frozen=True)
class Interval:
    """The median of an output over the draws and the interval holding ``level`` of them."""

    median: float
    low: float
    high: float
    level: float
    samples: np.ndarray

    @classmethod
    def of(cls, samples, level: float = 0.8) -> "Interval":
        """The median and central ``level`` interval of draws already computed (e.g. a solver
        run once with ``calibration=draw(n)``), the same summary :func:`uncertainty` returns."""
        if not (isinstance(level, float) and 0 < level < 1):
            raise InputError("level", "a fraction between 0 and 1, e.g. 0.8", level)
        values = np.asarray(getattr(samples, "magnitude", samples), dtype=float).reshape(-1)
        if values.size < 2:
            raise InputError("samples", "two or more draws", f"{values.size} value(s)")
        tail = (1 - level) / 2
        low, median, high = np.quantile(values, [tail, 0.5, 1 - tail])
        return cls(float(median), float(low), float(high), level, values)

    @property
    def relative(self) -> tuple[float, float]:
        """(low, high) relative to the median: (0.9, 1.15) reads "-10% to +15%"."""
        return self.low / self.median, self.high / self.median

    def text(self, formatter=None, separator="–") -> str:
        """``"low–high"`` formatted by ``formatter`` (default: 3 significant figures), for prose."""
        from mlsysim.show import sig

        f = formatter or sig
        return f"{f(self.low)}{separator}{f(self.high)}"

    def __repr__(self) -> str:
        from mlsysim.show import sig

        return (f"{sig(self.median)} ({self.level:.0%} interval {sig(self.low)} to {sig(self.high)}, "
                f"{self.samples.size:,} draws)")


def draw(n: int = 2000, seed: int = 0, factors=None, calibration=None, spreads=None) -> Calibration:
    """A Calibration whose factors are arrays of ``n`` log-normal draws around ``calibration``
    (default: the engine's), with the spreads of :data:`SPREADS` (or ``spreads``); ``factors``
    limits the draw to some names (the others stay fixed)."""
    base = resolve_calibration(calibration)
    spreads = dict(SPREADS if spreads is None else spreads)
    names = list(spreads) if factors is None else list(factors)
    known = {f.name for f in fields(Calibration)}
    for name in names:
        if name not in spreads or name not in known:
            raise InputError("factors", f"factors with a spread ({', '.join(spreads)})", name)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise InputError("n", "an integer number of draws >= 2", n)
    rng = np.random.default_rng(seed)
    changes = {}
    # serving factors first, then training ones: adding a training factor leaves every serving
    # draw (and so every serving interval of a given seed) as it was
    names = sorted(names, key=lambda k: k.startswith("training_") or k == "network_efficiency")
    for name in names:
        value = getattr(base, name) * np.exp(rng.normal(0.0, spreads[name], int(n)))
        if name in _FRACTIONS:
            value = np.minimum(value, 1.0)
        changes[name] = value
    return base.with_(**changes)


def uncertainty(solve, output=None, n: int = 2000, level: float = 0.8, seed: int = 0, factors=None,
                calibration=None) -> Interval:
    """Median and ``level`` interval (default 80%) of an output over calibration draws.

    ``solve(calibration)`` runs the question once with the given :class:`Calibration` (its
    factors are arrays of draws, so the solvers return arrays); ``output`` picks the number
    from what ``solve`` returns: a field name, a callable, or None when ``solve`` returns the
    number itself. Quantities are reduced to their magnitude in their own unit.

    >>> from mlsysim import ServingModel
    >>> itl = uncertainty(lambda cal: ServingModel().solve("Llama3_8B", "H100", 1024, calibration=cal), "itl")
    """
    if not callable(solve):
        raise InputError("solve", "a function of one Calibration", type(solve).__name__)
    if not (isinstance(level, float) and 0 < level < 1):
        raise InputError("level", "a fraction between 0 and 1, e.g. 0.8", level)
    cal = draw(n, seed, factors, calibration)
    value = _pick(solve(cal), output)
    samples = np.asarray(value, dtype=float)
    if samples.shape != (n,):
        samples = np.broadcast_to(samples, np.broadcast_shapes(samples.shape, (n,))).reshape(-1) \
            if samples.size in (1, n) else samples
    if samples.shape != (n,):
        raise InputError("solve", f"a function whose output has one value per draw ({n})",
                         f"an output of shape {np.shape(value)}")
    return Interval.of(samples, level)


def _pick(result, output):
    """The number(s) ``output`` names in what a solve returned (a field, a function of the result,
    or the result itself), as a magnitude when it is a Quantity."""
    if output is None:
        value = result
    elif callable(output):
        value = output(result)
    elif isinstance(output, str):
        if not hasattr(result, output):
            raise InputError("output", f"a field of {type(result).__name__}", output)
        value = getattr(result, output)
    else:
        raise InputError("output", "a field name, a function or None", output)
    return value.magnitude if hasattr(value, "magnitude") else value


def derive_spreads(calibration=None) -> dict:
    """Sigma of ln(factor) per timed factor, from the validation records (see the module docstring)."""
    from mlsysim import validation

    cal = resolve_calibration(calibration)
    base = validation.run(cal, operators=True, software=False)
    measured = np.array([r.measured for r in base.rows])
    predicted = np.array([r.predicted for r in base.rows])
    spreads = {}
    for name in TIMED:
        # one per cent up, or down where a fraction already sits at 1 (training_power_fraction)
        step = 1 / 1.01 if name in _FRACTIONS and getattr(cal, name) * 1.01 > 1 else 1.01
        moved = validation.run(cal.with_(**{name: getattr(cal, name) * step}), operators=True, software=False)
        elasticity = np.log(np.array([r.predicted for r in moved.rows]) / predicted) / np.log(step)
        for threshold in SENSITIVITY_THRESHOLDS:
            sensitive = np.abs(elasticity) >= threshold
            if sensitive.sum() >= 3:
                break
        deviation = -np.log(predicted[sensitive] / measured[sensitive]) / elasticity[sensitive]
        spreads[name] = float(1.4826 * np.median(np.abs(deviation)))
    return spreads


# ----------------------------------------------------------------------------------------
# Where to invest: elasticities, and the input a target needs
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Elasticity:
    """d ln(output) / d ln(input) for one input, with the outputs on either side of the base."""

    name: str
    base: object
    elasticity: float
    low: float
    high: float
    output: float


class Elasticities:
    """Elasticities of one output, largest in size first; a table in a notebook, a tornado with
    :meth:`plot`. ``e["hardware.memory_bandwidth"]`` gives one value."""

    def __init__(self, rows, output_name: str, output: float, rel_step: float):
        self.rows = sorted(rows, key=lambda r: -abs(r.elasticity) if np.isfinite(r.elasticity) else 0.0)
        self.output_name = output_name
        self.output = output
        self.rel_step = rel_step

    def __getitem__(self, name: str) -> float:
        for row in self.rows:
            if row.name == name:
                return row.elasticity
        raise InputError("name", f"one of the inputs ({', '.join(r.name for r in self.rows)})", name)

    def as_dict(self) -> dict:
        return {r.name: r.elasticity for r in self.rows}

    def table(self):
        from mlsysim.core.format import format_value
        from mlsysim.show import Table

        rows = [[r.name, format_value(r.base), f"{r.elasticity:+.3f}",
                 f"{(np.exp(r.elasticity * np.log(1.1)) - 1):+.1%}"] for r in self.rows]
        return Table(["input", "base value", "elasticity", "output change for +10% input"], rows,
                     f"Elasticities of {self.output_name} (central differences, step {self.rel_step:.0%})")

    def plot(self, ax=None, title=None):
        """A tornado of these elasticities (:func:`mlsysim.plots.tornado`)."""
        from mlsysim.plots import tornado

        return tornado(self, ax=ax, title=title)

    def __repr__(self) -> str:
        return repr(self.table())

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()


def _perturbations(inputs: dict, select):
    """(row name, base value, apply(factor) -> inputs) for every perturbable input."""
    from mlsysim.calibration import Calibration
    from mlsysim.hardware import FIELDS, _ATTRIBUTE, derive
    from mlsysim.specs.hardware import HardwareSpec
    from mlsysim.systems.types import Fleet, Node

    def hardware_rows(prefix, spec, rebuild):
        for field in FIELDS:
            value = spec.peak_flops.get(spec.compute_precision("fp16")) if field == "peak_flops" \
                else getattr(spec, _ATTRIBUTE.get(field, field))
            if value is None:
                continue
            yield f"{prefix}.{field}", value, (lambda f, field=field: rebuild(derive(spec, **{field: f})))

    rows = []
    for key, value in inputs.items():
        if isinstance(value, HardwareSpec):
            rows += hardware_rows(key, value, lambda spec, key=key: {**inputs, key: spec})
        elif isinstance(value, Fleet):
            fleet, node = value, value.node

            def with_node(new_node, key=key, fleet=fleet):
                return {**inputs, key: Fleet(fleet.name, new_node, fleet.count, fleet.fabric)}

            rows += hardware_rows(key, node.accelerator,
                                  lambda spec, with_node=with_node, node=node: with_node(replace(node, accelerator=spec)))
            for field in ("nic_bandwidth", "power_overhead", "server_price"):
                base = getattr(node, field)
                if base is not None:
                    rows.append((f"{key}.{field}", base, lambda f, field=field, node=node, base=base, with_node=with_node:
                                 with_node(replace(node, **{field: base * f}))))
        elif isinstance(value, Node):
            raise InputError(key, "a Fleet (a node is perturbed through its fleet)", "a Node")
        elif isinstance(value, Calibration):
            for name in SPREADS:
                base = getattr(value, name)
                if np.size(base) != 1:
                    raise InputError(key, "a calibration of single values (not Monte Carlo draws)", "arrays")
                rows.append((f"{key}.{name}", float(base),
                             lambda f, key=key, name=name, cal=value: {**inputs, key: cal.with_(**{name: getattr(cal, name) * f})}))
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            if value <= 0:
                raise InputError(key, "a positive number (elasticities are taken in log space)", value)
            rows.append((key, value, lambda f, key=key, value=value: {**inputs, key: value * f}))
    if select is not None:
        wanted = list(select) if not isinstance(select, str) else [select]
        known = [r[0] for r in rows]
        for name in wanted:
            if not any(r == name or r.startswith(name + ".") for r in known):
                raise InputError("select", f"inputs among {', '.join(known)}", name)
        rows = [r for r in rows if any(r[0] == name or r[0].startswith(name + ".") for name in wanted)]
    return rows


def _scalar_output(solve, inputs, output, name):
    try:
        result = solve(**inputs)
    except InputError as exc:
        raise InputError(name, "an input the solve accepts when nudged by rel_step (an integer argument "
                               "cannot be: sweep it instead)", str(exc)) from None
    value = np.asarray(_pick(result, output), dtype=float)
    if value.size != 1:
        raise InputError("output", "one number per solve (not an array)", f"shape {value.shape}")
    return float(value.reshape(()))


def elasticities(solve, inputs: dict, output=None, rel_step: float = 0.01, select=None) -> Elasticities:
    """How much an output moves per relative change of each input: e = d ln y / d ln x.

    ``solve(**inputs)`` runs the question; ``output`` picks the number (a field name, a function
    of the result, or None when ``solve`` returns it). Every value of ``inputs`` that can be
    perturbed is, one at a time, by a factor (1 +- ``rel_step``), and the elasticity is the
    central difference e = [ln y(x(1+h)) - ln y(x(1-h))] / [ln(1+h) - ln(1-h)]
    (one-sided where a fraction already sits at 1):

    - a :class:`~mlsysim.specs.hardware.HardwareSpec`: its peak FLOP/s (every precision at once),
      memory, memory bandwidth, TDP, scale-up link bandwidth, price (and a wafer's external
      bandwidth and memory), each through :func:`mlsysim.hardware.derive`;
    - a :class:`~mlsysim.Fleet`: the same for its accelerator, and its node's NIC bandwidth,
      host power and server price;
    - a :class:`~mlsysim.calibration.Calibration`: every factor of :data:`SPREADS` ("better
      software" is a higher efficiency);
    - a positive number: a numeric argument of the solve.

    Other values (names, strings, booleans) pass through unchanged; ``select`` keeps only some
    rows (names or prefixes such as ``"hardware"``). Returns :class:`Elasticities`.

    Reading them. A pure power law y = c x^k has elasticity k everywhere: -1 means "twice the
    input, half the output". A time on the textbook roofline, max(F / P, B / W), is a max of two
    power laws, so away from the ridge its elasticity is -1 to the resource that binds and 0 to
    the other: only one investment pays. Near the ridge the engine's rounded roofline
    ((t_c^p + t_m^p)^(1/p), p = 1.5) splits the -1 between the two, weighted by how much each
    term contributes (e_c = -t_c^p / (t_c^p + t_m^p)), so values between 0 and -1 mean "both
    limits are close". Sums add elasticities weighted by their shares of the total. A kink
    (a max() switching sides, a ceil() adding a replica, a constraint that starts to bind) makes
    the derivative jump: a central difference that straddles it returns a value between the two
    sides, and a step function (replicas, nodes) gives 0 almost everywhere and a spike at the
    step. Read such outputs at a larger ``rel_step``, or take the elasticity of the continuous
    quantity underneath (the rate one replica sustains, not the number of replicas).
    """
    if not callable(solve):
        raise InputError("solve", "a function taking the inputs as keyword arguments", type(solve).__name__)
    if not isinstance(inputs, dict) or not inputs:
        raise InputError("inputs", "a non-empty dict {argument name: base value}", type(inputs).__name__)
    if isinstance(rel_step, bool) or not isinstance(rel_step, numbers.Real) or not 0 < rel_step < 0.5:
        raise InputError("rel_step", "a relative step between 0 and 0.5, e.g. 0.01", rel_step)
    h = float(rel_step)
    base = _scalar_output(solve, inputs, output, "inputs")
    if not base > 0:
        raise InputError("output", "a positive number at the base point (elasticities are in log space)", base)
    rows = []
    for name, value, apply in _perturbations(inputs, select):
        try:
            up_inputs, up_factor = apply(1 + h), 1 + h
        except InputError:                       # a fraction at 1 cannot go up: one-sided difference
            up_inputs, up_factor = inputs, 1.0
        high = _scalar_output(solve, up_inputs, output, name)
        low = _scalar_output(solve, apply(1 - h), output, name)
        with np.errstate(divide="ignore", invalid="ignore"):
            e = (np.log(high) - np.log(low)) / (np.log(up_factor) - np.log(1 - h)) if high > 0 and low > 0 \
                else float("nan")
        rows.append(Elasticity(name, value, float(e), low, high, base))
    label = output if isinstance(output, str) else getattr(output, "__name__", "output")
    return Elasticities(rows, label, base, h)


@dataclass(frozen=True)
class Requirement:
    """The scale ``factor`` of one input at which an output just meets a target, and that input's value."""

    input: str
    factor: float
    value: object
    output: float
    target: float

    def __repr__(self) -> str:
        from mlsysim.core.format import format_value

        return (f"{self.input} x{self.factor:.3g} = {format_value(self.value)} brings the output to "
                f"{self.output:.4g} (target {self.target:.4g})")


def required(solve, inputs: dict, name: str, output, target: float, bounds=(1 / 64, 64),
             iterations: int = 60) -> Requirement:
    """The inverse question: by what factor must input ``name`` (a row name of :func:`elasticities`,
    e.g. ``"hardware.memory_bandwidth"``) change for ``output`` to reach ``target``?

    Bisection in log space over factors in ``bounds``, assuming the output moves monotonically
    with the input there; raises InputError naming ``target`` when no factor in the bounds meets
    it (the input is not the limit: its elasticity is near 0)."""
    rows = {r[0]: r for r in _perturbations(inputs, None)}
    if name not in rows:
        raise InputError("name", f"one of {', '.join(rows)}", name)
    _, value, apply = rows[name]
    target = float(target)

    def gap(f):
        return _scalar_output(solve, apply(f), output, name) - target

    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    g_lo, g_hi = gap(np.exp(lo)), gap(np.exp(hi))
    if np.sign(g_lo) == np.sign(g_hi):
        raise InputError("target", f"an output reached by scaling {name} between x{bounds[0]:g} and "
                                   f"x{bounds[1]:g}", target,
                         detail=f"the output runs from {g_lo + target:.4g} to {g_hi + target:.4g}")
    for _ in range(iterations):
        mid = (lo + hi) / 2
        g = gap(np.exp(mid))
        if np.sign(g) == np.sign(g_lo):
            lo, g_lo = mid, g
        else:
            hi = mid
    factor = float(np.exp(hi))
    new = value * factor
    return Requirement(name, factor, new, gap(factor) + target, target)


if __name__ == "__main__":  # python -m mlsysim.sensitivity: derive the spreads and compare
    for key, value in derive_spreads(DEFAULT).items():
        print(f"{key:28s} derived {value:.3f}   stored {SPREADS.get(key, float('nan')):.3f}")
