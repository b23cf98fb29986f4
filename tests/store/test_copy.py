"""``infolettre db copy`` and ``db migrate``: a SQLite file moved to a real PostgreSQL
(and back), every row checked, links sent before the move still working."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from infolettre.audience.tokens import sign, verify
from infolettre.cli import cli
from infolettre.config import PostgresURL
from infolettre.delivery.send import send_campaign
from infolettre.delivery.transports import from_dsn
from infolettre.errors import InfoLettreError
from infolettre.store import Store, connect
from infolettre.store.copy import TABLES, copy_database, digest_table
from infolettre.store.schema import SCHEMA_VERSION

from ..postgres import PostgresServer
from ..sending import edition, populate, sending_config


def _used(path: Path) -> Store:
    """A SQLite database as a real one is: subscribers, events, a campaign sent, an
    erasure, a webhook event, an editor, an archive mark."""
    config = sending_config(path.parent)
    populate(config, 40)
    send_campaign(edition(config), config, from_dsn(config.transport))
    store = Store(config.db)
    with store.transaction():
        store.event(1, "clicked", "a link")
        store.remember_webhook_event("brevo", "evt-1")
        store.add_editor("redaction@example.org")
    store.forget("abonne00003@example.org")
    return store


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=env or {})
    return result.exit_code, result.output


def test_a_sqlite_database_moves_to_postgresql_checked_row_for_row(
        tmp_path: Path, postgres_server: PostgresServer) -> None:
    source = _used(tmp_path / "infolettre.db")
    subscriber = source.get("abonne00007@example.org")
    assert subscriber is not None
    token = sign(source.secret, "unsubscribe", subscriber.id, subscriber.email)
    source.close()
    target = postgres_server.database()
    status, output = _run("db", "copy", "--from", str(tmp_path / "infolettre.db"),
                          "--to", target)
    assert status == 0, output
    assert "checked row for row (39 subscribers)" in output
    with Store(tmp_path / "infolettre.db") as old, Store(PostgresURL(target)) as new:
        for table in TABLES:
            assert digest_table(old.conn, table) == digest_table(new.conn, table), table
        assert new.secret == old.secret  # links sent before the move keep working
        assert verify(new.secret, "unsubscribe", token,
                      lambda sid: "abonne00007@example.org") == str(subscriber.id)
        assert new.is_suppressed("abonne00003@example.org")
        assert new.find_campaign("2018-06") is not None
        with new.transaction():  # ids go on after the copied ones
            assert new.insert("nouveau@example.org") == 41


def test_the_copy_comes_back_to_a_file(tmp_path: Path,
                                       postgres_server: PostgresServer) -> None:
    _used(tmp_path / "infolettre.db").close()
    middle = PostgresURL(postgres_server.database())
    copy_database(tmp_path / "infolettre.db", middle)
    copied = copy_database(middle, tmp_path / "back" / "infolettre.db")
    assert copied.rows["subscribers"] == 39
    with Store(tmp_path / "infolettre.db") as a, Store(tmp_path / "back" / "infolettre.db") as b:
        assert [digest_table(a.conn, t) for t in TABLES] == [
            digest_table(b.conn, t) for t in TABLES]


def test_a_target_that_holds_rows_is_refused_and_left_alone(
        tmp_path: Path, postgres_server: PostgresServer) -> None:
    _used(tmp_path / "infolettre.db").close()
    target = postgres_server.migrated()
    with Store(target) as store, store.transaction():
        store.insert("deja@example.org")
    with pytest.raises(InfoLettreError, match=r"not empty \(1 in subscribers, 1 in events\)"):
        copy_database(tmp_path / "infolettre.db", target)
    with Store(target) as store:
        assert store.count() == 1


def test_a_copy_that_fails_midway_writes_nothing(tmp_path: Path,
                                                 postgres_server: PostgresServer,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _used(tmp_path / "infolettre.db").close()
    target = postgres_server.migrated()
    import infolettre.store.copy as copy

    real = copy._insert

    def failing(conn, table, columns, rows):  # type: ignore[no-untyped-def]
        if table == "deliveries":
            raise OSError("connection lost")
        real(conn, table, columns, rows)

    monkeypatch.setattr(copy, "_insert", failing)
    with pytest.raises(OSError):
        copy_database(tmp_path / "infolettre.db", target)
    with Store(target) as store:
        assert store.count() == 0


def test_the_copy_knows_every_table(tmp_path: Path) -> None:
    conn = connect(tmp_path / "new.db")
    tables = {row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert tables == set(TABLES)


def test_db_migrate_makes_the_tables_once(postgres_server: PostgresServer) -> None:
    url = postgres_server.database()
    status, output = _run("db", "migrate", env={"INFOLETTRE_DB": url})
    assert (status, output.strip()) == (0, f"{url}: schema 0 -> {SCHEMA_VERSION}")
    status, output = _run("db", "migrate", "--db", url)
    assert (status, output.strip()) == (0, f"{url}: up to date (schema {SCHEMA_VERSION})")


def test_an_unmigrated_postgresql_database_is_named_with_what_to_run(
        postgres_server: PostgresServer) -> None:
    url = postgres_server.database()
    status, output = _run("subscribers", "list", env={"INFOLETTRE_DB": url})
    assert status == 2
    assert output.strip() == (f"infolettre: {url}: the database has no InfoLettre tables "
                              "yet: run `infolettre db migrate` first")


def test_a_server_that_does_not_answer_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql://nobody@/infolettre?host={tmp_path}&connect_timeout=1"
    status, output = _run("db", "migrate", "--db", url)
    assert status == 2
    assert output.startswith(f"infolettre: {url}: cannot open the database: ")
    assert len(output.strip().splitlines()) == 1 and "Traceback" not in output


def test_a_password_is_never_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In the address's user part, in its query, or in libpq's own complaint about it
    (a bare % is quoted back decoded), and by ``config check``, whose job is to print
    the settings with their secrets masked."""
    for url, secret in (
            (f"postgresql://nobody:hunter2@/infolettre?host={tmp_path}&connect_timeout=1",
             "hunter2"),
            (f"postgresql://nobody@/infolettre?host={tmp_path}&password=hunter3"
             "&connect_timeout=1", "hunter3"),
            (f"postgresql://nobody:hunt%zz4@/infolettre?host={tmp_path}", "hunt%zz4")):
        status, output = _run("db", "migrate", "--db", url)
        assert status == 2 and secret not in output and "***" in output, output
        monkeypatch.setenv("INFOLETTRE_DB", url)
        status, output = _run("config", "check")
        assert secret not in output and "***" in output, output


def test_a_missing_source_file_is_refused_and_not_made(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    status, output = _run("db", "copy", "--from", str(missing), "--to",
                          str(tmp_path / "out.db"))
    assert status == 2 and f"{missing}: no such database file" in output, output
    assert not missing.exists() and not (tmp_path / "out.db").exists()
