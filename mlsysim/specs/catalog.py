"""The built-in catalogues: ``Hardware.Cloud.H100``, ``Models.Llama2_70B``, ``Systems.DGX_H100``.

Data files are read on first access, not at import, so ``import mlsysim`` stays
fast. Unknown names raise :class:`~mlsysim.errors.UnknownNameError` with the
closest known names.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from mlsysim.errors import UnknownAttributeError, UnknownNameError
from mlsysim.specs.fields import read_yaml

DATA = Path(__file__).resolve().parent.parent / "data"


def _normal(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


@lru_cache(maxsize=None)
def _hardware() -> dict:
    from mlsysim.specs.hardware import hardware_from_record

    path = DATA / "hardware.yaml"
    return {k: hardware_from_record(k, v, f"{path.name}:{k}", "") for k, v in read_yaml(path).items()}


@lru_cache(maxsize=None)
def _models() -> dict:
    from mlsysim.specs.models import model_from_record

    path = DATA / "models.yaml"
    return {k: model_from_record(k, v, f"{path.name}:{k}", "") for k, v in read_yaml(path).items()}


@lru_cache(maxsize=None)
def _systems() -> dict:
    from mlsysim.specs.systems import system_from_record

    path = DATA / "systems.yaml"
    return {k: system_from_record(k, v, f"{path.name}:{k}", "") for k, v in read_yaml(path).items()}


class Catalog:
    """A read-only namespace of specs, by attribute (``.H100``) or by name (``get("h100")``)."""

    def __init__(self, kind: str, loader, tier: str | None = None):
        self._kind, self._loader, self._tier = kind, loader, tier

    def _entries(self) -> dict:
        entries = self._loader()
        if self._tier:
            return {k: v for k, v in entries.items() if v.tier == self._tier}
        return entries

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        entries = self._entries()
        if name in entries:
            return entries[name]
        raise UnknownAttributeError(self._kind, name, list(entries))

    def get(self, name):
        """Look up by catalogue key or display name, ignoring case and punctuation.

        A spec object is returned unchanged, so functions can accept either.
        """
        if hasattr(name, "key") and hasattr(name, "source"):
            return name
        if not isinstance(name, str):
            raise UnknownNameError(self._kind, repr(name), list(self._entries()))
        entries = self._entries()
        if name in entries:
            return entries[name]
        wanted = _normal(name)
        for key, spec in entries.items():
            if wanted in (_normal(key), _normal(spec.name)):
                return spec
        raise UnknownNameError(self._kind, name, list(entries))

    def names(self) -> list[str]:
        return list(self._entries())

    def __iter__(self):
        return iter(self._entries().values())

    def __len__(self) -> int:
        return len(self._entries())

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._entries()))

    def __repr__(self) -> str:
        return f"<{self._kind} catalogue: {', '.join(self.names())}>"


class _HardwareCatalog(Catalog):
    """All accelerators, flat (``Hardware.H100``) and by tier (``Hardware.Cloud.H100``)."""

    def __init__(self):
        super().__init__("hardware", _hardware)
        self.Cloud = Catalog("cloud hardware", _hardware, "cloud")
        self.Edge = Catalog("edge hardware", _hardware, "edge")
        self.Mobile = Catalog("mobile hardware", _hardware, "mobile")
        self.Tiny = Catalog("tiny hardware", _hardware, "tiny")


Hardware = _HardwareCatalog()
Models = Catalog("model", _models)
Systems = Catalog("system", _systems)
