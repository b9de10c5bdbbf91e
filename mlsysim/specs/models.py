"""Model specs: transformer (decoder, encoder, mixture-of-experts) and CNN records.

Mixture-of-experts models compute and read ``active_parameters`` per token but
hold all ``parameters`` in memory. Multi-head latent attention (DeepSeek-V3)
caches ``kv_latent_dim`` numbers per layer per token instead of keys and values
for every KV head.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from mlsysim.specs.fields import RecordReader, Source, read_yaml
from mlsysim.specs.hardware import _pick_record
from mlsysim.errors import SpecError

ARCHITECTURES = ("decoder", "encoder", "cnn")
_TRANSFORMER = ("layers", "hidden_dim", "heads", "kv_heads", "head_dim", "vocab_size", "context_length")
_FIELDS = {"name", "architecture", "source", "source_detail", "estimate", "sources", "parameters", "layers",
           "hidden_dim", "heads", "kv_heads", "head_dim", "ffn_dim", "vocab_size", "context_length", "experts",
           "active_experts_per_token", "active_parameters", "shared_experts", "kv_latent_dim",
           "inference_flops", "input_resolution", "notes"}


@dataclass(frozen=True, repr=False)
class ModelSpec:
    """One model. ``parameters`` and ``active_parameters`` are Quantities in ``count``."""

    key: str
    name: str
    architecture: str
    parameters: object
    layers: int | None = None
    hidden_dim: int | None = None
    heads: int | None = None
    kv_heads: int | None = None
    head_dim: int | None = None
    ffn_dim: int | None = None
    vocab_size: int | None = None
    context_length: int | None = None
    experts: int | None = None
    active_experts_per_token: int | None = None
    active_parameters: object = None
    shared_experts: int | None = None
    kv_latent_dim: int | None = None
    inference_flops: object = None
    input_resolution: int | None = None
    source: Source = Source("user-defined")
    sources: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    notes: str = ""

    def __post_init__(self):
        if self.active_parameters is None:
            object.__setattr__(self, "active_parameters", self.parameters)
        total = self.parameters.to("count").magnitude
        active = self.active_parameters.to("count").magnitude
        if self.is_moe:
            # total = shared + E*e and active = shared + k*e  =>  e = (total - active) / (E - k)
            per_expert = (total - active) / (self.experts - self.active_experts_per_token)
            always_read = total - self.experts * per_expert
        else:
            per_expert, always_read = 0.0, total
        si = {
            "parameters": total,
            "active_parameters": active,
            "expert_parameters": per_expert,
            "dense_parameters": always_read,
            "inference_flops": None if self.inference_flops is None else self.inference_flops.to("flop").magnitude,
        }
        object.__setattr__(self, "si", MappingProxyType(si))

    @property
    def is_moe(self) -> bool:
        return bool(self.experts) and bool(self.active_experts_per_token)

    @property
    def is_transformer(self) -> bool:
        return self.architecture in ("decoder", "encoder")

    @property
    def attention_dim(self) -> int:
        """heads x head_dim: the width of the attention projections."""
        return self.heads * self.head_dim

    def source_of(self, field_name: str) -> Source:
        return self.sources.get(field_name) or self.source

    def is_estimate(self, field_name: str) -> bool:
        return self.source_of(field_name).is_estimate

    def __repr__(self) -> str:
        params = self.parameters.to("Gcount").magnitude
        text = f"ModelSpec({self.key}: {self.name}, {params:.4g}B parameters"
        if self.is_moe:
            text += f", {self.active_parameters.to('Gcount').magnitude:.4g}B active ({self.active_experts_per_token} of {self.experts} experts)"
        if self.is_transformer:
            text += f", {self.layers} layers, {self.kv_heads}/{self.heads} KV/query heads"
        if self.source.is_estimate or any(s.is_estimate for s in self.sources.values()):
            text += ", contains estimates"
        return text + ")"


def model_from_record(key: str, record: dict, where: str, default_source: str = "user-defined") -> ModelSpec:
    """Validate one YAML record and build a :class:`ModelSpec`."""
    from mlsysim.core.units import Q_

    reader = RecordReader(where, record, _FIELDS)
    architecture = reader.text("architecture").lower()
    if architecture not in ARCHITECTURES:
        raise SpecError(where, "architecture", f"expected one of {', '.join(ARCHITECTURES)}, got {architecture!r}")
    values: dict = {"parameters": Q_(reader.count("parameters", integer=False), "count")}
    if architecture in ("decoder", "encoder"):
        for name in _TRANSFORMER:
            values[name] = reader.count(name)
        values["ffn_dim"] = reader.count("ffn_dim", required=False)
        values["kv_latent_dim"] = reader.count("kv_latent_dim", required=False)
        if values["kv_heads"] > values["heads"]:
            raise SpecError(where, "kv_heads", f"expected at most heads ({values['heads']}), got {values['kv_heads']}")
        for name in ("experts", "active_experts_per_token", "shared_experts"):
            values[name] = reader.count(name, required=False, minimum=0)
        if values["experts"]:
            if not values["active_experts_per_token"] or values["active_experts_per_token"] >= values["experts"]:
                raise SpecError(where, "active_experts_per_token", "expected a count between 1 and experts - 1")
            active = reader.count("active_parameters", integer=False)
            if active >= values["parameters"].magnitude:
                raise SpecError(where, "active_parameters", "expected fewer than parameters")
            values["active_parameters"] = Q_(active, "count")
    else:
        values["inference_flops"] = reader.quantity("inference_flops", "flop")
        values["input_resolution"] = reader.count("input_resolution", required=False)
    source, sources = reader.sources(set(_FIELDS), default_source)
    return ModelSpec(key=key, name=reader.text("name", key), architecture=architecture, source=source,
                     sources=MappingProxyType(sources), notes=str(record.get("notes", "")), **values)


def load_model(path: str | Path, name: str | None = None) -> ModelSpec:
    """Load a user-defined model from YAML, validated like the built-in catalogue."""
    data = read_yaml(path)
    return model_from_record(*_pick_record(data, path, name))
