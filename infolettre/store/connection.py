"""Opening the database file, and write transactions that threads share fairly.

One file (mode 0600: it holds personal data), opened in WAL mode so that the
sending journal can commit a row per message cheaply while other commands read.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import InfoLettreError
from .schema import SCHEMA_VERSION, migrate

__all__ = ["Connection", "connect", "transaction"]

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


class Connection(sqlite3.Connection):
    """A connection that knows the in-process write lock of its database file.

    SQLite serialises writers with a busy handler that sleeps, longer and longer;
    under many threads (the web service, the sending workers) that sleeping, not
    the writes, takes the time. Threads of one process take this lock instead,
    so SQLite's lock is only ever contended by other processes.
    """

    write_lock: threading.Lock


def connect(path: Path) -> Connection:
    """Open (creating with mode 0600 if needed) and configure a connection."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        conn = sqlite3.connect(path, timeout=30, isolation_level=None,
                               check_same_thread=False, factory=Connection)
        with _LOCKS_GUARD:
            conn.write_lock = _LOCKS.setdefault(str(path.resolve()), threading.Lock())
        conn.execute("PRAGMA journal_mode = WAL")
    except (OSError, sqlite3.Error) as exc:
        raise InfoLettreError(f"{path}: cannot open the database: {exc}") from None
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA secure_delete = ON")  # erased personal data is overwritten
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 30000")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise InfoLettreError(f"{path}: made by a newer InfoLettre (schema {version})")
    if version < SCHEMA_VERSION:
        with transaction(conn):
            migrate(conn)
    return conn


@contextmanager
def transaction(conn: Connection) -> Iterator[Connection]:
    """A write transaction: the process's lock, then SQLite's (BEGIN IMMEDIATE)."""
    with conn.write_lock:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
