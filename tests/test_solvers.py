"""Solvers against hand-derived values, and the physics rules of DESIGN.md."""
import numpy as np
import pytest

import mlsysim
from mlsysim import Hardware, Models
from mlsysim.calibration import Calibration

# Round factors so the arithmetic below can be followed by hand.
ROUND = Calibration(compute_efficiency=0.5, memory_efficiency=0.8, interconnect_efficiency=0.5,
                    allreduce_latency=10e-6, serving_power_fraction=0.5, kernel_overhead=5e-6, kernels_per_layer=10,
                    low_precision_efficiency=0.5, pass_overhead=0.0)


def serve(model, hw, seq_len, **kw):
    return mlsysim.ServingModel().solve(model, hw, seq_len, **kw)


def test_llama2_70b_decode_by_hand():
    r = serve(Models.Llama2_70B, Hardware.H100, 1024, tensor_parallel=2, calibration=ROUND)
    # weights: 68,976,648,192 params x 2 B = 137,953,296,384 B; KV read: 327,680 B x 1,024 = 335,544,320 B
    # memory time: 138,288,840,704 B / (2 x 3.35e12 B/s x 0.8) = 25.800 ms
    # compute: (2 x 68,976,648,192 + 4 x 80 x 8,192 x 1 x 1,024) FLOP / (2 x 989.4e12 x 0.5) = 0.142 ms -> memory-bound
    # all-reduce: 2 x 80 layers x (10 us + 2 x 1/2 x 8,192 x 2 B / (450e9 x 0.5)) = 1.612 ms
    # fixed kernel cost: 80 layers x 10 kernels x 5 us = 4.000 ms
    # ITL = 25.800 + 1.612 + 4.000 = 31.412 ms
    assert r.itl.to("ms").magnitude == pytest.approx(31.412, rel=1e-3)
    assert r.decode_bottleneck == "Memory"
    assert r.kv_cache_size.to("byte").magnitude == 335_544_320
    assert r.weights_size.to("byte").magnitude == 137_953_296_384
    assert r.feasible


def test_llama2_70b_prefill_by_hand():
    r = serve(Models.Llama2_70B, Hardware.H100, 1024, tensor_parallel=2, calibration=ROUND)
    # FLOPs: 2 x 68,976,648,192 x 1,024 + 4 x 80 x 8,192 x 1,024 x 1,025/2 = 1.42640e14
    # compute: 1.42640e14 / (2 x 989.4e12 x 0.5) = 144.168 ms (memory: 25.8 ms) -> compute-bound
    # all-reduce: 160 x (10 us + 1,024 x 8,192 x 2 B / 2.25e11 B/s) = 13.530 ms
    # fixed kernel cost: 80 layers x 10 kernels x 5 us = 4.000 ms
    # TTFT = 144.168 + 13.530 + 4.000 = 161.699 ms
    assert r.ttft.to("ms").magnitude == pytest.approx(161.699, rel=1e-3)
    assert r.prefill_bottleneck == "Compute"


def test_tensor_parallel_one_has_no_communication():
    r = serve(Models.Llama3_8B, Hardware.H100, 512, calibration=ROUND)
    n = Models.Llama3_8B.si["parameters"]
    kv = Models.Llama3_8B.kv_cache_bytes_per_token("fp16").magnitude * 512
    # ITL = (2N + KV) / (3.35e12 x 0.8) + 32 layers x 10 kernels x 5 us, no collective at TP 1
    assert r.itl.to("s").magnitude == pytest.approx((2 * n + kv) / (3.35e12 * 0.8) + 32 * 10 * 5e-6, rel=1e-9)


def test_gpt4_on_one_h100_is_infeasible_with_numbers():
    r = serve(Models.GPT4, Hardware.H100, 2048)
    assert not r.feasible
    # 1.8e12 parameters x 2 B = 3,600 GB; one H100 has 80 GB
    assert "needs 3,600 GB" in r.reasons[0] and "has 80 GB" in r.reasons[0]


def test_llama3_70b_needs_two_h100s():
    assert not serve(Models.Llama3_70B, Hardware.H100, 2048).feasible
    for tp in (2, 4, 8):
        assert serve(Models.Llama3_70B, Hardware.H100, 2048, tensor_parallel=tp).feasible


