"""The ``infolettre`` command: parse arguments, call one library function, report.

This is the only module that prints for the user or chooses an exit status:
0 success, 1 problems found in the sources, 2 any other error (bad usage,
configuration, missing tool). Library errors arrive as InfoLettreError.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import __version__
from .config import Config, load_config
from .errors import InfoLettreError, ProblemsFound, display_path

PathArg = click.Path(path_type=Path)


def _report(problems: list) -> None:
    for problem in problems:
        click.echo(str(problem))
    files = len({p.path for p in problems})
    click.echo(f"{len(problems)} problem{'s' * (len(problems) != 1)} in {files} "
               f"file{'s' * (files != 1)}", err=True)


def handles_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the project's errors into a message and an exit status."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ProblemsFound as exc:
            _report(exc.problems)
            sys.exit(exc.exit_code)
        except InfoLettreError as exc:
            click.echo(f"infolettre: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("infolettre: interrupted", err=True)
            sys.exit(130)
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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


def _config(ctx: click.Context) -> Config:
    try:
        return load_config(ctx.find_root().obj)
    except InfoLettreError as exc:
        click.echo(f"infolettre: {exc}", err=True)
        sys.exit(exc.exit_code)


@cli.command()
@click.argument("path", type=PathArg)
@click.pass_context
@handles_errors
def check(ctx: click.Context, path: Path) -> None:
    """Check an issue folder, or one file of it, and list every problem.

    Exit status 0 when publishable, 1 with one line per problem otherwise.

    \b
    Example:
      infolettre check issues/2018-06
      infolettre check issues/2018-06/news/charleroi-album-jeunesse.md
    """
    from .check import check_path

    problems = check_path(path, _config(ctx))
    if problems:
        raise ProblemsFound(problems)
    click.echo(f"{display_path(path)}: no problem found")


@cli.command()
@click.argument("issue_dir", type=PathArg)
@click.option("--out", type=PathArg, default=None,
              help="Output folder (default: build/ISSUE).")
@click.option("--keep-placeholders", is_flag=True,
              help="Leave the per-recipient %%placeholders%% unfilled.")
@click.pass_context
@handles_errors
def build(ctx: click.Context, issue_dir: Path, out: Path | None,
          keep_placeholders: bool) -> None:
    """Build the email (HTML and text) and the web page of an issue.

    Writes OUT/email.html (CSS inlined), OUT/email.txt and OUT/index.html.

    \b
    Example:
      infolettre build issues/2018-06 --out build/2018-06
    """
    from .build import build_issue

    out = out or Path("build") / issue_dir.resolve().name
    built = build_issue(issue_dir, out, _config(ctx), keep_placeholders=keep_placeholders)
    for warning in built.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"built {display_path(issue_dir)} into {display_path(out)}/ "
               f"(email.html {built.html_bytes / 1024:.1f} KB)")
    for path in built.files[:3]:
        click.echo(f"  {display_path(path)}")


@cli.command("new-issue")
@click.option("--date", "date", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Publication date (default: today); the folder is named YYYY-MM.")
@click.option("--issues-dir", type=PathArg, default=None,
              help="Folder of the issues (default: from the configuration).")
@click.pass_context
@handles_errors
def new_issue_cmd(ctx: click.Context, date: Any, issues_dir: Path | None) -> None:
    """Create the next issue folder, carrying over the agenda still to come.

    The signature, editorial team, contact address and links are copied from
    the latest issue; so are the agenda entries dated after the new issue.

    \b
    Example:
      infolettre new-issue --date 2018-09-28
    """
    import datetime as dt

    from .scaffold import new_issue

    config = _config(ctx)
    day = date.date() if date else dt.date.today()
    folder = new_issue(issues_dir or config.issues_dir, day)
    click.echo(f"created {display_path(folder)}/: write the edito in "
               f"{display_path(folder / 'issue.md')}, then add news with "
               f"`infolettre new-item {display_path(folder)} --cdm SLUG`")


@cli.command("new-item")
@click.argument("issue_dir", type=PathArg)
@click.option("--cdm", default=None, help="Slug of the centre (see issues/cdms.yaml).")
@click.option("--section", type=click.Choice(["cdm", "reseau"]), default="cdm",
              show_default=True, help="News of a centre, or of the network.")
@click.pass_context
@handles_errors
def new_item_cmd(ctx: click.Context, issue_dir: Path, cdm: str | None, section: str) -> None:
    """Write a commented template for one news item, ready to fill in.

    \b
    Example:
      infolettre new-item issues/2018-06 --cdm charleroi
      infolettre new-item issues/2018-06 --section reseau
    """
    from .scaffold import new_item

    path = new_item(issue_dir, cdm, section, _config(ctx).templates_dir)
    click.echo(f"wrote {display_path(path)}: fill it in, then run "
               f"`infolettre check {display_path(path)}`")


@cli.command()
@click.argument("issue_dir", type=PathArg)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port (0 picks a free one).")
@click.pass_context
@handles_errors
def preview(ctx: click.Context, issue_dir: Path, host: str, port: int) -> None:
    """Serve the issue locally; pages rebuild when its files change.

    \b
    Example:
      infolettre preview issues/2018-06      # then open http://127.0.0.1:8000/
    """
    from .preview import serve_preview

    def ready(url: str) -> None:
        click.echo(f"previewing {display_path(issue_dir)} at {url} (Ctrl-C stops)")

    try:
        serve_preview(issue_dir, _config(ctx), host, port, ready)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


@cli.command()
@click.argument("issue_dir", type=PathArg)
@click.option("--out", type=PathArg, default=Path("build/proof"), show_default=True,
              help="Folder for the screenshots.")
@click.option("--width", "widths", type=int, multiple=True,
              help="Viewport width in pixels (repeatable; default: 600 and 375).")
@click.pass_context
@handles_errors
def proof(ctx: click.Context, issue_dir: Path, out: Path, widths: tuple[int, ...]) -> None:
    """Screenshot the email at desktop and phone widths with headless Chromium.

    \b
    Example:
      infolettre proof issues/2018-06 --out build/proof
    """
    from .proof import WIDTHS
    from .proof import proof as take

    for shot in take(issue_dir, out, _config(ctx), widths or WIDTHS):
        note = f" (page is {shot.page_width}px wide: it scrolls sideways)" \
            if shot.overflows else ""
        click.echo(f"{display_path(shot.path)}{note}")


# -- subscribers -----------------------------------------------------------------------

@cli.group()
def subscribers() -> None:
    """Manage the subscriber list (kept in the SQLite database).

    \b
    Example:
      infolettre subscribers import subscribers/sample.csv
      infolettre subscribers list --status active --lang fr
    """


def _store(ctx: click.Context) -> Any:
    from .store import Store

    config = _config(ctx)
    return Store(config.db, config.secrets.get("INFOLETTRE_SECRET"))


@subscribers.command("import")
@click.argument("csv_file", type=PathArg)
@click.pass_context
@handles_errors
def subscribers_import(ctx: click.Context, csv_file: Path) -> None:
    """Import subscribers from a CSV file (columns: email, name, lang, centre, …).

    Every row is checked; rejected rows are listed as FILE:LINE: reason and the
    others are imported. An unsubscribed, bounced or erased address is never
    made active again.

    \b
    Example:
      infolettre subscribers import subscribers/sample.csv
    """
    from .subscribers import import_csv

    with _store(ctx) as store:
        report = import_csv(store, csv_file)
        total = store.count()
    for problem in report.rejected:
        click.echo(str(problem))
    click.echo(f"{display_path(csv_file)}: {report.added} added, {report.updated} updated, "
               f"{report.unchanged} unchanged, {report.duplicates} duplicates merged, "
               f"{len(report.rejected)} rejected; {total} subscribers in all")
    for line in report.kept_inactive:
        click.echo(f"  kept as it is: {line}")
    if report.rejected:
        sys.exit(1)


@subscribers.command("add")
@click.argument("email")
@click.option("--name", default="", help="Full name.")
@click.option("--lang", default="fr", show_default=True, help="Language of the emails.")
@click.option("--centre", default="", help="Slug of the subscriber's centre.")
@click.option("--country", default="", help="Country code.")
@click.pass_context
@handles_errors
def subscribers_add(ctx: click.Context, email: str, name: str, lang: str, centre: str,
                    country: str) -> None:
    """Add one active subscriber.

    \b
    Example:
      infolettre subscribers add anne@example.org --name "Anne Martin" --lang fr
    """
    from .subscribers import add

    with _store(ctx) as store:
        added = add(store, email, name=name, lang=lang, centre=centre, country=country)
    click.echo(f"added {added.email} ({added.status})")


@subscribers.command("remove")
@click.argument("email")
@click.pass_context
@handles_errors
def subscribers_remove(ctx: click.Context, email: str) -> None:
    """Unsubscribe an address (it stays listed, so no import brings it back).

    \b
    Example:
      infolettre subscribers remove anne@example.org
    """
    from .subscribers import remove

    with _store(ctx) as store:
        remove(store, email)
    click.echo(f"unsubscribed {email.strip().lower()}")


@subscribers.command("list")
@click.option("--status", type=click.Choice(["pending", "active", "unsubscribed", "bounced",
                                             "complained"]), default=None)
@click.option("--lang", default=None, help="Only this language.")
@click.option("--centre", default=None, help="Only this centre.")
@click.pass_context
@handles_errors
def subscribers_list(ctx: click.Context, status: str | None, lang: str | None,
                     centre: str | None) -> None:
    """List subscribers, tab-separated: email, name, lang, centre, status.

    \b
    Example:
      infolettre subscribers list --status bounced
    """
    with _store(ctx) as store:
        count = 0
        for s in store.select(status, lang, centre):
            click.echo("\t".join((s.email, s.name, s.lang, s.centre, s.status)))
            count += 1
    click.echo(f"{count} subscriber{'s' * (count != 1)}", err=True)


@subscribers.command("export")
@click.argument("csv_file", type=PathArg)
@click.option("--status", default=None, help="Only this status.")
@click.pass_context
@handles_errors
def subscribers_export(ctx: click.Context, csv_file: Path, status: str | None) -> None:
    """Export subscribers to CSV (cells a spreadsheet would run are neutralised).

    \b
    Example:
      infolettre subscribers export /tmp/abonnes.csv
    """
    from .subscribers import export_csv

    with _store(ctx) as store:
        count = export_csv(store.select(status), csv_file)
    click.echo(f"wrote {count} subscribers to {display_path(csv_file)}")


@subscribers.command("forget")
@click.argument("email")
@click.pass_context
@handles_errors
def subscribers_forget(ctx: click.Context, email: str) -> None:
    """Erase a person's data; a keyed hash keeps the address from coming back.

    \b
    Example:
      infolettre subscribers forget anne@example.org
    """
    with _store(ctx) as store, store.transaction():
        found = store.forget(email)
    click.echo(f"erased {email.strip().lower()}" if found else
               f"{email.strip().lower()} was not on the list; it is suppressed all the same")


# -- configuration and transports ----------------------------------------------------------

@cli.group("config")
def config_group() -> None:
    """Inspect the configuration.

    \b
    Example:
      infolettre config check
    """


@config_group.command("check")
@click.pass_context
@handles_errors
def config_check(ctx: click.Context) -> None:
    """Validate the configuration and print it, secrets masked.

    \b
    Example:
      INFOLETTRE_TRANSPORT=smtp://relay.example.org:587 infolettre config check
    """
    import dataclasses

    from .config import SECRET_VARS
    from .transports import from_dsn, mask

    config = _config(ctx)
    transport = from_dsn(config.transport, config.secrets)
    click.echo(f"# from {config.source or 'the embedded defaults'}")
    for f in dataclasses.fields(config):
        if f.name in ("secrets", "source"):
            continue
        value = getattr(config, f.name)
        shown = mask(value) if f.name == "transport" else value
        click.echo(f"{f.name} = {str(shown)!r}")
    click.echo(f"# transport: {transport.describe()}")
    for var, what in SECRET_VARS.items():
        state = "set" if var in config.secrets else "not set"
        click.echo(f"# ${var}: {state} ({what})")


@cli.command("transports")
def transports_cmd() -> None:
    """List the transports and what each needs.

    \b
    Example:
      infolettre transports
    """
    from .transports import DESCRIPTIONS

    for name, (example, what) in DESCRIPTIONS.items():
        click.echo(f"{name:<10}{what}\n          {example}")


# -- sending -------------------------------------------------------------------------------

def _progress_bar() -> Any:
    """A progress callback drawing a bar with rate and ETA on a terminal, else None."""
    if not sys.stderr.isatty():
        return None
    import time

    state: dict[str, Any] = {"bar": None, "shown": 0, "started": time.monotonic()}

    def update(done: int, total: int, outcomes: Any) -> None:
        if total == 0:
            return
        if state["bar"] is None:
            state["bar"] = click.progressbar(length=total, label="sending", show_pos=True,
                                             show_eta=True, file=sys.stderr)
        bar = state["bar"]
        rate = done / max(time.monotonic() - state["started"], 1e-6)
        bar.label = f"sending ({rate:.0f}/s, {outcomes.get('retry', 0)} to retry)"
        bar.update(done - state["shown"])
        state["shown"] = done
        if done >= total:
            bar.render_finish()

    return update


@cli.command()
@click.argument("issue_dir", type=PathArg)
@click.option("--test", "tests", multiple=True, metavar="ADDR",
              help="Send proofs to ADDR (repeatable); no subscriber, no journal.")
@click.option("--dry-run", is_flag=True, help="Show the audience and one message; send nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@click.option("--lang", default=None, help="Only subscribers of this language.")
@click.option("--centre", default=None, help="Only subscribers of this centre.")
@click.option("--transport", "dsn", default=None, help="Transport DSN (see `transports`).")
@click.option("--resend-in-doubt", is_flag=True,
              help="Send again the messages whose delivery is unknown.")
@click.pass_context
@handles_errors
def send(ctx: click.Context, issue_dir: Path, tests: tuple[str, ...], dry_run: bool,
         yes: bool, lang: str | None, centre: str | None, dsn: str | None,
         resend_in_doubt: bool) -> None:
    """Send an issue to the active subscribers; run it again to continue.

    Refuses an issue that fails `check`. Each subscriber gets the issue at most
    once: messages whose fate is unknown (connection lost after the data) are
    listed by `status` and sent again only with --resend-in-doubt.

    \b
    Example:
      infolettre send issues/2018-06 --test moi@example.org
      infolettre send issues/2018-06 --dry-run
      infolettre send issues/2018-06 --yes
    """
    import dataclasses

    from .build import build_edition, load_publishable
    from .send import Audience, send_campaign, send_proofs
    from .sendreport import describe_dry_run, describe_summary
    from .transports import from_dsn

    config = _config(ctx)
    if dsn:
        config = dataclasses.replace(config, transport=dsn)
    issue = load_publishable(issue_dir, config)
    edition = build_edition(issue, config)
    transport = from_dsn(config.transport, config.secrets)
    if tests:
        for address, result in send_proofs(edition, config, transport, list(tests)):
            click.echo(f"{address}: {result.outcome.value} {result.detail}")
        return
    audience = Audience(lang, centre)
    if dry_run:
        click.echo(describe_dry_run(edition, config, audience, transport))
        return
    if not yes:
        if not sys.stdin.isatty():
            raise InfoLettreError("not a terminal: pass --yes to send without confirmation")
        from .sendreport import audience_size

        size = audience_size(config, issue.slug, audience)
        click.confirm(f"Send “{issue.subject}” to {size} subscribers through "
                      f"{transport.describe()}?", abort=True)
    summary = send_campaign(edition, config, transport, audience=audience,
                            resend_in_doubt=resend_in_doubt, progress=_progress_bar())
    click.echo(describe_summary(summary, transport))
    if summary.stopped:
        sys.exit(2)


@cli.command()
@click.argument("issue_dir", type=PathArg)
@click.pass_context
@handles_errors
def status(ctx: click.Context, issue_dir: Path) -> None:
    """Show where the campaign of an issue stands, and every failed or in-doubt recipient.

    \b
    Example:
      infolettre status issues/2018-06
    """
    from .sendreport import describe_status

    config = _config(ctx)
    with _store(ctx) as store:
        click.echo(describe_status(store, issue_dir.resolve().name, config))


def main() -> None:
    """Entry point of the console script."""
    cli(prog_name="infolettre")


if __name__ == "__main__":
    main()
