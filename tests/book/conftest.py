"""Fixtures for the booktools tests: a tiny throwaway book built around fixtures/sample.qmd."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from booktest_support import FIXTURES, INDEX, QUARTO_YML


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
