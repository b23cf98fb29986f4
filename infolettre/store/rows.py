"""What the store reads and writes: subscriber rows, statuses, times, addresses.

Plain values with no database behind them, so that every other module of the
store (and its callers) can share them without importing a connection.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

__all__ = ["FINAL", "STATUSES", "Departure", "NewSubscriber", "Subscriber", "normalise_email",
           "now", "stamp"]

STATUSES = ("pending", "active", "unsubscribed", "bounced", "complained")
#: Statuses of an address that left the list. Only the person's own confirmation of a
#: new subscription makes it active again (``set_status(..., confirmed=True)``); an
#: import, an add, a pending row or a provider's report never does.
FINAL = ("unsubscribed", "bounced", "complained")

_NOW: tuple[int, str] = (0, "")


def stamp(seconds: float) -> str:
    """A POSIX time as the database writes times: UTC, ISO 8601, to the second.

    One fixed width, so that these strings compare in time order.
    """
    return dt.datetime.fromtimestamp(int(seconds), dt.UTC).isoformat()


def now() -> str:
    """The current time as :func:`stamp` writes it (formatted once per second)."""
    global _NOW
    second = int(time.time())
    if _NOW[0] != second:
        _NOW = (second, stamp(second))
    return _NOW[1]


def normalise_email(email: str) -> str:
    """The form an address is stored and compared in: trimmed and lower-case."""
    return email.strip().lower()


@dataclass(frozen=True)
class Subscriber:
    """One row of the subscribers table."""

    id: int
    email: str
    name: str
    lang: str
    centre: str
    country: str
    status: str
    consent_source: str
    consent_at: str
    created_at: str

    COLUMNS = ("id, email, name, lang, centre, country, status, consent_source, consent_at, "
               "created_at")


@dataclass(frozen=True)
class NewSubscriber:
    """A row to insert (``Store.insert_many``); the address is normalised already."""

    email: str
    name: str = ""
    lang: str = "fr"
    centre: str = ""
    country: str = ""
    status: str = "active"
    consent_source: str = ""
    consent_at: str = ""


@dataclass(frozen=True)
class Departure:
    """Why an address is off the list: the event that took it off.

    ``event_id`` is 0 when the row was written with that status directly (no
    event names it); ``kind`` is then the status.
    """

    event_id: int
    at: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind} since {self.at[:10]}" + (f" ({self.detail})" if self.detail else "")
