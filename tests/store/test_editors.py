"""editors: the editorial team's addresses, one-time sign-in links, sessions, history."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from infolettre.config import Database
from infolettre.store import Store
from infolettre.store.schema import MIGRATIONS, SCHEMA, SCHEMA_VERSION


def test_editors_are_added_once_listed_and_removed(db: Database) -> None:
    with Store(db) as store, store.transaction():
        assert store.add_editor(" Anne@Reseau.org ") and not store.add_editor("anne@reseau.org")
        assert store.add_editor("bob@reseau.org")
        assert [e.email for e in store.editors()] == ["anne@reseau.org", "bob@reseau.org"]
        assert store.is_editor("ANNE@reseau.org") and not store.is_editor("eve@evil.example")
        assert store.remove_editor("Bob@reseau.org") and not store.remove_editor("bob@reseau.org")
        assert [e.email for e in store.editors()] == ["anne@reseau.org"]


def test_a_link_signs_in_once_and_only_for_a_listed_editor(db: Database) -> None:
    with Store(db) as store, store.transaction():
        store.add_editor("anne@reseau.org")
        link = store.new_editor_link("anne@reseau.org")
        assert store.editor_link_email(link) == "anne@reseau.org"
        assert store.use_editor_link(link)
        assert not store.use_editor_link(link) and store.editor_link_email(link) is None
        unused = store.new_editor_link("anne@reseau.org")
        store.remove_editor("anne@reseau.org")  # an editor removed: their links die
        assert store.editor_link_email(unused) is None and not store.use_editor_link(unused)
        assert store.editor_link_email(999) is None


def test_a_session_is_found_by_its_cookie_until_it_expires_or_closes(db: Database) -> None:
    with Store(db) as store, store.transaction():
        store.add_editor("anne@reseau.org")
        store.open_editor_session("cookie-1", "anne@reseau.org", "csrf-1", 3600)
        store.open_editor_session("cookie-2", "anne@reseau.org", "csrf-2", -1)  # expired
        found = store.editor_session("cookie-1")
        assert found is not None and (found.email, found.csrf) == ("anne@reseau.org", "csrf-1")
        assert store.editor_session("cookie-2") is None and store.editor_session("x") is None
        # The database holds a hash of the cookie, never the cookie.
        assert store.conn.execute("SELECT count(*) FROM editor_sessions WHERE key LIKE "
                                  "'cookie%'").fetchone()[0] == 0
        assert store.close_editor_session("cookie-1") and store.editor_session("cookie-1") is None
        store.open_editor_session("cookie-3", "anne@reseau.org", "csrf-3", 3600)
        store.remove_editor("anne@reseau.org")
        assert store.editor_session("cookie-3") is None


def test_what_editors_do_is_kept_newest_first(db: Database) -> None:
    with Store(db) as store, store.transaction():
        store.add_editorial_event("Anne@reseau.org", "approved", "2019-04/news/a.md")
        store.add_editorial_event("anne@reseau.org", "returned", "2019-04/news/b.md: why")
        events = store.editorial_events()
        assert [(e.editor, e.kind, e.detail) for e in events] == [
            ("anne@reseau.org", "returned", "2019-04/news/b.md: why"),
            ("anne@reseau.org", "approved", "2019-04/news/a.md")]
        assert [e.kind for e in store.editorial_events(limit=1)] == ["returned"]


def test_a_database_of_version_4_gets_the_tables(tmp_path: Path) -> None:
    """A SQLite file migrates itself when opened (PostgreSQL: ``db migrate``)."""
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    conn.execute("INSERT INTO meta VALUES ('secret', 's')")
    for version in sorted(v for v in MIGRATIONS if v <= 4):
        for statement in MIGRATIONS[version]:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 4")
    conn.commit()
    conn.close()
    with Store(path) as store, store.transaction():
        assert store.add_editor("anne@reseau.org") and store.editors()[0].email == \
            "anne@reseau.org"
    assert SCHEMA_VERSION >= 5
