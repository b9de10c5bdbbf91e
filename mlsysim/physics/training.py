"""FLOPs, memory and schedules of training a transformer.

Conventions: 2 FLOPs per multiply-accumulate; a training step over D tokens of a model
with N (active) parameters does 6 N D FLOPs of matrix multiplies (2 N D forward, 4 N D
backward) [@kaplan2020scaling]; attention adds 12 L d_attn s FLOPs per token (forward
and backward, scores over the whole sequence, as MFU is defined) [@chowdhery2022palm;
@korthikanti2023reducing]. Memory figures are bytes per device.
"""
from __future__ import annotations

from mlsysim.physics._array import power, where
from mlsysim.physics.economics import SECONDS_PER_DAY
from mlsysim.physics.transformer import attention_flops, linear_flops


# ---------------------------------------------------------------------------------------- FLOPs
def training_flops(parameters, tokens):
    """C = 6 N D: forward (2 N) and backward (4 N) matrix-multiply FLOPs over D tokens
    [@kaplan2020scaling; @hoffmann2022chinchilla]: three forward passes' worth,
    3 x :func:`~mlsysim.physics.transformer.linear_flops`."""
    return 3 * linear_flops(parameters, tokens)


def attention_training_flops(layers, attention_dim, seq_len, tokens):
    """12 L d_attn s D: QK^T and AV (4 d_attn s FLOPs per token and layer forward), three times
    for forward and backward, counted over the whole sequence as MFU does
    [@chowdhery2022palm; @korthikanti2023reducing]: 3 x
    :func:`~mlsysim.physics.transformer.attention_flops` with every query over all s keys."""
    return 3 * attention_flops(layers, attention_dim, tokens, seq_len)


def recompute_flops(mode, parameters, layers, attention_dim, seq_len, tokens):
    """Extra forward FLOPs recomputation performs over D tokens [@korthikanti2023reducing]:
    none: 0; selective (attention scores only): 4 L d_attn s D; full (the whole forward
    again): 2 N D + 4 L d_attn s D. Hardware FLOPs = model FLOPs + these."""
    attention = attention_flops(layers, attention_dim, tokens, seq_len)
    if mode == "full":
        return linear_flops(parameters, tokens) + attention
    if mode == "selective":
        return attention
    return 0.0 * attention


# ---------------------------------------------------------------------------------------- memory
def model_state_bytes(parameters, weight_bytes, gradient_bytes, optimizer_bytes, data_parallel, zero_stage):
    """(weights, gradients, optimizer states) per device for N parameters on one model shard,
    with ZeRO over d data-parallel ranks [@rajbhandari2020zero]:

        stage 0: (b_w N, b_g N, K N)
        stage 1: optimizer states / d;  stage 2: + gradients / d;  stage 3: + weights / d

    Mixed-precision Adam has b_w = b_g = 2 and K = 12 (fp32 master weights, momentum and
    variance): 16 bytes per parameter before sharding.
    """
    d = data_parallel
    weights = parameters * weight_bytes / where(zero_stage >= 3, d, 1)
    gradients = parameters * gradient_bytes / where(zero_stage >= 2, d, 1)
    optimizer = parameters * optimizer_bytes / where(zero_stage >= 1, d, 1)
    return weights, gradients, optimizer


def activation_bytes_per_layer(seq_len, micro_batch, hidden, heads, tensor_parallel=1, sequence_parallel=False,
                               attention_scores=True, attention_dim=None, kv_dim=None, ffn_dim=None):
    """Bytes of activations one transformer layer keeps for the backward pass, per device
    [@korthikanti2023reducing, Table 2; the expressions are already in bytes]:

        sbh (10 + 24 / t) + 5 a s^2 b / t          tensor parallel t
        sbh (34 / t)      + 5 a s^2 b / t          tensor + sequence parallel

    The 10 sbh (layer-norm and linear inputs, dropout masks) is replicated on every tensor
    rank unless sequence parallelism splits it. The 24 generalises to
    4 (d_attn + d_kv) / h + 4 f / h for query width d_attn, key/value width d_kv (grouped
    queries) and MLP width f (24 for GPT: d_attn = d_kv = h, f = 4h). ``attention_scores``
    keeps the 5 a s^2 b term (softmax output, dropout mask and output); FlashAttention never
    stores it [@dao2022flashattention], and selective recomputation recomputes it.
    """
    s, b, h, t = seq_len, micro_batch, hidden, tensor_parallel
    d_attn = hidden if attention_dim is None else attention_dim
    d_kv = hidden if kv_dim is None else kv_dim
    f = 4 * hidden if ffn_dim is None else ffn_dim
    split = 4 * (d_attn + d_kv) / h + 4 * f / h
    replicated = where(sequence_parallel, 10 / t, 10)
    scores = where(attention_scores, 5 * heads * s / h, 0.0)
    return s * b * h * (replicated + split / t + scores / t)


