"""The project's one error type, and the problems a check reports.

Library code raises :class:`InfoLettreError` (or a subclass) with enough context
for a person to act on; only ``cli.py`` turns it into a message and an exit code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["InfoLettreError", "Problem", "ProblemsFound", "display_path"]


def display_path(path: Path) -> str:
    """Return ``path`` relative to the working directory when it lies below it.

    Messages name files the way the user typed them, so that ``FILE:LINE`` can be
    pasted straight into an editor.
    """
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in a source file, located to the line (1-based)."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{display_path(self.path)}:{self.line}: {self.message}"


class InfoLettreError(Exception):
    """Base of every error the CLI reports as a clean message (exit status 2)."""

    exit_code = 2


class ProblemsFound(InfoLettreError):
    """Raised when sources have problems that block publication (exit status 1)."""

    exit_code = 1

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
