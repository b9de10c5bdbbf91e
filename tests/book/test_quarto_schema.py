"""Valid Quarto, checked without Quarto: a misspelt option, a wrong type or a value Quarto does
not allow, in _quarto.yml, a profile, a chapter's front matter or a cell's #| options, is a
lint error naming the file and line."""
from __future__ import annotations

import pytest

from booktools import lint, quarto_schema
from booktools.project import Book

from booktest_support import REPO, booktools, replace_in


def test_the_book_is_valid_quarto():
    errors = quarto_schema.check_book(Book(REPO))
    assert not errors, "\n".join(map(str, errors))


def test_schema_states_its_quarto_version():
    assert quarto_schema.schema()["quarto"].startswith("1.")


@pytest.mark.parametrize("file, old, new, line, words", [
    ("_quarto.yml", "  type: book", "  type: bok", 2, "'project.type' must be one of"),
    ("_quarto.yml", "book:\n  title:", "book:\n  titel:", 4, "unknown Quarto option 'book.titel' (did you mean 'title'?)"),
    ("_quarto.yml", "bibliography: references.bib", "bibliography: references.bib\nformat:\n  html:\n    toc-dept: 2",
     13, "'format.html.toc-dept' (did you mean 'toc-depth'?)"),
    ("_quarto.yml", "bibliography: references.bib", "bibliography: references.bib\nexecute:\n  freeze: sometimes",
     12, "'execute.freeze' must be"),
    ("_quarto.yml", "bibliography: references.bib", "bibliography: references.bib\nformat:\n  html:\n    toc: yes please",
     13, "'format.html.toc' must be"),
    ("tutorials/sample.qmd", "categories: [fixture]", "categories: [fixture]\ndescripton: x", 6,
     "'descripton' (did you mean 'description'?)"),
    ("tutorials/sample.qmd", "#| label: tbl-sizes", "#| label: tbl-sizes\n#| ech: false", 42, "'ech' (did you mean 'echo'?)"),
    ("tutorials/sample.qmd", "#| echo: false\nimport matplotlib", "#| echo: maybe\nimport matplotlib", 52,
     "'echo' must be"),
    ("tutorials/sample.qmd", "#| label: tbl-sizes", "#| label: tbl-sizes\n#| tags: parameters", 42, "'tags' must be"),
])
def test_bad_quarto_fails_lint_with_file_and_line(book_dir, file, old, new, line, words):
    replace_in(book_dir / file, old, new)
    errors = [e for e in lint.lint_book(Book(book_dir)) if "Quarto option" in e.message]
    assert errors, f"no Quarto error for {new!r}"
    assert errors[0].path.name == file.split("/")[-1] and errors[0].line == line, str(errors[0])
    assert words.replace("must be one of", "must be") in errors[0].message, str(errors[0])
    result = booktools(book_dir, "lint")
    assert result.returncode == 1 and f"{file.split('/')[-1]}:{line}:" in result.stderr


def test_profile_is_checked_too(book_dir):
    (book_dir / "_quarto-instructor.yml").write_text("project:\n  output-dir: _x\nbook:\n  title: T\n  chapter: []\n")
    errors = quarto_schema.check_book(Book(book_dir))
    assert [(e.path.name, e.line) for e in errors] == [("_quarto-instructor.yml", 5)]


def test_an_empty_value_is_an_error_not_a_crash(book_dir):
    # "chapters:" with nothing after it is null in YAML; the message shows it as None (line 7 of the
    # fixture's _quarto.yml holds "chapters:")
    replace_in(book_dir / "_quarto.yml", "  chapters:\n    - index.qmd\n    - tutorials/sample.qmd\n", "  chapters:\n")
    errors = quarto_schema.check_book(Book(book_dir))
    assert [(e.path.name, e.line, e.message) for e in errors] == [
        ("_quarto.yml", 7, "Quarto option 'book.chapters' must be list<string | object>, not None")]
