"""store.connection: the one interface both engines offer, tried on each.

The store's SQL is written once; these are the places where SQLite and PostgreSQL
(through psycopg) would read the same text differently: placeholders beside a
literal ``%`` or ``?``, ``ON CONFLICT``, ``RETURNING``, the rows an ``executemany``
touched, a transaction that fails half-way (PostgreSQL refuses every later statement
of an aborted transaction), the temporary table of an import, erasure.
"""

from __future__ import annotations

import pytest

from infolettre.config import Database, PostgresURL
from infolettre.errors import InfoLettreError, database_errors
from infolettre.store import Store
from infolettre.store.schema import SCHEMA_VERSION

from ..postgres import PostgresServer


@pytest.fixture
def store(db: Database):
    with Store(db) as s:
        yield s


def test_a_literal_percent_and_question_mark_are_text(store: Store) -> None:
    conn = store.conn
    assert conn.execute("SELECT '50%'").fetchone()[0] == "50%"
    assert conn.execute("SELECT '50%', ?", ("x",)).fetchone() == ("50%", "x")
    assert conn.execute("SELECT 'why?', ?, 'it''s ?'", ("y",)).fetchone() == (
        "why?", "y", "it's ?")
    with store.transaction():
        store.insert("anne@example.org")
        store.insert("bob@example.net")
    assert conn.execute("SELECT count(*) FROM subscribers WHERE email LIKE '%@example.org'"
                        ).fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM subscribers WHERE email LIKE ?",
                        ("%@example.%",)).fetchone()[0] == 2


def test_on_conflict_returning_and_the_rows_executemany_touched(store: Store) -> None:
    conn = store.conn
    with store.transaction():
        cursor = conn.executemany("INSERT INTO meta VALUES (?, ?) ON CONFLICT DO NOTHING",
                                  [("a", "1"), ("b", "2"), ("a", "3")])
        assert cursor.rowcount == 2
        conn.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                     "value = excluded.value", ("a", "4"))
        assert conn.execute("SELECT value FROM meta WHERE key = ?", ("a",)).fetchone() == ("4",)
        sid = store.insert("anne@example.org")
        assert isinstance(sid, int) and store.by_id(sid).email == "anne@example.org"
        assert store.add_soft_bounce(sid) == 1 and store.add_soft_bounce(sid) == 2
        cursor = conn.executemany("UPDATE subscribers SET name = ? WHERE email = ?",
                                  [("A", "anne@example.org"), ("Z", "nobody@example.org")])
        assert cursor.rowcount == 1
    count = conn.execute("SELECT count(*) FROM subscribers").fetchone()[0]
    assert isinstance(count, int) and count == 1  # not a Decimal, nor a string


def test_a_failing_transaction_leaves_nothing_and_the_connection_usable(store: Store) -> None:
    with store.transaction():
        store.insert("anne@example.org")
    with pytest.raises(RuntimeError), store.transaction():
        store.insert("bob@example.org")
        raise RuntimeError("stop")
    with pytest.raises(database_errors(), match=r"(?i)unique"), store.transaction():
        store.insert("carla@example.org")
        store.insert("anne@example.org")  # fails: on PostgreSQL the transaction is aborted
    with store.transaction():  # rolled back, not left aborted
        store.insert("dora@example.org")
    assert [s.email for s in store.select()] == ["anne@example.org", "dora@example.org"]
    assert len(store.events("bob@example.org")) == len(store.events("carla@example.org")) == 0


