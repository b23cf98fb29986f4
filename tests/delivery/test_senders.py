"""send by several processes at once on one PostgreSQL campaign: the campaign is shared,
nobody gets it twice, a sender SIGKILLed leaves only its own rows in doubt (at most its
connections), ``status`` says which sender sent what; a campaign-wide rate holds for
all the senders together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from infolettre.config import Config
from infolettre.delivery.journal import Journal
from infolettre.store import Store

from ..conftest import SAMPLE
from ..sending import populate, sending_config, write_config
from ..smtpfake import FakeSmtp
from ..smtpsink import SmtpSink
from .test_send_kill import _send

SUBSCRIBERS = 5000
CONNECTIONS = 3


def _sent_by(config: Config, pid: int | None = None) -> int:
    """Rows sent, by the sender of process ``pid`` if given (0 before it registered)."""
    with Store(config.db) as store:
        row = store.conn.execute(
            "SELECT count(*) FROM deliveries d LEFT JOIN senders s ON s.id = d.worker "
            "WHERE d.state = 'sent' AND (? = 0 OR s.pid = ?)", (pid or 0, pid or 0)).fetchone()
    return int(row[0])


def _status(config_file: Path) -> str:
    return subprocess.run([sys.executable, "-m", "infolettre", "--config", str(config_file),
                           "status", str(SAMPLE)], capture_output=True, text=True,
                          timeout=60, check=True).stdout


def test_three_senders_share_a_campaign_and_a_killed_one_leaves_only_its_own_in_doubt(
        tmp_path: Path, postgres_server) -> None:
    """Through a loopback SMTP server of its own process (``tests/smtpsink.py``: the
    test waits for the senders, not for the server), answering after 2 ms."""
    config = sending_config(tmp_path, postgres_server.migrated())
    addresses = populate(config, SUBSCRIBERS)
    config_file = write_config(tmp_path, config)
    with SmtpSink(0.002) as sink:
        dsn = sink.dsn(connections=CONNECTIONS)
        senders = [_send(config_file, dsn) for _ in range(3)]
        killed = senders[1]
        deadline = time.monotonic() + 180
        while ((_sent_by(config) < SUBSCRIBERS // 4 or _sent_by(config, killed.pid) < 50)
               and time.monotonic() < deadline):
            assert killed.poll() is None, killed.communicate()
            time.sleep(0.05)
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(30)
        assert _sent_by(config) < SUBSCRIBERS * 0.9, "killed too late to tell"
        for process in (senders[0], senders[2]):
            _, err = process.communicate(timeout=300)
            assert process.returncode == 0, err
        status = _status(config_file)
        delivered = Counter(sink.stop()["received"])

    with Store(config.db) as store:
        journal = Journal(store)
        campaign = journal.find(SAMPLE.name)
        counts = journal.counts(campaign.id)
        by_sender = journal.worker_counts(campaign.id)
        doubt = dict(store.conn.execute(
            "SELECT s.email, d.worker FROM deliveries d JOIN subscribers s ON "
            "s.id = d.subscriber_id WHERE d.campaign_id = ? AND d.state = 'in_doubt'",
            (campaign.id,)).fetchall())
        states = {row.pid: (row.id, state) for row, state in journal.senders(campaign.id)}
    # One campaign, three senders, each of which sent part of it.
    assert set(states) == {p.pid for p in senders}
    killed_id = states[killed.pid][0]
    assert states[killed.pid][1] == "dead"
    assert {state for pid, (_, state) in states.items() if pid != killed.pid} == {"finished"}
    assert len(by_sender) == 3 and all(c.get("sent") for c in by_sender.values()), by_sender
    # Nobody twice; the only rows not sent are the killed sender's, in flight when it died.
    assert counts["in_flight"] == counts["pending"] == counts["retry"] == 0
    assert 0 < len(doubt) <= CONNECTIONS and set(doubt.values()) == {killed_id}
    assert counts["sent"] + len(doubt) == SUBSCRIBERS
    assert max(delivered.values()) == 1
    assert set(addresses) - set(delivered) <= set(doubt)
    # status says which sender sent what, and lists each row in doubt.
    for sender_id, sent in ((i, c["sent"]) for i, c in by_sender.items()):
        assert f"sender {sender_id} (" in status and f"{sent} sent" in status
    assert f"sender {killed_id} (dead" in status
    for address in doubt:
        assert f"in doubt: {address}" in status


def test_a_campaign_rate_holds_for_all_its_senders_together(tmp_path: Path,
                                                            postgres_server) -> None:
    """campaign_rate=100 shared by two senders: 200 messages take two seconds, however
    many senders there are; each sender alone would go as fast as the server lets it."""
    config = sending_config(tmp_path, postgres_server.migrated())
    populate(config, 200)
    config_file = write_config(tmp_path, config)
    with FakeSmtp() as smtp:
        dsn = smtp.dsn(connections=2, campaign_rate=100)
        senders = [_send(config_file, dsn) for _ in range(2)]
        for process in senders:
            _, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
        times = sorted(smtp.handler.times)
    assert Counter(smtp.handler.delivered.values()) == {1: 200}
    assert times[-1] - times[0] >= 1.8  # 200 slots 10 ms apart: 1.99 s from first to last
    with Store(config.db) as store:
        journal = Journal(store)
        by_sender = journal.worker_counts(journal.find(SAMPLE.name).id)
    assert len(by_sender) == 2  # both sent: the rate was their sum's
