"""The `db` commands: bring a database's tables up to date, copy one into another."""

from __future__ import annotations

import click

from ..config import Database, database
from .common import load


def _where(ctx: click.Context, given: str | None) -> Database:
    return database(given) if given else load(ctx).db


@click.group("db")
def db() -> None:
    """The database: its tables' version, and moving it to another engine.

    The database is the db setting or $INFOLETTRE_DB: a SQLite file (the default,
    infolettre.db) or postgresql://USER@HOST:PORT/DB, its password in PGPASSWORD
    or ~/.pgpass.

    \b
    Example:
      INFOLETTRE_DB=postgresql://infolettre@db.example.org/infolettre infolettre db migrate
      infolettre db copy --to postgresql://infolettre@db.example.org/infolettre
    """


@db.command("migrate")
@click.option("--db", "given", metavar="DATABASE", default=None,
              help="The database (default: the db setting or $INFOLETTRE_DB).")
@click.pass_context
def migrate_cmd(ctx: click.Context, given: str | None) -> None:
    """Create the tables, or bring them up to this version's schema.

    A SQLite file is brought up to date whenever a command opens it; a PostgreSQL
    database, which several hosts share, only by this command (run it once, from
    one host, after installing a new version).

    \b
    Example:
      infolettre db migrate --db postgresql://infolettre@127.0.0.1:5432/infolettre
    """
    from ..store import describe, migrate_database

    where = _where(ctx, given)
    before, after = migrate_database(where)
    if before == after:
        click.echo(f"{describe(where)}: up to date (schema {after})")
    else:
        click.echo(f"{describe(where)}: schema {before} -> {after}")


@db.command("copy")
@click.option("--to", "to", metavar="DATABASE", required=True,
              help="The new, empty database to copy into (postgresql://… or a path).")
@click.option("--from", "given", metavar="DATABASE", default=None,
              help="The database to copy (default: the db setting or $INFOLETTRE_DB).")
@click.pass_context
def copy_cmd(ctx: click.Context, to: str, given: str | None) -> None:
    """Copy every subscriber, event, campaign and journal row into another database.

    The target must be empty (its tables are made if needed); the copy is checked
    row for row before it is committed, and on any difference nothing is written.
    Stop `infolettre serve` and any send first, then point the db setting (or
    $INFOLETTRE_DB) at the target.

    \b
    Example:
      infolettre db copy --to postgresql://infolettre@127.0.0.1:5432/infolettre
    """
    from ..store import describe
    from ..store.copy import copy_database

    source, target = _where(ctx, given), database(to)
    copied = copy_database(source, target,
                           lambda table, n: click.echo(f"  {table}: {n} rows", err=True))
    click.echo(f"copied {copied.total} rows of {len(copied.rows)} tables from "
               f"{describe(source)} to {describe(target)}, checked row for row "
               f"({copied.rows['subscribers']} subscribers)")
