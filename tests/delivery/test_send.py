"""send: campaigns through a real SMTP server on loopback, faults included.

Each campaign runs on SQLite and on PostgreSQL (the ``db`` fixture): the journal is
what keeps a message from going twice. The tests of the transport alone (TLS, DKIM,
a connection's cap, the images' check) run once, on SQLite.
"""

from __future__ import annotations

import email
import email.policy
import time
from pathlib import Path

import pytest

from infolettre.config import Database
from infolettre.delivery.journal import Journal
from infolettre.delivery.send import Audience, send_campaign, send_proofs
from infolettre.delivery.transports import Envelope, TransportError, from_dsn
from infolettre.errors import InfoLettreError
from infolettre.store import Store

from ..sending import edition, populate, sending_config
from ..smtpfake import FakeSmtp, Script, self_signed

FAST = {"retry_base": 0.01}


def journal_counts(config) -> dict[str, int]:
    with Store(config.db) as store:
        journal = Journal(store)
        return journal.counts(journal.find("2018-06").id)


def test_outbox_campaign_sends_once_and_continues(tmp_path: Path, db: Database) -> None:
    config = sending_config(tmp_path, db)
    addresses = populate(config, 12)
    transport = from_dsn(config.transport)
    summary = send_campaign(edition(config), config, transport)
    assert summary.created and summary.counts["sent"] == 12
    files = list((tmp_path / "outbox" / "new").iterdir())
    assert len(files) == 12
    recipients = {email.message_from_bytes(f.read_bytes())["To"].split("<")[1][:-1]
                  for f in files}
    assert recipients == set(addresses)
    again = send_campaign(edition(config), config, transport)
    assert not again.created and sum(again.this_run.values()) == 0
    assert len(list((tmp_path / "outbox" / "new").iterdir())) == 12


def test_smtp_campaign_reuses_connections(tmp_path: Path, db: Database) -> None:
    config = sending_config(tmp_path, db)
    addresses = populate(config, 40)
    with FakeSmtp() as smtp:
        summary = send_campaign(edition(config), config,
                                from_dsn(smtp.dsn(connections=3)), **FAST)
    assert summary.counts["sent"] == 40
    assert smtp.handler.delivered == dict.fromkeys(addresses, 1)
    assert smtp.handler.connections == 3
    assert set(smtp.handler.senders) == {"bounces@reseaucitesdesmetiers.com"}
    ids = smtp.message_ids()
    assert len(set(ids)) == 40 and all(i.endswith("@reseaucitesdesmetiers.com>") for i in ids)


def test_a_connection_carries_at_most_its_cap(tmp_path: Path) -> None:
    config = sending_config(tmp_path)
    populate(config, 25)
    with FakeSmtp() as smtp:
        send_campaign(edition(config), config,
                      from_dsn(smtp.dsn(connections=1, max_per_connection=10)))
    assert smtp.handler.connections == 3


@pytest.mark.parametrize("pipelining", [True, False])
def test_421_reconnects_and_loses_nothing(tmp_path: Path, db: Database, pipelining: bool) -> None:
    config = sending_config(tmp_path, db)
    addresses = populate(config, 30)
    with FakeSmtp(Script(close_after=4, pipelining=pipelining)) as smtp:
        summary = send_campaign(edition(config), config,
                                from_dsn(smtp.dsn(connections=2)), **FAST)
    assert summary.counts["sent"] == 30, summary.troubles
    assert smtp.handler.delivered == dict.fromkeys(addresses, 1)
    assert smtp.handler.connections >= 30 // 4


