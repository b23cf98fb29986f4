"""The sending engine: the cycle over the journal, written once, and its drivers' contract.

Every campaign run repeats one cycle, whatever the transport::

    claim rows ─▶ skip departed subscribers ─▶ build messages ─▶ the driver sends
        ▲                                                               │
        └──── record outcomes and claim the next rows, in one commit ◀──┘
              (rows claimed that never went out are released)

``Engine`` is that cycle over one journal connection. A ``Driver`` carries
the built messages to a transport and hands their outcomes back; there are
two: threads with a session each, for batch and API transports
(``engine_threads``), and one event loop over every SMTP channel (``loop``).
A driver decides only *when* to commit and how many rows to claim; what a
commit does (record, claim, skip, build) is here.

The journal's guarantees rest on two rules the drivers keep: a message goes
out only after ``commit`` returned its row (committed ``in_flight``), and a
connection carries at most the rows claimed for it. So a process killed at
any instant leaves at most those rows in flight, and the next run lists them
as in doubt.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from ..config import Database
from ..store import Ledger, connect
from .journal import Claimed, Journal
from .message import MessageFactory, Recipient
from .transports.base import Outcome, Result, Transport, unbuildable

if TYPE_CHECKING:
    from .message import Outgoing

__all__ = ["PACE_CHUNK", "Driver", "Engine", "Plan", "Progress", "Ready", "RunState",
           "SharedPace", "Taken"]

#: ``progress(done, total, outcomes)``, called a few times a second.
Progress = Callable[[int, int, Counter], None]
#: Outcomes after which a row is not tried again in this run.
_FINAL = (Outcome.SENT, Outcome.FAILED, Outcome.IN_DOUBT)
#: Seconds of a campaign's shared pace a sender reserves at once: one round trip to
#: the database per quarter second of sending, and at most a quarter second of the
#: campaign's rate left unused when a sender stops with slots it did not need.
PACE_CHUNK = 0.25


class SharedPace:
    """A rate limit shared by every sender of a campaign (``campaign_rate``), through
    the database's ``rate_slots``: a sender reserves a chunk of slots in one
    statement, then starts a message (an API request) at each of their times.

    Without a rate it lets everything through. Shared by the threads of one
    sender; its connection is its own. Times are wall-clock, compared across
    hosts: their clocks must agree (NTP) for the pace to hold exactly.
    """

    def __init__(self, db: Database | None = None, name: str = "",
                 rate: float | None = None, stop: threading.Event | None = None) -> None:
        self.db, self.name, self.stop = db, name, stop or threading.Event()
        self.interval = 1.0 / rate if rate else 0.0
        self.chunk = max(1, math.ceil((rate or 0) * PACE_CHUNK))
        self.slots: collections.deque[float] = collections.deque()
        self.lock = threading.Lock()
        self.ledger: Ledger | None = None

    def wait(self) -> float:
        """Seconds until this sender's next slot (0.0: now; ``take`` it then: for a
        single thread, as the event loop's driver)."""
        return self._next(take=False)

    def take(self) -> None:
        """Use the slot ``wait`` said was due."""
        if self.interval:
            with self.lock:
                self.slots.popleft()

    def acquire(self) -> bool:
        """Wait for a slot and take it (one thread of several: the slot is checked due
        and taken under one lock, so two threads never take one, nor one not due);
        False when the run was asked to stop meanwhile."""
        while (wait := self._next(take=True)) > 0:
            if self.stop.wait(wait):
                return False
        return not self.stop.is_set()

    def _next(self, *, take: bool) -> float:
        """Seconds until the next slot, reserving a chunk when none is left; with
        ``take``, a slot due now is taken."""
        if not self.interval:
            return 0.0
        with self.lock:
            if not self.slots:
                if self.ledger is None:
                    assert self.db is not None, "a shared pace needs its database"
                    self.ledger = Ledger(connect(self.db))
                first = self.ledger.reserve_slots(self.name, self.chunk, self.interval)
                self.slots.extend(first + n * self.interval for n in range(self.chunk))
            wait = max(0.0, self.slots[0] - time.time())
            if take and not wait:
                self.slots.popleft()
            return wait

    def close(self) -> None:
        """Close the pace's connection."""
        if self.ledger is not None:
            self.ledger.close()


class RunState:
    """Shared state of one run of a campaign: counts, the stop request, the first error.

    Shared by every driver thread; ``remaining`` counts the rows of the run
    not final yet (a retry that will be tried again is not final).
    """

    def __init__(self, total: int) -> None:
        self.total = total
        self.remaining = total
        self.done: Counter[str] = Counter()
        #: Messages sent in this run, per edition (its language).
        self.sent: Counter[str] = Counter()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.lock = threading.Lock()

    def count(self, outcome: str, *, final: bool = True, edition: str = "") -> None:
        with self.lock:
            self.done[outcome] += 1
            self.remaining -= final
            if outcome == Outcome.SENT.value:
                self.sent[edition] += 1

    def fail(self, exc: BaseException) -> None:
        with self.lock:
            if self.error is None:
                self.error = exc
        self.stop.set()

    def show(self, progress: Progress | None) -> None:
        """Tell ``progress`` where the run stands (nothing when there is no callback)."""
        if progress:
            progress(sum(self.done.values()), self.total, self.done)


