"""mailer: one-off notices go out through any transport, DKIM-signed when a key is set."""

from __future__ import annotations

import base64
import email
import email.policy
from pathlib import Path

from infolettre.delivery.notices import send_notice
from infolettre.delivery.transports import from_dsn

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
