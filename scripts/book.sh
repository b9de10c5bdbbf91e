#!/usr/bin/env bash
# Build the book without Quarto: notebooks, executed chapters, HTML preview.
# (If `quarto` is on PATH, it also runs `quarto render`.)  Usage: bash scripts/book.sh [chapter ...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[book]"
.venv/bin/python -m booktools build "$@"

cat <<MSG

Built into $(pwd)/_build/
  preview/index.html               the book as HTML, with notebooks/ and the wheel (open in a browser)
  preview-instructor/index.html    the same with worked solutions
  notebooks/student/               one notebook per chapter, without solutions
  notebooks/instructor/            the same with solutions
MSG
