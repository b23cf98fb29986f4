"""The ``infolettre`` command: parse arguments, call one library function, report.

Takes a command line; gives the output for the user and an exit status: 0 success,
1 problems found in the sources, 2 any other error (bad usage, configuration,
missing tool, the database). Only this package prints for the user or chooses an
exit status; library errors arrive as InfoLettreError (or a database's own error) and are
mapped once, by the group's class in ``common``.

This module builds the group and registers the commands that ``issue``, ``send``,
``serve`` and ``subscribers`` define; those modules import ``common``, never this
package, so the command line has no import cycle.
"""

from __future__ import annotations

from pathlib import Path

import click

from .. import __version__
from . import (
    centres,
    contribute,
    db,
    editors,
    issue,
    replies,
    review,
    send,
    serve,
    subscribers,
    translate,
)
from .common import PathArg, ReportingGroup

__all__ = ["COMMANDS", "cli", "main"]


@click.group(cls=ReportingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=PathArg, default=None,
              help="Configuration file (default: $INFOLETTRE_CONFIG or ./infolettre.toml).")
@click.version_option(__version__, prog_name="infolettre")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """Author, check, build and send the InfoLettre.

    \b
    Typical issue:
      infolettre new-issue                 # issues/YYYY-MM with the agenda carried over
      infolettre new-item issues/2018-06 --cdm charleroi
      infolettre check issues/2018-06      # every problem, as FILE:LINE: message
      infolettre build issues/2018-06 --out build/2018-06
      infolettre proof issues/2018-06 --out build/proof
    """
    ctx.obj = config_path


COMMANDS: tuple[click.Command, ...] = (
    # an issue's sources, for contributors and the editorial team
    issue.new_issue_cmd, issue.new_item_cmd, issue.check, issue.build, issue.preview,
    issue.proof,
    # the editions in other languages, for translators
    translate.translations, translate.new_translation_cmd,
    # the directory of centres and their contacts; the review of what they sent
    centres.centres, review.contributions, review.approve, review.return_cmd,
    editors.editors,  # who may sign in to the editorial page, BASE_URL/editorial/
    contribute.call, contribute.remind,  # asking the centres' contacts for their news
    replies.replies,  # their answers to the call, read from a mailbox as items
    # sending a campaign and following it
    send.send, send.status, send.config_group, send.transports_cmd,
    # the subscriber list, the web service and archive, the bounces
    subscribers.subscribers, serve.serve, serve.archive, serve.bounces,
    db.db,  # the database's tables, and its move to PostgreSQL
)
"""Every top-level command, as each command module defines it."""

for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    """Entry point of the console script (and of ``python -m infolettre``).

    Click's standalone mode ends the process with the status the group chose.
    """
    cli(prog_name="infolettre")
