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


# Every unit the prose rule knows, one sentence per group; each number is found with its unit
# as written (scales: 49 thousand, 5K ...). No citation anywhere, so each one is an error.
@pytest.mark.parametrize("text, found", [
    ("Serving 5 tokens/s, 6 tok/s, 7 req/s, 8 requests/s, 9 queries/s and 10 QPS.",
     ["5 tokens/s", "6 tok/s", "7 req/s", "8 requests/s", "9 queries/s", "10 QPS"]),
    ("It does 11 TFLOP/s, 12 PFLOPS, 13 GFLOPs, 14 FLOP and 15 TOPS.",
     ["11 TFLOP/s", "12 PFLOPS", "13 GFLOPs", "14 FLOP", "15 TOPS"]),
    ("It moves 16 bytes, 17 byte, 18 KiB, 19 Mb, 20 tokens, 21 params and 22 parameters.",
     ["16 bytes", "17 byte", "18 KiB", "19 Mb", "20 tokens", "21 params", "22 parameters"]),
    ("It draws 23 kWh, 24 MW, 25 kJ, 26 GHz, 27 gCO2e, 28 tCO2, 29 tonnes and 30 kg.",
     ["23 kWh", "24 MW", "25 kJ", "26 GHz", "27 gCO2e", "28 tCO2", "29 tonnes", "30 kg"]),
    ("It waits 31 ns, 32 µs, 33 us, 34 s, 35 secs, 36 seconds, 37 min, 38 minutes, 39 h, 40 hrs and 41 hours.",
     ["31 ns", "32 µs", "33 us", "34 s", "35 secs", "36 seconds", "37 min", "38 minutes", "39 h", "40 hrs",
      "41 hours"]),
    ("It lasts 42 days, 43 weeks, 44 months and 45 years, and costs 46 USD, 47 dollars and 48 cents.",
     ["42 days", "43 weeks", "44 months", "45 years", "46 USD", "47 dollars", "48 cents"]),
    ("It holds 49 thousand tokens, 50 million params, 2 billion bytes, 3 trillion tokens, 4 bn USD, "
     "5K tokens, 6M params and is 7 × faster.",
     ["49 thousand tokens", "50 million params", "2 billion bytes", "3 trillion tokens", "4 bn USD",
      "5K tokens", "6M params", "7 ×"]),
    ("It costs $5 and $6 more.", ["$5", "$6"]),             # two prices are not a $...$ formula
])
def test_every_unit_is_recognised(text, found):
    assert prose_errors(text) == found


@pytest.mark.parametrize("text", [
    "A note <!-- 80 GB, to check --> here.",
    "Run `load(80 GB)` first.",
    'A <span title="80 GB">tip</span>, and <https://example.org/?size=80 GB>.',
    "See [the data](data/size 80 GB.csv).",
    "A figure ![plot](plot.png){width=80%} here.",        # Quarto's image size, not a claim
    "::: {layout-ncol=2}\nText.\n:::",
    "::: callout 10 ms budget\nText.\n:::",
])
def test_numbers_outside_the_prose_are_not_errors(text):
    assert prose_errors(text) == []


def test_lines_are_kept_when_a_multi_line_comment_is_blanked():
    # lines 1-3 front matter, 4 blank, 5-6 the comment, 7 the number
    (err,) = lint.lint_prose_numbers(chapter("---\ntitle: x\n---\n\n<!-- a\nb -->\nIt draws 700 W.\n"))
    assert err.line == 7


def test_claims_in_reads_each_form_of_a_claim():
    code = ("#| include: false\n%load_ext autoreload\n!echo hi\n"
            "claim('a: $9M', value=v, stated=9e6)\n"
            "claim(text='b: 40%', value=e, stated=40)\n"
            "ex.claim('c: 2 GPUs', value=n)\n"                 # no stated value
            "claim('d: 3x', value=r, stated=ratio)\n"           # stated is not a literal
            "claim(value=x, stated=5)\n")                       # no text
    assert lint.claims_in(code) == [("a: $9M", 9e6), ("b: 40%", 40.0), ("c: 2 GPUs", None), ("d: 3x", None),
                                    ("", 5.0)]
    assert lint.claims_in("claim('a', stated=1\n") == []       # not Python: no claims read


def _title_claim(title: str, claim: str) -> list[str]:
    text = f'---\ntitle: "{title}"\n---\n\n```{{python}}\n{claim}\n```\n'
    return [e.message.split(" but")[0] for e in lint.lint_claims(chapter(text))]


