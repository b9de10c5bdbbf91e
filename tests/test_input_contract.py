"""The input contract of every solver, parameter by parameter (DESIGN.md, "Bad input"):

- a Quantity in another unit of the right dimension gives exactly the answer of the plain number
  in the documented unit (10 minutes of restart = 600 s);
- a Quantity of the wrong dimension, and a value out of range, raise an InputError that names
  the parameter;
- where zero is allowed (or a maximum stated), the bound is where the docstring says.

The mutation run found these missing: without them a solver could check one parameter under
another's name, or in the wrong unit, and every other test would pass.
"""
import numpy as np
import pytest

import mlsysim
from mlsysim import Q_
from mlsysim.errors import InputError

FLEET = mlsysim.Fleet("f", mlsysim.Node("n", "H100", 8), count=2)
DGX = mlsysim.Fleet.from_system("DGX_H100", 2)


def serving(**kw):
    return mlsysim.ServingModel().solve(**{"model": "Llama3_8B", "hardware": "H100", "seq_len": 512, **kw})


def latency(**kw):
    return mlsysim.RequestLatencyModel().solve(**{"model": "Llama3_8B", "hardware": "H100", "prompt_tokens": 512,
                                                  "output_tokens": 64, **kw})


def balance(**kw):
    return mlsysim.RequestLatencyModel().balance_prompt(**{"model": "Llama3_8B", "hardware": "H100", "output_tokens": 64,
                                                           "max_prompt": 3000, **kw})


def reasoning(**kw):
    return mlsysim.InferenceScalingModel().solve(**{"model": "Llama3_8B", "hardware": "H100", "reasoning_steps": 2,
                                                    "context_length": 500, "tokens_per_step": 20, **kw})


def capacity(**kw):
    return mlsysim.CapacityModel().solve(**{"model": "Llama3_8B", "hardware": "H100", "context_lengths": 2048, **kw})


def schedule(**kw):
    return mlsysim.ServingScheduleModel().solve(**{"model": "Llama3_8B", "hardware": "H100", "arrival_rate": 2.0,
                                                   "prompt_tokens": 256, "output_tokens": 64, **kw})


def fleet_plan(**kw):
    return mlsysim.ServingFleetModel().solve(**{"model": "Llama3_8B", "hardware": "H100", "load": 20.0,
                                                "prompt_tokens": 256, "output_tokens": 64, "token_budget": 2048, **kw})


def batching(**kw):
    return mlsysim.BatchingModel().solve(**{"model": "ResNet50", "hardware": "H100", "arrival_rate": 100.0,
                                            "batch_size": 8, **kw})


def economics(**kw):
    return mlsysim.EconomicsModel().solve(**{"fleet": FLEET, "duration_days": 30, **kw})


def carbon(**kw):
    return mlsysim.CarbonModel().solve(**{"fleet": FLEET, "duration": 86400.0, "region": "france", **kw})


def reliability(**kw):
    return mlsysim.ReliabilityModel().solve(**{"fleet": 1024, "duration": 86400.0 * 10, "checkpoint_bytes": 1e12,
                                               "write_bandwidth": 1e10, **kw})


def pipeline(**kw):
    return mlsysim.DataPipelineModel().solve(**{"workload": 2000.0, "storage_bandwidth": 2e9, "cpu_cores": 8, **kw})


def budget(**kw):
    return mlsysim.ComputeBudgetModel().solve(**kw)


def training(**kw):
    return mlsysim.TrainingModel().solve(**{"model": "Llama3_8B", "fleet": DGX, "seq_len": 2048,
                                            "global_batch_size": 64, **kw})


def training_memory(**kw):
    return mlsysim.TrainingMemoryModel().solve(**{"model": "Llama3_8B", "hardware": "H100", "seq_len": 2048, **kw})


