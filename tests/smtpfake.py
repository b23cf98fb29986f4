"""A real SMTP server (aiosmtpd) on 127.0.0.1 that misbehaves on cue.

Faults, each scripted by the test: answer 421 after N messages on a
connection, answer RCPT with a given reply for given addresses (a number of
times), take a message then drop the connection before answering, require
STARTTLS with a self-signed certificate, be slow, not offer SMTPUTF8. Every message it accepted
is kept, so tests can count deliveries per recipient.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller

from .net import free_port as free_port  # defined once, in net; many tests take it here


@dataclass
class Script:
    """What the server does wrong."""

    close_after: int | None = None          # 421 to MAIL after this many messages
    rcpt: dict[str, list[str]] = field(default_factory=dict)  # address -> replies, in turn
    drop_after_data: set[str] = field(default_factory=set)   # take it, then hang up
    data_delay: float = 0.0                 # seconds before answering the data
    pipelining: bool = True                 # advertise PIPELINING (RFC 2920)


class Handler:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.lock = threading.Lock()
        self.messages: list[tuple[str, bytes]] = []
        self.times: list[float] = []  # time.monotonic() of each message taken
        self.senders: list[str] = []
        self.mail_options: dict[str, list[str]] = {}  # recipient -> its MAIL's parameters
        self.connections = 0

    @property
    def delivered(self) -> Counter:
        with self.lock:
            return Counter(rcpt for rcpt, _ in self.messages)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.script.pipelining and "250-PIPELINING" not in responses:
            responses.insert(1, "250-PIPELINING")
        if not getattr(session, "counted", False):
            session.counted = True
            session.sent = 0
            with self.lock:
                self.connections += 1
        return responses

    async def handle_MAIL(self, server, session, envelope, address, options):
        limit = self.script.close_after
        if limit is not None and getattr(session, "sent", 0) >= limit:
            return "421 4.7.0 Too many messages on this connection, closing"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        replies = self.script.rcpt.get(address)
        if replies:
            with self.lock:
                reply = replies.pop(0)
            if not reply.startswith("250"):
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.script.data_delay:
            await asyncio.sleep(self.script.data_delay)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.messages.append((rcpt, envelope.original_content))
                self.times.append(time.monotonic())
                self.senders.append(envelope.mail_from)
                self.mail_options[rcpt] = (["SMTPUTF8"] if envelope.smtp_utf8 else []) + [
                    o for o in envelope.mail_options if o != "SMTPUTF8"]
        session.sent = getattr(session, "sent", 0) + 1
        if set(envelope.rcpt_tos) & self.script.drop_after_data:
            self.script.drop_after_data -= set(envelope.rcpt_tos)
            server.transport.abort()
        return "250 2.0.0 OK queued as X" + str(len(self.messages))


class FakeSmtp:
    """``with FakeSmtp(script) as smtp:`` a server on 127.0.0.1:``smtp.port``."""

    def __init__(self, script: Script | None = None, *, tls: ssl.SSLContext | None = None,
                 require_starttls: bool = False, smtputf8: bool = True) -> None:
        self.handler = Handler(script or Script())
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     tls_context=tls, require_starttls=require_starttls,
                                     ready_timeout=10, enable_SMTPUTF8=smtputf8)

    def __enter__(self) -> FakeSmtp:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def dsn(self, **options: object) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"security": "none", **options}.items())
        return f"smtp://127.0.0.1:{self.port}?{query}"

    def message_ids(self) -> list[str]:
        with self.handler.lock:
            return [email.message_from_bytes(m)["Message-ID"] for _, m in self.handler.messages]

    def wait_for(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.handler.messages) < count and time.monotonic() < deadline:
            time.sleep(0.01)


def self_signed(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context, cert_path
