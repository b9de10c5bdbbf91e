"""`python -m booktools progress`: a student's attempts file summarised (hand-made files)."""
import json
from types import SimpleNamespace

import pytest

from booktools import progress
from booktools.__main__ import main
from booktools.errors import BookError

REGISTRY = {
    "alpha/one": SimpleNamespace(kind="predict", points=2),
    "alpha/two": SimpleNamespace(kind="design", points=4),
    "alpha/three": SimpleNamespace(kind="change", points=1),
    "beta/other": SimpleNamespace(kind="connect", points=3),
}


def _write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


ATTEMPTS = [
    {"exercise": "alpha/one", "verdict": "wrong", "answer": "1", "time": "2026-12-01T10:00:00+00:00"},
    {"exercise": "alpha/one", "verdict": "correct", "answer": "2", "time": "2026-12-01T10:01:00+00:00"},
    {"exercise": "alpha/one", "verdict": "close", "answer": "2.2", "time": "2026-12-01T10:02:00+00:00"},
    {"exercise": "alpha/two", "verdict": "close", "answer": "{}", "time": "2026-12-01T10:03:00+00:00"},
    {"exercise": "beta/gone", "verdict": "correct", "answer": "3", "time": "2026-12-01T10:04:00+00:00"},
]


def test_summary_counts_attempts_best_verdict_and_points(tmp_path):
    chapters = progress.summarise(progress.read_attempts(_write(tmp_path / "a.jsonl", ATTEMPTS)), REGISTRY)
    alpha, beta = chapters
    # alpha: one is correct once (best of wrong, correct, close) -> 2 of 2; two is close -> 4 / 2 = 2
    assert [(e.exercise, e.attempts, e.best, e.earned, e.available) for e in alpha.exercises.values()] == \
        [("alpha/one", 3, "correct", 2.0, 2.0), ("alpha/two", 1, "close", 2.0, 4.0)]
    assert (alpha.attempts, alpha.earned, alpha.available, alpha.registered) == (4, 4.0, 7.0, 3)
    # beta: its only attempt is at an exercise the registry no longer has -> nothing available for it
    assert (beta.attempts, beta.earned, beta.available, beta.registered) == (1, 0.0, 3.0, 1)
    assert not beta.exercises["beta/gone"].known


def test_table_is_exact(tmp_path):
    chapters = progress.summarise(ATTEMPTS, REGISTRY)
    rule = "-" * 30 + "  " + "-" * 7 + "  " + "-" * 8 + "  " + "-" * 7 + "  " + "-" * 7
    want = "\n".join([
        "progress: attempts.jsonl",
        "chapter / exercise" + " " * 14 + "kind" + " " * 5 + "attempts" + " " * 2 + "best" + " " * 6 + "points",
        rule,
        "alpha (2 of 3 exercises tried)" + " " * 18 + "4" + " " * 12 + "4 of 7",
        "  one" + " " * 27 + "predict" + " " * 9 + "3" + "  " + "correct" + " " * 3 + "2 of 2",
        "  two" + " " * 27 + "design" + " " * 10 + "1" + "  " + "close" + " " * 5 + "2 of 4",
        "beta (0 of 1 exercises tried)" + " " * 19 + "1" + " " * 12 + "0 of 3",
        "  gone (not in the registry)" + " " * 20 + "1" + "  " + "correct" + " " * 3 + "0 of 0",
        rule,
        "total" + " " * 43 + "5" + " " * 11 + "4 of 10",
        "points: correct earns an exercise's points, close half, wrong none; best attempt counts",
    ]) + "\n"
    assert progress.format_table(chapters, "attempts.jsonl") == want


def test_command_uses_the_real_registry(tmp_path, capsys):
    # roofline registers four exercises worth 2 + 2 + 1 + 4 = 9 points; fp8-crossing is worth 2
    path = _write(tmp_path / "attempts.jsonl", [
        {"exercise": "roofline/fp8-crossing", "verdict": "close"},
        {"exercise": "roofline/fp8-crossing", "verdict": "correct"},
    ])
    assert main(["progress", str(path)]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[3:5]}
    assert rows["roofline"][-3:] == ["2", "of", "9"] and rows["roofline"][1:6] == ["(1", "of", "4", "exercises", "tried)"]
    assert rows["fp8-crossing"] == ["fp8-crossing", "change", "2", "correct", "2", "of", "2"]


def test_command_reads_the_environment_variable_and_runs_outside_the_book(tmp_path, monkeypatch, capsys):
    path = _write(tmp_path / "mine.jsonl", [{"exercise": "roofline/fp8-crossing", "verdict": "wrong"}])
    monkeypatch.setenv("MLSYSIM_ATTEMPTS", str(path))
    monkeypatch.chdir(tmp_path)                       # no _quarto.yml here
    assert main(["progress"]) == 0
    assert "0 of 9" in capsys.readouterr().out


@pytest.mark.parametrize("line, message", [
    ("not json", ":2: not a JSON attempt record"),
    ('{"exercise": "roofline/fp8-crossing"}', ":2: attempt record lacks verdict"),
    ('{"exercise": "roofline/fp8-crossing", "verdict": "great"}', ":2: verdict 'great' is not one of"),
    ("[1, 2]", ":2: an attempt record must be a JSON object"),
])
def test_a_bad_record_names_its_line(tmp_path, capsys, line, message):
    path = tmp_path / "a.jsonl"
    path.write_text('{"exercise": "roofline/fp8-crossing", "verdict": "wrong"}\n' + line + "\n")
    assert main(["progress", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_a_missing_file_says_how_to_record(tmp_path):
    with pytest.raises(BookError, match="record_to"):
        progress.read_attempts(tmp_path / "none.jsonl")
