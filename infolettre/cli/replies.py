"""`replies fetch`: the contacts' answers to the call for contributions, read as items.

A group of its own, not a subcommand of ``contributions``: ``contributions ISSUE``
(``review``) takes an issue's folder as its argument, and a group in its place
would read ``contributions fetch`` as the issue named ``fetch``, or break the
command the editorial team already uses.
"""

from __future__ import annotations

from pathlib import Path

import click

from .common import imap_options, load, mailbox, open_store


@click.group()
def replies() -> None:
    """Read the contacts' replies to the call for contributions.

    The call's Reply-To is contribute_reply_to with the contact's link token in it
    (such as "infolettre+{token}@example.org"); the mailbox of that address is
    read here.

    \b
    Example:
      INFOLETTRE_IMAP_PASSWORD=… infolettre replies fetch --host imap.example.org --user infolettre
    """


@replies.command("fetch")
@imap_options("INBOX.done", "Folder the applied replies are moved to (created if needed).")
@click.option("--refused-folder", default="INBOX.refused", show_default=True,
              help="Folder the mails not applied are moved to (created if needed).")
@click.pass_context
def replies_fetch(ctx: click.Context, host: str, port: int, user: str, folder: str,
                  done_folder: str, refused_folder: str, cafile: Path | None) -> None:
    """Make each contact's reply a submitted item of their centre.

    A reply's text (without the quoted call and the signature; an HTML one as
    Markdown), its subject (without Re:) as the title and its first image become
    an item of the issue's news/ with status: submitted, checked as the
    submission page's are; the contact gets the page's confirmation, with their
    link to correct it. A mail without a valid token, not from the invited
    contact, automatic, or whose item fails the checks is not applied: it is
    moved to --refused-folder and listed here, and its sender gets nothing.

    \b
    Example:
      infolettre replies fetch --host imap.example.org --user infolettre
    """
    from ..delivery.replies import fetch_replies
    from ..delivery.transports import from_dsn
    from ..errors import InfoLettreError
    from ..web.uploads import reencode

    config = load(ctx)
    box = mailbox(config, host, port, user, cafile)
    if not config.contribute_reply_to:
        raise InfoLettreError('set contribute_reply_to (such as "infolettre+{token}@example.org")'
                              ": without it the call's replies carry no token to read")
    transport = from_dsn(config.transport, config.secrets)
    with open_store(ctx) as store:
        report = fetch_replies(store, config, transport, reencode, box, folder, done_folder,
                               refused_folder)
    click.echo(f"{report.messages} mails read: {len(report.applied)} applied (moved to "
               f"{done_folder}), {len(report.refused)} not applied (moved to {refused_folder})")
    for line in report.applied:
        click.echo(f"  wrote {line}")
    for refusal in report.refused:
        click.echo(f"  not applied: {refusal.sender or '(no sender)'} "
                   f"\"{refusal.subject}\": {refusal.reason}")
    for note in report.notes:
        click.echo(f"  note: {note}")
