"""Solvers against hand-derived values, and the physics rules of DESIGN.md."""
import math

import numpy as np
import pytest

import mlsysim
from mlsysim import Hardware, Models
from mlsysim.calibration import Calibration

# Round factors so the arithmetic below can be followed by hand. roofline_exponent = inf is the
# textbook max(); tests of the rounded roofline set it explicitly.
ROUND = Calibration(compute_efficiency=0.5, memory_efficiency=0.8, attention_efficiency=0.5,
                    interconnect_efficiency=0.5, allreduce_latency=10e-6, serving_power_fraction=0.5,
                    kernel_overhead=5e-6, kernels_per_layer=10, low_precision_efficiency=0.5,
                    roofline_exponent=math.inf, prefill_overhead_per_layer=25e-6, usable_memory_fraction=0.9)


def serve(model, hw, seq_len, **kw):
    return mlsysim.ServingModel().solve(model, hw, seq_len, **kw)


def test_llama2_70b_decode_by_hand():
    r = serve(Models.Llama2_70B, Hardware.H100, 1024, tensor_parallel=2, calibration=ROUND)
    # linear layers: weights 68,976,648,192 params x 2 B = 137,953,296,384 B
    #   memory 137,953,296,384 / (2 x 3.35e12 x 0.8) = 25.7376 ms; compute 2 x 68,976,648,192 /
    #   (2 x 989.4e12 x 0.5) = 0.1394 ms -> max = 25.7376 ms
    # attention: KV read 327,680 B x 1,024 = 335,544,320 B / (2 x 3.35e12 x 0.5) = 0.1002 ms;
    #   compute 4 x 80 x 8,192 x 1,024 / (2 x 989.4e12 x 0.5) = 0.0027 ms -> max = 0.1002 ms
    # fixed: 80 layers x (10 kernels x 5 us + 2 all-reduces x (10 us + 2 x 1/2 x 8,192 x 2 B /
    #   (450e9 x 0.5))) = 80 x (50 + 20.146) us = 5.6117 ms
    # ITL = 25.7376 + 0.1002 + 5.6117 = 31.4494 ms
    assert r.itl.to("ms").magnitude == pytest.approx(31.4494, rel=1e-4)
    assert r.decode_bottleneck == "Memory"
    assert r.kv_cache_size.to("byte").magnitude == 335_544_320
    assert r.weights_size.to("byte").magnitude == 137_953_296_384
    assert r.feasible


def test_llama2_70b_prefill_by_hand():
    r = serve(Models.Llama2_70B, Hardware.H100, 1024, tensor_parallel=2, calibration=ROUND)
    # linear: 2 x 68,976,648,192 x 1,024 FLOP / (2 x 989.4e12 x 0.5) = 142.7776 ms (memory 25.74 ms)
    # attention: 4 x 80 x 8,192 x 1,024 x 1,025/2 FLOP / (2 x 989.4e12 x 0.5) = 1.3905 ms
    #   (memory: 327,680 B x 1,024 written / (2 x 3.35e12 x 0.5) = 0.1002 ms)
    # fixed: 80 x (50 us + 2 x (10 us + 1,024 x 8,192 x 2 B / 2.25e11 B/s)) = 17.5305 ms
    # prefill overhead 80 layers x 25 us = 2 ms; TTFT = 142.7776 + 1.3905 + 17.5305 + 2 = 163.6986 ms
    assert r.ttft.to("ms").magnitude == pytest.approx(163.6986, rel=1e-4)
    assert r.prefill_bottleneck == "Compute"


