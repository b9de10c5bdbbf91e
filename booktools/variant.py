"""`variant`: run a copy of a chapter with other inputs (an instructor's variant).

``python -m booktools variant reasoning-cost -p GPU B200 -p LOAD_QPS 500`` converts the chapter,
injects the new values in a cell right after its ``parameters`` cell (the papermill convention:
the cell is tagged ``injected-parameters``; each value is read as a Python literal, else kept as
a string), executes that copy and writes, under ``_build/variants/<chapter>-<slug>/``:

- ``<chapter>.ipynb``: the executed variant (every inline expression re-evaluated, so every
  prose number is the variant's; exercise checks read the notebook's globals, so they follow
  the variant's inputs too);
- ``<chapter>.html``: its preview page (instructor edition: solutions shown), opening with a
  note that names the inputs and lists any claim that no longer holds;
- ``claims.json``: the claims report (below).

Claims are re-checked, and one that fails is **reported, not hidden**: every hidden guard cell
(``#| include: false``) is split into one cell per statement, so each ``assert`` and
``claim(...)`` is checked on its own, and the copy runs on past a failing one. The report lists
each failing claim with its cell, its ``.qmd`` line, its statement and its message.

Exit status: 0 when every claim holds; **1 when the variant was written but some claims fail**
(the title, say, states a number that the new inputs move); 2 when the variant cannot be made
(an unknown chapter or parameter, a value that is not valid, or a cell other than a guard that
raises: nothing is written then).

The chapter's ``.qmd`` and its golden are never touched; every file is written atomically.
"""
from __future__ import annotations

import ast
import copy
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell

from . import convert, execute, golden, qmd
from .errors import BookError
from .project import Book, write_atomic

GUARD_ERRORS = ("AssertionError", "ClaimError")


@dataclass(frozen=True)
class FailedClaim:
    """A guard statement that no longer holds in the variant."""

    cell: str          # the variant notebook's cell id
    line: int | None   # the statement's line in the chapter's .qmd
    statement: str     # the assert or claim(...) source
    message: str       # the error it raised

    def __str__(self) -> str:
        return f"line {self.line}, cell {self.cell}: {self.message}"


@dataclass
class Variant:
    """A chapter run with other inputs: the executed notebook and the claims that fail."""

    chapter: str
    parameters: dict
    notebook: nbformat.NotebookNode
    failed: list
    checked: int          # guard statements checked

    @property
    def slug(self) -> str:
        return slug(self.parameters)


def parse_value(text: str):
    """A value given on the command line: a Python literal (500, 0.05, True, "H100", [1, 2]),
    else the text itself as a string (B200)."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def parse_pairs(pairs: list[list[str]] | None) -> dict:
    """``[["GPU", "B200"], ["LOAD_QPS", "500"]]`` -> ``{"GPU": "B200", "LOAD_QPS": 500}``."""
    values = {}
    for name, text in pairs or []:
        if name in values:
            raise BookError(None, None, f"parameter {name} is given twice (-p {name} ...)")
        values[name] = parse_value(text)
    return values


def slug(parameters: dict) -> str:
    """A folder-safe name for a set of inputs: ``{"GPU": "B200", "LOAD_QPS": 500}`` -> ``gpu-b200-load_qps-500``."""
    parts = []
    for name, value in parameters.items():
        parts += [name, value if isinstance(value, str) else repr(value)]
    text = re.sub(r"[^a-z0-9_.]+", "-", "-".join(str(p).lower() for p in parts)).strip("-.")
    return text[:80].rstrip("-.") or "defaults"


def parameters_cell(nb) -> int:
    """Index of the cell tagged ``parameters``."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            return index
    raise BookError(nb.metadata.get("booktools", {}).get("source"), None,
                    "this chapter has no cell tagged parameters (#| tags: [parameters]), so it has no variants")


def chapter_parameters(nb) -> dict:
    """Name -> default value (source text) of every UPPER_CASE name the parameters cell assigns."""
    cell = nb.cells[parameters_cell(nb)]
    body = "\n".join(l for l in cell.source.splitlines() if not qmd.OPTION.match(l))
    found = {}
    for stmt in ast.parse(body).body:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else \
            [stmt.target] if isinstance(stmt, ast.AnnAssign) and stmt.value is not None else []
        for target in targets:
            if isinstance(target, ast.Name) and target.id.isupper():
                found[target.id] = ast.get_source_segment(body, stmt.value)
    return found


