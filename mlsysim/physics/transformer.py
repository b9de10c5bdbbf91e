"""FLOPs and bytes of transformer inference.

Conventions: 2 FLOPs per multiply-accumulate; a forward pass over one token
costs 2 N FLOPs for the N parameters it uses [@kaplan2020scaling]; attention
adds work proportional to the context [@pope2022efficiently].
"""
from __future__ import annotations

from mlsysim.physics._array import power


def weight_bytes(parameters, bytes_per_element):
    """Bytes to hold the weights: N x b [@pope2022efficiently]."""
    return parameters * bytes_per_element


def kv_cache_bytes_per_token(layers, kv_heads, head_dim, bytes_per_element):
    """KV bytes per token = 2 x L x n_kv x d_head x b: one key and one value
    vector per KV head per layer [@pope2022efficiently]. Grouped-query and
    multi-query attention shrink n_kv [@ainslie2023gqa; @shazeer2019mqa].

    Llama-2-70B at fp16: 2 x 80 x 8 x 128 x 2 = 327,680 bytes.
    """
    return 2 * layers * kv_heads * head_dim * bytes_per_element


def kv_latent_bytes_per_token(layers, latent_dim, bytes_per_element):
    """Multi-head latent attention caches one compressed vector per layer:
    L x d_latent x b [@deepseek2024v3]."""
    return layers * latent_dim * bytes_per_element


def linear_flops(parameters, tokens):
    """Matrix-multiply FLOPs of a forward pass: 2 x N x tokens [@kaplan2020scaling]."""
    return 2 * parameters * tokens


def attention_flops(layers, attention_dim, query_tokens, mean_context):
    """Score and value FLOPs: 4 x L x d_attn x q x c̄. QK^T and AV are each
    2 x d_attn FLOPs per (query, key) pair and layer [@kaplan2020scaling].

    For causal prefill of s tokens the mean context is (s + 1) / 2; a decode
    step has one query per sequence and the whole context.
    """
    return 4 * layers * attention_dim * query_tokens * mean_context


def causal_mean_context(seq_len):
    """c̄ = (s + 1) / 2: the mean number of keys a query attends to in causal prefill of s
    tokens (query i sees i keys, i = 1 .. s) [@kaplan2020scaling]."""
    return (seq_len + 1) / 2


def expected_experts_touched(experts, active_per_token, tokens):
    """Expected distinct experts (per layer) that ``tokens`` independent,
    uniformly routed tokens select: E x (1 - (1 - k/E)^T) [@fedus2022switch].

    One token touches k experts; a large batch touches nearly all E.
    """
    return experts * (1 - power(1 - active_per_token / experts, tokens))


def moe_weights_read(dense_parameters, expert_parameters, experts, active_per_token, tokens):
    """Parameters a mixture-of-experts layer stack reads for ``tokens`` tokens:
    N_dense + E_touched x N_expert, where E_touched is
    :func:`expected_experts_touched` and N_expert the parameters of one expert
    summed over layers [@fedus2022switch]."""
    return dense_parameters + expected_experts_touched(experts, active_per_token, tokens) * expert_parameters
