"""Apply, one at a time, the deliberate bugs of issue 14 (and a few more of the same kind) and
say which tests catch each. A bug that no test catches is a hole in the suite.

    .venv/bin/python scripts/deliberate_bugs.py            # every bug, engine tests
    .venv/bin/python scripts/deliberate_bugs.py moe mla    # only bugs whose name contains a word

Each bug is one textual replacement in one file; the file is restored afterwards (also on
Ctrl-C). Engine bugs run the engine tests (tests/, without tests/book); booktools bugs run the
tests named with them. Exit status 1 when any bug survives.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ["tests", "--ignore=tests/book"]

#: (name, file, old text, new text, tests to run (None: the engine tests), what it does to the book)
BUGS = [
    ("moe-flops-total-parameters", "mlsysim/solvers/serving.py",
     'tf.linear_flops(self.model.si["active_parameters"], tokens)', 'tf.linear_flops(self.model.si["parameters"], tokens)',
     None, "MoE prefill and decode FLOPs use all parameters, not the active ones (Mixtral TTFT 3x)"),
    ("moe-engine-flops-total-parameters", "mlsysim/solvers/engine.py",
     'tf.linear_flops(m.si["active_parameters"], tokens)', 'tf.linear_flops(m.si["parameters"], tokens)',
     None, "Engine: an MoE forward pass computes with all parameters"),
    ("moe-training-flops-all-experts", "mlsysim/solvers/training/model.py",
     "plan.capacity_factor * plan.active_experts_per_layer", "plan.capacity_factor * plan.experts_per_layer",
     None, "TrainingModel: an MoE layer computes with every expert"),
    ("mla-latent-kv-doubled", "mlsysim/solvers/_common.py",
     "tf.kv_latent_bytes_per_token(m.layers, m.kv_latent_dim, b)", "2 * tf.kv_latent_bytes_per_token(m.layers, m.kv_latent_dim, b)",
     None, "DeepSeek-V3's latent KV cache doubled"),
    ("mla-physics-doubled", "mlsysim/physics/transformer.py",
     "return layers * latent_dim * bytes_per_element", "return 2 * layers * latent_dim * bytes_per_element",
     None, "the latent KV equation doubled"),
    ("carbon-tonnes-in-kg", "mlsysim/solvers/economics.py",
     'values["carbon_tonnes"] = footprint.operational_co2_kg / 1e3', 'values["carbon_tonnes"] = footprint.operational_co2_kg',
     None, "EconomicsModel reports kilograms as tonnes (1000x)"),
    ("carbon-kg-in-grams", "mlsysim/solvers/fleet/carbon.py",
     "operational = carbon(facility_kwh * JOULES_PER_KWH, grid.intensity) / 1e3",
     "operational = carbon(facility_kwh * JOULES_PER_KWH, grid.intensity)",
     None, "CarbonModel reports grams as kilograms (1000x)"),
    ("engine-energy-no-power-fraction", "mlsysim/solvers/engine.py",
     'energy(it_power(1, h.si["tdp"], cal.serving_power_fraction, 0.0), latency)',
     'energy(it_power(1, h.si["tdp"], 1.0, 0.0), latency)',
     None, "Engine energy at full TDP, ignoring the power fraction"),
    ("replica-power-one-device", "mlsysim/solvers/serving.py",
     'return it_power(self.tp, self.hardware.si["tdp"]', 'return it_power(1, self.hardware.si["tdp"]',
     None, "reasoning energy and the schedule's replica power ignore the tensor-parallel device count"),
    ("fleet-power-no-pue", "mlsysim/solvers/schedule.py",
     "facility_power = facility_energy(it_power(accelerators", "facility_power = (lambda w, pue: w)(it_power(accelerators",
     None, "a serving fleet's facility power forgets the PUE"),
    ("decode-kv-reads-one-sequence", "mlsysim/solvers/serving.py",
     "a_c, a_m = self.attention_terms(batch_size, 1.0, batch_size)", "a_c, a_m = self.attention_terms(batch_size, 1.0, 1.0)",
     None, "a decode step reads one sequence's KV cache whatever the batch"),
    ("training-bubble-p-not-p-minus-1", "mlsysim/physics/training.py",
     "return (pipeline_parallel - 1) / (virtual_stages * microbatches)",
     "return pipeline_parallel / (virtual_stages * microbatches)",
     None, "pipeline bubble p / (v m) instead of (p - 1) / (v m)"),
    ("training-dp-whole-model", "mlsysim/solvers/training/model.py",
     "dense_grad = reduce_bytes * plan.dense_params", "dense_grad = reduce_bytes * plan.dense_params * t * p",
     None, "data-parallel gradients of the whole model, not one TP x PP shard"),
    ("training-moe-one-all-to-all", "mlsysim/solvers/training/model.py",
     "ep_fwd = 2 * a2a", "ep_fwd = a2a",
     None, "one all-to-all per MoE layer forward, not two"),
    ("reliability-rework-whole-interval", "mlsysim/physics/reliability.py",
     "return interval / (2.0 * mtbf)", "return interval / mtbf",
     None, "rework tau / M instead of tau / (2 M)"),
    ("carbon-embodied-no-life", "mlsysim/physics/carbon.py",
     "return amortized_capex(embodied_kg, life_years, days)", "return amortized_capex(embodied_kg, 1.0, days)",
     None, "embodied carbon not spread over the hardware's life"),
    ("pipeline-no-prefetch-overlap", "mlsysim/solvers/fleet/pipeline.py",
     "step = pp.overlapped_step(*parts) if prefetch else pp.sequential_step(*parts)",
     "step = pp.sequential_step(*parts)",
     None, "prefetching stages add up instead of overlapping"),
    ("budget-2nd", "mlsysim/solvers/training/budget.py",
     "c = tr.training_flops(n, d)", "c = 2 * n * d",
     None, "C = 2 N D instead of 6 N D"),
]


def run_tests(tests) -> tuple[int, list[str]]:
    cmd = [sys.executable, "-m", "pytest", "-q", "--tb=no", "-rf", "-p", "no:cacheprovider",
           "--maxfail=50", *(tests or ENGINE)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    failed = re.findall(r"^FAILED (\S+)", proc.stdout, re.M)
    return proc.returncode, failed


def main(words) -> int:
    holes = []
    for name, file, old, new, tests, what in BUGS:
        if words and not any(w in name for w in words):
            continue
        path = ROOT / file
        text = path.read_text()
        if text.count(old) != 1:
            print(f"{name}: the text to change is not in {file} exactly once (the code moved); update this script")
            holes.append(name)
            continue
        try:
            path.write_text(text.replace(old, new))
            code, failed = run_tests(tests)
        finally:
            path.write_text(text)
        if failed:
            print(f"{name}: caught by {len(failed)} test(s): {', '.join(failed[:4])}{' ...' if len(failed) > 4 else ''}")
        else:
            print(f"{name}: NOT CAUGHT (exit {code}) -- {what}")
            holes.append(name)
    print(f"{len(holes)} bug(s) not caught" + (f": {', '.join(holes)}" if holes else ""))
    return 1 if holes else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