@pytest.mark.parametrize("pipelining", [True, False])
def test_451_is_retried_with_backoff_and_550_bounces(tmp_path: Path, db: Database,
                                                     pipelining: bool) -> None:
    config = sending_config(tmp_path, db)
    addresses = populate(config, 10)
    later, gone = addresses[2], addresses[5]
    script = Script(rcpt={later: ["451 4.3.0 Greylisted, try again later"] * 2,
                          gone: ["550 5.1.1 No such user"]}, pipelining=pipelining)
    with FakeSmtp(script) as smtp:
        summary = send_campaign(edition(config), config, from_dsn(smtp.dsn()), **FAST)
    assert summary.counts == {**summary.counts, "sent": 9, "failed": 1, "retry": 0}
    assert smtp.handler.delivered[later] == 1 and gone not in smtp.handler.delivered
    with Store(config.db) as store:
        assert store.get(gone).status == "bounced"
        assert any("550 5.1.1" in detail for _, kind, detail in store.events(gone)
                   if kind == "bounced")
        attempts = store.conn.execute(
            "SELECT attempts FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id "
            "WHERE s.email = ?", (later,)).fetchone()[0]
    assert attempts == 3
    [(address, state, _, detail)] = summary.troubles
    assert (address, state) == (gone, "failed") and "550 5.1.1" in detail


def test_4xx_forever_gives_up_after_max_attempts(tmp_path: Path, db: Database) -> None:
    config = sending_config(tmp_path, db)
    [stuck] = populate(config, 1)
    with FakeSmtp(Script(rcpt={stuck: ["452 4.2.2 Mailbox full"] * 10})) as smtp:
        summary = send_campaign(edition(config), config, from_dsn(smtp.dsn()),
                                max_attempts=3, **FAST)
    assert summary.counts["failed"] == 1
    assert "gave up after 3 attempts: RCPT: 452" in summary.troubles[0][3]
    with Store(config.db) as store:
        assert store.get(stuck).status == "active"  # a full mailbox is not a bad address


def test_connection_dropped_after_data_is_in_doubt_and_not_resent(tmp_path: Path,
                                                                  db: Database) -> None:
    config = sending_config(tmp_path, db)
    addresses = populate(config, 8)
    lost = addresses[3]
    with FakeSmtp(Script(drop_after_data={lost})) as smtp:
        transport = from_dsn(smtp.dsn(connections=2))
        summary = send_campaign(edition(config), config, transport, **FAST)
        assert summary.counts["in_doubt"] == 1 and summary.counts["sent"] == 7
        assert smtp.handler.delivered == dict.fromkeys(addresses, 1)  # it did arrive
        again = send_campaign(edition(config), config, transport, **FAST)
        assert sum(again.this_run.values()) == 0
        assert smtp.handler.delivered[lost] == 1
        resend = send_campaign(edition(config), config, transport, resend_in_doubt=True)
        assert resend.this_run == {"sent": 1}
        assert smtp.handler.delivered[lost] == 2  # asked for: the one duplicate allowed
    ids = [i for i in smtp.message_ids()]
    assert len(ids) == 9 and len(set(ids)) == 8  # the re-send carries the same Message-ID


def test_starttls_with_a_verified_self_signed_certificate(tmp_path: Path) -> None:
    context, cert = self_signed(tmp_path)
    config = sending_config(tmp_path)
    addresses = populate(config, 5)
    with FakeSmtp(tls=context, require_starttls=True) as smtp:
        dsn = (f"smtp://127.0.0.1:{smtp.port}?security=starttls&cafile={cert}"
               "&connections=2&max_per_connection=2")
        transport = from_dsn(dsn)
        summary = send_campaign(edition(config), config, transport)
        assert summary.counts["sent"] == 5
        assert smtp.handler.delivered == dict.fromkeys(addresses, 1)
        assert smtp.handler.connections >= 3  # reconnections share one TLS context
        assert transport.context() is transport.context()
        unverified = from_dsn(f"smtp://127.0.0.1:{smtp.port}?security=starttls")
        with pytest.raises(TransportError, match="failed TLS verification"):
            unverified.open()
        plain = from_dsn(smtp.dsn())
        with pytest.raises(TransportError, match=r"refused the sender .* 530"):
            plain.open().send(Envelope("a@example.org", "b@example.org", b"x\r\n"))


def test_a_refused_sender_stops_the_campaign_and_keeps_rows_pending(tmp_path: Path,
                                                                   db: Database) -> None:
    context, _ = self_signed(tmp_path)
    config = sending_config(tmp_path, db)
    populate(config, 5)
    with FakeSmtp(tls=context, require_starttls=True) as smtp:
        summary = send_campaign(edition(config), config, from_dsn(smtp.dsn()))
    assert "refused the sender" in summary.stopped
    assert summary.counts["pending"] == 5 and smtp.handler.messages == []


