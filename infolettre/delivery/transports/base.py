"""The interface every transport implements, and what a send attempt can end in.

A transport opens sessions (an SMTP connection, an HTTP client, a folder);
the sending engine runs up to ``connections`` sessions in parallel and hands
each batch to one. A transport says whether it ``takes_mime`` (whole messages,
SMTP and the outbox) or, as an HTTP API, shared content and personal values.
A session reports, per message, one of four outcomes, which the journal
records:

- ``SENT``: the server took responsibility for the message;
- ``RETRY``: not delivered, safe to try again later (4xx, throttling, a
  connection lost before the message was complete);
- ``FAILED``: refused for good (5xx); ``bounce`` says whether the address
  itself is bad, in which case the subscriber is marked bounced;
- ``IN_DOUBT``: the whole message went out but no answer came back: it may
  have been delivered, so it is not sent again unless asked.
"""

from __future__ import annotations

import enum
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import InfoLettreError

if TYPE_CHECKING:
    from ..message import Content, Outgoing

__all__ = ["BatchSession", "Channel", "Outcome", "RateLimiter", "Result", "Session", "Transport",
           "TransportError", "envelope_of", "unbuildable"]


class TransportError(InfoLettreError):
    """The transport cannot work at all (bad address, authentication refused…)."""


class Outcome(enum.Enum):
    """How one attempt at one message ended."""

    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    IN_DOUBT = "in_doubt"


@dataclass(frozen=True)
class Result:
    """The outcome of one message, with the server's words."""

    outcome: Outcome
    detail: str = ""
    bounce: bool = False
    provider_id: str = ""
    retry_after: float | None = None


@dataclass(frozen=True)
class Envelope:
    """What a session needs to deliver one message."""

    sender: str
    recipient: str
    data: bytes
    #: True when no line of ``data`` starts with '.' and CR and LF only come in pairs, so
    #: SMTP sends it as it is (MessageFactory proves it of its messages; anything else
    #: has its line ends made CRLF and is dot-stuffed).
    dot_safe: bool = False
    #: The recipient's local part is not ASCII: only a server offering SMTPUTF8 takes it.
    smtputf8: bool = False


def envelope_of(outgoing: Outgoing, sender: str) -> Envelope:
    """The envelope of a factory's message: its wire address, its proven-safe bytes."""
    return Envelope(sender, outgoing.address or outgoing.recipient.email, outgoing.mime(),
                    dot_safe=True, smtputf8=outgoing.smtputf8)


def unbuildable(exc: Exception) -> Result:
    """The outcome of a recipient whose message could not be built: failed, with why.

    One bad address (or any value that cannot be written) fails its own row;
    the campaign goes on with the others.
    """
    return Result(Outcome.FAILED, f"message not built: {exc}")


class BatchSession(ABC):
    """One connection's worth of sending, as the engines use it: a batch in, one result
    per message out, in order; not shared between threads.

    An HTTP API's session is only this: it takes the campaign's shared
    :class:`Content` and each recipient's values, never a MIME message.
    """

    @abstractmethod
    def send_batch(self, content: Content, batch: list[Outgoing]) -> list[Result]:
        """Deliver several messages, one result each, in order."""

    def close(self) -> None:  # noqa: B027 - a no-op is the right default
        """Release the connection."""


class Session(BatchSession):
    """A session that delivers whole MIME messages (SMTP, the outbox): the sessions of a
    transport whose ``takes_mime`` is True."""

    @abstractmethod
    def send(self, envelope: Envelope) -> Result:
        """Deliver one message and say how it ended; never raises for a refusal."""

    def send_batch(self, content: Content, batch: list[Outgoing]) -> list[Result]:
        """Deliver the messages one by one, each built whole (``Outgoing.mime``)."""
        results = []
        for o in batch:
            try:
                envelope = envelope_of(o, content.envelope_from)
            except Exception as exc:  # whatever it is, this row fails alone
                results.append(unbuildable(exc))
                continue
            results.append(self.send(envelope))
        return results


