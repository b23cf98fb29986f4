"""The web service under attack: forged and malformed webhooks, cross-site forms, spoofed
client addresses, huge bodies, odd tokens, HEAD requests, framing, unpublished issues.

Most tests drive the application in process (Starlette's TestClient); those about the
server itself (proxy headers, streamed bodies, memory) run ``infolettre serve`` on
127.0.0.1.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import select
import socket
import time
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from infolettre.audience import consent as sub
from infolettre.audience.tokens import sign, verify
from infolettre.cli import cli
from infolettre.config import Config
from infolettre.delivery.journal import Journal
from infolettre.store import Store
from infolettre.web.app import create_app

from ..conftest import ROOT
from ..service import Service, start_service, status_of, subscriber, token

with warnings.catch_warnings():  # Starlette would rather have httpx2, which is not installed
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.hostile

MAILGUN_KEY = "mailgun-signing-key"
WEBHOOK_SECRET = "webhook-secret"
BASIC = {"Authorization": "Basic " + base64.b64encode(
    f"infolettre:{WEBHOOK_SECRET}".encode()).decode()}
BEARER = {"Authorization": f"Bearer {WEBHOOK_SECRET}"}
BASE = "http://testserver"
CROSS_SITE = [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
              {"Sec-Fetch-Site": "same-site", "Origin": "https://www.testserver"},
              {"Origin": "null"}]


def _config(folder: Path, sendgrid_public: str = "", issues: Path | None = None) -> Config:
    return Config(base_url=BASE, issues_dir=issues or ROOT / "issues", db=folder / "db.sqlite",
                  transport=f"outbox://{folder / 'outbox'}", cache_dir=folder / "cache",
                  secrets={"INFOLETTRE_MAILGUN_SIGNING_KEY": MAILGUN_KEY,
                           "INFOLETTRE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                           "INFOLETTRE_SENDGRID_PUBLIC_KEY": sendgrid_public})


@pytest.fixture
def config(tmp_path: Path, sendgrid_key) -> Config:
    return _config(tmp_path, sendgrid_key[1])


@pytest.fixture
def client(config: Config, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(config, tmp_path / "archive", archive_interval=0, archive_pdf=False)
    with TestClient(app, base_url=BASE, raise_server_exceptions=False) as c:
        yield c


# -- item 2: Mailgun signatures, malformed bodies, SendGrid ids ------------------------------

def _signature(timestamp: str, token_: str | None = None) -> dict:
    token_ = token_ or hashlib.sha256(str(time.monotonic_ns()).encode()).hexdigest()
    mac = hmac.new(MAILGUN_KEY.encode(), (timestamp + token_).encode(), hashlib.sha256)
    return {"timestamp": timestamp, "token": token_, "signature": mac.hexdigest()}


def _event(address: str, event: str = "complained") -> dict:
    return {"event": event, "severity": "permanent", "recipient": address,
            "id": f"mg-{time.monotonic_ns()}"}


def test_a_captured_mailgun_signature_cannot_carry_another_event(config, client) -> None:
    victim, other = subscriber(config), subscriber(config)
    signature = _signature(str(int(time.time())))
    first = client.post("/webhooks/mailgun", json={"signature": signature,
                                                   "event-data": _event(victim.email)})
    assert first.status_code == 200 and status_of(config, victim.email) == "complained"
    reused = client.post("/webhooks/mailgun", json={"signature": signature,
                                                    "event-data": _event(other.email)})
    assert reused.status_code == 409
    assert status_of(config, other.email) == "active"
    with Store(config.db) as store, store.transaction():  # pruned once expired
        store.conn.execute("UPDATE webhook_events SET at = '2000-01-01T00:00:00+00:00' "
                           "WHERE provider = 'mailgun-token'")
    client.post("/webhooks/mailgun", json={"signature": _signature(str(int(time.time()))),
                                           "event-data": _event(other.email, "opened")})
    with Store(config.db) as store:
        left = store.conn.execute("SELECT count(*) FROM webhook_events WHERE provider = "
                                  "'mailgun-token' AND at < '2001'").fetchone()[0]
    assert left == 0


@pytest.mark.parametrize("timestamp", ["nan", "NaN", "inf", "-inf", "1e10", " 17e8",
                                       "٣٣٣٣٣٣٣٣٣٣", "abc", "", str(int(time.time()) + 3600),
                                       str(10**30)])
def test_mailgun_timestamps_must_be_plain_recent_numbers(config, client, timestamp) -> None:
    who = subscriber(config)
    body = {"signature": _signature(timestamp), "event-data": _event(who.email)}
    assert client.post("/webhooks/mailgun", json=body).status_code == 401
    assert status_of(config, who.email) == "active"


def _signed_sendgrid(key, body: bytes) -> dict[str, str]:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    timestamp = str(int(time.time()))
    signature = base64.b64encode(key.sign(timestamp.encode() + body,
                                          ec.ECDSA(hashes.SHA256()))).decode()
    return {"X-Twilio-Email-Event-Webhook-Signature": signature,
            "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
            "Content-Type": "application/json"}


DEEP = b"[" * 100_000
MALFORMED: list[object] = [
    {"signature": "x"}, {"signature": None}, {"signature": []}, [], "text", 12, None,
    {"signature": {"timestamp": [], "token": {}, "signature": 1}},
]


@pytest.mark.parametrize("body", [json.dumps(b).encode() for b in MALFORMED]
                         + [DEEP, b"\xff\xfe\x00garbage", b"{", b""])
def test_malformed_mailgun_calls_are_400(config, client, body: bytes) -> None:
    assert client.post("/webhooks/mailgun", content=body).status_code == 400


def _mailgun_signed(event_data: object) -> bytes:
    return json.dumps({"signature": _signature(str(int(time.time()))),
                       "event-data": event_data}).encode()


@pytest.mark.parametrize("event_data", [
    [], "complained", 3, {"event": "failed", "delivery-status": "x", "recipient": "a@b.org"},
    {"event": "failed", "recipient": ["a@b.org"]}, {"event": ["failed"]},
    {"event": "complained", "recipient": {"x": 1}}, {"event": "failed", "reason": {}},
])
def test_signed_mailgun_calls_with_odd_event_data_are_400(config, client, event_data) -> None:
    response = client.post("/webhooks/mailgun", content=_mailgun_signed(event_data))
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("body", [b"[1, 2]", b'{"event": "bounce"}', b'["x"]',
                                  b'[{"event": "bounce", "email": ["a@b.org"]}]',
                                  b'[{"event": {}, "email": "a@b.org"}]', DEEP, b"\xff\xfe"])
def test_malformed_sendgrid_calls_are_400(client, sendgrid_key, body: bytes) -> None:
    headers = _signed_sendgrid(sendgrid_key[0], body)
    assert client.post("/webhooks/sendgrid", content=body, headers=headers).status_code == 400


COMMON = [b"[1]", b'"x"', b"3", b"null", DEEP, b"\xff\xfe", b"{"]
SHARED_SECRET_MALFORMED = [
    *(("postmark", b) for b in COMMON), *(("brevo", b) for b in COMMON),
    ("postmark", b'{"RecordType": "Bounce", "Email": ["a@b.org"]}'),
    ("postmark", b'{"RecordType": ["Bounce"]}'),
    ("postmark", b'{"RecordType": "SpamComplaint", "Email": {}}'),
    ("brevo", b'{"event": "hard_bounce", "email": {"a": 1}}'),
    ("brevo", b'[{"event": "spam", "email": 5}]'), ("brevo", b'{"event": []}'),
]


@pytest.mark.parametrize(("provider", "body"), SHARED_SECRET_MALFORMED)
def test_malformed_shared_secret_calls_are_400(client, provider: str, body: bytes) -> None:
    response = client.post(f"/webhooks/{provider}", content=body, headers=BEARER)
    assert response.status_code == 400, response.text


def test_sendgrid_events_without_an_id_are_not_replays_of_each_other(config, client,
                                                                     sendgrid_key) -> None:
    one, two = subscriber(config), subscriber(config)
    body = json.dumps([{"email": one.email, "event": "spamreport", "timestamp": 1},
                       {"email": two.email, "event": "bounce", "timestamp": 2}]).encode()
    response = client.post("/webhooks/sendgrid", content=body,
                           headers=_signed_sendgrid(sendgrid_key[0], body))
    assert response.json() == {"applied": 2, "replayed": 0}
    assert (status_of(config, one.email), status_of(config, two.email)) == (
        "complained", "bounced")
    third = subscriber(config)
    later = json.dumps([{"email": third.email, "event": "spamreport", "timestamp": 3}]).encode()
    again = client.post("/webhooks/sendgrid", content=later,
                        headers=_signed_sendgrid(sendgrid_key[0], later))
    assert again.status_code == 200 and status_of(config, third.email) == "complained"


# -- item 4: cross-site forms, the real client address, the same answer ---------------------

def test_cross_site_form_posts_are_refused(config, client) -> None:
    for headers in CROSS_SITE:
        address = f"csrf-{time.monotonic_ns()}@example.org"
        response = client.post("/subscribe", data={"email": address}, headers=headers)
        assert response.status_code == 403, headers
        with Store(config.db) as store:
            assert store.get(address) is None
        pending = subscriber(config, "pending")
        url = f"/confirm/{token(config, sub.CONFIRM, pending)}"
        assert client.post(url, data={"confirm": "yes"}, headers=headers).status_code == 403
        assert status_of(config, pending.email) == "pending"
        who = subscriber(config)
        url = f"/unsubscribe/{token(config, sub.UNSUBSCRIBE, who)}"
        assert client.post(url, data={"confirm": "yes"}, headers=headers).status_code == 403
        url = f"/preferences/{token(config, sub.PREFERENCES, who)}"
        assert client.post(url, data={"lang": "en"}, headers=headers).status_code == 403
        with Store(config.db) as store:
            assert store.get(who.email).lang == "fr" and store.get(who.email).status == "active"


@pytest.mark.parametrize("headers", [{}, {"Sec-Fetch-Site": "same-origin"},
                                     {"Sec-Fetch-Site": "none"}, {"Origin": BASE},
                                     {"Origin": BASE, "Sec-Fetch-Site": "same-origin"}])
def test_same_origin_and_non_browser_posts_work(config, client, headers) -> None:
    pending = subscriber(config, "pending")
    url = f"/confirm/{token(config, sub.CONFIRM, pending)}"
    assert client.post(url, data={"confirm": "yes"}, headers=headers).status_code == 200
    assert status_of(config, pending.email) == "active"


@pytest.mark.parametrize("headers", [{}, *CROSS_SITE])
def test_one_click_unsubscribe_needs_only_its_token(config, client, headers) -> None:
    who = subscriber(config)
    url = f"/unsubscribe/{token(config, sub.UNSUBSCRIBE, who)}"
    response = client.post(url, data={"List-Unsubscribe": "One-Click"}, headers=headers)
    assert response.status_code == 200 and status_of(config, who.email) == "unsubscribed"


def test_the_same_page_whether_or_not_a_confirmation_was_sent(config, client) -> None:
    address = f"bomb-{time.monotonic_ns()}@example.org"
    pages = [client.post("/subscribe", data={"email": address}) for _ in range(3)]
    assert [p.status_code for p in pages] == [200] * 3
    assert pages[0].text == pages[1].text == pages[2].text


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("hostile-service")
    svc = start_service(folder, {"INFOLETTRE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                                 "INFOLETTRE_MAILGUN_SIGNING_KEY": MAILGUN_KEY})
    yield svc
    svc.stop()


def test_rotating_x_forwarded_for_does_not_escape_the_rate_limit(server) -> None:
    codes = []
    with httpx.Client(base_url=server.url, timeout=30) as c:
        for n in range(7):
            codes.append(c.post("/subscribe", data={"email": f"xff{n}@example.org"},
                                headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code)
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]


# -- item 8: bounded request bodies -------------------------------------------------------------

def _rss_peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def _raw_post(url: str, path: str, headers: dict[str, str], *, total: int = 0,
              announce: int | None = None) -> tuple[int, int]:
    """POST ``total`` bytes in 64 KiB chunks (or announce ``announce`` bytes and send none).

    Returns the status the server answered and how many bytes it was sent: it may
    answer, and close, before the body is over.
    """
    host, port = url.removeprefix("http://").split(":")
    kind = "application/json" if path.startswith("/webhooks/") else \
        "application/x-www-form-urlencoded"
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Type: {kind}",
             *(f"{k}: {v}" for k, v in headers.items())]
    lines.append(f"Content-Length: {announce}" if announce is not None
                 else "Transfer-Encoding: chunked")
    sent = 0
    with socket.create_connection((host, int(port)), timeout=20) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        chunk = b"[" + b" " * (64 * 1024 - 1) if "json" in kind else b"a" * 64 * 1024
        while announce is None and sent < total:
            if select.select([s], [], [], 0)[0]:
                break  # the server answered already
            try:
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        else:
            if announce is None:
                s.sendall(b"0\r\n\r\n")
        answer = b""
        while b"\r\n" not in answer:
            try:
                data = s.recv(4096)
            except ConnectionResetError:
                break
            if not data:
                break
            answer += data
    return int(answer.split(b" ")[1]), sent


def test_a_huge_announced_body_is_refused_at_once(server) -> None:
    for path, headers in (("/webhooks/postmark", {}), ("/webhooks/mailgun", {}),
                          ("/subscribe", {}), ("/webhooks/postmark", BASIC)):
        status, _ = _raw_post(server.url, path, headers, announce=10**9)
        assert status == 413, path


def test_a_streamed_body_is_cut_at_the_limit_without_memory_growth(server) -> None:
    before = _rss_peak_kib(server.process.pid)
    status, sent = _raw_post(server.url, "/webhooks/mailgun", {}, total=50 * 2**20)
    assert status == 413 and sent < 20 * 2**20
    status, sent = _raw_post(server.url, "/webhooks/postmark", BASIC, total=50 * 2**20)
    assert status == 413 and sent < 20 * 2**20
    status, sent = _raw_post(server.url, "/subscribe", {}, total=50 * 2**20)
    assert status == 413 and sent < 20 * 2**20
    # Without credentials, Postmark's call is refused before its body is read.
    status, sent = _raw_post(server.url, "/webhooks/postmark", {}, total=50 * 2**20)
    assert status == 401 and sent < 20 * 2**20
    assert _rss_peak_kib(server.process.pid) - before < 12 * 1024
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_body_limits_in_process(config, client) -> None:
    big = b"[" + b" " * (6 * 2**20)
    assert client.post("/webhooks/brevo", content=big, headers=BEARER).status_code == 413
    form = {"email": "a@example.org", "name": "x" * 70_000}
    assert client.post("/subscribe", data=form).status_code == 413
    who = subscriber(config)
    url = f"/unsubscribe/{token(config, sub.UNSUBSCRIBE, who)}"
    upload = client.post(url, data={"List-Unsubscribe": "One-Click"},
                         files={"f": ("f.bin", b"x" * 1000)})
    assert upload.status_code == 400  # a form never carries files
    assert status_of(config, who.email) == "active"


# -- item 9: odd tokens, HEAD, framing, unpublished issues ------------------------------------

@pytest.mark.parametrize("shape", ["{sid}٣.{mac}", "{sid}.{mac}٣", "١٢.{mac}", "１２.{mac}",
                                   "1.١٧٠٠٠٠٠٠٠٠.{mac}", "1.１７００００００００.{mac}",
                                   "1.{long}.{mac}", "{long}.{mac}", "-1.{mac}",
                                   "1." + "9" * 5000 + ".{mac}"])
def test_odd_tokens_are_a_400(config, client, shape: str) -> None:
    who = subscriber(config)
    sid, mac = token(config, sub.UNSUBSCRIBE, who).split(".")
    forged = shape.format(sid=sid, mac=mac, long="7" * 5000)
    for path in ("unsubscribe", "confirm", "preferences"):
        response = client.post(f"/{path}/{forged}", data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 400, (path, forged[:40])
    assert status_of(config, who.email) == "active"


def test_verify_reads_only_ascii_digits() -> None:
    key = b"k" * 32
    good = sign(key, "p", 12, "a@example.org")
    assert verify(key, "p", good, lambda s: "a@example.org") == "12"
    mac = good.split(".")[1]
    for bad in (f"١٢.{mac}", f"１２.{mac}", f"12.١.{mac}", f"{'1' * 5000}.{mac}",
                f"12.{'9' * 5000}.{mac}", f"12.{mac * 200}"):
        assert verify(key, "p", bad, lambda s: "a@example.org") is None


def test_head_answers_like_get_and_changes_nothing(config, client) -> None:
    pending = subscriber(config, "pending")
    paths = ["/subscribe", f"/confirm/{token(config, sub.CONFIRM, pending)}",
             f"/unsubscribe/{token(config, sub.UNSUBSCRIBE, pending)}",
             f"/preferences/{token(config, sub.PREFERENCES, pending)}", "/healthz",
             "/unsubscribe/1.forged"]
    for path in paths:
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code, path
        assert head.content == b"", path
        for name in ("content-type", "content-length", "content-security-policy",
                     "x-frame-options", "cache-control"):
            assert head.headers.get(name) == get.headers.get(name), (path, name)
    assert status_of(config, pending.email) == "pending"  # HEAD confirmed nothing


def _publish(config: Config, slug: str) -> None:
    result = CliRunner().invoke(cli, ["archive", "--publish", slug],
                                env={"INFOLETTRE_DB": str(config.db),
                                     "INFOLETTRE_CONFIG": _toml(config)})
    assert result.exit_code == 0, result.output


def _toml(config: Config) -> str:
    path = config.db.parent / "infolettre.toml"
    path.write_text(f'base_url = "{config.base_url}"\nissues_dir = "{config.issues_dir}"\n'
                    f'db = "{config.db}"\n', encoding="utf-8")
    return str(path)


def test_every_response_forbids_framing_and_sniffing(config, client) -> None:
    _publish(config, "2018-06")
    who = subscriber(config)
    paths = ["/", "/feed.atom", "/2018-06/", "/2018-06/style.css", "/no-such-page",
             "/subscribe", f"/preferences/{token(config, sub.PREFERENCES, who)}",
             "/unsubscribe/forged", "/healthz"]
    responses = [client.get(p) for p in paths]
    responses.append(client.post("/webhooks/mailgun", content=b"{"))
    responses.append(client.post("/webhooks/pigeon", content=b"{}"))
    for response in responses:
        where = response.request.url.path
        assert response.headers.get("x-content-type-options") == "nosniff", where
        assert response.headers.get("x-frame-options") == "DENY", where
        assert "frame-ancestors 'none'" in response.headers.get("content-security-policy",
                                                                ""), where


def _feed_slugs(client: TestClient) -> list[str]:
    feed = ET.fromstring(client.get("/feed.atom").content)
    atom = "{http://www.w3.org/2005/Atom}"
    return [e.find(f"{atom}link").get("href").rstrip("/").rsplit("/", 1)[1]
            for e in feed.findall(f"{atom}entry")]


def test_an_issue_not_sent_is_not_in_the_archive(config, client) -> None:
    assert client.get("/2018-06/").status_code == 404
    assert 'href="2018-06/"' not in client.get("/").text and _feed_slugs(client) == []
    # A campaign started whose rows are not sent yet does not publish it either.
    who = subscriber(config)
    with Store(config.db) as store:
        campaign, _ = Journal(store).campaign("2018-06", "subject", {})
    assert client.get("/2018-06/").status_code == 404
    with Store(config.db) as store, store.transaction():
        store.conn.execute("UPDATE deliveries SET state = 'sent' WHERE campaign_id = ? "
                           "AND subscriber_id = ?", (campaign.id, who.id))
    assert client.get("/2018-06/").status_code == 200
    assert _feed_slugs(client) == ["2018-06"]


def test_the_editors_publish_and_withdraw_an_issue(config, client, tmp_path) -> None:
    assert client.get("/2018-06/").status_code == 404
    _publish(config, "2018-06")
    assert client.get("/2018-06/").status_code == 200 and _feed_slugs(client) == ["2018-06"]
    env = {"INFOLETTRE_CONFIG": _toml(config)}
    result = CliRunner().invoke(cli, ["archive", "--unpublish", "2018-06"], env=env)
    assert result.exit_code == 0, result.output
    assert client.get("/2018-06/").status_code == 404 and _feed_slugs(client) == []
    out = tmp_path / "static"
    result = CliRunner().invoke(cli, ["archive", "--out", str(out)], env=env)
    assert result.exit_code == 0 and not (out / "2018-06").exists()
    assert "2018-06" in result.output  # says it was left out, and how to publish it
    unknown = CliRunner().invoke(cli, ["archive", "--publish", "2099-01"], env=env)
    assert unknown.exit_code != 0 and "2099-01" in unknown.output