@pytest.mark.parametrize("token, stated", [
    ("$2.5k", 2_500), ("$3K", 3_000), ("$9M", 9e6), ("$4B", 4e9), ("$5bn", 5e9), ("$6T", 6e12),
    ("1,200", 1_200), ("$7", 7),
])
def test_a_title_number_is_covered_by_its_stated_value_at_any_scale(token, stated):
    assert _title_claim(f"It costs {token}", f'claim("the bill", value=v, stated={stated!r})') == []
    # one part in a million off is another number
    assert _title_claim(f"It costs {token}", f'claim("the bill", value=v, stated={stated * 1.000001!r})') == [
        f"title states {token!r}"]


def test_a_title_number_is_covered_by_a_claims_text_only_as_a_whole_number():
    assert _title_claim("40% less", 'claim("title: 40% less", value=v)') == []
    assert _title_claim("40% less", 'claim("title: 40 percent", value=v)') == []      # bare 40
    assert _title_claim("40% less", 'claim("title: 140% less", value=v)') == ["title states '40%'"]
    assert _title_claim("40% less", 'claim("title: 3.40% less", value=v)') == ["title states '40%'"]


def test_a_description_number_is_checked_at_its_line():
    text = '---\ntitle: "T"\ndescription: "Saves 30%"\n---\n\n```{python}\nx = 1\n```\n'
    assert [(e.line, e.message.split(" but")[0]) for e in lint.lint_claims(chapter(text))] == [
        (3, "description states '30%'")]


def test_labels_of_headings_and_cells_but_not_code():
    text = ("---\ntitle: T\n---\n\n## A {#sec-a}\n\n```python\n## not {#sec-code}\n```\n\n"
            "```{python}\n#| label: fig-b\nx = 1\n```\n\n## Again {#sec-a}\n")
    # sec-a on line 5 (its first definition), fig-b's cell fence on line 11; the fenced example is code
    assert lint.labels_of(chapter(text)) == {"sec-a": 5, "fig-b": 11}


def test_bib_keys(tmp_path):
    bib = tmp_path / "refs.bib"
    bib.write_text("@article{ smith2020 ,\n title={x}}\n@book{doe:2021,\n}\n")
    assert lint.bib_keys(bib) == {"smith2020", "doe:2021"}
    assert lint.bib_keys(tmp_path / "missing.bib") == set()


def test_links_within_the_page_and_to_the_web(book_dir):
    path = book_dir / "tutorials" / "sample.qmd"
    text = path.read_text()
    path.write_text(text + "\nSee [this](#sec-question), [the web](https://example.org/x#y),\n"
                    "[mail](mailto:a@b.org) and [nowhere](#sec-nowhere).\n")
    # the appended text starts on the file's last line + 2; the bad link is on its second line
    line = text.count("\n") + 3
    assert run_lint(book_dir) == [f"{path}:{line}: link to unknown label '#sec-nowhere'"]


def test_missing_bibliography_and_unparsable_chapter(book_dir):
    (book_dir / "references.bib").unlink()
    errors = run_lint(book_dir)
    assert f"{book_dir / 'references.bib'}: bibliography file is missing" in errors
    assert any("citation @williams2009roofline is not a key in references.bib" in e for e in errors)


def test_lint_book_lints_only_the_chapters_asked_for(book_dir):
    replace_in(book_dir / "index.qmd", "starting at @sec-question", "at 12 ms")
    book = Book(book_dir)
    assert [e.line for e in lint.lint_book(book, [book_dir / "tutorials" / "sample.qmd"])] == []
    assert [e.line for e in lint.lint_book(book, [book_dir / "index.qmd"])] == [5]


def test_a_chapter_listed_twice(book_dir):
    replace_in(book_dir / "_quarto.yml", "    - tutorials/sample.qmd\n", "    - tutorials/sample.qmd\n    - tutorials/sample.qmd\n")
    # _quarto.yml lists index.qmd on line 8, sample.qmd on 9 and 10; Book.listed gives a file the first
    # line that names it, so the error is on line 9
    assert run_lint(book_dir) == [f"{book_dir / '_quarto.yml'}:9: chapter 'tutorials/sample.qmd' is listed twice"]


def test_exercise_sections_end_at_the_next_section_heading():
    text = ("---\ntitle: T\n---\n\n## Exercises\n\n### Exercise 1: a {#sec-ex-a}\n\n#### Hint\n\n"
            "```{python}\ncheck(\"demo/a\", x)\n```\n\n## Summary\n\n```{python}\ncheck(\"demo/b\", y)\n```\n")
    # the exercise heading is line 7; its section keeps the #### hint and ends at "## Summary" (line 15),
    # so the later check is not its; no solution block anywhere
    assert lint.exercises(chapter(text)) == [{"line": 7, "label": "sec-ex-a", "checks": ["demo/a"], "solution": False}]
    assert lint.exercise_ids(chapter(text)) == ["demo/a", "demo/b"]


