"""Reader editions: the student and instructor notebooks, written to read like the book page.

A converted chapter (``booktools.convert``) keeps Quarto's syntax so that goldens map line by
line to the ``.qmd``. A reader notebook turns that syntax into what a reader of the page sees:

- a paragraph with inline expressions becomes a code cell whose source is hidden (Jupyter's
  ``source_hidden``, Colab's form view) and whose output is the paragraph as Markdown with the
  kernel's values: change a parameter, re-run, and the prose says the new numbers;
- headings keep their text, labels become HTML ids; cross-references become numbered links;
  citations become author–year links to a reference list at the end (citeproc);
  equations get ``\\tag{n}`` numbers; ``[x]{.input}`` spans become plain text; callouts become
  block quotes with a title; the front matter becomes a title cell; links to other chapters
  point to the sibling notebook of the same edition, or to the online page;
- guard cells (hidden asserts and claims that keep the prose honest) are left out of the
  student edition; other hidden cells stay, hidden; ``#|`` option lines are dropped (their
  meaning is in the cell's tags and metadata).

Why custom code: no tool maps Quarto's markup onto Jupyter's; each rule is a small function.
"""
from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell

from . import citations, qmd

EDITIONS = ("student", "instructor")
CALLOUT_ICONS = {"note": "ℹ️", "tip": "💡", "warning": "⚠️", "important": "❗", "caution": "🔥"}
CALLOUT_NAMES = {"note": "Note", "tip": "Tip", "warning": "Warning", "important": "Important",
                 "caution": "Caution"}
KINDS = {"fig": "Figure", "tbl": "Table", "eq": "Equation", "sec": "Section"}

# private-use sentinels: protected spans survive every rewrite untouched
_OPEN, _CLOSE = "\ue000", "\ue001"


@dataclass
class Context:
    """What a chapter's notebook needs to know about the book around it."""
    chapter: str                      # file stem
    edition: str                      # "student" or "instructor"
    site_url: str                     # the published book, ending in "/"
    chapter_dir: str = "tutorials"    # folder of the chapter, relative to the book root
    notebooks: set = field(default_factory=set)      # stems that have a notebook in this edition
    labels: dict = field(default_factory=dict)       # label -> {"text", "href"}
    cites: dict = field(default_factory=dict)        # citation group -> markdown
    references: list = field(default_factory=list)   # [(key, entry markdown)]


# ------------------------------------------------------------------ protection
class _Protected:
    """Replace spans that no rewrite may touch (code, inline expressions) by sentinels."""

    def __init__(self):
        self.items: list[str] = []

    def hide(self, text: str, pattern, flags=0) -> str:
        def keep(m):
            self.items.append(m.group(0))
            return f"{_OPEN}{len(self.items) - 1}{_CLOSE}"
        return re.sub(pattern, keep, text, flags=flags)

    def restore(self, text: str, inline=None) -> str:
        def back(m):
            raw = self.items[int(m.group(1))]
            return inline(raw) if inline and qmd.INLINE.fullmatch(raw) else raw
        pattern = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
        while pattern.search(text):
            text = pattern.sub(back, text)
        return text


FENCE = re.compile(r"^(`{3,}|~{3,}).*?^\1\s*$", re.S | re.M)
CODE_SPAN = re.compile(r"`[^`\n]*`")


# ------------------------------------------------------------------ markdown rules
def _callouts_and_divs(text: str) -> str:
    """Callouts -> titled block quotes; instructor blocks -> a titled rule; other divs unwrapped."""
    out: list[str] = []
    stack: list[str | None] = []          # per open div: callout kind, "instructor", or None
    for line in text.split("\n"):
        opening = re.match(r"^(:{3,})\s*\{(.*)\}\s*$", line) or re.match(r"^(:{3,})\s*([\w.-]+)\s*$", line)
        if opening and not re.match(r"^:{3,}\s*$", line):
            attrs = opening.group(2)
            kind = re.search(r"\.callout-(\w+)", attrs)
            if kind:
                title = re.search(r"""title\s*=\s*"([^"]*)"|title\s*=\s*'([^']*)'""", attrs)
                name = (title.group(1) or title.group(2)) if title else CALLOUT_NAMES.get(kind.group(1), "Note")
                icon = CALLOUT_ICONS.get(kind.group(1), "ℹ️")
                stack.append(kind.group(1))
                out.append(f"> {icon} **{name}**")
                out.append(">")
            elif qmd.INSTRUCTOR.search(line):
                stack.append("instructor")
                out.append("---\n\n**Instructor edition: worked solution**\n")
            else:
                stack.append(None)
            continue
        if re.match(r"^:{3,}\s*$", line):
            # a closing fence; with nothing open here it closes a div opened in an earlier cell
            if stack and stack.pop() == "instructor":
                out.append("\n---")
            continue
        if any(k not in (None, "instructor") for k in stack):
            out.append(f"> {line}" if line.strip() else ">")
        else:
            out.append(line)
    return "\n".join(out).strip("\n")


