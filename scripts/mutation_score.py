"""The mutation score of a mutmut run, per package, without the equivalent mutants.

Run by scripts/mutation.sh inside the run's copy of the repository:

    python scripts/mutation_score.py scripts/mutation-equivalent.txt [--survivors FILE]

A mutant counts as killed when a test failed or timed out with it; every other outcome
(survived, no test reaches it) counts against the score. A survivor is excluded from the count
when scripts/mutation-equivalent.txt lists it as equivalent (it cannot change any result): an
entry is the function's mutmut name and the mutated line, so an entry survives renumbering.
One rule stands in for a list: a mutant that only upper-cases a precision given as a keyword or a
default (``precision="fp16"`` -> ``precision="FP16"``) is equivalent, because every solver reads a
precision through ``validate.precision``, which lower-cases it. Survivors that are not listed are written, with their diffs, to ``survivors.txt``; those that only
change the wording of a message (an error's text, a reason, a printed line, but not the parameter
an error names) are counted apart and written to ``survivors-wording.txt``: the score is given
with and without them.
"""
from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

PACKAGES = ("mlsysim.physics", "mlsysim.solvers", "booktools")


def load_equivalent(path: Path) -> dict[tuple[str, str], str]:
    """{(function, mutated line): reason} from the equivalents file.

    Format: '# ' comment lines give the reason for the entries below them (until the next blank
    line); an entry is 'function :: mutated line' (the '+' line of the diff, stripped)."""
    found, reason = {}, ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line:
            reason = ""
        elif line.startswith("#"):
            reason = (reason + " " + line.lstrip("# ")).strip()
        elif " :: " in line:
            function, mutated = line.split(" :: ", 1)
            found[(function.strip(), _norm(mutated))] = reason
    return found


def _norm(line: str) -> str:
    return re.sub(r"\s+", " ", line.strip())


# plain string literals (an f-string's expressions compute numbers a reader sees: not wording)
_STRING = re.compile(r"""(?x) (?<![A-Za-z_]) [rbuRBU]{0,2} (?: "(?:[^"\\]|\\.)*" | '(?:[^'\\]|\\.)*' )""")
_MESSAGE = re.compile(r"InputError\(|BookError\(|reasons(\.append|\s*\+?=)|raise |warn\(|print\(|detail=|f\"|f'")


def is_message_wording(minus: str, plus: str) -> bool:
    """A mutant that only changes the text of a string in a message (an error, a reason, a
    printed line): the same line with every string literal blanked is unchanged, the line
    builds a message, and the changed string is not the parameter an InputError names."""
    if _STRING.sub('""', minus) != _STRING.sub('""', plus) or not _MESSAGE.search(minus):
        return False
    first = re.search(r"InputError\(\s*(\"[^\"]*\"|'[^']*')", minus)
    first_plus = re.search(r"InputError\(\s*(\"[^\"]*\"|'[^']*')", plus)
    return not (first and first_plus and first.group(1) != first_plus.group(1))


_PRECISIONS = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4", "int4")


def is_precision_case(minus: str, plus: str) -> bool:
    """``precision="fp16"`` (a keyword or a default) mutated to ``precision="FP16"``: the same
    precision, since validate.precision lower-cases every name before it is used."""
    for name in _PRECISIONS:
        for quote in "\"'":
            pattern = re.compile(r"(precision\s*(?::\s*str\s*)?=\s*)" + quote + name + quote)
            upper = pattern.sub(lambda m: m.group(1) + quote + name.upper() + quote, minus)
            if upper != minus and upper == plus:
                return True
    return False


def function_of(mutant: str) -> str:
    return mutant.rsplit("__mutmut_", 1)[0]


def package_of(mutant: str) -> str:
    return next((p for p in PACKAGES if mutant.startswith(p + ".")), mutant.split(".")[0])


def main(argv) -> int:
    from mutmut.__main__ import SourceFileMutationData, status_by_exit_code, walk_mutatable_files
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    equivalent = load_equivalent(Path(argv[0]))
    counts = defaultdict(lambda: defaultdict(int))
    survivors, wording = [], []
    used = set()
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        for name, code in data.exit_code_by_key.items():
            status = status_by_exit_code[code]
            package = package_of(name)
            if status in ("killed", "timeout", "caught by type check", "segfault"):
                counts[package]["killed"] += 1
                continue
            if status in ("not checked", "skipped"):
                counts[package][status] += 1
                continue
            diff = get_diff_for_mutant(name, path=path)
            plus = [l[1:] for l in diff.splitlines() if l.startswith("+") and not l.startswith("+++")]
            minus = [l[1:] for l in diff.splitlines() if l.startswith("-") and not l.startswith("---")]
            key = (function_of(name), _norm(plus[0]) if plus else "")
            if key in equivalent:
                counts[package]["equivalent"] += 1
                used.add(key)
            elif len(plus) == 1 and len(minus) == 1 and is_precision_case(minus[0], plus[0]):
                counts[package]["equivalent"] += 1
            elif len(plus) == 1 and len(minus) == 1 and is_message_wording(minus[0], plus[0]):
                counts[package]["wording"] += 1
                wording.append(f"=== {name}: {status}\n{diff}")
            else:
                counts[package]["not killed"] += 1
                survivors.append(f"=== {name}: {status}\n{diff}")
    Path("survivors.txt").write_text("\n".join(survivors))
    Path("survivors-wording.txt").write_text("\n".join(wording))
    print(f"{'package':18s} {'mutants':>8s} {'equivalent':>10s} {'killed':>8s} {'not killed':>10s} "
          f"{'of which wording':>16s} {'score':>7s} {'score w/o wording':>17s}")
    for package in sorted(counts):
        c = counts[package]
        not_killed = c["not killed"] + c["wording"]
        total = c["killed"] + not_killed + c["equivalent"]
        counted = c["killed"] + not_killed
        score = c["killed"] / counted if counted else float("nan")
        plain = c["killed"] / (counted - c["wording"]) if counted - c["wording"] else float("nan")
        print(f"{package:18s} {total:8d} {c['equivalent']:10d} {c['killed']:8d} {not_killed:10d} "
              f"{c['wording']:16d} {score:7.1%} {plain:17.1%}")
    stale = [k for k in equivalent if k not in used and any(k[0].startswith(p) for p in counts)]
    if stale:
        print(f"{len(stale)} entries of the equivalents file matched no surviving mutant (killed now, or the code "
              f"moved): {'; '.join(' :: '.join(k) for k in stale[:5])}{' ...' if len(stale) > 5 else ''}")
    print(f"survivors not listed as equivalent, with their diffs: {Path('survivors.txt').resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
