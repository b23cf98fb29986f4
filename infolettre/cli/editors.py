"""`editors add|list|remove`: the addresses that may sign in to the editorial page
(``BASE_URL/editorial/``) by a link mailed to them (see ``store.editors``)."""

from __future__ import annotations

import click

from ..errors import InfoLettreError
from ..words import is_email
from .common import open_store


@click.group()
def editors() -> None:
    """The editorial team: who may sign in to BASE_URL/editorial/ to review and approve.

    \b
    Example:
      infolettre editors add redaction@reseaucitesdesmetiers.com
      infolettre editors list
    """


@editors.command("add")
@click.argument("email")
@click.pass_context
def add_cmd(ctx: click.Context, email: str) -> None:
    """List EMAIL as an editor's: the editorial page mails it a sign-in link on request.

    \b
    Example:
      infolettre editors add redaction@reseaucitesdesmetiers.com
    """
    email = email.strip()
    if not is_email(email):
        raise InfoLettreError(f"not an email address: {email!r}")
    with open_store(ctx) as store, store.transaction():
        added = store.add_editor(email)
    click.echo(f"{'added' if added else 'already an editor'}: {email.lower()}")


@editors.command("list")
@click.pass_context
def list_cmd(ctx: click.Context) -> None:
    """List the editors' addresses, with the day each was added.

    \b
    Example:
      infolettre editors list
    """
    with open_store(ctx) as store:
        found = store.editors()
    for editor in found:
        click.echo(f"{editor.email}  (added {editor.added_at[:10]})")
    if not found:
        click.echo("no editor yet: infolettre editors add EMAIL", err=True)


@editors.command("remove")
@click.argument("email")
@click.pass_context
def remove_cmd(ctx: click.Context, email: str) -> None:
    """Take EMAIL off the editors: its sessions end and its unused links stop working.

    \b
    Example:
      infolettre editors remove ancien@reseaucitesdesmetiers.com
    """
    with open_store(ctx) as store, store.transaction():
        removed = store.remove_editor(email)
    if not removed:
        raise InfoLettreError(f"not an editor: {email.strip().lower()}")
    click.echo(f"removed: {email.strip().lower()}")
