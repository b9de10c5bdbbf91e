"""booktools.coursemap: chapters, prerequisites and objectives read live; term plans by minutes."""
from types import SimpleNamespace

import pytest

from booktools import coursemap as cm
from booktools.project import Book
from booktest_support import REPO

QUARTO = """project:
  type: book
book:
  title: T
  chapters:
    - index.qmd
    - part: "Serving"
      chapters:
        - tutorials/a.qmd
        - tutorials/b.qmd
    - part: "Training at scale"
      chapters:
        - tutorials/c.qmd
  appendices:
    - tutorials/map.qmd
"""

CHAPTER = """---
title: "{title}"
---

## The question {{#sec-question}}

Text with a [link](x.qmd) outside the section.

## Prerequisites {{#sec-prerequisites}}

{prereq}

## What you will learn {{#sec-learn}}

- First thing,
  over two lines.
- Second thing.

## Your Turn

```{{python}}
check("{stem}/two", answer)
check("{stem}/one", answer)
```
"""


@pytest.fixture
def tiny(tmp_path):
    (tmp_path / "tutorials").mkdir()
    (tmp_path / "_quarto.yml").write_text(QUARTO)
    (tmp_path / "index.qmd").write_text("---\ntitle: I\n---\n")
    prereq = {"a": "None; [b](b.qmd) builds on it.", "b": "[A](a.qmd#sec-question) and [c](c.qmd).",
              "c": "- [B](b.qmd)\n- [A](a.qmd)\n- [B again](b.qmd)"}
    for stem, title in (("a", "Alpha"), ("b", "Beta"), ("c", "Gamma")):
        (tmp_path / "tutorials" / f"{stem}.qmd").write_text(CHAPTER.format(title=title, prereq=prereq[stem], stem=stem))
    (tmp_path / "tutorials" / "map.qmd").write_text("---\ntitle: Map\n---\n")
    return Book(tmp_path)


def _ex(kind, minutes, points, objective="o"):
    return SimpleNamespace(kind=kind, minutes=minutes, points=points, objective=objective)


REGISTRY = {"a/one": _ex("predict", 10, 1), "a/two": _ex("design", 25, 4, "Size it."),
            "a/extra": _ex("change", 5, 1), "b/one": _ex("connect", 15, 2), "c/two": _ex("predict", 20, 2)}


def test_chapters_read_parts_prerequisites_objectives_and_exercises(tiny):
    chapters = cm.chapters(tiny, REGISTRY)
    assert [(c.stem, c.title, c.part) for c in chapters] == \
        [("a", "Alpha", "Serving"), ("b", "Beta", "Serving"), ("c", "Gamma", "Training at scale")]
    # only earlier chapters count (a's forward link to b and b's to c are not prerequisites)
    assert [c.prerequisites for c in chapters] == [(), ("a",), ("b", "a")]
    assert chapters[0].learn == ("First thing, over two lines.", "Second thing.")
    # in the order the chapter checks them, then the registry's other exercises of the chapter
    assert [e.id for e in chapters[0].exercises] == ["a/two", "a/one", "a/extra"]
    assert chapters[0].exercises[0] == cm.ExerciseInfo("a/two", "design", "Size it.", 25, 4)
    assert (chapters[0].minutes, chapters[0].points) == (40, 6)          # 25 + 10 + 5, 4 + 1 + 1
    assert [e.id for e in chapters[1].exercises] == ["b/one"] and chapters[2].minutes == 20


def test_paths_and_outside_prerequisites(tiny):
    chapters = cm.chapters(tiny, REGISTRY)
    assert [c.stem for c in cm.path_chapters(chapters, "Serving only")] == ["a", "b"]
    training = cm.path_chapters(chapters, "Training only")
    assert [c.stem for c in training] == ["c"] and cm.outside(training) == ["b", "a"]
    assert [c.stem for c in cm.path_chapters(chapters, "The whole book")] == ["a", "b", "c"]


@pytest.mark.parametrize("minutes, weeks, want", [
    # spare weeks go to the most minutes per week: 60/1 -> 2 weeks; then 30, 30, 30 tie -> the first
    ([60, 30, 30], 5, [[0], [0], [0], [1], [2]]),
    ([60, 30, 30], 3, [[0], [1], [2]]),
    # busiest week at best 60: {10, 20, 30}, {40}, {50}
    ([10, 20, 30, 40, 50], 3, [[0, 1, 2], [3], [4]]),
    ([50, 10, 10, 10], 2, [[0], [1, 2, 3]]),
    # bound 10; a greedy fill would take 1 + 1 + 1 and leave week 3 empty
    ([1, 1, 1, 10], 3, [[0, 1], [2], [3]]),
    ([5, 5, 5, 5], 3, [[0, 1], [2], [3]]),
    ([], 2, [[], []]),
])
def test_allocate(minutes, weeks, want):
    assert cm.allocate(minutes, weeks) == want


def test_plan_minutes_and_rows(tiny):
    chapters = cm.chapters(tiny, REGISTRY)        # minutes: a 40, b 15, c 20
    weeks = cm.plan(chapters, 5)
    # a: 40 -> 2 weeks (20 each); then a 20, b 15, c 20: the first max is a -> 3 weeks (13.3 each)
    assert [(w.number, w.chapters) for w in weeks] == [(1, ("a",)), (2, ("a",)), (3, ("a",)), (4, ("b",)), (5, ("c",))]
    assert [round(w.minutes, 2) for w in weeks] == [13.33, 13.33, 13.33, 15, 20]
    assert cm.week_rows(weeks, {"a": "Alpha"}) == [("weeks 1–3", "Alpha", "40"), ("week 4", "b", "15"),
                                                  ("week 5", "c", "20")]
    two = cm.plan(chapters, 2)                     # bound 40: {a}, {b, c}
    assert [(w.chapters, w.minutes) for w in two] == [(("a",), 40), (("b", "c"), 35)]
    assert cm.week_rows(two, {"b": "Two, with a comma"}) == [("week 1", "a", "40"), ("week 2", "Two, with a comma; c", "35")]


def test_the_real_book():
    book = Book(REPO)
    chapters = cm.chapters(book)
    from mlsysim.exercises import REGISTRY
    listed = [f for part, files in cm.parts(book) for f in files]
    assert [c.stem for c in chapters] == [f.split("/")[-1][:-4] for f in listed]
    assert "course-map" not in {c.stem for c in chapters}
    assert sum(c.minutes for c in chapters) == sum(e.minutes for e in REGISTRY.values())
    assert sum(len(c.exercises) for c in chapters) == len(REGISTRY)
    assert all(c.learn and c.exercises for c in chapters)
    assert chapters[0].stem == "roofline" and chapters[0].prerequisites == ()
    for name in cm.PATHS:
        path = cm.path_chapters(chapters, name)
        for weeks in cm.TERMS:
            plan = cm.plan(path, weeks)
            assert len(plan) == weeks and all(w.chapters for w in plan)
            assert round(sum(w.minutes for w in plan)) == sum(c.minutes for c in path)


def test_objectives_read_as_plain_text_in_the_table():
    from booktools.coursemap import _plain

    # emphasis, code and inline-math marks are dropped; underscores inside a name stay
    assert _plain("The *balance prompt*: why **it** moves") == "The balance prompt: why it moves"
    assert _plain("Why training costs about $6ND$ FLOPs, per `check`") == \
        "Why training costs about 6ND FLOPs, per check"
    assert _plain("snake_case_name and _emphasis_") == "snake_case_name and emphasis"
