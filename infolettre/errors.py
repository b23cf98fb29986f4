"""The project's one error type, and the problems a check reports.

Library code raises :class:`InfoLettreError` (or a subclass) with enough context
for a person to act on; only the CLI (``cli.common``) turns it into a message and
its ``exit_code``; the web service answers a page or an HTTP status instead. The
tree, each class with the module that defines it and what it is about::

    InfoLettreError                  errors     exit 2: anything a person must fix
    ├── ProblemsFound                errors     exit 1: problems in the sources, each
    │                                           a Problem with its FILE:LINE
    ├── ConfigError                  config     the configuration file or a setting
    ├── AddressError                 delivery.headers
    │                                           an address no message or SMTP
    │                                           command can carry
    ├── ProtocolError                delivery.transports.smtpwire
    │                                           a server reply that is not SMTP (the
    │                                           client records a lost connection)
    ├── TransportError               delivery.transports.base
    │                                           a transport that cannot work at all
    │                                           (bad DSN, authentication refused)
    ├── WebhookError                 audience.webhooks
    │                                           a provider call refused, with the
    │                                           HTTP ``status`` to answer
    └── Refused                      web.uploads
                                                an uploaded image not kept (too big,
                                                not a JPEG or PNG once decoded)

Errors of one message (a refused recipient, a dropped connection) are not
exceptions but outcomes recorded in the journal (``delivery.transports.base.
Outcome``); a database's own failure (``sqlite3.Error``, ``psycopg.Error``: a full
disk, a server gone; ``database_errors``) is reported by the CLI as exit 2 too.
``tests/test_structure.py`` checks that every public exception class of the
package derives from :class:`InfoLettreError` and is named here.
"""

from __future__ import annotations

import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .messages import said_in

__all__ = ["InfoLettreError", "Problem", "ProblemsFound", "database_errors", "display_path"]


def database_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a database raises when it fails: SQLite's, and psycopg's once a
    PostgreSQL connection has imported it (it is not imported otherwise)."""
    psycopg = sys.modules.get("psycopg")
    return (sqlite3.Error, psycopg.Error) if psycopg is not None else (sqlite3.Error,)


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
    """One thing wrong in a source file, located to the line (1-based) and, when the
    parser knows it, the column (1-based).

    ``message`` is English text; when it is a :class:`~infolettre.messages.Message` it
    has a stable code and can be said in the reader's language (:meth:`said_in`).
    """

    path: Path
    line: int
    message: str
    column: int | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return f"{display_path(self.path)}:{self.line}: {self.message}"

    @property
    def code(self) -> str:
        """The message's stable code (``E012``), or ``""`` for a message that has none."""
        return getattr(self.message, "code", "")

    def said_in(self, lang: str) -> str:
        """``FILE:LINE: message [CODE]``, the message in ``lang``."""
        code = f" [{self.code}]" if self.code else ""
        return f"{display_path(self.path)}:{self.line}: {said_in(self.message, lang)}{code}"


class InfoLettreError(Exception):
    """Base of every error the CLI reports as a clean message (exit status 2)."""

    exit_code = 2


class ProblemsFound(InfoLettreError):
    """Raised when sources have problems that block publication (exit status 1)."""

    exit_code = 1

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
