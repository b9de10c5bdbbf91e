"""Benchmark: import time, one ServingModel solve, and a one-million-point sweep.

    python benchmarks/bench.py

Budgets (issue: engine core): import <= 0.3 s, one solve <= 50 us, a
1,000,000-point sweep through ServingModel <= 1 s. Each figure is the best of
several runs, so background noise inflates it as little as possible.
"""
from __future__ import annotations

import subprocess
import sys
import timeit

import numpy as np


COLD_SOLVE = ("import mlsysim; mlsysim.ServingModel().solve(mlsysim.Models.Llama3_70B, "
              "mlsysim.Hardware.Cloud.H100, 2048, tensor_parallel=4)")


def import_time(runs: int = 7, statement: str = "import mlsysim") -> float:
    """Best wall time of ``statement`` in a fresh interpreter."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
             for _ in range(runs)]
    return min(times)


def main() -> None:
    import mlsysim

    model, hw = mlsysim.Models.Llama3_70B, mlsysim.Hardware.Cloud.H100
    serving = mlsysim.ServingModel()
    serving.solve(model, hw, 2048, tensor_parallel=4)  # warm: loads pint and the catalogues

    number = 2000
    one = min(timeit.repeat(lambda: serving.solve(model, hw, 2048, batch_size=8, tensor_parallel=4),
                            number=number, repeat=5)) / number

    rng = np.random.default_rng(0)
    n = 1_000_000
    seq = rng.integers(128, 8192, n)
    batch = rng.integers(1, 256, n)
    sweep = min(timeit.repeat(lambda: serving.solve(model, hw, seq, batch_size=batch, tensor_parallel=8),
                              number=1, repeat=3))
    result = serving.solve(model, hw, seq, batch_size=batch, tensor_parallel=8)
    assert result.itl.shape == (n,)

    rows = [("import mlsysim", import_time(), 0.3, "s"),
            ("import + first solve (loads pint, data)", import_time(3, COLD_SOLVE), float("inf"), "s"),
            ("one ServingModel.solve", one * 1e6, 50, "us"),
            ("1,000,000-point ServingModel sweep", sweep, 1.0, "s")]
    print(f"{'benchmark':<42}{'measured':>12}{'budget':>10}")
    for name, value, budget, unit in rows:
        flag = "" if value <= budget else "  OVER BUDGET"
        print(f"{name:<42}{value:>10.3g} {unit:<2}{budget:>7g} {unit}{flag}")


if __name__ == "__main__":
    main()
