"""`assignments`: an nbgrader course of the book's "Your Turn" exercises, in _build/assignments/.

For each chapter with exercises this writes ``source/<chapter>/<chapter>.ipynb``, nbgrader's
"source" version of an assignment, and once ``nbgrader_config.py``. The notebook holds only
what the exercises need: the chapter's setup cell, its parameters cell, the chapter cells the
worked solutions depend on (found from the names the code reads and binds), and per exercise

- its prompt (the chapter's text, inline numbers as the executed chapter printed them);
- an **answer cell** (nbgrader: autograded answer) that starts with the line the grader finds it
  by (:func:`mlsysim.exercises.grading.answer_marker`), keeps the chapter's starter line and
  holds the worked solution between ``### BEGIN SOLUTION`` / ``### END SOLUTION``, so
  ``nbgrader generate_assignment`` gives students the starter only;
- a locked **test cell** with the exercise's points, which raises unless the engine's
  :func:`mlsysim.exercises.check` says "correct", and a hidden test
  (``### BEGIN HIDDEN TESTS``) that re-runs the answer cell, and the chapter cells it builds on,
  with a second value of one chapter parameter (:data:`VARIANTS`), so a typed number fails.
  Where no parameter changes the answer, :data:`NO_VARIANT` says why, and so does the cell.

Chapter cells are read-only (locked) nbgrader cells. Why custom code: nbgrader grades
notebooks but knows nothing of the book's chapters, exercises or parameters.
"""
from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from . import convert, golden, lint, notebooks, qmd, reader
from .errors import BookError
from .project import Book, write_atomic

#: The hidden test of each exercise: chapter parameters set to a second value under which the
#: engine's answer differs (a hard-coded answer to the chapter's own values is not "correct").
VARIANTS = {
    "roofline/double-time-batch": {"GPU": "H200"},
    "roofline/fp8-crossing": {"GPU": "H200"},
    "roofline/prefill-score-intensity": {"MODEL": "Llama3_2_1B"},
    "roofline/cnn-energy": {"LATENCY_BUDGET_MS": 2.0},
    "two-phases/longer-prompt-ttft": {"PROMPT": 256},
    "two-phases/balance-batch8": {"GPU": "B200"},
    "two-phases/fewest-h100s": {"TTFT_SLO": 0.2},
    "kv-cache/eight-gpu-sequences": {"GPU": "H200"},
    "kv-cache/lift-sequence-limit": {"GPU": "H200"},
    "kv-cache/long-answers-fewest-gpus": {"LOAD_QPS": 60},
    "batching/batch-one-wait": {"VISION_GPU": "A100"},
    "batching/more-sequences": {"LLM_GPU": "H200"},
    "batching/fewest-l4s": {"VISION_LOAD": 30000},
    "quantization/int4-fp8-crossover": {"PROMPT": 4096},
    "quantization/fp8-kv-context": {"KV_BATCH": 64},
    "quantization/tp4-rate-gain": {"PROMPT": 4096},
    "quantization/fewest-gpus": {"GPU": "A100"},
    "reasoning-cost/k32-bill": {"LOAD_QPS": 500},
    "reasoning-cost/relaxed-tpot-k8-bill": {"LOAD_QPS": 500},
    "reasoning-cost/cheapest-k8-fleet": {"TPOT_SLO": 0.03},
    "training-memory/zero2-two-nodes": {"SEQ_LEN": 4096},
    "training-memory/largest-micro-batch": {"SEQ_LEN": 4096},
    "training-memory/fewest-gpus-70b": {"SEQ_LEN": 32768},
    "compute-budget/gpu-hours-8b": {"SYSTEM": "DGX_B200"},
    "compute-budget/double-the-fleet": {"NODES": 128},
    "compute-budget/cheapest-under-deadline": {"DEADLINE_DAYS": 120},
    "scaling/mfu-bigger-batch": {"SEQ_LEN": 4096},
    "scaling/half-the-nics": {"FOCUS_GPUS": 8192},
    "scaling/layout-405b": {"BIG_MODEL": "Llama3_70B"},
    "moe/flops-ratio-long": {"LONG_SEQ": 8192},
    "moe/b200-alltoall-share": {"NODES": 4},
    "moe/layout-32-gpus": {"DESIGN_NODES": 2},
    "input-pipeline/slow-storage": {"IMAGES_PER_S": 1500},
    "input-pipeline/cheapest-host": {"IMAGES_PER_S": 1500},
    "failures/half-bandwidth-interval": {"GPUS": 8192},
    "failures/fast-restart-days-saved": {"GPUS": 8192},
    "failures/fastest-within-budget": {"TRAINING_DAYS": 30},
    "carbon/india-hyperscale": {"TOKENS": 5e12},
    "carbon/double-tokens": {"TOKENS": 5e12},
    "carbon/clean-and-on-time": {"TOKENS": 5e12},
    "where-to-invest/tight-tpot": {"GPU": "B200"},
    "where-to-invest/cheapest-upgrade": {"GPU": "H200"},
    "how-sure/interval-ratio": {"LEVEL": 0.9},
    "how-sure/network-only": {"NODES": 256},
    "how-sure/robust-fleet": {"TPOT_SLO": 0.02},
    "design-space/three-times-the-load": {"LOAD": 300.0},
    "design-space/tight-tpot-cost": {"OUTPUT_TOKENS": 512},
    "design-space/train-on-time": {"TOKENS": 5e12},
    "wafer-scale/fast-and-cheap": {"SEQ_LEN": 8192},
    "capstone-audit/longer-answers": {"LOAD": 200.0},
    "capstone-audit/half-the-gpus": {"NODES": 1024},
    "capstone-audit/faster-layout": {"NODES": 1024},
}