def inject(nb, parameters: dict, path: Path | None = None):
    """A copy of ``nb`` with a cell assigning ``parameters`` right after its parameters cell."""
    known = chapter_parameters(nb)
    unknown = [name for name in parameters if name not in known]
    if unknown:
        listing = ", ".join(f"{k} (default {v})" for k, v in known.items())
        raise BookError(path, None, f"unknown parameter {unknown[0]} for chapter "
                        f"{nb.metadata.get('booktools', {}).get('chapter', '?')}; its parameters are: {listing}")
    nb = copy.deepcopy(nb)
    index = parameters_cell(nb)
    source = "# Parameters of this variant (injected by python -m booktools variant)\n" + \
        "".join(f"{name} = {value!r}\n" for name, value in parameters.items())
    cell = new_code_cell(source.rstrip("\n"))
    cell.id = f"{nb.metadata.get('booktools', {}).get('chapter', 'chapter')}-injected-parameters"[-64:]
    cell.metadata["tags"] = ["injected-parameters"]
    cell.metadata["booktools"] = {"line": nb.cells[index].metadata.get("booktools", {}).get("line"),
                                  "kind": "injected-parameters"}
    nb.cells.insert(index + 1, cell)
    return nb


def _is_guard(stmt) -> bool:
    """An ``assert`` or a ``claim(...)`` call anywhere in the statement (a loop of claims counts)."""
    return any(isinstance(node, ast.Assert) or (
        isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "claim")
        for node in ast.walk(stmt))


def split_guards(nb):
    """Split every hidden cell (tag ``remove-cell``) holding ``assert`` or ``claim(...)`` into one
    cell per top-level statement, so each guard is checked on its own; returns the count of guards."""
    cells, guards = [], 0
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type != "code" or "remove-cell" not in tags:
            cells.append(cell)
            continue
        lines = cell.source.splitlines()
        n = 0
        while n < len(lines) and qmd.OPTION.match(lines[n]):
            n += 1
        body = "\n".join(lines[n:])
        try:
            tree = ast.parse(body)
        except SyntaxError:
            cells.append(cell)
            continue
        if not any(_is_guard(s) for s in tree.body):
            cells.append(cell)
            continue
        base = cell.metadata.get("booktools", {}).get("line") or 0
        body_lines = body.splitlines()
        for k, stmt in enumerate(tree.body):
            # each part keeps the cell's #| options (include: false), so it stays hidden everywhere
            part = new_code_cell("\n".join(lines[:n] + body_lines[stmt.lineno - 1:stmt.end_lineno]))
            part.id = f"{cell.id}-{k}"[-64:]
            part.metadata = copy.deepcopy(cell.metadata)
            # the cell's line is its ``` fence; its options come first, then the statement
            part.metadata["booktools"] = {**part.metadata.get("booktools", {}),
                                          "line": base + n + stmt.lineno,
                                          "guard": _is_guard(stmt)}
            guards += _is_guard(stmt)
            cells.append(part)
    nb.cells = cells
    return guards


def _error(cell):
    return next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)


def run(book: Book, name: str, parameters: dict) -> Variant:
    """Execute a copy of chapter ``name`` with ``parameters``; raises BookError if a cell other
    than a guard fails."""
    path = book.chapter(name)
    nb = inject(convert.to_notebook(qmd.parse(path), book.root), parameters, path)
    checked = split_guards(nb)
    nb = execute.execute(nb, cwd=path.parent, root=book.root, source=path, allow_errors=True)
    failed = []
    for cell in nb.cells:
        error = _error(cell)
        if error is None or "raises-exception" in cell.metadata.get("tags", []):
            continue
        meta = cell.metadata.get("booktools", {})
        if meta.get("guard") and error.get("ename") in GUARD_ERRORS:   # a claim or assert that fails
            message = error.get("evalue") or f"{error['ename']}: {cell.source.strip()}"
            statement = "\n".join(l for l in cell.source.splitlines() if not qmd.OPTION.match(l)).strip()
            failed.append(FailedClaim(cell.id, meta.get("line"), statement, message))
            continue
        raise BookError(path, meta.get("line"), f"the variant ({_describe(parameters)}) fails in cell "
                        f"{cell.id}: {error.get('ename')}: {error.get('evalue')}")
    nb.metadata.setdefault("booktools", {})["variant"] = {
        "parameters": {k: repr(v) for k, v in parameters.items()},
        "claims_checked": checked,
        "claims_failed": [asdict(f) for f in failed],
    }
    return Variant(path.stem, dict(parameters), nb, failed, checked)


