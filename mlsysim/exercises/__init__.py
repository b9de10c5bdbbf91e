"""Answer checks for the book's "Your Turn" exercises, and claims for chapter titles.

``check("<chapter>/<exercise>", answer)`` compares a student's answer with the
value the engine computes now (never a typed constant) and says correct, close
or wrong, with a hint when wrong. Exercises are registered per chapter in
``mlsysim/exercises/<chapter>.py`` with :func:`exercise`.

``claim(text, value, stated, rel)`` is how a chapter proves a number it cannot
compute inline (in a title, say): it raises when the engine's ``value`` is
further than ``rel`` from the ``stated`` number.

Self-study grades: ``check(id, answer, record_to="attempts.jsonl")`` (or the environment
variable ``MLSYSIM_ATTEMPTS=attempts.jsonl``) appends one JSON line per checked answer --
exercise id, chapter, the answer as text, the verdict, the chapter parameters it was checked
with and the time (ISO 8601, UTC) -- to a file a student can hand in;
``python -m booktools progress attempts.jsonl`` summarises it.
"""
from __future__ import annotations

import datetime
import html
import importlib
import inspect
import json
import os
import pkgutil
import re
from dataclasses import dataclass, field
from typing import Callable

from mlsysim.errors import InputError, UnknownNameError

__all__ = ["check", "claim", "expected", "exercise", "design_exercise", "Design", "design_answer", "one_of", "KINDS",
           "REGISTRY", "CheckResult", "ClaimError", "ATTEMPTS_ENV", "record_attempt"]

#: Environment variable naming the attempts file ``check`` appends to when ``record_to`` is not given.
ATTEMPTS_ENV = "MLSYSIM_ATTEMPTS"


#: The kinds of exercise a chapter sets (DESIGN.md, "Exercises"): each chapter has at least a
#: predict-then-compute, a change-one-variable and an open-design exercise.
KINDS = {
    "predict": "predict, then compute",
    "change": "change one variable",
    "connect": "connect to another chapter",
    "design": "open design under a budget",
}


@dataclass(frozen=True)
class Exercise:
    """One exercise: how to compute its answer, how close is close, a hint, and what it teaches.

    ``compute`` takes no positional arguments; its keyword arguments in UPPER_CASE are the
    chapter's parameters (``GPU="H100"``, ``LOAD_QPS=1000``): :func:`check` fills them from the
    caller's explicit keywords, else from the notebook's globals of that name (so a chapter run
    with other parameters checks against its own numbers), else the defaults.
    A design exercise (``kind="design"``) has ``evaluate(answer, **params) -> Design`` instead of
    a single right value.
    """

    id: str
    compute: Callable[..., object] | None
    unit: str | None = None
    tolerance: float = 0.05
    close: float = 0.15
    hint: str = ""
    wrong: Callable[[object], object] | None = None
    choices: tuple = field(default=())
    kind: str = "predict"
    objective: str = ""
    minutes: int = 10
    points: int = 1
    evaluate: Callable[..., "Design"] | None = None
    answer_format: str = ""

    @property
    def parameters(self) -> dict:
        """The chapter parameters this exercise reads, with their defaults."""
        fn = self.evaluate or self.compute
        return {name: p.default for name, p in inspect.signature(fn).parameters.items()
                if name.isupper() and p.default is not inspect.Parameter.empty}

    def resolve(self, overrides: dict | None = None) -> dict:
        """Parameter values: explicit overrides, else the notebook's globals, else the defaults."""
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(self.parameters))
        if unknown:
            raise InputError(unknown[0], f"a parameter of {self.id} ({', '.join(self.parameters) or 'none'})",
                             overrides[unknown[0]])
        namespace = _notebook_globals()
        return {name: overrides.get(name, namespace.get(name, default)) for name, default in self.parameters.items()}

    def expected(self, **overrides):
        """The engine's answer now (for a design exercise: the best design found)."""
        params = self.resolve(overrides)
        if self.evaluate is not None:
            return self.evaluate(None, **params).best_design
        value = self.compute(**params)
        if self.unit and hasattr(value, "to"):
            return value.to(self.unit).magnitude
        if hasattr(value, "to") and str(value.dimensionality) == "dimensionless":
            return value.to("").magnitude
        return value

    def wrong_example(self, **overrides):
        """An answer that is obviously wrong (for tests of the check itself)."""
        if self.evaluate is not None:
            if self.wrong is None:
                raise ValueError(f"design exercise {self.id} needs wrong=<callable returning a bad design>")
            return self.wrong(self.expected(**overrides))
        value = self.expected(**overrides)
        if self.wrong is not None:
            return self.wrong(value)
        if isinstance(value, str):
            return next(c for c in self.choices if c != value) if self.choices else value + "?"
        return value * 10


