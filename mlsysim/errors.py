"""The exceptions every public entry point raises for user errors.

Catch ``MlsysimError`` to catch them all. Each message names the parameter (or
spec field) and says what was expected and what was given.
"""
from __future__ import annotations

import difflib


class MlsysimError(Exception):
    """Base class of every error mlsysim raises on purpose."""


class InputError(MlsysimError, ValueError, TypeError):
    """A parameter has the wrong type, unit, range or value.

    Subclasses ``ValueError`` and ``TypeError`` so generic handlers still work.
    """

    def __init__(self, parameter: str, expected: str, got: object = None, *, detail: str = ""):
        self.parameter = parameter
        self.expected = expected
        self.got = got
        message = f"parameter '{parameter}': expected {expected}"
        if got is not None:
            message += f", got {got!r}"
        if detail:
            message += f" ({detail})"
        super().__init__(message)


class UnknownNameError(MlsysimError, LookupError):
    """A model, hardware, precision or exercise name that is not in the catalogue."""

    def __init__(self, kind: str, name: str, known: list[str]):
        self.kind = kind
        self.name = name
        self.suggestions = difflib.get_close_matches(str(name), known, n=3, cutoff=0.5)
        if not self.suggestions:
            lowered = {k.lower(): k for k in known}
            self.suggestions = [lowered[m] for m in difflib.get_close_matches(str(name).lower(), list(lowered), n=3, cutoff=0.5)]
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else f"; known: {', '.join(sorted(known))}"
        super().__init__(f"unknown {kind} '{name}'{hint}")


class UnknownAttributeError(UnknownNameError, AttributeError):
    """``Models.Nope``: an unknown catalogue entry reached by attribute access."""


class SpecError(MlsysimError, ValueError):
    """A hardware or model spec (built-in or user YAML) has a bad field."""

    def __init__(self, where: str, field: str, problem: str):
        self.where = where
        self.field = field
        super().__init__(f"{where}: field '{field}': {problem}")


class UnknownChoiceError(UnknownNameError, InputError):
    """A parameter names an entry that is not in its catalogue (``region="frnace"``).

    Both an :class:`InputError` (it names the parameter) and an :class:`UnknownNameError`
    (it carries the closest names as ``suggestions``), so either handler catches it.
    """

    def __init__(self, parameter: str, kind: str, name: str, known: list[str]):
        probe = UnknownNameError(kind, name, known)
        self.kind, self.name, self.suggestions = kind, name, probe.suggestions
        self.parameter, self.got = parameter, name
        self.expected = f"a {kind} in the catalogue"
        Exception.__init__(self, f"parameter '{parameter}': {probe}")