class Channel(ABC):
    """A non-blocking connection that carries one message at a time, for an event loop.

    A transport that offers channels (SMTP) lets one thread drive all its
    connections (``sendloop``): no thread per connection, and the journal's
    outcomes of every connection that finished committed together. The loop
    waits on ``fileno()`` for reading, and for writing while ``wants_write``;
    it calls ``start`` with a message, then ``advance`` whenever the socket is
    ready, until ``advance`` returns the message's result. ``advance`` raises
    TransportError when the whole transport cannot go on (the sender refused).
    """

    #: Messages this connection has carried.
    carried: int = 0
    #: Monotonic time by which the server must have answered (0 when idle).
    deadline: float = 0.0

    @abstractmethod
    def fileno(self) -> int:
        """The socket to wait on."""

    @property
    @abstractmethod
    def wants_write(self) -> bool:
        """True while bytes are waiting for the socket to accept them."""

    @property
    @abstractmethod
    def alive(self) -> bool:
        """False once the connection is closed (the loop then opens another)."""

    @property
    @abstractmethod
    def idle(self) -> bool:
        """True when the channel can take a message."""

    @property
    @abstractmethod
    def worn(self) -> bool:
        """True once the connection has carried its share (the loop replaces it)."""

    @abstractmethod
    def start(self, envelope: Envelope) -> None:
        """Take ``envelope`` (the channel must be idle); ``advance`` then sends it."""

    @abstractmethod
    def advance(self) -> Result | None:
        """Read and write what the socket allows; the result once the message is done."""

    @abstractmethod
    def expire(self) -> Result | None:
        """The deadline passed: close, and say how the current message ended (if any)."""

    @abstractmethod
    def quit(self) -> None:
        """Say goodbye: the channel closes once answered, or at its (short) deadline."""


class Transport(ABC):
    """A way to deliver messages; ``describe`` never shows a secret."""

    #: How many sessions may run at once.
    connections: int = 1
    #: How many messages one ``send_batch`` call takes (the provider's limit for APIs).
    batch_size: int = 1
    #: True when ``open_channel`` works: campaigns then run on one event loop.
    multiplexed: bool = False
    #: True when ``open`` gives a :class:`Session`, which delivers whole MIME messages
    #: (built, and DKIM-signed, by InfoLettre); False for an HTTP API, which takes a
    #: batch's shared content and each recipient's values and writes the message itself.
    #: Not to be read from ``batch_size``: an API may well send batches of one.
    takes_mime: bool = True
    #: Messages (API requests) per second for all the senders of a campaign together
    #: (``campaign_rate``), paced through the database; None: no shared limit. The
    #: transport's own ``rate`` holds for this sender alone.
    campaign_rate: float | None = None

    def open_channel(self) -> Channel:
        """A connected channel (blocking; the loop calls it from a helper thread)."""
        raise NotImplementedError(f"{type(self).__name__} has no channels")

    def pace(self) -> float:
        """For the loop: 0.0 when a message may start now (its slot is then taken), else
        the seconds to wait (a rate limit)."""
        return 0.0

    @abstractmethod
    def open(self) -> BatchSession:
        """A new session (raises TransportError when the transport cannot work): a
        :class:`Session` when ``takes_mime``."""

    @abstractmethod
    def describe(self) -> str:
        """Where messages go, for people (no password)."""

    def close(self) -> None:  # noqa: B027 - most transports hold nothing between sessions
        """Release what the sessions shared (an HTTP client), at the end of a campaign."""

    def fit(self, content: Content) -> None:  # noqa: B027 - most limits are counts only
        """Adjust ``batch_size`` to a provider's size limit, once the content is known."""


class RateLimiter:
    """At most ``rate`` acquisitions per second, shared by all sessions of a transport."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.lock = threading.Lock()
        self.next = 0.0

    def try_acquire(self) -> float:
        """Take the next slot if it is due (0.0), else say how many seconds remain."""
        if not self.interval:
            return 0.0
        with self.lock:
            now = time.monotonic()
            if self.next > now:
                return self.next - now
            self.next = now + self.interval
        return 0.0

    def acquire(self) -> None:
        """Wait for the next slot."""
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            slot = max(now, self.next)
            self.next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)
