"""The real book: `python -m booktools check` (goldens fresh, nbval, lints) passes."""
from __future__ import annotations

import subprocess
import sys

from booktest_support import REPO


def test_booktools_check_passes_on_the_book():
    result = subprocess.run([sys.executable, "-m", "booktools", "check"], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 0, f"booktools check failed:\n{result.stdout}\n{result.stderr}"
