"""Autograder tests for the book's exercises, as nbgrader assignments run them.

An assignment notebook (``python -m booktools assignments``) gives every exercise an answer
cell, which the student fills in, and a locked test cell. The test cell calls
:func:`require_correct`: the engine's own :func:`mlsysim.exercises.check` must say
"correct", or the cell raises and nbgrader gives no points.

Its hidden part calls :func:`require_correct_variant`, which re-runs the student's answer
cell, and the chapter cells it builds on, with one chapter parameter changed (another GPU,
another load) in a copy of the notebook's namespace, and checks that answer against the
engine with the changed parameter. An answer cell that computes from the parameters passes
both; a typed number passes only the first.

The student's answer cell is found in IPython's input history by its first line,
:func:`answer_marker` (the grader re-runs the last execution of that cell).
"""
from __future__ import annotations

import contextlib
import io

__all__ = ["answer_marker", "require_correct", "require_correct_variant", "GradingError"]


class GradingError(AssertionError):
    """An exercise's answer is not correct (an autograder test fails with this)."""


def answer_marker(exercise_id: str) -> str:
    """The start of the first line of an exercise's answer cell, by which the grader finds the cell again
    (a comment may follow it on the same line)."""
    return f"# answer: {exercise_id}"


def require_correct(exercise_id: str, answer, **parameters):
    """Raise :class:`GradingError` unless ``check(exercise_id, answer)`` says "correct".

    ``parameters`` override the chapter parameters the exercise reads (by default they come
    from the notebook). Returns the verdict, so a notebook shows it.
    """
    from mlsysim.exercises import check

    verdict = check(exercise_id, answer, **parameters)
    if verdict.status != "correct":
        raise GradingError(repr(verdict))
    return verdict


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - the grader always runs in a kernel
        get_ipython = None
    shell = get_ipython() if get_ipython else None
    if shell is None:
        raise GradingError("the hidden test re-runs notebook cells: run it in a Jupyter kernel")
    return shell


def _answer_source(shell, exercise_id: str) -> str:
    """The source of the latest execution of the exercise's answer cell."""
    marker = answer_marker(exercise_id)
    history = shell.user_ns.get("In") or shell.user_ns.get("_ih") or []
    for source in reversed(history):
        lines = source.lstrip().splitlines()
        if lines and lines[0].split()[:3] == marker.split():
            return source
    raise GradingError(f"the grader cannot find the answer cell of {exercise_id}: its first line must stay "
                       f"{marker!r}, and the cell must have run")


def _run(shell, namespace: dict, source: str, where: str):
    code = shell.transform_cell(source)
    try:
        exec(compile(code, f"<{where}>", "exec"), namespace)
    except Exception as exc:
        raise GradingError(f"{where} raised {type(exc).__name__}: {exc}") from exc


def require_correct_variant(exercise_id: str, variant: dict, parameters_cell: str, cells=()):
    """Re-run the exercise with other chapter parameters; raise unless the answer is still correct.

    ``variant`` maps chapter parameters to their other values (e.g. ``{"GPU": "H200"}``), each
    one a parameter the exercise reads. In a copy of the notebook's namespace this runs the
    chapter's ``parameters_cell``, sets the variant, runs ``cells`` (the chapter cells that
    read the changed parameters, in order), then the student's answer cell as last executed,
    and checks the ``answer`` it leaves against the engine's answer for the variant.
    The notebook's own namespace is not changed.
    """
    from mlsysim.errors import InputError
    from mlsysim.exercises import REGISTRY

    exercise = REGISTRY[exercise_id]
    unknown = sorted(set(variant) - set(exercise.parameters))
    if unknown:
        raise InputError(unknown[0], f"a parameter that {exercise_id} reads ({', '.join(exercise.parameters)})",
                         variant[unknown[0]])
    shell = _shell()
    answer_cell = _answer_source(shell, exercise_id)
    namespace = dict(shell.user_ns)
    shown = ", ".join(f"{k}={v!r}" for k, v in variant.items())
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        _run(shell, namespace, parameters_cell, "the parameters cell")
        namespace.update(variant)
        for i, cell in enumerate(cells):
            _run(shell, namespace, cell, f"chapter cell {i + 1} of {len(cells)} re-run with {shown}")
        namespace["answer"] = None
        _run(shell, namespace, answer_cell, f"your answer cell re-run with {shown}")
        _close_figures(namespace)
    params = {name: namespace[name] for name in exercise.parameters if name in namespace}
    from mlsysim.exercises import check

    verdict = check(exercise_id, namespace.get("answer"), **params)
    if verdict.status != "correct":
        raise GradingError(f"with {shown} (hidden test) your answer cell is not correct: {verdict!r}")
    return verdict


def _close_figures(namespace: dict) -> None:
    """Figures a re-run drew are not shown (the hidden test prints nothing of its own)."""
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
