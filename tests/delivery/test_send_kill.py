"""send: a sender killed mid-campaign (SIGKILL) resumes without sending anyone twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from infolettre.delivery.journal import Journal
from infolettre.store import Store

from ..conftest import SAMPLE
from ..sending import populate, sending_config
from ..smtpfake import FakeSmtp, Script

CONNECTIONS = 3


def _send(config_file: Path, dsn: str) -> subprocess.Popen:
    env = {**os.environ, "INFOLETTRE_TRANSPORT": dsn}
    return subprocess.Popen([sys.executable, "-m", "infolettre", "--config",
                             str(config_file), "send", str(SAMPLE), "--yes",
                             "--skip-image-check"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_then_resume_sends_each_subscriber_once(tmp_path: Path) -> None:
    config = sending_config(tmp_path)
    addresses = populate(config, 240)
    config_file = tmp_path / "infolettre.toml"
    config_file.write_text(
        f'base_url = "{config.base_url}"\ndb = "{config.db}"\n'
        f'sender = "{config.sender}"\nbounce_address = "{config.bounce_address}"\n',
        encoding="utf-8")
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


def test_ctrl_c_stops_cleanly_and_the_next_run_finishes(tmp_path: Path) -> None:
    config = sending_config(tmp_path)
    addresses = populate(config, 120)
    config_file = tmp_path / "infolettre.toml"
    config_file.write_text(f'base_url = "{config.base_url}"\ndb = "{config.db}"\n',
                           encoding="utf-8")
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
