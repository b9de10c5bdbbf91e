"""convert: .qmd -> notebook mapping."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from booktools import convert, qmd
from booktools.errors import BookError

from booktest_support import FIXTURES


def nb_of(text: str, name: str = "demo"):
    return convert.to_notebook(qmd.parse(Path(f"tutorials/{name}.qmd"), text))


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("option, tags", [
    ("echo: false", ["hide-input"]),
    ("include: false", ["remove-cell"]),
    ("output: false", ["hide-output"]),
    ("eval: false", ["skip-execution", "nbval-skip"]),
    ("error: true", ["raises-exception"]),
])
def test_cell_options_become_tags(option, tags):
    nb = nb_of(f"Text.\n\n```{{python}}\n#| {option}\nx = 1\n```\n")
    (cell,) = code_cells(nb)
    assert cell.metadata["tags"] == tags
    assert cell.source.startswith(f"#| {option}\n")      # options stay in the source
    assert cell.metadata["booktools"]["line"] == 3


def test_tags_option_becomes_notebook_tags():
    nb = nb_of("```{python}\n#| tags: [parameters]\n#| echo: false\nGPU = 'H100'\n```\n")
    (cell,) = code_cells(nb)
    assert cell.metadata["tags"] == ["hide-input", "parameters"]
    with pytest.raises(BookError) as err:
        nb_of("Text.\n\n```{python}\n#| tags: {a: 1}\nx = 1\n```\n")
    assert err.value.line == 4 and "tags" in err.value.message


def test_plain_cell_has_no_tags_and_other_languages_stay_markdown():
    nb = nb_of("```{python}\nx = 1\n```\n\n```{mermaid}\ngraph LR\n```\n\n```python\nnot_run()\n```\n")
    (cell,) = code_cells(nb)
    assert "tags" not in cell.metadata
    assert "graph LR" in nb.cells[-1].source and "not_run()" in nb.cells[-1].source


def test_inline_expressions_become_hidden_cells_after_their_markdown():
    nb = nb_of("```{python}\nx = 2\n```\n\nTwo is `{python} x` and\nfour is `{python} x * 2`.\n\n"
               "```{python}\ny = 3\n```\n")
    kinds = [(c.cell_type, c.source) for c in nb.cells]
    assert kinds == [("code", "x = 2"), ("markdown", "Two is `{python} x` and\nfour is `{python} x * 2`."),
                     ("code", "x"), ("code", "x * 2"), ("code", "y = 3")]
    for cell, line in zip(nb.cells[2:4], (5, 6)):
        assert cell.metadata["tags"] == ["inline-expression", "hide-input"]
        assert cell.metadata["booktools"] == {"line": line, "kind": "inline"}


def test_front_matter_in_first_raw_cell_and_metadata():
    nb = nb_of("---\ntitle: \"Hi: there\"\ncategories: [a]\n---\n\nText.\n")
    assert nb.cells[0].cell_type == "raw" and nb.cells[0].source.startswith("---\ntitle:")
    assert nb.metadata["booktools"]["front_matter"] == {"title": "Hi: there", "categories": ["a"]}
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_ids_are_stable_and_output_is_byte_identical():
    text = (FIXTURES / "sample.qmd").read_text()
    a, b = nb_of(text, "sample"), nb_of(text, "sample")
    assert convert.dumps(a) == convert.dumps(b)
    ids = [c.id for c in a.cells]
    assert ids == [f"sample-{i:03d}" for i in range(len(ids))]
    nbformat.validate(a)


def test_include_is_refused_with_file_and_line():
    with pytest.raises(BookError) as err:
        nb_of("Intro.\n\n{{< include _shared.qmd >}}\n")
    assert err.value.line == 3 and "_shared.qmd" in str(err.value) and "demo.qmd:3" in str(err.value)


def test_include_inside_a_plain_code_block_is_just_text():
    nb = nb_of("````markdown\n{{< include x.qmd >}}\n````\n")
    assert "include x.qmd" in nb.cells[0].source


def test_instructor_blocks_are_tagged_solution_and_dropped_for_students():
    nb = convert.convert(FIXTURES / "sample.qmd")
    solution = [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
    assert [c.cell_type for c in solution] == ["markdown", "code", "markdown"]
    assert solution[0].source.startswith('::: {.content-visible when-profile="instructor"}')
    assert solution[-1].source == ":::"
    assert len(solution) == 3


def test_callouts_stay_readable_markdown():
    nb = convert.convert(FIXTURES / "sample.qmd")
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert '::: {.callout-tip title="Key insight"}\nTime is size over bandwidth' in text


@pytest.mark.parametrize("text, line, words", [
    ("```{python}\nx = 1\n", 1, "never closed"),
    ("::: {.callout-note}\nText.\n", 2, "never closed"),
    ("Text.\n:::\n", 2, "never opened"),
    ("```{python}\n#| echo: [\nx\n```\n", 2, "not valid YAML"),
])
def test_malformed_chapters_fail_with_line(text, line, words):
    with pytest.raises(BookError) as err:
        nb_of(text)
    assert err.value.line == line and words in err.value.message
