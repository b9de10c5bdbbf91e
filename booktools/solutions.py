"""`solutions`: run every chapter's instructor notebook and require each exercise's
own check to say "correct" once its worked solution has run.

After the last cell of each exercise section a cell is added that re-evaluates
the section's ``check("<chapter>/<id>", ...)`` call and asserts its status, so a
solution that does not pass its own check fails with the .qmd line. (Custom because
this is the book's own convention; nbclient does the running.)
"""
from __future__ import annotations

import ast
import re
import sys

from nbformat.v4 import new_code_cell

from . import convert, execute, lint, qmd
from .errors import BookError
from .project import Book


def _check_calls(source: str) -> list[tuple[str, str]]:
    """(source text, exercise id) of each check("...", ...) call in a code cell."""
    body = "\n".join(l for l in source.splitlines() if not l.lstrip().startswith(("#|", "%", "!")))
    try:
        tree = ast.parse(body)
    except SyntaxError:
        return []
    return [(ast.get_source_segment(body, n), n.args[0].value) for n in ast.walk(tree)
            if isinstance(n, ast.Call) and getattr(n.func, "id", getattr(n.func, "attr", None)) == "check"
            and n.args and isinstance(n.args[0], ast.Constant) and isinstance(n.args[0].value, str)]


def instrument(nb) -> tuple[object, list[str]]:
    """Add an assertion cell after each exercise section's last cell."""
    cells, ids, pending = [], [], None

    def close():
        nonlocal pending
        if pending:
            call, ex_id, line = pending
            cell = new_code_cell(
                f"_r = {call}\n_s = getattr(_r, 'status', _r)\n"
                f"assert _s == 'correct', f'solution of {ex_id} (.qmd line {line}) is not correct: {{_r!r}}'")
            cell.id = f"solution-check-{len(ids)}"
            cell.metadata["booktools"] = {"line": line}
            cells.append(cell)
            ids.append(ex_id)
        pending = None

    for cell in nb.cells:
        if cell.cell_type == "markdown" and "solution" not in cell.metadata.get("tags", []):
            if re.search(r"^#{1,3}\s", cell.source, re.M):
                close()
        cells.append(cell)
        if cell.cell_type == "code":
            for call, ex_id in _check_calls(cell.source):
                pending = (call, ex_id, cell.metadata["booktools"]["line"])
    close()
    nb.cells = cells
    return nb, ids


def run(book: Book, path) -> list[str]:
    """Execute the chapter's instructor notebook with the checks; return exercise ids passed."""
    chapter = qmd.parse(path)
    nb, ids = instrument(convert.to_notebook(chapter, book.root))
    missing = set(lint.exercise_ids(chapter)) - set(ids)
    if missing:
        raise BookError(path, None, f"exercises without a runnable check: {sorted(missing)}")
    execute.execute(nb, cwd=path.parent, root=book.root, source=path)
    return ids


def main(book: Book, names: list[str] | None) -> int:
    failed = 0
    for path in book.select(names):
        if not lint.exercise_ids(qmd.parse(path)):
            continue
        try:
            ids = run(book, path)
            print(f"solutions: {book.rel(path)}: {len(ids)} exercise(s) correct")
        except BookError as exc:
            print(exc, file=sys.stderr)
            failed += 1
    return 1 if failed else 0