#: (solver, parameter, plain number in the documented unit, the same as a Quantity in another unit,
#:  a Quantity of the wrong dimension)
SAME_VALUE = [
    (serving, "seq_len", 1000, Q_(1, "ktoken"), Q_(1, "s")),
    (latency, "prompt_tokens", 1000, Q_(1, "ktoken"), Q_(1, "s")),
    (latency, "output_tokens", 2000, Q_(2, "ktoken"), Q_(1, "GB")),
    (latency, "ttft_slo", 0.05, Q_(50, "ms"), Q_(1, "GB")),
    (latency, "tpot_slo", 0.01, Q_(10, "ms"), Q_(1, "GB")),
    (balance, "output_tokens", 256, Q_(0.256, "ktoken"), Q_(1, "s")),
    (balance, "max_prompt", 3000, Q_(3, "ktoken"), Q_(1, "s")),
    (reasoning, "context_length", 1000, Q_(1, "ktoken"), Q_(1, "s")),
    (reasoning, "tokens_per_step", 1000, Q_(1, "ktoken"), Q_(1, "s")),
    (capacity, "context_lengths", 1000, Q_(1, "ktoken"), Q_(1, "s")),
    (capacity, "block_size", 32, Q_(32, "token"), Q_(1, "s")),
    (capacity, "max_context", 4000, Q_(4, "ktoken"), Q_(1, "s")),
    (schedule, "arrival_rate", 2.0, Q_(120, "1/minute"), Q_(1, "s")),
    (schedule, "prompt_tokens", 1000, Q_(1, "ktoken"), Q_(1, "s")),
    (schedule, "output_tokens", 100, Q_(0.1, "ktoken"), Q_(1, "s")),
    (schedule, "token_budget", 1000, Q_(1, "ktoken"), Q_(1, "s")),
    (schedule, "ttft_slo", 0.5, Q_(500, "ms"), Q_(1, "GB")),
    (schedule, "tpot_slo", 0.05, Q_(50, "ms"), Q_(1, "GB")),
    (fleet_plan, "load", 20.0, Q_(1200, "1/minute"), Q_(1, "s")),
    (fleet_plan, "ttft_slo", 0.5, Q_(500, "ms"), Q_(1, "GB")),
    (fleet_plan, "tpot_slo", 0.05, Q_(50, "ms"), Q_(1, "GB")),
    (batching, "arrival_rate", 100.0, Q_(6000, "1/minute"), Q_(1, "s")),
    (economics, "duration_days", 30, Q_(720, "hour"), Q_(1, "GB")),
    (economics, "electricity_price", 0.1, Q_(100, "USD/MWh"), Q_(1, "GB")),
    (economics, "amortization_years", 4, Q_(48, "month"), Q_(1, "GB")),
    (economics, "unit_price", 30000, Q_(30, "kUSD"), Q_(1, "GB")),
    (carbon, "duration", 86400.0, Q_(1, "day"), Q_(1, "GB")),
    (carbon, "host_power", 500.0, Q_(0.5, "kW"), Q_(1, "GB")),
    (carbon, "embodied_accelerator_kg", 150.0, Q_(0.15, "t"), Q_(1, "GB")),
    (carbon, "embodied_server_kg", 2500.0, Q_(2.5, "t"), Q_(1, "GB")),
    (carbon, "life_years", 5, Q_(60, "month"), Q_(1, "GB")),
    (reliability, "duration", 864000.0, Q_(10, "day"), Q_(1, "GB")),
    (reliability, "checkpoint_bytes", 1e12, Q_(1, "TB"), Q_(1, "s")),
    (reliability, "write_bandwidth", 1e10, Q_(10, "GB/s"), Q_(1, "s")),
    (reliability, "restart_time", 600.0, Q_(10, "minute"), Q_(1, "GB")),
    (reliability, "mtbf_per_device", 3.6e7, Q_(1e4, "hour"), Q_(1, "GB")),
    (reliability, "failures_per_day", 24.0, Q_(1, "1/hour"), Q_(1, "GB")),
    (reliability, "interval", 600.0, Q_(10, "minute"), Q_(1, "GB")),
    (pipeline, "workload", 2000.0, Q_(120_000, "1/minute"), Q_(1, "GB")),
    (pipeline, "storage_bandwidth", 2e9, Q_(2, "GB/s"), Q_(1, "s")),
    (pipeline, "network_bandwidth", 1e9, Q_(8, "Gbit/s"), Q_(1, "s")),
    (pipeline, "per_core_rate", 500.0, Q_(30_000, "1/minute"), Q_(1, "GB")),
    (pipeline, "bytes_per_sample", 1e5, Q_(100, "kB"), Q_(1, "s")),
    (pipeline, "device_bytes_per_sample", 6e5, Q_(600, "kB"), Q_(1, "s")),
    (pipeline, "pcie_bandwidth", 2.5e10, Q_(25, "GB/s"), Q_(1, "s")),
    (budget, "compute_flops", 1e24, Q_(1e9, "PFLOP"), Q_(1, "s")),
    (budget, "parameters", 7e9, Q_(7, "Gcount"), Q_(1, "s")),
    (budget, "tokens", 2e12, Q_(2, "Ttoken"), Q_(1, "s")),
    (training_memory, "seq_len", 4096, Q_(4.096, "ktoken"), Q_(1, "s")),
]


