"""SMTP: verified TLS, several connections in parallel, each reused for many messages.

Per message: MAIL, RCPT, DATA on an open connection (in one write when the
server offers PIPELINING), then the prepared bytes. Nothing in a message may end
the data early or smuggle a command: a message from the factory comes proven
safe (``Envelope.dot_safe``: no line starts with '.', no lone CR or LF; the
static pieces are checked once per campaign), anything else has its line ends
made CRLF and is dot-stuffed. An address that is no address (a control
character, a blank, ``<`` or ``>``) never reaches a command: its message fails.
A local part that is not ASCII goes with SMTPUTF8 (RFC 6531) when the server
offers it, and fails otherwise. A campaign drives all its connections from one thread
as non-blocking channels (``_SmtpChannel``, see ``sendloop``); proofs and
notices use a blocking session. Both judge the replies with the same rules:

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
import threading
import time
from collections import deque
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


def _refusal(step: str, code: int, reply: str, *, bounce: bool) -> tuple[Result, str]:
    """A refused step's outcome, and what the connection needs next: "drop" or "rset"."""
    detail = f"{step}: {code} {reply}"
    if code == 421 or code < 0:
        return Result(Outcome.RETRY, detail), "drop"
    if 400 <= code < 500:
        return Result(Outcome.RETRY, detail), "rset"
    return Result(Outcome.FAILED, detail, bounce=bounce), "rset"


def _judge_envelope(t: SmtpTransport, sender: str, mail: tuple[int, str],
                    rcpt: tuple[int, str], data: tuple[int, str]
                    ) -> tuple[Result, str] | None:
    """None when the server waits for the data (354); else the refusal and its action.

    Raises TransportError when the server refuses the sender itself: no
    message of the campaign can go (after a RSET, which the caller sends).
    """
    code, reply = mail
    if code >= 500 and code != 503:
        raise TransportError(f"{t.host}:{t.port} refused the sender {sender}: {code} {reply}")
    if code != 250:
        return _refusal("MAIL", code, reply, bounce=False)
    if rcpt[0] not in (250, 251):
        return _refusal("RCPT", *rcpt, bounce=True)
    if data[0] != 354:
        return _refusal("DATA", *data, bounce=False)
    return None


def _judge_end(code: int, reply: str) -> tuple[Result, str]:
    """The outcome of the reply to the final dot, and the connection's next action."""
    if code == 250:
        queued = _QUEUED_RE.search(reply)
        return Result(Outcome.SENT, f"250 {reply}",
                      provider_id=queued.group(1) if queued else ""), "ok"
    return _refusal("end of data", code, reply,
                    bounce=code >= 500 and _address_problem(code, reply))


_LINE_END_RE = re.compile(rb"\r\n|\r|\n")
#: What no address in an SMTP command may hold: controls, blanks, and its own brackets.
_BAD_PATH_RE = re.compile("[\x00-\x20\x7f-\x9f\u2028\u2029<>]")


def _check_paths(envelope: Envelope, smtputf8: bool) -> tuple[Result | None, str]:
    """Whether the envelope's addresses can be written in commands, and MAIL's option.

    (a FAILED result when they cannot; "" or " SMTPUTF8" otherwise). The sender
    is the configured bounce address: a bad one stops the campaign.
    """
    if _BAD_PATH_RE.search(envelope.sender) or not envelope.sender:
        raise TransportError(f"the envelope sender {envelope.sender!r} cannot be written in "
                             "an SMTP command; check bounce_address")
    if _BAD_PATH_RE.search(envelope.recipient) or "@" not in envelope.recipient:
        return Result(Outcome.FAILED, f"{envelope.recipient!r} cannot be written in an SMTP "
                      "command"), ""
    if envelope.smtputf8 or not (envelope.sender + envelope.recipient).isascii():
        if not smtputf8:
            return Result(Outcome.FAILED, f"{envelope.recipient}: an address outside ASCII "
                          "needs SMTPUTF8, which the server does not offer"), ""
        return None, " SMTPUTF8"
    return None, ""


