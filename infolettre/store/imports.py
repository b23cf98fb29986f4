"""The addresses an import has seen so far, in a temporary table.

An import reads its file in batches, all in one transaction; an address seen in
an earlier batch is a duplicate within the file (merged, later values win), and
the report counts it. The set is kept in the database, not in memory, so that a
large file does not make the process grow.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager

from .connection import Connection

__all__ = ["ImportSeen"]


class ImportSeen:
    """The temporary table of an import's addresses (mixed into ``Store``)."""

    conn: Connection

    @contextmanager
    def import_seen(self) -> Iterator[None]:
        """An empty set of seen addresses for the import within (the caller holds a
        transaction); dropped at the end, whatever happens."""
        if self.conn.dialect == "postgresql":  # gone at the end of the transaction
            self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS import_seen "
                              "(email TEXT PRIMARY KEY) ON COMMIT DROP")
            self.conn.execute("DELETE FROM import_seen")
            yield
            return
        self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS import_seen "
                          "(email TEXT PRIMARY KEY) WITHOUT ROWID")
        self.conn.execute("DELETE FROM import_seen")
        try:
            yield
        finally:
            self.conn.execute("DROP TABLE import_seen")

    def seen_in_import(self, emails: Collection[str]) -> set[str]:
        """Those of these addresses (normalised, at most 500) seen earlier in the import."""
        if not emails:
            return set()
        return {e for (e,) in self.conn.execute(
            f"SELECT email FROM import_seen WHERE email IN ({','.join('?' * len(emails))})",
            tuple(emails))}

    def add_seen_in_import(self, emails: Collection[str]) -> None:
        """Remember these addresses as seen by the import."""
        self.conn.executemany("INSERT INTO import_seen VALUES (?) ON CONFLICT DO NOTHING",
                              [(e,) for e in emails])