def test_unreachable_server_is_a_clear_error(tmp_path: Path, db: Database) -> None:
    config = sending_config(tmp_path, db)
    populate(config, 2)
    from ..smtpfake import free_port

    transport = from_dsn(f"smtp://127.0.0.1:{free_port()}?security=none")
    summary = send_campaign(edition(config), config, transport)
    assert "failed to connect" in summary.stopped
    assert journal_counts(config)["pending"] == 2


def test_rate_limit(tmp_path: Path, db: Database) -> None:
    config = sending_config(tmp_path, db)
    populate(config, 11)
    with FakeSmtp() as smtp:
        started = time.monotonic()
        summary = send_campaign(edition(config), config,
                                from_dsn(smtp.dsn(connections=2, rate=50)))
        assert time.monotonic() - started >= 0.19  # 11 messages at 50/s: 10 intervals
    assert summary.counts["sent"] == 11 and len(smtp.handler.messages) == 11


def test_audience_filters_and_a_changed_filter_is_refused(tmp_path: Path, db: Database) -> None:
    config = sending_config(tmp_path, db)
    populate(config, 8)
    transport = from_dsn(config.transport)
    summary = send_campaign(edition(config), config, transport, audience=Audience(lang="en"))
    assert summary.counts["sent"] == 2
    with pytest.raises(InfoLettreError, match="same filters"):
        send_campaign(edition(config), config, transport)


@pytest.mark.parametrize("through", ["outbox", "smtp"])
def test_unsubscribed_during_the_campaign_is_not_sent(tmp_path: Path, db: Database,
                                                     through: str) -> None:
    config = sending_config(tmp_path, db)
    addresses = populate(config, 3)
    with Store(config.db) as store:
        Journal(store).campaign("2018-06", "s", {})
        with store.transaction():
            store.set_status(store.get(addresses[1]).id, "unsubscribed", "test")
    with FakeSmtp() as smtp:
        dsn = smtp.dsn() if through == "smtp" else config.transport
        summary = send_campaign(edition(config), config, from_dsn(dsn))
    assert summary.counts["sent"] == 2 and summary.counts["failed"] == 1
    assert "the subscriber is unsubscribed" in summary.troubles[0][3]
    if through == "smtp":
        assert set(smtp.handler.delivered) == {addresses[0], addresses[2]}


def test_proofs_touch_neither_journal_nor_list(tmp_path: Path, db: Database) -> None:
    config = sending_config(tmp_path, db)
    populate(config, 3)
    with FakeSmtp() as smtp:
        results = send_proofs(edition(config), config, from_dsn(smtp.dsn()),
                              ["relecture@example.org", "equipe@example.org"])
    assert [r.outcome.value for _, r in results] == ["sent", "sent"]
    message = email.message_from_bytes(smtp.handler.messages[0][1],
                                        policy=email.policy.default)
    assert message["Subject"].startswith("[TEST] InfoLettre du Réseau")
    with Store(config.db) as store:
        assert Journal(store).find("2018-06") is None


def test_an_empty_audience_starts_no_campaign(tmp_path: Path, db: Database) -> None:
    config = sending_config(tmp_path, db)
    transport = from_dsn(config.transport)
    with pytest.raises(InfoLettreError, match="nobody to send to"):
        send_campaign(edition(config), config, transport)
    populate(config, 3)  # imported afterwards: the campaign starts now, with them
    assert send_campaign(edition(config), config, transport).counts["sent"] == 3


def test_dkim_signed_campaign_arrives_verifiable(tmp_path: Path) -> None:
    """What the server received, dot-stuffing undone, still verifies (dkimpy)."""
    import base64

    import dkim
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
    config = sending_config(tmp_path, dkim_domain="reseaucitesdesmetiers.com",
                            dkim_selector="infolettre",
                            secrets={"INFOLETTRE_DKIM_KEY": pem})
    populate(config, 6)
    with FakeSmtp() as smtp:
        summary = send_campaign(edition(config), config, from_dsn(smtp.dsn(connections=2)))
    assert summary.counts["sent"] == 6 and len(smtp.handler.messages) == 6

    def dns(name: bytes, timeout: int = 5) -> bytes:
        return record if name == b"infolettre._domainkey.reseaucitesdesmetiers.com." else b""

    for _, raw in smtp.handler.messages:
        assert dkim.verify(raw, dnsfunc=dns)


