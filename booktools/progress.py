"""`progress`: summarise a student's attempts file (self-study grades).

``mlsysim.exercises.check(id, answer, record_to="attempts.jsonl")`` (or the environment variable
``MLSYSIM_ATTEMPTS``) appends one JSON line per checked answer. This module reads such a file
and prints, per chapter and exercise, the number of attempts, the best verdict and the points
earned out of the points the exercise registry gives:

- a *correct* answer earns the exercise's points, a *close* one half of them, a *wrong* one none;
  only the best verdict of an exercise counts (attempts are never penalised);
- a chapter's points available are those of **every** exercise it registers, attempted or not,
  so the total says how much of the chapter is done;
- an exercise id the registry does not know (renamed since the attempt) is listed with no
  points available and marked ``not in the registry``.

A plain-text table (no extra dependency): the output is the same in a terminal, a log or a test.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BookError

VERDICTS = ("wrong", "close", "correct")          # worst to best
CREDIT = {"correct": 1.0, "close": 0.5, "wrong": 0.0}
DEFAULT_FILE = "attempts.jsonl"


@dataclass
class ExerciseProgress:
    """One exercise's attempts: how many, the best verdict, points earned and available."""

    exercise: str
    attempts: int = 0
    best: str = "wrong"
    kind: str = ""
    available: float = 0.0
    known: bool = True

    @property
    def earned(self) -> float:
        return CREDIT[self.best] * self.available


@dataclass
class ChapterProgress:
    """A chapter's attempted exercises, and the points of every exercise it registers."""

    chapter: str
    exercises: dict = field(default_factory=dict)     # exercise id -> ExerciseProgress, first-attempt order
    available: float = 0.0
    registered: int = 0

    @property
    def attempts(self) -> int:
        return sum(e.attempts for e in self.exercises.values())

    @property
    def earned(self) -> float:
        return sum(e.earned for e in self.exercises.values())


def read_attempts(path: Path) -> list[dict]:
    """The records of an attempts file; a BookError naming the file and line for a bad one."""
    path = Path(path)
    if not path.is_file():
        raise BookError(path, None, "no attempts file here: record attempts with "
                        "check(id, answer, record_to=\"attempts.jsonl\") or MLSYSIM_ATTEMPTS=attempts.jsonl")
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BookError(path, number, f"not a JSON attempt record: {exc.msg}")
        if not isinstance(record, dict):
            raise BookError(path, number, "an attempt record must be a JSON object")
        missing = [k for k in ("exercise", "verdict") if not isinstance(record.get(k), str)]
        if missing:
            raise BookError(path, number, f"attempt record lacks {', '.join(missing)}")
        if record["verdict"] not in VERDICTS:
            raise BookError(path, number, f"verdict {record['verdict']!r} is not one of {', '.join(VERDICTS)}")
        records.append(record)
    return records


def summarise(records: list[dict], registry=None) -> list[ChapterProgress]:
    """Per chapter (in order of first attempt), each attempted exercise's progress."""
    if registry is None:
        from mlsysim.exercises import REGISTRY as registry
    known = dict(registry.items())
    chapters: dict[str, ChapterProgress] = {}
    for record in records:
        exercise_id = record["exercise"]
        name = exercise_id.split("/", 1)[0]
        chapter = chapters.get(name)
        if chapter is None:
            own = [ex for key, ex in known.items() if key.split("/", 1)[0] == name]
            chapter = chapters[name] = ChapterProgress(name, available=float(sum(ex.points for ex in own)),
                                                       registered=len(own))
        progress = chapter.exercises.get(exercise_id)
        if progress is None:
            ex = known.get(exercise_id)
            progress = chapter.exercises[exercise_id] = ExerciseProgress(
                exercise_id, kind=ex.kind if ex else "", available=float(ex.points) if ex else 0.0,
                known=ex is not None)
        progress.attempts += 1
        if VERDICTS.index(record["verdict"]) > VERDICTS.index(progress.best):
            progress.best = record["verdict"]
    return list(chapters.values())


def _points(x: float) -> str:
    return f"{x:g}"


def format_table(chapters: list[ChapterProgress], source: str = "") -> str:
    """The summary as a plain-text table (one row per chapter, then one per exercise)."""
    rows = [("chapter / exercise", "kind", "attempts", "best", "points")]
    total_earned = total_available = total_attempts = 0.0
    for ch in chapters:
        tried = sum(e.known for e in ch.exercises.values())
        rows.append((f"{ch.chapter} ({tried} of {ch.registered} exercises tried)", "",
                     str(ch.attempts), "", f"{_points(ch.earned)} of {_points(ch.available)}"))
        for ex in ch.exercises.values():
            name = ex.exercise.split("/", 1)[-1] + ("" if ex.known else " (not in the registry)")
            rows.append((f"  {name}", ex.kind, str(ex.attempts), ex.best,
                         f"{_points(ex.earned)} of {_points(ex.available)}"))
        total_earned += ch.earned
        total_available += ch.available
        total_attempts += ch.attempts
    rows.append(("total", "", str(int(total_attempts)), "", f"{_points(total_earned)} of {_points(total_available)}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {2, 4}

    def line(row):
        return "  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                         for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
    rule = "  ".join("-" * w for w in widths)
    body = [line(rows[0]), rule] + [line(r) for r in rows[1:-1]] + [rule, line(rows[-1])]
    head = f"progress: {source}" if source else "progress"
    notes = "points: correct earns an exercise's points, close half, wrong none; best attempt counts"
    return "\n".join([head, *body, notes]) + "\n"


def main(file: str | None = None) -> int:
    """Print the summary of ``file`` (default: $MLSYSIM_ATTEMPTS, else attempts.jsonl)."""
    path = Path(file or os.environ.get("MLSYSIM_ATTEMPTS") or DEFAULT_FILE)
    records = read_attempts(path)
    print(format_table(summarise(records), str(path)), end="")
    return 0