def test_moe_reads_active_but_holds_all():
    mixtral = serve(Models.Mixtral_8x7B, Hardware.H100, 1024, calibration=ROUND)
    # holds all 46.7e9 parameters: 93.4 GB of fp16 weights
    assert mixtral.weights_size.to("GB").magnitude == pytest.approx(93.41, rel=1e-3)
    from mlsysim.specs.models import model_from_record
    dense = model_from_record("Dense47B", {
        "name": "dense 47B", "architecture": "decoder", "parameters": Models.Mixtral_8x7B.si["parameters"],
        "layers": 32, "hidden_dim": 4096, "heads": 32, "kv_heads": 8, "head_dim": 128,
        "vocab_size": 32000, "context_length": 32768}, "test")
    dense_r = serve(dense, Hardware.H100, 1024, tensor_parallel=2, calibration=ROUND)
    mix_r = serve(Models.Mixtral_8x7B, Hardware.H100, 1024, tensor_parallel=2, calibration=ROUND)
    # batch 1 reads ~12.9e9 of 46.7e9 parameters: ITL well under half the dense model's
    assert mix_r.itl < 0.4 * dense_r.itl


def test_moe_large_batch_reads_nearly_all_experts():
    m = Models.Mixtral_8x7B
    from mlsysim.solvers.serving import ReplicaPhysics
    replica = ReplicaPhysics(m, Hardware.H100)
    # batch 1 reads the active parameters; batch 256 reads (almost) all of them
    assert replica.weights_read(1) == pytest.approx(m.si["active_parameters"] * 2, rel=1e-9)
    assert replica.weights_read(256) == pytest.approx(m.si["parameters"] * 2, rel=1e-6)


def test_long_prefill_is_compute_bound_small_decode_memory_bound():
    r = serve(Models.Llama3_8B, Hardware.H100, 8192)
    assert r.prefill_bottleneck == "Compute" and r.decode_bottleneck == "Memory"


def test_context_longer_than_model_is_infeasible():
    r = serve(Models.Llama2_7B, Hardware.H100, 8192)
    assert not r.feasible and "context" in r.reasons[0]


def test_max_batch_size_by_hand():
    # Llama-2-7B fp16 on H100: free = 80e9 - 2 x 6,738,415,616 = 66,523,168,768 B
    # per sequence at 4,096 tokens: 2 x 32 x 32 x 128 x 2 B x 4,096 = 2,147,483,648 B -> floor(30.98) = 30
    assert mlsysim.ServingModel().max_batch_size(Models.Llama2_7B, Hardware.H100, 4096) == 30


def test_sweep_equals_scalar_calls():
    batches = np.array([1, 8, 64])
    seqs = np.array([512, 2048, 4096])
    sweep = serve(Models.Llama3_70B, Hardware.H100, seqs[:, None], batch_size=batches[None, :], tensor_parallel=4)
    assert sweep.itl.shape == (3, 3)
    for i, s in enumerate(seqs):
        for j, b in enumerate(batches):
            one = serve(Models.Llama3_70B, Hardware.H100, int(s), batch_size=int(b), tensor_parallel=4)
            assert sweep.itl.magnitude[i, j] == pytest.approx(one.itl.magnitude, rel=1e-12)
            assert sweep.ttft.magnitude[i, j] == pytest.approx(one.ttft.magnitude, rel=1e-12)
            assert bool(sweep.feasible[i, j]) == bool(one.feasible)


def test_engine_roofline_resnet_by_hand():
    r = mlsysim.Engine.solve(Models.ResNet50, Hardware.A100, batch_size=1, calibration=ROUND)
    n = Models.ResNet50.si["parameters"]
    flops = Models.ResNet50.si["inference_flops"]
    bytes_moved = 2 * n + 3 * 224 * 224 * 2  # fp16 weights + one 3x224x224 fp16 image
    # latency = max(F / (312e12 x 0.5), B / (2.039e12 x 0.8))
    expected = max(flops / 156e12, bytes_moved / (2.039e12 * 0.8))
    assert r.latency.to("s").magnitude == pytest.approx(expected, rel=1e-9)
    assert r.arithmetic_intensity.magnitude == pytest.approx(flops / bytes_moved)


