"""The Quarto instructor profile's exercise notes: the JSON the pre-render step writes and the
Lua filter that puts each note at the top of its solution (run here under plain pandoc)."""
import json

import pypandoc
import yaml

from booktools import exercise_notes
from booktools.__main__ import main
from booktest_support import REPO
from mlsysim.exercises import REGISTRY

FILTER = REPO / "booktools" / "quarto" / "exercise-notes.lua"
CHAPTER = """---
title: T
---

### Exercise 1: First {#sec-ex-first}

Prompt.

::: {.content-visible when-profile="instructor"}
**Solution.** One.
:::

::: {.callout-tip}
Not a solution.
:::

## Key takeaways

::: {.content-visible when-profile="instructor"}
Not under an exercise.
:::

### Exercise 2: Second {#sec-ex-second}

::: {.content-visible when-profile="instructor"}
**Solution.** Two.
:::
"""


def test_exercise_notes_command_writes_every_note(tmp_path, capsys):
    out = tmp_path / "notes.json"
    assert main(["--root", str(REPO), "exercise-notes", "-o", str(out)]) == 0
    notes = json.loads(out.read_text())
    assert sorted(notes) == sorted(REGISTRY.keys())
    assert notes["roofline/fp8-crossing"] == exercise_notes.note("roofline/fp8-crossing")
    assert f"{len(REGISTRY)} exercises" in capsys.readouterr().out


def _render(tmp_path, notes):
    (tmp_path / "tutorials").mkdir()
    (tmp_path / "_quarto.yml").write_text("project:\n  type: book\n")
    if notes is not None:
        (tmp_path / "_build").mkdir()
        (tmp_path / "_build" / "exercise-notes.json").write_text(json.dumps(notes))
    path = tmp_path / "tutorials" / "chap.qmd"
    path.write_text(CHAPTER)
    html = pypandoc.convert_file(str(path), "html", format="markdown", extra_args=[f"--lua-filter={FILTER}"])
    return " ".join(html.split())


def test_filter_puts_each_note_at_the_top_of_its_solution(tmp_path):
    html = _render(tmp_path, {"chap/first": "*Note `chap/first`.*", "chap/second": "*Note two.*",
                              "other/first": "*Wrong chapter.*"})
    assert html.count('class="content-visible exercise-noted"') == 2
    first = html.index("<em>Note <code>chap/first</code>.</em>")
    assert html.index("Exercise 1") < first < html.index("<strong>Solution.</strong> One.")
    second = html.index("<em>Note two.</em>")
    assert html.index("Exercise 2") < second < html.index("<strong>Solution.</strong> Two.")
    assert html.count("<em>Note") == 2 and "Wrong chapter" not in html


def test_filter_does_nothing_without_the_notes_file(tmp_path):
    html = _render(tmp_path, None)
    assert "exercise-noted" not in html and "<strong>Solution.</strong> One." in html


def test_instructor_profile_runs_the_notes_step_and_filter():
    profile = yaml.safe_load((REPO / "_quarto-instructor.yml").read_text())
    assert profile["project"]["pre-render"] == "python -m booktools exercise-notes"
    assert "booktools/quarto/exercise-notes.lua" in profile["filters"]
    assert set(yaml.safe_load((REPO / "_quarto.yml").read_text())["filters"]) <= set(profile["filters"])
