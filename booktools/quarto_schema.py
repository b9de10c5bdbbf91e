"""Is the book valid Quarto? Check _quarto.yml, its profiles, every chapter's front matter and
every cell's #| options against ``booktools/quarto/schema.yml`` (option names, types, allowed
values, as Quarto's schema states them). Each finding names the file and line.

Why custom code: Quarto validates only when it renders, and CI has no Quarto; the schema is
our own small data file, and PyYAML's node marks give the lines.
"""
from __future__ import annotations

import difflib
import re
from functools import lru_cache
from pathlib import Path

import yaml

from . import qmd
from .errors import BookError

SCHEMA = Path(__file__).parent / "quarto" / "schema.yml"
STR, INT, FLOAT, BOOL, TIME, NULL = (f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "timestamp", "null"))


@lru_cache(maxsize=1)
def schema() -> dict:
    data = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))
    return data


def _scope(name: str) -> dict:
    """A scope's options, with those of the scopes it includes."""
    scopes = schema()["scopes"]
    if name not in scopes:
        raise KeyError(f"{SCHEMA.name}: no scope {name!r}")
    out = {}
    for inner in scopes[name].get("extends", []):
        out.update(_scope(inner))
    out.update({k: v for k, v in scopes[name].items() if k != "extends"})
    return out


def _split(text: str, sep: str) -> list[str]:
    """Split at sep outside <> and ()."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch in "<(" and 1 or (ch in ">)" and -1 or 0)
        if ch == sep and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return parts + [cur.strip()]


def _value(node):
    # constructed directly: serialising an empty value ("chapters:" with nothing after it) and
    # loading it back is not valid YAML
    return yaml.constructor.SafeConstructor().construct_object(node, deep=True) if node is not None else None


def _fits(node, kind: str, where: str, errors: list, path: Path, offset: int) -> bool:
    """Does node match the type expression? Nested mappings (scope) report their own errors."""
    alternatives = _split(kind, "|")
    if len(alternatives) > 1:
        return any(_fits(node, a, where, errors if a.startswith("scope(") else [], path, offset)
                   for a in alternatives)
    k = kind
    if k == "any":
        return True
    if k in ("string", "path"):
        return isinstance(node, yaml.ScalarNode) and node.tag in (STR, TIME)
    if k == "number":
        return isinstance(node, yaml.ScalarNode) and node.tag in (INT, FLOAT)
    if k == "boolean":
        return isinstance(node, yaml.ScalarNode) and node.tag == BOOL
    if k == "object":
        return isinstance(node, yaml.MappingNode)
    m = re.fullmatch(r"(maybe-)?list<(.+)>", k)
    if m:
        if isinstance(node, yaml.SequenceNode):
            return all(_fits(item, m.group(2), where, errors, path, offset) for item in node.value)
        return bool(m.group(1)) and _fits(node, m.group(2), where, errors, path, offset)
    m = re.fullmatch(r"enum\((.*)\)", k)
    if m:
        allowed = [yaml.safe_load(v) for v in _split(m.group(1), ",")]
        return isinstance(node, yaml.ScalarNode) and _value(node) in allowed
    m = re.fullmatch(r"scope\((.+)\)", k)
    if m:
        if not isinstance(node, yaml.MappingNode):
            return False
        errors += check_mapping(node, m.group(1), path, offset, where)
        return True
    raise ValueError(f"{SCHEMA.name}: unknown type {kind!r}")


def _describe(kind: str) -> str:
    return " or ".join(re.sub(r"scope\((.+)\)", r"a mapping of \1 options", a) for a in _split(kind, "|"))


def check_mapping(node, scope: str, path: Path, offset: int = 0, where: str = "") -> list[BookError]:
    """Errors in one YAML mapping node checked against a scope; offset: lines before the YAML."""
    if not isinstance(node, yaml.MappingNode):
        line = offset + node.start_mark.line + 1 if node is not None else offset + 1
        return [BookError(path, line, f"{where or 'options'} must be a mapping of 'key: value' lines")]
    options = _scope(scope)
    errors: list[BookError] = []
    for key_node, value_node in node.value:
        key = _value(key_node)
        name = f"{where}.{key}" if where else str(key)
        line = offset + key_node.start_mark.line + 1
        if key not in options:
            close = difflib.get_close_matches(str(key), [str(o) for o in options], n=1, cutoff=0.75)
            hint = f" (did you mean '{close[0]}'?)" if close else \
                f"; Quarto {schema()['quarto']} options here are listed in booktools/quarto/schema.yml"
            errors.append(BookError(path, line, f"unknown Quarto option '{name}'{hint}"))
            continue
        nested: list[BookError] = []
        if not _fits(value_node, options[key], name, nested, path, offset):
            errors.append(BookError(path, offset + value_node.start_mark.line + 1,
                                    f"Quarto option '{name}' must be {_describe(options[key])}, "
                                    f"not {_value(value_node)!r}"))
        errors += nested
    return errors


def check_yaml_text(text: str, scope: str, path: Path, offset: int = 0, where: str = "") -> list[BookError]:
    try:
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [BookError(path, offset + (mark.line + 1 if mark else 1), f"not valid YAML: {exc}")]
    if node is None:
        return []
    return check_mapping(node, scope, path, offset, where)


def check_chapter(chapter: qmd.Chapter) -> list[BookError]:
    errors = []
    lines = chapter.text.splitlines()
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
        if end:
            errors += check_yaml_text("\n".join(lines[1:end]), "document", chapter.path, offset=1)
    for block in chapter.blocks:
        if block.kind == "code" and block.option_lines:
            text = "\n".join(qmd.OPTION.match(l).group(1) for l in block.source.splitlines()[:block.option_lines])
            errors += check_yaml_text(text, "cell", chapter.path, offset=block.line, where="")
    return errors


def check_book(book) -> list[BookError]:
    """_quarto.yml, every _quarto-<profile>.yml, and every listed chapter."""
    errors = []
    for config in [book.config_path, *sorted(book.root.glob("_quarto-*.yml"))]:
        text = config.read_text(encoding="utf-8")
        errors += check_yaml_text(text, "config", config)
        data = yaml.safe_load(text) or {}
        for item in data.get("filters") or [] if isinstance(data, dict) else []:
            name = item if isinstance(item, str) else (item.get("path") if isinstance(item, dict) else None)
            if isinstance(name, str) and name.endswith(".lua") and not (book.root / name).is_file():
                line = next((n for n, l in enumerate(text.splitlines(), 1) if name in l), None)
                errors.append(BookError(config, line, f"filter {name!r} does not exist"))
    for path in book.chapter_paths():
        try:
            errors += check_chapter(qmd.parse(path))
        except BookError as exc:
            errors.append(exc)
    return errors
