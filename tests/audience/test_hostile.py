"""Hostile audience: undone unsubscribes, the form as a mail bomb, CSV injection, huge imports.

Each test plays the attack of issue 10 against the subscriber list (items 3, 4 and
the export and import parts of 9) and checks the door stays shut.
"""

from __future__ import annotations

import csv
import itertools
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from infolettre.audience import consent as sub
from infolettre.audience.lists import add, export_csv, import_csv
from infolettre.cli import cli
from infolettre.errors import InfoLettreError
from infolettre.store import Store

pytestmark = pytest.mark.hostile

VICTIM = "victime@example.org"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "data" / "infolettre.db") as s:
        yield s


def _csv(path: Path, *emails: str) -> Path:
    path.write_text("email,name\n" + "".join(f"{e},Someone\n" for e in emails), encoding="utf-8")
    return path


def _active(store: Store, email: str = VICTIM) -> None:
    add(store, email, source="test")


def _kinds(store: Store, email: str = VICTIM) -> list[str]:
    return [kind for _, kind, _ in store.events(email)]


# -- item 3: an unsubscribe undone by an anonymous visitor -------------------------------

def test_form_then_import_does_not_undo_an_unsubscribe(store: Store, tmp_path: Path) -> None:
    """One-click unsubscribe, an anonymous POST to /subscribe, then the next import."""
    _active(store)
    victim = store.get(VICTIM)
    assert sub.unsubscribe(store, victim, "one-click (RFC 8058)")
    # The attacker submits the form: the person gets a confirmation, nothing else.
    asked = sub.request_subscription(store, VICTIM, source="subscription form")
    assert asked is not None and asked.email == VICTIM
    assert store.get(VICTIM).status == "unsubscribed"
    assert _kinds(store)[-1] == "re-subscription requested"
    # The editorial team imports its old list, which still has the address.
    report = import_csv(store, _csv(tmp_path / "old.csv", "a@example.org", VICTIM))
    assert store.get(VICTIM).status == "unsubscribed"
    assert report.added == 1 and report.kept_total == 1
    assert report.updated == report.unchanged == 0
    [kept] = report.kept
    assert kept.line == 3 and "kept unsubscribed" in kept.message
    assert "one-click" in kept.message  # why: the event that unsubscribed it
    with pytest.raises(InfoLettreError, match="kept unsubscribed"):
        add(store, VICTIM)
    assert store.get(VICTIM).status == "unsubscribed"


def test_only_a_new_confirmation_brings_the_person_back(store: Store) -> None:
    _active(store)
    victim = store.get(VICTIM)
    old_link = sub.token_for(store, sub.CONFIRM, victim)  # from the first subscription
    sub.unsubscribe(store, victim, "one-click (RFC 8058)")
    # Neither an old confirmation link nor a confirm() without a new request reactivates.
    assert sub.by_token(store, sub.CONFIRM, old_link) is None
    assert not sub.confirm(store, store.get(VICTIM), "double opt-in from 192.0.2.1")
    assert store.get(VICTIM).status == "unsubscribed"
    # A new request, and the click on the link mailed for it, do.
    asked = sub.request_subscription(store, VICTIM, source="subscription form")
    assert asked is not None
    link = sub.token_for(store, sub.CONFIRM, asked)
    assert sub.by_token(store, sub.CONFIRM, old_link) is None
    clicked = sub.by_token(store, sub.CONFIRM, link)
    assert clicked is not None and sub.confirm(store, clicked, "double opt-in from 192.0.2.1")
    back = store.get(VICTIM)
    assert back.status == "active" and back.consent_source == "double opt-in from 192.0.2.1"
    assert _kinds(store)[-3:] == ["unsubscribed", "re-subscription requested", "active"]


def test_bounced_comes_back_by_confirmation_complained_never(store: Store,
                                                             tmp_path: Path) -> None:
    _active(store, "b@example.org")
    _active(store, "c@example.org")
    assert sub.apply_report(store, "b@example.org", "hard", "550 5.1.1") == "bounced"
    assert sub.apply_report(store, "c@example.org", "complaint", "fbl") == "complained"
    report = import_csv(store, _csv(tmp_path / "l.csv", "b@example.org", "c@example.org"))
    assert report.kept_total == 2
    assert [s.status for s in store.select()] == ["bounced", "complained"]
    # A complaint is final: the form sends nothing to that address.
    assert sub.request_subscription(store, "c@example.org", source="form") is None
    assert store.get("c@example.org").status == "complained"
    # A bounced address may come back: the click proves consent and a working mailbox.
    asked = sub.request_subscription(store, "b@example.org", source="form")
    assert asked is not None and asked.status == "bounced"
    link = sub.token_for(store, sub.CONFIRM, asked)
    assert sub.confirm(store, sub.by_token(store, sub.CONFIRM, link), "double opt-in")
    assert store.get("b@example.org").status == "active"


def test_a_pending_row_of_a_departed_address_is_not_activated(store: Store,
                                                              tmp_path: Path) -> None:
    """A database written by the old code: unsubscribed, then pending by the form."""
    _active(store)
    with store.transaction():
        victim = store.get(VICTIM)
        store.set_status(victim.id, "unsubscribed", "one-click (RFC 8058)")
        store.set_status(victim.id, "pending", "subscribe again: subscription form")
    report = import_csv(store, _csv(tmp_path / "l.csv", VICTIM))
    assert store.get(VICTIM).status == "pending" and report.kept_total == 1
    with pytest.raises(InfoLettreError, match="confirmation"), store.transaction():
        store.set_status(victim.id, "active", "by hand")
    assert store.get(VICTIM).status == "pending"