@dataclass(frozen=True)
class Design:
    """How a proposed design fares: whether it ``meets`` the constraints (and why not), its
    ``score`` (lower is better: dollars, seconds, ...), the ``best`` score the engine finds, and
    that best design. ``evaluate(None, ...)`` returns the best design with its own score."""

    meets: bool
    score: float
    best: float
    best_design: object
    reasons: tuple = ()
    unit: str = ""
    summary: str = ""


def design_answer(answer, keys, example: str, *, exact: bool = True) -> dict:
    """A design a student passed, checked for shape: a dict holding every one of ``keys`` (and
    no other key when ``exact``). Otherwise an :class:`InputError` naming ``answer`` that says
    which keys are missing or unknown and shows ``example``, e.g. ``"{'gpus': 8}"``."""
    keys = tuple(keys)
    if not isinstance(answer, dict):
        raise InputError("answer", f"a dict such as {example}", type(answer).__name__)
    missing = [k for k in keys if k not in answer]
    unknown = sorted(map(str, set(answer) - set(keys))) if exact else []
    if missing or unknown:
        got = (f"a dict without {', '.join(map(repr, missing))}" if missing
               else f"a dict with the unknown key(s) {', '.join(map(repr, unknown))}")
        raise InputError("answer", f"a dict with the keys {', '.join(keys)}, such as {example}", got)
    return answer


def one_of(value, name: str, options):
    """``value`` when it is one of ``options``, else an :class:`InputError` naming ``name`` and
    listing them (True and False are not numbers here, though Python equates True with 1)."""
    is_flag = isinstance(value, bool) and not any(isinstance(o, bool) for o in options)
    if is_flag or value not in options:
        raise InputError(name, f"one of {', '.join(map(str, options))}", value)
    return value


def _notebook_globals() -> dict:
    """The interactive namespace of a running IPython/Jupyter session, or {} in plain Python."""
    import sys

    if "IPython" not in sys.modules:
        return {}
    shell = sys.modules["IPython"].get_ipython()
    return getattr(shell, "user_ns", {}) if shell is not None else {}


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


def _register(exercise: Exercise):
    if exercise.kind not in KINDS:
        raise ValueError(f"exercise {exercise.id}: kind must be one of {', '.join(KINDS)}, got {exercise.kind!r}")
    dict.__setitem__(REGISTRY, exercise.id, exercise)


def exercise(exercise_id: str, *, unit=None, tolerance=0.05, close=0.15, hint="", wrong=None, choices=(),
             kind="predict", objective="", minutes=10, points=1):
    """Decorator: register ``fn`` (returns the expected answer; UPPER_CASE keyword arguments are
    chapter parameters, see :class:`Exercise`) as an exercise of ``kind`` (see :data:`KINDS`)."""
    def register(fn):
        _register(Exercise(exercise_id, fn, unit, tolerance, close, hint, wrong, tuple(choices), kind, objective,
                           minutes, points))
        return fn
    return register


def design_exercise(exercise_id: str, *, tolerance=0.05, close=0.15, hint="", wrong=None, objective="",
                    minutes=20, points=3, answer_format=""):
    """Decorator: register ``evaluate(answer, **params) -> Design`` as an open-design exercise.

    Several answers can be right: a design is correct when it meets every constraint and its
    score is within ``tolerance`` of the best the engine finds (``close`` for "close").
    ``evaluate(None, ...)`` must return the best design. ``wrong`` turns the best design into
    an obviously wrong one (for the tests of the check). ``answer_format`` tells the student
    what to pass, e.g. ``"a dict: {'hardware': 'H100', 'tensor_parallel': 4}"``.
    """
    def register(fn):
        _register(Exercise(exercise_id, None, None, tolerance, close, hint, wrong, (), "design", objective, minutes,
                           points, fn, answer_format))
        return fn
    return register


def expected(exercise_id: str, **parameters):
    """The engine's current answer to an exercise (for a design exercise, the best design)."""
    return REGISTRY[exercise_id].expected(**parameters)


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