def test_rounded_roofline_decode_at_batch_64_by_hand():
    # Llama-3-8B on one H100, 64 sequences at 512 tokens of context, exponent 2 (R(a, b) = sqrt(a^2 + b^2)):
    # linear: compute 2 x 8,030,261,248 x 64 / (989.4e12 x 0.5) = 2.0778 ms; memory 2 x 8,030,261,248 B /
    #   (3.35e12 x 0.8) = 5.9927 ms -> sqrt(2.0778^2 + 5.9927^2) = 6.3427 ms
    # attention: the batch's KV reads 64 x 512 x 131,072 B (2 x 32 x 8 x 128 x 2) = 4,294,967,296 B /
    #   (3.35e12 x 0.5) = 2.5642 ms; compute 4 x 32 x 4,096 x 64 x 512 / (989.4e12 x 0.5) = 0.0347 ms
    #   -> sqrt(...) = 2.5644 ms
    # fixed: 32 x 10 x 5 us = 1.6 ms (TP 1: no all-reduce); total 10.5071 ms
    r = serve(Models.Llama3_8B, Hardware.H100, 512, batch_size=64, calibration=ROUND.with_(roofline_exponent=2))
    assert r.itl.to("ms").magnitude == pytest.approx(10.5071, rel=1e-4)


def test_decode_reads_the_kv_cache_of_every_sequence():
    # doubling the batch at long context adds the second batch's KV reads: at 4,096 tokens of context
    # Llama-2-7B (MHA) holds 2 x 32 x 32 x 128 x 2 B = 524,288 B per token; one more sequence reads
    # 4,096 x 524,288 = 2,147,483,648 B more: 2,147,483,648 / (3.35e12 x 0.5) = 1.2821 ms more per step
    # (the linear layers stay memory-bound and unchanged at batch 1 -> 2; compute ~0.05 ms)
    one = serve(Models.Llama2_7B, Hardware.H100, 4096, batch_size=1, calibration=ROUND)
    two = serve(Models.Llama2_7B, Hardware.H100, 4096, batch_size=2, calibration=ROUND)
    assert (two.itl - one.itl).to("ms").magnitude == pytest.approx(1.2821, rel=1e-3)


def test_tensor_parallel_one_has_no_communication():
    r = serve(Models.Llama3_8B, Hardware.H100, 512, calibration=ROUND)
    # weights 2 x 8,030,261,248 B / (3.35e12 x 0.8) = 5.99273 ms; KV 512 x 131,072 B / (3.35e12 x 0.5) = 0.04007 ms;
    # kernels 32 x 10 x 5 us = 1.6 ms; no collective at TP 1: 7.63280 ms
    assert r.itl.to("ms").magnitude == pytest.approx(7.63280, rel=1e-5)


def test_gpt4_on_one_h100_is_infeasible_with_numbers():
    r = serve(Models.GPT4, Hardware.H100, 2048)
    assert not r.feasible
    # 1.8e12 parameters x 2 B = 3,600 GB; one H100 has 81,559 MiB = 85.5 GB, 90% usable = 77.0 GB
    assert "needs 3,600" in r.reasons[0] and "77.0 GB usable" in r.reasons[0] and "85.5 GB" in r.reasons[0]


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
    # Llama-2-7B fp16 on H100: usable = 0.9 x 81,559 MiB = 0.9 x 85,520,809,984 B = 76,968,728,985.6 B;
    # free = 76,968,728,985.6 - 2 x 6,738,415,616 = 63,491,897,753.6 B
    # per sequence at 4,096 tokens: 2 x 32 x 32 x 128 x 2 B x 4,096 = 2,147,483,648 B -> floor(29.57) = 29
    assert mlsysim.ServingModel().max_batch_size(Models.Llama2_7B, Hardware.H100, 4096) == 29


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