def test_code_width_exempts_hidden_cells_and_option_lines():
    wide = "x = " + "1 + " * 30 + "1"                    # 125 characters
    text = ("---\ntitle: T\n---\n\n```{python}\n#| include: false\n" + wide + "\n```\n\n"
            "```{python}\n#| fig-cap: \"" + "a" * 100 + "\"\nx = 1\n```\n")
    assert lint.lint_code_width(chapter(text)) == []


def test_an_unparsable_chapter_is_one_error_and_the_others_are_still_linted(book_dir):
    (book_dir / "tutorials" / "sample.qmd").write_text("---\ntitle: x\n\nNo end of front matter.\n")
    replace_in(book_dir / "index.qmd", "starting at @sec-question", "at 12 ms")
    errors = run_lint(book_dir)
    assert f"{book_dir / 'tutorials' / 'sample.qmd'}:1: front matter starts with '---' but never ends" in errors
    assert any(e.endswith("index.qmd:5: number in prose '12 ms' is neither computed nor cited: make it an "
                          "inline expression `{python} ...`, cite it with [@key] in the same sentence, "
                          "or mark an author-chosen input as [12 ms]{.input}") for e in errors), errors


def test_links_in_code_other_files_and_mail_addresses(book_dir):
    (book_dir / "data.csv").write_text("x\n")
    (book_dir / "index.qmd").write_text(
        "---\ntitle: I\n---\n\nSee `[x](missing.qmd)`, [the data](data.csv#row-2), [the question](#sec-question)\n"
        "and write to someone@example.org.\n\n```\n[y](missing.qmd) @nobody2020\n```\n")
    # code is not a link; an anchor in a file that is not a chapter is not checked; #sec-question is
    # defined in another chapter; an e-mail address is not a citation
    assert run_lint(book_dir) == []


def test_exercise_headings_are_level_three_outside_solutions():
    text = ("---\ntitle: T\n---\n\n### Exercises overview\n\n#### Exercise 2: deeper {#sec-ex-deep}\n\n"
            "### Exercise 1: a {#sec-ex-a}\n\n::: {.content-visible when-profile=\"instructor\"}\n"
            "### Exercise 9: in the solution {#sec-ex-hidden}\n\n```{python}\ncheck(\"demo/a\", 1)\n```\n:::\n")
    # only line 9 starts an exercise ("Exercises" is not "Exercise", #### is too deep, and a heading in
    # the instructor block belongs to the solution); the solution block gives it its solution and check
    assert lint.exercises(chapter(text)) == [{"line": 9, "label": "sec-ex-a", "checks": ["demo/a"], "solution": True}]


def test_every_missing_link_of_a_paragraph_is_reported_at_its_line(book_dir):
    (book_dir / "index.qmd").write_text("---\ntitle: I\n---\n\nSee [one](gone.qmd) and [two](lost.qmd),\n"
                                        "then [three](missing.qmd).\nThe end.\n")
    # the paragraph starts on line 5; the third link is on line 6
    assert [e.split("index.qmd:")[1] for e in run_lint(book_dir)] == [
        "5: link to missing file 'gone.qmd'", "5: link to missing file 'lost.qmd'",
        "6: link to missing file 'missing.qmd'"]


def test_reference_errors_name_the_file_and_line(book_dir):
    (book_dir / "index.qmd").write_text(
        "---\ntitle: I\n---\n\nSee [it](tutorials/sample.qmd#sec-nope),\n[here](#sec-none) and @fig-none,\n"
        "as @nobody2020 says.\nThe end.\n")
    # the paragraph is lines 5-8: the first link on 5, the in-page link and cross-reference on 6, the citation on 7
    index = book_dir / "index.qmd"
    assert [(e.path, e.line, e.message) for e in lint.lint_book(Book(book_dir))] == [
        (index, 5, "link to 'tutorials/sample.qmd#sec-nope': tutorials/sample.qmd defines no label 'sec-nope'"),
        (index, 6, "link to unknown label '#sec-none'"),
        (index, 6, "cross-reference @fig-none has no matching {#fig-none} or '#| label:' in the book"),
        (index, 7, "citation @nobody2020 is not a key in references.bib")]


def test_exercise_errors_name_the_file_and_line_and_all_exercises_are_checked():
    text = ("---\ntitle: T\n---\n\n### Exercise 1: no label\n\nText.\n\n"
            "### Exercise 2: no check, no solution {#sec-ex-two}\n\nText.\n")
    ch = chapter(text)
    # the unlabelled exercise (line 5) does not stop the check of the next one (line 9)
    assert [(e.path, e.line, e.message) for e in lint.lint_exercises(ch)] == [
        (ch.path, 5, "exercise heading needs a label {#sec-ex-<id>}"),
        (ch.path, 9, 'exercise has no answer check check("demo/two", answer) in its section'),
        (ch.path, 9, 'exercise has no worked solution in a ::: {.content-visible when-profile="instructor"} block')]
