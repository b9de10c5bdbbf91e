"""Answer checks for the book's "Your Turn" exercises, and claims for chapter titles.

``check("<chapter>/<exercise>", answer)`` compares a student's answer with the
value the engine computes now (never a typed constant) and says correct, close
or wrong, with a hint when wrong. Exercises are registered per chapter in
``mlsysim/exercises/<chapter>.py`` with :func:`exercise`.

``claim(text, value, stated, rel)`` is how a chapter proves a number it cannot
compute inline (in a title, say): it raises when the engine's ``value`` is
further than ``rel`` from the ``stated`` number.
"""
from __future__ import annotations

import html
import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

from mlsysim.errors import InputError, UnknownNameError

__all__ = ["check", "claim", "expected", "exercise", "REGISTRY", "CheckResult", "ClaimError"]


@dataclass(frozen=True)
class Exercise:
    """One exercise: how to compute its answer, how close is close, and a hint."""

    id: str
    compute: Callable[[], object]
    unit: str | None = None
    tolerance: float = 0.05
    close: float = 0.15
    hint: str = ""
    wrong: Callable[[object], object] | None = None
    choices: tuple = field(default=())

    def expected(self):
        value = self.compute()
        if self.unit and hasattr(value, "to"):
            return value.to(self.unit).magnitude
        return value

    def wrong_example(self):
        """An answer that is obviously wrong (for tests of the check itself)."""
        value = self.expected()
        if self.wrong is not None:
            return self.wrong(value)
        if isinstance(value, str):
            return next(c for c in self.choices if c != value) if self.choices else value + "?"
        return value * 10


class _Registry(dict):
    """Exercise id -> Exercise; chapter modules are imported on first use."""

    loaded = False

    def load(self):
        if not self.loaded:
            type(self).loaded = True
            for module in pkgutil.iter_modules(__path__):
                importlib.import_module(f"{__name__}.{module.name}")
        return self

    def __getitem__(self, key):
        self.load()
        if not dict.__contains__(self, key):
            raise UnknownNameError("exercise", key, list(dict.keys(self)))
        return dict.__getitem__(self, key)

    def __contains__(self, key):
        self.load()
        return dict.__contains__(self, key)

    def __iter__(self):
        self.load()
        return dict.__iter__(self)

    def __len__(self):
        self.load()
        return dict.__len__(self)

    def keys(self):
        self.load()
        return dict.keys(self)

    def items(self):
        self.load()
        return dict.items(self)


REGISTRY = _Registry()


def exercise(exercise_id: str, *, unit=None, tolerance=0.05, close=0.15, hint="", wrong=None, choices=()):
    """Decorator: register ``fn`` (no arguments, returns the expected answer) as an exercise."""
    def register(fn):
        dict.__setitem__(REGISTRY, exercise_id, Exercise(exercise_id, fn, unit, tolerance, close, hint, wrong, tuple(choices)))
        return fn
    return register


def expected(exercise_id: str):
    """The engine's current answer to an exercise."""
    return REGISTRY[exercise_id].expected()


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one answer: ``status`` is "correct", "close" or "wrong"."""

    exercise_id: str
    status: str
    message: str

    def __bool__(self) -> bool:
        return self.status == "correct"

    def __repr__(self) -> str:
        mark = {"correct": "Correct", "close": "Close", "wrong": "Not yet"}[self.status]
        return f"{mark} ({self.exercise_id}): {self.message}"

    def _repr_html_(self) -> str:
        colour = {"correct": "#1a7f37", "close": "#9a6700", "wrong": "#cf222e"}[self.status]
        return (f"<div class='mlsysim-check' style='border-left:4px solid {colour};padding:0.3em 0.8em'>"
                f"{html.escape(repr(self))}</div>")


def _as_number(answer, unit, exercise_id):
    if hasattr(answer, "to"):
        if not unit:
            raise InputError("answer", f"a plain number for {exercise_id}", f"{answer:~P}")
        try:
            return float(answer.to(unit).magnitude)
        except Exception:
            raise InputError("answer", f"a quantity in {unit}", f"{answer:~P}") from None
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        try:
            import numpy as np

            if isinstance(answer, np.generic):
                return float(answer)
        except ImportError:  # pragma: no cover
            pass
        raise InputError("answer", "a number" + (f" (in {unit})" if unit else ""), answer)
    return float(answer)


def check(exercise_id: str, answer) -> CheckResult:
    """Check ``answer`` against the engine; returns (and, in a notebook, shows) the verdict."""
    ex = REGISTRY[exercise_id]
    if answer is None:
        return CheckResult(exercise_id, "wrong", "no answer yet: set `answer` in the cell above and run this one again.")
    want = ex.expected()
    if isinstance(want, str):
        if not isinstance(answer, str):
            raise InputError("answer", f"one of {', '.join(ex.choices) or 'a string'}", answer)
        ok = answer.strip().lower() == want.lower()
        status, message = ("correct", f"{want}.") if ok else ("wrong", ex.hint or "Look again at what limits it.")
    else:
        got = _as_number(answer, ex.unit, exercise_id)
        error = abs(got - want) / abs(want) if want else abs(got)
        unit = f" {ex.unit}" if ex.unit else ""
        from mlsysim.show import sig

        def shown_(x):
            return f"{int(x):,}" if float(x).is_integer() else sig(x, 4)

        shown, target = shown_(got), shown_(want)
        if error <= ex.tolerance:
            within = "matches" if ex.tolerance == 0 else f"is within {ex.tolerance:.0%} of"
            status, message = "correct", f"{shown}{unit} {within} the engine's {target}{unit}."
        elif error <= ex.close:
            status, message = "close", f"{shown}{unit} is {error:.0%} away; within {ex.tolerance:.0%} counts. {ex.hint}".strip()
        else:
            status, message = "wrong", ex.hint or "Recheck your arithmetic and units."
    return CheckResult(exercise_id, status, message)


class ClaimError(AssertionError):
    """A number stated in a chapter no longer matches the engine."""


@dataclass(frozen=True)
class Claim:
    text: str
    value: float
    stated: float
    rel: float

    def __repr__(self) -> str:
        return f"claim holds: {self.text} (engine {self.value:.4g}, stated {self.stated:.4g}, within {self.rel:.0%})"


def claim(text: str, value, stated: float, rel: float = 0.05) -> Claim:
    """Assert that the engine's ``value`` is within ``rel`` of the ``stated`` number."""
    value = float(value.magnitude if hasattr(value, "magnitude") else value)
    if not abs(value - stated) <= rel * abs(stated):
        raise ClaimError(f"claim '{text}' no longer holds: the engine gives {value:.4g}, the text states "
                         f"{stated:.4g} (tolerance {rel:.0%}). Update the text to the engine's number.")
    return Claim(text, value, stated, rel)
