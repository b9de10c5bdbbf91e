"""Exercises of the chapter "Quantization: not a free lunch" (tutorials/quantization.qmd).

The scenario matches the chapter's: Llama-3-8B on one H100 with prompts of 1,024 tokens,
and Llama-3-70B on a two-GPU H100 replica for capacity.
"""
from __future__ import annotations

from mlsysim.exercises import exercise

MODEL, HARDWARE, PROMPT = "Llama3_8B", "H100", 1024
KV_BATCH, KV_GAIN, KV_STEP = 16, 0.10, 256
BIG, BIG_TP, BIG_CONTEXT = "Llama3_70B", 2, 4096


def itl(precision, batch_size=1, seq_len=PROMPT, kv_precision=None, model=MODEL):
    from mlsysim import ServingModel

    return ServingModel().solve(model, HARDWARE, seq_len=seq_len, batch_size=batch_size, precision=precision,
                                kv_precision=kv_precision).itl


def fp8_kv_context():
    """Smallest context (a multiple of KV_STEP) at which an fp8 KV cache cuts the ITL of fp8
    weights at batch KV_BATCH by at least KV_GAIN against an fp16 KV cache."""
    import numpy as np

    from mlsysim import Models

    contexts = np.arange(KV_STEP, Models.get(MODEL).context_length + 1, KV_STEP)
    gain = 1 - (itl("fp8", KV_BATCH, contexts, "fp8") / itl("fp8", KV_BATCH, contexts, "fp16")).to("").magnitude
    if not np.any(gain >= KV_GAIN):
        raise RuntimeError("an fp8 KV cache never reaches the gain within the context length")
    return int(contexts[np.argmax(gain >= KV_GAIN)])


@exercise("quantization/int4-decode-speedup", tolerance=0.03, close=0.15,
          hint="Divide the fp16 ITL by the int4 ITL (batch 1, seq_len=1024). The fixed per-kernel "
               "time and the fp16 KV cache do not shrink.",
          wrong=lambda value: 4.0 * 2)
def _int4_speedup():
    return (itl("fp16") / itl("int4")).to("").magnitude


@exercise("quantization/fp8-kv-context", tolerance=0.0, close=0.25,
          hint="Sweep seq_len in steps of 256 with precision='fp8', batch_size=16, and compare "
               "kv_precision='fp8' with kv_precision='fp16'.",
          wrong=lambda value: value * 8)
def _fp8_kv_context():
    return fp8_kv_context()


@exercise("quantization/capacity-gain", tolerance=0.03, close=0.15,
          hint="ServingModel().max_batch_size(Llama3_70B, H100, 4096, precision, tensor_parallel=2) "
               "for fp8 and fp16; divide.",
          wrong=lambda value: 2.0 if value > 4 else 20.0)
def _capacity_gain():
    from mlsysim import ServingModel

    batch = {p: ServingModel().max_batch_size(BIG, HARDWARE, BIG_CONTEXT, p, BIG_TP) for p in ("fp8", "fp16")}
    return batch["fp8"] / batch["fp16"]
