"""Execute a converted chapter with nbclient, the way Quarto and nbval would."""
from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from .errors import BookError

CELL_TIMEOUT = 120
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def kernel_env(root: Path) -> dict:
    """The kernel imports the engine from the book root first (so a copy of the repo
    tests its own engine), then whatever PYTHONPATH already holds. Its IPython profile
    (under ``<root>/_build/ipython``) records the data each figure plots, so nbval compares
    figures too (:mod:`booktools.figures`)."""
    from .figures import ipython_dir

    env = dict(os.environ)
    env["IPYTHONDIR"] = ipython_dir(Path(root) / "_build")
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
                            # the kernel's TCP-without-encryption warning is noise on a local run
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],
                            resources={"metadata": {"path": str(cwd)}})
    started = []
    client.on_cell_start = lambda cell, cell_index: started.append(cell)
    try:
        client.execute(env=kernel_env(root))
    except CellExecutionError as exc:
        cell = started[-1] if started else None
        meta = cell.metadata.get("booktools", {}) if cell else {}
        line = meta.get("line")
        at = re.search(r"^-+> (\d+)", ANSI.sub("", str(exc)), re.M)   # the raising line within the cell
        if line and at and meta.get("kind") != "inline":
            line += int(at.group(1))
        raise BookError(source, line, f"cell {cell.id if cell else '?'} raised:\n{_tail(str(exc))}")
    except (CellTimeoutError, DeadKernelError) as exc:
        line = started[-1].metadata.get("booktools", {}).get("line") if started else None
        raise BookError(source, line, f"the kernel stopped ({type(exc).__name__}, limit {CELL_TIMEOUT} s "
                        f"per cell): {_tail(str(exc), 3)}")
    finally:
        for index, src in skipped.items():
            nb.cells[index].source = src
            nb.cells[index].outputs = []
            nb.cells[index].execution_count = None
    return nb


def _tail(text: str, lines: int = 25) -> str:
    text = ANSI.sub("", text)
    return "\n".join(text.strip().splitlines()[-lines:])
