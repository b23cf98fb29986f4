"""The editorial team's review: `contributions` (who sent what), `approve`, `return`."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import display_path
from ..words import counted
from .common import PathArg, load, open_store


@click.command()
@click.argument("issue_dir", type=PathArg)
@click.pass_context
def contributions(ctx: click.Context, issue_dir: Path) -> None:
    """Per centre: its contacts, the call and reminders sent, its items with their
    status and problems; the centres that have sent nothing yet come last.

    \b
    Example:
      infolettre contributions issues/2019-04
    """
    from ..content.layout import issue_slug
    from ..content.review import review_issue

    config = load(ctx)
    with open_store(ctx) as store:
        invitations = store.invitations(issue_slug(issue_dir))
    for entry in review_issue(issue_dir, config, invitations):
        c = entry.centre
        click.echo(f"{c.slug} — {c.name}")
        for person in c.contacts:
            invited = next((i for i in entry.invitations if i.email == person.email.lower()),
                           None)
            when = ""
            if invited is not None and invited.sent_at:
                when = f", called {invited.sent_at[:10]}"
                if invited.reminded_at:
                    when += f", reminded {invited.reminded_at[:10]}"
            click.echo(f"  contact: {person.name} <{person.email}>{when}")
        if entry.nothing_yet:
            click.echo("  nothing yet")
        for item in entry.items:
            problems = entry.problems.get(item.path, [])
            flag = f", {counted(len(problems), 'problem')}" if problems else ""
            click.echo(f"  [{item.status}] {display_path(item.path)}: {item.title}{flag}")
            for problem in problems:
                click.echo(f"      {problem}")


@click.command()
@click.argument("files", type=PathArg, nargs=-1, required=True)
@click.pass_context
def approve(ctx: click.Context, files: tuple[Path, ...]) -> None:
    """Approve contributed items: build and send include them from now on.

    \b
    Example:
      infolettre approve issues/2019-04/news/charleroi-forum.md
    """
    from ..content.review import set_status

    for path in files:
        set_status(path, "approved")
        click.echo(f"approved {display_path(path)}")


@click.command("return")
@click.argument("file", type=PathArg)
@click.option("--comment", required=True, help="What the contributor should change.")
@click.option("--no-mail", is_flag=True, help="Change the status without mailing the author.")
@click.pass_context
def return_cmd(ctx: click.Context, file: Path, comment: str, no_mail: bool) -> None:
    """Return a contributed item to its author with a comment: it is left out of the
    build until it is submitted again and approved. The author gets the comment by
    mail, with their link to correct the item.

    \b
    Example:
      infolettre return issues/2019-04/news/charleroi-forum.md --comment "Une photo ?"
    """
    from ..content.review import set_status
    from ..delivery.calls import send_returned
    from ..delivery.transports import from_dsn
    from ..delivery.transports.base import Outcome

    set_status(file, "returned", comment)
    click.echo(f"returned {display_path(file)}")
    if no_mail:
        return
    config = load(ctx)
    with open_store(ctx) as store:
        result = send_returned(store, config, from_dsn(config.transport, config.secrets),
                               file, comment)
    if result is None:
        click.echo("  no contributor to tell: the item was not sent through an invitation")
    elif result.outcome is Outcome.SENT:
        click.echo("  the comment went to its author")
    else:
        click.echo(f"  the comment could not be mailed: {result.detail}", err=True)
