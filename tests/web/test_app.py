"""serve: the running service on loopback — unsubscribe, subscription, webhooks, archive."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from infolettre.audience import consent as sub
from infolettre.store import Store

from ..service import Service, start_service, status_of, subscriber, token

WEBHOOK_SECRET = "webhook-secret-for-tests"
MAILGUN_KEY = "mailgun-signing-key"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            sendgrid_key) -> Iterator[Service]:
    """The service on each engine: its tokens, rate limits and webhook replays are the
    database's."""
    folder = tmp_path_factory.mktemp("service")
    db = (request.getfixturevalue("postgres_server").migrated()
          if request.param == "postgresql" else None)
    # Trusting the test's own address as a proxy lets a test choose its client address.
    svc = start_service(folder, {"INFOLETTRE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                                 "INFOLETTRE_MAILGUN_SIGNING_KEY": MAILGUN_KEY,
                                 "INFOLETTRE_SENDGRID_PUBLIC_KEY": sendgrid_key[1]},
                        args=("--forwarded-allow-ips", "127.0.0.1"), publish=("2018-06",),
                        db=db)
    yield svc
    svc.stop()


@pytest.fixture
def client(service: Service) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=30) as c:
        yield c


# -- one-click unsubscribe ---------------------------------------------------------------

@pytest.mark.parametrize("multipart", [False, True])
def test_one_click_post_unsubscribes_at_once(service, client, multipart: bool) -> None:
    who = subscriber(service)
    url = f"/unsubscribe/{token(service, sub.UNSUBSCRIBE, who)}"
    if multipart:
        response = client.post(url, files={"List-Unsubscribe": (None, "One-Click")})
    else:
        response = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert status_of(service, who.email) == "unsubscribed"
    with Store(service.db) as store:
        assert ("unsubscribed", "one-click (RFC 8058)") in [
            (k, d) for _, k, d in store.events(who.email)]


def test_get_shows_a_page_and_changes_nothing(service, client) -> None:
    who = subscriber(service, lang="en")
    response = client.get(f"/unsubscribe/{token(service, sub.UNSUBSCRIBE, who)}")
    assert response.status_code == 200 and '<html lang="en">' in response.text
    assert "Unsubscribe me" in response.text and 'method="post"' in response.text
    assert status_of(service, who.email) == "active"
    form = client.post(f"/unsubscribe/{token(service, sub.UNSUBSCRIBE, who)}",
                       data={"confirm": "yes"})
    assert "will not receive the newsletter" in form.text
    assert status_of(service, who.email) == "unsubscribed"


def test_forged_or_altered_tokens_change_nothing(service, client) -> None:
    who, other = subscriber(service), subscriber(service)
    good = token(service, sub.UNSUBSCRIBE, who)
    sid, sig = good.split(".")
    for bad in (f"{sid}.{sig[:-1]}A" if sig[-1] != "A" else f"{sid}.{sig[:-1]}B",
                f"{other.id}.{sig}", f"{sid}.", "nonsense",
                token(service, sub.CONFIRM, who)):
        response = client.post(f"/unsubscribe/{bad}", data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 400, bad
        assert "Lien non valable" in response.text
    assert status_of(service, who.email) == status_of(service, other.email) == "active"
    assert client.post(f"/unsubscribe/{good}", data={}).status_code == 400  # no one-click body


# -- double opt-in -------------------------------------------------------------------------

def _mails_to(service: Service, address: str) -> list[email.message.Message]:
    folder = service.outbox / "new"
    if not folder.exists():
        return []
    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
             for p in folder.iterdir()]
    return [m for m in mails if m["To"] == address]