def _headings(text: str) -> str:
    """'## Title {#sec-x .unnumbered}' -> '## Title <a id="sec-x"></a>'."""
    def head(m):
        attrs = m.group(3)
        ident = re.search(r"#([\w-]+)", attrs)
        anchor = f' <a id="{ident.group(1)}"></a>' if ident else ""
        return f"{m.group(1)} {m.group(2).rstrip()}{anchor}"
    return re.sub(r"^(#{1,6})\s+(.*?)\s*\{([^}]*)\}\s*$", head, text, flags=re.M)


def _equations(text: str, numbers: dict) -> str:
    """'$$ x $$ {#eq-a}' -> an anchor and '$$ x \\tag{n} $$'."""
    def eq(m):
        label = m.group(2)
        n = numbers.get(label)
        tag = f" \\tag{{{n}}}" if n else ""
        return f'<a id="{label}"></a>\n\n$${m.group(1).rstrip()}{tag}\n$$'
    return re.sub(r"\$\$(.+?)\$\$\s*\{#(eq-[\w-]+)\}", eq, text, flags=re.S)


def _spans(text: str) -> str:
    """'[4,096 tokens]{.input}' and other attributed spans -> their text."""
    return re.sub(r"\[([^\[\]]*)\]\{[.#][^}]*\}", r"\1", text)


def chapter_href(target: str, ctx: Context) -> str | None:
    """Where a link to another chapter's .qmd goes in this edition, or None if not a .qmd link."""
    if re.match(r"[a-z][a-z0-9+.-]*:", target):
        return None
    file, _, anchor = target.partition("#")
    if not file.endswith(".qmd"):
        return None
    path = Path(ctx.chapter_dir, file)
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    rel = "/".join(parts)
    stem = Path(rel).stem
    suffix = f"#{anchor}" if anchor else ""
    if stem in ctx.notebooks:
        return f"{stem}.ipynb{suffix}"
    return f"{ctx.site_url}{rel[:-len('.qmd')]}.html{suffix}"


def _links(text: str, ctx: Context) -> str:
    def link(m):
        href = chapter_href(m.group(2), ctx)
        return f"[{m.group(1)}]({href})" if href else m.group(0)
    return re.sub(r"\[([^\[\]]*)\]\(([^)\s]+)\)", link, text)


def _crossrefs(text: str, ctx: Context) -> str:
    def ref(m):
        target = ctx.labels.get(m.group(1))
        if not target:
            return f"**?@{m.group(1)}**"
        return f"[{target['text']}]({target['href']})"
    return re.sub(rf"(?<![\w@.])@((?:{'|'.join(citations.CROSSREF_KINDS)})-[\w-]*\w)", ref, text)


def _citations(text: str, ctx: Context) -> str:
    def cite(group):
        return ctx.cites.get(group, group)
    text = citations.BRACKETED.sub(lambda m: cite(m.group(0)), text)
    return citations.NARRATIVE.sub(lambda m: cite(m.group(0)), text)


def markdown_for_reader(text: str, ctx: Context, equation_numbers: dict | None = None,
                        protect: _Protected | None = None) -> str:
    """Apply every rule to one markdown text. Inline expressions stay (protected) for the caller."""
    own = protect or _Protected()
    text = own.hide(text, FENCE)
    text = own.hide(text, qmd.INLINE)
    text = own.hide(text, CODE_SPAN)
    text = _equations(text, equation_numbers or {})
    text = _callouts_and_divs(text)
    text = _headings(text)
    text = _spans(text)
    text = _links(text, ctx)
    text = _crossrefs(text, ctx)
    text = _citations(text, ctx)
    return text if protect else own.restore(text)


