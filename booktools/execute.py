"""Execute a converted chapter with nbclient, the way Quarto and nbval would."""
from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from .errors import BookError

CELL_TIMEOUT = 120


def kernel_env(root: Path) -> dict:
    """The kernel imports the engine from the book root first (so a copy of the repo
    tests its own engine), then whatever PYTHONPATH already holds."""
    env = dict(os.environ)
    parts = [str(Path(root).resolve())] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(parts))
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env


def execute(nb: nbformat.NotebookNode, cwd: Path, root: Path, source: Path | None = None,
            allow_errors: bool = False) -> nbformat.NotebookNode:
    """Run every cell not tagged skip-execution, in order, in a fresh python3 kernel.

    A cell that raises (and is not tagged raises-exception) stops the run with a
    BookError naming the .qmd line of that cell.
    """
    skipped = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "skip-execution" in cell.metadata.get("tags", []):
            skipped[index] = cell.source
            cell.source = ""          # nbclient has no skip tag; blank cells are not run
    client = NotebookClient(nb, kernel_name="python3", timeout=CELL_TIMEOUT,
                            allow_errors=allow_errors, record_timing=False,
                            resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute(env=kernel_env(root))
    except CellExecutionError as exc:
        cell = _failing_cell(nb)
        line = cell.metadata.get("booktools", {}).get("line") if cell else None
        raise BookError(source, line, f"cell {cell.id if cell else '?'} raised:\n{_tail(str(exc))}")
    finally:
        for index, src in skipped.items():
            nb.cells[index].source = src
            nb.cells[index].outputs = []
            nb.cells[index].execution_count = None
    return nb


def _failing_cell(nb):
    for cell in nb.cells:
        if cell.cell_type == "code" and any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            if "raises-exception" not in cell.metadata.get("tags", []):
                return cell
    return None


def _tail(text: str, lines: int = 25) -> str:
    import re
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    return "\n".join(text.strip().splitlines()[-lines:])
