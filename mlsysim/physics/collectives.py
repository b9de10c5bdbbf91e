"""Collective communication time, alpha-beta model.

A collective over p devices costs a fixed latency alpha plus the bytes each device must
push through its link divided by the link's bandwidth W (per device, per direction) and
an achieved fraction eta [@thakur2005optimization; @patarasuk2009bandwidth]:

- ring all-reduce: each device sends 2 (p - 1) / p of the message;
- ring reduce-scatter and all-gather: (p - 1) / p of the (whole) message;
- all-to-all: (p - 1) / p of what each device holds (the rest stays local);
- a pipelined double binary tree all-reduce: about 2 n, with log2 p steps of latency.

Algorithm and bus bandwidth [@nvidia2024nccl]: the *algorithm bandwidth* of a collective is
message bytes / time; the *bus bandwidth* multiplies it by the fraction of the message each
device actually moves (2 (p - 1) / p for all-reduce, (p - 1) / p for reduce-scatter,
all-gather and all-to-all), so it is comparable with the link's bandwidth whatever p is.
Every ``link_bandwidth`` here is a bus bandwidth figure: what one device's link carries.

``latency`` is the fixed cost of one collective call; ``hop_latency`` the cost of each
step of the algorithm (2 (p - 1) steps for a ring all-reduce, 2 log2 p for a tree). Every
function returns 0 for p = 1 and broadcasts over numpy arrays.
"""
from __future__ import annotations

import numpy as np

from mlsysim.physics._array import maximum, minimum, where


def _log2(p):
    return np.log2(p) if isinstance(p, np.ndarray) else float(np.log2(p))


def allreduce_bus_factor(devices):
    """Bus bandwidth / algorithm bandwidth of an all-reduce: 2 (p - 1) / p [@nvidia2024nccl]."""
    return 2 * (devices - 1) / devices


def gather_bus_factor(devices):
    """Bus / algorithm bandwidth of reduce-scatter, all-gather and all-to-all: (p - 1) / p
    [@nvidia2024nccl]."""
    return (devices - 1) / devices


def ring_allreduce_time(message_bytes, devices, link_bandwidth, latency=0.0, efficiency=1.0, hop_latency=0.0):
    """t = alpha + 2 (p - 1) alpha_hop + 2 (p - 1) / p x n / (W x eta) for p > 1, and 0 for p = 1
    [@patarasuk2009bandwidth].

    ``n`` is the message each device holds (and ends with, reduced); ``link_bandwidth`` W is
    per device, per direction; the bus bandwidth of the call is 2 (p - 1) / p x n / t.
    """
    transfer = 2 * (devices - 1) / devices * message_bytes / (link_bandwidth * efficiency)
    steps = 2 * (devices - 1) * hop_latency
    return where(devices > 1, latency + steps + transfer, 0.0 * transfer)


def tree_allreduce_time(message_bytes, devices, link_bandwidth, latency=0.0, efficiency=1.0, hop_latency=0.0):
    """Pipelined (double binary) tree all-reduce: t = alpha + 2 log2(p) alpha_hop + 2 n / (W x eta)
    for p > 1 [@thakur2005optimization; @nvidia2024nccl].

    A reduce up the tree and a broadcast down it, each pipelined over the message: about
    2 n per device, slightly more than a ring's 2 (p - 1) / p n, but only log2 p latency
    steps instead of 2 (p - 1). Trees win for small messages on many devices.
    """
    transfer = 2 * message_bytes / (link_bandwidth * efficiency)
    steps = 2 * _log2(maximum(devices, 1)) * hop_latency
    return where(devices > 1, latency + steps + transfer, 0.0 * transfer)


def ring_reduce_scatter_time(message_bytes, devices, link_bandwidth, latency=0.0, efficiency=1.0, hop_latency=0.0):
    """t = alpha + (p - 1) alpha_hop + (p - 1) / p x n / (W x eta) for p > 1
    [@thakur2005optimization]. ``n`` is the whole message each device starts with; each ends
    with its reduced 1/p of it."""
    transfer = (devices - 1) / devices * message_bytes / (link_bandwidth * efficiency)
    return where(devices > 1, latency + (devices - 1) * hop_latency + transfer, 0.0 * transfer)


