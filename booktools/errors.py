"""Errors that are the user's to fix: printed as ``file:line: message``, never as a traceback."""
from __future__ import annotations

from pathlib import Path


class BookError(Exception):
    """A problem in the book's sources, with the file and line that has it."""

    def __init__(self, path, line: int | None, message: str):
        self.path = Path(path) if path is not None else None
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            try:
                where = str(self.path.resolve().relative_to(Path.cwd().resolve()))
            except ValueError:
                where = str(self.path)
            where += f":{self.line}: " if self.line else ": "
        return where + self.message
