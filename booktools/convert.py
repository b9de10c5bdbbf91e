"""Convert a Quarto chapter (.qmd) into a Jupyter notebook (nbformat v4).

Why custom code: jupytext can read .qmd only by calling the Quarto binary, which
CI does not have, and it has no notion of inline expressions or instructor
profiles. The mapping here is a few lines on top of ``booktools.qmd``; nbformat
builds and validates the notebook.

The mapping (documented in the README, "Writing a chapter"):

- front matter -> first raw cell (``---`` YAML ``---``, as Quarto reads it) and
  ``metadata.booktools.front_matter``;
- ```` ```{python} ```` -> code cell; its ``#|`` lines stay in the source, and
  options become tags (see ``OPTION_TAGS``; ``#| tags: [parameters]`` becomes the tags it names);
- each inline `` `{python} expr` `` -> also a code cell right after its markdown
  cell, tagged ``inline-expression`` and ``hide-input``, whose output nbval compares;
- blocks inside ``::: {.content-visible when-profile="instructor"}`` -> tag ``solution``;
- every cell records its .qmd line in ``metadata.booktools.line``; ids are
  ``<chapter>-<index>``, so converting twice gives the same notebook.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell
import yaml

from . import qmd

# (option, value) -> tags. nbval honours nbval-skip and raises-exception.
OPTION_TAGS = {
    ("echo", False): ["hide-input"],
    ("include", False): ["remove-cell"],
    ("output", False): ["hide-output"],
    ("eval", False): ["skip-execution", "nbval-skip"],
    ("error", True): ["raises-exception"],
}
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _jsonable(value):
    """YAML can hold dates; notebook metadata must be JSON."""
    return json.loads(json.dumps(value, default=str))


def cell_tags(options: dict) -> list[str]:
    """Notebook tags for a cell's options: those of OPTION_TAGS, then Quarto's own
    ``tags: [...]`` option (e.g. ``parameters``, the papermill convention) as given."""
    tags: list[str] = []
    for (key, value), names in OPTION_TAGS.items():
        if options.get(key) == value:
            tags += [t for t in names if t not in tags]
    given = options.get("tags") or []
    tags += [t for t in ([given] if isinstance(given, str) else given) if isinstance(t, str) and t not in tags]
    return tags


def _meta(cell, chapter: str, index: int, line: int, tags: list[str], **extra):
    cell.id = f"{chapter}-{index:03d}"[-64:]
    cell.metadata["booktools"] = {"line": line, **extra}
    if tags:
        cell.metadata["tags"] = tags
    if "hide-input" in tags or "remove-cell" in tags:
        cell.metadata["jupyter"] = {"source_hidden": True}
    if "hide-output" in tags:
        cell.metadata.setdefault("jupyter", {})["outputs_hidden"] = True
    return cell


def to_notebook(chapter: qmd.Chapter, root: Path | None = None) -> nbformat.NotebookNode:
    """Build the notebook for a parsed chapter. Pure: the same chapter gives the same notebook."""
    name = chapter.name
    cells = []

    def add(cell, line, tags, **extra):
        cells.append(_meta(cell, name, len(cells), line, tags, **extra))

    if chapter.front_matter:
        fm = yaml.safe_dump(chapter.front_matter, sort_keys=False, allow_unicode=True).strip()
        add(new_raw_cell(f"---\n{fm}\n---"), 1, [], kind="front-matter")
    for block in chapter.blocks:
        sol = ["solution"] if block.solution else []
        extra = {"solution": True} if block.solution else {}
        if block.kind == "markdown":
            add(new_markdown_cell(block.source), block.line, sol, **extra)
            for expr, line in block.inline_expressions():
                add(new_code_cell(expr), line, ["inline-expression", "hide-input"] + sol,
                    kind="inline", **extra)
        else:
            given = block.options.get("tags")
            if given is not None and not (isinstance(given, str) or
                                          (isinstance(given, list) and all(isinstance(t, str) for t in given))):
                raise qmd.BookError(chapter.path, block.line + 1,
                                    f"cell option 'tags' must be a list of names, e.g. [parameters]; got {given!r}")
            tags = cell_tags(block.options) + sol
            add(new_code_cell(block.source), block.line, tags, **extra)

    source = str(chapter.path)
    if root is not None:
        try:
            source = str(Path(chapter.path).resolve().relative_to(Path(root).resolve()))
        except ValueError:
            pass
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": KERNELSPEC,
        "language_info": {"name": "python"},
        "booktools": {
            "chapter": name,
            "source": source,
            "source_sha256": chapter.sha256,
            "front_matter": _jsonable(chapter.front_matter),
        },
    })
    nbformat.validate(nb)
    return nb


def convert(path: Path, root: Path | None = None) -> nbformat.NotebookNode:
    return to_notebook(qmd.parse(Path(path)), root)


def dumps(nb) -> str:
    """nbformat's own JSON (sorted keys, split lines) with a final newline: byte-stable."""
    return nbformat.writes(nb).rstrip("\n") + "\n"
