"""Searching the design space: every configuration of a grid, solved at once, the best and the
Pareto front.

- :class:`ServingDesignSpace` sizes a serving fleet for every combination of hardware,
  precision, tensor parallelism, token budget, sequence limit, request shape and load, with
  the book's one schedule (:class:`~mlsysim.ServingScheduleModel`: continuous batching with
  chunked prefill under p99 TTFT and mean TPOT targets) and the fleet sizing of
  :class:`~mlsysim.ServingFleetModel` (whole replicas on whole nodes), priced by
  :class:`~mlsysim.EconomicsModel`: cost per million output tokens, latency, feasibility.
- :class:`TrainingDesignSpace` runs :class:`~mlsysim.TrainingRun` (compute budget, training
  step, failures, energy, carbon, dollars) for every valid Megatron-style layout
  (:func:`mlsysim.solvers.training.search.valid_configurations`), ZeRO stage, recomputation,
  fleet and region: time to train, memory, MFU, dollars and CO2e.

Both solve each group of configurations that share their categorical choices (hardware and
precision; fleet, recomputation and region) in one vectorized call, so a grid of a million
configurations takes seconds (``benchmarks/bench.py``). Nothing is computed here that a solver
already computes: the search only lays out the grid, calls the solvers and reads their answers.

:func:`pareto_front` returns the designs no other design beats on every objective at once
[@deb2001multi]: the choices worth arguing about.
"""
from __future__ import annotations

import itertools
import numbers

import numpy as np

from mlsysim.calibration import resolve_calibration
from mlsysim.errors import InputError

__all__ = ["ServingDesignSpace", "TrainingDesignSpace", "DesignSpaceResult", "pareto_front"]

SECONDS_PER_DAY = 86400.0


# ----------------------------------------------------------------------------------------
# Pareto front
# ----------------------------------------------------------------------------------------
def _dominated_by_any(points, front):
    """Mask of ``points`` dominated by at least one row of ``front`` (all <=, one <)."""
    if not len(front) or not len(points):
        return np.zeros(len(points), dtype=bool)
    le = np.all(front[:, None, :] <= points[None, :, :], axis=2)
    lt = np.any(front[:, None, :] < points[None, :, :], axis=2)
    return np.any(le & lt, axis=0)


def pareto_front(points, chunk: int = 1024) -> np.ndarray:
    """Indices of the non-dominated rows of ``points`` (n x k, every column minimised; rows with a
    non-finite value are never on the front). A row is dominated when another is no worse in every
    column and better in one [@deb2001multi]; of identical rows only the first is kept.

    Two columns: one sort and a running minimum. More: the rows sorted by their first column are
    taken in chunks; each chunk drops what the front so far dominates, then its own dominated rows
    (a row can only be dominated by one that comes no later in the sort), and the rest join the
    front."""
    p = np.asarray(points, dtype=float)
    if p.ndim != 2 or p.shape[1] < 1:
        raise InputError("points", "an n x k array of objectives (k >= 1)", np.shape(points))
    ok = np.flatnonzero(np.all(np.isfinite(p), axis=1))
    if not len(ok):
        return np.zeros(0, dtype=int)
    q = p[ok]
    order = np.lexsort(q.T[::-1])                       # by the first column, then the next ...
    q = q[order]
    if q.shape[1] == 1:
        keep = np.array([0])
    elif q.shape[1] == 2:
        best_before = np.minimum.accumulate(q[:, 1])
        keep = np.flatnonzero(np.r_[True, q[1:, 1] < best_before[:-1]])
    else:
        front_rows = np.zeros((0, q.shape[1]))
        kept = []
        for start in range(0, len(q), chunk):
            block = q[start:start + chunk]
            # a row the front so far dominates, or one identical to a front row (an earlier
            # chunk kept the first of identical rows), is not on the front
            same_as_front = np.any(np.all(front_rows[:, None, :] == block[None, :, :], axis=2), axis=0)
            alive = ~(_dominated_by_any(block, front_rows) | same_as_front)
            idx = np.flatnonzero(alive)
            sub = block[idx]
            le = np.all(sub[:, None, :] <= sub[None, :, :], axis=2)
            lt = np.any(sub[:, None, :] < sub[None, :, :], axis=2)
            same = np.all(sub[:, None, :] == sub[None, :, :], axis=2)
            earlier_same = same & (np.arange(len(sub))[:, None] < np.arange(len(sub))[None, :])
            dominated = np.any((le & lt) | earlier_same, axis=0)
            survivors = idx[~dominated]
            kept.extend(start + survivors)
            front_rows = np.vstack([front_rows, block[survivors]])
        keep = np.array(kept, dtype=int)
    return np.sort(ok[order[keep]])