#: Exercises without a hidden variant, and why none can be built honestly.
NO_VARIANT = {
    "validation/textbook-max-held-out": "the answer reads no chapter parameter (it is a statistic of the stored "
                                        "measurements)",
    "validation/fp8-ttft-interval-ratio": "the answer reads no chapter parameter",
    "validation/attention-factor": "the answer reads no chapter parameter (a fit to the stored measurements)",
    "input-pipeline/v100-cores": "the answer is for a fixed V100 rate; no chapter parameter changes it",
    "where-to-invest/no-fixed-costs": "without fixed costs the elasticity is -1 for every model, device and "
                                      "prompt (that is the exercise's point), so no parameter moves it",
    "wafer-scale/systems-for-405b": "the weights set the count: it moves only past 32,768 tokens of context, "
                                    "where the chapter's own cells (Llama-3 models of 8,192 tokens) fail",
    "wafer-scale/streamed-70b": "streaming the weights sets the speed; no chapter parameter (sequence length, "
                                "the catalogue's one wafer) moves it beyond the tolerance",
}

ANSWER_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"

CONFIG = '''"""nbgrader configuration of the book's course, written by `python -m booktools assignments`.

One assignment per chapter: source/<chapter>/<chapter>.ipynb. Release it with
`nbgrader generate_assignment <chapter>`, collect submissions into submitted/<student>/<chapter>/,
grade them with `nbgrader autograde <chapter>`. Hidden tests re-run answer cells with other
chapter parameters, so a cell may take a few seconds.
"""
c = get_config()  # noqa: F821 (nbgrader provides it)
c.CourseDirectory.course_id = "mlsysim-book"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.ClearSolutions.code_stub = {"python": %r}
c.Execute.timeout = 600
''' % ANSWER_STUB

_BUILTINS = set(dir(builtins)) | {"display", "get_ipython", "In", "Out", "__file__"}


