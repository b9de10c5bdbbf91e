"""Reader notebooks (booktools.reader): Quarto syntax becomes what the page shows, paragraphs
with inline expressions become live prose cells, guards stay out of the student edition."""
from __future__ import annotations

import ast
import re

import nbformat
import pytest

from booktools import notebooks, reader
from booktools.project import Book

from booktest_support import REPO

QUARTO_ONLY = ("{python}", "{#", "[@", ".qmd)", ":::")


def ctx(**kw):
    c = reader.Context(chapter="demo", edition="student", site_url="https://example.org/book/",
                       notebooks={"demo", "other"})
    for k, v in kw.items():
        setattr(c, k, v)
    return c


def test_heading_labels_become_html_ids():
    out = reader.markdown_for_reader("## The question {#sec-question}\n\nText.", ctx())
    assert out.startswith('## The question <a id="sec-question"></a>')
    assert reader.markdown_for_reader("# Preface {.unnumbered}", ctx()) == "# Preface"


def test_links_to_chapters_go_to_sibling_notebooks_or_online():
    c = ctx()
    assert reader.markdown_for_reader("[b](other.qmd#sec-x)", c) == "[b](other.ipynb#sec-x)"
    assert reader.markdown_for_reader("[i](../index.qmd)", c) == "[i](https://example.org/book/index.html)"
    assert reader.markdown_for_reader("[n](nocode.qmd)", c) == "[n](https://example.org/book/tutorials/nocode.html)"
    assert reader.markdown_for_reader("[w](https://x.org/a.qmd)", c) == "[w](https://x.org/a.qmd)"


def test_input_spans_equations_and_callouts():
    c = ctx()
    assert reader.markdown_for_reader("holds [4,096 tokens]{.input} of context", c) == "holds 4,096 tokens of context"
    eq = reader.markdown_for_reader("$$\nt = \\frac{S}{B}\n$$ {#eq-time}", c, {"eq-time": 3})
    assert '<a id="eq-time"></a>' in eq and "\\tag{3}" in eq and "{#" not in eq
    callout = reader.markdown_for_reader('::: {.callout-tip title="Key insight"}\nSize over bandwidth.\n\nTwo.\n:::', c)
    assert callout.splitlines() == ["> 💡 **Key insight**", ">", "> Size over bandwidth.", ">", "> Two."]


def test_cross_references_are_numbered_links():
    c = ctx(labels={"fig-a": {"text": "Figure 2", "href": "#fig-a"},
                    "sec-b": {"text": "Section “B”", "href": "other.ipynb#sec-b"}})
    assert reader.markdown_for_reader("See @fig-a and @sec-b.", c) == \
        "See [Figure 2](#fig-a) and [Section “B”](other.ipynb#sec-b)."


def test_prose_cell_is_a_template_call_not_an_f_string():
    source = reader.prose_call('Takes `{python} fmt(t, "ms")` for $\\frac{a}{b}$ [@k].', ctx(cites={"[@k]": "(K 2020)"}), {})
    assert source.startswith("#@title\n_prose(") and 'f"' not in source.split("\n")[1]
    call = ast.parse(source.split("\n", 1)[1]).body[0].value
    template = call.args[0].value
    assert ast.unparse(call.args[1]) == "fmt(t, 'ms')"
    assert template.format("12 ms").strip() == "Takes 12 ms for $\\frac{a}{b}$ (K 2020)."


def test_guards_leave_student_notebooks_but_needed_code_stays():
    assert reader.strip_guards('assert x > 1, "prose"\nclaim("t", value=1, stated=1)', set()) is None
    assert reader.strip_guards("y = x * 2\nassert y > 1", set()) is None          # y read by nobody later
    assert reader.strip_guards("y = x * 2\nassert y > 1", {"y"}) == "y = x * 2"
    assert reader.strip_guards("import numpy as np", set()) == "import numpy as np"  # not a guard


@pytest.fixture(scope="module")
def fixture_notebooks(tmp_path_factory):
    import shutil
    from booktest_support import FIXTURES, INDEX, QUARTO_YML
    root = tmp_path_factory.mktemp("reader") / "book"
    (root / "tutorials").mkdir(parents=True)
    (root / "_quarto.yml").write_text(QUARTO_YML)
    (root / "index.qmd").write_text(INDEX)
    shutil.copy(FIXTURES / "references.bib", root / "references.bib")
    shutil.copy(FIXTURES / "sample.qmd", root / "tutorials" / "sample.qmd")
    book = Book(root)
    path = root / "tutorials" / "sample.qmd"
    from booktools import runner
    run = runner.executed(book, [path])[path]
    return {e: notebooks.edition(book, path, e, executed=run) for e in reader.EDITIONS}


def test_fixture_notebook_reads_like_the_page(fixture_notebooks):
    nb = fixture_notebooks["student"]
    nbformat.validate(nb)
    title, setup = nb.cells[0], nb.cells[1]
    assert title.source.startswith("# A sample chapter: 2 GPUs cost $3M\n\n*Fixture for the booktools tests*")
    assert setup.metadata["jupyter"]["source_hidden"] and setup.metadata["cellView"] == "form"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    text += "\n".join(o["data"]["text/markdown"] for c in nb.cells for o in c.get("outputs", [])
                      if "text/markdown" in o.get("data", {}))
    for raw in QUARTO_ONLY:
        assert raw not in text, f"{raw!r} in the student notebook's text"
    assert "(Williams et al. 2009)" in text.replace("[", "").replace("](#ref-williams2009roofline)", "")
    assert nb.cells[-1].source.startswith("## References") and 'id="ref-williams2009roofline"' in nb.cells[-1].source
    assert "**Table 1:** Sizes and times." in text and "**Figure 1:** Read time against size." in text
    prose = [c for c in nb.cells if "prose" in c.metadata.get("tags", [])]
    assert prose and all(c.metadata["jupyter"]["source_hidden"] and c.metadata["cellView"] == "form" for c in prose)
    assert "Reading all memory takes 23.9 ms" in prose[0].outputs[0]["data"]["text/markdown"]
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "claim(" not in code and "#|" not in code                        # the guard cell is gone
    assert "Solution." not in text


def test_instructor_notebook_keeps_solutions_and_guards(fixture_notebooks):
    nb = fixture_notebooks["instructor"]
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "claim(" in code and "Solution." in text and "Instructor edition: worked solution" in text
    assert "Instructor notebook" in nb.cells[0].source


def test_book_notebooks_have_no_quarto_syntax():
    """Every chapter of the real book, both editions: no Quarto syntax in any text a reader sees."""
    book = Book(REPO)
    for path in book.chapter_paths():
        if path.stem == "index" or book.is_appendix(path):     # appendices have no notebook edition
            continue
        for edition in reader.EDITIONS:
            nb = notebooks.edition(book, path, edition)
            seen = [c.source for c in nb.cells if c.cell_type == "markdown"]
            seen += [c.source.split("\n", 1)[1] for c in nb.cells if "prose" in c.metadata.get("tags", [])]
            for text in seen:
                stripped = re.sub(r"`[^`]*`", "", text)
                for raw in ("{#", "[@", ".qmd)", ":::", "]{."):
                    assert raw not in stripped, f"{path.stem} ({edition}): {raw!r} in {text[:200]!r}"
            assert any("prose" in c.metadata.get("tags", []) for c in nb.cells), path.stem


# module-scoped fixtures: keep this file on one xdist worker (scripts/test.sh uses --dist loadgroup)
pytestmark = pytest.mark.xdist_group("test_reader")
