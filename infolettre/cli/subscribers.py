"""Commands of `infolettre subscribers`: the list in the database."""

from __future__ import annotations

from pathlib import Path

import click

from ..content.model import Centre
from ..errors import InfoLettreError, Problem, display_path
from ..words import counted
from .common import PathArg, load, open_store


@click.group()
def subscribers() -> None:
    """Manage the subscriber list (kept in the SQLite database).

    \b
    Example:
      infolettre subscribers import subscribers/sample.csv
      infolettre subscribers list --status active --lang fr
    """


@subscribers.command("import")
@click.argument("csv_file", type=PathArg)
@click.pass_context
def subscribers_import(ctx: click.Context, csv_file: Path) -> None:
    """Import subscribers from a CSV file (columns: email, name, lang, centre, …).

    Read as spreadsheets save it: `,` `;` or tab, UTF-8 or cp1252 (said when
    used), headers in French, Spanish, Portuguese, Italian or English (Courriel,
    Prénom + Nom, Langue…; other columns are ignored with a warning), languages
    as names (Anglais, Español) or regional codes (pt_BR).

    Every row is checked; rejected rows are listed as FILE:LINE: reason and the
    others are imported, in one transaction. An unsubscribed, bounced or
    complained address is never made active again: its line is listed as "kept
    unsubscribed" with why (only the person can come back, through the
    subscription form's confirmation). An erased address is rejected.

    \b
    Example:
      infolettre subscribers import subscribers/sample.csv
    """
    from ..audience.lists import import_csv

    centres = _centres(ctx)
    with open_store(ctx) as store:
        report = import_csv(store, csv_file, centres=centres)
        total = store.count()
    if report.encoding != "UTF-8":  # one line: a list saved by Excel is not refused
        click.echo(f"{display_path(csv_file)}: not UTF-8, read as {report.encoding}")
    for problem in report.warnings:
        click.echo(f"warning: {problem}")
    for problem in report.rejected:
        click.echo(str(problem))
    _more(report.rejected_total - len(report.rejected), "rejected")
    for problem in report.kept:
        click.echo(str(problem))
    _more(report.kept_total - len(report.kept), "kept unsubscribed")
    click.echo(f"{display_path(csv_file)}: {report.added} added, {report.updated} updated, "
               f"{report.unchanged} unchanged, {_count(report.duplicates, 'duplicate')} "
               f"merged, {report.kept_total} kept unsubscribed, {report.rejected_total} "
               f"rejected; {_count(total, 'subscriber')} in all")
    if report.rejected_total:
        click.echo("Correct the rejected lines and import the file again (rows already "
                   "imported are merged, not duplicated).")
        ctx.exit(1)  # rejected lines are problems found in a source, the CSV file


def _centres(ctx: click.Context) -> dict[str, Centre] | None:
    """The directory of centres of the configuration's issues, None if there is none."""
    from ..content.layout import find_centres_file
    from ..content.load import load_centres

    path = find_centres_file(load(ctx).issues_dir)
    if path is None:
        return None
    problems: list[Problem] = []
    centres = load_centres(path, problems)
    if problems:
        raise InfoLettreError("\n".join(map(str, problems)))
    return centres


def _count(count: int, noun: str) -> str:
    """``count`` and ``noun`` in the singular or the plural: "1 duplicate", "2 duplicates"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _more(count: int, what: str) -> None:
    """The lines of a kind left unlisted, counted ("… and 1 more line rejected")."""
    if count > 0:
        click.echo(f"… and {count} more {'line' if count == 1 else 'lines'} {what}")


@subscribers.command("add")
@click.argument("email")
@click.option("--name", default="", help="Full name.")
@click.option("--lang", default="fr", show_default=True, help="Language of the emails.")
@click.option("--centre", default="", help="The subscriber's centre: slug, name or city "
              "in cdms.yaml.")
@click.option("--country", default="", help="Country code.")
@click.pass_context
def subscribers_add(ctx: click.Context, email: str, name: str, lang: str, centre: str,
                    country: str) -> None:
    """Add one active subscriber.

    \b
    Example:
      infolettre subscribers add anne@example.org --name "Anne Martin" --lang fr
    """
    from ..audience.lists import add

    centres = _centres(ctx) if centre else None
    with open_store(ctx) as store:
        added = add(store, email, name=name, lang=lang, centre=centre, country=country,
                    centres=centres)
    click.echo(f"added {added.email} ({added.status})")


@subscribers.command("remove")
@click.argument("email")
@click.pass_context
def subscribers_remove(ctx: click.Context, email: str) -> None:
    """Unsubscribe an address (it stays listed, so no import brings it back).

    \b
    Example:
      infolettre subscribers remove anne@example.org
    """
    from ..audience.lists import remove

    with open_store(ctx) as store:
        remove(store, email)
    click.echo(f"unsubscribed {email.strip().lower()}")


@subscribers.command("list")
@click.option("--status", type=click.Choice(["pending", "active", "unsubscribed", "bounced",
                                             "complained"]), default=None)
@click.option("--lang", default=None, help="Only this language.")
@click.option("--centre", default=None, help="Only this centre.")
@click.pass_context
def subscribers_list(ctx: click.Context, status: str | None, lang: str | None,
                     centre: str | None) -> None:
    """List subscribers, tab-separated: email, name, lang, centre, status.

    \b
    Example:
      infolettre subscribers list --status bounced
    """
    with open_store(ctx) as store:
        count = 0
        for s in store.select(status, lang, centre):
            click.echo("\t".join((s.email, s.name, s.lang, s.centre, s.status)))
            count += 1
    click.echo(counted(count, "subscriber"), err=True)


@subscribers.command("history")
@click.argument("email")
@click.pass_context
def subscribers_history(ctx: click.Context, email: str) -> None:
    """Show what happened to one address, oldest first: time, event, detail.

    Why it is unsubscribed, by which link or report; each request to subscribe
    again and the confirmations mailed.

    \b
    Example:
      infolettre subscribers history anne@example.org
    """
    with open_store(ctx) as store:
        events = store.events(email)
    if not events:
        raise InfoLettreError(f"{email.strip().lower()} is not on the list (nothing is kept "
                              "of an erased address)")
    for row in events:
        click.echo("\t".join(row))


@subscribers.command("export")
@click.argument("csv_file", type=PathArg)
@click.option("--status", default=None, help="Only this status.")
@click.pass_context
def subscribers_export(ctx: click.Context, csv_file: Path, status: str | None) -> None:
    """Export subscribers to CSV (cells a spreadsheet would run are neutralised).

    \b
    Example:
      infolettre subscribers export /tmp/abonnes.csv
    """
    from ..audience.lists import export_csv

    with open_store(ctx) as store:
        count = export_csv(store.select(status), csv_file)
    click.echo(f"wrote {count} subscribers to {display_path(csv_file)}")


@subscribers.command("forget")
@click.argument("email")
@click.pass_context
def subscribers_forget(ctx: click.Context, email: str) -> None:
    """Erase a person's data; a keyed hash keeps the address from coming back.

    \b
    Example:
      infolettre subscribers forget anne@example.org
    """
    with open_store(ctx) as store:
        found = store.forget(email)
    click.echo(f"erased {email.strip().lower()}" if found else
               f"{email.strip().lower()} was not on the list; it is suppressed all the same")
