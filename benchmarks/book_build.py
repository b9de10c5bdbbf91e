"""How fast the book builds and tests, and how that grows with the number of chapters.

    python benchmarks/book_build.py          # no-change rebuild, and the per-chapter costs
    python benchmarks/book_build.py --full   # also times the full test command (minutes)

Reports (never asserts; timings depend on the machine and its load, which is printed):
- the no-change rebuild: `python -m booktools build` when nothing changed (target < 10 s);
- the per-chapter cost of the commands whose work grows with the chapter list (cold build:
  execute and render; `check`: nbval of every golden; `solutions`), measured on this book;
- with --full, the test command (`bash scripts/test.sh`, target < 6 min) and its projection
  to 20 chapters: measured + (20 - N) x per-chapter cost x R / cores, where R is how many
  times the test command does each per-chapter command (build once, check twice: the book
  check and the drift test's copy, solutions once, plus the JupyterLab view).

Works for any chapter list: N is read from _quarto.yml.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REPEATS = {"build (cold)": 1, "check": 2, "solutions": 1}
TARGET_CHAPTERS = 20


def timed(cmd: list[str], **kw) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, **kw)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{result.stdout[-1500:]}\n{result.stderr[-1500:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also time the full test command")
    args = parser.parse_args()
    from booktools import golden
    from booktools.project import Book

    book = Book(ROOT)
    chapters = [p for p in book.chapter_paths() if golden.has_code(p)]
    n = len(chapters)
    cores = os.cpu_count() or 1
    py = sys.executable
    print(f"machine: {cores} cores, load average {os.getloadavg()[0]:.1f}; book: {n} chapters with code")

    timed([py, "-m", "booktools", "build"])                      # make sure everything is current
    rebuild = min(timed([py, "-m", "booktools", "build"]) for _ in range(3))
    print(f"no-change rebuild            {rebuild:6.1f} s   (target < 10 s)")

    costs = {}
    shutil.rmtree(ROOT / "_build", ignore_errors=True)
    costs["build (cold)"] = timed([py, "-m", "booktools", "build"])
    costs["check"] = timed([py, "-m", "booktools", "check"])
    costs["solutions"] = timed([py, "-m", "booktools", "solutions"])
    for name, seconds in costs.items():
        print(f"{name:<28} {seconds:6.1f} s   ({seconds / n:.1f} s per chapter)")
    per_chapter = sum(REPEATS[k] * v for k, v in costs.items()) / n

    if args.full:
        full = timed(["bash", "scripts/test.sh", "-q", "-p", "no:cacheprovider"], timeout=3600)
        projected = full + (TARGET_CHAPTERS - n) * per_chapter / cores
        print(f"full test command            {full / 60:6.1f} min (target < 6 min)")
        print(f"projected to {TARGET_CHAPTERS} chapters      {projected / 60:6.1f} min (target < 10 min; "
              f"+{per_chapter:.0f} s per chapter over {cores} cores)")
    else:
        print(f"per added chapter, the test command does about {per_chapter:.0f} s of work "
              f"({per_chapter / cores:.0f} s of wall time on {cores} cores); run with --full for the totals")
    return 0


if __name__ == "__main__":
    sys.exit(main())
