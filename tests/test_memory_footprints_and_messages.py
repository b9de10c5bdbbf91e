"""Memory footprints by hand (a CNN's weights plus its largest pair of feature maps; a transformer's
weights plus its KV cache in the OperatorModel view) and the memory messages' numbers, checked at
values that sit exactly on a rounding half (x.75 GB rounds up to x.8 GB; a number computed even
slightly too small would show x.7).

JetsonOrinNano: 8e9 B of memory; with usable_memory_fraction 0.96875 (31/32) exactly 7.75e9 B usable.
"Mini": a 1-layer decoder with one 125-wide KV head: 2 x 1 x 1 x 125 x 2 = 500 B of KV per token at
fp16 (250 at fp8).
"""
import numpy as np
import pytest

import mlsysim
from mlsysim.calibration import DEFAULT
from mlsysim.specs.models import model_from_record

NANO = DEFAULT.with_(usable_memory_fraction=0.96875)


def mini(params):
    return model_from_record("Mini", {"architecture": "decoder", "parameters": params, "layers": 1,
                                      "hidden_dim": 125, "heads": 1, "kv_heads": 1, "head_dim": 125,
                                      "vocab_size": 100, "context_length": 8_388_608}, "test")


def test_cnn_footprint_is_weights_plus_the_largest_maps():
    r = mlsysim.Engine.solve("ResNet50", "H100", batch_size=np.array([1, 8]))
    # weights 25,557,032 x 2 B = 51,114,064; the largest layer reads 56 x 56 x 256 and writes 56 x 56 x 128
    # (the 1 x 1 reduce opening conv3_x): 1,204,224 values x 2 B = 2,408,448 B per image
    np.testing.assert_allclose(r.memory_footprint.to("byte").m,
                               [51_114_064 + 2_408_448, 51_114_064 + 8 * 2_408_448], rtol=1e-12)


def test_engine_memory_message_numbers():
    # a table-less CNN of 50,374,760,000 parameters on 100 x 100 images: 2 x 50,374,760,000 + 8 x 60,000
    # = 100.75e9 B needed
    big = model_from_record("BigCNN", {"architecture": "cnn", "parameters": 50_374_760_000, "inference_flops": 1e9,
                                       "input_resolution": 100}, "test")
    r = mlsysim.Engine.solve(big, "JetsonOrinNano", calibration=NANO)
    assert r.reasons == ("memory: needs 100.8 GB, has 7.8 GB usable on JetsonOrinNano",)


@pytest.mark.parametrize("params, batch, text", [
    # weights 2 x 1e9 = 2.0e9 B; KV 13,500 sequences x 1,000 tokens x 500 B = 6.75e9 B; needs 8.75e9 B
    (1e9, 13_500, "needs 8.8 GB (weights 2.0 GB + KV cache 6.8 GB)"),
    # weights 2 x 1.375e9 = 2.75e9 B; KV 12,000 x 1,000 x 500 = 6.0e9 B; needs 8.75e9 B
    (1.375e9, 12_000, "needs 8.8 GB (weights 2.8 GB + KV cache 6.0 GB)"),
])
def test_serving_memory_message_numbers(params, batch, text):
    r = mlsysim.ServingModel().solve(mini(params), "JetsonOrinNano", 1000, batch_size=batch, calibration=NANO)
    # 7.75e9 usable of 8.0e9: 96.875%, shown as 97%
    assert r.reasons == (f"memory: {text}; 7.8 GB usable (97% of 8.0 GB) on 1 x JetsonOrinNano",)


def test_operator_view_footprint_and_message():
    ops = mlsysim.OperatorModel()
    # 2 sequences at a context of 6,750,000 tokens: KV 2 x 6,750,000 x 500 B = 6.75e9 B + weights 2.0e9 B = 8.75e9 B
    r = ops.solve(mini(1e9), "JetsonOrinNano", batch_size=2, context=6_750_000, calibration=NANO)
    assert r.reasons == ("memory: the whole model needs 8.8 GB, JetsonOrinNano has 7.8 GB usable of 8.0 GB",)
    # the KV cache at fp8 is half: 3.375e9 + 2.0e9 = 5.375e9 B fits
    assert ops.solve(mini(1e9), "JetsonOrinNano", batch_size=2, context=6_750_000, kv_precision="fp8",
                     calibration=NANO).feasible


def test_wafer_scale_memory_message_numbers():
    # resident on one WSE-3: weights 2 x 20,374,488,000 = 40,748,976,000 B + KV 2,048 tokens x 500 B
    # = 1,024,000 B: 40.75e9 B to keep; usable 44e9 x (39.75 / 44) = 39.75e9 B
    cal = DEFAULT.with_(usable_memory_fraction=39.75 / 44)
    r = mlsysim.WaferScaleModel().solve(mini(20_374_488_000), "WSE3", calibration=cal)
    assert r.reasons == ("memory (resident): a system must keep its layers' weights and KV cache in SRAM, 40.8 GB; "
                         "39.8 GB is usable (90% of 44.0 GB) on each WSE3; hold them across 2 or more systems, "
                         "or stream them (mode='streamed')",)


def test_capacity_one_sequence_message_numbers():
    # weights 2 x 3.4375e9 = 6.875e9 B of the 7.75e9 usable: 0.875e9 B left, shown as 0.88 GB; a contiguous
    # reservation of 2,750,000 tokens x 500 B = 1.375e9 B, shown as 1.38 GB: no sequence fits
    r = mlsysim.CapacityModel().solve(mini(3.4375e9), "JetsonOrinNano", 1000, allocation="contiguous",
                                      max_context=2_750_000, calibration=NANO)
    assert r.max_sequences == 0
    assert r.reasons == ("memory: one sequence reserves 1.38 GB of KV cache; 0.88 GB is left after the weights "
                         "on 1 x JetsonOrinNano",)
