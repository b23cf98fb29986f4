"""SMTP: verified TLS, several connections in parallel, each reused for many messages.

Per message: MAIL, RCPT, DATA on an open connection (in one write when the
server offers PIPELINING), then the prepared bytes. Nothing in a message may end
the data early or smuggle a command: a message from the factory comes proven
safe (``Envelope.dot_safe``: no line starts with '.', no lone CR or LF; the
static pieces are checked once per campaign), anything else has its line ends
made CRLF and is dot-stuffed. An address that is no address (a control
character, a blank, ``<`` or ``>``) never reaches a command: its message fails.
A local part that is not ASCII goes with SMTPUTF8 (RFC 6531) when the server
offers it, and fails otherwise.

This module holds the configuration and the connections; the protocol is
``smtpwire`` (handshake, framing, data, verdicts) and ``smtp_client`` (one
connection's transactions, and the table of outcomes). A campaign drives all
its connections from one thread as non-blocking channels (``_SmtpChannel``,
see ``delivery.loop``); proofs and notices use a blocking session
(``_SmtpSession``) that runs the same client, waiting on its socket.
"""

from __future__ import annotations

import selectors
import socket
import ssl
import threading
import time
from pathlib import Path

from .base import (
    Channel,
    Envelope,
    Outcome,
    RateLimiter,
    Result,
    Session,
    Transport,
    TransportError,
)
from .smtp_client import SmtpClient
from .smtpwire import Link, handshake
from .smtpwire import wire as _wire  # noqa: F401 - the name the hostile-input tests use

__all__ = ["SmtpTransport"]

SECURITY = ("tls", "starttls", "none")


def _connect(t: SmtpTransport) -> Link:
    """A connection that has said EHLO, secured and logged in as ``t`` says."""
    return handshake(t.host, t.port, security=t.security, helo=t.helo, timeout=t.timeout,
                     context=t.context, username=t.username, password=t.password)


class _SmtpChannel(SmtpClient, Channel):
    """The client as a channel (of the event loop, or of the session), worn after
    ``max_per_connection`` messages."""

    def __init__(self, transport: SmtpTransport, link: Link) -> None:
        super().__init__(link, where=f"{transport.host}:{transport.port}",
                         timeout=transport.timeout)
        self.cap = transport.max_per_connection

    @property
    def worn(self) -> bool:
        return self.carried >= self.cap


def _run(client: SmtpClient) -> Result | None:
    """Drive ``client`` until its message is decided, or (after ``quit``) it is closed.

    The blocking twin of the event loop: wait on the socket (for writing too
    while bytes wait), advance, and expire at the client's deadline.
    """
    if not client.alive:
        return None
    with selectors.DefaultSelector() as selector:
        selector.register(client.fileno(), selectors.EVENT_READ)
        while True:
            result = client.advance()
            if result is not None or not client.alive or client.idle:
                return result
            now = time.monotonic()
            if now >= client.deadline:
                return client.expire()
            selector.modify(client.fileno(), selectors.EVENT_READ
                            | (selectors.EVENT_WRITE if client.wants_write else 0))
            selector.select(client.deadline - now)


class _SmtpSession(Session):
    """One connection at a time, message after message (proofs, notices)."""

    def __init__(self, transport: SmtpTransport) -> None:
        self.t = transport
        self.client: _SmtpChannel | None = None

    def connect(self) -> None:
        self.client = _SmtpChannel(self.t, _connect(self.t))

    def close(self) -> None:
        if self.client is not None:
            self.client.quit()
            _run(self.client)
            self.client = None

    def send(self, envelope: Envelope) -> Result:
        client = self.client
        if client is not None and client.idle:
            client.advance()  # notices a server that hung up meanwhile
        if client is not None and (not client.alive or client.worn):
            self.close()
        if self.client is None:
            self.connect()
        assert self.client is not None
        self.t.limiter.acquire()
        self.client.start(envelope)
        result = _run(self.client)
        # A started message always ends in a result; should one ever not, it is retried.
        return result or Result(Outcome.RETRY, "connection lost")


class SmtpTransport(Transport):
    """Delivery to one SMTP server (a relay, or a provider's submission port)."""

    def __init__(self, host: str, port: int, *, security: str = "starttls",
                 username: str = "", password: str = "", connections: int = 4,
                 rate: float | None = None, max_per_connection: int = 100,
                 timeout: float = 30.0, cafile: Path | None = None,
                 helo: str | None = None) -> None:
        if security not in SECURITY:
            raise TransportError(f"security must be one of {', '.join(SECURITY)}, "
                                 f"not {security!r}")
        self.host, self.port, self.security = host, port, security
        self.username, self.password = username, password
        self.connections, self.max_per_connection = connections, max_per_connection
        self.timeout, self.cafile = timeout, cafile
        self.helo = helo or socket.getfqdn()
        self.limiter = RateLimiter(rate)
        self.rate = rate
        self._context: ssl.SSLContext | None = None
        self._context_lock = threading.Lock()

    def context(self) -> ssl.SSLContext:
        """A TLS context that verifies the server (against ``cafile`` when given).

        Made once and shared by every connection: loading the system's CA
        certificates costs 18 ms, and a campaign reconnects every
        ``max_per_connection`` messages.
        """
        with self._context_lock:
            if self._context is None:
                self._context = ssl.create_default_context(
                    cafile=str(self.cafile) if self.cafile else None)
            return self._context

    multiplexed = True

    def open(self) -> Session:
        session = _SmtpSession(self)
        session.connect()
        return session

    def open_channel(self) -> Channel:
        return _SmtpChannel(self, _connect(self))

    def pace(self) -> float:
        return self.limiter.try_acquire()

    def describe(self) -> str:
        user = f"{self.username}:****@" if self.username else ""
        rate = f"&rate={self.rate:g}" if self.rate else ""
        return (f"smtp://{user}{self.host}:{self.port}?security={self.security}"
                f"&connections={self.connections}{rate}")