# ----------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------
class DesignSpaceResult:
    """Every configuration of a search as columns of equal length (``result["cost_per_million_tokens"]``),
    with ``feasible``, the best feasible design by any column, the Pareto front, tables and a plot."""

    #: (column, label, format) shown by :meth:`table` by default
    SHOWN: tuple = ()
    #: columns to minimise for :meth:`pareto` and :meth:`best` by default
    OBJECTIVES: tuple = ()
    CONFIG: tuple = ()

    def __init__(self, columns: dict, reasons: list, title: str):
        self.columns = columns
        self.reasons = reasons
        self.title = title

    def __len__(self) -> int:
        return len(self.columns["feasible"])

    def __getitem__(self, name):
        if name not in self.columns:
            raise InputError("column", f"one of {', '.join(self.columns)}", name)
        return self.columns[name]

    @property
    def feasible(self) -> np.ndarray:
        return self.columns["feasible"]

    def _mask(self, where):
        mask = self.feasible.copy()
        for name, wanted in (where or {}).items():
            column = self[name]
            if isinstance(wanted, (list, tuple, set)):
                mask &= np.isin(column, list(wanted))
            elif isinstance(column[0], str) or column.dtype == object:
                mask &= column == wanted
            else:
                mask &= np.isclose(column.astype(float), float(wanted))
        return mask

    def row(self, i) -> dict:
        """One configuration as a dict {column: value} (numbers as plain Python numbers)."""
        out = {}
        for name, column in self.columns.items():
            value = column[int(i)]
            out[name] = value.item() if isinstance(value, np.generic) else value
        return out

    def design(self, i) -> dict:
        """The choices of configuration ``i`` (what a student would answer with)."""
        row = self.row(i)
        return {name: row[name] for name in self.CONFIG}

    def best_index(self, by: str | None = None, where: dict | None = None) -> int:
        """Index of the feasible configuration with the smallest ``by`` (default: the first
        objective), among those matching ``where`` ({column: value or list})."""
        by = by or self.OBJECTIVES[0]
        mask = self._mask(where)
        if not mask.any():
            raise InputError("where", "a selection holding at least one feasible configuration",
                             where or "all", detail=self.reasons[0] if self.reasons else "")
        idx = np.flatnonzero(mask)
        # ties (whole nodes make many designs cost the same) go to the better other objectives
        keys = [self[o][idx].astype(float) for o in reversed(self.OBJECTIVES) if o != by] + \
            [self[by][idx].astype(float)]
        return int(idx[np.lexsort(keys)[0]])

    def best(self, by: str | None = None, where: dict | None = None) -> dict:
        """The feasible configuration with the smallest ``by``, as a dict of its columns."""
        return self.row(self.best_index(by, where))

    def pareto(self, objectives=None, where: dict | None = None) -> np.ndarray:
        """Indices of the feasible configurations on the Pareto front of ``objectives`` (columns,
        all minimised; default :attr:`OBJECTIVES`), among those matching ``where``."""
        objectives = tuple(objectives or self.OBJECTIVES)
        idx = np.flatnonzero(self._mask(where))
        if not len(idx):
            return idx
        points = np.column_stack([self[o][idx].astype(float) for o in objectives])
        return idx[pareto_front(points)]

    def ranked(self, where: dict | None = None) -> np.ndarray:
        """Indices of the feasible configurations (matching ``where``), best first: by the first
        objective, ties broken by the next ones (as :meth:`best_index` does)."""
        idx = np.flatnonzero(self._mask(where))
        keys = [self[o][idx].astype(float) for o in reversed(self.OBJECTIVES)]
        return idx[np.lexsort(keys)] if len(idx) else idx

    def table(self, indices=None, limit: int = 12, title: str | None = None, columns=None, where=None):
        """A table of some configurations (default: the best feasible ones matching ``where``,
        :meth:`ranked`); ``columns`` picks which of the default columns to show (by column name)."""
        from mlsysim.show import Table

        if indices is None:
            indices = self.ranked(where)[:limit]
        shown = self.SHOWN if columns is None else [c for c in self.SHOWN if c[0] in columns]
        if columns is not None and len(shown) != len(columns):
            known = [c[0] for c in self.SHOWN]
            raise InputError("columns", f"names among {', '.join(known)}", columns)
        rows = [[fmt(self.columns[c][i]) for c, _, fmt in shown] for i in indices]
        return Table([label for _, label, _ in shown], rows, title or self.title)

    def plot(self, x: str | None = None, y: str | None = None, where=None, groups: str | None = None, ax=None,
             highlight=None, **kwargs):
        """Every feasible configuration and the Pareto front of (x, y) (:func:`mlsysim.plots.pareto`)."""
        from mlsysim.plots import pareto

        x = x or self.OBJECTIVES[1]
        y = y or self.OBJECTIVES[0]
        idx = np.flatnonzero(self._mask(where))
        front = self.pareto((x, y), where)
        position = {j: k for k, j in enumerate(idx)}
        labels = {j: x for j, x in kwargs.pop("labels", {}).items()} if "labels" in kwargs else None
        local_labels = None if labels is None else {position[j]: t for j, t in labels.items() if j in position}
        return pareto(self[x][idx].astype(float), self[y][idx].astype(float), [position[j] for j in front],
                      labels=local_labels, groups=None if groups is None else self[groups][idx], ax=ax,
                      highlight=None if highlight is None else position.get(highlight), **kwargs)

    def __repr__(self) -> str:
        return (f"{self.title}: {len(self):,} configurations, {int(self.feasible.sum()):,} feasible\n"
                + repr(self.table()))

    def _repr_html_(self) -> str:
        head = (f"<p>{self.title}: {len(self):,} configurations, "
                f"{int(self.feasible.sum()):,} feasible</p>")
        return head + self.table()._repr_html_()