_NUMBER_TEXT = re.compile(r"^\s*[-+]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][-+]?\d+)?\s*$")


def _as_number(answer, unit, exercise_id):
    """A plain float from a number, a numeric string or a Quantity; a clear error otherwise."""
    what = f"a number in {unit}" if unit else "a plain number"
    example = "1.5" if not unit else f"1.5 (meaning 1.5 {unit}), or a Quantity such as r.ttft"
    if hasattr(answer, "to") and hasattr(answer, "magnitude"):
        magnitude = answer.magnitude
        if getattr(magnitude, "ndim", 0):
            raise InputError("answer", f"{what} (one value, not an array); e.g. answer = {example}",
                             f"an array of shape {magnitude.shape}")
        if unit:
            try:
                return float(answer.to(unit).magnitude)
            except Exception:
                raise InputError("answer", f"a quantity convertible to {unit}", f"{answer:~P}",
                                 detail=f"{exercise_id} is answered in {unit}") from None
        if str(answer.dimensionality) == "dimensionless":
            return float(answer.to("").magnitude)
        raise InputError("answer", f"a plain number for {exercise_id}", f"{answer:~P}",
                         detail="the answer has no unit: divide to a ratio or take .magnitude after converting")
    if isinstance(answer, str):
        if _NUMBER_TEXT.match(answer) and any(ch.isdigit() for ch in answer):
            return float(answer.replace(",", ""))
        raise InputError("answer", f"{what}; e.g. answer = {example}", answer)
    if isinstance(answer, bool) or answer is None:
        raise InputError("answer", f"{what}; e.g. answer = {example}", answer)
    try:
        import numpy as np

        if isinstance(answer, np.ndarray):
            if answer.size != 1:
                raise InputError("answer", f"{what} (one value, not an array); e.g. answer = {example}",
                                 f"an array of shape {answer.shape}")
            return float(answer.reshape(()))
        if isinstance(answer, np.generic):
            return float(answer)
    except ImportError:  # pragma: no cover
        pass
    if isinstance(answer, (int, float)):
        return float(answer)
    raise InputError("answer", f"{what}; e.g. answer = {example}", type(answer).__name__)


def _shown(x) -> str:
    from mlsysim.show import sig

    return f"{int(x):,}" if float(x).is_integer() else sig(x, 4)


def check(exercise_id: str, answer, record_to: str | os.PathLike | None = None, **parameters) -> CheckResult:
    """Check ``answer`` against the engine; returns (and, in a notebook, shows) the verdict.

    ``answer`` is a number, a numeric string, a Quantity (converted to the exercise's unit, or a
    dimensionless ratio), a string for a multiple-choice exercise, or a design (a dict) for an
    open-design exercise. ``parameters`` override the chapter parameters the exercise reads
    (see :class:`Exercise`); by default they come from the notebook.

    ``record_to`` (else the environment variable ``MLSYSIM_ATTEMPTS``) names a JSON-lines file
    to which the attempt is appended (see :func:`record_attempt`); the path is checked before
    the answer, so a bad path fails at once. No answer yet (``None``) is not an attempt.
    """
    target, source = (record_to, "record_to") if record_to is not None else (os.environ.get(ATTEMPTS_ENV) or None,
                                                                            ATTEMPTS_ENV)
    if target is not None:
        target = _attempts_path(target, source)
    ex = REGISTRY[exercise_id]
    if answer is None:
        return CheckResult(exercise_id, "wrong", "no answer yet: set answer in the cell above and run this one again.")
    params = ex.resolve(parameters)
    result = _check_design(ex, answer, params) if ex.evaluate is not None else _check_value(ex, answer, params)
    if target is not None:
        record_attempt(target, result, answer, params, parameter=source)
    return result


