"""API transports: each provider's contract, faults, and campaigns through its fake."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from infolettre.delivery.journal import Journal
from infolettre.delivery.send import send_campaign, send_proofs
from infolettre.delivery.transports import TransportError, from_dsn
from infolettre.store import Store

from ...providers import FAKES, KEY, dsn, serve
from ...sending import edition, populate, sending_config

PROVIDERS = sorted(FAKES)
FAST = {"retry_base": 0.01}


def campaign(tmp_path: Path, provider: str, fake, count: int, **options: object):
    config = sending_config(tmp_path, reply_to="delegationexecutive@citedesmetiers.fr")
    addresses = populate(config, count)
    transport = from_dsn(dsn(provider, **options), http=httpx.MockTransport(fake))
    summary = send_campaign(edition(config), config, transport, **FAST)
    return config, addresses, summary, transport


@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_recipient_gets_a_personal_message(tmp_path: Path, provider: str) -> None:
    fake = FAKES[provider]()
    config, addresses, summary, transport = campaign(tmp_path, provider, fake, 23, batch=10)
    assert summary.counts["sent"] == 23, summary.troubles
    assert fake.counts == dict.fromkeys(addresses, 1)
    assert fake.requests == transport.calls == 3  # ceil(23 / 10)
    with Store(config.db) as store:
        ids = dict(store.conn.execute(
            "SELECT s.email, d.provider_id FROM deliveries d JOIN subscribers s "
            "ON s.id = d.subscriber_id").fetchall())
        by_email = {s.email: s.id for s in store.select()}
    assert all(ids.values())
    for d in fake.delivered:
        sid = by_email[d["to"]]
        url = f"{config.base_url}/unsubscribe/{sid}."
        assert url in d["html"] and url in d["text"], provider
        assert d["headers"]["List-Unsubscribe"].startswith(f"<{url}")
        assert ">, <mailto:" in d["headers"]["List-Unsubscribe"]
        assert d["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert d["headers"]["List-Id"] == "InfoLettre <infolettre.reseaucitesdesmetiers.com>"
        assert d["correlation"] == f"2018-06:{sid}"
        assert "%%" not in d["html"] and "{{params" not in d["html"]
        web = edition(config).url or f"{config.base_url}/2018-06/"
        assert f'href="{web}"' in d["html"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_batches_fill_to_the_documented_maximum(tmp_path: Path, provider: str) -> None:
    fake = FAKES[provider]()
    count = fake.max_batch + 5
    _, _, summary, transport = campaign(tmp_path, provider, fake, count, connections=1)
    assert summary.counts["sent"] == count
    assert transport.calls == 2 and fake.requests == 2


@pytest.mark.parametrize("provider", PROVIDERS)
def test_throttling_5xx_and_refused_connections_are_retried(tmp_path: Path,
                                                            provider: str) -> None:
    fake = FAKES[provider](script=[429, 500, "refuse", None, 429])
    _, addresses, summary, _ = campaign(tmp_path, provider, fake, 30, batch=8, connections=2)
    assert summary.counts["sent"] == 30 and summary.counts["failed"] == 0
    assert fake.counts == dict.fromkeys(addresses, 1)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_lost_answer_is_in_doubt_except_with_brevo(tmp_path: Path, provider: str) -> None:
    fake = FAKES[provider](script=["drop"])
    _, addresses, summary, _ = campaign(tmp_path, provider, fake, 12, batch=5, connections=1)
    assert fake.counts == dict.fromkeys(addresses, 1)  # everyone got it once
    if provider == "brevo":  # the same idempotencyKey again: no second delivery
        assert summary.counts["sent"] == 12 and summary.counts["in_doubt"] == 0
    else:
        assert summary.counts["in_doubt"] == 5 and summary.counts["sent"] == 7
        assert all(state == "in_doubt" and "no answer" in detail
                   for _, state, _, detail in summary.troubles)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_refused_key_stops_the_campaign_and_marks_nobody(tmp_path: Path,
                                                           provider: str) -> None:
    fake = FAKES[provider](script=[None, 401])
    config, _, summary, _ = campaign(tmp_path, provider, fake, 15, batch=5, connections=1)
    assert "refused the API key" in summary.stopped and "HTTP 401" in summary.stopped
    assert summary.counts["failed"] == 0 and summary.counts["in_flight"] == 0
    assert summary.counts["sent"] == 5 and summary.counts["pending"] == 10
    with Store(config.db) as store:
        assert store.count("active") == 15


def test_postmark_inactive_recipient_is_marked_bounced(tmp_path: Path) -> None:
    config = sending_config(tmp_path)
    addresses = populate(config, 6)
    fake = FAKES["postmark"](inactive={addresses[2]})
    transport = from_dsn(dsn("postmark"), http=httpx.MockTransport(fake))
    summary = send_campaign(edition(config), config, transport)
    assert summary.counts["sent"] == 5 and summary.counts["failed"] == 1
    assert "postmark 406" in summary.troubles[0][3]
    with Store(config.db) as store:
        assert store.get(addresses[2]).status == "bounced"


def test_postmark_batches_stay_under_50_mb(tmp_path: Path) -> None:
    transport = from_dsn(dsn("postmark"))
    config = sending_config(tmp_path)
    from infolettre.delivery.message import MessageFactory

    content = MessageFactory(edition(config), config, "2018-06", b"k").content()
    big = content.__class__(**{**content.__dict__, "html": content.html * 20})
    transport.fit(big)
    assert transport.batch_size < 500
    assert transport.batch_size * (len(big.html.encode()) + len(big.text.encode())) \
        < 50 * 1024 * 1024


def test_brevo_idempotency_key_is_deterministic(tmp_path: Path) -> None:
    from infolettre.delivery.message import MessageFactory, Recipient
    from infolettre.delivery.transports.providers import BrevoTransport

    config = sending_config(tmp_path)
    factory = MessageFactory(edition(config), config, "2018-06", b"k")
    batch = [factory.outgoing(Recipient(n, f"a{n}@example.org")) for n in range(3)]
    key = BrevoTransport.idempotency_key(factory.content(), batch)
    assert key == BrevoTransport.idempotency_key(factory.content(), list(batch))
    assert key != BrevoTransport.idempotency_key(factory.content(), batch[:2])


@pytest.mark.parametrize("provider", PROVIDERS)
def test_over_real_http_on_loopback(tmp_path: Path, provider: str) -> None:
    fake = FAKES[provider]()
    server = serve(fake)
    try:
        base = {"postmark": ""}.get(provider, "/v3")
        url = f"http://127.0.0.1:{server.server_address[1]}{base}"
        config = sending_config(tmp_path)
        addresses = populate(config, 9)
        transport = from_dsn(dsn(provider, base_url=url, batch=4))
        summary = send_campaign(edition(config), config, transport)
    finally:
        server.shutdown()
    assert summary.counts["sent"] == 9 and fake.counts == dict.fromkeys(addresses, 1)


def test_proofs_through_an_api(tmp_path: Path) -> None:
    fake = FAKES["sendgrid"]()
    config = sending_config(tmp_path)
    transport = from_dsn(dsn("sendgrid"), http=httpx.MockTransport(fake))
    results = send_proofs(edition(config), config, transport, ["relecture@example.org"])
    assert results[0][1].outcome.value == "sent"
    assert fake.delivered[0]["to"] == "relecture@example.org"
    with Store(config.db) as store:
        assert Journal(store).find("2018-06") is None


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_confirmation_through_each_api_even_in_batches_of_one(tmp_path: Path,
                                                                 provider: str) -> None:
    """An API never takes MIME, whatever its batch size: a notice goes as its content."""
    from infolettre.delivery.notices import send_notice

    fake = FAKES[provider]()
    transport = from_dsn(dsn(provider, batch=1), http=httpx.MockTransport(fake))
    text = "Confirmez votre inscription :\n\nhttps://example.org/confirm/abc\n"
    result = send_notice(sending_config(tmp_path), transport, "anne@example.org",
                         "Confirmez votre inscription", text, "fr")
    assert result.outcome.value == "sent", result.detail
    [delivered] = fake.delivered
    assert delivered["to"] == "anne@example.org" and delivered["text"] == text
    assert "https://example.org/confirm/abc" in delivered["html"]


@pytest.mark.parametrize(("value", "message"), [
    ("brevo+api://default", "no API key"),
    ("mailgun+api://key@default", "give the sending domain"),
    ("mailgun+api://key@mg.example.org?region=asia", "region must be us or eu"),
    ("sendgrid+api://key@default?batchsize=10", "did you mean 'batch'"),
])
def test_bad_api_dsns(value: str, message: str) -> None:
    with pytest.raises(TransportError, match=message):
        from_dsn(value)


def test_key_from_the_environment_named_in_the_configuration(tmp_path: Path) -> None:
    from infolettre.config import load_config

    conf = tmp_path / "infolettre.toml"
    conf.write_text('api_key_env = "BREVO_KEY"\ntransport = "brevo+api://default"\n',
                    encoding="utf-8")
    config = load_config(conf, env={"BREVO_KEY": KEY})
    transport = from_dsn(config.transport, config.secrets)
    assert transport.key == KEY and KEY not in transport.describe()
    assert from_dsn("mailgun+api://k@mg.example.org?region=eu").base_url == \
        "https://api.eu.mailgun.net/v3"


def test_send_command_with_an_api_transport(tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    from infolettre.cli import cli

    from ...conftest import SAMPLE

    fake = FAKES["brevo"]()
    server = serve(fake)
    config = sending_config(tmp_path)
    populate(config, 5, langs=("fr",))  # one edition: one request
    monkeypatch.setenv("INFOLETTRE_DB", str(config.db))
    try:
        port = server.server_address[1]
        result = CliRunner().invoke(cli, [
            "send", str(SAMPLE), "--yes", "--skip-image-check", "--transport",
            f"brevo+api://{KEY}@default?base_url=http://127.0.0.1:{port}/v3"])
    finally:
        server.shutdown()
    assert result.exit_code == 0, result.output
    assert "5 sent" in result.output and "1 HTTP requests" in result.output
    assert len(fake.delivered) == 5


def test_rate_limit_reset_headers() -> None:
    from infolettre.delivery.transports.http import HttpReply
    from infolettre.delivery.transports.providers import BrevoTransport, SendgridTransport

    brevo = from_dsn(dsn("brevo"))
    assert isinstance(brevo, BrevoTransport)
    assert brevo.retry_after(HttpReply(429, {"x-sib-ratelimit-reset": "12"}, {})) == 12
    sendgrid = from_dsn(dsn("sendgrid"))
    assert isinstance(sendgrid, SendgridTransport)
    import time

    wait = sendgrid.retry_after(HttpReply(429, {"x-ratelimit-reset": str(time.time() + 30)}, {}))
    assert 28 < wait <= 30
    assert sendgrid.retry_after(HttpReply(429, {"retry-after": "7"}, {})) == 7