def _text(value):
    return str(value)


def _int(value):
    return f"{int(value):,}"


def _ms(value):
    from mlsysim.show import sig

    return f"{sig(float(value) * 1e3)} ms"


def _usd(value):
    from mlsysim.show import money

    return money(float(value))


def _usd_per_million(value):
    return f"${float(value):,.2f}"


# ----------------------------------------------------------------------------------------
# Argument helpers
# ----------------------------------------------------------------------------------------
def _values(value, name):
    """A list from a scalar or a sequence (not a string)."""
    if isinstance(value, (list, tuple, np.ndarray, range)):
        items = list(np.asarray(value).ravel()) if isinstance(value, np.ndarray) else list(value)
        if not items:
            raise InputError(name, "at least one value", "an empty sequence")
        return items
    return [value]


def _numbers(value, name, integer=False, allow_none=False, minimum=0.0):
    items = _values(value, name)
    if allow_none and all(v is None for v in items):
        return [None]
    out = []
    for v in items:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not v > minimum or \
                (integer and float(v) != int(v)):
            kind = "positive integers" if integer else "positive numbers"
            raise InputError(name, f"{kind} (one value or a list)", v)
        out.append(float(v))
    return out


# ----------------------------------------------------------------------------------------
# Serving
# ----------------------------------------------------------------------------------------
class ServingSearchResult(DesignSpaceResult):
    OBJECTIVES = ("cost_per_million_tokens", "request_latency_p99")
    CONFIG = ("hardware", "precision", "tensor_parallel", "token_budget", "max_sequences")
    SHOWN = (("hardware", "hardware", _text), ("precision", "precision", _text),
             ("tensor_parallel", "TP", _int), ("token_budget", "token budget", _int),
             ("max_sequences", "max seqs", _int), ("load", "load (req/s)", lambda v: f"{float(v):,.4g}"),
             ("accelerators", "GPUs", _int), ("ttft_p99", "TTFT p99", _ms), ("tpot", "TPOT", _ms),
             ("annual_cost_usd", "per year", _usd), ("cost_per_million_tokens", "$ / M tokens", _usd_per_million))


