"""Commands that close the loop: `serve`, `archive`, `bounces fetch`."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..config import Config, PostgresURL
from ..content.layout import issue_slug
from ..errors import InfoLettreError, display_path
from .common import PathArg, imap_options, load, mailbox, open_store

if TYPE_CHECKING:
    from starlette.types import ASGIApp


#: The environment variable that hands ``serve``'s options to each worker process.
WORKER_ENV = "INFOLETTRE_SERVE_WORKER"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes (uvicorn's), sharing the port; above 1 the database "
                   "must be PostgreSQL.")
@click.option("--forwarded-allow-ips", default=None, metavar="ADDRESSES",
              help="Reverse proxies (IP addresses or networks, comma-separated) whose "
                   "X-Forwarded-For names the client; default: the forwarded_allow_ips "
                   "setting, which trusts none.")
@click.option("--archive-check", default=5.0, show_default=True, metavar="SECONDS",
              help="How often, at most, the issues folder is looked at for changes.")
@click.option("--no-pdf", is_flag=True,
              help="Publish the archive's pages without their PDF editions (quicker; "
                   "the PDFs need WeasyPrint: pip install 'infolettre[pdf]').")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int,
          forwarded_allow_ips: str | None, archive_check: float, no_pdf: bool) -> None:
    """Run the web service: unsubscribe, subscribe, preferences, webhooks, archive.

    Serves at BASE_URL: /unsubscribe/TOKEN (one-click), /subscribe,
    /confirm/TOKEN, /preferences/TOKEN, /webhooks/{brevo,postmark,mailgun,sendgrid},
    /contribute/TOKEN (a centre's contact sends their news), /editorial/ (the
    editorial team's review), and the archive of the issues sent or published
    (/, /feed.atom, /LANG/ISSUE/ for each edition, /ISSUE/ to the source's).

    Behind a reverse proxy, name it with --forwarded-allow-ips (or the
    forwarded_allow_ips setting): without it, X-Forwarded-For is ignored and
    every request counts against the proxy's address.

    With --workers N (PostgreSQL only), N processes share the port; the rate
    limits, sign-in links, sessions and webhook replays are kept in the
    database, so they hold across the workers, and across replicas on other
    hosts. Each worker builds the archive in a folder of its own.

    \b
    Example:
      infolettre serve --host 127.0.0.1 --port 8000 --forwarded-allow-ips 127.0.0.1
      INFOLETTRE_DB=postgresql://infolettre@db.example.org/infolettre infolettre serve --workers 4
    """
    import json
    import os

    import uvicorn

    config = load(ctx)
    options = {"config": str(ctx.find_root().obj) if ctx.find_root().obj else None,
               "forwarded_allow_ips": forwarded_allow_ips, "archive_check": archive_check,
               "pdf": not no_pdf}
    config = _served(config, forwarded_allow_ips)
    if workers > 1 and not isinstance(config.db, PostgresURL):
        raise InfoLettreError(
            f"--workers {workers}: the database is the SQLite file {display_path(config.db)}, "
            "whose writes the service keeps in one process's lock; other processes on the "
            "one host would queue on the file's lock instead, and no second host can share "
            "it. Serve with one worker, or move to PostgreSQL (infolettre db copy --to "
            "postgresql://…) for several workers or replicas")
    several = f"{workers} workers; " if workers > 1 else ""
    click.echo(f"serving {config.base_url} at http://{host}:{port}/ ({several}the archive is "
               "rebuilt when an issue changes)", err=True)
    # The application reads X-Forwarded-For itself, from forwarded_allow_ips only:
    # uvicorn's own reading (on by default, trusting 127.0.0.1) stays off.
    if workers > 1:  # each worker process builds its application: worker_app
        os.environ[WORKER_ENV] = json.dumps(options)
        uvicorn.run(f"{__name__}:worker_app", factory=True, workers=workers, host=host,
                    port=port, log_level="warning", proxy_headers=False)
        return
    from ..web.app import create_app

    with tempfile.TemporaryDirectory(prefix="infolettre-archive-") as tmp:
        app = create_app(config, Path(tmp), archive_interval=archive_check,
                         archive_pdf=not no_pdf)
        uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)


def _served(config: Config, forwarded_allow_ips: str | None) -> Config:
    """The configuration, with --forwarded-allow-ips in place of the setting if given."""
    import dataclasses

    from ..config import proxies_ok

    if forwarded_allow_ips is None:
        return config
    proxies = [p for p in forwarded_allow_ips.split(",") if p.strip()]
    return dataclasses.replace(config, forwarded_allow_ips=proxies_ok(
        proxies, "--forwarded-allow-ips"))


def worker_app() -> ASGIApp:
    """The application of one worker of ``serve --workers N`` (uvicorn's factory, run
    in each worker process): the configuration read again, as ``serve`` read it, with
    the options it handed over in ``WORKER_ENV``; the archive in a folder of the
    worker's own, removed when the process ends."""
    import atexit
    import json
    import os
    import shutil

    from ..config import load_config
    from ..web.app import create_app

    options = json.loads(os.environ[WORKER_ENV])
    config = _served(load_config(Path(options["config"]) if options["config"] else None),
                     options["forwarded_allow_ips"])
    folder = tempfile.mkdtemp(prefix="infolettre-archive-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return create_app(config, Path(folder), archive_interval=options["archive_check"],
                      archive_pdf=options["pdf"])


@click.command()
@click.option("--out", type=PathArg, default=Path("build/archive"), show_default=True,
              help="Folder for the static archive.")
@click.option("--publish", metavar="ISSUE", default=None,
              help="Show ISSUE in the archive before (or without) sending it.")
@click.option("--unpublish", metavar="ISSUE", default=None,
              help="Withdraw ISSUE from the archive, even if it was sent.")
@click.option("--no-pdf", is_flag=True, help="Leave out each edition's PDF.")
@click.pass_context
def archive(ctx: click.Context, out: Path, publish: str | None, unpublish: str | None,
            no_pdf: bool) -> None:
    """Export the web archive (index, every published issue's web version, Atom feed).

    An issue is in the archive once it has been sent to at least one subscriber,
    or when published with --publish; --unpublish withdraws it. Both are
    recorded in the database, and `infolettre serve` follows them.

    \b
    Example:
      infolettre archive --out build/archive
      infolettre archive --publish 2018-06
    """
    from ..content.scaffold import issue_folders
    from ..edition.archive import build_archive, published_issues, set_published

    config = load(ctx)
    if publish and unpublish:
        raise InfoLettreError("give --publish or --unpublish, not both")
    issue = publish or unpublish
    if issue is not None:
        if issue not in {issue_slug(folder) for folder in issue_folders(config.issues_dir)}:
            raise InfoLettreError(f"{issue}: no such issue in {display_path(config.issues_dir)}/"
                                  " (give the name of an issue's folder)")
        with open_store(ctx) as store:
            set_published(store, issue, publish is not None)
        click.echo(f"{issue}: {'published' if publish else 'withdrawn from the archive'} "
                   "(infolettre serve follows within --archive-check seconds; run "
                   "`infolettre archive` again to update a static copy)")
        return
    with open_store(ctx) as store:
        published = published_issues(store)
    result = build_archive(config, out, published, with_pdf=not no_pdf)
    for line in result.skipped:
        click.echo(f"left out {line}", err=True)
    if result.pdf_missing:
        click.echo(f"no PDF editions: {result.pdf_missing}", err=True)
    if result.unpublished:
        click.echo(f"left out, neither sent nor published: {', '.join(result.unpublished)} "
                   "(infolettre archive --publish ISSUE shows one)", err=True)
    click.echo(f"wrote {len(result.issues)} issues, index.html and feed.atom into "
               f"{display_path(out)}/")


@click.group()
def bounces() -> None:
    """Process bounces and unsubscribe mails for SMTP senders.

    \b
    Example:
      INFOLETTRE_IMAP_PASSWORD=… infolettre bounces fetch --host imap.example.org --user bounces
    """


@bounces.command("fetch")
@imap_options("Processed", "Folder processed mails are moved to (created if needed).")
@click.pass_context
def bounces_fetch(ctx: click.Context, host: str, port: int, user: str, folder: str,
                  done_folder: str, cafile: Path | None) -> None:
    """Read delivery reports (RFC 3464) and unsubscribe mails; mark subscribers.

    Hard bounces mark the address bounced at once; soft bounces do after three
    in a row; "unsubscribe TOKEN" mails (the List-Unsubscribe mailto:) unsubscribe.

    \b
    Example:
      infolettre bounces fetch --host imap.example.org --user bounces
    """
    from ..audience.bounces import process_mailbox

    config = load(ctx)
    box = mailbox(config, host, port, user, cafile)
    with open_store(ctx) as store:
        report = process_mailbox(store, box, folder, done_folder)
    click.echo(f"{report.messages} mails read: {report.hard} hard bounces, {report.soft} soft, "
               f"{report.unsubscribes} unsubscribes, {report.ignored} not understood "
               f"(left in {folder})")
    for line in report.changes:
        click.echo(f"  {line}")