# ------------------------------------------------------------------ live prose
def prose_call(text: str, ctx: Context, equation_numbers: dict) -> str:
    """The source of a prose cell: _prose(<template>, expr, ...), the template in str.format style."""
    protect = _Protected()
    body = markdown_for_reader(text, ctx, equation_numbers, protect)
    exprs: list[str] = []

    def placeholder(raw):
        exprs.append(qmd.INLINE.fullmatch(raw).group(1))
        return f"{_OPEN}E{len(exprs) - 1}{_CLOSE}"
    body = protect.restore(body, inline=placeholder)
    body = body.replace("{", "{{").replace("}", "}}")
    body = re.sub(f"{_OPEN}E(\\d+){_CLOSE}", r"{\1}", body)
    if '"""' not in body and not body.endswith("\\"):
        literal = f'r"""\n{body}\n"""'
    else:
        literal = repr("\n" + body + "\n")
    args = "".join(f",\n       {e}" for e in exprs)
    return f"#@title\n_prose({literal}{args})"


PROSE_HELPER = r'''
def _prose(template, *values):
    """Show a paragraph of the book with the kernel's values, formatted as the page shows them."""
    import re
    from IPython import get_ipython
    from IPython.display import Markdown

    def text(value):
        if isinstance(value, str):
            shown = value
        else:
            shell = get_ipython()
            data = shell.display_formatter.format(value)[0] if shell else {"text/plain": repr(value)}
            if "text/markdown" in data:
                return data["text/markdown"]
            shown = data.get("text/plain", str(value))
        return re.sub(r"([\\`*_$\[\]<>#])", r"\\\1", shown)
    return Markdown(template.format(*map(text, values)).strip())
'''


# ------------------------------------------------------------------ guards
def _names_read(source: str) -> set[str]:
    body = "\n".join(l for l in source.splitlines() if not l.lstrip().startswith(("#|", "%", "!")))
    try:
        tree = ast.parse(body)
    except SyntaxError:
        return set(re.findall(r"[A-Za-z_]\w*", body))
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | \
           {n.value.id for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)}


def _is_check(stmt) -> bool:
    if isinstance(stmt, ast.Assert):
        return True
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
            and getattr(stmt.value.func, "id", getattr(stmt.value.func, "attr", None)) == "claim")


def strip_guards(body: str, later_reads: set[str]) -> str | None:
    """A hidden cell without its assert/claim statements: None if nothing else is needed later,
    the remaining code if something is, or ``body`` unchanged if it holds no guard."""
    try:
        tree = ast.parse(body)
    except SyntaxError:
        return body
    kept = [s for s in tree.body if not _is_check(s)]
    if len(kept) == len(tree.body):
        return body
    bound = set()
    for stmt in kept:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                bound.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                bound.add(node.name)
            elif isinstance(node, ast.alias):
                bound.add((node.asname or node.name).split(".")[0])
    if not bound & later_reads:
        return None
    lines = body.splitlines()
    return "\n".join("\n".join(lines[s.lineno - 1:s.end_lineno]) for s in kept)


# ------------------------------------------------------------------ numbering
def numbering(cells) -> dict:
    """label -> number for figures, tables and equations, in page order (as the preview numbers)."""
    counts = {"fig": 0, "tbl": 0, "eq": 0}
    numbers = {}
    for cell in cells:
        found = []
        if cell.cell_type == "code":
            opts = cell.metadata.get("booktools", {}).get("options", {})
            label = opts.get("label")
            if isinstance(label, str):
                found.append(label)
        elif cell.cell_type == "markdown":
            text = FENCE.sub("", cell.source)
            found += [m.group(1) for m in re.finditer(r"\{#((?:fig|tbl|eq)-[\w-]+)", text)]
        for label in found:
            kind = label.split("-")[0]
            if kind in counts and label not in numbers:
                counts[kind] += 1
                numbers[label] = counts[kind]
    return numbers


def _options(cell) -> dict:
    lines = cell.source.splitlines()
    n = 0
    while n < len(lines) and qmd.OPTION.match(lines[n]):
        n += 1
    try:
        return qmd.parse_options([qmd.OPTION.match(l).group(1) for l in lines[:n]], None, 0), n
    except Exception:
        return {}, n


def _split_at_headings(text: str) -> list[str]:
    """Split markdown before each heading line outside fenced code."""
    chunks, current, fence = [], [], None
    for line in text.split("\n"):
        m = re.match(r"^(`{3,}|~{3,})", line)
        if fence is None and m:
            fence = m.group(1)
        elif fence is not None and line.strip().startswith(fence) and not line.strip().strip(fence[0]):
            fence = None
        if fence is None and re.match(r"^#{1,6}\s", line) and any(l.strip() for l in current):
            chunks.append("\n".join(current))
            current = []
        current.append(line)
    chunks.append("\n".join(current))
    return [c.strip("\n") for c in chunks if c.strip()]