class ServingDesignSpace:
    """Size and price a serving fleet for every configuration of a grid.

    ``ServingDesignSpace(calibration=None, duration_days=365, pue=None, electricity_price=None,
    amortization_years=None, node_size=8)`` holds the pricing; :meth:`search` lays out the grid.
    """

    def __init__(self, calibration=None, duration_days: float = 365.0, pue=None, electricity_price=None,
                 amortization_years=None, node_size: int = 8):
        self.calibration = resolve_calibration(calibration)
        self.days = _numbers(duration_days, "duration_days")[0]
        self.pue, self.electricity_price, self.amortization_years = pue, electricity_price, amortization_years
        self.node_size = int(_numbers(node_size, "node_size", integer=True)[0])

    def _cost_per_accelerator(self, hw):
        """USD per accelerator over the duration: EconomicsModel on one node (linear in the count)."""
        from mlsysim.solvers.economics import EconomicsModel
        from mlsysim.systems.types import Fleet, Node

        if hw.unit_price is None:
            raise InputError("hardware", "devices with a unit price in the catalogue", hw.key)
        node = Node(f"{self.node_size} x {hw.key}", hw, self.node_size)
        tco = EconomicsModel().solve(Fleet("one node", node, 1), duration_days=self.days, pue=self.pue,
                                     electricity_price=self.electricity_price,
                                     amortization_years=self.amortization_years,
                                     calibration=self.calibration).tco_usd
        return tco / self.node_size

    def search(self, model, hardware, precision="fp16", tensor_parallel=(1, 2, 4, 8), load=100.0,
               prompt_tokens=512, output_tokens=256, ttft_slo=None, tpot_slo=None, token_budget=None,
               max_sequences=256) -> ServingSearchResult:
        """Every combination of the arguments given as lists (a single value is a list of one):

        ``hardware`` (names or specs), ``precision``, ``tensor_parallel`` (degrees that do not divide
        the model's heads or exceed a node are skipped), ``load`` (requests/s for the whole fleet),
        ``prompt_tokens``, ``output_tokens``, ``ttft_slo`` (p99, s) and ``tpot_slo`` (mean, s),
        ``token_budget`` (default: the budgets an operator tunes over,
        :data:`mlsysim.solvers.schedule.TUNED_BUDGETS`) and ``max_sequences``.

        For each, the schedule's largest rate per replica under the targets, the whole replicas
        and nodes the load needs (:class:`~mlsysim.ServingFleetModel`'s sizing), the TTFT p99,
        TPOT and request latency p99 at the rate each replica then runs, the cost over the
        duration (:class:`~mlsysim.EconomicsModel`) and the cost per million output tokens.
        Infeasible rows (no rate meets the targets, or the operating point misses one) stay in
        the result with ``feasible`` False."""
        from mlsysim.solvers.schedule import TUNED_BUDGETS, _Schedule, replicas_needed, fleet_nodes
        from mlsysim.specs.resolve import resolve_hardware, resolve_model
        from mlsysim.core import validate

        m = resolve_model(model)
        devices = [resolve_hardware(h) for h in _values(hardware, "hardware")]
        precisions = [validate.precision(p) for p in _values(precision, "precision")]
        degrees = [int(t) for t in _numbers(tensor_parallel, "tensor_parallel", integer=True)]
        loads = np.array(_numbers(load, "load"))
        prompts = _numbers(prompt_tokens, "prompt_tokens", integer=True)
        outputs = _numbers(output_tokens, "output_tokens", integer=True, minimum=1)
        ttfts = _numbers(ttft_slo, "ttft_slo", allow_none=True)
        tpots = _numbers(tpot_slo, "tpot_slo", allow_none=True)
        budgets = _numbers(TUNED_BUDGETS if token_budget is None else token_budget, "token_budget", integer=True)
        limits = _numbers(max_sequences, "max_sequences", integer=True)
        shapes = [(c, n) for c in prompts for n in outputs if c + n <= m.context_length]
        if not shapes:
            raise InputError("prompt_tokens", f"prompt + output within {m.name}'s context of {m.context_length:,} "
                                              "tokens", f"{prompts} + {outputs}")
        cols, reasons = {}, []
        seconds = self.days * SECONDS_PER_DAY
        for hw in devices:
            if hw.memory_kind == "sram":
                raise InputError("hardware", "devices with off-chip memory (a wafer-scale engine is served in its "
                                             "own modes: mlsysim.WaferScaleModel)", hw.key)
            per_accelerator = self._cost_per_accelerator(hw)
            tps = [t for t in degrees if m.heads % t == 0 and t <= self.node_size]
            if not tps:
                reasons.append(f"{hw.key}: no tensor-parallel degree divides {m.name}'s {m.heads} heads")
                continue
            for prec in precisions:
                grid = np.array(list(itertools.product(tps, budgets, limits, range(len(shapes)),
                                                       range(len(ttfts)), range(len(tpots)))), dtype=float)
                tp, K, S = grid[:, 0:1], grid[:, 1:2], grid[:, 2:3]
                c = np.array([shapes[int(i)][0] for i in grid[:, 3]])[:, None]
                n = np.array([shapes[int(i)][1] for i in grid[:, 3]])[:, None]
                ttft = None if ttfts == [None] else np.array([ttfts[int(i)] for i in grid[:, 4]])[:, None]
                tpot = None if tpots == [None] else np.array([tpots[int(i)] for i in grid[:, 5]])[:, None]
                sched = _Schedule(m, hw, c, n, prec, tp, None, K, S, ttft, tpot, self.calibration)
                best, binding = sched.max_rate()
                replicas, served = replicas_needed(loads[None, :], best)
                rate = np.where(served, loads[None, :] / np.maximum(replicas, 1.0), best)
                values, ok = sched.evaluate(rate)
                why, feasible = sched.reasons(values, ok)
                reasons += [f"{hw.key} {prec}: {r}" for r in why]
                feasible = np.broadcast_to(feasible & served, rate.shape)
                nodes = fleet_nodes(replicas, tp, self.node_size)
                accelerators = nodes * self.node_size
                annual = accelerators * per_accelerator
                with np.errstate(divide="ignore", invalid="ignore"):
                    per_million = annual / (loads[None, :] * n * seconds) * 1e6
                shape = rate.shape
                block = {
                    "hardware": np.full(shape, hw.key, dtype=object), "precision": np.full(shape, prec, dtype=object),
                    "tensor_parallel": tp, "token_budget": K, "max_sequences": S, "prompt_tokens": c,
                    "output_tokens": n, "ttft_slo": np.nan if ttft is None else ttft,
                    "tpot_slo": np.nan if tpot is None else tpot, "load": loads[None, :],
                    "max_rate_per_replica": best, "rate_per_replica": rate, "binding": binding,
                    "replicas": replicas, "nodes": nodes, "accelerators": accelerators,
                    "tpot": values["tpot"], "ttft_p99": values["ttft_p99"],
                    "request_latency_p99": values["request_latency_p99"], "annual_cost_usd": annual,
                    "cost_per_million_tokens": np.where(feasible, per_million, np.inf), "feasible": feasible,
                }
                for name, value in block.items():
                    array = np.broadcast_to(np.asarray(value, dtype=object if name in ("hardware", "precision",
                                                                                      "binding") else float),
                                            shape).reshape(-1)
                    cols.setdefault(name, []).append(array)
        if not cols:
            raise InputError("hardware", f"at least one device that can hold {m.name}", [h.key for h in devices],
                             detail="; ".join(reasons))
        columns = {k: np.concatenate(v) for k, v in cols.items()}
        columns["feasible"] = columns["feasible"].astype(bool)
        for name in ("tensor_parallel", "token_budget", "max_sequences", "prompt_tokens", "output_tokens",
                     "replicas", "nodes", "accelerators"):
            columns[name] = columns[name].astype(float)
        return ServingSearchResult(columns, reasons, f"Serving {m.name}: cheapest feasible designs")


