"""lint: numbers in prose, claims, links, cross-references, citations, exercises, chapter list."""
from __future__ import annotations

from pathlib import Path

import pytest

from booktools import lint, qmd
from booktools.project import Book

from booktest_support import booktools, replace_in


def chapter(text: str, name: str = "demo") -> qmd.Chapter:
    return qmd.parse(Path(f"tutorials/{name}.qmd"), text)


def prose_errors(text: str) -> list[str]:
    return [e.message.split("'")[1] for e in lint.lint_prose_numbers(chapter(text))]


@pytest.mark.parametrize("text, found", [
    ("An H100 reads 3.35 TB/s.", ["3.35 TB/s"]),
    ("It costs $30,000 and draws 700 W.", ["$30,000", "700 W"]),
    ("Decode is 10x slower at 40 % load.", ["10x", "40 %"]),
    ("A 7B params model over 3 years emits 12 tCO2.", ["7B params", "3 years", "12 tCO2"]),
    ("It reads 80 GB [@nvidia].\nThen 4 ms pass.", ["4 ms"]),          # the citation covers one sentence
    ("| GPU | BW |\n|---|---|\n| A | 2 TB/s [@x] |\n| B | 3 TB/s |", ["3 TB/s"]),
])
def test_unbound_numbers_are_errors(text, found):
    assert prose_errors(text) == found


@pytest.mark.parametrize("text", [
    "The roofline model [@williams2009roofline] puts the ridge at 9.4 FLOP/B, e.g. 80 GB of HBM.",
    "It reads `{python} bw` TB/s, so decode takes `{python} t` ms.",
    "Suppose a fleet serves [1,000 req/s]{.input} for [30 days]{.input}.",
    "The time is $t = 3 ms$ and $$E = 700 W \\cdot t$$ exactly.",
    "An H100, GPT-4, FP8, K=8, chapter 3, the year 2024, and Exercise 2.",
    "FP16 stores each weight in 16 bits, INT4 in 4 bits.",
    "```python\nx = 80  # GB\nprint('3 ms')\n```",
    "See [the roofline](https://example.com/80GB-3ms).",
])
def test_allowed_numbers(text):
    assert prose_errors(text) == []


def test_prose_error_names_line_and_fix():
    (err,) = lint.lint_prose_numbers(chapter("---\ntitle: x\n---\n\nFirst.\n\nIt draws 700 W.\n"))
    assert err.line == 7 and "demo.qmd:7" in str(err)
    assert "[700 W]{.input}" in err.message and "{python}" in err.message


CLAIMED = """---
title: "K=8 reasoning costs $9M a year"
subtitle: "and 40% more energy"
---

```{python}
#| include: false
from mlsysim.exercises import claim
claim("title: K=8 costs $9M", value=cost, stated=9e6, rel=0.1)
"""


def test_claims_cover_title_numbers():
    errors = lint.lint_claims(chapter(CLAIMED + "```\n"))
    assert [(e.line, e.message.split(" but")[0]) for e in errors] == [(3, "subtitle states '40%'")]
    fixed = CLAIMED + "claim('subtitle: energy', value=e, stated=40, rel=0.1)\n```\n"
    assert lint.lint_claims(chapter(fixed)) == []


def test_claim_matches_by_stated_value_alone():
    text = '---\ntitle: "Serving costs $2.5M"\n---\n\n```{python}\nclaim("the bill", value=v, stated=2_500_000)\n```\n'
    assert lint.lint_claims(chapter(text)) == []
    assert len(lint.lint_claims(chapter(text.replace("2_500_000", "2_400_000")))) == 1


def run_lint(root: Path) -> list[str]:
    return [str(e) for e in lint.lint_book(Book(root))]


def test_fixture_book_is_clean(book_dir):
    assert run_lint(book_dir) == []


def test_unknown_citation(book_dir):
    replace_in(book_dir / "tutorials" / "sample.qmd", "[@williams2009roofline]", "[@nobody2020]")
    (err,) = lint.lint_book(Book(book_dir))
    assert err.line == 20 and "citation @nobody2020 is not a key in references.bib" in err.message


def test_unknown_cross_reference_and_missing_link(book_dir):
    replace_in(book_dir / "tutorials" / "sample.qmd", "@fig-sweep.", "@fig-nope.")
    replace_in(book_dir / "index.qmd", "tutorials/sample.qmd", "tutorials/missing.qmd")
    errors = sorted(run_lint(book_dir))
    assert any(e.endswith("index.qmd:5: link to missing file 'tutorials/missing.qmd'") for e in errors), errors
    assert any("sample.qmd:30: cross-reference @fig-nope" in e for e in errors), errors


def test_cross_chapter_reference_resolves(book_dir):
    (book_dir / "index.qmd").write_text("---\ntitle: I\n---\n\nSee @sec-your-turn and [it](tutorials/sample.qmd#sec-question).\n")
    assert run_lint(book_dir) == []
    (book_dir / "index.qmd").write_text("---\ntitle: I\n---\n\nSee [it](tutorials/sample.qmd#sec-nope).\n")
    assert ["defines no label 'sec-nope'" in e for e in run_lint(book_dir)] == [True]


