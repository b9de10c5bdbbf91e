"""The instructor edition shows each exercise's kind, objective, minutes and points."""
import re
from types import SimpleNamespace

import nbformat

from booktools import convert, exercise_notes, notebooks, preview, qmd
from booktools.project import Book
from booktest_support import REPO
from mlsysim.exercises import REGISTRY

BOOK = Book(REPO)
FP8 = ("*Exercise `roofline/fp8-crossing`: change one variable · 10 minutes · 2 points. Objective: "
       + REGISTRY["roofline/fp8-crossing"].objective + "*")


def test_note_states_kind_minutes_points_and_objective():
    fake = {"c/x": SimpleNamespace(kind="design", minutes=1, points=4, objective="Size a fleet.")}
    assert exercise_notes.note("c/x", fake) == \
        "*Exercise `c/x`: open design under a budget · 1 minute · 4 points. Objective: Size a fleet.*"
    assert exercise_notes.note("c/unknown", fake) == ""
    assert REGISTRY["roofline/fp8-crossing"].kind == "change" and REGISTRY["roofline/fp8-crossing"].points == 2


def test_every_solution_block_of_the_book_gets_its_own_exercise_note():
    noted = []
    for path in BOOK.chapter_paths():
        nb = exercise_notes.annotate(convert.to_notebook(qmd.parse(path), BOOK.root))
        section = None
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                continue
            heading = re.findall(r"^###\s+Exercise\b.*\{#sec-ex-([\w-]+)", cell.source, re.M)
            if heading:
                section = f"{path.stem}/{heading[-1]}"
            for exercise_id in re.findall(r"^\*Exercise `([^`]+)`:", cell.source, re.M):
                assert exercise_id == section, (path.stem, exercise_id, section)
                noted.append(exercise_id)
    assert sorted(noted) == sorted(REGISTRY.keys())          # each exercise once, none missed


def test_instructor_page_and_notebook_show_the_note_student_ones_do_not(tmp_path):
    path = BOOK.chapter("roofline")
    gold = nbformat.read(BOOK.golden(path), as_version=4)
    pages = {}
    for edition, instructor in (("student", False), ("instructor", True)):
        out = tmp_path / edition
        preview.render_page(BOOK, path, gold, out, instructor=instructor)
        pages[edition] = " ".join((out / "roofline.html").read_text().split())
    shown = "Exercise <code>roofline/fp8-crossing</code>: change one variable · 10 minutes · 2 points. Objective:"
    assert shown in pages["instructor"] and shown not in pages["student"]
    teacher = notebooks.edition(BOOK, path, "instructor", executed=gold)
    student = notebooks.edition(BOOK, path, "student", executed=gold)
    assert any(FP8 in c.source for c in teacher.cells if c.cell_type == "markdown")
    assert not any("Objective:" in c.source for c in student.cells)
    assert not (BOOK.root / "tutorials" / "roofline.qmd").read_text().count("Objective:")   # never in the source
