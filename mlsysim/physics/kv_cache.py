"""How a serving replica spends its free memory on KV cache.

Each sequence holds its keys and values for every token of its context
(:func:`mlsysim.physics.transformer.kv_cache_bytes_per_token`). How much memory
the allocator *reserves* for a sequence depends on how it allocates
[@kwon2023pagedattention]:

- contiguous: one buffer per request, sized for the longest context the request
  might reach (``max_context`` tokens), because its final length is unknown when
  it starts;
- paged: fixed blocks of ``block_size`` tokens, taken on demand, so a sequence of
  ``n`` tokens holds ceil(n / block_size) blocks and wastes less than one block.

Inputs and outputs are token counts and bytes, floats or numpy arrays.
"""
from __future__ import annotations

import math

import numpy as np


def contiguous_reserved_tokens(context, max_context):
    """Tokens a contiguous allocator reserves for a sequence: r = n_max, whatever
    its actual length n (n <= n_max) [@kwon2023pagedattention, sec. 3].

    A request of 100 tokens with n_max = 4,096 reserves 4,096 slots.
    """
    return max_context + 0 * context


def paged_reserved_tokens(context, block_size):
    """Tokens a paged allocator reserves: r = ceil(n / B) x B for blocks of B
    tokens [@kwon2023pagedattention, sec. 4.2].

    A sequence of 100 tokens in blocks of 16 holds 7 blocks = 112 slots.
    """
    if isinstance(context, np.ndarray) or isinstance(block_size, np.ndarray):
        return np.ceil(context / block_size) * block_size
    return float(math.ceil(context / block_size) * block_size)


def waste_fraction(used_tokens, reserved_tokens):
    """Share of reserved KV memory that holds no token: w = 1 - n / r
    [@kwon2023pagedattention, fig. 2]."""
    return 1 - used_tokens / reserved_tokens


def sequences_that_fit(free_bytes, bytes_per_sequence):
    """Concurrent sequences a memory budget holds: floor(max(M_free, 0) / m_seq),
    with M_free the memory left after the weights and m_seq the bytes reserved per
    sequence [@pope2022efficiently]."""
    count = np.floor(np.maximum(free_bytes, 0) / bytes_per_sequence)
    return count if isinstance(count, np.ndarray) and count.ndim else float(count)


def tokens_that_fit(free_bytes, kv_bytes_per_token):
    """Tokens of KV cache a memory budget holds: floor(max(M_free, 0) / b_kv). For a
    single sequence it is the context length at which one user fills the replica
    [@pope2022efficiently]."""
    return sequences_that_fit(free_bytes, kv_bytes_per_token)