def _same(a, b):
    da, db = a.to_dict(), b.to_dict()
    assert da.keys() == db.keys()
    for key in da:
        x, y = da[key], db[key]
        if isinstance(x, dict) and "value" in x:
            assert x["unit"] == y["unit"], key
            np.testing.assert_allclose(x["value"], y["value"], rtol=1e-12, err_msg=key)
        else:
            assert x == y, key


@pytest.mark.parametrize("solve, parameter, plain, quantity, wrong", SAME_VALUE,
                         ids=[f"{s.__name__}-{p}" for s, p, *_ in SAME_VALUE])
def test_a_quantity_in_another_unit_means_the_same(solve, parameter, plain, quantity, wrong):
    _same(solve(**{parameter: plain}), solve(**{parameter: quantity}))
    with pytest.raises(InputError) as info:
        solve(**{parameter: wrong})
    assert info.value.parameter == parameter


#: (solver, parameter, a value out of range)
OUT_OF_RANGE = [
    (serving, "tensor_parallel", 0), (serving, "batch_size", 1.5), (serving, "seq_len", -1),
    (latency, "output_tokens", 1), (latency, "batch_size", 0), (latency, "ttft_slo", -0.1), (latency, "tpot_slo", 0),
    (balance, "output_tokens", 1), (balance, "output_tokens", 2.5), (balance, "batch_size", 0),
    (balance, "batch_size", 1.5), (balance, "max_prompt", 0), (balance, "max_prompt", 100.5),
    (balance, "tensor_parallel", np.array([1, 2])), (balance, "batch_size", np.array([1, 2])),
    (balance, "max_prompt", np.array([10, 20])),
    (reasoning, "reasoning_steps", 0), (reasoning, "batch_size", 2.5), (reasoning, "tokens_per_step", 0),
    (capacity, "block_size", 0), (capacity, "max_context", 0), (capacity, "context_lengths", np.array([[1, 2]])),
    (capacity, "allocation", "buddy"),
    (schedule, "arrival_rate", -1.0), (schedule, "max_sequences", 0), (schedule, "token_budget", "large"),
    (fleet_plan, "load", 0), (fleet_plan, "pue", 0.9), (fleet_plan, "prefill", "split"),
    (fleet_plan, "tensor_parallel", np.array([1, 2])),
    (batching, "arrival_rate", 0), (batching, "batch_size", 0), (batching, "policy", "continuous"),
    (economics, "electricity_price", 0), (economics, "maintenance_fraction", 1.5), (economics, "power_fraction", 1.2),
    (economics, "pue", 0.95), (economics, "amortization_years", 0), (economics, "unit_price", -1),
    (carbon, "pue", 0.9), (carbon, "power_fraction", 1.5), (carbon, "host_power", -1), (carbon, "region", "atlantis"),
    (carbon, "facility", "igloo"), (carbon, "life_years", 0), (carbon, "duration", None),
    (reliability, "write_bandwidth", None), (reliability, "restart_time", -1), (reliability, "interval", "often"),
    (reliability, "failures_per_day", 0), (reliability, "mtbf_per_device", 0), (reliability, "fleet", 0.5),
    (pipeline, "target_utilization", 1.5), (pipeline, "cpu_cores", 0), (pipeline, "batch_size", 0),
    (pipeline, "prefetch", "yes"), (pipeline, "storage_bandwidth", None), (pipeline, "cpu_cores", None),
    (pipeline, "dataset", "laion"),
    (training, "tensor_parallel", 3), (training, "global_batch_size", 63), (training, "micro_batch_size", 0),
    (training, "pipeline_parallel", 0), (training, "overlap_data_parallel", "yes"),
    (training_memory, "zero_stage", 4), (training_memory, "recompute", "some"), (training_memory, "precision", "fp8"),
    (training_memory, "optimizer", "lion"), (training_memory, "sequence_parallel", 1),
    (training_memory, "flash_attention", "yes"), (training_memory, "micro_batch_size", 0),
]


