"""Exercise metadata in the instructor edition: a note at the top of every worked solution.

Each exercise's kind, learning objective, estimated minutes and points live in the registry
(``mlsysim.exercises.REGISTRY``), next to its check. The instructor preview and the instructor
notebooks show them as the first line of the exercise's instructor block::

    *Exercise `roofline/fp8-crossing`: change one variable · 10 minutes · 2 points.
    Objective: See that a smaller number format moves ...*

The note is added to the notebook a page or notebook is built from, never to the ``.qmd``, so
it always states what the registry says now. A solution block belongs to the exercise whose
``check("<id>", ...)`` ran last before it (the section's answer check).

For Quarto (``quarto render --profile instructor``), :func:`main` writes every note to
``_build/exercise-notes.json`` and the filter ``booktools/quarto/exercise-notes.lua`` puts each
at the top of the instructor block under the heading ``### Exercise N: ... {#sec-ex-<id>}``.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

from . import lint, qmd
from .project import write_atomic


def note(exercise_id: str, registry=None) -> str:
    """The one-paragraph note for an exercise ('' if the registry does not know it)."""
    if registry is None:
        from mlsysim.exercises import REGISTRY as registry
    from mlsysim.exercises import KINDS

    if exercise_id not in registry:
        return ""
    ex = registry[exercise_id]
    minutes = f"{ex.minutes} minute{'s' if ex.minutes != 1 else ''}"
    points = f"{ex.points} point{'s' if ex.points != 1 else ''}"
    objective = f" Objective: {ex.objective}" if ex.objective else ""
    return f"*Exercise `{exercise_id}`: {KINDS.get(ex.kind, ex.kind)} · {minutes} · {points}.{objective}*"


def annotate(nb, registry=None):
    """A copy of ``nb`` whose instructor blocks each open with their exercise's note."""
    nb = copy.deepcopy(nb)
    current = None
    for cell in nb.cells:
        if cell.cell_type == "code":
            ids = lint.CHECK_ID.findall(cell.source)
            if ids and "solution" not in cell.metadata.get("tags", []):
                current = ids[-1]
            continue
        if cell.cell_type != "markdown" or current is None:
            continue
        lines = cell.source.split("\n")
        for i, line in enumerate(lines):
            if qmd.DIV_OPEN.match(line) and qmd.INSTRUCTOR.search(line):
                text = note(current, registry)
                if text:
                    lines.insert(i + 1, "\n" + text + "\n")
                current = None
                break
        cell.source = "\n".join(lines)
    return nb


#: Where ``python -m booktools exercise-notes`` writes the notes for the Quarto instructor profile.
NOTES_FILE = Path("_build") / "exercise-notes.json"


def notes(registry=None) -> dict:
    """Exercise id -> note (markdown), for every registered exercise."""
    if registry is None:
        from mlsysim.exercises import REGISTRY as registry
    return {exercise_id: note(exercise_id, registry) for exercise_id in sorted(registry.keys())}


def main(book, out: str | None = None) -> int:
    """Write every exercise's note as JSON (default ``_build/exercise-notes.json``), which the
    filter ``booktools/quarto/exercise-notes.lua`` reads when Quarto renders the instructor
    profile (``_quarto-instructor.yml`` runs this command as its pre-render step)."""
    target = Path(out) if out else book.root / NOTES_FILE
    write_atomic(target, json.dumps(notes(), indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"exercise-notes: {len(notes())} exercises -> {book.rel(target)}")
    return 0
