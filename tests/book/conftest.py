"""Fixtures for the booktools tests: a tiny throwaway book built around fixtures/sample.qmd."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from booktest_support import FIXTURES, INDEX, QUARTO_YML


@pytest.fixture(autouse=True)
def _child_processes_run_the_original_code_in_mutmuts_stats_pass(monkeypatch):
    """Mutation testing only (scripts/mutation.sh): no effect in a normal run.

    In its first pass mutmut sets MUTANT_UNDER_TEST=stats and records which functions each
    test reaches. A child process (a chapter's Jupyter kernel, the booktools CLI) would inherit
    that, try to record too, and fail reading mutmut's settings from its own folder; what it
    recorded would be lost with it anyway. Without the variable the child runs the original
    code, while this process keeps recording (mutmut holds "stats" in-process too). In the
    passes that test a mutant the variable names the mutant and children run it as well.
    """
    if os.environ.get("MUTANT_UNDER_TEST") == "stats":
        monkeypatch.delenv("MUTANT_UNDER_TEST")


@pytest.fixture
def book_dir(tmp_path) -> Path:
    """A book with index.qmd and tutorials/sample.qmd (no golden yet)."""
    root = tmp_path / "book"
    (root / "tutorials").mkdir(parents=True)
    (root / "_quarto.yml").write_text(QUARTO_YML)
    (root / "index.qmd").write_text(INDEX)
    shutil.copy(FIXTURES / "references.bib", root / "references.bib")
    shutil.copy(FIXTURES / "sample.qmd", root / "tutorials" / "sample.qmd")
    return root


def pytest_collection_modifyitems(config, items):
    """Mutation testing only (scripts/mutation.sh): no effect in a normal run.

    mutmut runs each mutant against the tests that reach its function, with -x: the first
    failing test ends the run. Tests that make a golden start a Jupyter kernel (seconds each);
    running the in-process tests first lets a mutant they kill stop before any kernel starts.
    The order is otherwise kept; a mutant that survives still runs every test."""
    under_test = os.environ.get("MUTANT_UNDER_TEST")
    if under_test and under_test != "stats":
        items.sort(key=lambda item: "golden_book" in getattr(item, "fixturenames", ()))