def _join(config, addresses: list[str], lang: str = "fr") -> None:
    """Subscribers who join after the campaign started."""
    with Store(config.db) as store, store.transaction():
        for address in addresses:
            store.insert(address, name="Nouveau", lang=lang, consent_source="test")


def test_a_resumed_campaign_counts_who_joined_and_include_new_adds_them_once(
        tmp_path: Path, db: Database) -> None:
    config = sending_config(tmp_path, db)
    populate(config, 6)
    transport = from_dsn(config.transport)
    send_campaign(edition(config), config, transport)
    _join(config, ["nouveau1@example.org", "nouveau2@example.org", "nouveau3@example.org"])
    _join(config, ["other@example.org"], lang="en")
    # the campaign's audience is everyone: every newcomer counts, whatever the language
    with Store(config.db) as store:
        assert Journal(store).newcomers(Journal(store).find("2018-06")) == 4
    again = send_campaign(edition(config), config, transport)
    assert again.newcomers == 4 and again.added == 0
    assert sum(again.this_run.values()) == 0
    added = send_campaign(edition(config), config, transport, include_new=True)
    assert added.added == 4 and added.newcomers == 0 and added.counts["sent"] == 10
    once = send_campaign(edition(config), config, transport, include_new=True)
    assert once.added == 0 and sum(once.this_run.values()) == 0
    files = list((tmp_path / "outbox" / "new").iterdir())
    recipients = [email.message_from_bytes(f.read_bytes())["To"] for f in files]
    assert len(recipients) == len(set(recipients)) == 10


def test_include_new_keeps_the_campaigns_audience(tmp_path: Path, db: Database) -> None:
    config = sending_config(tmp_path, db)
    populate(config, 8)
    transport = from_dsn(config.transport)
    first = send_campaign(edition(config), config, transport, audience=Audience(lang="en"))
    assert first.counts["sent"] == 2
    _join(config, ["new-fr@example.org"])
    _join(config, ["new-en@example.org"], lang="en")
    summary = send_campaign(edition(config), config, transport, audience=Audience(lang="en"),
                            include_new=True)
    assert summary.added == 1 and summary.counts["sent"] == 3
    with Store(config.db) as store:
        assert Journal(store).newcomers(Journal(store).find("2018-06")) == 0



# -- images checked at their public address before sending ------------------------------

class _Site:
    """The folder ``root`` served on loopback; HEAD refused with 405 if ``no_head``."""

    def __init__(self, root: Path, no_head: bool = False) -> None:
        import functools
        import http.server
        import threading

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_HEAD(self) -> None:
                if no_head:
                    self.send_error(405)
                else:
                    super().do_HEAD()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _publish(site: Path, built) -> None:
    """The edition's assets where its web version would be published."""
    import shutil

    for asset in built.assets:
        target = site / built.slug / str(asset.target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(asset.source, target)


@pytest.mark.parametrize("no_head", [False, True])
def test_published_images_pass_and_missing_ones_are_named(tmp_path: Path,
                                                          no_head: bool) -> None:
    from dataclasses import replace

    from infolettre.delivery.preflight import broken_images, image_urls

    built = edition(sending_config(tmp_path))
    assert built.assets  # the sample has an image: the check has something to find
    site = _Site(tmp_path / "site", no_head)
    try:
        config = sending_config(tmp_path, base_url=site.url)
        (tmp_path / "site").mkdir()
        missing = broken_images(built, config, timeout=2)
        assert [url for url, _ in missing] == image_urls(built, config)
        assert all("404" in why for _, why in missing)
        _publish(tmp_path / "site", built)
        assert broken_images(built, config, timeout=2) == []
    finally:
        site.close()
    unreachable = replace(config, base_url=site.url)  # the server is gone now
    assert len(broken_images(built, unreachable, timeout=1)) == len(built.assets)