def test_no_status_change_reactivates_a_departed_address(store: Store) -> None:
    for status in ("unsubscribed", "bounced", "complained"):
        address = f"{status}@example.org"
        _active(store, address)
        with store.transaction():
            store.set_status(store.get(address).id, status, "test")
        with pytest.raises(InfoLettreError, match="kept unsubscribed"), store.transaction():
            store.set_status(store.get(address).id, "active", "by hand")
        for kind in ("hard", "soft", "complaint", "unsubscribe"):
            sub.apply_report(store, address, kind, "report")
            assert store.get(address).status != "active"


def test_cli_says_which_lines_were_kept(tmp_path: Path, monkeypatch) -> None:
    db = tmp_path / "cli.db"
    monkeypatch.setenv("INFOLETTRE_DB", str(db))
    with Store(db) as store:
        _active(store)
        sub.unsubscribe(store, store.get(VICTIM), "one-click (RFC 8058)")
    runner = CliRunner()
    result = runner.invoke(cli, ["subscribers", "import",
                                 str(_csv(tmp_path / "l.csv", "n@example.org", VICTIM))])
    assert result.exit_code == 0, result.output
    assert "1 kept unsubscribed" in result.output
    assert f"l.csv:3: {VICTIM} kept unsubscribed" in result.output
    result = runner.invoke(cli, ["subscribers", "add", VICTIM])
    assert result.exit_code != 0 and "kept unsubscribed" in result.output
    result = runner.invoke(cli, ["subscribers", "history", VICTIM])
    assert result.exit_code == 0 and "one-click (RFC 8058)" in result.output


# -- item 4: the subscribe form as a mail bomb -------------------------------------------

def test_twenty_requests_from_twenty_clients_send_one_confirmation(store: Store) -> None:
    """X-Forwarded-For rotation: 20 client addresses, one victim, one minute."""
    start = time.time()
    sent = [sub.request_subscription(store, VICTIM, source=f"subscription form from 10.0.0.{n}",
                                     at=start + 3 * n)
            for n in range(20)]
    assert sum(s is not None for s in sent) == 1
    assert store.get(VICTIM).status == "pending"


def test_at_most_three_confirmations_a_day(store: Store) -> None:
    """A request every ten minutes for two days: 1 an hour, 3 a day, counted in the store."""
    start = time.time()
    sent = [t for t in range(0, 2 * 86400, 600)
            if sub.request_subscription(store, VICTIM, source="form", at=start + t)]
    assert sent[:3] == [0, 3600, 7200]
    first_day = [t for t in sent if t < 86400]
    assert len(first_day) == 3 and len(sent) <= 6
    assert all(b - a >= 3600 for a, b in itertools.pairwise(sent))
    assert all(len([u for u in sent if t <= u < t + 86400]) <= 3 for t in sent)
    # A new connection (another process, a restart) sees the same count.
    with Store(store.where) as again:
        assert sub.request_subscription(again, VICTIM, source="form",
                                        at=start + sent[-1] + 60) is None


def test_the_limit_holds_for_an_unsubscribed_address(store: Store) -> None:
    _active(store)
    sub.unsubscribe(store, store.get(VICTIM), "one-click")
    start = time.time()
    sent = [n for n in range(20)
            if sub.request_subscription(store, VICTIM, source="form", at=start + n)]
    assert sent == [0]


# -- item 9: CSV injection in the export -------------------------------------------------

HOSTILE_NAMES = ["Jean;=1+1;x", "Ana,=HYPERLINK(\"http://evil\"),y", "Tab\t=1+1",
                 "Line\n=1+1", "Cr\r+1", "Quote\";=1+1;\"", "semi; @SUM(A1)", "-2+3",
                 "x;\t=cmd|' /C calc'!A0", "=1+1"]


@pytest.mark.parametrize("delimiter", [";", ","])
def test_export_has_no_formula_cell_whatever_the_delimiter(store: Store, tmp_path: Path,
                                                           delimiter: str) -> None:
    for n, name in enumerate(HOSTILE_NAMES):
        add(store, f"p{n}@example.org", name=name, centre=name, country=name)
    out = tmp_path / "export.csv"
    assert export_csv(store.select(), out) == len(HOSTILE_NAMES)
    with out.open(encoding="utf-8", newline="") as f:
        cells = [cell for row in csv.reader(f, delimiter=delimiter) for cell in row]
    dangerous = [c for c in cells if c.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert dangerous == []
    text = out.read_text(encoding="utf-8")
    for line in text.splitlines():
        for piece in line.replace(",", ";").split(";"):
            assert not piece.strip(' "').startswith(("=", "+", "-", "@")), line


def test_export_keeps_the_values_readable(store: Store, tmp_path: Path) -> None:
    add(store, "a@example.org", name="Jean;=1+1;x")
    out = tmp_path / "export.csv"
    export_csv(store.select(), out)
    [row] = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    assert row["name"] == "Jean;'=1+1;x" and row["email"] == "a@example.org"


# -- item 9: a huge import streams ---------------------------------------------------------

def _peak_import(tmp_path: Path, lines: int) -> int:
    folder = tmp_path / str(lines)
    folder.mkdir()
    path = folder / "list.csv"
    with path.open("w", encoding="utf-8") as f:
        f.write("email,name,lang\n")
        f.writelines(f"p{n}@example.org,Person {n},fr\n" for n in range(lines))
    with Store(folder / "db.sqlite") as store:
        tracemalloc.start()
        try:
            report = import_csv(store, path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert report.added == lines and store.count() == lines
    return peak


def test_import_memory_is_flat_in_the_file_size(tmp_path: Path) -> None:
    small, large = _peak_import(tmp_path, 2_000), _peak_import(tmp_path, 20_000)
    assert large < 2 * small, (small, large)
