"""The printed-answer lint: an exercise whose answer the page shows is an error."""
import pytest
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


# printed_forms, worked by hand. 1234.5678: magnitude 3. 2 figures: 1200 (too few digits alone) and
# 1.2k; 3: 1230 -> "1,230", "1230", 1.23k; 4: 1235 (1234.57 rounds up) -> "1,235", "1235", 1.235k;
# 5: 1234.6 -> "1,234.6", "1234.6", 1.2346k. Not below 1: no percentages.
FORMS_1234 = {"1.2k", "1,230", "1230", "1.23k", "1,235", "1235", "1.235k", "1,234.6", "1234.6", "1.2346k"}


def test_printed_forms_worked_by_hand():
    assert answers.printed_forms(1234.5678) == FORMS_1234
    assert answers.printed_forms(-1234.5678) == FORMS_1234            # the sign is printed apart
    # 0.4341: 3 to 5 figures 0.434, 0.4341, 0.43410; as a percentage with 0, 1, 2 decimals
    assert answers.printed_forms(0.4341) == {"0.434", "0.4341", "0.43410", "43%", "43.4%", "43.41%"}
    # 1: 1.00, 1.000, 1.0000 and no percentage (only fractions below 1 are printed as one)
    assert answers.printed_forms(1.0) == {"1.00", "1.000", "1.0000"}


@pytest.mark.parametrize("value, suffix, plain", [
    (1e3, "k", {"1,000", "1000", "1,000.0", "1000.0"}),     # 5 figures of 1000 keep one decimal
    (1e6, "M", {"1,000,000", "1000000"}),
    (1e9, "B", {"1,000,000,000", "1000000000"}),
    (1e12, "T", {"1,000,000,000,000", "1000000000000"}),
])
def test_a_value_of_exactly_one_scale_unit_is_printed_with_that_unit(value, suffix, plain):
    # 2 to 5 figures of 1.0 in the unit: 1.0, 1.00, 1.000, 1.0000
    assert answers.printed_forms(value) == plain | {f"1.{'0' * d}{suffix}" for d in (1, 2, 3, 4)}


@pytest.mark.parametrize("value", [0.0, float("inf"), float("-inf"), float("nan")])
def test_no_forms_for_zero_or_non_finite_values(value):
    assert answers.printed_forms(value) == set()


def test_visible_text_is_what_a_reader_sees_in_order():
    # prose, then each shown output, one part per line; a hidden (remove-cell) cell's output, e.g. a
    # claim's, is not shown; text/markdown is shown; HTML loses its tags and its entities are decoded;
    # an output stored as a list of lines is one text
    hidden = new_code_cell("h", outputs=[new_output("stream", name="stdout", text="hidden 77.7\n")])
    hidden.metadata["tags"] = ["remove-cell"]
    shown = new_code_cell("s", outputs=[
        new_output("stream", name="stdout", text=["rate 12.", "34 /s\n"]),
        new_output("display_data", data={"text/markdown": "**5.5 ms**"}),
        new_output("display_data", data={"text/html": "<td>1&#44;234</td>"})])
    figure = new_code_cell("f", outputs=[new_output("display_data", data={
        "image/png": "", "text/plain": "<Figure size 600x400 with 1 Axes>", "text/markdown": "caption 8.8"})])
    nb = new_notebook(cells=[new_markdown_cell("prose 3.3"), hidden, shown, figure])
    assert answers._visible_text(nb) == "prose 3.3\nrate 12.34 /s\n\n**5.5 ms**\n 1,234 \ncaption 8.8"


def _chapter(tmp_path, answer, **exercise):
    """A chapter with one exercise, demo/x (heading on line 5), whose expected answer is ``answer``."""
    from mlsysim.exercises import Exercise

    chapter = tmp_path / "demo.qmd"
    chapter.write_text("---\ntitle: Demo\n---\n\n### Exercise 1: x {#sec-ex-x}\n\n```{python}\n"
                       "check(\"demo/x\", answer)\n```\n")
    return chapter, Exercise("demo/x", lambda: answer, **exercise)


def _lint(tmp_path, monkeypatch, answer, printed, **exercise):
    from mlsysim.exercises import REGISTRY

    chapter, ex = _chapter(tmp_path, answer, **exercise)
    monkeypatch.setitem(REGISTRY, "demo/x", ex)
    golden = tmp_path / "demo.ipynb"
    cell = new_code_cell("r", outputs=[new_output("stream", name="stdout", text=printed)])
    nbformat.write(new_notebook(cells=[cell]), golden)
    errors = answers.lint_printed_answers(chapter, golden)
    assert all(e.path == chapter for e in errors)             # reported in the chapter's .qmd
    return [(e.line, e.message) for e in errors]


