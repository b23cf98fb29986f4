"""The interface every transport implements, and what a send attempt can end in.

A transport opens sessions (an SMTP connection, an HTTP client, a folder);
the sending engine runs up to ``connections`` sessions in parallel and hands
each message to one. A session reports, per message, one of four outcomes,
which the journal records:

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

from ..errors import InfoLettreError

if TYPE_CHECKING:
    from ..message import Content, Outgoing

__all__ = ["Outcome", "RateLimiter", "Result", "Session", "Transport", "TransportError"]


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
    #: True when no line of ``data`` starts with '.', so SMTP need not dot-stuff it
    #: (MessageFactory guarantees it; anything else gets scanned).
    dot_safe: bool = False


class Session(ABC):
    """One connection's worth of sending; not shared between threads."""

    @abstractmethod
    def send(self, envelope: Envelope) -> Result:
        """Deliver one message and say how it ended; never raises for a refusal."""

    def send_batch(self, content: Content, batch: list[Outgoing]) -> list[Result]:
        """Deliver several messages, one result each, in order.

        MIME transports deliver them one by one; API transports override this to
        send a whole batch in one request.
        """
        return [self.send(Envelope(content.envelope_from, o.recipient.email, o.mime(),
                                   dot_safe=True)) for o in batch]

    def close(self) -> None:  # noqa: B027 - a no-op is the right default
        """Release the connection."""


class Transport(ABC):
    """A way to deliver messages; ``describe`` never shows a secret."""

    #: How many sessions may run at once.
    connections: int = 1
    #: How many messages one ``send_batch`` call takes (the provider's limit for APIs).
    batch_size: int = 1

    @abstractmethod
    def open(self) -> Session:
        """A new session (raises TransportError when the transport cannot work)."""

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
