"""engine: one cycle over the journal (claim, skip, build, record, release) for both drivers.

The campaign tests of ``test_send`` and ``test_loop`` run through it; these
pin what the cycle itself promises, whichever driver carries the messages: a
departed subscriber is checked once per row, and every outcome already known
is recorded (and counted) even when the transport stops the run.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from infolettre.config import Database
from infolettre.delivery.journal import Claimed, Journal
from infolettre.delivery.send import send_campaign
from infolettre.delivery.transports import TransportError, from_dsn
from infolettre.delivery.transports.outbox import OutboxTransport
from infolettre.store import Store

from ..sending import edition, populate, sending_config
from ..smtpfake import FakeSmtp


def _unsubscribe(config, addresses: list[str]) -> None:
    """Start the campaign, then let ``addresses`` leave before anything is sent."""
    with Store(config.db) as store:
        Journal(store).campaign("2018-06", "s", {})
        with store.transaction():
            for address in addresses:
                store.set_status(store.get(address).id, "unsubscribed", "test")


def _states(config) -> dict[str, str]:
    with Store(config.db) as store:
        return dict(store.conn.execute(
            "SELECT s.email, d.state FROM deliveries d "
            "JOIN subscribers s ON s.id = d.subscriber_id").fetchall())


class _Batches(OutboxTransport):
    """The outbox, taking ten messages per batch; ``error`` is raised by every batch."""

    batch_size = 10

    def __init__(self, root: Path, error: Exception) -> None:
        super().__init__(root)
        self.error = error

    def open(self):  # whatever session class the outbox opens, its batches break
        session = super().open()

        def send_batch(content: object, batch: list) -> list:
            raise self.error

        session.send_batch = send_batch
        return session


@pytest.mark.parametrize("through", ["outbox", "smtp"])
def test_each_row_is_checked_for_a_departed_subscriber_once(tmp_path: Path, monkeypatch,
                                                            through: str) -> None:
    config = sending_config(tmp_path)
    addresses = populate(config, 6)
    _unsubscribe(config, addresses[1:3])
    asked: Counter[str] = Counter()
    real = Claimed.skipped

    def counting(self: Claimed) -> object:
        asked[self.email] += 1
        return real(self)

    monkeypatch.setattr(Claimed, "skipped", counting)
    with FakeSmtp() as smtp:
        dsn = smtp.dsn(connections=2) if through == "smtp" else config.transport
        summary = send_campaign(edition(config), config, from_dsn(dsn))
    assert summary.counts["sent"] == 4 and summary.counts["failed"] == 2
    assert asked == dict.fromkeys(addresses, 1)


def test_an_unexpected_error_still_records_the_rows_already_skipped(tmp_path: Path) -> None:
    """The batch's departed subscriber is failed, not left in flight to become in doubt.

    Only the rows handed to the broken session may have gone out; a row that
    was never sent must not be listed as "may have been delivered".
    """
    config = sending_config(tmp_path)
    addresses = populate(config, 3)
    _unsubscribe(config, [addresses[1]])
    transport = _Batches(tmp_path / "outbox", RuntimeError("the disk caught fire"))
    with pytest.raises(RuntimeError, match="caught fire"):
        send_campaign(edition(config), config, transport)
    assert _states(config) == {addresses[0]: "in_flight", addresses[1]: "failed",
                               addresses[2]: "in_flight"}
    again = send_campaign(edition(config), config, from_dsn(config.transport))
    assert again.recovered_in_doubt == 2
    assert {a for a, state, _, _ in again.troubles if state == "in_doubt"} == {
        addresses[0], addresses[2]}


def test_a_transport_error_releases_the_batch_and_counts_what_it_recorded(
        tmp_path: Path) -> None:
    config = sending_config(tmp_path)
    addresses = populate(config, 3)
    _unsubscribe(config, [addresses[1]])
    transport = _Batches(tmp_path / "outbox", TransportError("the API key was refused"))
    summary = send_campaign(edition(config), config, transport)
    assert "API key was refused" in summary.stopped
    assert summary.counts == {**summary.counts, "pending": 2, "failed": 1, "in_flight": 0}
    assert summary.this_run == {"failed": 1}  # the journal's record of this run, counted
    with Store(config.db) as store:
        attempts = dict(store.conn.execute(
            "SELECT s.email, d.attempts FROM deliveries d "
            "JOIN subscribers s ON s.id = d.subscriber_id").fetchall())
    assert attempts == {addresses[0]: 0, addresses[1]: 1, addresses[2]: 0}


def test_a_shared_pace_never_lets_threads_run_ahead_of_its_slots(db: Database) -> None:
    """Four threads of one sender taking slots of a campaign's pace of 200/s (chunks
    of 50 reserved in the database): the n-th start is never before the n-th slot,
    so the rate holds for the threads together."""
    import threading

    from infolettre.delivery.engine import SharedPace

    pace = SharedPace(db, "campaign 1", 200.0)
    starts: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(25):
            assert pace.acquire()
            with lock:
                starts.append(time.time())

    began = time.time()
    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pace.close()
    starts.sort()
    assert all(at >= began + n / 200.0 - 0.002 for n, at in enumerate(starts)), [
        round(at - began - n / 200.0, 4) for n, at in enumerate(starts)][:20]
