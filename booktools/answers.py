"""Lint: no exercise's answer is printed in its own chapter.

An exercise that asks for a number the page already shows teaches copying, not reasoning. For
every exercise a chapter checks, this compares the engine's expected answer (computed with the
chapter's default parameters) with everything a student reads: the prose with its inline values
and every output of every cell that is not instructor-only, taken from the chapter's golden.

A value counts as printed when it appears, as a whole number token, in any of the forms a
chapter would print it: 3 to 5 significant figures, with or without thousands separators, 2 to
4 with a k/M/B/T scale, or as a percentage of a fraction. Integers below 100 and design exercises (whose answer is a
design, not a number) are not checked: small counts appear everywhere for other reasons.

Why our own code: this is the book's own rule (DESIGN.md, "Exercises"); it needs the engine's
exercise registry and the golden's outputs, which no general linter knows.
"""
from __future__ import annotations

import html
import math
import re
from pathlib import Path

import nbformat

from . import lint, qmd
from .errors import BookError

_TAGS = re.compile(r"<[^>]+>")


def _visible_text(nb) -> str:
    """Prose (with inline values substituted by their outputs) and the outputs of non-solution cells."""
    parts = []
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "solution" in tags:
            continue
        if cell.cell_type == "markdown":
            parts.append(cell.source)
            continue
        if cell.cell_type != "code" or "remove-cell" in tags:
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append("".join(out.get("text", "")))
            bundle = out.get("data", {})
            # a figure's text/plain ("<Figure size 600x400 with 1 Axes>") is a fallback no reader sees
            image = any(mime.startswith("image/") for mime in bundle)
            for mime in ("text/markdown", "text/html") if image else ("text/plain", "text/markdown", "text/html"):
                data = bundle.get(mime)
                if data:
                    text = "".join(data)
                    parts.append(html.unescape(_TAGS.sub(" ", text)) if mime == "text/html" else text)
    return "\n".join(parts)


def printed_forms(value: float) -> set[str]:
    """The strings a chapter would print ``value`` as: 3 to 5 significant figures with or without
    thousands separators, 2 to 4 scaled with k/M/B/T (as ``mlsysim.show.money`` prints dollars), and a
    fraction below 1 as a percentage."""
    forms = set()
    x = abs(float(value))
    if x == 0 or not math.isfinite(x):
        return forms
    magnitude = int(math.floor(math.log10(x)))
    for digits in (2, 3, 4, 5):
        places = digits - 1 - magnitude
        rounded = round(x, places)
        decimals = max(places, 0)
        if digits > 2:                  # two figures alone match too much by coincidence
            forms.add(f"{rounded:,.{decimals}f}")
            forms.add(f"{rounded:.{decimals}f}")
        for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
            if x >= scale:
                scaled = x / scale
                d = max(digits - 1 - int(math.floor(math.log10(scaled))), 0)
                forms.add(f"{round(scaled, d):.{d}f}{suffix}")
                break
    if x < 1:
        forms |= {f"{x * 100:.{d}f}%" for d in (0, 1, 2)}
    # a form must carry at least two significant digits to mean anything
    return {f for f in forms if len(re.sub(r"\D", "", f).lstrip("0")) >= 2}


def _appears(form: str, text: str) -> bool:
    return re.search(rf"(?<![\d.,]){re.escape(form)}(?![\d]|[.,]\d)", text) is not None


def lint_printed_answers(path: Path, golden: Path) -> list[BookError]:
    """Errors for exercises of the chapter at ``path`` whose answer appears in its golden's visible text."""
    from mlsysim.exercises import REGISTRY

    chapter = qmd.parse(path)
    ids = lint.exercise_ids(chapter)
    if not ids or not golden.is_file():
        return []
    text = _visible_text(nbformat.read(golden, as_version=4))
    errors = []
    for ex_id in ids:
        if ex_id not in REGISTRY:
            continue
        ex = REGISTRY[ex_id]
        if ex.evaluate is not None:
            continue
        want = ex.expected()
        if isinstance(want, str) or isinstance(want, bool):
            continue
        value = float(want)
        if value.is_integer() and abs(value) < 100:
            continue
        shown = sorted(f for f in printed_forms(value) if _appears(f, text))
        if shown:
            line = next((e["line"] for e in lint.exercises(chapter) if e["label"] == f"sec-ex-{ex_id.split('/', 1)[1]}"),
                        None)
            errors.append(BookError(path, line, f"exercise {ex_id}: its answer ({shown[0]}) is printed on the page; "
                                                "ask for something the chapter does not show"))
    return errors
