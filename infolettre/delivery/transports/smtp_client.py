"""One SMTP connection's transactions, as a non-blocking state machine.

The campaign's event loop drives it as a channel; the blocking session of
proofs and notices drives the same machine by waiting on its socket. So both
pipeline alike (MAIL, RCPT and DATA in one write when the server offers
PIPELINING, one command per reply otherwise) and judge alike:

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
no answer by the deadline              as a lost connection
=====================================  ====================================
"""

from __future__ import annotations

import ssl
import time
from collections import deque

from .base import Envelope, Outcome, Result, TransportError
from .smtpwire import (
    Link,
    ProtocolError,
    Replies,
    check_paths,
    commands,
    judge_end,
    judge_envelope,
    text,
    wire,
)

__all__ = ["SmtpClient"]

_WOULD_BLOCK = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class _Dropped(Exception):
    """The connection went away."""


class SmtpClient:
    """One connection (after its handshake), carrying one message at a time.

    States: ``idle``; ``refused`` (the envelope cannot be written: nothing
    is, the next ``advance`` says so); ``envelope`` (MAIL, RCPT, DATA
    written, three replies awaited); ``data`` (the message and its final dot
    being written, then one reply awaited); ``reset`` (a RSET after a
    refusal); ``quit``; ``closed``. The socket is non-blocking: ``advance``
    does what it allows and returns the message's result once decided.
    """

    def __init__(self, link: Link, *, where: str, timeout: float) -> None:
        self.sock = link.sock
        self.sock.setblocking(False)
        self.where, self.timeout = where, timeout
        self._fd = self.sock.fileno()
        self.pipelining = "PIPELINING" in link.extensions
        self.smtputf8 = "SMTPUTF8" in link.extensions
        self.state = "idle"
        self.envelope: Envelope | None = None
        self.out: deque[memoryview] = deque()  # bytes waiting for the socket
        self.commands: deque[bytes] = deque()  # without PIPELINING: sent one per reply
        self.incoming = Replies(link.pending)
        self.replies: list[tuple[int, str]] = []
        self.expected = 0
        #: Messages this connection has delivered.
        self.carried = 0
        #: Monotonic time by which the server must have answered (0 when idle).
        self.deadline = 0.0
        self.pending: Result | None = None  # decided, shown once a RSET is answered
        self.complete = False  # every byte of the message, final dot included, is written
        self.refusal: TransportError | None = None  # a sender no command can carry

    def fileno(self) -> int:
        """The socket to wait on."""
        return self._fd

    @property
    def wants_write(self) -> bool:
        """True while bytes wait for the socket to take them."""
        return bool(self.out)

    @property
    def alive(self) -> bool:
        """False once the connection is closed."""
        return self.state != "closed"

    @property
    def idle(self) -> bool:
        """True when the connection can take a message."""
        return self.state == "idle"

    def start(self, envelope: Envelope) -> None:
        """Take ``envelope`` (when idle); ``advance`` then sends it."""
        self.envelope, self.complete, self.pending = envelope, False, None
        try:
            refused, option = check_paths(envelope, self.smtputf8)
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
        lines = commands(envelope, option)
        self._expect("envelope", 3)
        if self.pipelining:
            self._queue(b"".join(lines))
        else:
            self._queue(lines[0])
            self.commands.extend(lines[1:])

    def advance(self) -> Result | None:
        """Write and read what the socket allows; the message's result once decided.

        Raises TransportError when the server refuses the sender (no message can go).
        """
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
                if self.incoming.inbox:
                    self._close()
                return None
            if self.state != "closed":
                return self._read()
        except _Dropped as exc:
            return self._lost(str(exc))
        return None

    def expire(self) -> Result | None:
        """The deadline passed: close; the current message's outcome, if one is under way."""
        return self._lost(f"no answer in {self.timeout:g} s")

    def quit(self) -> None:
        """Say QUIT when idle (closed once answered or at a short deadline); else close."""
        if self.state != "idle":
            self._close()
            return
        self._queue(b"QUIT\r\n")
        self._expect("quit", 1)
        self.deadline = time.monotonic() + min(self.timeout, 2.0)
        try:
            self._flush()
        except _Dropped:
            self._close()

    # -- the socket --------------------------------------------------------------------
    def _expect(self, state: str, replies: int) -> None:
        self.state, self.expected, self.replies = state, replies, []
        self.deadline = time.monotonic() + self.timeout

    def _queue(self, data: bytes) -> None:
        self.out.append(memoryview(data))

    def _flush(self) -> None:
        """Write what the socket takes now."""
        while self.out:
            view = self.out[0]
            try:
                sent = self.sock.send(view)
            except _WOULD_BLOCK:
                return
            except (OSError, ssl.SSLError) as exc:
                raise _Dropped(str(exc) or type(exc).__name__) from None
            self.deadline = time.monotonic() + self.timeout  # it is moving
            if sent < len(view):
                self.out[0] = view[sent:]
                return
            self.out.popleft()
        if self.state == "data":
            self.complete = True

    def _receive(self) -> None:
        try:
            chunk = self.sock.recv(65536)
            while isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
                chunk += self.sock.recv(65536)
        except _WOULD_BLOCK:
            return
        except (OSError, ssl.SSLError) as exc:
            raise _Dropped(str(exc) or type(exc).__name__) from None
        if not chunk:
            raise _Dropped("the server closed the connection")
        self.incoming.feed(chunk)

    def _read(self) -> Result | None:
        """Take the replies that arrived; the message's result once it is decided."""
        self._receive()
        while len(self.replies) < self.expected:
            try:
                reply = self.incoming.next()
            except ProtocolError as exc:
                raise _Dropped(str(exc)) from None
            if reply is None:
                return None
            self.replies.append((reply[0], text(reply[1])))
            if self.commands and len(self.replies) < self.expected:
                self._queue(self.commands.popleft())
                self._flush()
        return self._replied()

    # -- the transaction ---------------------------------------------------------------
    def _replied(self) -> Result | None:
        if self.state == "quit":
            self._close()
            return None
        envelope = self.envelope
        assert envelope is not None
        if self.state == "envelope":
            mail, rcpt, data = self.replies
            try:
                judged = judge_envelope(self.where, envelope.sender, mail, rcpt, data)
            except TransportError:
                self._close()
                raise
            if judged is None:
                self._queue(wire(envelope))
                self._queue(b".\r\n")
                self._expect("data", 1)
                self._flush()
                return None
            if data[0] == 354:  # DATA taken after a refused envelope: end it empty
                self._queue(b".\r\n")
            return self._act(judged, ignore=1 if data[0] == 354 else 0)
        if self.state == "data":
            judged = judge_end(*self.replies[0])
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
        """The connection is gone: the current message's outcome, if one is under way.

        Before the final dot was written the server cannot have taken the
        message (RETRY); after, it may have (IN_DOUBT).
        """
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
        if self.state != "closed":
            self.sock.close()
        self.state, self.deadline = "closed", 0.0
        self.out.clear()