def test_engine_resnet_is_the_sum_of_its_layers():
    r = mlsysim.Engine.solve(Models.ResNet50, Hardware.A100, batch_size=1, calibration=ROUND)
    layers = mlsysim.OperatorModel().solve(Models.ResNet50, Hardware.A100, batch_size=1, calibration=ROUND)
    # the pass is its 72 layers, each on its own roofline: the same numbers OperatorModel shows
    assert r.latency.to("s").magnitude == pytest.approx(layers.latency.to("s").magnitude, rel=1e-12)
    assert r.flops.to("flop").magnitude == pytest.approx(layers.flops.to("flop").magnitude, rel=1e-12)
    # the table's FLOPs agree with the catalogue's torchvision count (8.178e9) within 0.1%
    assert r.flops.to("flop").magnitude == pytest.approx(Models.ResNet50.si["inference_flops"], rel=1e-3)
    # one layer by hand: conv2_x 3x3, 56 x 56 x 64 -> 64 channels, fp16 on the A100 (ROUND: max roofline):
    # FLOPs 2 x 56 x 56 x 64 x 64 x 9 = 231,211,008 -> / (312e12 x 0.5) = 1.48212 us
    # bytes 2 x (56 x 56 x 64 x 2 maps) + 2 x 9 x 64 x 64 = 802,816 + 73,728 = 876,544 -> / (2.039e12 x 0.8) = 0.53737 us
    # time = 1.48212 + 5 us kernel = 6.48212 us per layer, 3 layers = 19.4464 us
    assert layers["conv2_x 3x3"].latency.to("us").magnitude == pytest.approx(19.4464, rel=1e-4)


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


def test_moe_prefill_computes_with_active_parameters():
    # Mixtral-8x7B on 2 x H100, one prompt of 4,096 tokens (ROUND, max roofline):
    # linear: 2 x 12,879,925,248 active x 4,096 / (2 x 989.4e12 x 0.5) = 106.6428 ms
    #   (with all 46.7e9 parameters it would be 386.7 ms; memory 2 x 46,702,792,704 B / 5.36e12 = 17.43 ms)
    # attention: 4 x 32 x 4,096 x 4,096 x 4,097/2 / 989.4e12 = 4.4463 ms (KV write 0.16 ms)
    # fixed: 32 x (50 us + 2 x (10 us + 4,096 x 4,096 x 2 B / 2.25e11)) = 11.7844 ms;
    # overhead 32 layers x 25 us = 0.8 ms; TTFT = 106.6428 + 4.4463 + 11.7844 + 0.8 = 123.6734 ms
    r = serve(Models.Mixtral_8x7B, Hardware.H100, 4096, tensor_parallel=2, calibration=ROUND)
    assert r.ttft.to("ms").magnitude == pytest.approx(123.6734, rel=1e-4)


def test_moe_large_batch_decode_computes_with_active_parameters():
    # 2,048 sequences of one token of context: linear compute 2 x 12,879,925,248 x 2,048 / 989.4e12
    # = 53.3214 ms > memory 17.4264 ms (all experts are read at this batch) -> 53.3214 ms
    # attention: KV 131,072 B x 2,048 / (2 x 3.35e12 x 0.5) = 0.0801 ms
    # fixed: 32 x (50 us + 2 x (10 us + 2,048 x 4,096 x 2 B / 2.25e11 = 74.56 us)) = 7.0122 ms
    # ITL = 53.3214 + 0.0801 + 7.0122 = 60.4137 ms
    r = serve(Models.Mixtral_8x7B, Hardware.H100, 1, batch_size=2048, tensor_parallel=2, calibration=ROUND)
    assert r.itl.to("ms").magnitude == pytest.approx(60.4137, rel=1e-4)
    assert r.decode_bottleneck == "Compute"


def test_mla_latent_kv_cache_deepseek_v3():
    # multi-head latent attention caches one 576-element vector per layer: 61 x 576 x 2 B = 70,272 B per token
    assert mlsysim.kv_bytes_per_token(Models.DeepSeek_V3, "fp16").to("byte").magnitude == 70_272
    r = serve(Models.DeepSeek_V3, Hardware.H200, 1000, batch_size=3, precision="fp8", tensor_parallel=8)
    # fp8 cache: 61 x 576 x 1 B = 35,136 B; x 1,000 tokens x 3 sequences = 105,408,000 B
    assert r.kv_cache_size.to("byte").magnitude == 105_408_000
