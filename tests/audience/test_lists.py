"""subscribers and store: import, export, add, remove, forget, history."""

from __future__ import annotations

import csv
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from infolettre.audience.lists import add, export_csv, import_csv, remove
from infolettre.cli import cli
from infolettre.config import Database
from infolettre.content.model import Centre
from infolettre.errors import InfoLettreError
from infolettre.store import Store

from ..conftest import CORPUS, ROOT


@pytest.fixture
def store(db: Database):
    """A store of each engine."""
    with Store(db) as s:
        yield s


@pytest.fixture
def sqlite_store(tmp_path: Path):
    """A SQLite store, for the tests of how a file is read (not of the store)."""
    with Store(tmp_path / "data" / "infolettre.db") as s:
        yield s


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_database_is_private(sqlite_store: Store) -> None:
    """SQLite's file: readable by its owner alone (a server keeps its own files)."""
    assert isinstance(sqlite_store.where, Path)
    assert stat.S_IMODE(sqlite_store.where.stat().st_mode) == 0o600


def test_sample_imports_cleanly(store: Store) -> None:
    sample = ROOT / "subscribers" / "sample.csv"
    report = import_csv(store, sample)
    rows = len(sample.read_text(encoding="utf-8").splitlines()) - 1  # the header
    assert report.added == rows and not report.rejected
    assert all(s.email.endswith("@example.org") for s in store.select())


