"""Command line: python -m booktools <command> [chapters...]"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import BookError


def _convert(book, args):
    from . import convert, qmd
    from .project import write_atomic
    out = Path(args.output) if args.output else book.build_dir / "ipynb"
    for path in book.select(args.chapters):
        target = out / f"{path.stem}.ipynb"
        write_atomic(target, convert.dumps(convert.to_notebook(qmd.parse(path), book.root)))
        print(f"convert: {book.rel(path)} -> {book.rel(target)}")
    return 0


def _golden(book, args):
    from . import golden
    return golden.main(book, args.chapters)


def _check(book, args):
    from . import check
    return check.main(book, args.chapters, nbval=not args.no_nbval)


def _lint(book, args):
    from . import lint
    errors = lint.lint_book(book, book.select(args.chapters) if args.chapters else None)
    for e in errors:
        print(e, file=sys.stderr)
    print(f"lint: {len(errors)} error(s)" if errors else "lint: ok", file=sys.stderr if errors else sys.stdout)
    return 1 if errors else 0


def _preview(book, args):
    from . import preview
    return preview.main(book, args.chapters, instructor=args.instructor)


def _notebooks(book, args):
    from . import notebooks
    return notebooks.main(book, args.chapters, url=args.site_url)


def _solutions(book, args):
    from . import solutions
    return solutions.main(book, args.chapters)


def _assignments(book, args):
    from . import assignments
    return assignments.main(book, args.chapters)


def _build(book, args):
    from . import build
    return build.main(book, args.chapters, jobs=args.jobs, site_url=args.site_url)


def _exercise_notes(book, args):
    from . import exercise_notes
    return exercise_notes.main(book, args.output)


def _progress(book, args):
    from . import progress
    return progress.main(args.file)


def _variant(book, args):
    from . import variant
    if len(args.chapters) != 1:
        raise BookError(None, None, "variant takes one chapter, e.g. variant reasoning-cost -p GPU B200")
    return variant.main(book, args.chapters[0], args.parameter, args.out)


COMMANDS = {
    "convert": (_convert, "write .qmd chapters as notebooks (default _build/ipynb/)"),
    "golden": (_golden, "execute chapters and store tests/golden/<chapter>.ipynb"),
    "check": (_check, "goldens fresh, nbval on every golden, and all lints"),
    "lint": (_lint, "only the lints (prose numbers, claims, links, citations, exercises, chapter list)"),
    "preview": (_preview, "HTML preview of chapters in _build/preview/ (no Quarto needed)"),
    "notebooks": (_notebooks, "student and instructor notebooks in _build/notebooks/"),
    "solutions": (_solutions, "run instructor notebooks; every solution must pass its check"),
    "variant": (_variant, "run a copy of a chapter with other parameters (-p NAME VALUE); "
                          "writes _build/variants/<chapter>-<slug>/ and reports claims that fail (exit 1)"),
    "exercise-notes": (_exercise_notes, "write every exercise's kind, minutes, points and objective to "
                                        "_build/exercise-notes.json (the Quarto instructor profile's notes)"),
    "progress": (_progress, "summarise a student's attempts file (attempts, best verdict, points)"),
    "assignments": (_assignments, "an nbgrader course of the exercises in _build/assignments/ (autograded, "
                                  "with hidden tests)"),
    "build": (_build, "convert, execute, preview and notebooks into _build/ (+ quarto render if installed)"),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m booktools", description=__doc__)
    parser.add_argument("--root", help="book directory (default: nearest folder with _quarto.yml)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == "progress":
            p.add_argument("file", nargs="?", help="attempts file (default: $MLSYSIM_ATTEMPTS, else attempts.jsonl)")
            continue
        p.add_argument("chapters", nargs="*", help="chapter names (file stems); default: all in _quarto.yml")
        if name == "convert":
            p.add_argument("-o", "--output", help="output folder")
        if name == "exercise-notes":
            p.add_argument("-o", "--output", help="output file (default _build/exercise-notes.json)")
        if name == "variant":
            p.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[],
                           help="a parameter of the chapter's parameters cell and its value (a Python literal, "
                                "else a string); repeat for several")
            p.add_argument("--out", help="folder to write to (default: _build/variants/<chapter>-<slug>/)")
        if name == "check":
            p.add_argument("--no-nbval", action="store_true", help="skip re-running the goldens")
        if name == "preview":
            p.add_argument("--instructor", action="store_true", help="show instructor-only blocks")
        if name in ("notebooks", "build"):
            p.add_argument("--site-url", help="install the engine from this site instead of _quarto.yml's "
                           "book.site-url (e.g. a local test server)")
        if name == "build":
            p.add_argument("-j", "--jobs", type=int, help="chapters run at once (default: one per core)")
    args = parser.parse_args(argv)
    try:
        from .project import Book
        book = Book(args.root) if args.command != "progress" else None   # progress needs no book
        return COMMANDS[args.command][0](book, args)
    except BookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
