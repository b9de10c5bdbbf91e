#!/usr/bin/env bash
# Run every test: engine unit and property tests, the book check (valid Quarto, stale
# goldens, nbval on every chapter, lints), exercises, the preview in Chromium, the student
# notebooks in JupyterLab, the hosted install from a served site, links, and the drift test.
# Usage: bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[book,dev]"

# The browser test needs Chromium. Install Debian's package when we can (root + apt).
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 \
   && ! command -v google-chrome >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "warning: chromium not found; the browser test is skipped outside CI" >&2
  fi
fi

# Build the book first: chapters execute in parallel (one per core) into the execution cache
# that the book tests then read (an unchanged chapter is not run twice).
.venv/bin/python -m booktools build

# Then every test, spread over the cores (pytest-xdist): test by test, except files whose
# module fixtures are expensive, which mark themselves xdist_group and stay on one worker.
# Results do not depend on the schedule.
workers="${TEST_WORKERS:-$(nproc 2>/dev/null || echo 2)}"
status=0
.venv/bin/python -m pytest -n "$workers" --dist loadgroup "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
