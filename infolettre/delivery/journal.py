"""The sending journal: one row per (campaign, subscriber), in the database.

States::

    pending ──claim──▶ in_flight ──▶ sent | retry | failed | in_doubt
       ▲                                      │
       └───────────── due again ──────────────┘  (retry, with backoff)

A row becomes ``in_flight`` in a committed transaction before any byte goes to
the network, and leaves it in the transaction that records the outcome, which
also claims the worker's next row. So a process killed at any instant leaves at
most one ``in_flight`` row per connection; the next run turns them into
``in_doubt`` (they may have been delivered) and never sends them again unless
asked. Rows already ``sent`` are never sent again.

Several senders may share one campaign (on PostgreSQL; on SQLite ``send``'s lock
file lets one run at a time). Each registers itself (``Sender``), claims rows
under its id and keeps a lease alive (``Heartbeat``, a thread of its own); only the
rows in flight of a sender that is not alive (its lease expired, it finished, or
its process is gone from this host) become in doubt, at any sender's start or
end: never a live sender's, and never sent again unless asked.

This module holds the rules (what a row becomes, when a retry is due, when to
give up, when a sender is alive); the store's ``Ledger`` reads and writes the
rows, a batch per statement, so that another database can keep the same rules.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..config import Database
from ..errors import InfoLettreError, database_errors
from ..store import Campaign, Ledger, SenderRow, Tried, connect
from .transports.base import Outcome, Result

__all__ = ["HEARTBEAT", "LEASE", "STATES", "Campaign", "Claimed", "Heartbeat", "Journal",
           "Route", "Sender", "backoff", "sender_state"]

#: Seconds a sender stays alive after its last heartbeat. A live sender beats every
#: ``HEARTBEAT`` seconds from a thread of its own (whatever its SMTP connections
#: wait for), so only a stalled host or database, or a cut network, stays silent
#: that long; a minute rides out those (a failover, a checkpoint, a swapping host)
#: while its rows are never taken for a dead sender's. Too long costs little: a
#: crashed sender's rows on another host stay listed in flight for that minute
#: before a new start calls them in doubt (``status`` shows the sender dead), and
#: a death on this host is seen at once (its process is gone).
LEASE = 60.0
#: Seconds between a sender's heartbeats: several per lease, so one late beat is not death.
HEARTBEAT = LEASE / 6
_RECOVERED = "the sending process stopped while this message was in flight"

STATES = ("pending", "in_flight", "sent", "retry", "failed", "in_doubt")
MAX_BACKOFF = 600.0
#: A subscriber's language -> the language of the edition they are sent.
Route = Callable[[str], str]


def backoff(attempt: int, base: float, retry_after: float | None = None) -> float:
    """Seconds before attempt ``attempt + 1``: exponential, with ±50 % jitter."""
    if retry_after is not None:
        return retry_after
    return min(MAX_BACKOFF, base * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)


@dataclass(frozen=True)
class Claimed:
    """A row this worker now owns, with what it needs to build the message."""

    subscriber_id: int
    email: str
    name: str
    status: str
    attempts: int
    #: The language of the edition this row is sent in, fixed before its first claim.
    edition: str = ""

    def skipped(self) -> Result | None:
        """The outcome of a row whose subscriber left since the campaign started, or None."""
        if self.status == "active":
            return None
        return Result(Outcome.FAILED, f"not sent: the subscriber is {self.status}")


@dataclass(frozen=True)
class Sender:
    """This process as a sender of a campaign: ``host:pid:random``, unique."""

    id: str
    host: str
    pid: int

    @classmethod
    def this_process(cls) -> Sender:
        pid = os.getpid()
        return cls(f"{socket.gethostname()}:{pid}:{secrets.token_hex(3)}", this_host(), pid)


def this_host() -> str:
    """This host as a sender's row records it: its name, and on Linux the namespace its
    process ids belong to, so that two containers of one name (or one sharing the
    host's network) never take each other's pids for their own."""
    name = socket.gethostname()
    with contextlib.suppress(OSError):
        return f"{name} pid-ns {os.stat('/proc/self/ns/pid').st_ino}"
    return name


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process: it exists
        return False
    return False


def sender_state(row: SenderRow, at: float | None = None) -> str:
    """``finished``, ``alive`` or ``dead``: dead once its lease expired, or at once when
    it ran on this host and its process is gone."""
    if row.finished_at is not None:
        return "finished"
    if row.seen_at < (time.time() if at is None else at) - LEASE:
        return "dead"
    if row.host == this_host() and _process_gone(row.pid):
        return "dead"
    return "alive"


class Heartbeat:
    """A thread that keeps a sender's lease alive through a connection of its own, so
    that a long wait on the network (or a long commit) does not look like death."""

    def __init__(self, db: Database, sender_id: str, every: float = HEARTBEAT) -> None:
        self.db, self.sender_id, self.every = db, sender_id, every
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()

    def _beat(self) -> None:
        ledger: Ledger | None = None
        failures: tuple[type[BaseException], ...] = (InfoLettreError, *database_errors())
        while not self.stopped.wait(self.every):
            # A beat that fails (the database restarting, a connection cut while idle)
            # is tried again at the next on a new connection: the lease allows several
            # to be missed.
            try:
                ledger = ledger or Ledger(connect(self.db))
                with ledger.transaction():
                    ledger.sender_seen(self.sender_id)
            except failures:
                if ledger is not None:
                    with contextlib.suppress(*database_errors()):
                        ledger.close()
                ledger = None
        if ledger is not None:
            ledger.close()


class Journal:
    """The journal's rules over the store's ledger: one per thread.

    ``ledger`` is the ``Store`` (or a ``Ledger`` over a thread's own
    connection); its ``worker``, when set, is the sender this journal claims
    for (its lease is kept by the sender's ``Heartbeat``).
    """

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def close(self) -> None:
        """Close the ledger's connection (a worker's own, at the end of its thread)."""
        self.ledger.close()

    # -- campaign ---------------------------------------------------------------------
    def campaign(self, issue: str, subject: str, audience: dict,
                 route: Route | None = None) -> tuple[Campaign, bool]:
        """The campaign of ``issue``, created (with its rows) if new; True when created.

        The audience is fixed when the campaign is created: running ``send``
        again continues with the same rows, and a different filter is refused.
        With ``route``, each new row gets its edition in the same transaction.
        """
        with self.ledger.transaction():
            self.ledger.serialise_campaign(issue)
            campaign = self.ledger.find_campaign(issue)
            if campaign is None:
                campaign, rows = self.ledger.add_campaign(issue, subject, audience)
                if rows == 0:  # a campaign's audience is fixed: never fix it empty
                    raise InfoLettreError(
                        "nobody to send to: no active subscriber"
                        + (f" matches {audience}" if audience else "")
                        + "; import subscribers first (infolettre subscribers import FILE)")
                if route is not None:
                    self._assign(campaign.id, route)
                return campaign, True
        if campaign.audience != audience:
            raise InfoLettreError(
                f"the campaign of {issue} was started for the audience "
                f"{campaign.audience or 'all'}, not {audience or 'all'}: run "
                "`infolettre send` with the same filters to continue it")
        return campaign, False

    def newcomers(self, campaign: Campaign) -> int:
        """Active subscribers of the campaign's audience not in it: they joined (or
        came back) after it started, since its audience is fixed then."""
        return self.ledger.count_newcomers(campaign)

    def include_newcomers(self, campaign: Campaign, route: Route | None = None) -> int:
        """Add a pending row for each newcomer, in one transaction; returns how many.

        A subscriber already in the campaign, in whatever state, is never added
        again, so nobody gets the issue twice. With ``route``, the new rows get
        their edition in the same transaction.
        """
        with self.ledger.transaction():
            self.ledger.serialise_campaign(campaign.issue)
            added = self.ledger.add_newcomers(campaign)
            if route is not None:
                self._assign(campaign.id, route)
            return added

    # -- editions ---------------------------------------------------------------------------
    def assign_editions(self, campaign: Campaign, route: Route) -> int:
        """Give every row without an edition yet the one ``route`` names for its
        subscriber's language, in one transaction; returns how many.

        Rows get theirs when the campaign is created; this covers the rows of a
        campaign started before editions were recorded. A row's edition is never
        changed: a resumed campaign sends each row in the edition chosen for it.
        """
        with self.ledger.transaction():
            self.ledger.serialise_campaign(campaign.issue)
            return self._assign(campaign.id, route)

    def _assign(self, campaign_id: int, route: Route) -> int:
        langs = self.ledger.unassigned_langs(campaign_id)
        return self.ledger.assign_editions(campaign_id, {lang: route(lang) for lang in langs})

    def open_editions(self, campaign_id: int, *, in_doubt: bool = True) -> set[str]:
        """The editions of the rows that may still be sent (those in doubt or in flight
        only with ``in_doubt``)."""
        states = ("pending", "retry", *(("in_doubt", "in_flight") if in_doubt else ()))
        return self.ledger.open_editions(campaign_id, states)

    def edition_counts(self, campaign_id: int) -> dict[str, dict[str, int]]:
        """Rows per edition, then per state (every state present, zero included)."""
        return {edition: {**dict.fromkeys(STATES, 0), **counts}
                for edition, counts in self.ledger.edition_counts(campaign_id).items()}

    def find(self, issue: str) -> Campaign | None:
        """The campaign of ``issue``, if it was ever sent."""
        return self.ledger.find_campaign(issue)

    def counts(self, campaign_id: int) -> dict[str, int]:
        """Rows per state (every state present, zero included)."""
        counts = dict.fromkeys(STATES, 0)
        counts.update(self.ledger.delivery_counts(campaign_id))
        return counts

    def troubles(self, campaign_id: int) -> list[tuple[str, str, int, str]]:
        """(email, state, attempts, detail) of every failed or in-doubt row."""
        return self.ledger.troubles(campaign_id)

    def next_due(self, campaign_id: int) -> float | None:
        """When the earliest retry row is due (None when there is none)."""
        return self.ledger.next_due(campaign_id)

    # -- senders ----------------------------------------------------------------------------
    def register(self, campaign_id: int) -> Sender:
        """This process starts sending ``campaign_id``: its row in ``senders``, and the
        ledger's claims made in its name."""
        sender = Sender.this_process()
        self.ledger.register_sender(sender.id, campaign_id, sender.host, sender.pid)
        self.ledger.worker = sender.id
        return sender

    def finish(self, sender: Sender) -> None:
        """This sender ended: never alive again, whatever it left in flight. A database
        that fails now is not an error of its own (the lease expires anyway)."""
        with contextlib.suppress(*database_errors()):
            self.ledger.finish_sender(sender.id)

    def senders(self, campaign_id: int) -> list[tuple[SenderRow, str]]:
        """Every sender of the campaign with its state (see ``sender_state``)."""
        at = time.time()
        return [(row, sender_state(row, at)) for row in self.ledger.campaign_senders(campaign_id)]

    def recover(self, campaign_id: int, *, exclusive: bool = False) -> int:
        """Rows that senders no longer alive left in flight (or rows of no known sender)
        become in doubt; returns how many. ``exclusive``: no other sender can be
        running (SQLite's lock file is held), so every row in flight is an orphan.

        The senders known dead are named, not those alive: a sender that registers
        after this look (and claims rows before the update) is neither, and keeps
        its rows."""
        dead = None if exclusive else [row.id for row, state in self.senders(campaign_id)
                                       if state != "alive"]
        return self.ledger.orphans_to_in_doubt(campaign_id, dead, _RECOVERED)

    def worker_counts(self, campaign_id: int) -> dict[str, dict[str, int]]:
        """Rows per sender ('': none recorded), then per state (the states present)."""
        return self.ledger.worker_counts(campaign_id)

    def requeue_in_doubt(self, campaign_id: int) -> int:
        """In-doubt rows go back to pending (explicit request only); returns how many."""
        return self.ledger.in_doubt_to_pending(campaign_id)

    # -- a worker's loop ---------------------------------------------------------------------
    def claim(self, campaign_id: int, limit: int = 1) -> list[Claimed]:
        """Take up to ``limit`` due rows (committed as in flight before returning)."""
        return self.finish_and_claim(campaign_id, [], 0, 0.0, limit=limit)

    def finish_and_claim(self, campaign_id: int, done: list[tuple[Claimed, Result]],
                         max_attempts: int, retry_base: float, *, limit: int = 1
                         ) -> list[Claimed]:
        """Record the outcomes of ``done`` and claim the next rows, in one transaction.

        ``limit`` 0 claims nothing (the run is stopping).
        """
        outcomes: list[Tried] = []
        bounced: list[tuple[int, str]] = []
        for claimed, result in done:
            outcome = _outcome(claimed, result, max_attempts, retry_base)
            outcomes.append(outcome)
            if result.outcome is Outcome.FAILED and result.bounce:
                bounced.append((claimed.subscriber_id, outcome[3]))
        rows = self.ledger.record_and_claim(campaign_id, outcomes, bounced, limit)
        return [Claimed(*row) for row in rows]

    def release(self, campaign_id: int, claimed: list[Claimed], detail: str) -> None:
        """Give back rows that were never sent (the transport stopped before them)."""
        self.ledger.release(campaign_id, [c.subscriber_id for c in claimed], detail)


def _outcome(done: Claimed, result: Result, max_attempts: int, retry_base: float) -> Tried:
    """The row ``done`` after ``result``: a retry past ``max_attempts`` fails instead."""
    state, next_at, detail = result.outcome.value, 0.0, result.detail[:500]
    if result.outcome is Outcome.RETRY:
        if done.attempts >= max_attempts:
            state, detail = "failed", f"gave up after {done.attempts} attempts: {detail}"
        else:
            next_at = time.time() + backoff(done.attempts, retry_base, result.retry_after)
    return (done.subscriber_id, state, next_at, detail, result.provider_id)
