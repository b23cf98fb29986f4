"""Opening the database, and write transactions that threads share fairly.

Two engines behind one interface, ``Connection``: a SQLite file (the default: one
file, mode 0600 since it holds personal data, in WAL mode so that the sending
journal can commit a row per message cheaply while other commands read), or a
PostgreSQL server (``store.postgres``) for several hosts or service workers.
The project's SQL is written once, in the dialect both understand (``?``
placeholders, ``ON CONFLICT``, ``RETURNING``); what truly differs (types in the
tables, the schema's version, locks, the odd function) is a method of the
connection, not an ``if`` in the callers.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from ..config import Database, PostgresURL
from ..errors import InfoLettreError
from .interface import Connection
from .schema import SCHEMA_VERSION, migrate

__all__ = ["Connection", "SQLiteConnection", "connect", "describe",
           "migrate_database", "transaction"]

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


class SQLiteConnection(sqlite3.Connection):
    """A SQLite connection that knows the in-process write lock of its file.

    SQLite serialises writers with a busy handler that sleeps, longer and longer;
    under many threads (the web service, the sending workers) that sleeping, not
    the writes, takes the time. Threads of one process take this lock instead,
    so SQLite's lock is only ever contended by other processes.
    """

    dialect = "sqlite"
    write_lock: threading.Lock

    @contextmanager
    def transaction(self) -> Iterator[SQLiteConnection]:
        """The process's lock, then SQLite's (BEGIN IMMEDIATE)."""
        with self.write_lock:
            self.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self.execute("ROLLBACK")
                raise
            self.execute("COMMIT")

    def schema_version(self) -> int:
        return int(self.execute("PRAGMA user_version").fetchone()[0])

    def set_schema_version(self, version: int) -> None:
        self.execute(f"PRAGMA user_version = {int(version)}")

    def ddl(self, statement: str) -> str:
        return statement

    def serialise(self, name: str) -> None:
        return None

    def forget(self) -> None:
        self.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def describe(where: Database) -> str:
    """How a database is named in messages (a server's password hidden)."""
    return where.shown() if isinstance(where, PostgresURL) else str(where)


def connect(where: Database, *, migrate_sqlite: bool = True) -> Connection:
    """Open a connection to the database ``where`` names.

    A SQLite file is created (mode 0600) and brought up to date as needed; a
    PostgreSQL database must have been brought up to date by ``infolettre db
    migrate`` (several hosts share it: its schema changes when its owner says so).
    """
    if isinstance(where, PostgresURL):
        from .postgres import connect_postgres

        return connect_postgres(where)
    return _connect_sqlite(where, migrate_sqlite)


def _connect_sqlite(path: Path, migrate_now: bool) -> SQLiteConnection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        conn = sqlite3.connect(path, timeout=30, isolation_level=None,
                               check_same_thread=False, factory=SQLiteConnection)
        with _LOCKS_GUARD:
            conn.write_lock = _LOCKS.setdefault(str(path.resolve()), threading.Lock())
        conn.execute("PRAGMA journal_mode = WAL")
    except (OSError, sqlite3.Error) as exc:
        # A damaged file (or not SQLite's) is sqlite3.DatabaseError itself; the
        # others (locked, unreadable, a full disk) say what to mend in their text.
        advice = (f": restore it from a backup (`sqlite3 {path} .recover` saves what "
                  "can be read)" if type(exc) is sqlite3.DatabaseError else "")
        raise InfoLettreError(f"{path}: cannot open the database: {exc}{advice}") from None
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA secure_delete = ON")  # erased personal data is overwritten
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 30000")
    version = conn.schema_version()
    if version > SCHEMA_VERSION:
        raise InfoLettreError(f"{path}: made by a newer InfoLettre (schema {version})")
    if version < SCHEMA_VERSION and migrate_now:
        with conn.transaction():
            migrate(conn)
    return conn


def migrate_database(where: Database) -> tuple[int, int]:
    """Bring the database's tables up to date: (version before, version now)."""
    conn = connect(where, migrate_sqlite=False) if not isinstance(where, PostgresURL) else (
        _postgres_unchecked(where))
    try:
        with conn.transaction():
            conn.serialise("migrate")
            before = conn.schema_version()
            if before > SCHEMA_VERSION:
                raise InfoLettreError(f"{describe(where)}: made by a newer InfoLettre "
                                      f"(schema {before}, this one knows {SCHEMA_VERSION})")
            if before < SCHEMA_VERSION:
                migrate(conn)
        return before, SCHEMA_VERSION
    finally:
        conn.close()


def _postgres_unchecked(where: PostgresURL) -> Connection:
    from .postgres import connect_postgres

    return connect_postgres(where, check_version=False)


def transaction(conn: Connection) -> AbstractContextManager[Any]:
    """A write transaction on ``conn`` (see ``Connection.transaction``)."""
    return conn.transaction()
