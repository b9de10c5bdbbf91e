"""A solve at one point (no arrays in) gives plain Python numbers and booleans, not numpy scalars
or 0-d arrays: `r.feasible is True` and `type(x) is float` hold, and JSON needs no conversion."""
import mlsysim


def test_wafer_scale_feasible_is_a_bool():
    r = mlsysim.WaferScaleModel().solve("Llama3_8B")
    # Llama-3-8B's 16 GB of fp16 weights sit in one WSE-3's 44 GB of SRAM (0.9 x 44 = 39.6 GB usable)
    assert r.feasible is True


def test_reasoning_tokens_generated_is_a_float():
    r = mlsysim.InferenceScalingModel().solve("Llama3_8B", "H100", 4, 1000)
    # 4 reasoning steps x 100 tokens a step (the default) = 400 tokens
    assert r.tokens_generated.to("token").magnitude == 400
    assert type(r.tokens_generated.magnitude) is float
