"""send: a sender killed mid-campaign (SIGKILL) resumes without sending anyone twice,
nor anyone an edition other than their own, on SQLite and on PostgreSQL (``db``)."""

from __future__ import annotations

import email
import email.policy
import os
import signal
import subprocess
import sys
from pathlib import Path

from infolettre.config import Database
from infolettre.delivery.journal import Journal
from infolettre.store import Store

from ..conftest import SAMPLE
from ..sending import SUBJECTS, populate, sending_config, translated_issue, write_config
from ..smtpfake import FakeSmtp, Script

CONNECTIONS = 3


def _send(config_file: Path, dsn: str, issue: Path = SAMPLE) -> subprocess.Popen:
    env = {**os.environ, "INFOLETTRE_TRANSPORT": dsn}
    return subprocess.Popen([sys.executable, "-m", "infolettre", "--config",
                             str(config_file), "send", str(issue), "--yes",
                             "--skip-image-check"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_then_resume_sends_each_subscriber_once(tmp_path: Path, db: Database) -> None:
    config = sending_config(tmp_path, db)
    addresses = populate(config, 240)
    config_file = write_config(tmp_path, config)
    with FakeSmtp(Script(data_delay=0.01)) as smtp:
        dsn = smtp.dsn(connections=CONNECTIONS)
        first = _send(config_file, dsn)
        smtp.wait_for(60)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(30)
        assert first.returncode == -signal.SIGKILL
        delivered_before = sum(smtp.handler.delivered.values())
        assert 60 <= delivered_before < 240

        with Store(config.db) as store:
            journal = Journal(store)
            counts = journal.counts(journal.find("2018-06").id)
        assert 0 < counts["in_flight"] <= CONNECTIONS

        second = _send(config_file, dsn)
        out, err = second.communicate(timeout=120)
        assert second.returncode == 0, err
        status = subprocess.run([sys.executable, "-m", "infolettre", "--config",
                                 str(config_file), "status", str(SAMPLE)],
                                capture_output=True, text=True, timeout=60).stdout

    with Store(config.db) as store:
        journal = Journal(store)
        campaign = journal.find("2018-06")
        counts = journal.counts(campaign.id)
        in_doubt = {e for e, state, _, _ in journal.troubles(campaign.id) if state == "in_doubt"}
    assert counts["in_flight"] == 0 and counts["pending"] == 0
    assert 0 < len(in_doubt) <= CONNECTIONS
    assert counts["sent"] + len(in_doubt) == 240
    delivered = smtp.handler.delivered
    for address in addresses:
        if address in in_doubt:
            assert delivered[address] <= 1, address
        else:
            assert delivered[address] == 1, address
    assert "in doubt" in out
    for address in in_doubt:
        assert f"in doubt: {address}" in status


def test_ctrl_c_stops_cleanly_and_the_next_run_finishes(tmp_path: Path, db: Database) -> None:
    config = sending_config(tmp_path, db)
    addresses = populate(config, 120)
    config_file = write_config(tmp_path, config)
    with FakeSmtp(Script(data_delay=0.02)) as smtp:
        dsn = smtp.dsn(connections=CONNECTIONS)
        first = _send(config_file, dsn)
        smtp.wait_for(20)
        first.send_signal(signal.SIGINT)
        out, err = first.communicate(timeout=60)
        assert first.returncode == 130, err
        assert "interrupted" in err and "Traceback" not in err
        with Store(config.db) as store:
            journal = Journal(store)
            counts = journal.counts(journal.find("2018-06").id)
        assert counts["in_flight"] == 0 and counts["in_doubt"] == 0, (out, err)  # none unknown
        assert 0 < counts["sent"] < 120
        second = _send(config_file, dsn)
        second.communicate(timeout=120)
        assert second.returncode == 0
    assert smtp.handler.delivered == dict.fromkeys(addresses, 1)


def test_sigkill_with_two_editions_resumes_each_in_its_own(tmp_path: Path, db: Database) -> None:
    """Killed mid-campaign, then resumed: nobody gets two copies, nor two editions,
    and each message is the edition of its subscriber's language."""
    config = sending_config(tmp_path, db)
    addresses = populate(config, 240, langs=("fr", "en"))
    issue = translated_issue(tmp_path / "issues", ("fr", "en"))
    config_file = write_config(tmp_path, config)
    with FakeSmtp(Script(data_delay=0.01)) as smtp:
        dsn = smtp.dsn(connections=CONNECTIONS)
        first = _send(config_file, dsn, issue)
        smtp.wait_for(60)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(30)
        assert first.returncode == -signal.SIGKILL
        assert 60 <= sum(smtp.handler.delivered.values()) < 240
        second = _send(config_file, dsn, issue)
        out, err = second.communicate(timeout=120)
        assert second.returncode == 0, err

    with Store(config.db) as store:
        journal = Journal(store)
        campaign = journal.find("2018-06")
        counts = journal.counts(campaign.id)
        in_doubt = {e for e, state, _, _ in journal.troubles(campaign.id) if state == "in_doubt"}
        recorded = dict(store.conn.execute(
            "SELECT s.email, d.edition FROM deliveries d JOIN subscribers s "
            "ON s.id = d.subscriber_id").fetchall())
    assert counts["sent"] + len(in_doubt) == 240 and len(in_doubt) <= CONNECTIONS
    assert recorded == {a: "fr" if n % 2 == 0 else "en" for n, a in enumerate(addresses)}
    delivered = smtp.handler.delivered
    for address in addresses:  # an in-doubt one may have been lost on the way, never sent twice
        assert delivered[address] == 1 or (address in in_doubt and not delivered[address])
    subject = {"en": SUBJECTS["en"],
               "fr": "InfoLettre du Réseau des Cités des métiers — juin 2018"}
    for rcpt, raw in smtp.handler.messages:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert message["Content-Language"] == recorded[rcpt], rcpt
        assert message["Subject"] == subject[recorded[rcpt]], rcpt
    assert "sent in this run, by language:" in out and " en" in out
