"""What every command module shares: the path type, the configuration and store of
the invocation, and the one place where errors become messages and exit statuses.

Command modules import from here, never from the package itself: the package's
``__init__`` builds the group and registers their commands, so nothing below it
imports it back. Exit status (as the README documents): 0 success, 1 problems
found in the sources, 2 any other error (usage, configuration, missing tool, the
database), 130 interrupted.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..config import Config, load_config
from ..errors import InfoLettreError, Problem, ProblemsFound

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["DATABASE_EXIT", "INTERRUPTED_EXIT", "PathArg", "Reported", "ReportingGroup",
           "load", "open_store", "report_error", "report_problems"]

PathArg = click.Path(path_type=Path)

DATABASE_EXIT = 2
"""A failing database is "any other error", not a problem of the sources."""

INTERRUPTED_EXIT = 130
"""128 + SIGINT, as a shell reports a command stopped by Ctrl-C."""


def load(ctx: click.Context) -> Config:
    """The configuration named by the group's --config (its errors reach the group)."""
    return load_config(ctx.find_root().obj)


def open_store(ctx: click.Context) -> Store:
    """The subscriber store of the configuration, to use as a context manager."""
    from ..store import Store

    config = load(ctx)
    return Store(config.db, config.secrets.get("INFOLETTRE_SECRET"))


def report_problems(problems: list[Problem]) -> None:
    """Print each problem as FILE:LINE: message, then the count on stderr."""
    for problem in problems:
        click.echo(str(problem))
    files = len({p.path for p in problems})
    click.echo(f"{len(problems)} problem{'s' * (len(problems) != 1)} in {files} "
               f"file{'s' * (files != 1)}", err=True)


Reported = (InfoLettreError, sqlite3.Error, KeyboardInterrupt)
"""The exceptions that end a command with a message instead of a traceback."""


def report_error(exc: InfoLettreError | sqlite3.Error | KeyboardInterrupt) -> int:
    """Tell the user what went wrong, in one line per fact, and give the exit status."""
    if isinstance(exc, ProblemsFound):
        report_problems(exc.problems)
        return exc.exit_code
    if isinstance(exc, InfoLettreError):
        click.echo(f"infolettre: {exc}", err=True)
        return exc.exit_code
    if isinstance(exc, sqlite3.Error):  # a full disk, a damaged file: transactions keep the rest
        click.echo(f"infolettre: the database failed: {exc}. Every committed change is "
                   "kept; run the command again once the cause is fixed.", err=True)
        return DATABASE_EXIT
    click.echo("infolettre: interrupted", err=True)
    return INTERRUPTED_EXIT


class ReportingGroup(click.Group):
    """A group that turns the project's errors into a message and an exit status.

    Every command and subgroup below it runs inside its ``invoke``, so each error
    is mapped here once, for commands present and to come, with no decorator to
    forget; click's own errors (usage, an aborted confirmation) are left to click.
    """

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command line; report our errors and exit with their status."""
        try:
            return super().invoke(ctx)
        except Reported as exc:
            raise click.exceptions.Exit(report_error(exc)) from None