def _describe(parameters: dict) -> str:
    return ", ".join(f"{k} = {v!r}" for k, v in parameters.items()) or "the chapter's own inputs"


def note(variant: Variant) -> str:
    """The markdown note that opens a variant's page: its inputs and the claims that fail."""
    text = [f"::: {{.callout-note title=\"Variant\"}}",
            f"This is a variant of the chapter with {_describe(variant.parameters)}; every number in "
            f"the text is recomputed for these inputs."]
    if variant.failed:
        text.append(f"\n{len(variant.failed)} of the chapter's {variant.checked} checked statements no longer "
                    f"hold with these inputs, so the text that states them (title, subtitle, or a comparison "
                    f"in words) does not describe this variant:\n")
        text += [f"- line {f.line}: {f.message}" for f in variant.failed]
    else:
        text.append(f"\nAll {variant.checked} of the chapter's checked statements still hold.")
    text.append(":::")
    return "\n".join(text)


def write(book: Book, variant: Variant, out_dir: Path | None = None) -> Path:
    """Write the variant's notebook, preview page and claims report; return the folder."""
    from . import preview

    out_dir = Path(out_dir) if out_dir else book.build_dir / "variants" / f"{variant.chapter}-{variant.slug}"
    out_dir = out_dir.resolve()
    for protected in (book.root / "tutorials", book.root / "tests" / "golden"):
        if out_dir == protected.resolve() or protected.resolve() in out_dir.parents:
            raise BookError(None, None, f"--out {out_dir}: a variant is never written into {book.rel(protected)}/")
    path = book.chapter(variant.chapter)
    nb = copy.deepcopy(variant.notebook)
    first = 1 if nb.cells and nb.cells[0].cell_type == "raw" else 0
    banner = new_markdown_cell(note(variant))
    banner.id = f"{variant.chapter}-variant-note"[-64:]
    banner.metadata["booktools"] = {"kind": "variant-note"}
    nb.cells.insert(first, banner)
    golden.normalize(nb)
    write_atomic(out_dir / f"{variant.chapter}.ipynb", convert.dumps(nb))
    report = {"chapter": variant.chapter, "parameters": {k: repr(v) for k, v in variant.parameters.items()},
              "claims_checked": variant.checked, "claims_failed": [asdict(f) for f in variant.failed]}
    write_atomic(out_dir / "claims.json", json.dumps(report, indent=2) + "\n")
    preview.render_page(book, path, nb, out_dir, instructor=True)
    return out_dir


def main(book: Book, name: str, pairs, out: str | None = None) -> int:
    """Run, write and report one variant (see the module docstring for the exit status)."""
    import time

    parameters = parse_pairs(pairs)
    start = time.perf_counter()
    variant = run(book, name, parameters)
    folder = write(book, variant, Path(out) if out else None)
    seconds = time.perf_counter() - start
    print(f"variant: {variant.chapter} with {_describe(parameters)} -> {book.rel(folder)}/ ({seconds:.1f} s)")
    if variant.failed:
        print(f"variant: {len(variant.failed)} of {variant.checked} claims no longer hold:")
        for f in variant.failed:
            print(f"  {book.rel(path_of(book, variant))}:{f.line} (cell {f.cell}): {f.message}")
        return 1
    print(f"variant: all {variant.checked} claims hold")
    return 0


def path_of(book: Book, variant: Variant) -> Path:
    return book.chapter(variant.chapter)
