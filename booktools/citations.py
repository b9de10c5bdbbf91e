"""Citations as a reader sees them: author–year text and a reference list, from references.bib.

pandoc's citeproc does the formatting (the same style the preview and Quarto use); this
module only finds the citations in a chapter's markdown and asks pandoc once per chapter.
"""
from __future__ import annotations

import re
from pathlib import Path

import pypandoc

from .errors import BookError

# [@a; see @b, p. 3] (a bracketed group) or a narrative @key; never @fig-/@tbl-/@sec-/@eq- cross-refs
KEY = r"[A-Za-z0-9_][\w:.#$%&\-+?<>~/]*\w|[A-Za-z0-9_]"
CROSSREF_KINDS = ("fig", "tbl", "sec", "eq", "lst")
BRACKETED = re.compile(rf"\[(?:[^\[\]@]*?)@(?!(?:{'|'.join(CROSSREF_KINDS)})-)(?:{KEY})[^\[\]]*\](?!\()")
NARRATIVE = re.compile(rf"(?<![\w@.\[])@(?!(?:{'|'.join(CROSSREF_KINDS)})-)({KEY})")
KEYS_IN_GROUP = re.compile(rf"@({KEY})")


def groups_in(text: str) -> list[str]:
    """Citation groups in markdown, in order: '[@a; @b]' and narrative '@a'."""
    found = [m.group(0) for m in BRACKETED.finditer(text)]
    rest = BRACKETED.sub(" ", text)
    found += [m.group(0) for m in NARRATIVE.finditer(rest)]
    return found


def render(bibliography: Path, groups: list[str], extra_keys=()) -> tuple[dict, list[tuple[str, str]]]:
    """Format citation groups with citeproc.

    Returns ({group: markdown text with links to #ref-<key>}, [(key, entry markdown)]),
    the entries in the style's order, covering every cited key and ``extra_keys``.
    """
    groups = list(dict.fromkeys(g for g in groups if g.strip()))
    extra = [k for k in dict.fromkeys(extra_keys)]
    if not groups and not extra:
        return {}, []
    if not Path(bibliography).is_file():
        raise BookError(bibliography, None, "bibliography file is missing")
    paras = "\n\n".join(" ".join(g.split()) for g in groups)
    meta = "---\nnocite: |\n  " + ", ".join(f"@{k}" for k in extra) + "\n---\n\n" if extra else ""
    document = meta + paras + "\n\n::: {#refs}\n:::\n"
    try:
        out = pypandoc.convert_text(
            document, "markdown-citations-smart-raw_attribute", format="markdown",
            extra_args=["--citeproc", f"--bibliography={bibliography}", "--wrap=none",
                        "--metadata=link-citations:true", "--metadata=link-bibliography:true"])
    except RuntimeError as exc:
        raise BookError(bibliography, None, f"pandoc citeproc failed: {exc}")
    body, _, refs = out.partition("{#refs")
    body = body.rstrip().rstrip(":").rstrip()
    texts = [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]
    if len(texts) != len(groups):
        raise BookError(bibliography, None, f"citeproc returned {len(texts)} citations for {len(groups)}")
    entries = [(m.group(1), " ".join(m.group(2).split()))
               for m in re.finditer(r"^:::+ \{#ref-(\S+) \.csl-entry\}\n(.*?)\n:::+", refs, re.M | re.S)]
    return dict(zip(groups, map(_plain_spans, texts))), [(k, _plain_spans(e)) for k, e in entries]


def _plain_spans(text: str) -> str:
    """citeproc's '[Touvron et al.]{.nocase}' spans -> their text (they mean nothing to a reader)."""
    span = re.compile(r"\[([^\[\]]*)\]\{[.#][^}]*\}")
    while span.search(text):
        text = span.sub(r"\1", text)
    return text
