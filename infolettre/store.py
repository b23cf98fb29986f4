"""The SQLite database: subscribers, their history, the suppression list, a secret.

One file (mode 0600: it holds personal data), opened in WAL mode so that the
sending journal (``journal``) can commit a row per message cheaply while other
commands read. Email addresses are stored normalised (trimmed, lower-case), so
duplicates merge whatever their case. Every change of a subscriber writes an
event, so that "why is this person unsubscribed?" has an answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import InfoLettreError

__all__ = ["STATUSES", "Connection", "Store", "Subscriber", "add_event", "connect",
           "normalise_email", "now", "set_status",
           "transaction"]

STATUSES = ("pending", "active", "unsubscribed", "bounced", "complained")
#: Statuses an import or an add never turns back into "active".
FINAL = ("unsubscribed", "bounced", "complained")

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE subscribers (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    lang TEXT NOT NULL DEFAULT 'fr',
    centre TEXT NOT NULL DEFAULT '',
    country TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN
        ('pending', 'active', 'unsubscribed', 'bounced', 'complained')),
    consent_source TEXT NOT NULL DEFAULT '',
    consent_at TEXT NOT NULL DEFAULT '',
    soft_bounces INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX subscribers_audience ON subscribers (status, lang, centre);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_subscriber ON events (subscriber_id);
CREATE TABLE suppressed (hash TEXT PRIMARY KEY, at TEXT NOT NULL, reason TEXT NOT NULL);
CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY,
    issue TEXT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    audience TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE deliveries (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN
        ('pending', 'in_flight', 'sent', 'retry', 'failed', 'in_doubt')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL DEFAULT 0,
    detail TEXT NOT NULL DEFAULT '',
    provider_id TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (campaign_id, subscriber_id)
) WITHOUT ROWID;
CREATE INDEX deliveries_queue ON deliveries (campaign_id, state, next_at);
"""
#: Changes since the first schema, applied in order to older databases.
MIGRATIONS = {
    2: ["CREATE TABLE webhook_events (provider TEXT NOT NULL, event_id TEXT NOT NULL, "
        "at TEXT NOT NULL, PRIMARY KEY (provider, event_id)) WITHOUT ROWID",
        "CREATE TABLE bounce_reports (message_id TEXT PRIMARY KEY, at TEXT NOT NULL)"],
}
SCHEMA_VERSION = max(MIGRATIONS)


_NOW: tuple[int, str] = (0, "")


def now() -> str:
    """The current time, UTC, ISO 8601 to the second (formatted once per second)."""
    global _NOW
    second = int(time.time())
    if _NOW[0] != second:
        _NOW = (second, dt.datetime.fromtimestamp(second, dt.UTC).isoformat())
    return _NOW[1]


def normalise_email(email: str) -> str:
    """The form an address is stored and compared in: trimmed and lower-case."""
    return email.strip().lower()