def _check_value(ex: "Exercise", answer, params: dict) -> CheckResult:
    exercise_id = ex.id
    want = ex.expected(**params)
    if isinstance(want, str):
        if not isinstance(answer, str):
            raise InputError("answer", f"one of {', '.join(repr(c) for c in ex.choices) or 'a string'}", answer)
        ok = answer.strip().lower() == want.lower()
        status, message = ("correct", f"{want}.") if ok else ("wrong", ex.hint or "Look again at what limits it.")
        return CheckResult(exercise_id, status, message)
    got = _as_number(answer, ex.unit, exercise_id)
    error = abs(got - want) / abs(want) if want else abs(got)
    unit = f" {ex.unit}" if ex.unit else ""
    shown, target = _shown(got), _shown(want)
    if error <= ex.tolerance:
        within = "matches" if ex.tolerance == 0 else f"is within {ex.tolerance:.0%} of"
        status, message = "correct", f"{shown}{unit} {within} the engine's {target}{unit}."
    elif error <= ex.close:
        status, message = "close", f"{shown}{unit} is {error:.0%} away; within {ex.tolerance:.0%} counts. {ex.hint}".strip()
    else:
        status, message = "wrong", ex.hint or "Recheck your arithmetic and units."
    return CheckResult(exercise_id, status, message)


def _attempts_path(value, parameter: str) -> str:
    """The attempts file as a path string; InputError naming ``parameter`` when it cannot be one."""
    expected = "a path to a file to append attempts to, e.g. 'attempts.jsonl' (its folder must exist)"
    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)):
        raise InputError(parameter, expected, value)
    path = os.fspath(value)
    if not path.strip():
        raise InputError(parameter, expected, value)
    if os.path.isdir(path):
        raise InputError(parameter, expected, path, detail="that is a folder")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(parameter, expected, path, detail=f"the folder {folder} does not exist")
    return path


def _answer_text(answer) -> str:
    """An answer as text for the attempts file: strings as typed, Quantities with their unit."""
    if isinstance(answer, str):
        return answer
    if hasattr(answer, "magnitude") and hasattr(answer, "units"):
        return f"{answer.magnitude!r} {answer.units:~}".strip()
    try:
        import numpy as np

        if isinstance(answer, np.generic):
            return repr(answer.item())
    except ImportError:  # pragma: no cover
        pass
    return repr(answer)


def record_attempt(path, result: CheckResult, answer, parameters: dict | None = None,
                   parameter: str = "record_to") -> dict:
    """Append one attempt to the JSON-lines file ``path`` and return the record.

    The record is ``{"time", "exercise", "chapter", "answer", "verdict", "parameters"}``
    (``time`` in ISO 8601, UTC; ``answer`` as text; ``verdict`` correct/close/wrong). The file
    is opened in append mode and the whole line goes out in one ``write`` followed by an fsync,
    so earlier attempts are never rewritten and a crash loses at most the line being written.
    A path that cannot be written raises :class:`InputError` naming ``parameter``.
    """
    path = _attempts_path(path, parameter)
    record = {
        "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "exercise": result.exercise_id,
        "chapter": result.exercise_id.split("/", 1)[0],
        "answer": _answer_text(answer),
        "verdict": result.status,
        "parameters": {k: v if isinstance(v, (str, int, float, bool)) or v is None else str(v)
                       for k, v in (parameters or {}).items()},
    }
    line = (json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise InputError(parameter, "a path to a file this user can write", path,
                         detail=exc.strerror or str(exc)) from None
    try:
        written = os.write(fd, line)
        while written < len(line):      # a short write: finish the line (still appended at the end)
            written += os.write(fd, line[written:])
        os.fsync(fd)
    finally:
        os.close(fd)
    return record


def _check_design(ex: Exercise, answer, params) -> CheckResult:
    try:
        verdict = ex.evaluate(answer, **params)
    except InputError as exc:
        fmt = f" Expected {ex.answer_format}." if ex.answer_format else ""
        return CheckResult(ex.id, "wrong", f"this design cannot be evaluated: {exc}.{fmt}")
    unit = f" {verdict.unit}" if verdict.unit else ""
    if not verdict.meets:
        why = "; ".join(verdict.reasons) or "it misses a constraint"
        return CheckResult(ex.id, "wrong", f"the design does not meet the targets: {why}. {ex.hint}".strip())
    gap = verdict.score / verdict.best - 1 if verdict.best else 0.0
    score = f"{_shown(verdict.score)}{unit}"
    if gap <= ex.tolerance:
        return CheckResult(ex.id, "correct", f"meets every target at {score}, within {ex.tolerance:.0%} of the "
                                             f"best the engine finds ({_shown(verdict.best)}{unit}).")
    status = "close" if gap <= ex.close else "wrong"
    return CheckResult(ex.id, status, f"meets every target, but at {score} it is {gap:.0%} above the best the "
                                      f"engine finds; within {ex.tolerance:.0%} counts. {ex.hint}".strip())


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
