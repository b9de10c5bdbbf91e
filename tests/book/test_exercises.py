"""Every exercise: its worked solution passes its own check, and an obviously wrong
answer does not. Runs each chapter's instructor notebook (solutions included)."""
from __future__ import annotations

import pytest

from booktools import lint, qmd, solutions
from booktools.project import Book

from booktest_support import REPO

BOOK = Book(REPO)
CHAPTERS = [p for p in BOOK.chapter_paths() if lint.exercise_ids(qmd.parse(p))]
IDS = [i for p in CHAPTERS for i in lint.exercise_ids(qmd.parse(p))]


@pytest.fixture(scope="module")
def exercises():
    # no skip on ImportError: an exercise module that cannot be imported is a broken book, and
    # every check of it must fail, not vanish from the count
    import mlsysim.exercises as ex
    return ex


def test_book_has_exercises():
    assert IDS, "no chapter calls check(\"<chapter>/<exercise>\", ...)"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_solutions_pass_their_checks(exercises, path):
    passed = solutions.run(BOOK, path)      # raises BookError naming the exercise and line
    assert sorted(set(passed)) == sorted(lint.exercise_ids(qmd.parse(path)))


@pytest.mark.parametrize("exercise_id", IDS)
def test_wrong_answer_is_wrong(exercises, exercise_id):
    assert exercise_id in exercises.REGISTRY, f"{exercise_id} is checked in a chapter but not registered"
    wrong = exercises.REGISTRY[exercise_id].wrong_example()
    result = exercises.check(exercise_id, wrong)
    assert result.status == "wrong", f"{exercise_id}: wrong example {wrong!r} was judged {result.status}"
    assert exercises.expected(exercise_id) is not None
