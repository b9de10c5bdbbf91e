"""The course map: chapters, prerequisites, objectives and exercises, and term plans.

Everything is read live: the chapter order and parts from ``_quarto.yml``, each chapter's
prerequisites (the links in its *Prerequisites* section to chapters that come **earlier** in
the book; a link forward, "later chapters build on this", is not a prerequisite) and its
*What you will learn* bullets from its ``.qmd``, and each exercise's kind, objective, minutes
and points from ``mlsysim.exercises.REGISTRY`` (in the order the chapter checks them).
``tutorials/course-map.qmd`` shows it; this module holds the logic so it can be tested.

Term plans (:func:`plan`) spread a path's chapters over a number of weeks by the exercises'
estimated minutes (reading time is not counted):

- fewer chapters than weeks: every chapter gets one week, and each spare week goes to the
  chapter with the most minutes per week so far (the first such chapter on a tie), so a heavy
  chapter spans several consecutive weeks;
- more chapters than weeks: the chapters, in book order, are cut into consecutive weeks so
  that the busiest week is as light as it can be (the linear-partition problem, solved exactly
  by dynamic programming); among the cuts with that busiest week, each week takes as many
  chapters as fit, leaving at least one chapter for every remaining week.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from . import lint, qmd
from .project import Book

LINK = re.compile(r"\]\(([\w./-]+?\.qmd)(?:#[\w-]*)?\)")

#: The suggested paths: name -> test on a part's title (case-insensitive).
PATHS = {
    "Serving only": lambda part: "serving" in part.lower(),
    "Training only": lambda part: "train" in part.lower(),
    "The whole book": lambda part: True,
}
#: The term lengths the course map plans for.
TERMS = (10, 15)


@dataclass(frozen=True)
class ExerciseInfo:
    """One exercise as the registry states it."""

    id: str
    kind: str
    objective: str
    minutes: int
    points: int

    @property
    def name(self) -> str:
        return self.id.split("/", 1)[-1]


@dataclass(frozen=True)
class ChapterInfo:
    """One chapter: where it sits, what it needs, what it teaches and what it asks."""

    stem: str
    title: str
    part: str
    prerequisites: tuple = ()
    learn: tuple = ()
    exercises: tuple = ()

    @property
    def minutes(self) -> int:
        return sum(e.minutes for e in self.exercises)

    @property
    def points(self) -> int:
        return sum(e.points for e in self.exercises)


@dataclass(frozen=True)
class Week:
    """One week of a plan: its number, the chapters it covers and the minutes of exercises."""

    number: int
    chapters: tuple
    minutes: float


def parts(book: Book) -> list[tuple[str, list[str]]]:
    """(part title, chapter files) in book order, from ``book.chapters`` of ``_quarto.yml``;
    chapters outside any part (the preface) are left out, and so are appendices."""
    found = []
    for item in (book.config.get("book") or {}).get("chapters") or []:
        if isinstance(item, dict) and "part" in item:
            files = [c if isinstance(c, str) else c.get("href") for c in item.get("chapters") or []]
            found.append((str(item["part"]), [f for f in files if f]))
    return found


def section(text: str, title: str) -> str:
    """The body of the level-2 section whose heading starts with ``title`` ('' if none)."""
    m = re.search(rf"^##\s+{re.escape(title)}[^\n]*\n(.*?)(?=^##\s|\Z)", text, re.M | re.S)
    return m.group(1) if m else ""


def prerequisites(path: Path, earlier: list[str]) -> tuple:
    """Chapters linked from the Prerequisites section that come earlier in the book, in the
    order the section names them (``earlier``: stems of the chapters before this one)."""
    text = Path(path).read_text(encoding="utf-8")
    stems = [Path(link).stem for link in LINK.findall(section(text, "Prerequisites"))]
    return tuple(dict.fromkeys(s for s in stems if s in earlier))


def learn(path: Path) -> tuple:
    """The bullets of the chapter's 'What you will learn' section, each on one line."""
    body = section(Path(path).read_text(encoding="utf-8"), "What you will learn")
    items = re.split(r"^\s*[-*]\s+", body, flags=re.M)[1:]
    return tuple(_plain(" ".join(item.split())) for item in items if item.strip())


def _plain(markdown: str) -> str:
    """One line of Markdown as plain text for a table cell: emphasis and code marks dropped,
    inline math without its dollars (``*fitted*`` -> ``fitted``, ``$6ND$`` -> ``6ND``)."""
    text = re.sub(r"(\*\*|\*|__|`)(.+?)\1", r"\2", markdown)
    text = re.sub(r"(?<![A-Za-z0-9])_(.+?)_(?![A-Za-z0-9])", r"\1", text)
    return re.sub(r"\$([^$]+)\$", r"\1", text)


