"""The database's tables, and the migrations that bring an older file up to date.

The schema's version (SQLite's ``user_version``, a row of ``meta`` on PostgreSQL:
``Connection.schema_version``) is 0 for an empty database, then the highest key of
``MIGRATIONS``. A new table or column is a new entry there, never an edit of
``SCHEMA`` (databases made by older versions must still open). The statements are
written in SQLite's types; ``Connection.ddl`` gives them in the engine's.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .interface import Connection

__all__ = ["MIGRATIONS", "SCHEMA", "SCHEMA_VERSION", "migrate"]

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
    #: The edition (its language) each row is sent in, fixed before the row is claimed,
    #: so that a resumed campaign sends a row in the edition chosen for it. '' on rows
    #: of a campaign started before: they are given one before they are claimed.
    3: ["ALTER TABLE deliveries ADD COLUMN edition TEXT NOT NULL DEFAULT ''"],
    # The invitations to contribute (``infolettre call``): see store.invitations.
    4: ["CREATE TABLE invitations (id INTEGER PRIMARY KEY, issue TEXT NOT NULL, "
        "centre TEXT NOT NULL, email TEXT NOT NULL, name TEXT NOT NULL, lang TEXT NOT NULL, "
        "deadline TEXT NOT NULL, created_at TEXT NOT NULL, sent_at TEXT, reminded_at TEXT, "
        "UNIQUE (issue, centre, email))"],
    # The editorial team, its sign-in links, sessions and history: see store.editors.
    5: ["CREATE TABLE editors (email TEXT PRIMARY KEY, added_at TEXT NOT NULL) WITHOUT ROWID",
        "CREATE TABLE editor_links (id INTEGER PRIMARY KEY, email TEXT NOT NULL, "
        "created_at TEXT NOT NULL, used_at TEXT)",
        "CREATE TABLE editor_sessions (key TEXT PRIMARY KEY, email TEXT NOT NULL, "
        "csrf TEXT NOT NULL, created_at TEXT NOT NULL, expires REAL NOT NULL) WITHOUT ROWID",
        "CREATE TABLE editorial_events (id INTEGER PRIMARY KEY, at TEXT NOT NULL, "
        "editor TEXT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '')"],
    # Several senders sharing one campaign (PostgreSQL): the sender that claimed or
    # sent each row; each sender process, its host and pid, and when it was last seen
    # alive (its rows in flight are its own while that lease holds); the shared pace
    # of a rate limit for all the senders of a campaign (the time of its next slot).
    6: ["ALTER TABLE deliveries ADD COLUMN worker TEXT NOT NULL DEFAULT ''",
        "CREATE TABLE senders (id TEXT PRIMARY KEY, campaign_id INTEGER NOT NULL "
        "REFERENCES campaigns (id), host TEXT NOT NULL, pid INTEGER NOT NULL, "
        "started_at TEXT NOT NULL, seen_at REAL NOT NULL, finished_at TEXT) WITHOUT ROWID",
        "CREATE TABLE rate_slots (name TEXT PRIMARY KEY, next_at REAL NOT NULL) WITHOUT ROWID"],
    # Several service workers: the requests each client made in the current window of
    # each rate limit, counted in the database rather than in one process's memory.
    7: ["CREATE TABLE request_counts (bucket TEXT NOT NULL, client TEXT NOT NULL, "
        "window_start REAL NOT NULL, hits INTEGER NOT NULL, PRIMARY KEY (bucket, client)) "
        "WITHOUT ROWID"],
    # The pending rows of a campaign in subscriber order, for PostgreSQL's claims
    # (store.journal): a claim starts at its sender's cursor in this small index
    # whatever the table's statistics say, never walking the rows already sent.
    8: ["CREATE INDEX deliveries_pending ON deliveries (campaign_id, subscriber_id) "
        "WHERE state = 'pending'"],
}
SCHEMA_VERSION = max(MIGRATIONS)


def migrate(conn: Connection) -> None:
    """Create the schema, or bring an older one up to date (inside a transaction)."""
    version = conn.schema_version()  # again, under the lock
    if version == 0:
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(conn.ddl(statement))
        conn.execute("INSERT INTO meta VALUES ('secret', ?)", (secrets.token_urlsafe(32),))
        version = 1
    for target in sorted(v for v in MIGRATIONS if v > version):
        for statement in MIGRATIONS[target]:
            conn.execute(conn.ddl(statement))
    conn.set_schema_version(SCHEMA_VERSION)
