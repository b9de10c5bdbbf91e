"""Benchmark: import time, one ServingModel solve, and a one-million-point sweep;
one TrainingModel solve and a one-million-configuration training sweep; 10,000 Monte Carlo draws
of a serving and a training solve; one-million-configuration serving and training design spaces.

    python benchmarks/bench.py

Budgets (issue: engine core): import <= 0.3 s, one solve <= 50 us, a
1,000,000-point sweep through ServingModel <= 1 s. Training (issue 8): one
TrainingModel solve <= 100 us, a 1,000,000-configuration sweep (tensor, pipeline,
micro-batch and sequence length drawn at random on 1,024 H100s) <= 2 s. Decisions (issue 10):
10,000 calibration draws of a serving or training solve well under 1 s; design spaces of about a
million configurations in a few seconds (budget 5 s). Each figure is
the best of several runs, so background noise inflates it as little as possible.
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

    fleet = mlsysim.Fleet.from_system("DGX_H100", 128)
    training = mlsysim.TrainingModel()
    training.solve(model, fleet, 4096, 1024, tensor_parallel=8, pipeline_parallel=4)
    number = 1000
    one_training = min(timeit.repeat(lambda: training.solve(model, fleet, 4096, 1024, tensor_parallel=8,
                                                            pipeline_parallel=4), number=number, repeat=5)) / number
    tp, pp = rng.choice([1, 2, 4, 8], n), rng.choice([1, 2, 4, 8], n)
    mbs, seq_t = rng.choice([1, 2, 4], n), rng.choice([2048, 4096, 8192], n)
    training_sweep = min(timeit.repeat(lambda: training.solve(model, fleet, seq_t, 4096, micro_batch_size=mbs,
                                                              tensor_parallel=tp, pipeline_parallel=pp),
                                       number=1, repeat=3))
    assert training.solve(model, fleet, seq_t, 4096, micro_batch_size=mbs, tensor_parallel=tp,
                          pipeline_parallel=pp).step_time.shape == (n,)

    # -- decisions: uncertainty (10,000 draws) and design spaces (about 10^6 configurations) ------
    from mlsysim import sensitivity

    def best(fn, repeat=3):
        return min(timeit.repeat(fn, number=1, repeat=repeat))

    schedule = mlsysim.ServingScheduleModel()
    serving_draws = best(lambda: sensitivity.uncertainty(
        lambda c: schedule.solve(model, hw, 5.0, tensor_parallel=4, ttft_slo=2.0, tpot_slo=0.05, calibration=c),
        "tpot", n=10_000))
    fleet_model = mlsysim.ServingFleetModel()
    fleet_draws = best(lambda: sensitivity.uncertainty(
        lambda c: fleet_model.solve(model, hw, 1000, tensor_parallel=4, precision="fp8", ttft_slo=2.0,
                                    tpot_slo=0.05, token_budget=2048, calibration=c), "accelerators", n=10_000))
    tuned_draws = best(lambda: sensitivity.uncertainty(
        lambda c: fleet_model.solve(model, hw, 1000, tensor_parallel=4, precision="fp8", ttft_slo=2.0,
                                    tpot_slo=0.05, calibration=c), "accelerators", n=10_000), repeat=1)
    run = mlsysim.TrainingRun()
    training_draws = best(lambda: sensitivity.uncertainty(
        lambda c: run.solve(model, fleet, 4096, 1024, tokens=15e12, write_bandwidth=1e12, tensor_parallel=8,
                            pipeline_parallel=4, calibration=c), "cost_usd", n=10_000))

    space = mlsysim.ServingDesignSpace()
    serving_grid = dict(hardware=["H100", "H200", "B200", "A100", "MI300X"], precision=["fp16", "fp8"],
                        tensor_parallel=[1, 2, 4, 8], load=list(np.geomspace(1, 3000, 40)), ttft_slo=2.0,
                        tpot_slo=0.05, max_sequences=[64, 128, 256, 512], prompt_tokens=[128, 512, 1024, 2048, 4096],
                        output_tokens=[64, 128, 256, 512, 1024])
    serving_space = space.search(model, **serving_grid)
    serving_space_time = best(lambda: space.search(model, **serving_grid), repeat=2)

    from mlsysim.specs.carbon import grid_regions

    systems = ("DGX_A100", "DGX_H100", "DGX_H200", "DGX_B200")
    fleets = [mlsysim.Fleet.from_system(s, n, name=f"{n} x {s}") for s in systems
              for n in (16, 32, 64, 128, 256, 512, 1024, 2048, 4096)]
    training_grid = dict(tp=(1, 2, 4, 8), pp=(1, 2, 4, 5, 8, 10, 16, 20, 40, 80), micro_batch=(1, 2, 4, 8, 16, 32),
                         virtual=(1, 2, 4, 5), zero=(0, 1, 2, 3), recompute=("none", "selective", "full"),
                         region=list(grid_regions()), tokens=15e12)
    tspace = mlsysim.TrainingDesignSpace()
    training_space = tspace.search(model, fleets, 4096, 1024, **training_grid)
    training_space_time = best(lambda: tspace.search(model, fleets, 4096, 1024, **training_grid), repeat=2)

    rows = [("import mlsysim", import_time(), 0.3, "s"),
            ("import + first solve (loads pint, data)", import_time(3, COLD_SOLVE), float("inf"), "s"),
            ("one ServingModel.solve", one * 1e6, 50, "us"),
            ("1,000,000-point ServingModel sweep", sweep, 1.0, "s"),
            ("one TrainingModel.solve", one_training * 1e6, 100, "us"),
            ("1,000,000-config TrainingModel sweep", training_sweep, 2.0, "s"),
            ("10,000 draws: ServingScheduleModel.solve", serving_draws, 1.0, "s"),
            ("10,000 draws: ServingFleetModel (budget 2,048)", fleet_draws, 1.0, "s"),
            ("10,000 draws: ServingFleetModel (tuned budget)", tuned_draws, float("inf"), "s"),
            ("10,000 draws: TrainingRun.solve", training_draws, 1.0, "s"),
            (f"ServingDesignSpace, {len(serving_space):,} configs", serving_space_time, 5.0, "s"),
            (f"TrainingDesignSpace, {len(training_space):,} configs", training_space_time, 5.0, "s")]
    print(f"{'benchmark':<48}{'measured':>12}{'budget':>10}")
    for name, value, budget, unit in rows:
        flag = "" if value <= budget else "  OVER BUDGET"
        print(f"{name:<48}{value:>10.3g} {unit:<2}{budget:>7g} {unit}{flag}")


if __name__ == "__main__":
    main()