def chapters(book: Book, registry=None) -> list[ChapterInfo]:
    """Every chapter in a part of ``_quarto.yml``, in book order."""
    if registry is None:
        from mlsysim.exercises import REGISTRY as registry
    known = dict(registry.items())
    found, seen = [], []
    for part, files in parts(book):
        for file in files:
            path = book.root / file
            chapter = qmd.parse(path)
            ids = [i for i in lint.exercise_ids(chapter) if i in known]
            ids += [i for i in known if i.split("/", 1)[0] == path.stem and i not in ids]
            exercises = tuple(ExerciseInfo(i, known[i].kind, known[i].objective, known[i].minutes, known[i].points)
                              for i in ids)
            found.append(ChapterInfo(path.stem, str(chapter.front_matter.get("title", path.stem)), part,
                                     prerequisites(path, seen), learn(path), exercises))
            seen.append(path.stem)
    return found


def path_chapters(all_chapters: list[ChapterInfo], name: str) -> list[ChapterInfo]:
    """The chapters of one of :data:`PATHS`, in book order."""
    keep = PATHS[name]
    return [c for c in all_chapters if keep(c.part)]


def outside(path: list[ChapterInfo]) -> list[str]:
    """Prerequisites of a path's chapters that the path does not contain (to read beforehand)."""
    inside = {c.stem for c in path}
    return list(dict.fromkeys(p for c in path for p in c.prerequisites if p not in inside))


def _min_max_partition(minutes: list[float], groups: int) -> float:
    """The smallest possible busiest group when ``minutes`` is cut into ``groups`` consecutive
    non-empty groups (dynamic programming over prefixes)."""
    n = len(minutes)
    prefix = [0.0]
    for m in minutes:
        prefix.append(prefix[-1] + m)
    inf = float("inf")
    best = [[inf] * (n + 1) for _ in range(groups + 1)]    # best[g][i]: first i items in g groups
    best[0][0] = 0.0
    for g in range(1, groups + 1):
        for i in range(g, n + 1):
            best[g][i] = min(max(best[g - 1][j], prefix[i] - prefix[j]) for j in range(g - 1, i))
    return best[groups][n]


def allocate(minutes: list[float], weeks: int) -> list[list[int]]:
    """For each week, the indices of the chapters it covers (see the module docstring)."""
    n = len(minutes)
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, got {weeks}")
    if n == 0:
        return [[] for _ in range(weeks)]
    if n <= weeks:
        counts = [1] * n
        for _ in range(weeks - n):
            load = [minutes[i] / counts[i] for i in range(n)]
            counts[load.index(max(load))] += 1
        return [[i] for i in range(n) for _ in range(counts[i])]
    bound = _min_max_partition(minutes, weeks) + 1e-9
    plan, i = [], 0
    for week in range(weeks):
        left_after = weeks - week - 1
        if left_after == 0:
            plan.append(list(range(i, n)))
            break
        group, total = [i], minutes[i]
        i += 1
        while i < n and total + minutes[i] <= bound and n - (i + 1) >= left_after:
            total += minutes[i]
            group.append(i)
            i += 1
        plan.append(group)
    return plan


def plan(path: list[ChapterInfo], weeks: int) -> list[Week]:
    """A term of ``weeks`` weeks over the chapters of ``path``."""
    minutes = [c.minutes for c in path]
    shares = {}
    groups = allocate(minutes, weeks)
    for group in groups:
        for i in group:
            shares[i] = shares.get(i, 0) + 1
    return [Week(k + 1, tuple(path[i].stem for i in group), sum(minutes[i] / shares[i] for i in group))
            for k, group in enumerate(groups)]


def week_rows(weeks: list[Week], titles: dict) -> list[tuple[str, str, str]]:
    """Rows for a plan table: consecutive weeks on one chapter merge into 'weeks a-b'."""
    rows = []
    for week in weeks:
        names = "; ".join(titles.get(s, s) for s in week.chapters)    # titles may hold commas
        if rows and rows[-1][1] == names and len(week.chapters) == 1:
            first = rows[-1][0].split()[-1].split("–")[0]
            rows[-1] = (f"weeks {first}–{week.number}", names, rows[-1][2] + week.minutes)
        else:
            rows.append((f"week {week.number}", names, week.minutes))
    return [(w, names, f"{m:.0f}") for w, names, m in rows]
