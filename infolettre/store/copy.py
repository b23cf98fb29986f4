"""Copy a whole database into another, checked row for row: ``infolettre db copy``.

How a network moves its SQLite file to PostgreSQL when a second host or service
worker arrives (or takes a PostgreSQL database back to a file). Every table, in
an order that satisfies the foreign keys, with its ids, so that the journal's
rows still point at their subscribers; the ``secret`` too, so that every
unsubscribe link already sent keeps working. The source is read in one
snapshot; the target is written in one transaction, which is checked before it
commits: the same number of rows and the same multiset of rows in every table
(an order-free digest, so the engines' collations do not matter), else nothing
is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Database
from ..errors import InfoLettreError
from .connection import Connection, connect, describe, migrate_database

__all__ = ["TABLES", "Copied", "copy_database", "digest_table"]

#: Every table, parents before children; a table the schema gains must be added here
#: (tests/store/test_copy.py checks the list against the tables a new database has).
TABLES = ("meta", "subscribers", "events", "suppressed", "campaigns", "deliveries",
          "webhook_events", "bounce_reports", "invitations", "editors", "editor_links",
          "editor_sessions", "editorial_events", "senders", "rate_slots", "request_counts")
#: Tables with an identity column ``id`` whose next value follows the copied rows.
_IDENTITY = ("subscribers", "events", "campaigns", "invitations", "editor_links",
             "editorial_events")
#: Rows of ``meta`` that describe the database itself, not its content.
_OWN = ("schema_version",)
_BATCH = 2000


@dataclass(frozen=True)
class Copied:
    """What ``copy_database`` wrote: rows per table, all checked equal to the source's."""

    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _plain(value: Any) -> Any:
    """A value as both engines give it back (SQLite may hand back 0 for a REAL 0.0)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def digest_table(conn: Connection, table: str) -> tuple[int, str]:
    """(rows, an order-free digest of them) of ``table``, ``meta``'s own rows left out."""
    total, count = 0, 0
    for row in _rows(conn, table):
        text = repr(tuple(_plain(v) for v in row)).encode()
        total = (total + int.from_bytes(hashlib.blake2b(text, digest_size=16).digest(),
                                        "big")) % (1 << 128)
        count += 1
    return count, f"{total:032x}"


def _columns(conn: Connection, table: str) -> list[str]:
    cursor = conn.execute(f"SELECT * FROM {table} WHERE 1 = 0")
    return [d[0] for d in cursor.description]


def _rows(conn: Connection, table: str) -> Iterable[tuple]:
    columns = ", ".join(_columns(conn, table))
    where = (" WHERE key NOT IN (" + ", ".join(f"'{k}'" for k in _OWN) + ")"
             if table == "meta" else "")
    return conn.execute(f"SELECT {columns} FROM {table}{where}")


def _insert(conn: Connection, table: str, columns: list[str], rows: list[tuple]) -> None:
    marks = ", ".join("?" * len(columns))
    names = ", ".join(columns)
    if table == "meta":  # the target's own secret gives way to the source's
        conn.executemany(f"INSERT INTO meta ({names}) VALUES ({marks}) ON CONFLICT (key) "
                         "DO UPDATE SET value = excluded.value", rows)
    else:
        conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def _held(conn: Connection) -> dict[str, int]:
    """Rows per table of ``conn`` apart from ``meta`` (which a new database has)."""
    return {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
            for t in TABLES if t != "meta"}


def copy_database(source: Database, target: Database,
                  progress: Callable[[str, int], None] | None = None) -> Copied:
    """Copy every row of ``source`` into ``target``, an empty database (its tables are
    made or brought up to date first); checked before the commit, all or nothing."""
    if describe(source) == describe(target):
        raise InfoLettreError(f"{describe(target)}: the source and the target are the "
                              "same database")
    if isinstance(source, Path) and not source.is_file():
        # connect would make an empty database there, and the copy would pass as done
        raise InfoLettreError(f"{source}: no such database file: name the one to copy "
                              "with --from PATH (or the db setting)")
    migrate_database(target)
    src = connect(source)
    try:
        dst = connect(target)
        try:
            return _copy(src, dst, target, progress)
        finally:
            dst.close()
    finally:
        src.close()


def _copy(src: Connection, dst: Connection, target: Database,
          progress: Callable[[str, int], None] | None) -> Copied:
    held = {t: n for t, n in _held(dst).items() if n}
    if held:
        listed = ", ".join(f"{n} in {t}" for t, n in held.items())
        raise InfoLettreError(f"{describe(target)}: not empty ({listed}); copy into a new, "
                              "empty database (its rows would mix with the copy's)")
    copied: dict[str, int] = {}
    with src.transaction(), dst.transaction():
        if src.dialect == "postgresql":  # one snapshot of every table
            src.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        for table in TABLES:
            columns = _columns(src, table)
            batch: list[tuple] = []
            count = 0
            for row in _rows(src, table):
                batch.append(tuple(row))
                if len(batch) >= _BATCH:
                    _insert(dst, table, columns, batch)
                    count += len(batch)
                    batch = []
            if batch:
                _insert(dst, table, columns, batch)
                count += len(batch)
            copied[table] = count
            if progress:
                progress(table, count)
        if dst.dialect == "postgresql":  # new rows get ids after the copied ones
            for table in _IDENTITY:
                dst.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)")
        for table in TABLES:
            if digest_table(src, table) != digest_table(dst, table):
                raise InfoLettreError(f"{describe(target)}: the copy of {table} differs from "
                                      "the source; nothing was written")
    return Copied(copied)