@dataclass(frozen=True)
class Plan:
    """What every engine of one run shares: the campaign, its messages, the retry rule.

    ``factory`` is the source edition's; ``factories`` holds every edition's by
    language, and a row is built by the factory of the edition recorded for it.
    """

    db: Database
    factory: MessageFactory
    campaign_id: int
    max_attempts: int
    retry_base: float
    factories: Mapping[str, MessageFactory] = field(default_factory=dict)
    #: The id of the sender this run claims rows for ('' when none is registered).
    worker: str = ""
    #: The campaign's rate shared with its other senders (none by default).
    pace: SharedPace = field(default_factory=SharedPace)

    def factory_of(self, edition: str) -> MessageFactory:
        """The factory of ``edition``; a row without one (a plan of one edition) takes
        ``factory``. KeyError for an edition the run does not have: that row is never
        sent in another edition than its own."""
        if not self.factories or (not edition and len(self.factories) == 1):
            return self.factory
        return self.factories[edition]


class Ready(NamedTuple):
    """A claimed row (committed in flight) and its built message, for the driver to send."""

    row: Claimed
    outgoing: Outgoing


class Taken(NamedTuple):
    """What one commit claimed: how many rows, and those the driver must send."""

    claimed: int
    ready: list[Ready]


class Engine:
    """The cycle over one journal connection (one per thread): claim, skip, build, record.

    Outcomes handed to ``finish`` wait for the next ``commit``, which records
    them and claims the next rows in the same transaction (one commit per
    batch, or per group of connections). A row whose subscriber left since
    the campaign started, or whose message cannot be built, is finished at
    once and never reaches the driver.
    """

    def __init__(self, journal: Journal, plan: Plan, run: RunState) -> None:
        self.journal, self.plan, self.run = journal, plan, run
        self.finished: list[tuple[Claimed, Result]] = []
        self.first_finished = 0.0  # monotonic time the oldest waiting outcome came

    def finish(self, row: Claimed, result: Result) -> None:
        """``row`` ended in ``result``: counted now, recorded at the next commit."""
        if not self.finished:
            self.first_finished = time.monotonic()
        self.finished.append((row, result))
        self.run.count(result.outcome.value, final=result.outcome in _FINAL
                       or row.attempts >= self.plan.max_attempts, edition=row.edition)

    def retrying(self) -> bool:
        """True when an outcome waiting for the commit schedules a retry."""
        return any(r.outcome is Outcome.RETRY and row.attempts < self.plan.max_attempts
                   for row, r in self.finished)

    def commit(self, limit: int) -> Taken:
        """Record the finished outcomes and claim up to ``limit`` rows, in one transaction.

        Each claimed row's subscriber is checked once and its message built;
        the rows to send come back ready. ``limit`` 0 only records.
        """
        plan = self.plan
        claimed = self.journal.finish_and_claim(plan.campaign_id, self.finished,
                                                plan.max_attempts, plan.retry_base,
                                                limit=limit)
        self.finished = []
        ready = []
        for row in claimed:
            skip = row.skipped()
            if skip is not None:
                self.finish(row, skip)
                continue
            try:
                outgoing = plan.factory_of(row.edition).outgoing(
                    Recipient(row.subscriber_id, row.email, row.name))
            except Exception as exc:  # whatever it is, this row fails alone
                self.finish(row, unbuildable(exc))
                continue
            ready.append(Ready(row, outgoing))
        return Taken(len(claimed), ready)

    def release(self, rows: list[Claimed], detail: str) -> None:
        """Give back rows that never went out (the transport stopped before them)."""
        if rows:
            self.journal.release(self.plan.campaign_id, rows, detail)

    def next_due(self) -> float | None:
        """When (wall-clock time) the campaign's earliest retry is due; None: none."""
        return self.journal.next_due(self.plan.campaign_id)

    def close(self) -> None:
        """Record what is finished and not yet committed (also after an error)."""
        if self.finished:
            self.commit(0)


class Driver(ABC):
    """Carries an engine's messages to a transport: threads, or one event loop.

    ``run`` returns when every row of the run is final or waits for a retry
    that no longer concerns this run (the caller reports them), when
    ``run.stop`` is set (after the messages under way are finished and
    recorded), or when the transport fails (``run.error``).
    """

    def __init__(self, transport: Transport, journal: Journal, plan: Plan, run: RunState,
                 progress: Progress | None = None) -> None:
        self.transport, self.journal, self.plan = transport, journal, plan
        self.state, self.progress = run, progress

    @abstractmethod
    def run(self) -> None:
        """Send the campaign's due rows through the transport until none is left."""