def _commands(envelope: Envelope, option: str) -> list[bytes]:
    """MAIL, RCPT and DATA for ``envelope`` (UTF-8 only with SMTPUTF8)."""
    return [f"MAIL FROM:<{envelope.sender}>{option}\r\n".encode(),
            f"RCPT TO:<{envelope.recipient}>\r\n".encode(), b"DATA\r\n"]


def _wire(envelope: Envelope) -> bytes:
    """The message as it goes after DATA: CRLF-ended, and dot-stuffed unless proven safe.

    Data not proven safe has every line end made CRLF first: a lone LF or CR
    could otherwise end the data for a lenient server ("SMTP smuggling").
    """
    data = envelope.data
    if not envelope.dot_safe:
        data = _LINE_END_RE.sub(b"\r\n", data)
        if data.startswith(b"."):
            data = b"." + data
        data = data.replace(b"\r\n.", b"\r\n..")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data


def _connect(t: SmtpTransport) -> smtplib.SMTP:
    """A connection that has said EHLO, secured and logged in as configured."""
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
    return smtp


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
        self.smtp, self.sent_here = _connect(self.t), 0

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

    def _command(self, call: str, *args: str | list[str]) -> tuple[int, str]:
        assert self.smtp is not None
        try:
            code, reply = getattr(self.smtp, call)(*args)
        except (OSError, smtplib.SMTPException) as exc:
            raise _Dropped(str(exc) or type(exc).__name__, complete=False) from None
        return code, _text(reply)

    def _act(self, judged: tuple[Result, str]) -> Result:
        result, action = judged
        if action == "drop":
            self._drop()
        elif action == "rset":
            self._rset()
        return result

    def _envelope(self, envelope: Envelope, option: str) -> tuple[tuple[int, str], ...]:
        """MAIL, RCPT and DATA, in one write when the server supports PIPELINING."""
        assert self.smtp is not None
        if not self.smtp.has_extn("pipelining"):
            options = ["SMTPUTF8"] if option else []  # smtplib then writes UTF-8
            return (self._command("mail", envelope.sender, options),
                    self._command("rcpt", envelope.recipient),
                    self._command("docmd", "DATA"))
        try:
            self.smtp.send(b"".join(_commands(envelope, option)))
            replies = tuple(self.smtp.getreply() for _ in range(3))
        except (OSError, smtplib.SMTPException) as exc:
            raise _Dropped(str(exc) or type(exc).__name__, complete=False) from None
        return tuple((code, _text(reply)) for code, reply in replies)

    def _transaction(self, envelope: Envelope) -> Result:
        assert self.smtp is not None
        refused, option = _check_paths(envelope, self.smtp.has_extn("smtputf8"))
        if refused is not None:
            return refused
        mail, rcpt, data_reply = self._envelope(envelope, option)
        if data_reply[0] == 354 and (mail[0] != 250 or rcpt[0] not in (250, 251)):
            # A server that took DATA after refusing the envelope: end it empty.
            self._command("docmd", ".")
        try:
            judged = _judge_envelope(self.t, envelope.sender, mail, rcpt, data_reply)
        except TransportError:
            self._rset()
            raise
        if judged is not None:
            return self._act(judged)
        assert self.smtp is not None
        try:
            self.smtp.send(_wire(envelope) + b".\r\n")
        except (OSError, smtplib.SMTPException) as exc:
            raise _Dropped(str(exc) or type(exc).__name__, complete=False) from None
        try:
            code, raw = self.smtp.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            raise _Dropped(str(exc) or type(exc).__name__, complete=True) from None
        judged = _judge_end(code, _text(raw))
        if judged[0].outcome is Outcome.SENT:
            self.sent_here += 1
        return self._act(judged)