def ring_allgather_time(message_bytes, devices, link_bandwidth, latency=0.0, efficiency=1.0, hop_latency=0.0):
    """t = alpha + (p - 1) alpha_hop + (p - 1) / p x n / (W x eta) for p > 1
    [@thakur2005optimization]. ``n`` is the whole gathered message; each device starts
    with 1/p of it."""
    transfer = (devices - 1) / devices * message_bytes / (link_bandwidth * efficiency)
    return where(devices > 1, latency + (devices - 1) * hop_latency + transfer, 0.0 * transfer)


def alltoall_time(message_bytes, devices, link_bandwidth, latency=0.0, efficiency=1.0):
    """t = alpha + (p - 1) / p x n / (W x eta) for p > 1 [@thakur2005optimization].

    Each device holds ``n`` bytes split into p equal parts and sends one part to each other
    device: (p - 1) / p of n leaves it. Used for the dispatch and combine of
    mixture-of-experts layers [@lepikhin2021gshard].
    """
    transfer = (devices - 1) / devices * message_bytes / (link_bandwidth * efficiency)
    return where(devices > 1, latency + transfer, 0.0 * transfer)


def two_level_alltoall_time(message_bytes, devices, local_devices, intra_bandwidth, inter_bandwidth,
                            latency=0.0, intra_efficiency=1.0, inter_efficiency=1.0):
    """All-to-all over p devices of which ``local_devices`` g share a node:

        t = alpha + n (g - 1) / p / (W_intra eta_i) + n (p - g) / p / (W_inter eta_o)

    The (g - 1) / p of the message for node-mates goes over the scale-up link, the
    (p - g) / p for other nodes over the device's share of the NICs [@lepikhin2021gshard].
    With g = p it is :func:`alltoall_time` on the scale-up link.
    """
    local = minimum(local_devices, devices)
    intra = (local - 1) / devices * message_bytes / (intra_bandwidth * intra_efficiency)
    inter = (devices - local) / devices * message_bytes / (inter_bandwidth * inter_efficiency)
    return where(devices > 1, latency + intra + inter, 0.0 * (intra + inter))


def hierarchical_allreduce_time(message_bytes, local_devices, nodes, intra_bandwidth, node_bandwidth,
                                latency=0.0, intra_efficiency=1.0, inter_efficiency=1.0):
    """All-reduce of ``n`` bytes held by g devices in each of N nodes:

        t = RS_intra(n, g) + AR_inter(n / g, N over node_bandwidth / g) + AG_intra(n, g)

    Reduce-scatter inside the node over the scale-up link (each device ends with 1/g of the
    message), all-reduce of that 1/g across the N nodes, every device on its own share of the
    node's NICs (``node_bandwidth`` = NICs x line rate, shared by the g devices, all of which
    are communicating), then all-gather inside the node [@thakur2005optimization;
    @nvidia2024nccl]. The inter-node term equals 2 (N - 1) / N x n / node_bandwidth: the
    node's NICs together carry the message once, which is why every NIC must be counted.
    """
    rs = ring_reduce_scatter_time(message_bytes, local_devices, intra_bandwidth, latency, intra_efficiency)
    ar = ring_allreduce_time(message_bytes / local_devices, nodes, node_bandwidth / local_devices, latency,
                             inter_efficiency)
    ag = ring_allgather_time(message_bytes, local_devices, intra_bandwidth, latency, intra_efficiency)
    return rs + ar + ag


def hierarchical_allgather_time(message_bytes, local_devices, nodes, intra_bandwidth, node_bandwidth,
                                latency=0.0, intra_efficiency=1.0, inter_efficiency=1.0):
    """All-gather of an ``n``-byte tensor sharded over g devices in each of N nodes:

        t = AG_inter(n / g, N over node_bandwidth / g) + AG_intra(n, g)

    Each device first gathers its 1/g slice from the other nodes over its share of the
    NICs, then the node gathers the slices over the scale-up link [@thakur2005optimization].
    ZeRO-3 pays this for the weights of every layer it computes [@rajbhandari2020zero].
    """
    inter = ring_allgather_time(message_bytes / local_devices, nodes, node_bandwidth / local_devices, latency,
                                inter_efficiency)
    intra = ring_allgather_time(message_bytes, local_devices, intra_bandwidth, latency, intra_efficiency)
    return inter + intra


def p2p_time(message_bytes, link_bandwidth, latency=0.0, efficiency=1.0):
    """One point-to-point send: t = alpha + n / (W x eta) [@thakur2005optimization]. Pipeline
    stages pass activations this way [@narayanan2021efficient]."""
    return latency + message_bytes / (link_bandwidth * efficiency)