def _hide(cell, title: str | None = None):
    """Source hidden in Jupyter and in Colab's form view."""
    if title is not None and not cell.source.startswith("#@title"):
        cell.source = f"#@title {title}".rstrip() + "\n" + cell.source
    cell.metadata["jupyter"] = {**cell.metadata.get("jupyter", {}), "source_hidden": True}
    cell.metadata["cellView"] = "form"
    return cell


def shown_value(cell) -> str:
    """An inline expression's executed output as _prose shows it (and the preview does)."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return f"**[{out.get('ename')}: {out.get('evalue')}]**"
        data = out.get("data", {})
        if "text/markdown" in data:
            return "".join(data["text/markdown"])
        if "text/plain" in data:
            text = "".join(data["text/plain"])
            try:
                value = ast.literal_eval(text)
                if isinstance(value, str):
                    text = value
            except (ValueError, SyntaxError):
                pass
            return re.sub(r"([\\`*_$\[\]<>#])", r"\\\1", text)
    return ""


def _prose_output(source: str, values: list[str]) -> dict:
    """The output _prose(...) gives, computed from the executed inline values."""
    tree = ast.parse(source.split("\n", 1)[1])
    template = tree.body[0].value.args[0].value
    text = template.format(*values).strip()
    return nbformat.v4.new_output("execute_result", execution_count=None,
                                  data={"text/markdown": text, "text/plain": "<IPython.core.display.Markdown object>"})


def _copy_outputs(new, old):
    """Outputs of an executed cell, without the golden's image placeholders."""
    outs = []
    for out in old.get("outputs", []):
        data = out.get("data", {})
        if any(isinstance(v, str) and v.startswith("<image/") and v.endswith("omitted from golden>")
               for v in data.values()):
            continue
        outs.append(nbformat.from_dict(copy.deepcopy(out)))
    new.outputs = outs


