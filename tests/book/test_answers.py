"""The printed-answer lint: an exercise whose answer the page shows is an error."""
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from booktools import answers


def test_printed_forms_cover_how_chapters_print_numbers():
    forms = answers.printed_forms(45_111_041.77)
    assert {"45,100,000", "45.1M", "$45.1M"[1:], "45M"} <= forms
    assert "45" not in forms                           # two bare figures match by coincidence
    assert {"43.4%", "0.434"} <= answers.printed_forms(0.4341)


def test_visible_text_skips_solutions_and_hidden_cells():
    shown = new_code_cell("x", outputs=[new_output("stream", name="stdout", text="capacity 12.34 /s")])
    solution = new_code_cell("y", outputs=[new_output("stream", name="stdout", text="answer 98.76")])
    solution.metadata["tags"] = ["solution"]
    html = new_code_cell("z", outputs=[new_output("display_data", data={"text/html": "<td>1,234,567</td>"})])
    text = answers._visible_text(new_notebook(cells=[new_markdown_cell("prose 5.55 ms"), shown, solution, html]))
    assert "12.34" in text and "5.55" in text and "1,234,567" in text and "98.76" not in text


def test_visible_text_skips_a_figures_text_fallback():
    figure = new_code_cell("f", outputs=[new_output("display_data", data={
        "image/png": "", "text/plain": "<Figure size 600x400 with 1 Axes>"})])
    assert "400" not in answers._visible_text(new_notebook(cells=[figure]))


def test_lint_flags_a_printed_answer(tmp_path, monkeypatch):
    from mlsysim.exercises import REGISTRY, Exercise

    chapter = tmp_path / "demo.qmd"
    chapter.write_text("---\ntitle: Demo\n---\n\n### Exercise 1: x {#sec-ex-x}\n\n```{python}\n"
                       "check(\"demo/x\", answer)\n```\n")
    dict.__setitem__(REGISTRY, "demo/x", Exercise("demo/x", lambda: 1234.5))
    try:
        golden = tmp_path / "demo.ipynb"
        cell = new_code_cell("r", outputs=[new_output("stream", name="stdout", text="total 1,234.5 s\n")])
        nbformat.write(new_notebook(cells=[cell]), golden)
        errors = answers.lint_printed_answers(chapter, golden)
        assert errors and "demo/x" in errors[0].message and "1,234" in errors[0].message
        nbformat.write(new_notebook(cells=[new_markdown_cell("nothing here")]), golden)
        assert answers.lint_printed_answers(chapter, golden) == []
    finally:
        dict.__delitem__(REGISTRY, "demo/x")
