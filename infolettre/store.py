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
from collections.abc import Collection, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import InfoLettreError

__all__ = ["FINAL", "STATUSES", "Connection", "Departure", "NewSubscriber", "Store",
           "Subscriber", "add_event", "connect", "departure", "normalise_email", "now",
           "set_status", "stamp", "transaction"]

STATUSES = ("pending", "active", "unsubscribed", "bounced", "complained")
#: Statuses of an address that left the list. Only the person's own confirmation of a
#: new subscription makes it active again (``set_status(..., confirmed=True)``); an
#: import, an add, a pending row or a provider's report never does.
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


def stamp(seconds: float) -> str:
    """A POSIX time as the database writes times: UTC, ISO 8601, to the second.

    One fixed width, so that these strings compare in time order.
    """
    return dt.datetime.fromtimestamp(int(seconds), dt.UTC).isoformat()


def now() -> str:
    """The current time as :func:`stamp` writes it (formatted once per second)."""
    global _NOW
    second = int(time.time())
    if _NOW[0] != second:
        _NOW = (second, stamp(second))
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


@dataclass(frozen=True)
class NewSubscriber:
    """A row to insert (``Store.insert_many``); the address is normalised already."""

    email: str
    name: str = ""
    lang: str = "fr"
    centre: str = ""
    country: str = ""
    status: str = "active"
    consent_source: str = ""
    consent_at: str = ""


@dataclass(frozen=True)
class Departure:
    """Why an address is off the list: the event that took it off.

    ``event_id`` is 0 when the row was written with that status directly (no
    event names it); ``kind`` is then the status.
    """

    event_id: int
    at: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind} since {self.at[:10]}" + (f" ({self.detail})" if self.detail else "")


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

    def get_many(self, emails: Collection[str]) -> dict[str, Subscriber]:
        """The subscribers among these normalised addresses (at most 500), by address."""
        if not emails:
            return {}
        rows = self.conn.execute(
            f"SELECT {Subscriber.COLUMNS} FROM subscribers WHERE email IN "
            f"({','.join('?' * len(emails))})", tuple(emails)).fetchall()
        return {row[1]: Subscriber(*row) for row in rows}

    def departure(self, subscriber_id: int) -> Departure | None:
        """Why this subscriber left the list, or None when it has not (or came back)."""
        return departure(self.conn, subscriber_id)

    def count_events(self, subscriber_id: int, kinds: Collection[str], *, since: str = "",
                     after_event: int = 0) -> int:
        """How many events of these kinds a subscriber has, at or after ``since``
        (a :func:`stamp`) and after the event numbered ``after_event``."""
        return self.conn.execute(
            f"SELECT count(*) FROM events WHERE subscriber_id = ? AND kind IN "
            f"({','.join('?' * len(kinds))}) AND at >= ? AND id > ?",
            (subscriber_id, *kinds, since, after_event)).fetchone()[0]

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
        self.event(sid, "created", _created(status, consent_source))
        return sid

    def insert_many(self, rows: Iterable[NewSubscriber]) -> None:
        """Add new subscribers, each with its "created" event, in two statements."""
        stamp_ = now()
        rows = list(rows)
        self.conn.executemany(
            "INSERT INTO subscribers (email, name, lang, centre, country, status, "
            "consent_source, consent_at, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [(r.email, r.name, r.lang, r.centre, r.country, r.status, r.consent_source,
              r.consent_at or stamp_, stamp_, stamp_) for r in rows])
        self.conn.executemany(
            "INSERT INTO events (subscriber_id, at, kind, detail) "
            "SELECT id, ?, 'created', ? FROM subscribers WHERE email = ?",
            [(stamp_, _created(r.status, r.consent_source), r.email) for r in rows])

    def update(self, subscriber_id: int, **values: str) -> None:
        """Change some fields of a subscriber (never its address)."""
        allowed = {"name", "lang", "centre", "country"}
        if not values or not set(values) <= allowed:
            raise ValueError(values)
        assignments = ", ".join(f"{k} = ?" for k in values)
        self.conn.execute(f"UPDATE subscribers SET {assignments}, updated_at = ? WHERE id = ?",
                          (*values.values(), now(), subscriber_id))

    def set_status(self, subscriber_id: int, status: str, detail: str = "", *,
                   confirmed: bool = False) -> None:
        """Change a subscriber's status and record why (see :func:`set_status`)."""
        set_status(self.conn, subscriber_id, status, detail, confirmed=confirmed)

    def event(self, subscriber_id: int, kind: str, detail: str = "", *,
              at: str | None = None) -> None:
        """Append to a subscriber's history (``at``: a :func:`stamp`, default now)."""
        add_event(self.conn, subscriber_id, kind, detail, at=at)

    def suppressed_among(self, emails: Collection[str]) -> set[str]:
        """Those of these addresses (at most 500) that were erased."""
        if not emails:
            return set()
        hashes = {self.email_hash(e): e for e in emails}
        found = self.conn.execute(
            f"SELECT hash FROM suppressed WHERE hash IN ({','.join('?' * len(hashes))})",
            tuple(hashes)).fetchall()
        return {hashes[h] for (h,) in found}

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


