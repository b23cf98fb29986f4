"""store.journal: the edition each delivery row is sent in, and the migration that adds it.

A row's edition (the language of the edition its subscriber gets) is given once,
before the row is first claimed, and never changed: what a second database would
have to keep so that a resumed campaign never sends a row in another edition.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from infolettre.config import Database
from infolettre.store import NewSubscriber, Store
from infolettre.store.schema import MIGRATIONS, SCHEMA, SCHEMA_VERSION


def _store(db: Database) -> tuple[Store, int]:
    store = Store(db)
    with store.transaction():
        store.insert_many(NewSubscriber(f"p{i}@example.org", lang=("fr", "en", "es")[i % 3])
                          for i in range(9))
        campaign, _ = store.add_campaign("2018-06", "subject", {})
    return store, campaign.id


def test_rows_get_the_edition_of_their_subscribers_language_once(db: Database) -> None:
    store, cid = _store(db)
    assert store.unassigned_langs(cid) == ["en", "es", "fr"]
    with store.transaction():
        assert store.assign_editions(cid, {"fr": "fr", "en": "en"}) == 6
    assert store.unassigned_langs(cid) == ["es"]
    with store.transaction():  # an edition given is never changed
        assert store.assign_editions(cid, {"fr": "en", "es": "fr"}) == 3
    assert store.edition_counts(cid) == {"en": {"pending": 3}, "fr": {"pending": 6}}
    rows = {row[1]: row[5] for row in store.claim_due(cid, 9)}
    assert rows["p0@example.org"] == "fr" and rows["p1@example.org"] == "en"
    assert rows["p2@example.org"] == "fr"
    assert store.open_editions(cid) == {"fr", "en"}


def test_open_editions_leave_out_the_rows_that_are_done(db: Database) -> None:
    store, cid = _store(db)
    with store.transaction():
        store.assign_editions(cid, {"fr": "fr", "en": "en", "es": "es"})
        claimed = store.claim_due(cid, 9)
        store.record_outcomes(cid, [(row[0], "sent" if row[5] == "es" else "failed", 0.0,
                                     "", "") for row in claimed if row[5] != "fr"])
    assert store.open_editions(cid) == {"fr"}  # in flight: may still be sent
    counts = store.edition_counts(cid)
    assert counts == {"en": {"failed": 3}, "es": {"sent": 3}, "fr": {"in_flight": 3}}


def test_a_database_of_schema_2_gets_the_edition_column(tmp_path: Path) -> None:
    """A SQLite file of schema 2 migrates itself when opened."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for statement in [*SCHEMA.split(";"), *MIGRATIONS[2]]:
        if statement.strip():
            conn.execute(statement)
    conn.execute("INSERT INTO meta VALUES ('secret', 'old')")
    conn.execute("INSERT INTO subscribers (email, lang, status, created_at, updated_at) "
                 "VALUES ('a@example.org', 'en', 'active', 'x', 'x')")
    conn.execute("INSERT INTO campaigns (issue, subject, audience, created_at) "
                 "VALUES ('2018-05', 's', '{}', 'x')")
    conn.execute("INSERT INTO deliveries (campaign_id, subscriber_id, state, updated_at) "
                 "VALUES (1, 1, 'pending', 'x')")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    assert SCHEMA_VERSION >= 3
    with Store(path) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert store.unassigned_langs(1) == ["en"]
        assert store.claim_due(1, 1)[0][5] == ""
