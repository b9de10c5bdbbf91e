"""Layer tables of the catalogue's CNNs, built from their papers' architecture tables.

Each layer is ``(group, kind, input side, C_in, C_out, kernel, stride, groups)`` for a square
input of ``input side`` pixels; ``kind`` is ``conv`` (2-D convolution with 'same' padding),
``pool`` (max or average pooling), ``add`` (a residual addition of a shortcut's feature map of
``C_out`` channels at ``input side``, fused into the convolution before it) or ``fc`` (a fully
connected layer on a pooled vector).
Layers of the same shape and role share a ``group`` name (e.g. the three 3x3 convolutions of
ResNet-50's conv2_x), so a solver can report them together. BatchNorm and ReLU are fused
into the convolutions, as inference runtimes do.

Why our own tables: the engine needs shapes, not weights, and no catalogue library ships
them without a deep-learning framework; the tables are short and cite their source.
"""
from __future__ import annotations

from functools import lru_cache


def _resnet50():
    """ResNet-50 [@he2016resnet, Table 1, 50-layer column], with the stride of each stage's first
    block on its 3x3 convolution (the torchvision v1.5 variant the catalogue's FLOPs describe
    [@torchvision2024models]) and a 1x1 projection shortcut on each stage's first block."""
    layers = [("conv1 7x7/2", "conv", 224, 3, 64, 7, 2, 1), ("maxpool 3x3/2", "pool", 112, 64, 64, 3, 2, 64)]
    side, c_in = 56, 64
    for stage, (blocks, mid, out, stride) in zip(("conv2_x", "conv3_x", "conv4_x", "conv5_x"),
                                                 ((3, 64, 256, 1), (4, 128, 512, 2), (6, 256, 1024, 2),
                                                  (3, 512, 2048, 2))):
        for block in range(blocks):
            s = stride if block == 0 else 1
            out_side = side // s
            layers += [
                (f"{stage} 1x1 reduce", "conv", side, c_in, mid, 1, 1, 1),
                (f"{stage} 3x3", "conv", side, mid, mid, 3, s, 1),
                (f"{stage} 1x1 expand", "conv", out_side, mid, out, 1, 1, 1),
            ]
            if block == 0:
                layers.append((f"{stage} shortcut 1x1", "conv", side, c_in, out, 1, s, 1))
            layers.append((f"{stage} residual add", "add", out_side, out, out, 1, 1, 1))
            side, c_in = out_side, out
    layers += [("avgpool 7x7", "pool", 7, 2048, 2048, 7, 7, 2048), ("fc 1000", "fc", 1, 2048, 1000, 1, 1, 1)]
    return layers


def _mobilenet_v2():
    """MobileNetV2 1.0 at 224 x 224 [@sandler2018mobilenetv2, Table 2 (stages t, c, n, s) and
    Table 1 (a bottleneck: 1x1 expansion by t, 3x3 depthwise with the stage's stride on its first
    block, 1x1 linear projection; a residual add when the stride is 1 and the channels match)]."""
    layers = [("stem conv 3x3/2", "conv", 224, 3, 32, 3, 2, 1)]
    side, c_in = 112, 32
    for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                       (6, 320, 1, 1)):
        for block in range(n):
            stride = s if block == 0 else 1
            out_side = side // stride
            hidden = c_in * t
            tag = f"c={c}"
            if t != 1:
                layers.append((f"{tag} expand 1x1", "conv", side, c_in, hidden, 1, 1, 1))
            layers.append((f"{tag} depthwise 3x3", "conv", side, hidden, hidden, 3, stride, hidden))
            layers.append((f"{tag} project 1x1", "conv", out_side, hidden, c, 1, 1, 1))
            if stride == 1 and c_in == c:
                layers.append((f"{tag} residual add", "add", out_side, c, c, 1, 1, 1))
            side, c_in = out_side, c
    layers += [("conv 1x1 to 1280", "conv", 7, 320, 1280, 1, 1, 1), ("avgpool 7x7", "pool", 7, 1280, 1280, 7, 7, 1280),
               ("fc 1000", "fc", 1, 1280, 1000, 1, 1, 1)]
    return layers


_TABLES = {"ResNet50": _resnet50, "MobileNetV2": _mobilenet_v2}


@lru_cache(maxsize=None)
def layers(key: str) -> tuple:
    """Every layer of the CNN ``key`` in order (see the module docstring for the fields)."""
    return tuple(_TABLES[key]())


def has_table(key: str) -> bool:
    return key in _TABLES


def names() -> list[str]:
    return list(_TABLES)