@pytest.mark.parametrize("solve, parameter, bad", OUT_OF_RANGE,
                         ids=[f"{s.__name__}-{p}-{b!r}" for s, p, b in OUT_OF_RANGE])
def test_a_value_out_of_range_names_its_parameter(solve, parameter, bad):
    with pytest.raises(InputError) as info:
        solve(**{parameter: bad})
    assert info.value.parameter == parameter
    assert f"'{parameter}'" in str(info.value)


#: (solver, parameter, the bound itself, which the docstring allows)
AT_THE_BOUND = [
    (balance, "output_tokens", 2), (latency, "output_tokens", 2),
    (schedule, "arrival_rate", 0.0), (carbon, "host_power", 0.0), (carbon, "pue", 1.0), (fleet_plan, "pue", 1.0),
    (economics, "power_fraction", 1.0), (economics, "maintenance_fraction", 1.0), (economics, "pue", 1.0),
    (reliability, "restart_time", 0.0), (pipeline, "target_utilization", 1.0), (carbon, "embodied_server_kg", 0.0),
    (carbon, "embodied_accelerator_kg", 0.0), (training_memory, "zero_stage", 3), (training_memory, "zero_stage", 0),
]


@pytest.mark.parametrize("solve, parameter, value", AT_THE_BOUND,
                         ids=[f"{s.__name__}-{p}-{v!r}" for s, p, v in AT_THE_BOUND])
def test_the_bound_itself_is_allowed(solve, parameter, value):
    assert solve(**{parameter: value}) is not None


def test_balance_prompt_uses_every_argument():
    # the balance prompt at fp8 KV cache, a batch of 4 on 2 GPUs and round factors is the prompt at which
    # RequestLatencyModel with the same arguments has TTFT >= decode time, and the prompt before it has not
    from test_solvers import ROUND
    kw = dict(precision="fp8", tensor_parallel=2, batch_size=4, kv_precision="fp8", calibration=ROUND)
    r = mlsysim.RequestLatencyModel().balance_prompt("Llama3_8B", "H100", 64, **kw)
    c = int(r.prompt_tokens.to("token").m)
    at = mlsysim.RequestLatencyModel().solve("Llama3_8B", "H100", c, 64, **kw)
    before = mlsysim.RequestLatencyModel().solve("Llama3_8B", "H100", c - 1, 64, **kw)
    assert at.ttft >= at.decode_time and before.ttft < before.decode_time
    assert r.ttft == at.ttft and r.decode_time == at.decode_time and r.feasible
    # each argument moves the answer
    for change in (dict(precision="fp16"), dict(tensor_parallel=1), dict(batch_size=1), dict(kv_precision="fp16"),
                   dict(calibration=None)):
        other = mlsysim.RequestLatencyModel().balance_prompt("Llama3_8B", "H100", 64, **{**kw, **change})
        assert other.ttft != r.ttft or other.prompt_tokens != r.prompt_tokens, change
    # no prompt up to max_prompt balances a long output: the result at max_prompt, infeasible, says so
    none = mlsysim.RequestLatencyModel().balance_prompt("Llama3_8B", "H100", 4000, max_prompt=50)
    assert not none.feasible and none.prompt_tokens.to("token").m == 50
    assert "balance: no prompt up to 50 tokens makes the prefill as long as the decode" in none.reasons[-1]
    # by default every prompt up to the context length less the output is tried (8,192 - 64)
    default = mlsysim.RequestLatencyModel().balance_prompt("Llama3_8B", "H100", 8000)
    assert not default.feasible and default.prompt_tokens.to("token").m == 8192 - 8000