def _created(status: str, consent_source: str) -> str:
    return f"{status}; consent: {consent_source}"


def add_event(conn: sqlite3.Connection, subscriber_id: int, kind: str, detail: str, *,
              at: str | None = None) -> None:
    """Append to a subscriber's history (the caller holds a transaction)."""
    conn.execute("INSERT INTO events (subscriber_id, at, kind, detail) VALUES (?, ?, ?, ?)",
                 (subscriber_id, at or now(), kind, detail))


_LEFT = ",".join(f"'{s}'" for s in FINAL)


def departure(conn: sqlite3.Connection, subscriber_id: int) -> Departure | None:
    """Why a subscriber is off the list, or None (see ``Store.departure``).

    Off the list: its status is one of ``FINAL``, or it is pending and left the
    list (an event of a ``FINAL`` kind) after it was last active — a row the
    subscription form set back to pending before version 3 of the schema.
    """
    row = conn.execute(
        f"SELECT s.status, s.updated_at, e.id, e.at, e.kind, e.detail, "
        f"(SELECT max(id) FROM events WHERE subscriber_id = s.id AND kind = 'active') "
        f"FROM subscribers s LEFT JOIN events e ON e.id = (SELECT max(id) FROM events "
        f"WHERE subscriber_id = s.id AND kind IN ({_LEFT})) WHERE s.id = ?",
        (subscriber_id,)).fetchone()
    if row is None:
        return None
    status, updated_at, left_id, at, kind, detail, active_id = row
    if status == "active" or (status == "pending"
                              and (left_id is None or (active_id or 0) > left_id)):
        return None
    if left_id is None:
        return Departure(0, updated_at, status, "")
    return Departure(left_id, at, kind, detail)


def set_status(conn: sqlite3.Connection, subscriber_id: int, status: str, detail: str,
               *, only_from: str | None = None, confirmed: bool = False) -> None:
    """Change a subscriber's status (when it is ``only_from``, if given) and record why
    (no event when nothing changed: a history that says "bounced" of a row that
    was not would keep it off the list for a reason that never was).

    An address that left the list (``departure``) becomes active again only with
    ``confirmed``: its owner confirmed a new subscription by the link mailed to
    it. Everyone else gets an ``InfoLettreError`` saying so.

    On a bare connection so that the sending journal can use it inside its own
    transaction; ``Store.set_status`` is the same thing for everyone else.
    """
    if status not in STATUSES:
        raise ValueError(status)
    if status == "active" and not confirmed:
        left = departure(conn, subscriber_id)
        if left is not None:
            raise InfoLettreError(
                f"subscriber {subscriber_id} is {left}: kept unsubscribed; only the "
                "person's own confirmation of a new subscription can make it active again")
    guard = " AND status = ?" if only_from else ""
    cursor = conn.execute(
        f"UPDATE subscribers SET status = ?, updated_at = ? WHERE id = ?{guard}",
        (status, now(), subscriber_id, *((only_from,) if only_from else ())))
    if cursor.rowcount:  # the history records only changes that happened
        add_event(conn, subscriber_id, status, detail)


def _filters(status: str | None, lang: str | None, centre: str | None
             ) -> tuple[str, tuple[str, ...]]:
    clauses, args = [], []
    for column, value in (("status", status), ("lang", lang), ("centre", centre)):
        if value:
            clauses.append(f"{column} = ?")
            args.append(value)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(args)
