"""Property tests of convert: for any chapter made of prose and code cells, every cell
points at its own line in the .qmd, sources survive unchanged, and ids are stable."""
from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings, strategies as st

from booktools import convert, qmd

words = st.text(alphabet="abcdefghij klmnop,", min_size=1, max_size=30).map(str.strip).filter(bool)
prose = st.lists(words, min_size=1, max_size=3).map(lambda ws: "\n".join(ws))
options = st.sampled_from(["", "#| echo: false\n", "#| eval: false\n", "#| include: false\n#| label: x\n"])
code = st.tuples(options, st.lists(st.sampled_from(["x = 1", "print(x)", "y = [x]"]), min_size=1, max_size=3))
blocks = st.lists(st.one_of(prose.map(lambda p: ("md", p)), code.map(lambda c: ("code", c))), min_size=1, max_size=8)


def render(items) -> str:
    out = []
    for kind, value in items:
        if kind == "md":
            out.append(value + "\n")
        else:
            opts, lines = value
            out.append("```{python}\n" + opts + "\n".join(lines) + "\n```\n")
    return "\n".join(out)


@settings(max_examples=60, deadline=None)
@given(blocks)
def test_cells_point_at_their_lines(items):
    text = render(items)
    lines = text.splitlines()
    nb = convert.to_notebook(qmd.parse(Path("tutorials/prop.qmd"), text))
    for cell in nb.cells:
        line = cell.metadata["booktools"]["line"]
        if cell.cell_type == "code":
            assert lines[line - 1] == "```{python}"
            assert "\n".join(lines[line:line + len(cell.source.splitlines())]) == cell.source
        else:
            assert lines[line - 1] == cell.source.splitlines()[0]
    again = convert.to_notebook(qmd.parse(Path("tutorials/prop.qmd"), text))
    assert convert.dumps(nb) == convert.dumps(again)
    assert len({c.id for c in nb.cells}) == len(nb.cells)
    assert [c.source for c in nb.cells if c.cell_type == "code"] == \
        [value[0] + "\n".join(value[1]) for kind, value in items if kind == "code"]
