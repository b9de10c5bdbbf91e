"""The nbgrader course of the exercises (`python -m booktools assignments`), graded by nbgrader.

For every chapter in _quarto.yml that sets exercises, nbgrader's own generate_assignment and
autograde run in a temporary course directory on two sample submissions: the instructor's
source notebook (the worked solutions) must get every point of every exercise, visible and
hidden tests together, and the released starter notebook must get none. Chapters are separate
tests, so pytest-xdist spreads them over the cores (one kernel per graded notebook).

Hidden tests re-run an answer cell with a second value of a chapter parameter; a separate
test shows that the chapter's own answer, typed in as a number, fails that variant. The
exercises without a hidden variant are listed here, by name, with the builder's reason.
"""
from __future__ import annotations

import nbformat
import pytest

from booktools import assignments, lint, qmd
from booktools.project import Book

from booktest_support import REPO

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")   # nbgrader's own ORM chatter

BOOK = Book(REPO)
CHAPTERS = assignments.chapters(BOOK)

#: Exercises whose answer no chapter parameter changes: their test cell says so, and has no
#: hidden part. Any other exercise must have one.
WITHOUT_HIDDEN_VARIANT = {
    "validation/textbook-max-held-out",
    "validation/fp8-ttft-interval-ratio",
    "validation/attention-factor",
    "input-pipeline/v100-cores",
    "where-to-invest/no-fixed-costs",
    "wafer-scale/systems-for-405b",
    "wafer-scale/streamed-70b",
}


def test_every_chapter_with_exercises_has_an_assignment():
    listed = [p for p in BOOK.chapter_paths() if lint.exercise_ids(qmd.parse(p))]
    assert listed and [p.stem for p in CHAPTERS] == [p.stem for p in listed]
    assert len(CHAPTERS) >= 19


def test_exercises_without_a_hidden_variant_are_exactly_these():
    every = {i for p in CHAPTERS for i in lint.exercise_ids(qmd.parse(p))}
    assert set(assignments.NO_VARIANT) == WITHOUT_HIDDEN_VARIANT
    assert every - set(assignments.VARIANTS) == WITHOUT_HIDDEN_VARIANT, \
        "an exercise has neither a hidden variant nor a stated reason"
    assert not set(assignments.VARIANTS) - every, "VARIANTS names an exercise no chapter sets"


def assert_source_notebook_cells(path, nb):
    """Answer cells are autograded answers with solution regions; test cells are locked, with points
    and a hidden part unless the exercise is listed above; every other code cell is read-only."""
    from mlsysim.exercises import REGISTRY

    answers = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    ids = lint.exercise_ids(qmd.parse(path))
    assert len(answers) == len(tests) == len(ids)
    for exercise_id, answer, test in zip(ids, answers, tests):
        assert answer.metadata["nbgrader"] == {"grade": False, "solution": True, "locked": False,
                                               "grade_id": answer.metadata["nbgrader"]["grade_id"],
                                               "schema_version": 3}
        assert "### BEGIN SOLUTION" in answer.source and "### END SOLUTION" in answer.source
        meta = test.metadata["nbgrader"]
        assert meta["locked"] and not meta["solution"]
        assert meta["points"] == REGISTRY[exercise_id].points > 0, exercise_id
        assert f"require_correct({exercise_id!r}, answer)" in test.source
        hidden = "### BEGIN HIDDEN TESTS" in test.source
        assert hidden == (exercise_id not in WITHOUT_HIDDEN_VARIANT), exercise_id
        if not hidden:
            assert "No hidden variant for this exercise" in test.source
    # everything else is a read-only chapter cell or prose
    for cell in nb.cells:
        if cell.cell_type == "code" and cell not in answers:
            assert cell.metadata["nbgrader"]["locked"], cell.source[:80]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_hidden_variant_rejects_the_chapter_answer(path):
    """A typed-in answer to the chapter's own numbers is not correct under the hidden variant."""
    from mlsysim.exercises import REGISTRY, check

    for exercise_id in lint.exercise_ids(qmd.parse(path)):
        if exercise_id in WITHOUT_HIDDEN_VARIANT:
            continue
        variant = assignments.VARIANTS[exercise_id]
        copied = REGISTRY[exercise_id].expected()
        verdict = check(exercise_id, copied, **variant)
        assert verdict.status != "correct", \
            f"{path.stem}: {exercise_id}'s hidden variant {variant} accepts the chapter's own answer {copied!r}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_nbgrader_grades_solution_full_and_starter_zero(path, tmp_path):
    scores = assignments.roundtrip(BOOK, path, tmp_path / "course")
    source = tmp_path / "course" / "source" / path.stem / f"{path.stem}.ipynb"
    assert_source_notebook_cells(path, nbformat.read(source, as_version=4))
    release = nbformat.read(tmp_path / "course" / "release" / path.stem / f"{path.stem}.ipynb", as_version=4)
    text = "\n".join(c.source for c in release.cells)
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "require_correct_variant" not in text
    assert text.count("raise NotImplementedError()") == len(lint.exercise_ids(qmd.parse(path)))
    ids = lint.exercise_ids(qmd.parse(path))
    problems = []
    for student, want in (("solution", "full"), ("starter", "zero")):
        got = scores[student]
        assert sorted(got) == sorted(ids), f"{path.stem}: nbgrader graded {sorted(got)}, the chapter sets {ids}"
        errors = assignments.failures(tmp_path / "course", path.stem, student)
        for exercise_id, (score, max_score) in got.items():
            assert max_score > 0, f"{path.stem}: {exercise_id} has no points"
            if (want == "full" and score != max_score) or (want == "zero" and score != 0):
                why = errors.get(assignments._grade_id(exercise_id, "test"), "no error recorded")
                problems.append(f"{path.stem}: {exercise_id}: the {student} sample got {score:g} of "
                                f"{max_score:g} (expected {want}): {why}")
    assert not problems, "\n".join(problems)


