"""Asking the centres for their news: `call` (the call for contributions) and `remind`."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import InfoLettreError
from ..words import counted
from .common import PathArg, load, open_store


def _dry_run(store: Any, config: Any, call: Any, *, reminder: bool) -> None:
    """Who would get what, then the first message as it would go out."""
    from ..delivery.calls import compose, link_of, reply_to_for

    for mail in call.mails:
        click.echo(f"{mail.centre.slug}\t{mail.name}\t{mail.email}\t{mail.lang}")
    if not call.mails:
        return
    mail = call.mails[0]
    deadline = (dt.date.fromisoformat(mail.invitation.deadline) if mail.invitation
                else call.deadline)
    subject, text = compose(config, call.issue, mail, deadline, link_of(store, config, mail),
                            reminder=reminder)
    reply_to = reply_to_for(config, mail.invitation, store) if mail.invitation else config.reply_to
    click.echo(f"\n--- the message to {mail.email} ---")
    click.echo(f"From: {config.sender}")
    if reply_to:
        click.echo(f"Reply-To: {reply_to}")
    click.echo(f"To: {mail.name} <{mail.email}>\nSubject: {subject}\n\n{text}", nl=False)


def _confirm(yes: bool, question: str) -> None:
    """Ask, as `send` does; without a terminal, only --yes goes on."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise InfoLettreError("not a terminal: pass --yes to send without confirmation")
    click.confirm(question, abort=True)


def _report_failures(ctx: click.Context, sent: Any, command: str) -> None:
    """Each message not accepted, then exit 2: running the command again retries them."""
    for mail, result in sent.failed:
        click.echo(f"{mail.email}: {result.outcome.value} {result.detail}".rstrip(), err=True)
    if sent.failed:
        click.echo(f"{counted(len(sent.failed), 'message')} not sent: run `{command}` again "
                   "to try them again", err=True)
        ctx.exit(2)


@click.command()
@click.argument("issue_dir", type=PathArg)
@click.option("--deadline", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The last day to send news, YYYY-MM-DD.")
@click.option("--centre", "centres", multiple=True, metavar="SLUG",
              help="Only the contacts of this centre (repeatable).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@click.option("--dry-run", is_flag=True,
              help="List who would get what and show one message; send nothing.")
@click.pass_context
def call(ctx: click.Context, issue_dir: Path, deadline: dt.datetime, centres: tuple[str, ...],
         yes: bool, dry_run: bool) -> None:
    """Call every contact of every centre (or of each --centre) for the issue's news.

    Each contact of cdms.yaml gets, in their language (else the issue's, else
    French), their personal link to the submission page, the deadline and what a
    good item looks like, through the configured transport. Run it again after
    adding contacts: only those not called yet get it (and a message that failed
    is tried again).

    \b
    Example:
      infolettre call issues/2019-04 --deadline 2019-03-25 --dry-run
      infolettre call issues/2019-04 --deadline 2019-03-25 --yes
      infolettre call issues/2019-04 --deadline 2019-03-25 --centre charleroi
    """
    from ..delivery.calls import plan_call, send_call
    from ..delivery.transports import from_dsn

    day = deadline.date()
    if day < dt.datetime.now(dt.UTC).date():
        raise InfoLettreError(f"--deadline {day.isoformat()} is already past: give a day to come")
    config = load(ctx)
    with open_store(ctx) as store:
        planned = plan_call(store, issue_dir, day, centres)
        already = f"{len(planned.already)} already invited"
        if dry_run:
            _dry_run(store, config, planned, reminder=False)
            click.echo(f"{already}, {len(planned.mails)} would be invited now")
            return
        if not planned.mails:
            click.echo(f"{already}, nobody new to invite")
            return
        transport = from_dsn(config.transport, config.secrets)
        _confirm(yes, f"Mail the call for contributions to {counted(len(planned.mails), 'contact')}"
                      f" through {transport.describe()}?")
        sent = send_call(store, config, transport, planned)
    click.echo(f"{already}, {len(sent.sent)} invited now")
    _report_failures(ctx, sent, "call")


@click.command()
@click.argument("issue_dir", type=PathArg)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@click.option("--dry-run", is_flag=True,
              help="List who would get a reminder and show one; send nothing.")
@click.pass_context
def remind(ctx: click.Context, issue_dir: Path, yes: bool, dry_run: bool) -> None:
    """Remind the contacts of the centres that have submitted nothing yet.

    A centre has submitted when the issue's news/ holds an item of it with a
    status (submitted, returned or approved). Each contact called for the issue
    gets at most one reminder a day, with their link and the deadline.

    \b
    Example:
      infolettre remind issues/2019-04 --dry-run
      infolettre remind issues/2019-04 --yes
    """
    from ..delivery.calls import plan_reminders, send_reminders
    from ..delivery.transports import from_dsn

    config = load(ctx)
    with open_store(ctx) as store:
        planned = plan_reminders(store, issue_dir)
        said = [f"{counted(len(planned.submitted), 'centre')} submitted",
                f"{len(planned.already)} reminded today already"]
        if planned.not_called:
            said.append(f"{counted(planned.not_called, 'contact')} not called yet "
                        "(`call` invites them)")
        if dry_run:
            _dry_run(store, config, planned, reminder=True)
            click.echo(", ".join([*said, f"{len(planned.mails)} would be reminded now"]))
            return
        if not planned.mails:
            click.echo(", ".join([*said, "nobody to remind"]))
            return
        transport = from_dsn(config.transport, config.secrets)
        _confirm(yes, f"Mail a reminder to {counted(len(planned.mails), 'contact')} through "
                      f"{transport.describe()}?")
        sent = send_reminders(store, config, transport, planned)
    click.echo(", ".join([*said, f"{len(sent.sent)} reminded now"]))
    _report_failures(ctx, sent, "remind")
