"""SMTP: verified TLS, several connections in parallel, each reused for many messages.

Per message: MAIL, RCPT, DATA on an open connection, then the prepared bytes
(line ends already CRLF; dot-stuffing done once with ``bytes.replace``, not by
smtplib's per-message regular expressions). Replies map to outcomes:

=====================================  ====================================
reply                                  outcome
=====================================  ====================================
250 after the data                     SENT
421 anywhere                           RETRY, and a new connection
4xx to MAIL, RCPT or DATA              RETRY (RSET, the connection is kept)
5xx to RCPT, or 5.1.x after the data   FAILED, address bounced
other 5xx to DATA or after the data    FAILED (content refused)
5xx to MAIL                            the campaign stops (the sender is refused)
connection lost before the final dot   RETRY
connection lost after the final dot    IN_DOUBT
=====================================  ====================================
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from pathlib import Path

from .base import Envelope, Outcome, RateLimiter, Result, Session, Transport, TransportError

__all__ = ["SmtpTransport"]

SECURITY = ("tls", "starttls", "none")
_QUEUED_RE = re.compile(r"queued as ([^\s]+)", re.IGNORECASE)
_ENHANCED_RE = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})\b")


def _text(reply: bytes | str) -> str:
    return (reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply).strip()


def _address_problem(code: int, message: str) -> bool:
    """True when a 5xx after the data says the mailbox itself is bad (5.1.x, 5.2.1)."""
    m = _ENHANCED_RE.match(message)
    if m:
        return m.group(2) == "1" or (m.group(2), m.group(3)) == ("2", "1")
    return code in (550, 551, 553)


class _Dropped(Exception):
    """The connection went away; ``complete`` says whether the whole message was sent."""

    def __init__(self, detail: str, complete: bool) -> None:
        super().__init__(detail)
        self.complete = complete


class _SmtpSession(Session):
    def __init__(self, transport: SmtpTransport) -> None:
        self.t = transport
        self.smtp: smtplib.SMTP | None = None
        self.sent_here = 0

    # -- connection ----------------------------------------------------------------
    def connect(self) -> None:
        t = self.t
        where = f"{t.host}:{t.port}"
        try:
            if t.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(t.host, t.port, local_hostname=t.helo,
                                                      timeout=t.timeout, context=t.context())
            else:
                smtp = smtplib.SMTP(t.host, t.port, local_hostname=t.helo, timeout=t.timeout)
            smtp.ehlo()
            if t.security == "starttls":
                if not smtp.has_extn("starttls"):
                    smtp.close()
                    raise TransportError(f"{where} does not offer STARTTLS; use "
                                         "?security=tls for port 465, or ?security=none "
                                         "for a trusted local relay")
                smtp.starttls(context=t.context())
                smtp.ehlo()
            if t.username:
                smtp.login(t.username, t.password)
        except TransportError:
            raise
        except ssl.SSLCertVerificationError as exc:
            raise TransportError(f"{where} failed TLS verification: {exc.verify_message}; "
                                 "give its CA with ?cafile=PATH") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise TransportError(f"{where} refused the login of {t.username}: "
                                 f"{exc.smtp_code} {_text(exc.smtp_error)}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TransportError(f"{where} failed to connect: {exc}") from None
        self.smtp, self.sent_here = smtp, 0

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None

    def _drop(self) -> None:
        if self.smtp is not None:
            self.smtp.close()
            self.smtp = None

    def _rset(self) -> None:
        try:
            assert self.smtp is not None
            self.smtp.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    # -- one message -------------------------------------------------------------------
    def send(self, envelope: Envelope) -> Result:
        if self.smtp is not None and self.sent_here >= self.t.max_per_connection:
            self.close()
        if self.smtp is None:
            self.connect()
        self.t.limiter.acquire()
        try:
            return self._transaction(envelope)
        except _Dropped as exc:
            self._drop()
            if exc.complete:
                return Result(Outcome.IN_DOUBT, f"connection lost after the data: {exc}")
            return Result(Outcome.RETRY, f"connection lost: {exc}")

    def _command(self, call: str, *args: str) -> tuple[int, str]:
        assert self.smtp is not None
        try:
            code, reply = getattr(self.smtp, call)(*args)
        except (OSError, smtplib.SMTPException) as exc:
            raise _Dropped(str(exc) or type(exc).__name__, complete=False) from None
        return code, _text(reply)

    def _refused(self, step: str, code: int, reply: str, *, bounce: bool) -> Result:
        detail = f"{step}: {code} {reply}"
        if code == 421 or code < 0:
            self._drop()
            return Result(Outcome.RETRY, detail)
        if 400 <= code < 500:
            self._rset()
            return Result(Outcome.RETRY, detail)
        self._rset()
        return Result(Outcome.FAILED, detail, bounce=bounce)

    def _envelope(self, envelope: Envelope) -> tuple[tuple[int, str], ...]:
        """MAIL, RCPT and DATA, in one write when the server supports PIPELINING."""
        assert self.smtp is not None
        if not self.smtp.has_extn("pipelining"):
            return (self._command("mail", envelope.sender),
                    self._command("rcpt", envelope.recipient),
                    self._command("docmd", "DATA"))
        try:
            self.smtp.send(f"MAIL FROM:<{envelope.sender}>\r\nRCPT TO:<{envelope.recipient}>"
                           "\r\nDATA\r\n".encode())
            replies = tuple(self.smtp.getreply() for _ in range(3))
        except (OSError, smtplib.SMTPException) as exc:
            raise _Dropped(str(exc) or type(exc).__name__, complete=False) from None
        return tuple((code, _text(reply)) for code, reply in replies)

    def _transaction(self, envelope: Envelope) -> Result:
        (code, reply), rcpt, data_reply = self._envelope(envelope)
        if data_reply[0] == 354 and (code != 250 or rcpt[0] not in (250, 251)):
            # A server that took DATA after refusing the envelope: end it empty.
            self._command("docmd", ".")
        if code >= 500 and code != 503:
            self._rset()
            raise TransportError(f"{self.t.host}:{self.t.port} refused the sender "
                                 f"{envelope.sender}: {code} {reply}")
        if code != 250:
            return self._refused("MAIL", code, reply, bounce=False)
        code, reply = rcpt
        if code not in (250, 251):
            return self._refused("RCPT", code, reply, bounce=True)
        code, reply = data_reply
        if code != 354:
            return self._refused("DATA", code, reply, bounce=False)
        data = envelope.data
        if not envelope.dot_safe:
            if data.startswith(b"."):
                data = b"." + data
            data = data.replace(b"\r\n.", b"\r\n..")
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        assert self.smtp is not None
        try:
            self.smtp.send(data + b".\r\n")
        except (OSError, smtplib.SMTPException) as exc:
            raise _Dropped(str(exc) or type(exc).__name__, complete=False) from None
        try:
            code, raw = self.smtp.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            raise _Dropped(str(exc) or type(exc).__name__, complete=True) from None
        reply = _text(raw)
        if code == 250:
            self.sent_here += 1
            queued = _QUEUED_RE.search(reply)
            return Result(Outcome.SENT, f"250 {reply}", provider_id=queued.group(1)
                          if queued else "")
        return self._refused("end of data", code, reply,
                             bounce=code >= 500 and _address_problem(code, reply))


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

    def context(self) -> ssl.SSLContext:
        """A TLS context that verifies the server (against ``cafile`` when given)."""
        return ssl.create_default_context(cafile=str(self.cafile) if self.cafile else None)

    def open(self) -> Session:
        session = _SmtpSession(self)
        session.connect()
        return session

    def describe(self) -> str:
        user = f"{self.username}:****@" if self.username else ""
        rate = f"&rate={self.rate:g}" if self.rate else ""
        return (f"smtp://{user}{self.host}:{self.port}?security={self.security}"
                f"&connections={self.connections}{rate}")
