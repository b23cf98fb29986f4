"""invitations: a contact invited once per issue and centre, their link's row kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from infolettre.config import Database
from infolettre.store import Store
from infolettre.store.schema import MIGRATIONS, SCHEMA, SCHEMA_VERSION


def test_an_invitation_is_made_once_and_keeps_its_id(db: Database) -> None:
    with Store(db) as store, store.transaction():
        first = store.invite("2019-04", "charleroi", "Anne@CDM.be", "Anne", "fr", "2019-03-20")
        again = store.invite("2019-04", "charleroi", "anne@cdm.be", "Anne", "fr", "2019-03-25")
        other = store.invite("2019-04", "cascais", "ana@cdm.pt", "Ana", "pt", "2019-03-20")
        assert again.id == first.id and first.email == "anne@cdm.be" and first.sent_at is None
        assert again.deadline == "2019-03-25"  # a call run again moved the deadline
        store.mark_invited(first.id)
        store.mark_reminded(other.id)
        assert store.invitation(first.id).sent_at is not None  # type: ignore[union-attr]
        assert [i.centre for i in store.invitations("2019-04")] == ["cascais", "charleroi"]
        assert store.invitations("2019-05") == [] and store.invitation(999) is None


def test_a_database_of_the_previous_version_gets_the_table(tmp_path: Path) -> None:
    """A SQLite file migrates itself when opened (PostgreSQL: ``db migrate``)."""
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    for version in sorted(v for v in MIGRATIONS if v < SCHEMA_VERSION):
        for statement in MIGRATIONS[version]:
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    conn.commit()
    conn.close()
    with Store(path) as store, store.transaction():
        assert store.invite("x", "y", "a@b.org", "A", "", "2019-01-01").id == 1
