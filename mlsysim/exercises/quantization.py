"""Exercises of the chapter "Quantization: not a free lunch" (tutorials/quantization.qmd).

The scenario matches the chapter's parameters cell: Llama-3-8B on one H100 with prompts of
1,024 tokens for the decode and prefill sections, and Llama-3-70B served under MLPerf's server
targets (p99 TTFT 2 s, mean TPOT 200 ms) with 256 output tokens for the load section. The
UPPER_CASE keyword arguments are those parameters (see :mod:`mlsysim.exercises`).
"""
from __future__ import annotations

from mlsysim.exercises import Design, design_answer, design_exercise, exercise, one_of

MODEL, GPU, PROMPT = "Llama3_8B", "H100", 1024
KV_BATCH, KV_GAIN, KV_STEP = 16, 0.10, 256
BIG_MODEL, TP, OUTPUT = "Llama3_70B", 2, 256
TTFT_SLO, TPOT_SLO, LOAD_QPS = 2.0, 0.200, 50
#: What the design exercise may choose from.
DESIGN_PRECISIONS = ("fp16", "fp8", "int4")
DESIGN_TP = (1, 2, 4, 8)


def itl(precision, batch_size=1, seq_len=PROMPT, kv_precision=None, model=MODEL, hardware=GPU):
    from mlsysim import ServingModel

    return ServingModel().solve(model, hardware, seq_len=seq_len, batch_size=batch_size, precision=precision,
                                kv_precision=kv_precision).itl


def int4_fp8_crossover(model=MODEL, hardware=GPU, prompt=PROMPT, limit=4096):
    """Smallest decode batch at which fp8 weights (and fp8 KV cache) step at least as fast as int4
    weights (fp16 KV cache), at a context of ``prompt`` tokens."""
    import numpy as np

    batch = np.arange(1, limit + 1)
    faster = (itl("fp8", batch, prompt, model=model, hardware=hardware)
              <= itl("int4", batch, prompt, model=model, hardware=hardware))
    if not np.any(faster):
        raise RuntimeError(f"int4 stays faster than fp8 up to batch {limit}")
    return int(batch[np.argmax(faster)])


def fp8_kv_context(model=MODEL, hardware=GPU, batch=KV_BATCH):
    """Smallest context (a multiple of KV_STEP) at which an fp8 KV cache cuts the ITL of fp8
    weights at ``batch`` sequences by at least KV_GAIN against an fp16 KV cache."""
    import numpy as np

    from mlsysim import Models

    contexts = np.arange(KV_STEP, Models.get(model).context_length + 1, KV_STEP)
    gain = 1 - (itl("fp8", batch, contexts, "fp8", model, hardware)
                / itl("fp8", batch, contexts, "fp16", model, hardware)).to("").magnitude
    if not np.any(gain >= KV_GAIN):
        raise RuntimeError("an fp8 KV cache never reaches the gain within the context length")
    return int(contexts[np.argmax(gain >= KV_GAIN)])


def max_rate(precision, tensor_parallel, model=BIG_MODEL, hardware=GPU, prompt=PROMPT, output=OUTPUT,
             ttft_slo=TTFT_SLO, tpot_slo=TPOT_SLO):
    """Requests/s one replica serves under the book's schedule and the targets (0 if none)."""
    from mlsysim import ServingScheduleModel

    r = ServingScheduleModel().max_rate(model, hardware, prompt_tokens=prompt, output_tokens=output,
                                        precision=precision, tensor_parallel=tensor_parallel,
                                        ttft_slo=ttft_slo, tpot_slo=tpot_slo)
    return float(r.arrival_rate.to("1/s").magnitude)


@exercise("quantization/int4-fp8-crossover", kind="predict", minutes=15, points=3, tolerance=0.05, close=0.20,
          objective="Predict, from which bytes each format shrinks, the batch at which fp8 overtakes int4 in "
                    "decode, then see the rounded roofline move it.",
          hint="int4 saves more weight bytes than fp8, fp8 halves the KV cache that int4 leaves in fp16: they break "
               "even when half the weight bytes equal half the batch's KV bytes. Then sweep batch_size with "
               "ServingModel for precision='int4' and 'fp8' and find where fp8's ITL is no longer larger; int4's "
               "linear layers run fp16 math and reach the ridge first.",
          wrong=lambda value: 1)
def _crossover(MODEL=MODEL, GPU=GPU, PROMPT=PROMPT):
    return int4_fp8_crossover(MODEL, GPU, PROMPT)


@exercise("quantization/fp8-kv-context", kind="change", minutes=10, points=2, tolerance=0.0, close=0.25,
          objective="See the KV cache's share of a decode step grow with the context, and with it the value of "
                    "its own precision.",
          hint="Sweep seq_len in steps of 256 with precision='fp8' and the chapter's KV_BATCH, and compare "
               "kv_precision='fp8' with kv_precision='fp16'.",
          wrong=lambda value: value * 8)
def _fp8_kv_context(MODEL=MODEL, GPU=GPU, KV_BATCH=KV_BATCH):
    return fp8_kv_context(MODEL, GPU, KV_BATCH)