def build(nb, ctx: Context, setup_source: str, executed=None) -> object:
    """The reader notebook of one edition from a converted chapter notebook; with ``executed``
    (the same chapter run, e.g. its golden) the notebook opens with every output in place."""
    ran = {c.id: c for c in executed.cells} if executed is not None else {}
    source_cells = [c for c in nb.cells
                    if ctx.edition == "instructor" or "solution" not in c.metadata.get("tags", [])]
    for cell in source_cells:
        if cell.cell_type == "code":
            cell.metadata.setdefault("booktools", {})["options"] = _options(cell)[0]
    numbers = numbering(source_cells)
    for label, n in numbers.items():
        ctx.labels.setdefault(label, {"text": f"{KINDS[label.split('-')[0]]} {n}", "href": f"#{label}"})
    front = nb.metadata.get("booktools", {}).get("front_matter", {})

    # which names later cells read, to tell removable guards from hidden code that matters
    reads_after: list[set] = [set()] * (len(source_cells) + 1)
    acc: set = set()
    for i in range(len(source_cells) - 1, -1, -1):
        reads_after[i + 1] = set(acc)
        if source_cells[i].cell_type == "code":
            acc |= _names_read(source_cells[i].source)
    reads_after[0] = acc

    cells = []
    counter = iter(range(10_000))

    def add(cell, ident: str):
        cell.id = f"{ctx.chapter}-{ident}"[-64:]
        cells.append(cell)
        return cell

    title = new_markdown_cell(_title_cell(front, ctx))
    add(title, "title")
    setup = _hide(new_code_cell(setup_source + "\n" + PROSE_HELPER.strip("\n")))
    setup.metadata["tags"] = ["setup"]
    add(setup, "setup")

    for i, cell in enumerate(source_cells):
        meta = cell.metadata.get("booktools", {})
        tags = [t for t in cell.metadata.get("tags", []) if t not in ("inline-expression",)]
        if cell.cell_type == "raw" or meta.get("kind") in ("front-matter", "inline"):
            continue
        if cell.cell_type == "markdown":
            pending_md: list[str] = []
            inline_ids = []
            for later in source_cells[i + 1:]:
                if later.metadata.get("booktools", {}).get("kind") != "inline":
                    break
                inline_ids.append(later.id)

            def flush_md():
                if pending_md:
                    md = new_markdown_cell("\n\n".join(pending_md))
                    md.metadata["tags"] = [t for t in tags if t == "solution"]
                    add(md, f"{meta.get('line', 0)}-{next(counter)}")
                    pending_md.clear()
            for chunk in _split_at_headings(cell.source):
                heading, _, body = chunk.partition("\n") if chunk.startswith("#") else ("", "", chunk)
                if heading:
                    pending_md.append(markdown_for_reader(heading, ctx, numbers))
                if body.strip() and qmd.INLINE.search(body):
                    flush_md()
                    live = _hide(new_code_cell(prose_call(body.strip("\n"), ctx, numbers)))
                    live.metadata["tags"] = ["prose"] + [t for t in tags if t == "solution"]
                    count = len(qmd.INLINE.findall(body))
                    mine, inline_ids = inline_ids[:count], inline_ids[count:]
                    if ran and all(k in ran for k in mine):
                        live.outputs = [_prose_output(live.source, [shown_value(ran[k]) for k in mine])]
                    add(live, f"{meta.get('line', 0)}-{next(counter)}")
                elif body.strip():
                    text = markdown_for_reader(body, ctx, numbers).strip()
                    if text and text != "---":
                        pending_md.append(text)
            flush_md()
            continue
        # code
        opts, n_opts = _options(cell)
        body = "\n".join(cell.source.splitlines()[n_opts:])
        new = new_code_cell(body)
        new.metadata["tags"] = [t for t in tags if t != "remove-cell"]
        if cell.id in ran:
            _copy_outputs(new, ran[cell.id])
        if opts.get("include") is False:
            if ctx.edition == "student":
                stripped = strip_guards(body, reads_after[i + 1])
                if stripped is None:
                    continue
                new.source = stripped
            _hide(new, "Hidden setup")
        elif opts.get("echo") is False:
            _hide(new, "Code that draws the figure" if str(opts.get("label", "")).startswith("fig-") else "")
        if opts.get("output") is False:
            new.metadata["jupyter"] = {**new.metadata.get("jupyter", {}), "outputs_hidden": True}
        label = opts.get("label") if isinstance(opts.get("label"), str) else ""
        kind = label.split("-")[0]
        caption = opts.get(f"{kind}-cap") if kind in ("fig", "tbl") else None
        cap_cell = None
        if kind in ("fig", "tbl") and label in numbers:
            cap_text = markdown_for_reader(str(caption or ""), ctx, numbers)
            cap_cell = new_markdown_cell(f'<a id="{label}"></a>**{KINDS[kind]} {numbers[label]}:** {cap_text}'.rstrip())
        if cap_cell is not None and kind == "tbl":
            add(cap_cell, f"{meta.get('line', 0)}-cap")
        add(new, str(meta.get("line", next(counter))))
        if cap_cell is not None and kind == "fig":
            add(cap_cell, f"{meta.get('line', 0)}-cap")

    if ctx.references:
        refs = "\n\n".join(f'<a id="ref-{key}"></a>{entry}' for key, entry in ctx.references)
        add(new_markdown_cell(f"## References\n\n{refs}"), "references")

    out = copy.deepcopy(nb)
    out.cells = cells
    out.metadata.pop("booktools", None)
    out.metadata["booktools"] = {"chapter": ctx.chapter, "edition": ctx.edition}
    out.metadata["colab"] = {"name": f"{ctx.chapter}.ipynb", "provenance": []}
    return out


def _title_cell(front: dict, ctx: Context) -> str:
    title = str(front.get("title", ctx.chapter))
    parts = [f"# {title}"]
    if front.get("subtitle"):
        parts.append(f"*{front['subtitle']}*")
    if front.get("description"):
        parts.append(str(front["description"]))
    online = f"{ctx.site_url}{ctx.chapter_dir}/{ctx.chapter}.html"
    if ctx.edition == "student":
        note = ("**Student notebook.** Run the cells from the top (the first one installs the engine "
                "where it is missing). Paragraphs with numbers are live: change a parameter, "
                "run again, and the text follows. Check your answers with the `check(...)` cells.")
    else:
        note = ("**Instructor notebook**, with the worked solutions. Run the cells from the top "
                "(the first one installs the engine where it is missing).")
    parts.append(f"{note} [Read this chapter online]({online}).")
    return "\n\n".join(parts)
