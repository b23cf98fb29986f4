"""subscribers and store: import, export, add, remove, forget, history."""

from __future__ import annotations

import csv
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from infolettre.audience.lists import add, export_csv, import_csv, remove
from infolettre.cli import cli
from infolettre.errors import InfoLettreError
from infolettre.store import Store

from ..conftest import ROOT


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "data" / "infolettre.db") as s:
        yield s


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_database_is_private(store: Store) -> None:
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_sample_imports_cleanly(store: Store) -> None:
    report = import_csv(store, ROOT / "subscribers" / "sample.csv")
    assert report.added == 10 and not report.rejected
    assert all(s.email.endswith("@example.org") for s in store.select())


def test_import_names_each_rejected_row(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "list.csv",
                 "email,name,lang,consent_date\n"
                 "Anne@Example.org,Anne,fr,2018-01-01\n"
                 "pas-une-adresse,Bob,fr,\n"
                 ",Sans adresse,fr,\n"
                 "carla@example.org,Carla,français,\n"
                 "dora@example.org,Dora,en,hier\n"
                 "anne@example.ORG,Anne Martin,fr,\n")
    report = import_csv(store, path)
    assert [str(p).split("list.csv")[1] for p in report.rejected] == [
        ":3: 'pas-une-adresse' is not a valid email address",
        ":4: no email address",
        ":5: 'français' is not a language code (e.g. fr, en)",
        ":6: 'hier' in consent_date is not a date (YYYY-MM-DD)",
    ]
    assert report.added == 1 and report.duplicates == 1
    assert store.count() == 1 and store.get("ANNE@example.org").name == "Anne Martin"


def test_import_never_reactivates(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "email\nu@example.org\nb@example.org\nc@example.org\n")
    import_csv(store, path)
    with store.transaction():
        store.set_status(store.get("u@example.org").id, "unsubscribed", "link")
        store.set_status(store.get("b@example.org").id, "bounced", "550")
        store.set_status(store.get("c@example.org").id, "complained", "fbl")
    report = import_csv(store, path)
    assert report.kept_total == 3 and report.added == 0
    assert [p.line for p in report.kept] == [2, 3, 4]
    assert {s.status for s in store.select()} == {"unsubscribed", "bounced", "complained"}
    assert [kind for _, kind, _ in store.events("u@example.org")] == ["created", "unsubscribed"]


def test_import_names_the_line_that_is_not_utf8(store: Store, tmp_path: Path) -> None:
    """Read row by row, the file still names the exact line of a bad byte."""
    path = tmp_path / "latin1.csv"
    lines = [f"p{n}@example.org,Person {n}\n".encode() for n in range(3000)]
    lines[2000] = "caf\u00e9@example.org,Caf\u00e9\n".encode("latin-1")
    path.write_bytes(b"email,name\n" + b"".join(lines))
    with pytest.raises(InfoLettreError, match=r"latin1.csv:2002: not valid UTF-8"):
        import_csv(store, path)
    assert store.count() == 0  # all or nothing


def test_import_decodes_as_contributor_files_do(store: Store, tmp_path: Path) -> None:
    """One UTF-8 decoding for sources and lists: a BOM on line 1, the bad byte named."""
    from infolettre.content.source import read_text
    from infolettre.errors import ProblemsFound

    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfemail,name\na@example.org,Anne\n")
    assert import_csv(store, path).added == 1
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"email,name\nb@example.org,Beno\xeet\n")
    with pytest.raises(InfoLettreError) as csv_error:
        import_csv(store, bad)
    with pytest.raises(ProblemsFound) as text_error:
        read_text(bad)
    assert type(csv_error.value) is InfoLettreError  # an error of the command: exit 2
    for error in (csv_error, text_error):
        assert "bad.csv:2: not valid UTF-8 (byte 0xee); " in str(error.value)
    assert str(csv_error.value).endswith("export the file as 'CSV UTF-8'")


def test_unknown_column_and_semicolons(store: Store, tmp_path: Path) -> None:
    with pytest.raises(InfoLettreError, match=r"unknown column 'langue_' .*did you mean"):
        import_csv(store, write(tmp_path / "x.csv", "email,langue_\na@example.org,fr\n"))
    report = import_csv(store, write(tmp_path / "y.csv",
                                     "E-mail;Nom;Langue\na@example.org;Anne;fr\n"))
    assert report.added == 1 and store.get("a@example.org").name == "Anne"


def test_export_neutralises_formulas(store: Store, tmp_path: Path) -> None:
    add(store, "a@example.org", name="=HYPERLINK(\"http://evil\")")
    add(store, "b@example.org", name="+33 1 23")
    out = tmp_path / "export.csv"
    assert export_csv(store.select(), out) == 2
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows[0]["name"].startswith("'=") and rows[1]["name"] == "'+33 1 23"
    assert rows[0]["status"] == "active" and "email" in rows[0]


def test_forget_erases_and_blocks_reimport(store: Store, tmp_path: Path) -> None:
    add(store, "gone@example.org", name="Gone")
    assert store.forget("Gone@example.org")
    assert store.get("gone@example.org") is None
    assert store.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    report = import_csv(store, write(tmp_path / "z.csv", "email\ngone@example.org\n"))
    assert "erased at its owner's request" in report.rejected[0].message
    with pytest.raises(InfoLettreError, match="erased"):
        add(store, "gone@example.org")
    dump = b"".join(p.read_bytes() for p in store.path.parent.iterdir())
    assert b"gone@example.org" not in dump.lower()


def test_remove_and_add_errors(store: Store) -> None:
    add(store, "a@example.org")
    with pytest.raises(InfoLettreError, match="already on the list"):
        add(store, "A@example.org")
    with pytest.raises(InfoLettreError, match="not a valid"):
        add(store, "nope")
    remove(store, "a@example.org")
    assert store.get("a@example.org").status == "unsubscribed"
    with pytest.raises(InfoLettreError, match="not on the list"):
        remove(store, "z@example.org")


def test_cli_subscribers(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("INFOLETTRE_DB", str(tmp_path / "cli.db"))
    runner = CliRunner()
    bad = write(tmp_path / "bad.csv", "email\nok@example.org\nnot-an-address\n")
    result = runner.invoke(cli, ["subscribers", "import", str(bad)])
    assert result.exit_code == 1 and "bad.csv:3: 'not-an-address'" in result.output
    result = runner.invoke(cli, ["subscribers", "add", "new@example.org", "--lang", "en"])
    assert result.exit_code == 0
    result = runner.invoke(cli, ["subscribers", "list", "--lang", "en"])
    assert "new@example.org\t\ten\t\tactive" in result.output
    assert runner.invoke(cli, ["subscribers", "remove", "new@example.org"]).exit_code == 0
    result = runner.invoke(cli, ["subscribers", "list", "--status", "unsubscribed"])
    assert "new@example.org" in result.output
    assert runner.invoke(cli, ["subscribers", "forget", "ok@example.org"]).exit_code == 0
    result = runner.invoke(cli, ["subscribers", "export", str(tmp_path / "e.csv")])
    assert "wrote 1 subscribers" in result.output