def test_double_opt_in_through_the_outbox(service, client) -> None:
    address = f"nouvelle-{time.monotonic_ns()}@example.org"
    response = client.post("/subscribe", data={"email": address, "name": "Nouvelle",
                                                "lang": "fr"}, headers={"X-Test": "1"})
    assert response.status_code == 200 and "Vérifiez votre boîte" in response.text
    assert status_of(service, address) == "pending"
    [mail] = _mails_to(service, address)
    assert mail["Subject"] == "Confirmez votre inscription à l'InfoLettre"
    link = re.search(r"(http://\S+/confirm/\S+)", mail.get_content()).group(1)
    path = link.split(service.url)[1]
    page = client.get(path)
    assert page.status_code == 200 and "Confirmer" in page.text
    assert status_of(service, address) == "pending"  # a GET confirms nothing
    assert client.post(path, data={"confirm": "yes"}).status_code == 200
    assert status_of(service, address) == "active"
    with Store(service.db) as store:
        s = store.get(address)
        assert s.consent_source.startswith("double opt-in from 127.0.0.1") and s.consent_at
    # Same answer, no new mail, for an address already active.
    again = client.post("/subscribe", data={"email": address, "lang": "fr"})
    assert again.text == response.text and len(_mails_to(service, address)) == 1


def test_same_answer_for_known_and_unknown_addresses(service) -> None:
    known = subscriber(service, status="complained")  # gets nothing, and nothing says so
    texts = []
    for address in (known.email, f"inconnu-{time.monotonic_ns()}@example.org"):
        with httpx.Client(base_url=service.url, timeout=30,
                          headers={"X-Forwarded-For": address}) as c:
            texts.append(c.post("/subscribe", data={"email": address}).text)
    assert texts[0] == texts[1]
    assert _mails_to(service, known.email) == []
    assert status_of(service, known.email) == "complained"


def test_invalid_email_is_said_on_the_form(service, client) -> None:
    response = client.post("/subscribe", data={"email": "pas-une-adresse"})
    assert response.status_code == 422 and 'aria-invalid="true"' in response.text


def test_expired_confirmation_link(service, client, monkeypatch) -> None:
    import infolettre.audience.tokens as tokens_module

    who = subscriber(service, status="pending")
    with Store(service.db) as store:
        expired = tokens_module.sign(store.secret, sub.CONFIRM, who.id, who.email, ttl=-10)
    assert client.post(f"/confirm/{expired}", data={"confirm": "yes"}).status_code == 400
    assert status_of(service, who.email) == "pending"


def test_subscription_is_rate_limited(tmp_path: Path) -> None:
    svc = start_service(tmp_path)
    try:
        with httpx.Client(base_url=svc.url, timeout=30) as c:
            codes = [c.post("/subscribe", data={"email": f"r{n}@example.org"}).status_code
                     for n in range(7)]
    finally:
        svc.stop()
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]


# -- preferences -----------------------------------------------------------------------------

def test_preferences_change_the_language(service, client) -> None:
    who = subscriber(service)
    url = f"/preferences/{token(service, sub.PREFERENCES, who)}"
    assert "Vos préférences" in client.get(url).text
    response = client.post(url, data={"lang": "en"})
    assert "Your preferences are saved" in response.text and '<html lang="en">' in response.text
    with Store(service.db) as store:
        assert store.get(who.email).lang == "en"