@exercise("quantization/tp4-rate-gain", kind="connect", minutes=15, points=2, tolerance=0.03, close=0.15,
          objective="Connect capacity to the serving schedule: a memory gain becomes throughput only while memory "
                    "is the binding constraint.",
          hint="ServingScheduleModel().max_rate(BIG_MODEL, GPU, prompt_tokens=PROMPT, output_tokens=OUTPUT, "
               "precision=..., tensor_parallel=4, ttft_slo=TTFT_SLO, tpot_slo=TPOT_SLO).arrival_rate for fp8 and "
               "fp16; divide. Look at .binding for each.",
          wrong=lambda value: max_rate("fp8", TP) / max_rate("fp16", TP))    # the two-GPU ratio
def _tp4_gain(BIG_MODEL=BIG_MODEL, GPU=GPU, PROMPT=PROMPT, OUTPUT=OUTPUT, TTFT_SLO=TTFT_SLO, TPOT_SLO=TPOT_SLO):
    rates = {p: max_rate(p, 4, BIG_MODEL, GPU, PROMPT, OUTPUT, TTFT_SLO, TPOT_SLO) for p in ("fp8", "fp16")}
    return rates["fp8"] / rates["fp16"]


def fleet_gpus(precision, tensor_parallel, load, model=BIG_MODEL, hardware=GPU, prompt=PROMPT, output=OUTPUT,
               ttft_slo=TTFT_SLO, tpot_slo=TPOT_SLO):
    """(GPUs in use, replicas, reasons): the fleet of replicas that serves ``load`` under the targets."""
    from mlsysim import ServingFleetModel
    from mlsysim.solvers.serving import ReplicaPhysics

    replica = ReplicaPhysics(model, hardware, precision, tensor_parallel)
    if replica.weights >= replica.usable:
        return None, 0, (f"the {precision} weights ({replica.weights / 1e9:,.0f} GB) do not fit the "
                         f"{replica.usable / 1e9:,.0f} GB a stack may fill on {tensor_parallel} x {hardware}",)
    plan = ServingFleetModel().solve(model, hardware, load, prompt_tokens=prompt, output_tokens=output,
                                     precision=precision, tensor_parallel=tensor_parallel, ttft_slo=ttft_slo,
                                     tpot_slo=tpot_slo)
    if not plan.feasible or plan.replicas == 0:
        return None, 0, tuple(plan.reasons) or ("no arrival rate meets every target",)
    return plan.replicas * tensor_parallel, plan.replicas, ()


@design_exercise("quantization/fewest-gpus", minutes=25, points=4, tolerance=0.15, close=0.35,
                 objective="Size a fleet under latency targets: choose the number format and the replica size "
                           "that serve a load on the fewest GPUs.",
                 answer_format="a dict {'precision': 'fp8', 'tensor_parallel': 2}",
                 hint="For each format and tensor-parallel degree, ServingFleetModel().solve(BIG_MODEL, GPU, "
                      "LOAD_QPS, prompt_tokens=PROMPT, output_tokens=OUTPUT, precision=..., tensor_parallel=..., "
                      "ttft_slo=TTFT_SLO, tpot_slo=TPOT_SLO) gives the replicas; GPUs = replicas x tensor_parallel. "
                      "Read .binding: memory, the TTFT target and the sequence limit bind at different sizes.",
                 wrong=lambda best: {"precision": "fp16", "tensor_parallel": 8})
def _fewest_gpus(answer, LOAD_QPS=LOAD_QPS, BIG_MODEL=BIG_MODEL, GPU=GPU, PROMPT=PROMPT, OUTPUT=OUTPUT,
                 TTFT_SLO=TTFT_SLO, TPOT_SLO=TPOT_SLO):

    args = dict(model=BIG_MODEL, hardware=GPU, prompt=PROMPT, output=OUTPUT, ttft_slo=TTFT_SLO, tpot_slo=TPOT_SLO)
    options = {(p, tp): fleet_gpus(p, tp, LOAD_QPS, **args) for p in DESIGN_PRECISIONS for tp in DESIGN_TP}
    feasible = {k: v[0] for k, v in options.items() if v[0] is not None}
    best_key = min(feasible, key=lambda k: (feasible[k], k[1]))
    best = float(feasible[best_key])
    best_design = {"precision": best_key[0], "tensor_parallel": best_key[1]}
    if answer is None:
        return Design(True, best, best, best_design, unit="GPUs")
    design_answer(answer, ("precision", "tensor_parallel"), "{'precision': 'fp8', 'tensor_parallel': 2}")
    key = (one_of(answer["precision"], "precision", DESIGN_PRECISIONS),
           one_of(answer["tensor_parallel"], "tensor_parallel", DESIGN_TP))
    gpus, replicas, reasons = options[key]
    if gpus is None:
        return Design(False, float("inf"), best, best_design, reasons, unit="GPUs")
    return Design(True, float(gpus), best, best_design, unit="GPUs",
                  summary=f"{replicas} replicas of {key[1]} x {GPU} in {key[0]}")
