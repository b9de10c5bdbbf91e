#!/usr/bin/env bash
# Mutation testing, on demand (not in CI: it takes about an hour or more on 2 cores).
#
#   bash scripts/mutation.sh engine      # mlsysim/physics and mlsysim/solvers, against the engine tests
#   bash scripts/mutation.sh booktools   # the checking parts of booktools, against their fast tests
#   bash scripts/mutation.sh engine --survivors   # re-test only the mutants the last run did not kill (or did not reach)
#   bash scripts/mutation.sh engine --only 'mlsysim.solvers.fleet.*'   # (re-)test the mutants whose names match
#   bash scripts/mutation.sh score engine   # the score of the last run again, without re-running
#
# Each target runs mutmut (https://github.com/boxed/mutmut) in its own copy of the repository,
# _build/mutation/<target>/, so the working tree is never touched. Each mutant runs only the
# tests that reach the function it changes (mutmut's own test selection); the engine's mutants
# never run the book tests. The score (killed / non-equivalent mutants, per package) is printed
# at the end and written to _build/mutation/<target>/score.txt; the equivalent mutants it
# excludes, each with the reason, are listed in scripts/mutation-equivalent.txt.
# Re-running keeps the verdicts of unchanged functions (mutmut keeps its results in the copy);
# --survivors re-tests the ones that survived, after tests were added. For a score to report,
# start from a clean copy: rm -rf _build/mutation/<target>.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

mode=${1:-engine}
survivors_only=0
only_pattern=""
[ "${2:-}" = "--survivors" ] && survivors_only=1
if [ "${2:-}" = "--only" ]; then
  only_pattern=${3:?"--only needs a pattern of mutant names, e.g. 'mlsysim.solvers.fleet.*'"}
fi
score_only=0
if [ "$mode" = "score" ]; then
  score_only=1
  mode=${2:-engine}
fi

case "$mode" in
  engine)
    only='["mlsysim/physics/*", "mlsysim/solvers/*"]'
    # test_references reads the engine's source text for citation keys: mutmut's copy holds every
    # mutant's text, so it cannot pass there (and it tests no behaviour)
    tests='["tests", "--ignore=tests/book", "--ignore=tests/test_references.py"]'
    sources='["mlsysim/"]'
    ;;
  booktools)
    only='["booktools/check.py", "booktools/lint.py", "booktools/answers.py", "booktools/golden.py", "booktools/figures.py"]'
    # the tests of the checks that call them in-process (a test that runs booktools in a
    # subprocess still runs, but mutmut maps tests to functions by tracing this process); the
    # chapter runs (test_book, test_drift, test_exercises, test_build, the browser tests) execute
    # whole chapters and would take minutes per mutant
    tests='["tests/book/test_lint.py", "tests/book/test_safety_nets.py", "tests/book/test_golden_check.py", "tests/book/test_answers.py", "tests/book/test_quarto_schema.py", "tests/book/test_convert.py", "tests/book/test_check_reasons.py", "tests/book/test_figure_data.py", "tests/book/test_golden_inprocess.py", "tests/book/test_check_inprocess.py"]'
    sources='["booktools/"]'
    ;;
  *)
    echo "usage: bash scripts/mutation.sh [engine|booktools] | score [engine|booktools]" >&2
    exit 2
    ;;
esac

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[book,dev,mutation]"

work="_build/mutation/$mode"
if [ "$score_only" = 0 ]; then
  mkdir -p "$work"
  # copy what git would commit (tracked and untracked-but-not-ignored files), keeping mutmut's state
  git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    if [ -f "$f" ]; then
      mkdir -p "$work/$(dirname "$f")"
      cp -p "$f" "$work/$f"
    fi
  done
  cat >> "$work/pyproject.toml" <<EOF

[tool.mutmut]
source_paths = $sources
only_mutate = $only
pytest_add_cli_args_test_selection = $tests
pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x"]
also_copy = ["references.bib", "README.md", "tutorials/", "_quarto.yml", "_quarto-instructor.yml", "index.qmd", "benchmarks/", "scripts/", "mlsysim/", "booktools/"]
EOF
  names=()
  if [ "$survivors_only" = 1 ]; then
    mapfile -t names < <(cd "$work" && "$ROOT/.venv/bin/mutmut" results | sed -n 's/^ *\([^ ]*\): \(survived\|no tests\|not checked\)$/\1/p')
    echo "re-testing ${#names[@]} mutants that were not killed or not yet tested"
  elif [ -n "$only_pattern" ]; then
    names=("$only_pattern")
  fi
  start=$(date +%s)
  (cd "$work" && "$ROOT/.venv/bin/mutmut" run --max-children "${MUTATION_WORKERS:-2}" "${names[@]}") > "$work/run.log" 2>&1 || {
    echo "mutmut failed; see $work/run.log" >&2
    tail -20 "$work/run.log" >&2
    exit 1
  }
  echo "mutation run ($mode) took $(( $(date +%s) - start )) s" | tee "$work/time.txt"
fi
(cd "$work" && "$ROOT/.venv/bin/python" "$ROOT/scripts/mutation_score.py" "$ROOT/scripts/mutation-equivalent.txt") \
  | tee "$work/score.txt"