def checkpoint_bytes_per_layer(seq_len, micro_batch, hidden, tensor_parallel=1, sequence_parallel=False):
    """Full recomputation keeps only each layer's input: 2 s b h bytes, split over the tensor
    ranks when sequence parallel [@korthikanti2023reducing; @chen2016training]."""
    return 2 * seq_len * micro_batch * hidden / where(sequence_parallel, tensor_parallel, 1)


def pipeline_inflight_factor(pipeline_parallel, virtual_stages=1):
    """Micro-batches of activations the first stage holds under 1F1B: p, times
    1 + (p - 1) / (p v) with v interleaved stages [@korthikanti2023reducing, Sec. 4.2.3;
    @narayanan2021efficient]. With L / p layers per stage, p micro-batches in flight hold
    as much as one micro-batch through all L layers."""
    p, v = pipeline_parallel, virtual_stages
    return p * where(v > 1, 1 + (p - 1) / (p * v), 1.0)


# ---------------------------------------------------------------------------------------- schedule
def pipeline_bubble_fraction(pipeline_parallel, microbatches, virtual_stages=1):
    """Idle fraction of the ideal time: (p - 1) / (v m) for p stages, m micro-batches per
    step and v interleaved model chunks per device [@narayanan2021efficient; @huang2019gpipe]."""
    return (pipeline_parallel - 1) / (virtual_stages * microbatches)


def stage_layers(layers, pipeline_parallel):
    """Layers on the largest pipeline stage: ceil(L / p). Stages get ceil or floor of L / p;
    the largest sets the pace [@narayanan2021efficient]."""
    return -(-layers // pipeline_parallel)


# ---------------------------------------------------------------------------------------- budget
#: Chinchilla, approach 1: N_opt ~ C^0.50 and D_opt ~ C^0.50 [@hoffmann2022chinchilla, Table 2],
#: anchored at Chinchilla itself: 70e9 parameters trained on 1.4e12 tokens (Sec. 4).
CHINCHILLA_PARAMETERS = 70e9
CHINCHILLA_TOKENS = 1.4e12
CHINCHILLA_A = 0.50
CHINCHILLA_B = 0.50


def compute_optimal_parameters(compute_flops, a=CHINCHILLA_A):
    """N_opt = N_0 (C / C_0)^a with C_0 = 6 N_0 D_0 at Chinchilla (70B parameters, 1.4T
    tokens) and a = 0.50 [@hoffmann2022chinchilla]."""
    c0 = training_flops(CHINCHILLA_PARAMETERS, CHINCHILLA_TOKENS)
    return CHINCHILLA_PARAMETERS * power(compute_flops / c0, a)


def compute_for_optimal_parameters(parameters, a=CHINCHILLA_A):
    """C = C_0 (N / N_0)^(1/a): the compute for which N parameters are compute-optimal, the
    inverse of :func:`compute_optimal_parameters` [@hoffmann2022chinchilla]."""
    c0 = training_flops(CHINCHILLA_PARAMETERS, CHINCHILLA_TOKENS)
    return c0 * power(parameters / CHINCHILLA_PARAMETERS, 1 / a)


def compute_for_optimal_tokens(tokens, b=CHINCHILLA_B):
    """C = C_0 (D / D_0)^(1/b): the compute for which D tokens are compute-optimal, the inverse of
    :func:`compute_optimal_tokens` [@hoffmann2022chinchilla]."""
    c0 = training_flops(CHINCHILLA_PARAMETERS, CHINCHILLA_TOKENS)
    return c0 * power(tokens / CHINCHILLA_TOKENS, 1 / b)


def compute_optimal_tokens(compute_flops, b=CHINCHILLA_B):
    """D_opt = D_0 (C / C_0)^b, b = 0.50: about 20 tokens per parameter at every scale
    [@hoffmann2022chinchilla]."""
    c0 = training_flops(CHINCHILLA_PARAMETERS, CHINCHILLA_TOKENS)
    return CHINCHILLA_TOKENS * power(compute_flops / c0, b)


def training_days(compute_flops, devices, peak_flops, mfu):
    """Days to do C FLOPs on n devices of peak P at model FLOPs utilisation u:
    C / (n P u) / 86,400 [@chowdhery2022palm]."""
    return compute_flops / (devices * peak_flops * mfu) / SECONDS_PER_DAY
