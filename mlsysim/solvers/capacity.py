"""How many sequences a serving replica holds at once: the KV-cache wall.

After the weights, a replica's memory goes to the KV cache. Each sequence
reserves r tokens of it, b_kv bytes each (:class:`~mlsysim.solvers.serving.ReplicaPhysics`
gives b_kv and the weights, so this solver and the serving solver cannot disagree):

    S = floor((f p M - N b_w) / (r_mean x b_kv))

where r depends on the allocator [@kwon2023pagedattention]: a contiguous
allocator reserves ``max_context`` tokens for every request; a paged allocator
reserves ceil(n / B) x B tokens for a request of n tokens in blocks of B
(:mod:`mlsysim.physics.kv_cache`). Given a distribution of request lengths
(an array, one entry per request), r_mean is the mean reservation, so S is the
number of such requests that fit on average. f is the share of the devices' memory a
serving stack fills with weights and KV cache (``usable_memory_fraction`` in
:mod:`mlsysim.calibration`); the rest holds activations and runtime buffers.
"""
from __future__ import annotations

import numpy as np

from mlsysim.core import validate
from mlsysim.errors import InputError
from mlsysim.physics import kv_cache as kv
from mlsysim.solvers._common import count_where
from mlsysim.solvers.result import Result
from mlsysim.solvers.serving import ReplicaPhysics

ALLOCATIONS = ("paged", "contiguous")
#: vLLM's default KV block size, in tokens [@kwon2023pagedattention].
DEFAULT_BLOCK_SIZE = 16


class CapacityResult(Result):
    """Concurrent sequences on one replica and where its memory goes."""

    TITLE = "KV-cache capacity"
    FIELDS = {
        "max_sequences": (None, None, "Concurrent sequences"),
        "kv_bytes_per_token": ("byte", "kB", "KV cache per token"),
        "kv_bytes_per_sequence": ("byte", "MB", "KV cache used per sequence"),
        "reserved_bytes_per_sequence": ("byte", "MB", "KV cache reserved per sequence"),
        "waste_fraction": ("", "percent", "Reserved but unused"),
        "context_to_fill": ("token", "token", "Context one sequence fills"),
        "weights_size": ("byte", "GB", "Weights"),
        "kv_budget": ("byte", "GB", "Memory for KV cache"),
        "kv_used": ("byte", "GB", "KV cache used at capacity"),
        "kv_reserved": ("byte", "GB", "KV cache reserved at capacity"),
        "memory_capacity": ("byte", "GB", "Replica memory"),
        "allocation": (None, None, "Allocation"),
    }


