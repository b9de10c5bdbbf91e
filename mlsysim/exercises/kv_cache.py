"""Exercises of the chapter "The KV-Cache Wall" (tutorials/kv-cache.qmd).

The scenario matches the chapter's: Llama-2-70B (grouped-query attention) and a
hypothetical multi-head twin on a replica of four H100s, sequences of 4,096
tokens, and a log-normal request mix (median 512 tokens, sigma 1, 2,000 requests,
seed 0, capped at 4,096) under paged allocation in blocks of 16 tokens.
"""
from __future__ import annotations

from mlsysim.exercises import exercise

TP, CONTEXT, BLOCK = 4, 4096, 16


def multi_head_twin():
    """Llama-2-70B with 64 KV heads and the larger K and V projections that come with them."""
    from dataclasses import replace

    from mlsysim import Models, Q_

    gqa = Models.Llama2_70B
    extra = 2 * gqa.layers * gqa.hidden_dim * (gqa.heads - gqa.kv_heads) * gqa.head_dim
    return replace(gqa, key="Llama2_70B_MHA", name="Llama-2-70B, multi-head (hypothetical)", kv_heads=gqa.heads,
                   parameters=gqa.parameters + Q_(extra, "count"))


def request_lengths():
    """The chapter's request mix: 2,000 log-normal lengths, median 512 tokens, capped at the context."""
    import numpy as np

    rng = np.random.default_rng(seed=0)
    return np.clip(np.round(rng.lognormal(np.log(512), 1.0, size=2000)), 1, CONTEXT)


@exercise("kv-cache/mha-sequences", tolerance=0.0, close=0.15,
          hint="CapacityModel().solve(twin, 'H100', 4096, tensor_parallel=4, allocation='contiguous').max_sequences",
          wrong=lambda value: value * 8)
def _mha_sequences():
    from mlsysim import CapacityModel

    return CapacityModel().solve(multi_head_twin(), "H100", CONTEXT, tensor_parallel=TP,
                                 allocation="contiguous").max_sequences


@exercise("kv-cache/fp8-kv-paged", tolerance=0.0, close=0.05,
          hint="Same request mix and paged allocation, with kv_precision='fp8'.",
          wrong=lambda value: value // 2)
def _fp8_kv_paged():
    from mlsysim import CapacityModel

    return CapacityModel().solve("Llama2_70B", "H100", request_lengths(), tensor_parallel=TP, kv_precision="fp8",
                                 allocation="paged", block_size=BLOCK).max_sequences


@exercise("kv-cache/two-phases-memory", tolerance=0.0, close=0.10,
          hint="Each sequence ends at 1,024 + 256 tokens; two H100s, fp16, paged allocation.",
          wrong=lambda value: value + 100)
def _two_phases_memory():
    from mlsysim import CapacityModel

    return CapacityModel().solve("Llama2_70B", "H100", 1024 + 256, tensor_parallel=2,
                                 allocation="paged").max_sequences