# ------------------------------------------------------------------ names a cell reads and binds
def names(source: str) -> tuple[set, set]:
    """(names the cell binds at top level, names it reads that it did not bind first).

    Approximate in the useful direction: a top-level method call or item assignment on a name
    (``rows.append(x)``, ``d[k] = v``) counts as binding it, since it changes it; names local
    to a function or a comprehension are neither.
    """
    body = "\n".join(l for l in source.splitlines() if not l.lstrip().startswith(("#|", "%", "!")))
    tree = ast.parse(body)
    binds, reads = set(), set()

    def changes(name):
        """A statement that changes a name it did not bind first also needs its earlier value."""
        if name not in binds:
            reads.add(name)
        binds.add(name)

    def visit(node, local):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            if not isinstance(node, ast.Lambda):
                (binds if local is None else local).add(node.name)
                for d in node.decorator_list:
                    visit(d, local)
            a = node.args
            for d in list(a.defaults) + [d for d in a.kw_defaults if d is not None]:
                visit(d, local)
            inner = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
            inner |= {x.arg for x in (a.vararg, a.kwarg) if x is not None}
            body = node.body if isinstance(node.body, list) else [node.body]
            for stmt in body:
                inner |= {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            inner |= set(local or ())
            for stmt in body:
                visit(stmt, inner)
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            inner = {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
            inner |= {n.target.id for n in ast.walk(node) if isinstance(n, ast.NamedExpr)}
            inner |= set(local or ())
            for child in ast.iter_child_nodes(node):
                visit(child, inner)
            return
        if isinstance(node, ast.ClassDef):
            (binds if local is None else local).add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                name = alias.asname or alias.name.split(".")[0]
                (binds if local is None else local).add(name)
        elif isinstance(node, ast.Name):
            if isinstance(node.ctx, (ast.Store, ast.Del)):
                if local is None:
                    binds.add(node.id)
            elif node.id not in (local or ()) and node.id not in binds:
                reads.add(node.id)
        elif local is None and isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) \
                and isinstance(node.value.func, ast.Attribute) and isinstance(node.value.func.value, ast.Name):
            changes(node.value.func.value.id)          # rows.append(x): reads rows, and changes it
        elif local is None and isinstance(node, (ast.Assign, ast.AugAssign)):
            for target in getattr(node, "targets", [getattr(node, "target", None)]):
                if isinstance(target, (ast.Subscript, ast.Attribute)) and isinstance(target.value, ast.Name):
                    changes(target.value.id)           # d[k] = v
                elif isinstance(node, ast.AugAssign) and isinstance(target, ast.Name):
                    changes(target.id)                 # n += 1
        for child in ast.iter_child_nodes(node):
            visit(child, local)

    for stmt in tree.body:
        visit(stmt, None)
    return binds, reads - _BUILTINS


def _without_checks(source: str) -> str:
    """A worked solution without its top-level check(...) calls (the test cell checks)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    drop = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and \
                getattr(stmt.value.func, "id", getattr(stmt.value.func, "attr", None)) == "check":
            drop |= set(range(stmt.lineno - 1, stmt.end_lineno))
    return "\n".join(l for i, l in enumerate(lines) if i not in drop).rstrip()


# ------------------------------------------------------------------ a chapter's exercises
@dataclass
class Exercise:
    """One "Your Turn" exercise as the chapter sets it."""
    id: str
    prompt: list = field(default_factory=list)    # markdown blocks
    starter: qmd.Block | None = None               # the answer cell (answer = None)
    solution: list = field(default_factory=list)   # solution code blocks

    @property
    def solution_code(self) -> str:
        return "\n\n".join(_without_checks(b.body) for b in self.solution).strip()


@dataclass
class Plan:
    """What a chapter's assignment holds."""
    chapter: qmd.Chapter
    setup: qmd.Block
    parameters: qmd.Block
    cells: list            # chapter code blocks the exercises need, in chapter order (without setup/parameters)
    exercises: list


def _chapter_exercises(chapter: qmd.Chapter) -> tuple[list, int]:
    """Exercises in chapter order, and the index of the first block of "Your Turn"."""
    found, current, start = [], None, None
    for i, b in enumerate(chapter.blocks):
        if b.kind == "markdown" and not b.solution:
            for offset, text in enumerate(b.source.splitlines()):
                h = lint.HEADING.match(text)
                if not h:
                    continue
                if len(h.group(1)) == 2:
                    current = None
                    if re.match(r"Your Turn\b", h.group(2)):
                        start = i
                if len(h.group(1)) == 3 and re.match(r"Exercise\b", h.group(2)) and start is not None:
                    current = Exercise(id="")
                    found.append(current)
                    rest = "\n".join(b.source.splitlines()[offset:])
                    current.prompt.append(qmd.Block("markdown", rest, b.line + offset))
                    break
            else:
                if current is not None and current.starter is None:
                    current.prompt.append(b)
            continue
        if current is None or b.kind != "code":
            continue
        ids = lint.CHECK_ID.findall(b.body)
        if b.solution:
            current.solution.append(b)
        elif ids and not current.id:
            current.id = ids[0]
        elif current.starter is None and re.search(r"^answer\s*=", b.body, re.M):
            current.starter = b
    for ex in found:
        if not ex.id or ex.starter is None or not ex.solution:
            raise BookError(chapter.path, ex.prompt[0].line if ex.prompt else None,
                            "an exercise needs an answer cell (answer = ...), a check(...) cell and a worked "
                            "solution in an instructor block")
    return found, (start if start is not None else len(chapter.blocks))


def plan(path: Path) -> Plan:
    """Parse a chapter and choose the chapter cells its exercises need."""
    chapter = qmd.parse(path)
    exercises, start = _chapter_exercises(chapter)
    code = [b for b in chapter.blocks[:start]
            if b.kind == "code" and not b.solution and b.options.get("eval", True) is not False]
    params = [b for b in code if "parameters" in convert.cell_tags(b.options)]
    if not code or not params:
        raise BookError(chapter.path, None, "an assignment needs the chapter's setup cell and a cell tagged "
                                            "parameters (#| tags: [parameters])")
    setup, parameters = code[0], params[0]
    scanned = [(b, *names(b.body)) for b in code]
    need_cells = {id(setup), id(parameters)}
    todo = []
    for ex in exercises:
        for src in (ex.starter.body, ex.solution_code):
            todo += [(n, len(code)) for n in names(src)[1]]
    unresolved = set()
    while todo:
        name, before = todo.pop()
        for i in range(before - 1, -1, -1):
            block, binds, reads = scanned[i]
            if name in binds:
                if id(block) not in need_cells:
                    need_cells.add(id(block))
                    todo += [(n, i) for n in reads]
                break
        else:
            unresolved.add(name)
    unresolved -= {"answer", "check"}
    if unresolved:
        raise BookError(chapter.path, exercises[0].starter.line if exercises else None,
                        f"worked solutions read names no chapter cell before 'Your Turn' defines: "
                        f"{', '.join(sorted(unresolved))} (define them in the solution or the chapter)")
    cells = [b for b in code if id(b) in need_cells and b is not setup and b is not parameters]
    return Plan(chapter, setup, parameters, cells, exercises)


def rerun_cells(p: Plan, variant: dict) -> list:
    """The chapter cells of the assignment that read a changed parameter, or a name such a cell binds."""
    tainted, out = set(variant), []
    for b in p.cells:
        binds, reads = names(b.body)
        if reads & tainted:
            out.append(b)
            tainted |= binds
    return out


# ------------------------------------------------------------------ the notebook
def _grade_id(exercise_id: str, part: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", exercise_id.split("/", 1)[-1]) + f"-{part}"


def _nbgrader(cell, grade_id: str, *, grade: bool, solution: bool, locked: bool, points=None):
    meta = {"grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id, "schema_version": 3}
    if points is not None:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    return cell


def _inline_values(book: Book, path: Path) -> dict:
    """(line, expression) -> the value the executed chapter printed for each inline expression."""
    from . import runner

    executed = runner.executed(book, [path], log=lambda *a: None).get(path)
    values = {}
    for cell in (executed.cells if executed is not None else []):
        meta = cell.metadata.get("booktools", {})
        if cell.cell_type == "code" and meta.get("kind") == "inline":
            values[(meta.get("line"), cell.source)] = reader.shown_value(cell)
    return values


def _prompt_markdown(book: Book, path: Path, ex: Exercise, values: dict, ctx) -> str:
    parts = []
    for block in ex.prompt:
        lines = block.source.splitlines()
        for offset, text in enumerate(lines):
            lines[offset] = qmd.INLINE.sub(
                lambda m: values.get((block.line + offset, m.group(1)), f"`{m.group(1)}`"), text)
        parts.append("\n".join(lines))
    return reader.markdown_for_reader("\n\n".join(parts), ctx).strip()


def _reader_context(book: Book, path: Path):
    ctx = notebooks.context(book, path, "student")
    ctx.notebooks = set()          # an assignment stands alone: other chapters link to the online book
    page = f"{ctx.site_url}{ctx.chapter_dir}/{path.stem}.html"
    for label in ctx.labels.values():
        if label["href"].startswith("#"):
            label["href"] = page + label["href"]
    return ctx


def _clean(block: qmd.Block) -> str:
    return block.body.strip("\n")


def test_source(p: Plan, ex: Exercise) -> str:
    """The locked test cell: the visible check, and the hidden re-run with a second parameter value."""
    from mlsysim.exercises import REGISTRY

    points = REGISTRY[ex.id].points
    lines = [f"# Test of {ex.id} ({points} point{'s' if points != 1 else ''}): the engine's check must say "
             f"\"correct\".",
             "from mlsysim.exercises.grading import require_correct",
             "",
             f"require_correct({ex.id!r}, answer)"]
    if ex.id in VARIANTS:
        variant = VARIANTS[ex.id]
        cells = [_clean(b) for b in rerun_cells(p, variant)]
        lines[0] += " A hidden test re-runs your answer cell with other chapter inputs."
        lines += ["### BEGIN HIDDEN TESTS",
                  "# The same exercise with a second parameter value: the answer cell and the chapter cells",
                  "# that read the parameter are re-run, so a typed number fails.",
                  "from mlsysim.exercises.grading import require_correct_variant",
                  "",
                  f"require_correct_variant({ex.id!r}, {variant!r},",
                  f"                        parameters_cell={_clean(p.parameters)!r},",
                  "                        cells=[" + ",\n                               ".join(map(repr, cells)) + "])",
                  "### END HIDDEN TESTS"]
    else:
        lines += ["", f"# No hidden variant for this exercise: {NO_VARIANT[ex.id]}."]
    return "\n".join(lines)


def answer_source(ex: Exercise) -> str:
    from mlsysim.exercises.grading import answer_marker

    return "\n".join([f"{answer_marker(ex.id)}   (keep this line: the grader finds and re-runs this cell)",
                      _clean(ex.starter), "### BEGIN SOLUTION", ex.solution_code, "### END SOLUTION"])


def build(book: Book, path: Path) -> nbformat.NotebookNode:
    """The nbgrader source notebook of one chapter."""
    from mlsysim.exercises import REGISTRY

    p = plan(path)
    for ex in p.exercises:
        if ex.id not in REGISTRY:
            raise BookError(path, ex.starter.line, f"exercise {ex.id} is not registered in mlsysim.exercises")
        if ex.id not in VARIANTS and ex.id not in NO_VARIANT:
            raise BookError(path, ex.starter.line, f"exercise {ex.id} has no hidden test: add a second parameter "
                            "value to booktools.assignments.VARIANTS, or the reason there is none to NO_VARIANT")
        unknown = sorted(set(VARIANTS.get(ex.id, {})) - set(REGISTRY[ex.id].parameters))
        if unknown:
            raise BookError(path, ex.starter.line, f"VARIANTS[{ex.id!r}] sets {', '.join(unknown)}, which the "
                            f"exercise does not read (it reads {', '.join(REGISTRY[ex.id].parameters) or 'none'})")
    values = _inline_values(book, path)
    ctx = _reader_context(book, path)
    title = p.chapter.front_matter.get("title", path.stem)
    total = sum(REGISTRY[ex.id].points for ex in p.exercises)
    page = f"{ctx.site_url}{ctx.chapter_dir}/{path.stem}.html"
    cells = [new_markdown_cell(
        f"# Assignment: {title}\n\n"
        f"The exercises of [the chapter]({page}), {len(p.exercises)} of them for {total} points. Run the cells "
        f"in order. In each answer cell, replace the line that raises `NotImplementedError` with code that sets "
        f"`answer`; the test cell under it checks it with the engine. Compute from the chapter's parameters "
        f"(`GPU`, `MODEL`, ...) rather than typing a number: hidden tests re-run your answer cell with other "
        f"values of them. Keep the first line of each answer cell.\n\n"
        f"The chapter cells below are the ones the exercises build on; they are read-only.")]
    cells.append(_nbgrader(new_code_cell(_clean(p.setup)), "setup", grade=False, solution=False, locked=True))
    params = new_code_cell(_clean(p.parameters))
    params.metadata["tags"] = ["parameters"]
    cells.append(_nbgrader(params, "parameters", grade=False, solution=False, locked=True))
    for b in p.cells:
        cells.append(_nbgrader(new_code_cell(_clean(b)), f"chapter-line-{b.line}", grade=False, solution=False,
                               locked=True))
    for ex in p.exercises:
        cells.append(new_markdown_cell(_prompt_markdown(book, path, ex, values, ctx)))
        cells.append(_nbgrader(new_code_cell(answer_source(ex)), _grade_id(ex.id, "answer"),
                               grade=False, solution=True, locked=False))
        cells.append(_nbgrader(new_code_cell(test_source(p, ex)), _grade_id(ex.id, "test"),
                               grade=True, solution=False, locked=True, points=REGISTRY[ex.id].points))
    for i, cell in enumerate(cells):
        cell.id = f"{path.stem}-{i:03d}"[-64:]
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": convert.KERNELSPEC, "language_info": {"name": "python"},
        "booktools": {"chapter": path.stem, "assignment": True,
                      "exercises": [ex.id for ex in p.exercises],
                      "hidden_variants": {ex.id: VARIANTS[ex.id] for ex in p.exercises if ex.id in VARIANTS},
                      "no_hidden_variant": {ex.id: NO_VARIANT[ex.id] for ex in p.exercises if ex.id in NO_VARIANT}},
    })
    nbformat.validate(nb)
    return nb


def chapters(book: Book, names_: list[str] | None = None) -> list[Path]:
    """Chapters (in _quarto.yml order) that set exercises."""
    return [p for p in book.select(names_) if golden.has_code(p) and lint.exercise_ids(qmd.parse(p))]


def write_course(book: Book, names_: list[str] | None = None, out: Path | None = None) -> list[Path]:
    """Write the course's config and each chapter's source notebook; return the notebooks written."""
    out = out or book.build_dir / "assignments"
    write_atomic(out / "nbgrader_config.py", CONFIG)
    written = []
    for path in chapters(book, names_):
        target = out / "source" / path.stem / f"{path.stem}.ipynb"
        write_atomic(target, convert.dumps(build(book, path)))
        written.append(target)
    return written


def main(book: Book, names_: list[str] | None) -> int:
    out = book.build_dir / "assignments"
    written = write_course(book, names_, out)
    print(f"assignments: {len(written)} chapter(s) in {book.rel(out)}/source/ with {book.rel(out)}/nbgrader_config.py")
    print(f"  then: cd {book.rel(out)} && nbgrader generate_assignment <chapter> && nbgrader autograde <chapter>")
    return 0


# ------------------------------------------------------------------ the nbgrader round trip
SAMPLES = ("solution", "starter")


def _nbgrader_api(course: Path):
    """nbgrader's Python API on a course directory, reading its nbgrader_config.py."""
    import functools
    import os
    import sys

    import nbgrader.api
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    # nbgrader runs the `alembic` command (next to this Python) each time it opens a gradebook
    # to learn the schema's version; the answer never changes, so ask once per process.
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    if not hasattr(nbgrader.api.get_alembic_version, "cache_info"):
        nbgrader.api.get_alembic_version = functools.lru_cache(maxsize=None)(nbgrader.api.get_alembic_version)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.CourseDirectory.root = str(course)
    return NbGraderAPI(config=config)


def typed_answers(release, exercise_ids) -> object:
    """A copy of the release notebook whose answer cells type in the chapter's own answers as
    literals (the submission hidden tests exist to catch)."""
    import copy

    from mlsysim.exercises import REGISTRY
    from mlsysim.exercises.grading import answer_marker

    nb = copy.deepcopy(release)
    answers = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    for cell, exercise_id in zip(answers, exercise_ids):
        value = REGISTRY[exercise_id].expected()
        if hasattr(value, "item"):            # a numpy scalar: type it as a plain number
            value = value.item()
        cell.source = f"{answer_marker(exercise_id)}\nanswer = {value!r}"
    return nb


def roundtrip(book: Book, path: Path, course: Path, typed: bool = False) -> dict:
    """Grade two sample submissions of a chapter's assignment with nbgrader itself.

    In the (new, empty) course directory ``course``: write the config and the chapter's source
    notebook, run ``generate_assignment``, submit the instructor's source notebook as student
    "solution" and the released starter notebook as student "starter", run ``autograde`` on
    both, and return ``{student: {exercise id: (score, max score)}}`` from the gradebook.
    With ``typed``, a third student "typed" submits the chapter's own answers as typed numbers
    (:func:`typed_answers`).
    """
    import shutil

    from nbgrader.api import Gradebook

    chapter = path.stem
    write_atomic(course / "nbgrader_config.py", CONFIG)
    source = course / "source" / chapter / f"{chapter}.ipynb"
    nb = build(book, path)
    write_atomic(source, convert.dumps(nb))
    api = _nbgrader_api(course)
    result = api.generate_assignment(chapter, force=True, create=True)
    if not result["success"]:
        raise BookError(path, None, f"nbgrader generate_assignment failed:\n{result.get('log', '')[-3000:]}")
    release = course / "release" / chapter / f"{chapter}.ipynb"
    samples = dict(zip(SAMPLES, (source, release)))
    if typed:
        samples["typed"] = course / "typed.ipynb"
        write_atomic(samples["typed"], convert.dumps(typed_answers(nbformat.read(release, as_version=4),
                                                                   nb.metadata["booktools"]["exercises"])))
    for student, sample in samples.items():
        target = course / "submitted" / student / chapter / f"{chapter}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sample, target)
        result = api.autograde(chapter, student, force=True, create=True)
        if not result["success"]:
            raise BookError(path, None, f"nbgrader autograde of the {student} sample failed:\n"
                                        f"{result.get('log', '')[-3000:]}")
    by_grade_id = {_grade_id(e, "test"): e for e in nb.metadata["booktools"]["exercises"]}
    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in samples:
            submission = gradebook.find_submission(chapter, student)
            scores[student] = {by_grade_id.get(g.name, g.name): (g.score, g.max_score)
                               for notebook in submission.notebooks for g in notebook.grades}
    return scores


def failures(course: Path, chapter: str, student: str) -> dict:
    """{test cell's grade id: the error it raised} in an autograded sample (for messages)."""
    nb = nbformat.read(course / "autograded" / student / chapter / f"{chapter}.ipynb", as_version=4)
    found = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", cell.get("id"))
                found[grade_id] = f"{out.get('ename')}: {out.get('evalue')}"[:600]
    return found
