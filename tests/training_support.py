"""Shared by the training by-hand tests (a module with a unique name, so it never clashes with a
test file): the calibrated H100 rates their hand derivations use, and a tiny dense model.

H100: HBM 3.35 TB/s x 0.83 = 2.7805 TB/s; NVLink 450 GB/s x 0.69 = 310.5 GB/s; a DGX H100 device's
NIC share 50 GB/s x 0.39 = 19.5 GB/s; 36 us per collective call.
"""
from __future__ import annotations

from mlsysim.specs.models import model_from_record

HBM = 3.35e12 * 0.83
NVLINK = 450e9 * 0.69
NIC = 50e9 * 0.39
CALL = 36e-6


def tiny_model():
    # 2 layers of 12 h^2 at h = 1024 (25,165,824) + a 1,000 x 1,024 embedding (1,024,000) = 26,189,824
    return model_from_record("tiny", {"architecture": "decoder", "parameters": 26_189_824, "layers": 2,
                                      "hidden_dim": 1024, "heads": 8, "kv_heads": 8, "head_dim": 128,
                                      "ffn_dim": 4096, "vocab_size": 1000, "context_length": 2048}, "test")
