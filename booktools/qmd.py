"""Read a Quarto chapter (.qmd) into a list of blocks with their line numbers.

Why custom code: no Python library parses Quarto's executable-cell syntax
(```` ```{python} ```` fences, ``#|`` options, inline `` `{python} expr` ``,
profile-conditional ``:::`` divs) while keeping source line numbers, which
every booktools error message needs. The parser is line-based and small;
everything after it (notebooks, HTML) is done by nbformat and pandoc.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import BookError

# ```{python} or ```{python label="x"}; other engines ({r}, {ojs}) are not executed.
EXEC_FENCE = re.compile(r"^(?P<ticks>`{3,})\s*\{(?P<lang>[A-Za-z0-9_-]+)(?P<rest>[^}]*)\}\s*$")
PLAIN_FENCE = re.compile(r"^(?P<ticks>`{3,}|~{3,})")
OPTION = re.compile(r"^#\|\s?(.*)$")
INLINE = re.compile(r"`\{python\}\s+([^`]+?)\s*`")
INCLUDE = re.compile(r"\{\{<\s*include\s+(\S+)\s*>\}\}")
DIV_OPEN = re.compile(r"^(:{3,})\s*\S")
DIV_CLOSE = re.compile(r"^(:{3,})\s*$")
INSTRUCTOR = re.compile(
    r"""\.content-visible\b[^}]*\bwhen-profile\s*=\s*["']?instructor\b""")


@dataclass
class Block:
    kind: str                    # "markdown" or "code"
    source: str                  # markdown text, or code including its #| lines
    line: int                    # 1-based line of the block's first line in the .qmd
    solution: bool = False       # inside an instructor-only block
    options: dict = field(default_factory=dict)   # parsed #| options (code only)
    option_lines: int = 0        # how many leading #| lines the code has

    @property
    def body(self) -> str:
        """Code without its leading #| option lines."""
        return "\n".join(self.source.splitlines()[self.option_lines:])

    def inline_expressions(self) -> list[tuple[str, int]]:
        """(expression, line) for every inline `{python} expr` in a markdown block."""
        found = []
        for offset, text in enumerate(self.source.splitlines()):
            for m in INLINE.finditer(text):
                found.append((m.group(1), self.line + offset))
        return found


@dataclass
class Chapter:
    path: Path
    text: str
    front_matter: dict
    front_matter_lines: dict     # key -> line number in the .qmd
    blocks: list[Block]

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def _front_matter(lines: list[str], path: Path) -> tuple[dict, dict, int]:
    """Return (front matter, key -> line, index of first body line)."""
    if not lines or lines[0].strip() != "---":
        return {}, {}, 0
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            break
    else:
        raise BookError(path, 1, "front matter starts with '---' but never ends")
    raw = "\n".join(lines[1:end])
    try:
        data = yaml.safe_load(raw) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise BookError(path, 2 + (mark.line if mark else 0), f"front matter is not valid YAML: {exc}")
    if not isinstance(data, dict):
        raise BookError(path, 2, "front matter must be a YAML mapping")
    key_lines = {}
    for i in range(1, end):
        m = re.match(r"^([A-Za-z_][\w-]*)\s*:", lines[i])
        if m:
            key_lines.setdefault(m.group(1), i + 1)
    return data, key_lines, end + 1


def parse_options(option_lines: list[str], path: Path, line: int) -> dict:
    if not option_lines:
        return {}
    try:
        opts = yaml.safe_load("\n".join(option_lines)) or {}
    except yaml.YAMLError as exc:
        raise BookError(path, line, f"cell options (#| lines) are not valid YAML: {exc}")
    if not isinstance(opts, dict):
        raise BookError(path, line, "cell options (#| lines) must be 'key: value' lines")
    return opts


def parse(path: Path, text: str | None = None) -> Chapter:
    """Split a chapter into markdown and Python code blocks.

    Markdown is split at instructor-only divs so that every block lies either
    wholly inside one (``solution=True``) or wholly outside.
    """
    path = Path(path)
    if text is None:
        text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    front, front_lines, i = _front_matter(lines, path)

    blocks: list[Block] = []
    md: list[str] = []
    md_start = i + 1
    div_stack: list[bool] = []          # True where the div is instructor-only
    plain_fence: str | None = None      # inside a non-executed ``` block

    def in_solution() -> bool:
        return any(div_stack)

    def flush(next_line: int):
        nonlocal md, md_start
        if "".join(md).strip():
            # drop blank lines at both ends, keep the line number of the first kept line
            start = 0
            while not md[start].strip():
                start += 1
            end = len(md)
            while not md[end - 1].strip():
                end -= 1
            blocks.append(Block("markdown", "\n".join(md[start:end]), md_start + start,
                                solution=in_solution()))
        md = []
        md_start = next_line

    while i < len(lines):
        text_line = lines[i]
        lineno = i + 1
        if plain_fence is not None:
            md.append(text_line)
            if text_line.strip().startswith(plain_fence) and not text_line.strip().strip(plain_fence[0]):
                plain_fence = None
            i += 1
            continue
        m = EXEC_FENCE.match(text_line)
        if m and m.group("lang") == "python":
            flush(lineno)
            ticks = m.group("ticks")
            body: list[str] = []
            j = i + 1
            while j < len(lines) and not (lines[j].startswith(ticks) and not lines[j].strip().strip("`")):
                body.append(lines[j])
                j += 1
            if j == len(lines):
                raise BookError(path, lineno, "code cell is never closed (missing ```)")
            n_opts = 0
            while n_opts < len(body) and OPTION.match(body[n_opts]):
                n_opts += 1
            opts = parse_options([OPTION.match(b).group(1) for b in body[:n_opts]], path, lineno + 1)
            blocks.append(Block("code", "\n".join(body), lineno, solution=in_solution(),
                                options=opts, option_lines=n_opts))
            i = j + 1
            md_start = i + 1
            continue
        pm = PLAIN_FENCE.match(text_line)
        if pm:
            plain_fence = pm.group(1)
            md.append(text_line)
            i += 1
            continue
        inc = INCLUDE.search(text_line)
        if inc:
            raise BookError(path, lineno,
                            f"'{{{{< include {inc.group(1)} >}}}}' is not supported: booktools "
                            "converts each chapter on its own; paste the text or move shared "
                            "code into mlsysim")
        if DIV_OPEN.match(text_line) and not DIV_CLOSE.match(text_line):
            if INSTRUCTOR.search(text_line):
                flush(lineno)
                div_stack.append(True)
            else:
                div_stack.append(False)
            md.append(text_line)
        elif DIV_CLOSE.match(text_line):
            if not div_stack:
                raise BookError(path, lineno, "':::' closes a div that was never opened")
            md.append(text_line)
            if div_stack.pop():
                div_stack.append(True)      # the closing line still belongs to the block
                flush(lineno + 1)
                div_stack.pop()
        else:
            md.append(text_line)
        i += 1
    if plain_fence is not None:
        raise BookError(path, len(lines), "a ``` code block is never closed")
    if div_stack:
        raise BookError(path, len(lines), "a '::: {...}' div is never closed with ':::'")
    flush(len(lines) + 1)
    return Chapter(path, text, front, front_lines, blocks)
