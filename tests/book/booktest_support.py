"""Helpers for the booktools tests (a module with a unique name, so it never clashes with
tests/conftest.py)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
CHROMIUM = next((c for c in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"),
                             shutil.which("google-chrome")) if c and __import__("os").path.exists(c)), None)
REPO = Path(__file__).resolve().parents[2]

QUARTO_YML = """project:
  type: book
book:
  title: "Fixture book"
  site-url: https://example.org/fixture-book/
  repo-url: https://github.com/example/fixture-book
  chapters:
    - index.qmd
    - tutorials/sample.qmd
bibliography: references.bib
"""

INDEX = """---
title: "Fixture book"
---

Read [the sample](tutorials/sample.qmd), starting at @sec-question.
"""





def booktools(root: Path, *args: str) -> subprocess.CompletedProcess:
    """Run `python -m booktools --root <root> ...` the way a user would (from the book's folder).

    Under mutation testing (mutmut sets MUTANT_UNDER_TEST) the command runs from the mutants'
    folder instead: mutmut's code in the child process reads its settings from there."""
    import os

    cwd = os.getcwd() if "MUTANT_UNDER_TEST" in os.environ else root
    return subprocess.run([sys.executable, "-m", "booktools", "--root", str(root), *args],
                          capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))