class CapacityModel:
    """Concurrent sequences that fit one replica's memory, by allocation scheme.

    ``solve(model, hardware, context_lengths, precision="fp16", tensor_parallel=1,
    kv_precision=None, allocation="paged", block_size=16, max_context=None, calibration=None)``

    - ``context_lengths``: tokens of context per sequence (prompt plus output): one
      number, or a 1-D array with one entry per request (a length distribution).
    - ``allocation``: ``"paged"`` (blocks of ``block_size`` tokens taken on demand) or
      ``"contiguous"`` (``max_context`` tokens reserved per request).
    - ``max_context``: the longest context a request may reach; defaults to the
      model's context length. Contiguous allocation reserves it for every request.
    - ``tensor_parallel``, ``block_size`` and ``max_context`` accept numpy arrays (a sweep).

    ``kv_bytes_per_sequence`` is the mean KV cache a request actually uses,
    ``reserved_bytes_per_sequence`` the mean its allocator holds, ``waste_fraction``
    1 - used / reserved, and ``context_to_fill`` the context at which a single
    sequence fills all the memory the weights leave.
    """

    def solve(self, model, hardware, context_lengths, precision="fp16", tensor_parallel=1, kv_precision=None,
              allocation="paged", block_size=DEFAULT_BLOCK_SIZE, max_context=None, calibration=None) -> CapacityResult:
        replica = ReplicaPhysics(model, hardware, precision, tensor_parallel, kv_precision, calibration)
        m = replica.model
        lengths = validate.number(context_lengths, "context_lengths", "token", integer=True)
        if isinstance(lengths, np.ndarray) and lengths.ndim > 1:
            raise InputError("context_lengths", "one length or a 1-D array of per-request lengths",
                             f"an array of shape {lengths.shape}")
        allocation = validate.choice(allocation, "allocation", ALLOCATIONS)
        block = validate.number(block_size, "block_size", "token", integer=True)
        limit = validate.number(m.context_length if max_context is None else max_context, "max_context", "token",
                                integer=True)

        # A distribution of lengths runs along a new leading axis, averaged away below,
        # so the sweep parameters broadcast behind it.
        sweep_ndim = max(np.ndim(v) for v in (replica.tp, block, limit))
        per_request = isinstance(lengths, np.ndarray)
        n = lengths.reshape(lengths.shape + (1,) * sweep_ndim) if per_request else lengths
        if allocation == "paged":
            reserved = kv.paged_reserved_tokens(n, block)
        else:
            reserved = kv.contiguous_reserved_tokens(n, limit)
        used_tokens = float(np.mean(lengths)) if per_request else lengths
        reserved_tokens = np.mean(reserved, axis=0) if per_request else reserved

        b_kv = replica.kv_per_token
        budget = replica.usable - replica.weights
        per_sequence = reserved_tokens * b_kv
        sequences = kv.sequences_that_fit(budget, per_sequence)
        sequences = sequences.astype(int) if isinstance(sequences, np.ndarray) else int(sequences)

        longest = float(np.max(lengths))
        fits = sequences >= 1
        in_limit = (longest <= limit) & (limit <= m.context_length)
        reasons = []
        if not np.all(replica.weights < replica.usable):
            reasons.append(f"memory: weights of {replica.weights / 1e9:,.0f} GB do not fit the "
                           f"{float(np.min(replica.usable)) / 1e9:,.0f} GB usable on {replica._replica_text()}"
                           f"{count_where(np.logical_not(replica.weights < replica.usable))}")
        elif not np.all(fits):
            reasons.append(f"memory: one sequence reserves {float(np.max(per_sequence)) / 1e9:,.2f} GB of KV cache; "
                           f"{float(np.min(budget)) / 1e9:,.2f} GB is left after the weights on "
                           f"{replica._replica_text()}{count_where(np.logical_not(fits))}")
        if not np.all(longest <= limit):
            reasons.append(f"context: requests of {longest:,.0f} tokens exceed max_context of "
                           f"{float(np.min(limit)):,.0f} tokens")
        if not np.all(limit <= m.context_length):
            reasons.append(f"context: max_context of {float(np.max(limit)):,.0f} tokens exceeds {m.name}'s context "
                           f"length of {m.context_length:,} tokens")
        at_capacity = np.maximum(sequences, 0)
        values = {
            "max_sequences": sequences,
            "kv_bytes_per_token": b_kv,
            "kv_bytes_per_sequence": used_tokens * b_kv,
            "reserved_bytes_per_sequence": per_sequence,
            "waste_fraction": kv.waste_fraction(used_tokens, reserved_tokens),
            "context_to_fill": kv.tokens_that_fit(budget, b_kv),
            "weights_size": replica.weights,
            "kv_budget": np.maximum(budget, 0) if isinstance(budget, np.ndarray) else max(budget, 0.0),
            "kv_used": at_capacity * used_tokens * b_kv,
            "kv_reserved": at_capacity * per_sequence,
            "memory_capacity": replica.capacity,
            "allocation": allocation,
        }
        inputs = {"model": m, "hardware": replica.hardware, "precision": replica.precision,
                  "kv_precision": replica.kv_precision, "tensor_parallel": tensor_parallel,
                  "allocation": allocation, "block_size": block_size if allocation == "paged" else None,
                  "max_context": int(limit) if not isinstance(limit, np.ndarray) else max_context,
                  "context_lengths": context_lengths}
        return CapacityResult(values, feasible=fits & in_limit, reasons=reasons, inputs=inputs)
