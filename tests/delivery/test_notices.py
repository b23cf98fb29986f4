"""notices: one-off messages go out through any transport, assembled like a campaign's,
DKIM-signed when a key is set."""

from __future__ import annotations

import base64
import email
import email.policy
from pathlib import Path

import httpx

from infolettre.delivery.notices import send_notice
from infolettre.delivery.transports import from_dsn

from ..providers import BrevoFake, dsn
from ..sending import sending_config


def _key() -> tuple[str, bytes]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def _sent(outbox: Path) -> bytes:
    files = list((outbox / "new").iterdir())
    assert len(files) == 1
    return files[0].read_bytes()


def test_a_notice_is_signed_when_a_key_is_set(tmp_path: Path) -> None:
    import dkim

    pem, record = _key()
    config = sending_config(tmp_path, dkim_domain="reseaucitesdesmetiers.com",
                            dkim_selector="infolettre", secrets={"INFOLETTRE_DKIM_KEY": pem})
    text = "Confirmez votre inscription :  \n\nhttps://example.org/confirm/abc   \n\n\n"
    result = send_notice(config, from_dsn(config.transport), "anne@example.org",
                         "Confirmez votre inscription à l’InfoLettre", text, "fr")
    assert result.outcome.value == "sent"
    raw = _sent(tmp_path / "outbox")  # a Maildir file: LF line ends, delivery headers added
    assert b"\nDKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;" in raw

    def dns(name: bytes, timeout: int = 5) -> bytes:
        return record if name == b"infolettre._domainkey.reseaucitesdesmetiers.com." else b""

    assert dkim.verify(raw.replace(b"\n", b"\r\n"), dnsfunc=dns)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Auto-Submitted"] == "auto-generated"


def test_a_notice_without_a_key_is_not_signed(tmp_path: Path) -> None:
    config = sending_config(tmp_path)
    send_notice(config, from_dsn(config.transport), "anne@example.org", "Sujet", "Texte", "fr")
    assert b"DKIM-Signature" not in _sent(tmp_path / "outbox")


def test_a_confirmation_goes_through_an_api_sending_batches_of_one(tmp_path: Path) -> None:
    """``brevo+api://KEY@default?batch=1``: an API is not a MIME transport for having a
    batch size of one (the notice failed: "brevo sends batches, not MIME messages")."""
    fake = BrevoFake()
    transport = from_dsn(dsn("brevo", batch=1), http=httpx.MockTransport(fake))
    assert transport.batch_size == 1
    text = "Confirmez votre inscription :\n\nhttps://example.org/confirm/abc\n"
    result = send_notice(sending_config(tmp_path), transport, "anne@exämple.org",
                         "Confirmez votre inscription", text, "fr")
    assert result.outcome.value == "sent", result.detail
    assert not transport.takes_mime
    [delivered] = fake.delivered
    assert delivered["to"] == "anne@xn--exmple-cua.org"
    assert delivered["text"] == text and "https://example.org/confirm/abc" in delivered["html"]
    assert delivered["subject"] == "Confirmez votre inscription"


def test_every_notice_through_an_idempotent_api_is_delivered(tmp_path: Path) -> None:
    """Two confirmations are two requests: Brevo must not take the second for a repeat
    of the first (the idempotency key was the same for every notice)."""
    fake = BrevoFake()
    config = sending_config(tmp_path)
    for to in ("anne@example.org", "paul@example.org"):
        transport = from_dsn(dsn("brevo"), http=httpx.MockTransport(fake))
        assert send_notice(config, transport, to, "Sujet", "Texte", "fr").outcome.value \
            == "sent"
    assert [d["to"] for d in fake.delivered] == ["anne@example.org", "paul@example.org"]


def test_a_notice_is_assembled_like_a_campaign_message(tmp_path: Path) -> None:
    """Quoted-printable, CRLF, lines within 76 characters, no line starting with '.'
    (SMTP needs no dot-stuffing), and the text exactly as written once decoded."""
    config = sending_config(tmp_path)
    text = (".point en tête\nFrom the start\nfin de ligne   \n" + "très long " * 30
            + "\nhttps://example.org/confirm/" + "x" * 120 + "\n")
    result = send_notice(config, from_dsn(config.transport), "zoé@example.org",
                         "Confirmez — «vite»", text, "fr")
    assert result.outcome.value == "sent", result.detail
    sent = _sent(tmp_path / "outbox")  # a Maildir file: LF line ends
    body = sent.replace(b"\n", b"\r\n").partition(b"\r\n\r\n")[2]
    assert b"\r\n." not in body and not body.startswith(b".")
    assert all(len(line) <= 76 for line in body.split(b"\r\n"))
    message = email.message_from_bytes(sent, policy=email.policy.default)
    assert message["Content-Transfer-Encoding"] == "quoted-printable"
    assert message.get_content_type() == "text/plain"
    assert message["To"] == "zoé@example.org" and message["Subject"] == "Confirmez — «vite»"
    assert message.get_content() == text


def test_a_notice_through_smtp_arrives_as_written(tmp_path: Path) -> None:
    """The notice's bytes go after DATA as they are (proven safe: no dot-stuffing), and
    the server gets the text back, its line starting with '.' included."""
    from ..smtpfake import FakeSmtp

    config = sending_config(tmp_path)
    text = ".\n.. deux points\nFrom ici\n"
    with FakeSmtp() as smtp:
        result = send_notice(config, from_dsn(smtp.dsn()), "anne@example.org", "Sujet",
                             text, "fr")
    assert result.outcome.value == "sent", result.detail
    [(_, received)] = smtp.handler.messages
    message = email.message_from_bytes(received, policy=email.policy.default)
    assert message.get_content().replace("\r\n", "\n") == text
    assert message["Message-ID"].endswith("notice@reseaucitesdesmetiers.com>")


def test_a_notice_through_an_api_names_its_sender_as_written(tmp_path: Path) -> None:
    from infolettre.delivery.notices import Notice

    content = Notice(sending_config(tmp_path), "Sujet", "Texte", "fr").content()
    assert (content.sender_name, content.sender_email) == (
        "Réseau des Cités des métiers", "infolettre@reseaucitesdesmetiers.com")


def test_the_confirmation_is_in_the_language_the_subscriber_chose(tmp_path: Path) -> None:
    """The subscription form in English, Spanish or Italian: the confirmation mail is in
    that language (subject, text, Content-Language), the language stored with the
    subscriber, so that their editions and pages are in it too."""
    from infolettre.content.i18n import catalogue
    from infolettre.store import Store

    from ..service import start_service

    service = start_service(tmp_path)
    try:
        with httpx.Client(base_url=service.url, timeout=30) as client:
            for lang in ("en", "es", "it", "fr"):
                response = client.post("/subscribe", data={"email": f"{lang}@example.org",
                                                           "lang": lang})
                assert response.status_code == 200, response.text
    finally:
        service.stop()
    mails = {}
    for path in (service.outbox / "new").iterdir():
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        mails[message["To"].addresses[0].addr_spec] = message
    with Store(service.db) as store:
        for lang in ("en", "es", "it", "fr"):
            message, t = mails[f"{lang}@example.org"], catalogue(lang)
            assert message["Content-Language"] == lang
            assert message["Subject"] == t("confirm_mail_subject")
            first_line = t("confirm_mail_text", url="URL").split("\n")[0]
            assert first_line in message.get_content()
            assert store.get(f"{lang}@example.org").lang == lang
    assert len({m["Subject"] for m in mails.values()}) == 4
