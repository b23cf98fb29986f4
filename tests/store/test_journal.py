"""store.journal: the campaigns and deliveries tables, as the sending journal uses them.

The campaign tests (``tests/delivery``) go through ``delivery.journal``; these pin
what a second database would have to keep: claim, record and release are
distinct operations, recording a batch and claiming the next is one commit
(all of it or none), and the cost of a cycle does not grow with its batch in
statements sent to the database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infolettre.config import Database
from infolettre.store import Ledger, NewSubscriber, Store, connect


class _Counting:
    """A connection that counts the statements sent through it (``executemany`` once)."""

    def __init__(self, conn: Any) -> None:
        self._conn, self.statements = conn, 0

    def execute(self, *args: Any) -> Any:
        self.statements += 1
        return self._conn.execute(*args)

    def executemany(self, *args: Any) -> Any:
        self.statements += 1
        return self._conn.executemany(*args)

    def transaction(self) -> Any:
        self.statements += 2  # its BEGIN and COMMIT
        return self._conn.transaction()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def _store(where: Path | Database, n: int = 60) -> tuple[Store, int]:
    """A campaign of ``n`` subscribers in ``where`` (a folder: a SQLite file there)."""
    store = Store(where / "db.sqlite" if isinstance(where, Path) and where.is_dir() else where)
    with store.transaction():
        store.insert_many(NewSubscriber(f"p{i}@example.org", lang="fr" if i % 2 else "en")
                          for i in range(n))
        campaign, rows = store.add_campaign("2018-06", "subject", {})
    assert rows == n
    return store, campaign.id


def _states(store: Store, campaign_id: int) -> dict[str, int]:
    return store.delivery_counts(campaign_id)


def test_a_campaign_takes_the_active_subscribers_of_its_audience(db: Database) -> None:
    store, _ = _store(db, 10)
    with store.transaction():
        campaign, rows = store.add_campaign("2018-07", "s", {"lang": "fr"})
    assert rows == 5
    assert store.find_campaign("2018-07") == campaign
    assert campaign.audience == {"lang": "fr"} and store.find_campaign("2018-08") is None


def test_claim_record_release(db: Database) -> None:
    store, cid = _store(db, 6)
    with store.transaction():
        claimed = store.claim_due(cid, 4)
    assert [row[0] for row in claimed] == sorted(row[0] for row in claimed)
    assert all(row[3] == "active" and row[4] == 1 for row in claimed)
    assert _states(store, cid) == {"in_flight": 4, "pending": 2}
    first, second, third, fourth = (row[0] for row in claimed)
    with store.transaction():
        store.record_outcomes(cid, [(first, "sent", 0.0, "", "id-1"),
                                    (second, "failed", 0.0, "550 no such user", "")],
                              bounced=[(second, "550 no such user")])
    store.release(cid, [third, fourth], "not sent: stopped")
    assert _states(store, cid) == {"sent": 1, "failed": 1, "pending": 4}
    assert store.by_id(second).status == "bounced"
    # a released row's attempt is not counted: claimed again, it is attempt 1
    with store.transaction():
        again = {row[0]: row[4] for row in store.claim_due(cid, 10)}
    assert again[third] == again[fourth] == 1 and first not in again


def test_a_retry_is_claimed_only_when_due(db: Database) -> None:
    store, cid = _store(db, 2)
    with store.transaction():
        a, b = (row[0] for row in store.claim_due(cid, 2))
        store.record_outcomes(cid, [(a, "retry", 0.0, "421", ""),
                                    (b, "retry", 4e9, "421", "")])
    assert store.next_due(cid) == 0.0
    with store.transaction():
        assert [(row[0], row[4]) for row in store.claim_due(cid, 2)] == [(a, 2)]


def test_record_and_claim_is_one_commit(tmp_path: Path) -> None:
    store, cid = _store(tmp_path)
    seen: list[str] = []
    store.conn.set_trace_callback(seen.append)
    claimed = store.record_and_claim(cid, [], [], 10)
    rows = store.record_and_claim(cid, [(r[0], "sent", 0.0, "", "") for r in claimed], [], 10)
    store.conn.set_trace_callback(None)
    assert len(claimed) == len(rows) == 10
    assert [s for s in seen if s in ("BEGIN IMMEDIATE", "COMMIT")] == [
        "BEGIN IMMEDIATE", "COMMIT"] * 2
    assert _states(store, cid) == {"sent": 10, "in_flight": 10, "pending": 40}


def test_record_and_claim_is_all_or_nothing(db: Database,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    store, cid = _store(db)
    claimed = store.record_and_claim(cid, [], [], 3)

    def broken(self: Ledger, campaign_id: int, limit: int) -> list:
        raise OSError("disk full")

    monkeypatch.setattr(Ledger, "claim_due", broken)
    with pytest.raises(OSError):
        store.record_and_claim(cid, [(r[0], "sent", 0.0, "", "") for r in claimed],
                               [(claimed[0][0], "bounce")], 3)
    assert _states(store, cid) == {"in_flight": 3, "pending": 57}  # nothing recorded
    assert store.by_id(claimed[0][0]).status == "active"


@pytest.mark.parametrize("size", [2, 50])
def test_a_cycle_sends_as_many_statements_whatever_its_batch(db: Database, size: int) -> None:
    """No statement per row: a batch of 50 costs what a batch of 2 costs. SQLite
    claims with a SELECT then an UPDATE; PostgreSQL with one UPDATE … SKIP LOCKED."""
    store, cid = _store(db, 120)
    ledger = Ledger(connect(store.where))
    claimed = ledger.record_and_claim(cid, [], [], size)
    counting = _Counting(ledger.conn)
    ledger.conn = counting  # type: ignore[assignment]
    ledger.record_and_claim(cid, [(r[0], "sent", 0.0, "", "") for r in claimed], [], size)
    ledger.release(cid, [r[0] for r in claimed[:1]], "stopped")
    # BEGIN, update, (select,) update or claim, COMMIT; and release's 3
    assert counting.statements == {"sqlite": 8, "postgresql": 7}[store.conn.dialect]
    ledger.conn = counting._conn
    ledger.close()
    store.close()


def test_a_claim_is_the_ledgers_worker_and_a_release_gives_it_back(db: Database) -> None:
    """Each row claimed carries its sender's id; a row given back is nobody's and due
    at once, even a retry (whose next_at had passed)."""
    store, cid = _store(db, 4)
    worker = Ledger(connect(store.where), "host:1:abc")
    with worker.transaction():
        a, b = (row[0] for row in worker.claim_due(cid, 2))
        worker.record_outcomes(cid, [(b, "retry", 1.0, "421", "")])
    assert worker.worker_counts(cid) == {"host:1:abc": {"in_flight": 1, "retry": 1},
                                         "": {"pending": 2}}
    with worker.transaction():  # the two pending rows, and the retry, due
        claimed = {row[0] for row in worker.claim_due(cid, 3)}
    assert b in claimed and a not in claimed and len(claimed) == 3
    worker.release(cid, [a, b], "stopped")
    assert worker.worker_counts(cid) == {"": {"pending": 2}, "host:1:abc": {"in_flight": 2}}
    with store.transaction():
        assert {row[0] for row in store.claim_due(cid, 4)} == {a, b}
    assert store.worker_counts(cid) == {"": {"in_flight": 2}, "host:1:abc": {"in_flight": 2}}
    worker.close()
    store.close()


def test_a_worker_ledger_sees_what_the_store_wrote(db: Database) -> None:
    store, cid = _store(db, 3)
    worker = Ledger(connect(store.where))
    assert len(worker.record_and_claim(cid, [], [], 5)) == 3
    assert _states(store, cid) == {"in_flight": 3}
    assert store.orphans_to_in_doubt(cid, None, "stopped") == 3
    assert store.troubles(cid)[0][1:] == ("in_doubt", 1, "stopped")
    assert store.in_doubt_to_pending(cid) == 3
    assert store.sent_issues() == set()
    worker.close()
    store.close()