def test_require_correct_raises_unless_correct():
    from mlsysim.exercises import REGISTRY
    from mlsysim.exercises.grading import GradingError, require_correct

    right = REGISTRY["kv-cache/eight-gpu-sequences"].expected()
    assert require_correct("kv-cache/eight-gpu-sequences", right).status == "correct"
    for bad in (None, right * 10):
        with pytest.raises(GradingError, match="kv-cache/eight-gpu-sequences"):
            require_correct("kv-cache/eight-gpu-sequences", bad)
    # the variant's own answer is correct only with the variant's parameter
    other = REGISTRY["kv-cache/eight-gpu-sequences"].expected(GPU="H200")
    assert require_correct("kv-cache/eight-gpu-sequences", other, GPU="H200")
    with pytest.raises(GradingError):
        require_correct("kv-cache/eight-gpu-sequences", other)


def test_require_correct_variant_names_a_bad_parameter_and_needs_a_kernel():
    from mlsysim.errors import InputError
    from mlsysim.exercises.grading import GradingError, require_correct_variant

    with pytest.raises(InputError, match="GPUU"):
        require_correct_variant("kv-cache/eight-gpu-sequences", {"GPUU": "H200"}, "GPU = 'H100'")
    with pytest.raises(GradingError, match="Jupyter kernel"):
        require_correct_variant("kv-cache/eight-gpu-sequences", {"GPU": "H200"}, "GPU = 'H100'")


def test_slicing_reads_and_binds():
    binds, reads = assignments.names(
        "import math\nrows = []\nfor g in GPUS:\n    rows.append(f(g, n=N))\n"
        "ok = [b for b in sizes if (r := solve(b)).feasible and r.x]\n"
        "def h(x):\n    y = x + K\n    return y\nd[k] = v\n")
    assert {"math", "rows", "g", "ok", "h", "d"} <= binds
    assert reads == {"GPUS", "f", "N", "sizes", "solve", "K", "d", "k", "v"}
    # changing a name bound in an earlier cell needs that cell too
    binds, reads = assignments.names("rows.append(1)\ntotal += 2\n")
    assert binds == reads == {"rows", "total"}


def test_typed_numbers_fail_the_hidden_tests(tmp_path):
    """End to end in nbgrader: answer cells that type in the chapter's own answers get the points
    of the exercises without a hidden variant only (input-pipeline has one of each kind)."""
    path = BOOK.chapter("input-pipeline")
    scores = assignments.roundtrip(BOOK, path, tmp_path / "course", typed=True)["typed"]
    assert scores, "nbgrader graded nothing"
    for exercise_id, (score, max_score) in scores.items():
        want = max_score if exercise_id in WITHOUT_HIDDEN_VARIANT else 0
        assert score == want, f"input-pipeline: {exercise_id}: typed-in answer got {score:g} of {max_score:g}"
    assert any(e in WITHOUT_HIDDEN_VARIANT for e in scores) and any(e not in WITHOUT_HIDDEN_VARIANT for e in scores)
