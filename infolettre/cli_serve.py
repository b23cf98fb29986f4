"""Commands that close the loop: `serve`, `archive`, `bounces fetch`."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from .cli import PathArg, _config, _store, cli, handles_errors
from .errors import display_path


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option("--forwarded-allow-ips", default="127.0.0.1", show_default=True,
              help="Reverse proxies whose X-Forwarded-For is trusted.")
@click.option("--archive-check", default=5.0, show_default=True, metavar="SECONDS",
              help="How often, at most, the issues folder is looked at for changes.")
@click.pass_context
@handles_errors
def serve(ctx: click.Context, host: str, port: int, forwarded_allow_ips: str,
          archive_check: float) -> None:
    """Run the web service: unsubscribe, subscribe, preferences, webhooks, archive.

    Serves at BASE_URL: /unsubscribe/TOKEN (one-click), /subscribe,
    /confirm/TOKEN, /preferences/TOKEN, /webhooks/{brevo,postmark,mailgun,sendgrid},
    and the archive (/, /feed.atom, /ISSUE/).

    \b
    Example:
      infolettre serve --host 127.0.0.1 --port 8000
    """
    import uvicorn

    from .serve import create_app

    config = _config(ctx)
    with tempfile.TemporaryDirectory(prefix="infolettre-archive-") as tmp:
        click.echo(f"serving {config.base_url} at http://{host}:{port}/ (the archive is "
                   "rebuilt when an issue changes)", err=True)
        app = create_app(config, Path(tmp), archive_interval=archive_check)
        uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=True,
                    forwarded_allow_ips=forwarded_allow_ips)


@cli.command()
@click.option("--out", type=PathArg, default=Path("build/archive"), show_default=True,
              help="Folder for the static archive.")
@click.pass_context
@handles_errors
def archive(ctx: click.Context, out: Path) -> None:
    """Export the web archive (index, every issue's web version, Atom feed) as files.

    \b
    Example:
      infolettre archive --out build/archive
    """
    from .archive import build_archive

    result = build_archive(_config(ctx), out)
    for line in result.skipped:
        click.echo(f"left out {line}", err=True)
    click.echo(f"wrote {len(result.issues)} issues, index.html and feed.atom into "
               f"{display_path(out)}/")


@cli.group()
def bounces() -> None:
    """Process bounces and unsubscribe mails for SMTP senders.

    \b
    Example:
      INFOLETTRE_IMAP_PASSWORD=… infolettre bounces fetch --host imap.example.org --user bounces
    """


@bounces.command("fetch")
@click.option("--host", required=True, help="IMAP server (TLS on port 993).")
@click.option("--port", default=993, show_default=True)
@click.option("--user", required=True, help="Mailbox user; password in $INFOLETTRE_IMAP_PASSWORD.")
@click.option("--folder", default="INBOX", show_default=True, help="Folder to read.")
@click.option("--done-folder", default="Processed", show_default=True,
              help="Folder processed mails are moved to (created if needed).")
@click.option("--cafile", type=PathArg, default=None, help="CA bundle to verify the server.")
@click.pass_context
@handles_errors
def bounces_fetch(ctx: click.Context, host: str, port: int, user: str, folder: str,
                  done_folder: str, cafile: Path | None) -> None:
    """Read delivery reports (RFC 3464) and unsubscribe mails; mark subscribers.

    Hard bounces mark the address bounced at once; soft bounces do after three
    in a row; "unsubscribe TOKEN" mails (the List-Unsubscribe mailto:) unsubscribe.

    \b
    Example:
      infolettre bounces fetch --host imap.example.org --user bounces
    """
    from .bounces import Mailbox, process_mailbox
    from .errors import InfoLettreError

    config = _config(ctx)
    password = config.secrets.get("INFOLETTRE_IMAP_PASSWORD")
    if not password:
        raise InfoLettreError("set $INFOLETTRE_IMAP_PASSWORD to the mailbox's password")
    with _store(ctx) as store:
        report = process_mailbox(store, Mailbox(host, port, user, password, cafile),
                                 folder, done_folder)
    click.echo(f"{report.messages} mails read: {report.hard} hard bounces, {report.soft} soft, "
               f"{report.unsubscribes} unsubscribes, {report.ignored} not understood "
               f"(left in {folder})")
    for line in report.changes:
        click.echo(f"  {line}")
