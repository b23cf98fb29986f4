"""`centres list|add|edit`: the directory of centres and their contacts, changed from the
command line with its comments and order kept (see ``content.directory``)."""

from __future__ import annotations

import json
from email.utils import parseaddr
from pathlib import Path

import click

from ..errors import InfoLettreError
from ..messages import say
from ..words import counted, is_email
from .common import PathArg, load


def _directory(ctx: click.Context, path: Path | None) -> Path:
    """``--file``, else the configuration's ``issues_dir/cdms.yaml``."""
    from ..content.layout import CENTRES_FILE

    found = path or load(ctx).issues_dir / CENTRES_FILE
    if not found.is_file():
        raise InfoLettreError(say("no-centres-file", file=found))
    return found


_FILE = click.option("--file", "path", type=PathArg, default=None,
                     help="The directory of centres (default: ISSUES_DIR/cdms.yaml).")


@click.group()
def centres() -> None:
    """The directory of centres (cdms.yaml): list, add and edit centres and contacts.

    \b
    Example:
      infolettre centres list --contacts
      infolettre centres add lyon --name "Cité des métiers de Lyon" --city Lyon --country FR
      infolettre centres edit lyon --add-contact "Anne MARTIN <anne@cdm-lyon.fr>" --lang fr
    """


@centres.command("list")
@_FILE
@click.option("--contacts", is_flag=True, help="Show each centre's contacts too.")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.pass_context
def list_cmd(ctx: click.Context, path: Path | None, contacts: bool, output: str) -> None:
    """List the centres: slug, name, city, country, how many contacts.

    \b
    Example:
      infolettre centres list
      infolettre centres list --format json
    """
    from ..content.directory import read_centres

    found = read_centres(_directory(ctx, path))
    if output == "json":
        click.echo(json.dumps([{"slug": c.slug, "name": c.name, "city": c.city,
                                "country": c.country, "website": c.website,
                                "contacts": [vars(p) for p in c.contacts]}
                               for c in found.values()], ensure_ascii=False, indent=2))
        return
    for c in found.values():
        where = ", ".join(x for x in (c.city, c.country) if x)
        click.echo(f"{c.slug:<20} {c.name}" + (f" ({where})" if where else "")
                   + f" — {counted(len(c.contacts), 'contact')}")
        if contacts:
            for p in c.contacts:
                click.echo(f"{'':<22}{p.name} <{p.email}>" + (f" [{p.lang}]" if p.lang else ""))


def _fields(**options: str | None) -> dict[str, str | None]:
    return {k: v for k, v in options.items() if v is not None}


@centres.command("add")
@click.argument("slug")
@click.option("--name", required=True, help="The centre's full name.")
@click.option("--city", default=None)
@click.option("--country", default=None, help="ISO code, e.g. FR, BE, CH.")
@click.option("--website", default=None, help="https://…")
@_FILE
@click.pass_context
def add_cmd(ctx: click.Context, slug: str, name: str, city: str | None, country: str | None,
            website: str | None, path: Path | None) -> None:
    """Add a centre at the end of the directory.

    \b
    Example:
      infolettre centres add lyon --name "Cité des métiers de Lyon" --city Lyon --country FR
    """
    from ..content.directory import add_centre

    file = _directory(ctx, path)
    add_centre(file, slug, **_fields(name=name, city=city, country=country,  # type: ignore[arg-type]
                                     website=website))
    click.echo(f"added {slug} to {file}")


@centres.command("edit")
@click.argument("slug")
@click.option("--name", default=None)
@click.option("--city", default=None, help='"" deletes it.')
@click.option("--country", default=None, help='"" deletes it.')
@click.option("--website", default=None, help='"" deletes it.')
@click.option("--add-contact", default=None, metavar='"NAME <EMAIL>"',
              help="A contact who writes the centre's news.")
@click.option("--lang", default="", help="The language of the contact added (fr, en…).")
@click.option("--remove-contact", default=None, metavar="EMAIL")
@_FILE
@click.pass_context
def edit_cmd(ctx: click.Context, slug: str, name: str | None, city: str | None,
             country: str | None, website: str | None, add_contact: str | None, lang: str,
             remove_contact: str | None, path: Path | None) -> None:
    """Change a centre's details, add or remove one of its contacts.

    \b
    Example:
      infolettre centres edit charleroi --add-contact "Anne MARTIN <anne@cdm.be>" --lang fr
      infolettre centres edit charleroi --remove-contact anne@cdm.be
      infolettre centres edit charleroi --website https://www.cdm-charleroi.be
    """
    from ..content.directory import edit_centre

    contact = None
    if add_contact is not None:
        who, email = parseaddr(add_contact)
        if not who.strip() or not is_email(email):
            raise InfoLettreError(say("bad-contact", spec=add_contact))
        contact = (who.strip(), email, lang)
    file = _directory(ctx, path)
    edit_centre(file, slug, add_contact=contact, remove_contact=remove_contact,
                **_fields(name=name, city=city, country=country, website=website))
    click.echo(f"changed {slug} in {file}")
