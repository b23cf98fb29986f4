"""store.senders and the claim of several senders: the rows of one campaign claimed by
senders at once are never claimed twice, each under its sender's id; a sender's lease;
the campaign's shared pace. On both engines (SQLite's claims are serial, PostgreSQL's
skip the rows another claim holds: both must keep the promise)."""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
from collections import Counter

from infolettre.config import Database
from infolettre.delivery.journal import LEASE, Journal, sender_state, this_host
from infolettre.store import Ledger, SenderRow, connect

from .test_journal import _store

WORKERS = 4


def test_senders_claiming_at_once_never_claim_a_row_twice(db: Database) -> None:
    """Four senders, each on its own connection, claim batches and record them sent as
    fast as they can until nothing is left: every row was claimed by exactly one, and
    carries that one's id."""
    store, cid = _store(db, 4000)
    claimed: dict[str, list[int]] = {}
    start = threading.Barrier(WORKERS)
    failures: list[BaseException] = []

    def work(name: str) -> None:
        ledger = Ledger(connect(db), name)
        mine = claimed[name] = []
        try:
            start.wait()
            batch = ledger.record_and_claim(cid, [], [], 25)
            while batch:
                mine += [row[0] for row in batch]
                batch = ledger.record_and_claim(
                    cid, [(row[0], "sent", 0.0, "", "") for row in batch], [], 25)
        except BaseException as exc:  # the test's thread: said by the assertion below
            failures.append(exc)
        finally:
            ledger.close()

    threads = [threading.Thread(target=work, args=(f"host:{n}:x",)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    every = Counter(row for rows in claimed.values() for row in rows)
    assert len(every) == 4000 and set(every.values()) == {1}
    assert all(claimed.values()), {name: len(rows) for name, rows in claimed.items()}
    assert store.worker_counts(cid) == {name: {"sent": len(rows)}
                                        for name, rows in claimed.items()}
    store.close()


def test_only_a_dead_senders_rows_in_flight_become_in_doubt(db: Database) -> None:
    store, cid = _store(db, 6)
    journal = Journal(store)
    store.register_sender("far:1:aaa", cid, "far-host", 1)        # alive: it beat just now
    store.register_sender("gone:2:bbb", cid, "other-host", 2)     # silent for too long
    with store.transaction():
        store.conn.execute("UPDATE senders SET seen_at = ? WHERE id = ?",
                           (time.time() - LEASE - 1, "gone:2:bbb"))
    for name in ("far:1:aaa", "gone:2:bbb"):
        ledger = Ledger(connect(db), name)
        with ledger.transaction():
            ledger.claim_due(cid, 2)
        ledger.close()
    states = {row.id: state for row, state in journal.senders(cid)}
    assert states == {"far:1:aaa": "alive", "gone:2:bbb": "dead"}
    assert journal.recover(cid) == 2
    assert store.worker_counts(cid) == {"": {"pending": 2}, "far:1:aaa": {"in_flight": 2},
                                        "gone:2:bbb": {"in_doubt": 2}}
    store.finish_sender("far:1:aaa")  # ended (its rows left in flight: a crash after it)
    assert journal.recover(cid) == 2
    assert store.worker_counts(cid)["far:1:aaa"] == {"in_doubt": 2}
    store.close()


def test_a_sender_on_this_host_whose_process_is_gone_is_dead_at_once() -> None:
    here, at = this_host(), time.time()
    gone = SenderRow("x", here, 2**22 + 17, "", at, None)  # above Linux's highest pid
    assert sender_state(gone, at) == "dead"
    alive = SenderRow("y", here, os.getpid(), "", at, None)
    assert sender_state(alive, at) == "alive"
    assert sender_state(alive, at + LEASE + 1) == "dead"  # its lease ran out
    elsewhere = SenderRow("z", "another-host", 2**22 + 17, "", at, None)
    assert sender_state(elsewhere, at) == "alive"  # no pid to look at: the lease decides
    # The same name in another pid namespace (a container): its pids are not ours.
    other_ns = SenderRow("n", socket.gethostname() + " pid-ns 1", 2**22 + 17, "", at, None)
    assert sender_state(other_ns, at) == "alive"
    assert sender_state(SenderRow("f", here, 1, "", at, "2026-12-04T00:00:01Z"), at) == "finished"


def test_the_campaigns_pace_gives_every_slot_once_across_senders(db: Database) -> None:
    """Senders reserving chunks of a shared pace at once get slots that never coincide:
    the campaign's rate holds for their sum."""
    interval, chunk = 0.001, 5
    firsts: list[float] = []
    lock = threading.Lock()

    def reserve() -> None:
        ledger = Ledger(connect(db))
        for _ in range(20):
            first = ledger.reserve_slots("campaign 1", chunk, interval)
            with lock:
                firsts.append(first)
        ledger.close()

    threads = [threading.Thread(target=reserve) for _ in range(WORKERS)]
    began = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    firsts.sort()
    gaps = [b - a for a, b in itertools.pairwise(firsts)]
    assert min(gaps) >= chunk * interval - 1e-6  # each chunk after the one before
    assert firsts[0] >= began - 1e-3  # never a slot in the past
    assert firsts[-1] - firsts[0] >= (len(firsts) - 1) * chunk * interval - 1e-6


def test_a_sender_that_registers_after_the_look_keeps_its_rows(db: Database) -> None:
    """Recovery names the senders it found dead: one that registered and claimed since
    (neither dead nor seen alive) keeps its rows in flight; rows of no sender do not."""
    store, cid = _store(db, 6)
    store.register_sender("gone:1:aaa", cid, "h", 1)
    store.register_sender("new:2:bbb", cid, "h", 2)  # registered after the look
    for name in ("gone:1:aaa", "new:2:bbb", ""):
        ledger = Ledger(connect(db), name)
        with ledger.transaction():
            ledger.claim_due(cid, 2)
        ledger.close()
    assert store.orphans_to_in_doubt(cid, ["gone:1:aaa"], "stopped") == 4
    assert store.worker_counts(cid) == {"": {"in_doubt": 2}, "gone:1:aaa": {"in_doubt": 2},
                                        "new:2:bbb": {"in_flight": 2}}
    store.close()