def test_a_printed_answer_is_reported_at_its_exercise_heading(tmp_path, monkeypatch):
    # 1234.5 prints as 1,234 or 1,234.5 (among others); the first of those shown, sorted, is named
    assert _lint(tmp_path, monkeypatch, 1234.5, "total 1,234.5 s or 1,234 s\n") == [
        (5, "exercise demo/x: its answer (1,234) is printed on the page; ask for something the chapter does not show")]


@pytest.mark.parametrize("answer, printed, flagged", [
    (99, "it takes 99 s\n", False),        # a whole number below 100: appears everywhere by chance
    (100, "it takes 100 s\n", True),       # from 100 on it counts
    (-150, "a drop of 150 W\n", True),     # the sign is not what matters
    (150.5, "nothing to see\n", False),
    ("H100", "the H100 wins\n", False),    # a named answer, not a number
    (True, "1\n", False),
])
def test_which_answers_count_as_printed(tmp_path, monkeypatch, answer, printed, flagged):
    assert bool(_lint(tmp_path, monkeypatch, answer, printed)) is flagged


def test_design_exercises_and_unknown_ids_are_not_checked(tmp_path, monkeypatch):
    # a design exercise has no single right number, whatever its compute says
    assert _lint(tmp_path, monkeypatch, 1234.5, "1,234.5\n", evaluate=lambda answer: None) == []
    from mlsysim.exercises import REGISTRY

    chapter, _ = _chapter(tmp_path, 1234.5)
    monkeypatch.delitem(REGISTRY, "demo/x", raising=False)            # not in the engine's registry
    golden = tmp_path / "demo.ipynb"
    assert answers.lint_printed_answers(chapter, golden) == []
    golden.unlink()                                                    # no golden yet: nothing to read
    assert answers.lint_printed_answers(chapter, golden) == []


@pytest.mark.parametrize("first", [
    {},                                          # not an exercise the engine knows
    {"compute": lambda: 1234.5, "evaluate": lambda answer: None},    # a design exercise
    {"compute": lambda: "H100"},                 # a named answer
    {"compute": lambda: 12},                     # a small whole number
])
def test_an_exercise_not_checked_does_not_stop_the_next_from_being_checked(tmp_path, monkeypatch, first):
    from mlsysim.exercises import REGISTRY, Exercise

    chapter = tmp_path / "demo.qmd"
    chapter.write_text("---\ntitle: Demo\n---\n\n```{python}\ncheck(\"demo/a\", a)\ncheck(\"demo/x\", x)\n```\n")
    monkeypatch.delitem(REGISTRY, "demo/a", raising=False)
    if first:
        monkeypatch.setitem(REGISTRY, "demo/a", Exercise("demo/a", **first))
    monkeypatch.setitem(REGISTRY, "demo/x", Exercise("demo/x", lambda: 1234.5))
    golden = tmp_path / "demo.ipynb"
    cell = new_code_cell("r", outputs=[new_output("stream", name="stdout", text="1,234.5 and H100 and 12\n")])
    nbformat.write(new_notebook(cells=[cell]), golden)
    assert [e.message.split(":")[0] for e in answers.lint_printed_answers(chapter, golden)] == ["exercise demo/x"]


def test_visible_text_shows_plain_text_values_unless_the_output_is_an_image():
    # an inline value or a cell's last expression is text/plain ('23.9'); beside an image it is the
    # image's fallback text and not shown
    value = new_code_cell("v", outputs=[new_output("execute_result", data={"text/plain": "'23.9'"}, execution_count=1)])
    assert answers._visible_text(new_notebook(cells=[value])) == "'23.9'"
    # plain text is shown as it is: a repr in <...> is not an HTML tag
    quantity = new_code_cell("q", outputs=[new_output("execute_result", data={"text/plain": "<Quantity 23.9 ms>"},
                                                      execution_count=1)])
    assert answers._visible_text(new_notebook(cells=[quantity])) == "<Quantity 23.9 ms>"
    # an image's HTML (e.g. a caption) is shown
    figure = new_code_cell("f", outputs=[new_output("display_data", data={
        "image/png": "", "text/plain": "<Figure>", "text/html": "<p>caption 8.8</p>"})])
    assert answers._visible_text(new_notebook(cells=[figure])) == " caption 8.8 "


def test_visible_text_of_a_hand_edited_golden_missing_fields():
    # nbformat.read reads a notebook its schema rejects (it only logs): a code cell without an
    # outputs list, a stream without text show nothing, and do not stop the lint
    bare = new_code_cell("x")
    del bare["outputs"]
    stream = new_code_cell("y", outputs=[new_output("stream", name="stdout", text="")])
    del stream.outputs[0]["text"]
    nb = new_notebook()
    nb.cells = [new_markdown_cell("m"), bare, stream]
    assert answers._visible_text(nb) == "m\n"
