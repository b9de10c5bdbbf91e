"""Parsing and validating spec fields from YAML records.

A spec file is a YAML mapping of records. Quantities are strings such as
``"3.35 TB/s"`` that pint parses; every record names its ``source`` (a
references.bib key) and may override it per field under ``sources``. Errors
name the file, the record and the field.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from pathlib import Path

import yaml

from mlsysim.errors import SpecError

try:  # the C loader is several times faster; fall back where libyaml is absent
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


@dataclass(frozen=True)
class Source:
    """Where one number comes from: a references.bib key, the detail, and (for estimates) why."""

    key: str
    detail: str = ""
    estimate: str = ""

    @property
    def is_estimate(self) -> bool:
        return bool(self.estimate)

    def __str__(self) -> str:
        text = f"[@{self.key}]" + (f" {self.detail}" if self.detail else "")
        return text + (f" (estimate: {self.estimate})" if self.estimate else "")


def read_yaml(path: str | Path) -> dict:
    """Read a YAML mapping, with an error that names the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(str(path), "(file)", f"cannot read: {exc.strerror}") from None
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise SpecError(str(path), "(file)", f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SpecError(str(path), "(file)", "expected a mapping of records at the top level")
    return data


class RecordReader:
    """Read typed fields out of one YAML record, remembering which were used."""

    def __init__(self, where: str, record: dict, allowed: set[str]):
        if not isinstance(record, dict):
            raise SpecError(where, "(record)", "expected a mapping of fields")
        self.where = where
        self.record = record
        unknown = sorted(set(record) - allowed)
        if unknown:
            raise SpecError(where, unknown[0], f"unknown field; known fields: {', '.join(sorted(allowed))}")

    def has(self, field: str) -> bool:
        return self.record.get(field) is not None

    def text(self, field: str, default: str | None = None) -> str:
        value = self.record.get(field, default)
        if value is None:
            raise SpecError(self.where, field, "is required")
        if not isinstance(value, str) or not value.strip():
            raise SpecError(self.where, field, f"expected text, got {value!r}")
        return value.strip()

    def count(self, field: str, *, required: bool = True, integer: bool = True, minimum: float = 1):
        """A bare positive number (a count); strings like '70e9' are accepted."""
        value = self.record.get(field)
        if value is None:
            if required:
                raise SpecError(self.where, field, "is required")
            return None
        if isinstance(value, str):
            try:
                value = float(value.replace("_", ""))
            except ValueError:
                raise SpecError(self.where, field, f"expected a number, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
            raise SpecError(self.where, field, f"expected a number, got {value!r}")
        if value < minimum:
            raise SpecError(self.where, field, f"expected a number >= {minimum:g}, got {value!r}")
        if integer and not float(value).is_integer():
            raise SpecError(self.where, field, f"expected a whole number, got {value!r}")
        return int(value) if integer else float(value)

    def quantity(self, field: str, unit: str, *, required: bool = True, value=None):
        """A string '<number> <unit>' that converts to ``unit``; returns a pint Quantity."""
        from mlsysim.core.units import Q_

        raw = self.record.get(field) if value is None else value
        if raw is None:
            if required:
                raise SpecError(self.where, field, f"is required (a quantity in {unit})")
            return None
        if isinstance(raw, bool) or not isinstance(raw, (str, numbers.Real)):
            raise SpecError(self.where, field, f"expected a quantity such as '1 {unit}', got {raw!r}")
        try:
            quantity = Q_(raw) if isinstance(raw, str) else Q_(raw, unit)
            magnitude = quantity.to(unit).magnitude
        except Exception:
            raise SpecError(self.where, field, f"expected a quantity convertible to {unit}, got {raw!r}") from None
        if not math.isfinite(magnitude) or magnitude <= 0:
            raise SpecError(self.where, field, f"expected a positive quantity, got {raw!r}")
        return quantity

    def sources(self, fields: set[str], default_key: str) -> tuple[Source, dict[str, Source]]:
        """The record's default source and its per-field overrides."""
        key = self.record.get("source", default_key)
        if not isinstance(key, str) or not key:
            raise SpecError(self.where, "source", "expected a references.bib key")
        default = Source(key, str(self.record.get("source_detail", "")), str(self.record.get("estimate", "")))
        overrides = {}
        for name, entry in (self.record.get("sources") or {}).items():
            base = name.split(".")[0]
            if base not in fields:
                raise SpecError(self.where, f"sources.{name}", f"names no field of this record; fields: {', '.join(sorted(fields))}")
            if isinstance(entry, str):
                entry = {"key": entry}
            if not isinstance(entry, dict) or "key" not in entry:
                raise SpecError(self.where, f"sources.{name}", "expected {key: <bib key>, detail: ..., estimate: ...}")
            overrides[name] = Source(str(entry["key"]), str(entry.get("detail", "")), str(entry.get("estimate", "")))
        return default, overrides
