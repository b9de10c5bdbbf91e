"""Lint the book's sources: prose numbers, claims, links, cross-references,
citations, exercises, the chapter list, and valid Quarto (``booktools.quarto_schema``). Every finding names file and line.

Why custom code: these are the book's own rules (DESIGN.md, "Numbers in prose"
and "Exercises"); no markdown linter knows Quarto cross-references or the
claim convention. Each rule is one small function over the parsed chapter.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

from . import qmd
from .errors import BookError
from .project import Book

# ---------------------------------------------------------------- prose numbers
NUM = r"(?<![\w.\-/^])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
SCALE = r"(?:\s?(?:k|K|M|B|T|bn|thousand|million|billion|trillion)\b)?"
# bits are left out on purpose: "16 bits" names a number format, it is not a measurement
_DATA = r"(?:[KMGTPE]i?B|[KMGTP]b|bytes?)"
UNITS = [
    # rates first, so "TB/s" wins over "TB"
    rf"{_DATA}/s", r"tokens?/s", r"tok/s", r"req(?:uests)?/s", r"queries/s", r"QPS",
    r"[GTPE]?FLOP/s", r"[GTPE]?FLOPS", r"[GTPE]?FLOPs?", r"TOPS",
    _DATA, r"tokens?", r"params", r"parameters",
    r"[kMGT]?Wh", r"[kMGT]?W", r"[kM]?J", r"[kMG]?Hz",
    r"[kt]?gCO2e?", r"tCO2e?", r"tonnes?", r"kg",
    r"ns", r"µs", r"us", r"ms", r"s", r"secs?", r"seconds?", r"min(?:utes?)?",
    r"h", r"hrs?", r"hours?", r"days?", r"weeks?", r"months?", r"years?",
    r"USD", r"dollars?", r"cents?",
]
QUANTITY = re.compile(
    rf"\$\s?{NUM}{SCALE}"                                   # $9M, $ 120
    rf"|{NUM}{SCALE}\s?(?:{'|'.join(UNITS)})(?![\w/])"       # 80 GB, 3.35 TB/s, 9M USD
    rf"|{NUM}\s?%"                                           # 40 %
    rf"|{NUM}(?:x\b|\s?×)")                                  # 10x, 10 ×
CITATION = re.compile(r"(?<![\w@.])@(?!(?:fig|tbl|sec|eq|lst)-)([A-Za-z0-9_](?:[\w:.#$%&\-+?<>~/]*\w)?)")
CROSSREF = re.compile(r"(?<![\w@.])@((?:fig|tbl|sec|eq|lst)-[\w-]*\w)")
LABEL = re.compile(r"\{#([\w-]+)[^}]*\}")
INPUT_SPAN = re.compile(r"\[[^\]]*\]\{\.input\}")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
ABBREV = re.compile(r"\b(?:e\.g|i\.e|vs|etc|Fig|Eq|cf|approx|al|Sec)\.$")


def _blank(text: str, pattern, flags=0) -> str:
    """Replace every match with spaces (newlines kept) so offsets and lines survive."""
    return re.sub(pattern, lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=flags)


def prose_text(markdown: str, keep_citations=True) -> str:
    """The prose of a markdown block: code, math, URLs, attributes, HTML, fences,
    and `[..]{.input}` spans blanked out (same length, same lines)."""
    t = markdown
    t = _blank(t, r"^(`{3,}|~{3,}).*?^\1\s*$", re.S | re.M)          # fenced code
    t = _blank(t, r"<!--.*?-->", re.S)                                  # comments
    t = _blank(t, r"`[^`\n]*`")                                         # inline code + `{python}`
    t = _blank(t, r"\$\$.*?\$\$", re.S)                                 # display math
    t = _blank(t, r"\$(?=\S)[^$\n]*?(?<=\S)\$(?!\d)")                   # inline math
    t = _blank(t, INPUT_SPAN)                                           # author's inputs
    t = _blank(t, r"\]\([^)]*\)")                                       # link targets
    t = _blank(t, r"https?://\S+|<[^>\n]+>")                            # URLs, HTML tags
    t = _blank(t, r"\{(?:[#.]|[\w-]+=)[^}\n]*\}")                       # attributes: {#id .class key=value}
    t = _blank(t, r"^:{3,}.*$", re.M)                                   # div fences
    return t


def _sentence(text: str, start: int, end: int) -> str:
    """The sentence (or table row / list item) around text[start:end]."""
    lo = start
    while lo > 0:
        prev = text[lo - 1]
        if text[max(0, lo - 2):lo] == "\n\n" or (prev == "\n" and re.match(r"\s*(\||[-*+]\s|\d+\.\s|#)", text[lo:])):
            break
        if prev in ".!?" and lo < len(text) and text[lo].isspace() and not ABBREV.search(text[:lo]) \
                and lo < start:
            break
        lo -= 1
    hi = end
    while hi < len(text):
        if text[hi:hi + 2] == "\n\n" or (text[hi] == "\n" and re.match(r"\n\s*(\||[-*+]\s|\d+\.\s|#)", text[hi:])):
            break
        if text[hi] in ".!?" and (hi + 1 == len(text) or text[hi + 1].isspace()) \
                and not ABBREV.search(text[:hi + 1]):
            hi += 1
            break
        hi += 1
    return text[lo:hi]


def lint_prose_numbers(ch: qmd.Chapter) -> list[BookError]:
    errors = []
    for block in ch.blocks:
        if block.kind != "markdown":
            continue
        text = prose_text(block.source)
        for m in QUANTITY.finditer(text):
            if CITATION.search(_sentence(text, m.start(), m.end())):
                continue
            line = block.line + text.count("\n", 0, m.start())
            errors.append(BookError(ch.path, line,
                f"number in prose {m.group(0).strip()!r} is neither computed nor cited: make it an "
                f"inline expression `{{python}} ...`, cite it with [@key] in the same sentence, "
                f"or mark an author-chosen input as [{m.group(0).strip()}]{{.input}}"))
    return errors


# ---------------------------------------------------------------- claims
FRONT_NUMBER = re.compile(rf"\$?{NUM}(?:\s?(?:k|K|M|B|T|bn)\b)?%?")
SCALES = {"k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9, "bn": 1e9, "T": 1e12}


def _values(token: str) -> list[float]:
    m = re.match(r"\$?([\d,]+(?:\.\d+)?)\s?(k|K|M|B|T|bn)?", token)
    base = float(m.group(1).replace(",", ""))
    return [base, base * SCALES[m.group(2)]] if m.group(2) else [base]


def claims_in(code: str) -> list[tuple[str, float | None]]:
    """(text, stated) for every claim(...) call in a code cell."""
    lines = [l for l in code.splitlines() if not l.lstrip().startswith(("#|", "%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "claim":
            text = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "text"), None)
            stated = next((k.value for k in node.keywords if k.arg == "stated"), None)
            try:
                stated = float(ast.literal_eval(stated)) if stated is not None else None
            except (ValueError, TypeError, SyntaxError):
                stated = None
            found.append((text.value if isinstance(text, ast.Constant) and isinstance(text.value, str) else "",
                          stated))
    return found


def lint_claims(ch: qmd.Chapter) -> list[BookError]:
    claims = [c for b in ch.blocks if b.kind == "code" for c in claims_in(b.body)]
    errors = []
    for key in ("title", "subtitle", "description"):
        value = ch.front_matter.get(key)
        if not isinstance(value, str):
            continue
        for m in FRONT_NUMBER.finditer(value):
            token = m.group(0)
            bare = token.rstrip("%").lstrip("$")
            covered = any(
                re.search(rf"(?<![\d.]){re.escape(token)}(?![\d])", text)
                or re.search(rf"(?<![\d.]){re.escape(bare)}(?![\d])", text)
                or (stated is not None and any(abs(v - stated) <= 1e-9 * max(abs(v), 1) for v in _values(token)))
                for text, stated in claims)
            if not covered:
                errors.append(BookError(ch.path, ch.front_matter_lines.get(key, 1),
                    f"{key} states {token!r} but no claim(...) checks it: add to a hidden cell "
                    f"claim(\"{key}: {token}\", value=<engine number>, stated=<{token} as a number>, rel=...)"))
    return errors


# ---------------------------------------------------------------- labels, links, citations
def labels_of(ch: qmd.Chapter) -> dict[str, int]:
    """Labels a chapter defines ({#sec-..} on headings, divs, images, equations; #| label:)."""
    found = {}
    for b in ch.blocks:
        if b.kind == "markdown":
            text = _blank(b.source, r"^(`{3,}|~{3,}).*?^\1\s*$", re.S | re.M)
            for m in LABEL.finditer(text):
                found.setdefault(m.group(1), b.line + text.count("\n", 0, m.start()))
        elif isinstance(b.options.get("label"), str):
            found.setdefault(b.options["label"], b.line)
    return found


def bib_keys(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    return set(re.findall(r"@\w+\s*\{\s*([^,\s]+)\s*,", path.read_text(encoding="utf-8")))


def lint_references(ch: qmd.Chapter, book_labels: dict[str, Path], keys: set[str], bib: Path) -> list[BookError]:
    errors = []
    own = labels_of(ch)
    for b in ch.blocks:
        if b.kind != "markdown":
            continue
        raw = _blank(b.source, r"^(`{3,}|~{3,}).*?^\1\s*$", re.S | re.M)
        raw = _blank(raw, r"`[^`\n]*`")

        def line_of(pos):
            return b.line + raw.count("\n", 0, pos)

        for m in LINK.finditer(raw):
            target = m.group(1)
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            if file:
                dest = (ch.path.parent / file)
                if not dest.exists():
                    errors.append(BookError(ch.path, line_of(m.start()), f"link to missing file {file!r}"))
                    continue
                if anchor and dest.suffix == ".qmd" and anchor not in labels_of(qmd.parse(dest)):
                    errors.append(BookError(ch.path, line_of(m.start()),
                                            f"link to {target!r}: {file} defines no label {anchor!r}"))
            elif anchor and anchor not in own and anchor not in book_labels:
                errors.append(BookError(ch.path, line_of(m.start()), f"link to unknown label '#{anchor}'"))
        prose = prose_text(b.source)
        for m in CROSSREF.finditer(prose):
            if m.group(1) not in own and m.group(1) not in book_labels:
                errors.append(BookError(ch.path, line_of(m.start()),
                                        f"cross-reference @{m.group(1)} has no matching {{#{m.group(1)}}} "
                                        "or '#| label:' in the book"))
        for m in CITATION.finditer(prose):
            if m.group(1) not in keys:
                errors.append(BookError(ch.path, line_of(m.start()),
                                        f"citation @{m.group(1)} is not a key in {bib.name}"))
    return errors


# ---------------------------------------------------------------- exercises
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
CHECK_ID = re.compile(r"""\bcheck\(\s*["']([^"']+)["']""")


def exercise_ids(ch: qmd.Chapter) -> list[str]:
    """Exercise ids named by check("<chapter>/<id>", ...) calls, in chapter order."""
    ids = []
    for b in ch.blocks:
        if b.kind == "code":
            ids += [i for i in CHECK_ID.findall(b.body) if i not in ids]
    return ids


def exercises(ch: qmd.Chapter) -> list[dict]:
    """Exercise sections: heading line, label, and the code/solution blocks under them."""
    found, current = [], None
    for b in ch.blocks:
        if b.kind == "markdown":
            for offset, text in enumerate(b.source.splitlines()):
                h = HEADING.match(text)
                if h and not b.solution:
                    if len(h.group(1)) <= 3:
                        current = None
                    if len(h.group(1)) == 3 and re.match(r"Exercise\b", h.group(2)):
                        label = re.search(r"\{#(sec-ex-[\w-]+)", h.group(2))
                        current = {"line": b.line + offset, "label": label and label.group(1),
                                   "checks": [], "solution": False}
                        found.append(current)
        if current is not None:
            current["solution"] |= b.solution
            if b.kind == "code":
                current["checks"] += CHECK_ID.findall(b.body)
    return found


def lint_exercises(ch: qmd.Chapter) -> list[BookError]:
    errors = []
    for ex in exercises(ch):
        if not ex["label"]:
            errors.append(BookError(ch.path, ex["line"], "exercise heading needs a label {#sec-ex-<id>}"))
            continue
        want = f"{ch.name}/{ex['label'][len('sec-ex-'):]}"
        if want not in ex["checks"]:
            errors.append(BookError(ch.path, ex["line"], f"exercise has no answer check "
                                    f"check(\"{want}\", answer) in its section"))
        if not ex["solution"]:
            errors.append(BookError(ch.path, ex["line"], "exercise has no worked solution in a "
                                    "::: {.content-visible when-profile=\"instructor\"} block"))
    for b in ch.blocks:
        if b.kind == "code":
            for ex_id in CHECK_ID.findall(b.body):
                if not ex_id.startswith(ch.name + "/"):
                    errors.append(BookError(ch.path, b.line, f"exercise id {ex_id!r} must start with "
                                            f"'{ch.name}/' (the chapter's file name)"))
    return errors


# ---------------------------------------------------------------- chapter list
#: Characters of code that fit the preview's text column (and a notebook at its default
#: width) without a horizontal scroll bar; measured in Chromium on the preview's code blocks.
CODE_COLUMN = 86


def lint_code_width(ch: qmd.Chapter) -> list[BookError]:
    """Shown code lines longer than :data:`CODE_COLUMN` characters (they scroll sideways in
    the page). Cells with ``echo: false`` or ``include: false`` show no code and are exempt."""
    errors = []
    for b in ch.blocks:
        if b.kind != "code" or b.options.get("echo") is False or b.options.get("include") is False:
            continue
        for i, text in enumerate(b.source.split("\n")):
            if i >= b.option_lines and len(text) > CODE_COLUMN:
                errors.append(BookError(ch.path, b.line + 1 + i,
                                        f"code line of {len(text)} characters is wider than the "
                                        f"page's code column ({CODE_COLUMN}); wrap it"))
    return errors


def lint_chapter_list(book: Book) -> list[BookError]:
    errors = []
    listed = book.listed()
    for file, line in listed:
        if not (book.root / file).is_file():
            errors.append(BookError(book.config_path, line, f"chapter {file!r} is listed but does not exist"))
    names = {Path(f).as_posix() for f, _ in listed}
    seen = set()
    for file, line in listed:
        if file in seen:
            errors.append(BookError(book.config_path, line, f"chapter {file!r} is listed twice"))
        seen.add(file)
    for path in sorted((book.root / "tutorials").glob("*.qmd")):
        rel = path.relative_to(book.root).as_posix()
        if rel not in names:
            errors.append(BookError(path, 1, f"orphan chapter: {rel} is not listed in _quarto.yml book.chapters"))
    return errors


def lint_book(book: Book, paths: list[Path] | None = None) -> list[BookError]:
    """All lints over the given chapters (default: every listed chapter)."""
    from . import quarto_schema
    errors = lint_chapter_list(book) + quarto_schema.check_book(book)
    chapters = []
    for path in book.chapter_paths():
        try:
            chapters.append(qmd.parse(path))
        except BookError as exc:
            errors.append(exc)
    book_labels = {label: ch.path for ch in chapters for label in labels_of(ch)}
    keys = bib_keys(book.bibliography)
    if not book.bibliography.is_file():
        errors.append(BookError(book.bibliography, None, "bibliography file is missing"))
    wanted = {p.resolve() for p in paths} if paths else None
    for ch in chapters:
        if wanted is not None and ch.path.resolve() not in wanted:
            continue
        errors += lint_prose_numbers(ch)
        errors += lint_claims(ch)
        errors += lint_references(ch, book_labels, keys, book.bibliography)
        errors += lint_exercises(ch)
        errors += lint_code_width(ch)
    return errors