def test_engine_batch_moves_decode_across_ridge():
    small = mlsysim.Engine.solve(Models.Llama2_7B, Hardware.H100, batch_size=1)
    large = mlsysim.Engine.solve(Models.Llama2_7B, Hardware.H100, batch_size=1024)
    assert small.bottleneck == "Memory" and large.bottleneck == "Compute"


def test_reasoning_time_by_definition():
    model = mlsysim.InferenceScalingModel()
    r = model.solve(Models.Llama3_8B, Hardware.H100, reasoning_steps=4, context_length=1000, tokens_per_step=50,
                    calibration=ROUND)
    replica = mlsysim.solvers.serving.ReplicaPhysics(Models.Llama3_8B, Hardware.H100, calibration=ROUND)
    # T = TTFT(1000) + sum_{i<200} ITL(1000 + i)
    brute = replica.prefill(1000, 1)[0] + sum(replica.decode_step(1000 + i, 1)[0] for i in range(200))
    assert r.total_reasoning_time.to("s").magnitude == pytest.approx(brute, rel=1e-12)
    assert r.tokens_generated.magnitude == 200
    # energy = 1 device x 700 W x 0.5 x T
    assert r.energy_per_query.to("J").magnitude == pytest.approx(350 * brute, rel=1e-12)


def test_reasoning_multiplier_below_k_for_long_prompts():
    model = mlsysim.InferenceScalingModel()
    ks = np.array([1, 16])
    r = model.solve(Models.Llama3_70B, Hardware.H100, ks, context_length=8000, tokens_per_step=20, tensor_parallel=4)
    ratio = r.total_reasoning_time.magnitude[1] / r.total_reasoning_time.magnitude[0]
    assert 1 < ratio < 16  # the shared prefill is paid once


def test_economics_by_hand():
    fleet = mlsysim.Fleet("f", mlsysim.Node("n", Hardware.H100, 8), count=10)
    r = mlsysim.EconomicsModel().solve(fleet, duration_days=365, electricity_price=0.10, pue=1.5,
                                       amortization_years=4, maintenance_fraction=0.05, unit_price=30_000,
                                       power_fraction=0.5)
    # capex total = 80 x (30,000 + 10,000 server + 5,000 network) = 3,600,000; amortised 1 of 4 years = 900,000
    assert r.capex_total_usd == pytest.approx(3_600_000)
    assert r.capex_usd == pytest.approx(900_000)
    # power = 80 x (700 x 0.5 + 575) W = 74,000 W; x PUE 1.5 = 111 kW; x 8,760 h = 972,360 kWh; x $0.10 = $97,236
    assert r.total_energy_kwh == pytest.approx(972_360)
    assert r.opex_energy_usd == pytest.approx(97_236)
    # maintenance = 3.6M x 5% = 180,000
    assert r.opex_maintenance_usd == pytest.approx(180_000)
    assert r.tco_usd == pytest.approx(900_000 + 97_236 + 180_000)
    assert f"${r.tco_usd:,.0f}" == "$1,177,236"


def test_economics_states_defaults():
    fleet = mlsysim.Fleet("f", mlsysim.Node("n", Hardware.H100, 8), count=1)
    r = mlsysim.EconomicsModel().solve(fleet, 30, region="france")
    for name in ("electricity_price", "pue", "amortization_years", "unit_price", "grid_carbon_intensity"):
        assert name in r.assumptions and r.assumptions[name][1].key
    assert r.carbon_tonnes > 0


def test_fleet_for_replicas():
    node = mlsysim.Node("DGX", Hardware.H100, 8)
    # 10 replicas x 4 GPUs = 40 GPUs -> 5 nodes
    fleet = mlsysim.Fleet.for_replicas("f", node, 10, 4)
    assert fleet.count == 5 and fleet.total_accelerators == 40
    assert node.intra_node_bw.to("GB/s").magnitude == pytest.approx(450)


def test_result_is_frozen_and_serialisable():
    import json
    r = serve(Models.Llama3_8B, Hardware.H100, 512)
    with pytest.raises(AttributeError):
        r.ttft = 1
    data = json.loads(json.dumps(r.to_dict()))
    assert data["ttft"]["unit"] == "ms" and data["feasible"] is True
    assert "Time to first token" in repr(r) and "<table" in r._repr_html_()