@dataclass(frozen=True)
class Subscriber:
    """One row of the subscribers table."""

    id: int
    email: str
    name: str
    lang: str
    centre: str
    country: str
    status: str
    consent_source: str
    consent_at: str
    created_at: str

    COLUMNS = ("id, email, name, lang, centre, country, status, consent_source, consent_at, "
               "created_at")


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
            _migrate(conn)
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
    """Create the schema, or bring an older one up to date (inside a transaction)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]  # again, under the lock
    if version == 0:
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("INSERT INTO meta VALUES ('secret', ?)", (secrets.token_urlsafe(32),))
        version = 1
    for target in sorted(v for v in MIGRATIONS if v > version):
        for statement in MIGRATIONS[target]:
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


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


class Store:
    """Subscribers and the suppression list, over one SQLite connection."""

    def __init__(self, path: Path, secret: str | None = None) -> None:
        self.path = path
        self.conn = connect(path)
        self._secret = secret

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """``with store.transaction():`` — all or nothing, with the write lock taken."""
        return transaction(self.conn)

    @property
    def secret(self) -> bytes:
        """The key that signs tokens: $INFOLETTRE_SECRET, or the database's own."""
        if not self._secret:  # read once: it never changes
            self._secret = self.conn.execute("SELECT value FROM meta WHERE key = 'secret'"
                                             ).fetchone()[0]
        return self._secret.encode()

    # -- reading ---------------------------------------------------------------------
    def get(self, email: str) -> Subscriber | None:
        """The subscriber with this address (any case), or None."""
        row = self.conn.execute(f"SELECT {Subscriber.COLUMNS} FROM subscribers WHERE email = ?",
                                (normalise_email(email),)).fetchone()
        return Subscriber(*row) if row else None

    def by_id(self, subscriber_id: int) -> Subscriber | None:
        """The subscriber with this id, or None."""
        row = self.conn.execute(f"SELECT {Subscriber.COLUMNS} FROM subscribers WHERE id = ?",
                                (subscriber_id,)).fetchone()
        return Subscriber(*row) if row else None

    def select(self, status: str | None = None, lang: str | None = None,
               centre: str | None = None) -> Iterator[Subscriber]:
        """Subscribers matching every filter given, by address, streamed."""
        where, args = _filters(status, lang, centre)
        cursor = self.conn.execute(
            f"SELECT {Subscriber.COLUMNS} FROM subscribers {where} ORDER BY email", args)
        for row in cursor:
            yield Subscriber(*row)

    def count(self, status: str | None = None, lang: str | None = None,
              centre: str | None = None) -> int:
        """How many subscribers match the filters."""
        where, args = _filters(status, lang, centre)
        return self.conn.execute(f"SELECT count(*) FROM subscribers {where}", args).fetchone()[0]

    def events(self, email: str) -> list[tuple[str, str, str]]:
        """The history of a subscriber: (time, kind, detail), oldest first."""
        return self.conn.execute(
            "SELECT at, kind, detail FROM events JOIN subscribers s ON s.id = subscriber_id "
            "WHERE s.email = ? ORDER BY events.id", (normalise_email(email),)).fetchall()

    # -- writing (callers hold a transaction) -----------------------------------------
    def insert(self, email: str, *, name: str = "", lang: str = "fr", centre: str = "",
               country: str = "", status: str = "active", consent_source: str = "",
               consent_at: str = "") -> int:
        """Add a subscriber; returns its id."""
        stamp = now()
        cursor = self.conn.execute(
            "INSERT INTO subscribers (email, name, lang, centre, country, status, "
            "consent_source, consent_at, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (normalise_email(email), name, lang, centre, country, status, consent_source,
             consent_at or stamp, stamp, stamp))
        sid = int(cursor.lastrowid or 0)
        self.event(sid, "created", f"{status}; consent: {consent_source}")
        return sid

    def update(self, subscriber_id: int, **values: str) -> None:
        """Change some fields of a subscriber (never its address)."""
        allowed = {"name", "lang", "centre", "country"}
        if not values or not set(values) <= allowed:
            raise ValueError(values)
        assignments = ", ".join(f"{k} = ?" for k in values)
        self.conn.execute(f"UPDATE subscribers SET {assignments}, updated_at = ? WHERE id = ?",
                          (*values.values(), now(), subscriber_id))

    def set_status(self, subscriber_id: int, status: str, detail: str = "") -> None:
        """Change a subscriber's status and record why."""
        set_status(self.conn, subscriber_id, status, detail)

    def event(self, subscriber_id: int, kind: str, detail: str = "") -> None:
        """Append to a subscriber's history."""
        add_event(self.conn, subscriber_id, kind, detail)

    # -- erasure ------------------------------------------------------------------------
    def email_hash(self, email: str) -> str:
        """Keyed hash of an address: lets the suppression list match it, not reveal it."""
        return hmac.new(self.secret, normalise_email(email).encode(),
                        hashlib.sha256).hexdigest()

    def is_suppressed(self, email: str) -> bool:
        """True when the address was erased and must not come back."""
        return self.conn.execute("SELECT 1 FROM suppressed WHERE hash = ?",
                                 (self.email_hash(email),)).fetchone() is not None

    def forget(self, email: str) -> bool:
        """Erase a subscriber's personal data, keeping only a hash in the suppression list.

        The history and journal rows go with the subscriber (ON DELETE CASCADE);
        secure_delete overwrites the freed pages and a checkpoint empties the
        write-ahead log, so no copy stays in the file. Returns False when the
        address was not in the database (it is suppressed all the same).
        """
        with self.transaction():
            self.conn.execute("INSERT OR IGNORE INTO suppressed VALUES (?, ?, 'erased')",
                              (self.email_hash(email), now()))
            cursor = self.conn.execute("DELETE FROM subscribers WHERE email = ?",
                                       (normalise_email(email),))
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return cursor.rowcount > 0


def add_event(conn: sqlite3.Connection, subscriber_id: int, kind: str, detail: str) -> None:
    """Append to a subscriber's history (the caller holds a transaction)."""
    conn.execute("INSERT INTO events (subscriber_id, at, kind, detail) VALUES (?, ?, ?, ?)",
                 (subscriber_id, now(), kind, detail))


def set_status(conn: sqlite3.Connection, subscriber_id: int, status: str, detail: str,
               *, only_from: str | None = None) -> None:
    """Change a subscriber's status (when it is ``only_from``, if given) and record why.

    On a bare connection so that the sending journal can use it inside its own
    transaction; ``Store.set_status`` is the same thing for everyone else.
    """
    if status not in STATUSES:
        raise ValueError(status)
    guard = " AND status = ?" if only_from else ""
    conn.execute(f"UPDATE subscribers SET status = ?, updated_at = ? WHERE id = ?{guard}",
                 (status, now(), subscriber_id, *((only_from,) if only_from else ())))
    add_event(conn, subscriber_id, status, detail)


def _filters(status: str | None, lang: str | None, centre: str | None
             ) -> tuple[str, tuple[str, ...]]:
    clauses, args = [], []
    for column, value in (("status", status), ("lang", lang), ("centre", centre)):
        if value:
            clauses.append(f"{column} = ?")
            args.append(value)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(args)