# ----------------------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------------------
class TrainingSearchResult(DesignSpaceResult):
    OBJECTIVES = ("days", "cost_usd", "co2_t")
    CONFIG = ("fleet", "tensor_parallel", "pipeline_parallel", "micro_batch_size", "virtual_stages", "zero_stage",
              "recompute", "region")
    SHOWN = (("fleet", "fleet", _text), ("accelerators", "GPUs", _int), ("tensor_parallel", "TP", _int),
             ("pipeline_parallel", "PP", _int), ("data_parallel", "DP", _int), ("micro_batch_size", "mb", _int),
             ("virtual_stages", "v", _int), ("zero_stage", "ZeRO", _int), ("recompute", "recompute", _text),
             ("region", "region", _text), ("memory_gb", "GB/GPU", lambda v: f"{float(v):.1f}"),
             ("mfu", "MFU", lambda v: f"{float(v):.1%}"), ("days", "days", lambda v: f"{float(v):.1f}"),
             ("cost_usd", "cost", _usd), ("co2_t", "t CO2e", lambda v: f"{float(v):,.0f}"))


class TrainingDesignSpace:
    """Every layout of a training run that the rules allow, on one or several fleets and regions.

    ``TrainingDesignSpace(calibration=None)``; :meth:`search` lays out the grid and runs
    :class:`~mlsysim.TrainingRun` on each group of it.
    """

    def __init__(self, calibration=None):
        self.calibration = resolve_calibration(calibration)

    def search(self, model, fleet, seq_len, global_batch_size, tokens=None, tp=(1, 2, 4, 8),
               pp=(1, 2, 4, 8, 16), micro_batch=(1, 2, 4), zero=(1,), recompute=("selective",), virtual=(1,),
               region="world", facility=None, pue=None, write_bandwidth=1e12, restart_time=600.0,
               mtbf_per_device=None) -> TrainingSearchResult:
        """``fleet``: a :class:`~mlsysim.Fleet` or a list of them (different systems or sizes);
        ``tp``, ``pp``, ``micro_batch``, ``virtual``: candidate degrees (combinations Megatron's rules
        reject are skipped, :func:`~mlsysim.solvers.training.search.valid_configurations`);
        ``zero``: ZeRO stages; ``recompute``: "none", "selective", "full"; ``region``: one grid or a
        list. The rest passes to :class:`~mlsysim.TrainingRun` (``tokens`` default: compute-optimal).

        Each configuration gets its step time, MFU, memory per device, wall-clock days with failures
        and checkpoints, dollars and CO2e; ``feasible`` is False where it does not fit in memory."""
        from mlsysim.solvers.fleet.carbon import CarbonModel
        from mlsysim.solvers.fleet.training_run import TrainingRun
        from mlsysim.solvers.training.search import valid_configurations
        from mlsysim.specs.resolve import resolve_model
        from mlsysim.systems.types import Fleet

        m = resolve_model(model)
        fleets = _values(fleet, "fleet")
        for f in fleets:
            if not isinstance(f, Fleet):
                raise InputError("fleet", "a mlsysim.Fleet or a list of them", type(f).__name__)
        regions = [str(r) for r in _values(region, "region")]
        modes = [str(r) for r in _values(recompute, "recompute")]
        stages = [int(z) for z in _numbers(zero, "zero", integer=True, minimum=-1)]
        grids = {"tensor": tuple(int(x) for x in _numbers(tp, "tp", integer=True)),
                 "pipeline": tuple(int(x) for x in _numbers(pp, "pp", integer=True)),
                 "micro": tuple(int(x) for x in _numbers(micro_batch, "micro_batch", integer=True)),
                 "virtual": tuple(int(x) for x in _numbers(virtual, "virtual", integer=True))}
        cols, reasons = {}, []
        for f in fleets:
            layouts = valid_configurations(m, f, int(global_batch_size), **grids)
            count = len(layouts["tensor_parallel"])
            if not count:
                reasons.append(f"{f.name}: no valid layout of {m.name} for a batch of {global_batch_size}")
                continue
            tiled = {k: np.tile(v, len(stages)) for k, v in layouts.items()}
            zero_stage = np.repeat(np.array(stages, dtype=float), count)
            for mode in modes:
                run = TrainingRun().solve(m, f, seq_len, global_batch_size, tokens=tokens, region=regions[0],
                                          facility=facility, pue=pue, write_bandwidth=write_bandwidth,
                                          restart_time=restart_time, mtbf_per_device=mtbf_per_device,
                                          calibration=self.calibration, recompute=mode, zero_stage=zero_stage,
                                          **tiled)
                step = run.parts["step"]
                shape = zero_stage.shape
                feasible = np.broadcast_to(np.asarray(run.feasible, dtype=bool), shape)
                reasons += [f"{f.name}, {mode}: {r}" for r in run.reasons]
                common = {"step_time": step.step_time.to("s").magnitude, "mfu": step.mfu.to("").magnitude,
                          "memory_gb": step.memory_per_device.to("GB").magnitude,
                          "days": run.wall_clock_time.to("day").magnitude, "cost_usd": run.cost_usd}
                for grid in regions:
                    # the region changes only the carbon of the same energy: weigh the run's wall-clock
                    # time on each grid with CarbonModel, exactly as TrainingRun does for its region
                    carbon = run.parts["carbon"] if grid == regions[0] else CarbonModel().solve(
                        f, run.wall_clock_time, region=grid, pue=pue, facility=facility,
                        power_fraction=self.calibration.training_power_fraction, calibration=self.calibration)
                    self._collect(cols, f, grid, mode, zero_stage, tiled, common, carbon, feasible, shape)
        if not cols:
            raise InputError("fleet", f"a fleet with at least one valid layout of {m.name}", [f.name for f in fleets],
                             detail="; ".join(reasons))
        columns = {k: np.concatenate(v) for k, v in cols.items()}
        columns["feasible"] = columns["feasible"].astype(bool)
        for name in ("days", "cost_usd", "co2_t"):
            columns[name] = np.where(columns["feasible"], columns[name], np.inf)
        return TrainingSearchResult(columns, reasons, f"Training {m.name}: fastest feasible layouts")

    @staticmethod
    def _collect(cols, f, grid, mode, zero_stage, tiled, common, carbon, feasible, shape):
        """Append one (fleet, recomputation, region) group's rows to the columns."""
        block = {
            "fleet": np.full(shape, f.name, dtype=object), "nodes": np.full(shape, float(f.count)),
            "accelerators": np.full(shape, float(f.total_accelerators)),
            "region": np.full(shape, grid, dtype=object), "recompute": np.full(shape, mode, dtype=object),
            "zero_stage": zero_stage, **tiled, **common,
            "co2_t": carbon.total_co2_kg / 1e3, "energy_mwh": carbon.energy_kwh / 1e3, "feasible": feasible,
        }
        for name, value in block.items():
            kind = object if name in ("fleet", "region", "recompute") else float
            cols.setdefault(name, []).append(np.broadcast_to(np.asarray(value, dtype=kind), shape).ravel())