def test_missing_and_orphan_chapters(book_dir):
    replace_in(book_dir / "_quarto.yml", "    - tutorials/sample.qmd\n", "    - tutorials/sample.qmd\n    - tutorials/gone.qmd\n")
    (book_dir / "tutorials" / "extra.qmd").write_text("---\ntitle: Extra\n---\n")
    errors = run_lint(book_dir)
    assert any(e.endswith("_quarto.yml:10: chapter 'tutorials/gone.qmd' is listed but does not exist") for e in errors), errors
    assert any("extra.qmd:1: orphan chapter: tutorials/extra.qmd is not listed" in e for e in errors), errors


def test_unbound_number_via_cli(book_dir):
    replace_in(book_dir / "tutorials" / "sample.qmd", "the time grows with size.", "the time grows by 12 ms.")
    result = booktools(book_dir, "lint")
    assert result.returncode == 1 and "sample.qmd:75: number in prose '12 ms'" in result.stderr


def test_title_number_without_claim(book_dir):
    replace_in(book_dir / "tutorials" / "sample.qmd", 'claim("title: $3M", value=3.1e6, stated=3e6, rel=0.1)', "")
    (err,) = lint.lint_book(Book(book_dir))
    assert err.line == 2 and "title states '$3M' but no claim" in err.message


@pytest.mark.parametrize("old, new, message", [
    ("{#sec-ex-read-time}", "", "needs a label {#sec-ex-<id>}"),
    ('check("sample/read-time", answer)\n```\n\n:::', 'check("sample/other", answer)\n```\n\n:::', None),
    ('when-profile="instructor"', 'when-profile="student"', "no worked solution"),
])
def test_exercise_conventions(book_dir, old, new, message):
    path = book_dir / "tutorials" / "sample.qmd"
    text = path.read_text()
    if message is None:     # every check id in the section renamed: the section has no matching check
        text = text.replace('check("sample/read-time", answer)', 'check("sample/other", answer)')
        message = 'no answer check check("sample/read-time", answer)'
    else:
        text = text.replace(old, new)
    path.write_text(text)
    errors = run_lint(book_dir)
    assert any(message in e for e in errors), errors


def test_exercise_id_must_start_with_chapter(book_dir):
    replace_in(book_dir / "tutorials" / "sample.qmd", '```{python}\ncheck("sample/read-time", answer)',
               '```{python}\ncheck("other/read-time", answer)')
    assert any("must start with 'sample/'" in e for e in run_lint(book_dir))


def test_shown_code_wider_than_the_column_is_an_error():
    from booktools.lint import CODE_COLUMN, lint_code_width

    wide = "x = " + "1 + " * 30 + "1"                    # 4 + 4 * 30 + 1 = 125 characters
    fits = "y = " + "1" * (CODE_COLUMN - 4)              # exactly CODE_COLUMN characters
    text = ("---\ntitle: T\n---\n\n"                     # lines 1-4
            "```{python}\n" + fits + "\n" + wide + "\n```\n\n"   # fence line 5, code 6-7
            "```{python}\n#| echo: false\n" + wide + "\n```\n")  # hidden code: exempt
    errors = lint_code_width(chapter(text, "sample"))
    assert [(e.line, str(e).count("125 characters")) for e in errors] == [(7, 1)]


# The sentence a number's citation must be in (lint._sentence): each case gives the text, the
# number, and the sentence around it, worked out by reading the text: a sentence ends at . ! ?
# followed by a space (not after e.g. / i.e. ...), at a blank line, and where a table row, list
# item or heading starts on a new line; a single line break or a dash inside a line ends nothing.
@pytest.mark.parametrize("text, number, sentence", [
    ("It reads 80 GB.", "80 GB", "It reads 80 GB."),                         # from the very start
    ("\n\nIt has 80 GB.", "80 GB", "It has 80 GB."),                          # after a blank line
    ("See [@a] here\n\nIt has 80 GB.", "80 GB", "It has 80 GB."),             # previous paragraph
    ("Read [@a] - 80 GB.", "80 GB", "Read [@a] - 80 GB."),                    # a dash mid-line
    ("Intro [@a]\n- 80 GB per item", "80 GB", "- 80 GB per item"),            # a list item
    ("Per [@a], version X uses 80 GB.", "80 GB", "Per [@a], version X uses 80 GB."),
    # the sentence before ends at its ". "; the sentence starts with that space
    ("First one. It reads 80 GB here. Then [@a].", "80 GB", " It reads 80 GB here."),
    ("It has 80 GB\n\nSee [@a].", "80 GB", "It has 80 GB"),                   # next paragraph
    ("It has 80 GB\nas [@a] says.", "80 GB", "It has 80 GB\nas [@a] says."),  # one line break
    ("80 GB here\n- [@a] item", "80 GB", "80 GB here"),                       # a list item after
    ("It has 80 GB as [@a] said.", "80 GB", "It has 80 GB as [@a] said."),
    ("It uses 80 GB in X [@a] style.", "80 GB", "It uses 80 GB in X [@a] style."),
    ("It reads 80 GB, e.g. as [@a] says. Next.", "80 GB", "It reads 80 GB, e.g. as [@a] says."),
    ("Wow! It has 80 GB? Yes [@a].", "80 GB", " It has 80 GB?"),
])
def test_sentence_around_a_number(text, number, sentence):
    start = text.index(number)
    assert lint._sentence(text, start, start + len(number)) == sentence


def test_a_citation_in_the_next_sentence_or_paragraph_does_not_cover_a_number():
    assert prose_errors("It reads 80 GB here. Then [@a] says so.") == ["80 GB"]
    assert prose_errors("It reads 80 GB here\n\nas [@a] says.") == ["80 GB"]
    assert prose_errors("It reads 80 GB here\nas [@a] says.") == []
