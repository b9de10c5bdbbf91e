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
    assert p.returncode == 3 and "needs" in p.stderr and "has 80 GB" in p.stderr


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
