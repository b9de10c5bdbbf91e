"""Self-study grades: check(..., record_to=...) appends one JSON line per attempt."""
import datetime
import json

import pytest

from mlsysim.errors import InputError
from mlsysim.exercises import ATTEMPTS_ENV, check, expected

EX = "roofline/fp8-crossing"


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_attempts_are_appended_with_id_answer_verdict_and_time(tmp_path):
    path = tmp_path / "attempts.jsonl"
    right = expected(EX)
    assert check(EX, right * 10, record_to=path).status == "wrong"
    assert check(EX, right, record_to=str(path)).status == "correct"
    records = _lines(path)
    assert [r["verdict"] for r in records] == ["wrong", "correct"]
    assert [r["exercise"] for r in records] == [EX, EX]
    assert records[0]["chapter"] == "roofline"
    assert records[1]["answer"] == repr(right) and records[0]["answer"] == repr(right * 10)
    when = datetime.datetime.fromisoformat(records[0]["time"])
    assert when.utcoffset() == datetime.timedelta(0)
    assert abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) < 60


def test_recording_never_loses_earlier_attempts(tmp_path):
    path = tmp_path / "attempts.jsonl"
    earlier = '{"exercise": "x/y", "verdict": "close", "answer": "1", "time": "2026-01-01T00:00:00+00:00"}\n'
    path.write_text(earlier)
    check(EX, "0", record_to=path)
    text = path.read_text()
    assert text.startswith(earlier) and len(text.splitlines()) == 2
    assert _lines(path)[1]["answer"] == "0"           # a string answer is kept as typed


def test_environment_variable_turns_recording_on(tmp_path, monkeypatch):
    path = tmp_path / "env.jsonl"
    monkeypatch.setenv(ATTEMPTS_ENV, str(path))
    check(EX, expected(EX))
    check(EX, None)                                    # no answer yet: not an attempt
    assert [r["verdict"] for r in _lines(path)] == ["correct"]


def test_no_file_without_opt_in(tmp_path, monkeypatch):
    monkeypatch.delenv(ATTEMPTS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    check(EX, expected(EX))
    assert list(tmp_path.iterdir()) == []


def test_quantity_answers_keep_their_unit(tmp_path):
    import mlsysim
    path = tmp_path / "a.jsonl"
    check(EX, mlsysim.Q_(2.0, "dimensionless"), record_to=path)
    check("batching/batch-one-wait", mlsysim.Q_(3.5, "ms"), record_to=path)
    assert [r["answer"] for r in _lines(path)] == ["2.0", "3.5 ms"]


@pytest.mark.parametrize("bad, detail", [("missing-folder/attempts.jsonl", "does not exist"),
                                         (".", "is a folder"), ("", None), (42, None)])
def test_a_bad_path_names_the_parameter(tmp_path, monkeypatch, bad, detail):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as info:
        check(EX, 1.0, record_to=bad)
    assert info.value.parameter == "record_to"
    assert "record_to" in str(info.value)
    if detail:
        assert detail in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_a_bad_environment_path_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(ATTEMPTS_ENV, str(tmp_path / "nope" / "a.jsonl"))
    with pytest.raises(InputError, match=ATTEMPTS_ENV):
        check(EX, 1.0)
