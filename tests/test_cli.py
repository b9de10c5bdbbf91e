"""The mlsysim command line: output, JSON and exit codes, no tracebacks."""
import json
import subprocess
import sys

import pytest


def run(*args):
    return subprocess.run([sys.executable, "-m", "mlsysim", *args], capture_output=True, text=True)


def test_eval_feasible_table():
    p = run("eval", "Llama3_70B", "H100", "--tp", "2", "--seq-len", "4096")
    assert p.returncode == 0, p.stderr
    assert "Time to first token" in p.stdout and "Feasible" in p.stdout


def test_eval_json():
    p = run("eval", "Llama3_8B", "H100", "--json")
    data = json.loads(p.stdout)
    assert p.returncode == 0 and data["model"] == "Llama3_8B" and data["itl"]["unit"] == "ms"


def test_eval_infeasible_exits_3_with_reason():
    p = run("eval", "GPT4", "H100")
    assert p.returncode == 3 and "needs" in p.stderr and "77.0 GB usable" in p.stderr


@pytest.mark.parametrize("args, needle", [
    (("eval", "Llama3_75B", "H100"), "did you mean Llama3_70B"),
    (("eval", "Llama3_8B", "H10"), "did you mean H100"),
    (("eval", "Llama3_8B", "H100", "--precision", "fp7"), "precision"),
    (("eval", "Llama3_8B", "H100", "--batch-size", "0"), "batch_size"),
    (("eval", "Llama3_8B"), "usage"),
    (("zoo", "gpus"), "invalid choice"),
])
def test_user_errors_exit_2_without_traceback(args, needle):
    p = run(*args)
    assert p.returncode == 2
    assert needle in p.stderr and "Traceback" not in p.stderr


def test_zoo_lists_catalogues():
    models = run("zoo", "models")
    hardware = run("zoo", "hardware", "--json")
    assert models.returncode == 0 and "Llama3_405B" in models.stdout
    assert any(row["key"] == "H100" for row in json.loads(hardware.stdout))


def test_version():
    p = run("--version")
    assert p.returncode == 0 and p.stdout.startswith("mlsysim ") and any(c.isdigit() for c in p.stdout)


def test_infeasible_table_says_so_before_any_figure():
    p = run("eval", "Llama3_405B", "H100", "--seq-len", "4096")
    lines = p.stdout.splitlines()
    assert p.returncode == 3 and lines[1].strip().startswith("INFEASIBLE: memory: needs")
    ttft = next(l for l in lines if "Time to first token" in l)
    memory = next(l for l in lines if "Share of usable memory" in l)
    assert ttft.endswith("(if it fit)") and "does not fit" in memory


def test_feasible_table_has_no_caveats():
    p = run("eval", "Llama3_8B", "H100")
    assert p.returncode == 0 and "INFEASIBLE" not in p.stdout and "(if it fit)" not in p.stdout


def test_tp_must_divide_the_heads():
    p = run("eval", "Llama3_70B", "H100", "--tp", "3")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "--tp" in p.stderr and "64 attention heads" in p.stderr and "got 3" in p.stderr


def test_zoo_prints_parameter_counts_as_people_write_them():
    p = run("zoo", "models")
    rows = {line.split()[0]: line for line in p.stdout.splitlines()[2:]}
    assert " 1.8T " in rows["GPT4"] and " 25.6M " in rows["ResNet50"] and " 70.6B " in rows["Llama3_70B"]
    assert "e+" not in p.stdout


def test_sweep_reason_names_the_points():
    import numpy as np
    import mlsysim
    r = mlsysim.ServingModel().solve("Llama3_70B", "H100", seq_len=np.array([1024, 8192, 131072, 262144]),
                                     batch_size=8, tensor_parallel=4)
    context = next(x for x in r.reasons if x.startswith("context"))
    assert context.endswith("at 2 of 4 points (indices 2, 3)"), context
