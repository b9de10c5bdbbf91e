"""`python -m booktools variant`: a chapter run with other parameters (one real variant, ~10 s)."""
import hashlib
import json
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from booktools import variant
from booktools.__main__ import main
from booktools.errors import BookError
from booktools.project import Book
from booktest_support import REPO
from mlsysim.exercises import expected

BOOK = Book(REPO)
CHAPTER = "training-memory"       # the fastest chapter with claims that move with SEQ_LEN


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """Run `variant training-memory -p SEQ_LEN 4096` once, through the command line."""
    out = tmp_path_factory.mktemp("variant") / "out"
    protected = [BOOK.root / "tutorials" / f"{CHAPTER}.qmd", BOOK.golden(BOOK.chapter(CHAPTER))]
    before = [_sha(p) for p in protected]
    import contextlib
    import io
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["--root", str(REPO), "variant", CHAPTER, "-p", "SEQ_LEN", "4096", "--out", str(out)])
    assert [_sha(p) for p in protected] == before, "a variant must never touch the chapter or its golden"
    return code, stdout.getvalue(), out


def _inline(nb, line, source):
    cell = next(c for c in nb.cells if c.metadata.get("booktools", {}).get("kind") == "inline"
                and c.metadata["booktools"]["line"] == line and c.source == source)
    return "".join(cell.outputs[0]["data"]["text/plain"])


def test_variant_writes_notebook_page_and_report(ran):
    code, stdout, out = ran
    assert sorted(p.name for p in out.iterdir()) == ["claims.json", f"{CHAPTER}.html", f"{CHAPTER}.ipynb"]
    nb = nbformat.read(out / f"{CHAPTER}.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and injected[0].source.endswith("SEQ_LEN = 4096")
    before = nb.cells[nb.cells.index(injected[0]) - 1]
    assert "parameters" in before.metadata["tags"]          # papermill: right after the parameters cell
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code" and c.source.strip())


def test_prose_numbers_are_recomputed(ran):
    _, _, out = ran
    nb = nbformat.read(out / f"{CHAPTER}.ipynb", as_version=4)
    gold = nbformat.read(BOOK.golden(BOOK.chapter(CHAPTER)), as_version=4)
    # .qmd line 91: "Training the same model on the same GPU needs `{python} fmt(alone.total, "GB")`"
    assert _inline(gold, 91, 'fmt(alone.total, "GB")') == "'164 GB'"
    assert _inline(nb, 91, 'fmt(alone.total, "GB")') == "'146 GB'"
    assert _inline(nb, 90, 'f"{SEQ_LEN:,}"') == "'4,096'"
    page = (out / f"{CHAPTER}.html").read_text()
    text = " ".join(page.split())
    assert "Training the same model on the same GPU needs 146 GB, that is 9 times as much" in text
    assert "ClaimError" not in page and "assert " not in page      # guard cells stay hidden


def test_failing_claims_are_reported_with_cell_line_and_message(ran):
    code, stdout, out = ran
    assert code == 1                                       # written, but claims fail
    report = json.loads((out / "claims.json").read_text())
    assert report["parameters"] == {"SEQ_LEN": "4096"} and report["claims_checked"] == 14
    assert [(f["line"], f["cell"]) for f in report["claims_failed"]] == \
        [(114, "training-memory-013-3"), (191, "training-memory-024-5")]
    assert report["claims_failed"][0]["message"].startswith(
        "claim 'description: about 164 GB per device' no longer holds: the engine gives 146.2")
    assert report["claims_failed"][1]["message"] == "prose: ZeRO-1 leaves less than the headroom"
    assert "2 of 14 claims no longer hold" in stdout
    assert "tutorials/training-memory.qmd:114 (cell training-memory-013-3)" in stdout
    page = (out / f"{CHAPTER}.html").read_text()
    assert "2 of the chapter" in page and "prose: ZeRO-1 leaves less than the headroom" in page


def test_exercise_checks_follow_the_variant(ran):
    _, _, out = ran
    nb = nbformat.read(out / f"{CHAPTER}.ipynb", as_version=4)
    # the largest micro-batch that fits doubles when the sequence halves: 9 at 8,192, 18 at 4,096
    assert expected("training-memory/largest-micro-batch") == 9
    assert expected("training-memory/largest-micro-batch", SEQ_LEN=4096) == 18
    shown = [o["data"]["text/plain"] for c in nb.cells if "solution" in c.metadata.get("tags", [])
             and 'check("training-memory/largest-micro-batch"' in c.source for o in c.outputs if "data" in o]
    assert shown == ["Correct (training-memory/largest-micro-batch): 18 matches the engine's 18."]


def test_defaults_variant_reports_every_claim_holding_on_a_tiny_chapter():
    nb = new_notebook(cells=[new_code_cell("#| tags: [parameters]\nN = 2\nNAME = 'a'"),
                             new_code_cell("#| include: false\nx = N * 2\nassert x == 4, 'four'\nclaim('t', x, 4)")])
    nb.cells[0].metadata.update(tags=["parameters"], booktools={"line": 5})
    nb.cells[1].metadata.update(tags=["remove-cell"], booktools={"line": 10})
    injected = variant.inject(nb, {"N": 3})
    assert [c.source.splitlines()[-1] for c in injected.cells] == ["NAME = 'a'", "N = 3", "claim('t', x, 4)"]
    assert variant.split_guards(injected) == 2
    parts = injected.cells[2:]
    # the fence is line 10, its option line 11, then the statements at 12, 13, 14
    assert [(c.source, c.metadata["booktools"]["line"], c.metadata["booktools"]["guard"]) for c in parts] == \
        [("#| include: false\nx = N * 2", 12, False), ("#| include: false\nassert x == 4, 'four'", 13, True),
         ("#| include: false\nclaim('t', x, 4)", 14, True)]


def test_unknown_parameter_lists_the_chapters_parameters(capsys):
    assert main(["--root", str(REPO), "variant", CHAPTER, "-p", "SEQLEN", "4096"]) == 2
    err = capsys.readouterr().err
    assert "unknown parameter SEQLEN for chapter training-memory; its parameters are: " \
           "MODEL (default \"Llama3_8B\"), BIG_MODEL (default \"Llama3_70B\"), GPU (default \"H100\"), " \
           "SEQ_LEN (default 8192), NODE_GPUS (default 8), HEADROOM (default 0.10)" in err


@pytest.mark.parametrize("text, value", [("500", 500), ("0.05", 0.05), ("B200", "B200"), ("'H100'", "H100"),
                                         ("True", True), ("[1, 2]", [1, 2]), ("1e3", 1000.0), ("fp8", "fp8")])
def test_values_are_literals_else_strings(text, value):
    assert variant.parse_value(text) == value and type(variant.parse_value(text)) is type(value)


def test_slug_and_repeated_parameter():
    assert variant.slug({"GPU": "B200", "LOAD_QPS": 500}) == "gpu-b200-load_qps-500"
    assert variant.slug({"TPOT_SLO": 0.05}) == "tpot_slo-0.05"
    with pytest.raises(BookError, match="given twice"):
        variant.parse_pairs([["GPU", "B200"], ["GPU", "H200"]])


@pytest.mark.parametrize("folder", ["tutorials", "tests/golden", "tutorials/x"])
def test_never_writes_into_sources_or_goldens(folder):
    fake = variant.Variant(CHAPTER, {}, new_notebook(), [], 0)
    with pytest.raises(BookError, match="never written into"):
        variant.write(BOOK, fake, BOOK.root / folder)
