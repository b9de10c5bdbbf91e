"""physics.wafer.streamed_layer_time with its default efficiencies: the textbook max of the weight
transfer and the math, each at full speed."""
import pytest

from mlsysim.physics.wafer import streamed_layer_time


def test_default_efficiencies_are_one():
    # 1 GB of weights over 150 GB/s: 6.67 ms; 1e15 FLOPs at 125e15 FLOP/s: 8 ms; the layer takes the max
    assert streamed_layer_time(1e9, 1e15, 150e9, 125e15) == pytest.approx(8e-3, rel=1e-12)
    # weights-bound: 2 GB over 150 GB/s = 13.3 ms > 8 ms
    assert streamed_layer_time(2e9, 1e15, 150e9, 125e15) == pytest.approx(2e9 / 150e9, rel=1e-12)
