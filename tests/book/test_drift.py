"""Drift: if the engine's data moves a number a chapter prints, `booktools check` fails
and names the chapter and the cell or claim that moved."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from booktest_support import REPO

CHAPTER = REPO / "tutorials" / "reasoning-cost.qmd"
GOLDEN = REPO / "tests" / "golden" / "reasoning-cost.ipynb"
HARDWARE = Path("mlsysim/data/hardware.yaml")


def copy_repo(dest: Path) -> None:
    """Copy what git would (tracked and untracked-but-not-ignored files)."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=REPO, capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, files):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def scale_bandwidth(path: Path, device: str, factor: float) -> tuple[str, str]:
    """Multiply `memory_bandwidth: <number> <unit>` of one top-level device, textually
    (so comments and formatting survive). Returns (old, new) values."""
    lines = path.read_text().splitlines(keepends=True)
    inside = False
    for i, line in enumerate(lines):
        if re.match(r"^\S", line):
            inside = line.startswith(f"{device}:")
        m = inside and re.match(r"^(\s+memory_bandwidth:\s*)([\d.]+)(\s*\S.*)$", line, re.S)
        if m:
            new = f"{float(m.group(2)) * factor:.6g}"
            lines[i] = m.group(1) + new + m.group(3)
            path.write_text("".join(lines))
            return m.group(2), new
    raise AssertionError(f"no {device}.memory_bandwidth in {path}")


def _code_cells(chapter: Path) -> list:
    from booktools import convert, qmd

    return [c for c in convert.to_notebook(qmd.parse(chapter), REPO).cells if c.cell_type == "code"]


def _cells_at(chapter: Path, line: int) -> set:
    """The ids of the code cells (or inline expressions, several of which may share a line) of
    ``chapter`` that hold .qmd line ``line``: those starting at the last cell start <= line."""
    cells = _code_cells(chapter)
    starts = [c.metadata["booktools"]["line"] for c in cells]
    last = max((s for s in starts if s <= line), default=None)
    return {c.id for c, s in zip(cells, starts) if s == last}


def test_moving_h100_bandwidth_fails_check_naming_the_chapter_and_cell(tmp_path):
    """Strict: the chapter and its golden exist (no xfail); `check` fails; every error it reports is an
    nbval change in reasoning-cost naming a cell whose .qmd line is that cell's, with the golden and
    the new value, which differ, or a claim of that cell that no longer holds; nothing else fails
    (no stale golden, no run failure)."""
    assert CHAPTER.exists() and GOLDEN.exists() and (REPO / HARDWARE).exists()
    copy_repo(tmp_path)
    old, new = scale_bandwidth(tmp_path / HARDWARE, "H100", 1.05)
    assert float(new) == pytest.approx(float(old) * 1.05)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "booktools", "check", "reasoning-cost"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode == 1, f"check passed although H100 bandwidth moved {old} -> {new}:\n{output}"
    reported = re.findall(r"^(\S+\.qmd):(\d+): (.*)$", result.stderr, re.M)
    assert reported, output
    moved = re.compile(r"nbval: cell (reasoning-cost-\d+) changed \((?:golden (.+?), now (.+?)|raised ClaimError: "
                       r"claim '(.+?)' no longer holds: the engine gives (\S+), the text states (\S+) .*?)\)(: .*)?$")
    sources = {c.id: c.source for c in _code_cells(CHAPTER)}
    for path, line, message in reported:
        assert path == "tutorials/reasoning-cost.qmd", message
        m = moved.match(message)
        assert m, f"not a moved cell or claim: {path}:{line}: {message}"
        cell, before, after, claim_text, engine, stated = m.groups()[:6]
        assert cell in _cells_at(CHAPTER, int(line)), f"line {line} is not in cell {cell}"
        if claim_text is None:
            assert before != after
        else:                       # a claim in that very cell no longer holds
            assert f'claim("{claim_text}"' in sources[cell] and engine != stated
    assert f"check: {len(reported)} error(s) in reasoning-cost" in result.stderr
    assert "could not run" not in output and "stale" not in output
