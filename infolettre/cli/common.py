"""What every command module shares: the path type, the configuration and store of
the invocation, and the one place where errors become messages and exit statuses.

Command modules import from here, never from the package itself: the package's
``__init__`` builds the group and registers their commands, so nothing below it
imports it back. Exit status (as the README documents): 0 success, 1 problems
found in the sources, 2 any other error (usage, configuration, missing tool, the
database), 130 interrupted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .. import messages
from ..config import Config, load_config
from ..errors import InfoLettreError, Problem, ProblemsFound, database_errors, display_path
from ..messages import Count, say

if TYPE_CHECKING:
    from ..audience.mailbox import Mailbox
    from ..store import Store

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "DATABASE_EXIT",
    "INTERRUPTED_EXIT",
    "LangOption",
    "PathArg",
    "ReportingGroup",
    "imap_options",
    "language",
    "load",
    "mailbox",
    "open_store",
    "problems_json",
    "report_error",
    "report_problems",
    "reported",
    "speak",
    "warn",
]

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


def imap_options(done_folder: str, done_help: str) -> Callable[[F], F]:
    """The options of a command that reads a mailbox over IMAPS (``bounces fetch``,
    ``replies fetch``): server, user, folder, where read mails go, CA bundle."""
    def decorate(command: F) -> F:
        for option in reversed((
                click.option("--host", required=True, help="IMAP server (TLS on port 993)."),
                click.option("--port", default=993, show_default=True),
                click.option("--user", required=True,
                             help="Mailbox user; password in $INFOLETTRE_IMAP_PASSWORD."),
                click.option("--folder", default="INBOX", show_default=True,
                             help="Folder to read."),
                click.option("--done-folder", default=done_folder, show_default=True,
                             help=done_help),
                click.option("--cafile", type=PathArg, default=None,
                             help="CA bundle to verify the server."))):
            command = option(command)
        return command
    return decorate


def mailbox(config: Config, host: str, port: int, user: str, cafile: Path | None) -> Mailbox:
    """The mailbox the IMAP options name, its password from the environment."""
    from ..audience.mailbox import Mailbox

    password = config.secrets.get("INFOLETTRE_IMAP_PASSWORD")
    if not password:
        raise InfoLettreError("set $INFOLETTRE_IMAP_PASSWORD to the mailbox's password")
    return Mailbox(host, port, user, password, cafile)


LangOption = click.option(
    "--lang", type=click.Choice(messages.languages()), default=None,
    help="Language of the messages (default: the file's or the issue's, else LANG's).")

_LANG = "infolettre.lang"


def speak(ctx: click.Context, lang: str) -> str:
    """Say this invocation's messages, errors included, in ``lang`` from now on."""
    ctx.find_root().meta[_LANG] = lang
    return lang


def language(ctx: click.Context | None = None) -> str:
    """The language this invocation speaks: as set by :func:`speak`, else the locale's."""
    ctx = ctx or click.get_current_context(silent=True)
    chosen = ctx.find_root().meta.get(_LANG) if ctx is not None else None
    return chosen or messages.locale_language() or messages.SOURCE


def warn(warnings: list[Problem], lang: str) -> None:
    """Print each warning on stderr, in ``lang``."""
    for warning in sorted(warnings):
        click.echo(say("report.warning", text=warning.said_in(lang)).said_in(lang), err=True)


def report_problems(problems: list[Problem], lang: str | None = None) -> None:
    """Print each problem as FILE:LINE: message [CODE], then the count on stderr."""
    lang = lang or language()
    for problem in problems:
        click.echo(problem.said_in(lang))
    files = len({p.path for p in problems})
    click.echo(say("report.count", problems=Count(len(problems), "report.problems"),
                   files=Count(files, "report.files")).said_in(lang), err=True)


def problems_json(problems: list[Problem], warnings: list[Problem], lang: str) -> str:
    """The problems then the warnings, as the JSON list editors and CI read: one object
    ``{file, line, column, code, severity, message}`` each (``column`` null when the
    place is known to the line only)."""
    import json

    def entry(problem: Problem, severity: str) -> dict[str, Any]:
        return {"file": display_path(problem.path), "line": problem.line,
                "column": problem.column, "code": problem.code or None,
                "severity": severity, "message": messages.said_in(problem.message, lang)}

    return json.dumps([*(entry(p, "error") for p in sorted(problems)),
                       *(entry(w, "warning") for w in sorted(warnings))],
                      ensure_ascii=False, indent=2)


def reported() -> tuple[type[BaseException], ...]:
    """The exceptions that end a command with a message instead of a traceback."""
    return (InfoLettreError, *database_errors(), KeyboardInterrupt)


def report_error(exc: BaseException) -> int:
    """Tell the user what went wrong, in one line per fact, and give the exit status."""
    if isinstance(exc, ProblemsFound):
        report_problems(exc.problems)
        return exc.exit_code
    if isinstance(exc, InfoLettreError):
        said = str(exc)
        if len(exc.args) == 1 and isinstance(exc.args[0], messages.Message):
            said = f"{exc.args[0].said_in(language())} [{exc.args[0].code}]"
        click.echo(f"infolettre: {said}", err=True)
        return exc.exit_code
    if isinstance(exc, database_errors()):  # a full disk, a server gone: transactions keep the rest
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
        except reported() as exc:
            raise click.exceptions.Exit(report_error(exc)) from None