_WOULD_BLOCK = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class _SmtpChannel(Channel):
    """One SMTP connection as a non-blocking state machine, one message at a time.

    States: ``idle``; ``envelope`` (MAIL, RCPT, DATA written, three replies
    awaited; one command at a time without PIPELINING); ``data`` (the message
    and its final dot being written, then one reply awaited); ``reset`` (a RSET
    after a refusal); ``closed``. Replies are judged by the same functions as
    the blocking session. A connection lost before the whole message went
    out means RETRY; after, IN_DOUBT.
    """

    def __init__(self, transport: SmtpTransport, smtp: smtplib.SMTP) -> None:
        self.t, self.smtp = transport, smtp
        self.sock: socket.socket | None = smtp.sock
        assert self.sock is not None
        self.sock.setblocking(False)
        self._fd = self.sock.fileno()
        self.pipelining = smtp.has_extn("pipelining")
        self.smtputf8 = smtp.has_extn("smtputf8")
        self.state = "idle"
        self.envelope: Envelope | None = None
        self.out: deque[memoryview] = deque()  # bytes waiting for the socket
        self.commands: deque[bytes] = deque()  # without PIPELINING: sent one per reply
        self.inbox = b""
        self.lines: list[str] = []  # the lines of the reply being read
        self.replies: list[tuple[int, str]] = []
        self.expected = 0
        self.carried = 0
        self.deadline = 0.0
        self.pending: Result | None = None  # decided, shown once a RSET is answered
        self.complete = False  # every byte of the message has been written
        self.refusal: TransportError | None = None  # a sender no command can carry

    # -- Channel ---------------------------------------------------------------------
    def fileno(self) -> int:
        return self._fd

    @property
    def wants_write(self) -> bool:
        return bool(self.out)

    @property
    def alive(self) -> bool:
        return self.state != "closed"

    @property
    def idle(self) -> bool:
        return self.state == "idle"

    def start(self, envelope: Envelope) -> None:
        self.envelope, self.complete, self.pending = envelope, False, None
        try:
            refused, option = _check_paths(envelope, self.smtputf8)
        except TransportError as exc:
            refused, option = None, ""
            self.refusal = exc
        else:
            self.refusal = None
        if refused is not None or self.refusal is not None:
            self.pending = refused  # nothing is written: the next advance reports it
            self._expect("refused", 0)
            self.deadline = 0.0
            return
        commands = _commands(envelope, option)
        self._expect("envelope", 3)
        if self.pipelining:
            self._queue(b"".join(commands))
        else:
            self._queue(commands[0])
            self.commands.extend(commands[1:])

    def advance(self) -> Result | None:
        if self.state == "refused":  # the envelope could not be written at all
            result, self.pending = self.pending, None
            self._expect("idle", 0)
            self.deadline = 0.0
            if self.refusal is not None:
                raise self.refusal
            return result
        try:
            self._flush()
            if self.state == "idle":  # a server speaking out of turn is closing (421)
                self._receive()
                if self.inbox:
                    self._close()
                return None
            if self.state != "closed":
                return self._read()
        except _Dropped as exc:
            return self._lost(str(exc))
        return None

    def expire(self) -> Result | None:
        return self._lost(f"no answer in {self.t.timeout:g} s")

    @property
    def worn(self) -> bool:
        return self.carried >= self.t.max_per_connection

    def quit(self) -> None:
        if self.state != "idle":
            self._close()
            return
        self._queue(b"QUIT\r\n")
        self._expect("quit", 1)
        self.deadline = time.monotonic() + min(self.t.timeout, 2.0)
        try:
            self._flush()
        except _Dropped:
            self._close()

    # -- protocol ----------------------------------------------------------------------
    def _expect(self, state: str, replies: int) -> None:
        self.state, self.expected, self.replies = state, replies, []
        self.deadline = time.monotonic() + self.t.timeout

    def _queue(self, data: bytes) -> None:
        self.out.append(memoryview(data))

    def _flush(self) -> None:
        """Write what the socket takes now."""
        while self.out:
            view = self.out[0]
            try:
                assert self.sock is not None
                sent = self.sock.send(view)
            except _WOULD_BLOCK:
                return
            except (OSError, ssl.SSLError) as exc:
                raise _Dropped(str(exc) or type(exc).__name__, complete=False) from None
            self.deadline = time.monotonic() + self.t.timeout  # it is moving
            if sent < len(view):
                self.out[0] = view[sent:]
                return
            self.out.popleft()
        if self.state == "data":
            self.complete = True

    def _receive(self) -> None:
        assert self.sock is not None
        try:
            chunk = self.sock.recv(65536)
            while isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
                chunk += self.sock.recv(65536)
        except _WOULD_BLOCK:
            return
        except (OSError, ssl.SSLError) as exc:
            raise _Dropped(str(exc) or type(exc).__name__, complete=self.complete) from None
        if not chunk:
            raise _Dropped("the server closed the connection", complete=self.complete)
        self.inbox += chunk

    def _read(self) -> Result | None:
        """Take the replies that arrived; the message's result once it is decided."""
        self._receive()
        while b"\n" in self.inbox and len(self.replies) < self.expected:
            raw, _, self.inbox = self.inbox.partition(b"\n")
            line = raw.rstrip(b"\r").decode("utf-8", "replace")
            if len(line) < 3 or not line[:3].isdigit():
                raise _Dropped(f"not an SMTP reply: {line[:80]!r}", complete=self.complete)
            self.lines.append(line[4:].strip())
            if line[3:4] == "-":
                continue
            self.replies.append((int(line[:3]), " ".join(self.lines).strip()))
            self.lines = []
            if self.commands and len(self.replies) < self.expected:
                self._queue(self.commands.popleft())
                self._flush()
        if len(self.replies) < self.expected:
            return None
        return self._replied()

    def _replied(self) -> Result | None:
        if self.state == "quit":
            self._close()
            return None
        envelope = self.envelope
        assert envelope is not None
        if self.state == "envelope":
            mail, rcpt, data = self.replies
            try:
                judged = _judge_envelope(self.t, envelope.sender, mail, rcpt, data)
            except TransportError:
                self._close()
                raise
            if judged is None:
                self._queue(_wire(envelope))
                self._queue(b".\r\n")
                self._expect("data", 1)
                self._flush()
                return None
            if data[0] == 354:  # DATA taken after a refused envelope: end it empty
                self._queue(b".\r\n")
            return self._act(judged, ignore=1 if data[0] == 354 else 0)
        if self.state == "data":
            judged = _judge_end(*self.replies[0])
            if judged[0].outcome is Outcome.SENT:
                self.carried += 1
            return self._act(judged)
        if self.state == "reset":  # the refusals' RSET (and an empty message's dot)
            result, self.pending = self.pending, None
            if self.replies[-1][0] != 250:
                self._close()
            else:
                self._expect("idle", 0)
                self.deadline = 0.0
            return result
        return None

    def _act(self, judged: tuple[Result, str], ignore: int = 0) -> Result | None:
        result, action = judged
        if action == "ok":
            self._expect("idle", 0)
            self.deadline = 0.0
            return result
        if action == "drop":
            self._close()
            return result
        self.pending = result  # RSET first, so that the connection can go on
        self._queue(b"RSET\r\n")
        self._expect("reset", 1 + ignore)
        self._flush()
        return None

    def _lost(self, detail: str) -> Result | None:
        """The connection is gone: the current message's outcome, if one is under way."""
        state, complete, pending = self.state, self.complete, self.pending
        self._close()
        if pending is not None:
            return pending
        if state == "data" and complete:
            return Result(Outcome.IN_DOUBT, f"connection lost after the data: {detail}")
        if state in ("envelope", "data"):
            return Result(Outcome.RETRY, f"connection lost: {detail}")
        return None

    def _close(self) -> None:
        self.state, self.deadline = "closed", 0.0
        self.out.clear()
        if self.sock is not None:
            self.smtp.close()
            self.sock = None



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