def test_import_names_each_rejected_row(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "list.csv",
                 "email,name,lang,consent_date\n"
                 "Anne@Example.org,Anne,fr,2018-01-01\n"
                 "pas-une-adresse,Bob,fr,\n"
                 ",Sans adresse,fr,\n"
                 "carla@example.org,Carla,klingon,\n"
                 "dora@example.org,Dora,en,hier\n"
                 "anne@example.ORG,Anne Martin,fr,\n")
    report = import_csv(store, path)
    assert [str(p).split("list.csv")[1] for p in report.rejected] == [
        ":3: 'pas-une-adresse' is not a valid email address",
        ":4: no email address",
        ":5: 'klingon' is not a language code (e.g. fr, en)",
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


def test_a_file_not_utf8_is_read_as_cp1252_whole(store: Store, tmp_path: Path) -> None:
    """Read row by row, a file with one cp1252 byte on line 2002 is cp1252 from line 1."""
    path = tmp_path / "latin1.csv"
    lines = [f"p{n}@example.org,Person {n}\n".encode() for n in range(3000)]
    lines[2000] = "cafe@example.org,Caf\u00e9 \u2013 Tr\u00e9sor\n".encode("cp1252")
    lines[5] = "oe@example.org,C\u0153ur\n".encode("cp1252")
    path.write_bytes(b"email,name\n" + b"".join(lines))
    report = import_csv(store, path)
    assert report.encoding == "cp1252 (Windows)" and report.added == 3000
    assert store.get("cafe@example.org").name == "Caf\u00e9 \u2013 Tr\u00e9sor"
    assert store.get("oe@example.org").name == "C\u0153ur"


def test_import_reads_utf8_with_or_without_bom(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffemail,name\na@example.org,Beno\u00eet\n".encode())
    report = import_csv(store, path)
    assert report.added == 1 and report.encoding == "UTF-8" and not report.warnings
    assert store.get("a@example.org").name == "Beno\u00eet"
    plain = tmp_path / "plain.csv"
    plain.write_bytes("email,name\nb@example.org,Jo\u00e3o\n".encode())
    assert import_csv(store, plain).encoding == "UTF-8"
    assert store.get("b@example.org").name == "Jo\u00e3o"
    latin = tmp_path / "latin.csv"  # 0x81 is no cp1252 character: read as Latin-1
    latin.write_bytes(b"email,name\nc@example.org,Beno\xeet\x81\n")
    assert import_csv(store, latin).encoding == "Latin-1"


def test_unknown_columns_are_ignored_with_one_warning(store: Store, tmp_path: Path) -> None:
    report = import_csv(store, write(tmp_path / "x.csv", "email,langage,Téléphone,lang\n"
                                     "a@example.org,xx,0491,en\n"))
    assert report.added == 1 and store.get("a@example.org").lang == "en"
    assert [str(w).split("x.csv")[1] for w in report.warnings] == [
        ":1: ignored columns 'langage' (did you mean 'lang'?), 'Téléphone'; known columns: "
        "centre, consent_date, consent_source, country, email, lang, name"]
    report = import_csv(store, write(tmp_path / "y.csv",
                                     "E-mail;Nom;Langue\nb@example.org;Anne;fr\n"))
    assert report.added == 1 and store.get("b@example.org").name == "Anne"
    with pytest.raises(InfoLettreError, match=r"y2.csv:1: no 'email' column \(columns: "
                       r"adresse, Nom\)"):
        import_csv(store, write(tmp_path / "y2.csv", "adresse;Nom\nc@example.org;C\n"))


@pytest.mark.parametrize(("header", "row", "expected"), [
    ("Courriel;Nombre;Idioma;CDM", "a@example.org;Ana;Español;genova",
     ("Ana", "es", "genova")),
    ("correo electrónico,nome,língua,center", "a@example.org,Rui,Português,lisboa",
     ("Rui", "pt", "lisboa")),
    ("ADRESSE E-MAIL\tPrenom\tNOM\tLanguage\tCentre", "a@example.org\tAnne\tMartin\tEnglish\t",
     ("Anne Martin", "en", "")),
    ("Mail,First Name,Last Name,lingua", "a@example.org,Chiara,Rossi,Italiano",
     ("Chiara Rossi", "it", "")),
    ("email,last name,langue", "a@example.org,Rossi,Inglés", ("Rossi", "en", "")),
    ("e-mail;prénom;langue", "a@example.org;Leïla;fr-TN", ("Leïla", "fr", "")),
    ("email;name;lang;cité des métiers", "a@example.org;Jo;pt_BR;Lyon", ("Jo", "pt", "Lyon")),
])
def test_header_and_language_aliases(sqlite_store: Store, tmp_path: Path, header: str,
                                     row: str, expected: tuple[str, str, str]) -> None:
    store = sqlite_store
    report = import_csv(store, write(tmp_path / "l.csv", f"{header}\n{row}\n"))
    assert report.added == 1 and not report.warnings, report
    s = store.get("a@example.org")
    assert (s.name, s.lang, s.centre) == expected


@pytest.mark.parametrize(("name", "code"), [
    ("Anglais", "en"), ("Français", "fr"), ("FRANCAIS", "fr"), ("English", "en"),
    ("French", "fr"), ("Español", "es"), ("Espagnol", "es"), ("Inglés", "en"),
    ("Português", "pt"), ("Portugais", "pt"), ("Italiano", "it"), ("Italien", "it"),
    ("fr-TN", "fr"), ("pt_BR", "pt"), ("EN", "en"), ("klingon", "klingon")])
def test_language_names_and_regional_codes(name: str, code: str) -> None:
    from infolettre.audience.columns import language_code

    assert language_code(name) == code


def test_delimiter_is_the_header_lines(store: Store, tmp_path: Path) -> None:
    """Counted on the whole header: a comma in a header cell does not make it ','."""
    path = write(tmp_path / "d.csv", "Email;Nom, prénom;Langue\n" + "".join(
        f"p{n}@example.org;Martin, Anne {n};Anglais\n" for n in range(300)))
    report = import_csv(store, path)
    assert report.added == 300 and not report.warnings
    assert (store.get("p7@example.org").name, store.get("p7@example.org").lang) == (
        "Martin, Anne 7", "en")
    path = write(tmp_path / "t.csv", "email\tname\na@example.org\tRossi; Chiara, dite\n")
    assert import_csv(store, path).added == 1
    assert store.get("a@example.org").name == "Rossi; Chiara, dite"


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_blank_and_separator_only_lines_are_skipped(sqlite_store: Store, tmp_path: Path,
                                                    end: str) -> None:
    store = sqlite_store
    lines = ["", ";;", "email;name;lang", "a@example.org;A;fr", "", ";;", "  ;  ; ",
             "nope;B;fr", ";;;;", ""]
    path = tmp_path / "b.csv"
    path.write_bytes(end.join(lines).encode())
    report = import_csv(store, path)
    assert report.added == 1
    assert [str(p).split("b.csv")[1] for p in report.rejected] == [
        ":8: 'nope' is not a valid email address"]


def test_french_excel_export(store: Store) -> None:
    """The list as French Excel saves it: cp1252, ';', CRLF, French headers and languages."""
    path = CORPUS / "lists" / "excel-fr.csv"
    raw = path.read_bytes()
    assert b"\r\n" in raw and "Prénom".encode("cp1252") in raw  # a real cp1252 file
    report = import_csv(store, path)
    assert report.encoding == "cp1252 (Windows)" and report.added == 6
    assert [str(w).split("excel-fr.csv")[1] for w in report.warnings] == [
        ":1: ignored column 'Téléphone'; known columns: centre, consent_date, "
        "consent_source, country, email, lang, name"]
    assert [str(p).split("excel-fr.csv")[1] for p in report.rejected] == [
        ":11: 'pas-une-adresse' is not a valid email address"]
    got = {s.email: (s.name, s.lang, s.centre) for s in store.select()}
    assert got == {
        "anne.martin@example.org": ("Anne Martin", "fr", "marseille"),
        "jose.nunez@example.org": ("José Núñez", "es", ""),
        "elodie.smith@example.org": ("Élodie Smith", "en", ""),
        "joao.silva@example.org": ("João Silva", "pt", ""),
        "leila.bensalah@example.org": ("Leïla Ben Salah", "fr", ""),
        "chiara.rossi@example.org": ("Chiara Rossi", "it", ""),
    }


def test_cli_says_the_encoding_and_the_ignored_columns(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no directory of centres: centres are not checked
    monkeypatch.setenv("INFOLETTRE_DB", str(tmp_path / "cli.db"))
    result = CliRunner().invoke(cli, ["subscribers", "import",
                                      str(CORPUS / "lists" / "excel-fr.csv")])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0].endswith("excel-fr.csv: not UTF-8, read as cp1252 (Windows)")
    assert lines[1].startswith("warning: ") and "ignored column 'Téléphone'" in lines[1]
    assert "6 added" in result.output and "1 rejected" in result.output
    ok = write(tmp_path / "ok.csv", "email\na@example.org\n")
    result = CliRunner().invoke(cli, ["subscribers", "import", str(ok)])
    assert "UTF-8" not in result.output and "warning" not in result.output


def test_cli_import_summary_counts_one_subscriber_in_the_singular(tmp_path: Path,
                                                                  monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INFOLETTRE_DB", str(tmp_path / "cli.db"))
    one = write(tmp_path / "one.csv", "email\na@example.org\n")
    result = CliRunner().invoke(cli, ["subscribers", "import", str(one)])
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("; 1 subscriber in all"), result.output
    two = write(tmp_path / "two.csv", "email\nb@example.org\n")
    result = CliRunner().invoke(cli, ["subscribers", "import", str(two)])
    assert result.output.rstrip().endswith("; 2 subscribers in all"), result.output


def test_cli_import_summary_counts_duplicates_in_the_singular_or_plural(
        tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INFOLETTRE_DB", str(tmp_path / "cli.db"))
    one = write(tmp_path / "one.csv", "email\na@example.org\nA@example.org\n")
    result = CliRunner().invoke(cli, ["subscribers", "import", str(one)])
    assert result.exit_code == 0, result.output
    assert ", 1 duplicate merged, " in result.output, result.output
    two = write(tmp_path / "two.csv", "email\nb@example.org\nb@example.org\nB@example.org\n")
    result = CliRunner().invoke(cli, ["subscribers", "import", str(two)])
    assert ", 2 duplicates merged, " in result.output, result.output


def test_cli_lines_left_unlisted_are_counted_in_the_singular(tmp_path: Path,
                                                             monkeypatch) -> None:
    from infolettre.audience.lists import LISTED

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INFOLETTRE_DB", str(tmp_path / "cli.db"))
    bad = write(tmp_path / "bad.csv", "email\n" + "not-an-address\n" * (LISTED + 1))
    result = CliRunner().invoke(cli, ["subscribers", "import", str(bad)])
    assert "… and 1 more line rejected\n" in result.output, result.output[-300:]


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
    if isinstance(store.where, Path):  # SQLite's file and its log hold no copy either
        dump = b"".join(p.read_bytes() for p in store.where.parent.glob(f"{store.where.name}*"))
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


def test_cli_subscribers(tmp_path: Path, db: Database, monkeypatch) -> None:
    monkeypatch.setenv("INFOLETTRE_DB", str(db))
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


CENTRES = {
    "marseille": Centre("marseille", "Cité des métiers de Marseille et de Provence-Alpes-Côte "
                        "d'Azur", "Marseille", "FR"),
    "seine-et-marne": Centre("seine-et-marne", "Cité des métiers de Seine-et-Marne", "Meaux",
                             "FR"),
    "la-reunion": Centre("la-reunion", "Cité des métiers de La Réunion", "Saint-Denis", "FR"),
}


def test_a_centre_is_stored_as_its_slug(store: Store, tmp_path: Path) -> None:
    """By slug, name or city, case and accents ignored; unknown: the closest slugs."""
    path = write(tmp_path / "c.csv", "email,centre\n"
                 "a@example.org,MARSEILLE\n"
                 "b@example.org,Cité des Métiers de Seine-et-Marne\n"
                 "c@example.org,meaux\n"
                 "d@example.org,la reunion\n"
                 "e@example.org,marseile\n"
                 "f@example.org,Tombouctou\n"
                 "g@example.org,\n")
    report = import_csv(store, path, centres=CENTRES)
    assert [str(p).split("c.csv")[1] for p in report.rejected] == [
        ":6: unknown centre 'marseile': did you mean 'marseille'?",
        ":7: unknown centre 'Tombouctou': write the slug, name or city of a centre of "
        "cdms.yaml"]
    assert {s.email[0]: s.centre for s in store.select()} == {
        "a": "marseille", "b": "seine-et-marne", "c": "seine-et-marne", "d": "la-reunion",
        "g": ""}


def test_add_stores_the_centre_as_its_slug(store: Store) -> None:
    assert add(store, "a@example.org", centre="Saint-Denis", centres=CENTRES).centre == \
        "la-reunion"
    with pytest.raises(InfoLettreError, match=r"unknown centre 'seine-et-marnes': did you "
                       r"mean 'seine-et-marne'\?"):
        add(store, "b@example.org", centre="seine-et-marnes", centres=CENTRES)
    assert store.get("b@example.org") is None


def test_cli_checks_centres_against_the_directory(tmp_path: Path, monkeypatch) -> None:
    """The directory of the configuration's issues folder (cdms.yaml) is the reference."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INFOLETTRE_DB", str(tmp_path / "cli.db"))
    (tmp_path / "issues").mkdir()
    write(tmp_path / "issues" / "cdms.yaml", "marseille:\n  name: Cité des métiers de "
          "Marseille\n  city: Marseille\n")
    runner = CliRunner()
    result = runner.invoke(cli, ["subscribers", "add", "a@example.org", "--centre",
                                 "cité des métiers de marseille"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["subscribers", "add", "b@example.org", "--centre", "marseile"])
    assert result.exit_code != 0 and "did you mean 'marseille'?" in result.output
    lines = write(tmp_path / "l.csv", "email;cdm\nc@example.org;Marseille\nd@example.org;Mars\n")
    result = runner.invoke(cli, ["subscribers", "import", str(lines)])
    assert result.exit_code == 1 and "l.csv:3: unknown centre 'Mars'" in result.output
    result = runner.invoke(cli, ["subscribers", "list", "--centre", "marseille"])
    assert "a@example.org" in result.output and "c@example.org" in result.output