def test_the_links_a_page_gives_lead_to_the_service(service, client) -> None:
    """The preferences page's unsubscribe link, and the unsubscribe page's way back
    to the form, are addresses the service answers (audience.links writes both)."""
    who = subscriber(service, lang="en")
    page = client.get(f"/preferences/{token(service, sub.PREFERENCES, who)}").text
    [unsubscribe] = re.findall(r'href="([^"]*/unsubscribe/[^"]+)"', page)
    assert unsubscribe.startswith(service.url + "/unsubscribe/")
    done = client.post(unsubscribe.removeprefix(service.url),
                       data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and status_of(service, who.email) == "unsubscribed"
    [back] = re.findall(r'href="([^"]*/subscribe[^"]*)"', done.text)
    assert back == f"{service.url}/subscribe?lang=en"
    form = client.get(back.removeprefix(service.url))
    assert form.status_code == 200 and '<html lang="en">' in form.text


# -- webhooks ----------------------------------------------------------------------------------

def _mailgun(who, event: str, severity: str = "permanent", *, timestamp: str | None = None,
             token_: str | None = None) -> dict:
    timestamp = timestamp or str(int(time.time()))
    token_ = token_ or hashlib.sha256(str(time.monotonic_ns()).encode()).hexdigest()
    signature = hmac.new(MAILGUN_KEY.encode(), (timestamp + token_).encode(),
                         hashlib.sha256).hexdigest()
    return {"signature": {"timestamp": timestamp, "token": token_, "signature": signature},
            "event-data": {"event": event, "severity": severity, "recipient": who.email,
                           "id": f"mg-{token_[:12]}"}}


def test_mailgun_webhook(service, client) -> None:
    who = subscriber(service)
    body = _mailgun(who, "failed")
    tampered = json.loads(json.dumps(body))
    tampered["signature"]["timestamp"] = str(int(time.time()) + 1)
    assert client.post("/webhooks/mailgun", json=tampered).status_code == 401
    assert status_of(service, who.email) == "active"
    response = client.post("/webhooks/mailgun", json=body)
    assert response.status_code == 200 and response.json() == {"applied": 1, "replayed": 0}
    assert status_of(service, who.email) == "bounced"
    assert client.post("/webhooks/mailgun", json=body).status_code == 409  # replayed
    old = _mailgun(subscriber(service), "complained", timestamp=str(int(time.time()) - 3600))
    assert client.post("/webhooks/mailgun", json=old).status_code == 401


def test_sendgrid_webhook(service, client, sendgrid_key) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    who = subscriber(service)
    body = json.dumps([{"email": who.email, "event": "spamreport",
                        "sg_event_id": f"sg-{time.monotonic_ns()}",
                        "timestamp": int(time.time())}]).encode()
    timestamp = str(int(time.time()))
    signature = base64.b64encode(sendgrid_key[0].sign(timestamp.encode() + body,
                                                      ec.ECDSA(hashes.SHA256()))).decode()
    headers = {"X-Twilio-Email-Event-Webhook-Signature": signature,
               "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
               "Content-Type": "application/json"}
    forged = client.post("/webhooks/sendgrid", content=body.replace(b"spamreport", b"open"),
                         headers=headers)
    assert forged.status_code == 401
    assert client.post("/webhooks/sendgrid", content=body, headers=headers).status_code == 200
    assert status_of(service, who.email) == "complained"
    replay = client.post("/webhooks/sendgrid", content=body, headers=headers)
    assert replay.status_code == 409


@pytest.mark.parametrize("provider", ["postmark", "brevo"])
def test_shared_secret_webhooks(service, client, provider: str) -> None:
    who = subscriber(service)
    if provider == "postmark":
        body = {"RecordType": "Bounce", "Type": "HardBounce", "ID": time.monotonic_ns(),
                "Email": who.email, "Description": "The server was unable to deliver"}
        auth = {"Authorization": "Basic " + base64.b64encode(
            f"infolettre:{WEBHOOK_SECRET}".encode()).decode()}
        expected = "bounced"
    else:
        body = {"event": "unsubscribed", "email": who.email, "message-id": f"<{time.time()}>",
                "ts_event": int(time.time())}
        auth = {"Authorization": f"Bearer {WEBHOOK_SECRET}"}
        expected = "unsubscribed"
    wrong = {"Authorization": "Bearer not-the-secret"}
    assert client.post(f"/webhooks/{provider}", json=body, headers=wrong).status_code == 401
    assert client.post(f"/webhooks/{provider}", json=body).status_code == 401
    assert status_of(service, who.email) == "active"
    assert client.post(f"/webhooks/{provider}", json=body, headers=auth).status_code == 200
    assert status_of(service, who.email) == expected
    assert client.post(f"/webhooks/{provider}", json=body, headers=auth).status_code == 409


def test_unknown_webhook(client) -> None:
    assert client.post("/webhooks/pigeon", json={}).status_code == 404


# -- archive -----------------------------------------------------------------------------------

def test_archive_index_issue_and_feed(service, client) -> None:
    index = client.get("/")
    assert index.status_code == 200 and 'href="2018-06/"' in index.text
    assert "InfoLettre — juin 2018" in index.text
    issue = client.get("/2018-06/", follow_redirects=True)  # to its French edition
    assert issue.status_code == 200 and "Nouvelles des CDM" in issue.text
    assert client.get("/2018-06/news/album-ce-matin-la.png").status_code == 200
    feed = ET.fromstring(client.get("/feed.atom").content)
    atom = "{http://www.w3.org/2005/Atom}"
    [entry] = feed.findall(f"{atom}entry")
    assert entry.find(f"{atom}link").get("href") == f"{service.url}/2018-06/"
    assert entry.find(f"{atom}updated").text == "2018-06-29T00:00:00Z"


def test_a_transport_failure_is_a_503_not_a_crash(tmp_path: Path) -> None:
    from ..smtpfake import free_port

    svc = start_service(tmp_path, {
        "INFOLETTRE_TRANSPORT": f"smtp://127.0.0.1:{free_port()}?security=none"})
    try:
        response = httpx.post(f"{svc.url}/subscribe", data={"email": "x@example.org"},
                              timeout=30)
    finally:
        svc.stop()
    assert response.status_code == 503 and "Service indisponible" in response.text


def test_pages_are_accessible(service, client) -> None:
    import lxml.html

    who = subscriber(service)
    pages = ["/subscribe", "/subscribe?lang=en",
             f"/unsubscribe/{token(service, sub.UNSUBSCRIBE, who)}",
             f"/preferences/{token(service, sub.PREFERENCES, who)}", "/unsubscribe/forged.x"]
    for path in pages:
        doc = lxml.html.document_fromstring(client.get(path).text)
        assert doc.get("lang") in ("fr", "en"), path
        assert doc.findtext(".//title").strip(), path
        assert len(doc.findall(".//h1")) == 1, path
        labelled = {label.get("for") for label in doc.iter("label")}
        for field in doc.iter("input", "select"):
            if field.get("type") != "hidden":
                assert field.get("id") in labelled, (path, field.get("name"))
        assert all(b.text_content().strip() for b in doc.iter("button")), path


def test_a_new_issue_appears_in_the_archive_without_a_restart(tmp_path: Path,
                                                              issues: Path) -> None:
    import shutil

    from infolettre.edition.archive import set_published

    svc = start_service(tmp_path, issues=issues, args=("--archive-check", "0.1"),
                        publish=("2018-06",))
    try:
        with httpx.Client(base_url=svc.url, timeout=30) as c:
            assert c.get("/2018-07/").status_code == 404
            shutil.copytree(issues / "2018-06", issues / "2018-07")
            meta = issues / "2018-07" / "issue.md"
            meta.write_text(meta.read_text(encoding="utf-8")
                            .replace("date: 2018-06-29", "date: 2018-07-27")
                            .replace("title: InfoLettre — juin 2018",
                                     "title: InfoLettre — juillet 2018"), encoding="utf-8")
            time.sleep(0.3)
            assert c.get("/2018-07/").status_code == 404  # not sent, not published
            with Store(svc.db) as store:
                set_published(store, "2018-07", True)
            time.sleep(0.3)
            page = c.get("/2018-07/", follow_redirects=True)
            assert page.status_code == 200 and "InfoLettre — juillet 2018" in page.text
            index = c.get("/").text
            assert index.index('href="2018-07/"') < index.index('href="2018-06/"')
    finally:
        svc.stop()
