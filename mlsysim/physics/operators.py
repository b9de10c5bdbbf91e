"""FLOPs and bytes of single operators (one kernel each).

Each operator is a pair of counts: the FLOPs it does (2 per multiply-accumulate) and
the bytes it moves between memory and the chip, assuming every operand is read once
and every result written once (perfect on-chip reuse inside the kernel). Their ratio is
the operator's arithmetic intensity, which the roofline compares with the device's
ridge point [@williams2009roofline].

Shapes are plain numbers (floats or numpy arrays); byte sizes are bytes per element.
"""
from __future__ import annotations


def gemm_flops(m, n, k):
    """F = 2 m n k for an (m x k) @ (k x n) matrix multiply [@williams2009roofline].

    For a transformer projection, m is the tokens in the pass and k x n the weight.
    """
    return 2 * m * n * k


def gemm_bytes(m, n, k, weight_bytes, act_bytes):
    """B = b_a (m k + m n) + b_w k n: read the (m x k) activations and the (k x n)
    weight once, write the (m x n) product once [@williams2009roofline].

    Weights and activations may differ in precision (weight-only quantization keeps
    activations in fp16 [@frantar2023gptq]).
    """
    return act_bytes * (m * k + m * n) + weight_bytes * k * n


def attention_score_flops(batch, heads, query_len, kv_len, head_dim):
    """F = 2 b h q c d for S = Q K^T: one d-long dot product per (query, key) pair
    and query head [@vaswani2017attention]."""
    return 2 * batch * heads * query_len * kv_len * head_dim


def attention_score_bytes(batch, heads, kv_heads, query_len, kv_len, head_dim, act_bytes, kv_bytes):
    """B = b_a b h q d + b_kv b g c d + b_a b h q c: read the queries and the cached
    keys (g KV heads, shared by grouped queries [@ainslie2023gqa]), write the score
    matrix, as an unfused kernel that materialises S does [@dao2022flashattention]."""
    return (act_bytes * batch * heads * query_len * head_dim
            + kv_bytes * batch * kv_heads * kv_len * head_dim
            + act_bytes * batch * heads * query_len * kv_len)


def attention_value_flops(batch, heads, query_len, kv_len, head_dim):
    """F = 2 b h q c d for O = P V: the weighted sum of c value vectors per query head
    [@vaswani2017attention]."""
    return 2 * batch * heads * query_len * kv_len * head_dim


def attention_value_bytes(batch, heads, kv_heads, query_len, kv_len, head_dim, act_bytes, kv_bytes):
    """B = b_a b h q c + b_kv b g c d + b_a b h q d: read the probabilities and the
    cached values, write the output (unfused, as for the scores) [@dao2022flashattention]."""
    return (act_bytes * batch * heads * query_len * kv_len
            + kv_bytes * batch * kv_heads * kv_len * head_dim
            + act_bytes * batch * heads * query_len * head_dim)


def elementwise_flops(elements, flops_per_element):
    """F = n x f: an elementwise or normalisation op does a few FLOPs per element [@williams2009roofline]."""
    return elements * flops_per_element


def elementwise_bytes(elements, act_bytes, reads=1, writes=1, parameters=0, parameter_bytes=None):
    """B = b_a n (r + w) + b_p p: each of the r input and w output tensors of n elements
    crosses memory once; ``parameters`` (a norm's gain vector, say) are read once [@williams2009roofline]."""
    parameter_bytes = act_bytes if parameter_bytes is None else parameter_bytes
    return act_bytes * elements * (reads + writes) + parameter_bytes * parameters


def conv2d_output_size(size, kernel, stride=1, padding=None):
    """H_out = floor((H_in + 2 p - k) / s) + 1, with 'same' padding p = floor(k / 2) by default
    [@he2016resnet]."""
    padding = kernel // 2 if padding is None else padding
    return (size + 2 * padding - kernel) // stride + 1


def conv2d_flops(batch, out_h, out_w, in_channels, out_channels, kernel, groups=1):
    """F = 2 b H_out W_out C_out (C_in / g) k^2: every output element is a dot product
    over a k x k window of C_in / g input channels [@he2016resnet]. A depthwise
    convolution has g = C_in = C_out [@sandler2018mobilenetv2]."""
    return 2 * batch * out_h * out_w * out_channels * (in_channels / groups) * kernel * kernel


def conv2d_bytes(batch, in_h, in_w, out_h, out_w, in_channels, out_channels, kernel, weight_bytes, act_bytes,
                 groups=1):
    """B = b_a b (H_in W_in C_in + H_out W_out C_out) + b_w k^2 (C_in / g) C_out: read the
    input feature map and the filters once, write the output feature map once [@williams2009roofline]."""
    return (act_bytes * batch * (in_h * in_w * in_channels + out_h * out_w * out_channels)
            + weight_bytes * kernel * kernel * (in_channels / groups) * out_channels)


def cnn_layer_costs(layers, batch, weight_bytes, act_bytes):
    """(group, FLOPs, bytes) of every layer of a CNN layer table (:mod:`mlsysim.specs.cnn`) at
    ``batch`` images: convolutions by :func:`conv2d_flops` and :func:`conv2d_bytes`; pooling reads
    the input map and writes the output map, one FLOP per window element; a residual add is fused
    into the epilogue of the convolution before it (as inference runtimes do), so it only reads the
    shortcut's map, one FLOP per element; a fully connected layer is a GEMM with m = batch
    [@he2016resnet; @sandler2018mobilenetv2; @williams2009roofline]."""
    out = []
    for group, kind, side, c_in, c_out, k, stride, groups in layers:
        if kind == "fc":
            out.append((group, gemm_flops(batch, c_out, c_in), gemm_bytes(batch, c_out, c_in, weight_bytes, act_bytes)))
        elif kind == "add":
            n = batch * side * side * c_out
            out.append((group, elementwise_flops(n, 1), elementwise_bytes(n, act_bytes, reads=1, writes=0)))
        elif kind == "pool":
            o = conv2d_output_size(side, k, stride)
            n_out = batch * o * o * c_out
            out.append((group, elementwise_flops(n_out, k * k),
                        act_bytes * batch * (side * side * c_in + o * o * c_out)))
        else:
            o = conv2d_output_size(side, k, stride)
            out.append((group, conv2d_flops(batch, o, o, c_in, c_out, k, groups),
                        conv2d_bytes(batch, side, side, o, o, c_in, c_out, k, weight_bytes, act_bytes, groups)))
    return out
