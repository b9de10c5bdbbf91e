"""`check`: goldens fresh and fully executed, nbval on every golden, and the lints.

nbval does the re-execution and output comparison; this module only decides
which notebooks to give it and translates its "Cell N" back to .qmd lines.
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import nbformat

from . import answers, convert, execute, golden, lint, qmd
from .errors import BookError
from .project import Book

SANITIZE = Path(__file__).with_name("nbval_sanitize.cfg")


def _comparable(cell) -> tuple:
    return (cell.cell_type, cell.source, sorted(cell.metadata.get("tags", [])))


def _first_difference(a: str, b: str) -> int:
    """Index of the first line where two sources differ."""
    a_lines, b_lines = a.splitlines(), b.splitlines()
    for i, (x, y) in enumerate(zip(a_lines, b_lines)):
        if x != y:
            return i
    return min(len(a_lines), len(b_lines))


def check_golden(book: Book, path: Path) -> list[BookError]:
    """Is tests/golden/<chapter>.ipynb present, made from this .qmd, and executed?"""
    target = book.golden(path)
    regen = f"run `python -m booktools golden {path.stem}`"
    if not target.is_file():
        return [BookError(path, 1, f"no golden {book.rel(target)}; {regen}")]
    try:
        stored = nbformat.read(target, as_version=4)
    except Exception as exc:  # unreadable JSON is a user-fixable state
        return [BookError(target, None, f"golden is not a readable notebook ({exc}); {regen}")]
    chapter = qmd.parse(path)
    fresh = convert.to_notebook(chapter, book.root)
    errors = []
    for new, old in zip(fresh.cells, stored.cells):
        if _comparable(new) != _comparable(old):
            # the same source with another type or other tags: the cell's first line
            same = new.source == old.source
            line = new.metadata["booktools"]["line"] + (0 if same else _first_difference(new.source, old.source))
            if new.cell_type == "code" and new.metadata["booktools"].get("kind") != "inline":
                line += 1   # code starts after its ``` fence line
            errors.append(BookError(path, line, f"golden {book.rel(target)} is stale: cell {new.id} "
                                    f"differs from the .qmd from here on; {regen}"))
            break
    else:
        if len(fresh.cells) != len(stored.cells):
            n = min(len(fresh.cells), len(stored.cells))
            line = fresh.cells[n].metadata["booktools"]["line"] if n < len(fresh.cells) else \
                fresh.cells[-1].metadata["booktools"]["line"]
            errors.append(BookError(path, line, f"golden {book.rel(target)} is stale: the .qmd has "
                                    f"{len(fresh.cells)} cells, the golden {len(stored.cells)}; {regen}"))
        elif stored.metadata.get("booktools", {}).get("source_sha256") != chapter.sha256:
            errors.append(BookError(path, 1, f"golden {book.rel(target)} is stale: the .qmd changed "
                                    f"since it was made; {regen}"))
    for cell in stored.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "code" and cell.execution_count is None and "skip-execution" not in tags:
            line = cell.metadata.get("booktools", {}).get("line")
            errors.append(BookError(path, line, f"golden {book.rel(target)} has an unexecuted code cell "
                                    f"{cell.id}; {regen}"))
            break
    return errors


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _reason(section: str) -> str:
    """One line saying why nbval failed a cell: the value that moved, or the exception."""
    moved = re.search(r"reference_output == test_output failed:\s*\n\s*(.+?) == (.+?)\s*$", section, re.M)
    if moved:
        try:
            old, new = ast.literal_eval(moved.group(1)), ast.literal_eval(moved.group(2))
        except (ValueError, SyntaxError):
            return f"golden {moved.group(1)[:150]}, now {moved.group(2)[:150]}"
        # pytest shortens long values to 'abc...xyz'; its diff lines (- now, + golden) are whole
        minus = re.search(r"^\s+- (.*)$", section[moved.end():], re.M)
        plus = re.search(r"^\s+\+ (.*)$", section[moved.end():], re.M)
        if "..." in old + new and minus and plus:
            old, new = plus.group(1), minus.group(1)
        if len(old) + len(new) > 80:     # long outputs (HTML tables): show where they part
            i = next((k for k, (x, y) in enumerate(zip(old, new)) if x != y), min(len(old), len(new)))
            lo = max(0, i - 35)
            old, new = (("…" if lo else "") + t[lo:i + 25] + ("…" if len(t) > i + 25 else "") for t in (old, new))
        return f"golden {old!r}, now {new!r}"
    raised = re.findall(r"^(\w*(?:Error|Exception|Exit)): (.+)$", section, re.M)
    if raised:
        return f"raised {raised[-1][0]}: {raised[-1][1][:300]}"
    mismatch = re.search(r"mismatch '([^']+)'", section)
    return f"{mismatch.group(1)} output differs" if mismatch else "output differs"


def run_nbval(book: Book, goldens: list[tuple[Path, Path]]) -> tuple[list[BookError], str]:
    """Run nbval over goldens; return one error per failing cell, and nbval's output."""
    if not goldens:
        return [], ""
    cmd = [sys.executable, "-m", "pytest", "--nbval", "-p", "no:cacheprovider", "--noconftest", "-vv", "-rf",
           "--nbval-sanitize-with", str(SANITIZE), f"--nbval-cell-timeout={execute.CELL_TIMEOUT}",
           "--nbval-kernel-name=python3", "-o", "addopts=", "--rootdir", str(book.root),
           *[str(g) for _, g in goldens]]
    proc = subprocess.run(cmd, cwd=book.root, env=execute.kernel_env(book.root),
                          capture_output=True, text=True)
    output = ANSI.sub("", proc.stdout + proc.stderr)
    sections = dict(((name, int(num)), body) for name, num, body in re.findall(
        r"^_{3,} \S*?([^/\s]+\.ipynb)::Cell (\d+) _{3,}\n(.*?)(?=^_{3,} |^=+ short test summary)",
        output, re.M | re.S))
    errors = []
    by_name = {g.name: (src, g) for src, g in goldens}
    for name, num in re.findall(r"^FAILED \S*?([^/\s]+\.ipynb)::Cell (\d+)", output, re.M):
        src, g = by_name.get(name, (None, None))
        cell, line = None, None
        if g is not None:
            code = [c for c in nbformat.read(g, as_version=4).cells if c.cell_type == "code"]
            if int(num) < len(code):
                cell = code[int(num)]
                line = cell.metadata.get("booktools", {}).get("line")
        what = f"cell {cell.id}" if cell is not None else f"code cell {num}"
        section = sections.get((name, int(num)), "")
        reason = _reason(section)
        src_text = ""
        if cell is not None and cell.source.strip():
            lines = cell.source.splitlines()
            at = re.search(r"^-+> (\d+) ", section, re.M)      # the raising line, 1-based in the cell
            if at and 0 < int(at.group(1)) <= len(lines):
                index = int(at.group(1)) - 1
                if line is not None and cell.metadata.get("booktools", {}).get("kind") != "inline":
                    line += index + 1
            else:                                              # first line of code after #| options
                index = next((k for k, l in enumerate(lines) if not l.startswith("#|")), 0)
            src_text = f": {lines[index].strip()[:120]}"
        errors.append(BookError(src, line, f"nbval: {what} changed ({reason}){src_text}"))
    if proc.returncode not in (0, 1) or (proc.returncode == 1 and not errors):
        errors.append(BookError(None, None, f"nbval could not run (exit {proc.returncode})"))
    return errors, output


def main(book: Book, names: list[str] | None, nbval: bool = True) -> int:
    paths = book.select(names)
    errors = lint.lint_book(book, paths if names else None)
    goldens = []
    for path in paths:
        if not golden.has_code(path):
            continue
        stale = check_golden(book, path)
        errors += stale
        if not stale:
            goldens.append((path, book.golden(path)))
            errors += answers.lint_printed_answers(path, book.golden(path))
    known = {p.stem for p in book.chapter_paths()}
    for g in sorted((book.root / "tests" / "golden").glob("*.ipynb")):
        if g.stem not in known:
            errors.append(BookError(g, None, "golden of a chapter that is not in _quarto.yml; delete it"))
    if nbval:
        nbval_errors, output = run_nbval(book, goldens)
        if nbval_errors:
            print(output, file=sys.stderr)
        errors += nbval_errors
    for e in errors:
        print(f"error: {e}" if e.path is None else str(e), file=sys.stderr)
    checked = ", ".join(p.stem for p in paths) or "no chapters"
    if errors:
        print(f"check: {len(errors)} error(s) in {checked}", file=sys.stderr)
        return 1
    print(f"check: ok ({checked}; {len(goldens)} golden(s) re-run with nbval)")
    return 0