def test_an_import_that_fails_leaves_no_seen_addresses_behind(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction(), store.import_seen():
        store.add_seen_in_import(["a@example.org", "b@example.org"])
        assert store.seen_in_import(["a@example.org", "c@example.org"]) == {"a@example.org"}
        raise RuntimeError("the file is unreadable")
    with pytest.raises(database_errors(), match=r"(?i)unique"), store.transaction(), \
            store.import_seen():
        store.add_seen_in_import(["a@example.org"])
        store.insert("a@example.org")
        store.insert("a@example.org")
    with store.transaction(), store.import_seen():  # a new import starts with none seen
        assert store.seen_in_import(["a@example.org", "b@example.org"]) == set()
        store.add_seen_in_import(["b@example.org"])
        store.add_seen_in_import(["b@example.org"])  # seen twice: kept once
        assert store.seen_in_import(["b@example.org"]) == {"b@example.org"}
    with pytest.raises(database_errors(), match=r"(?i)import_seen"):  # gone with the import
        store.conn.execute("SELECT count(*) FROM import_seen")


def test_forget_erases_the_rows_and_keeps_a_hash(store: Store) -> None:
    with store.transaction():
        sid = store.insert("gone@example.org", name="Gone")
        store.insert("stays@example.org")
        store.event(sid, "note", "gone@example.org asked")
        store.add_campaign("2018-06", "subject", {})
    assert store.conn.execute("SELECT count(*) FROM deliveries WHERE subscriber_id = ?",
                              (sid,)).fetchone()[0] == 1
    assert store.forget("Gone@Example.org") and not store.forget("never@example.org")
    assert store.get("gone@example.org") is None and store.is_suppressed("GONE@example.org")
    assert store.is_suppressed("never@example.org")  # suppressed all the same
    conn = store.conn
    assert conn.execute("SELECT count(*) FROM events WHERE subscriber_id = ?",
                        (sid,)).fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM deliveries WHERE subscriber_id = ?",
                        (sid,)).fetchone()[0] == 0
    assert [s.email for s in store.select()] == ["stays@example.org"]
    hashes = [h for (h,) in conn.execute("SELECT hash FROM suppressed")]
    assert store.email_hash("gone@example.org") in hashes
    assert not any("gone" in h for h in hashes)
    if store.conn.dialect == "postgresql":  # the dead rows were vacuumed away at once
        vacuums = conn.execute("SELECT relname, vacuum_count FROM pg_stat_user_tables "
                               "WHERE relname IN ('subscribers', 'events')").fetchall()
        assert sorted(vacuums) == [("events", 2), ("subscribers", 2)]


def test_an_unmigrated_postgresql_database_is_refused_with_the_command_to_run(
        postgres_server: PostgresServer) -> None:
    import psycopg

    empty = PostgresURL(postgres_server.database())
    with pytest.raises(InfoLettreError, match=r"has no InfoLettre tables yet: run "
                       r"`infolettre db migrate` first"):
        Store(empty)
    url = postgres_server.migrated()
    for version, said in ((SCHEMA_VERSION - 1, f"has the tables of schema "
                           f"{SCHEMA_VERSION - 1}, this InfoLettre needs {SCHEMA_VERSION}: "
                           "run `infolettre db migrate` first"),
                          (SCHEMA_VERSION + 1, rf"made by a newer InfoLettre \(schema "
                           rf"{SCHEMA_VERSION + 1}, this one knows {SCHEMA_VERSION}\)")):
        with psycopg.connect(url, autocommit=True) as raw:
            raw.execute("UPDATE meta SET value = %s WHERE key = 'schema_version'",
                        (str(version),))
        with pytest.raises(InfoLettreError, match=said) as caught:
            Store(url)
        assert str(caught.value).startswith(url.shown() + ": ")


def test_one_status_changed_by_two_connections_at_once_is_one_change(db: Database) -> None:
    """Two workers unsubscribing one person at the same moment (a one-click POST sent
    twice): the second waits for the first's commit, finds nothing to change, and the
    history says it once."""
    import threading
    import time

    from infolettre.store.history import set_status

    with Store(db) as first, Store(db) as second:
        with first.transaction():
            first.insert("twice@example.org", consent_source="test")
        found = first.get("twice@example.org")
        assert found is not None
        waiting = threading.Event()

        def other() -> None:
            waiting.set()
            with second.transaction():
                set_status(second.conn, found.id, "unsubscribed", "the second POST")

        thread = threading.Thread(target=other)
        with first.transaction():
            set_status(first.conn, found.id, "unsubscribed", "the first POST")
            thread.start()
            waiting.wait()
            time.sleep(0.2)  # the other's change is under way: it waits for this commit
        thread.join()
        kinds = [(kind, detail) for _, kind, detail in first.events("twice@example.org")]
    assert kinds.count(("unsubscribed", "the first POST")) == 1
    assert ("unsubscribed", "the second POST") not in kinds
