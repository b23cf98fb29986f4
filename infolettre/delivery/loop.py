"""The sending engine for transports with channels (SMTP): one thread, every connection.

A thread per connection spends most of a message's CPU on waking up, taking
the GIL and the journal's lock, and committing its row alone. Here one loop
waits on all the connections at once (``selectors``), and the journal's work
of every connection that finished is done in one transaction (group commit):
the outcomes of the finished messages and the claims of the rows the idle
connections take next. A transaction waits at most ``GROUP_WAIT`` seconds for
company, and only while other messages are still under way.

The journal's guarantees are those of the threaded engine: a row is committed
``in_flight`` before any byte of it goes out, and a connection carries one
row at a time, so a process killed at any instant leaves at most one row in
flight per connection. Opening a connection (TLS, login) blocks, so helper
threads do it and wake the loop through a socket pair.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable

from .journal import Claimed, Journal
from .message import MessageFactory, Recipient
from .transports.base import (
    Channel,
    Outcome,
    Result,
    Transport,
    TransportError,
    envelope_of,
    unbuildable,
)

__all__ = ["GROUP_WAIT", "RunState", "drive"]

#: Longest time a finished message's outcome waits for others to share its commit.
GROUP_WAIT = 0.002
#: Longest sleep of the loop, so that progress and Ctrl-C are seen promptly.
TICK = 0.2
_FINAL = (Outcome.SENT, Outcome.FAILED, Outcome.IN_DOUBT)


class RunState:
    """Shared state of one run of a campaign: counts, the stop request, the first error."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done: Counter[str] = Counter()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.lock = threading.Lock()

    def count(self, outcome: str) -> None:
        with self.lock:
            self.done[outcome] += 1

    def fail(self, exc: BaseException) -> None:
        with self.lock:
            if self.error is None:
                self.error = exc
        self.stop.set()


class _Opener:
    """Opens channels in helper threads; each one finished wakes the loop.

    Daemon threads, not a pool: a connection attempt that hangs (an address
    that never answers) must not keep the process from exiting once the loop
    has given up on it.
    """

    def __init__(self, transport: Transport, wake: socket.socket) -> None:
        self.transport, self.wake = transport, wake
        self.pending = 0
        self.results: list[Channel | Exception] = []
        self.closed = False
        self.lock = threading.Lock()

    def open(self) -> None:
        self.pending += 1
        threading.Thread(target=self._open, name="connect", daemon=True).start()

    def _open(self) -> None:
        try:
            outcome: Channel | Exception = self.transport.open_channel()
        except Exception as exc:  # handed to the loop, which raises what is not expected
            outcome = exc
        with self.lock:
            if self.closed:  # the loop is gone: nobody will use this connection
                if isinstance(outcome, Channel):
                    _discard(outcome)
                return
            self.results.append(outcome)
        with contextlib.suppress(OSError):
            self.wake.send(b".")

    def ready(self) -> list[Channel | Exception]:
        with self.lock:
            done, self.results = self.results, []
        self.pending -= len(done)
        return done

    def close(self) -> None:
        with self.lock:
            self.closed = True
            done, self.results = self.results, []
        for outcome in done:
            if isinstance(outcome, Channel):
                _discard(outcome)


def drive(transport: Transport, journal: Journal, factory: MessageFactory, campaign_id: int,
          run: RunState, *, max_attempts: int, retry_base: float,
          progress: Callable[[int, int, Counter], None] | None = None) -> None:
    """Send the campaign's due rows through ``transport``'s channels until none is left.

    Returns when every row is final or waits for a retry that no longer
    concerns this run (the caller reports them), when ``run.stop`` is set (after
    the messages under way are finished and recorded), or when the transport
    fails (``run.error``).
    """
    _Loop(transport, journal, factory, campaign_id, run, max_attempts, retry_base,
          progress).run()


class _Loop:
    """The state of one ``drive``: connections, rows in flight, outcomes to record."""

    def __init__(self, transport: Transport, journal: Journal, factory: MessageFactory,
                 campaign_id: int, run: RunState, max_attempts: int, retry_base: float,
                 progress: Callable[[int, int, Counter], None] | None) -> None:
        self.transport, self.journal, self.factory = transport, journal, factory
        self.campaign_id, self.state = campaign_id, run
        self.max_attempts, self.retry_base, self.progress = max_attempts, retry_base, progress
        self.size = max(1, min(transport.connections, run.total))
        self.group = max(1, self.size // 4)
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.selector.register(self.wake_r, selectors.EVENT_READ)
        self.opener = _Opener(transport, self.wake_w)
        self.channels: list[Channel] = []
        self.events: dict[Channel, int] = {}  # what the selector waits for, per connection
        self.flights: dict[Channel, Claimed] = {}
        self.finished: list[tuple[Claimed, Result]] = []
        self.first_finished = 0.0
        self.remaining = run.total  # rows not final yet
        self.claim_after = 0.0  # monotonic time before which no row is due
        self.shown = 0.0

    def run(self) -> None:
        try:
            while True:
                now = time.monotonic()
                self._take_opened()
                stopping = self.state.stop.is_set()
                self._renew(now, stopping)
                wait = self._commit(now, stopping)
                if self.progress and now - self.shown >= TICK:
                    self.shown = now
                    self._show()
                if self._over(stopping):
                    break
                self._wait(now, stopping, wait)
        finally:
            if self.finished:
                self.journal.finish_and_claim(self.campaign_id, self.finished,
                                              self.max_attempts, self.retry_base, limit=0)
            self.opener.close()
            _close_all(self.selector, [c for c in self.channels if c.alive])
            self.selector.close()
            self.wake_r.close()
            self.wake_w.close()
            if self.progress:
                self._show()

    def _show(self) -> None:
        assert self.progress is not None
        self.progress(sum(self.state.done.values()), self.state.total, self.state.done)

    def _take_opened(self) -> None:
        """Connections that opened join the loop (or stop the run, when they failed)."""
        for channel in self.opener.ready():
            if isinstance(channel, TransportError):
                self.state.fail(channel)
                continue
            if isinstance(channel, Exception):
                raise channel
            if self.state.stop.is_set():
                _discard(channel)
                continue
            self.channels.append(channel)
            self.selector.register(channel, selectors.EVENT_READ)
            self.events[channel] = selectors.EVENT_READ

    def _renew(self, now: float, stopping: bool) -> None:
        """Closed connections leave; worn ones say goodbye; as many open as work needs."""
        for channel in [c for c in self.channels if not c.alive]:
            self.selector.unregister(channel)
            self.channels.remove(channel)
            del self.events[channel]
        for channel in [c for c in self.channels if c.idle and c.worn]:
            channel.quit()
        if not stopping and now >= self.claim_after:
            fresh = len([c for c in self.channels if not c.worn]) + self.opener.pending
            for _ in range(min(self.size, self.remaining - len(self.flights)) - fresh):
                self.opener.open()

    def _commit(self, now: float, stopping: bool) -> float:
        """Group commit: the outcomes, and rows for the idle connections, which start them.

        Returns the seconds the rate limit wants before the next start (0.0: none).
        """
        idle = [c for c in self.channels if c.idle and not c.worn]
        finished = self.finished
        commit = bool(finished) and (len(finished) >= self.group or not self.flights
                                     or stopping or now - self.first_finished >= GROUP_WAIT)
        can_claim = bool(idle) and not stopping and now >= self.claim_after
        wait, limit = 0.0, 0
        if commit or (can_claim and not finished):
            while can_claim and limit < len(idle):
                wait = self.transport.pace()
                if wait:
                    break
                limit += 1
        if not (commit or limit):
            return wait
        retried = any(r.outcome is Outcome.RETRY and c.attempts < self.max_attempts
                      for c, r in finished)
        claimed = self.journal.finish_and_claim(self.campaign_id, finished, self.max_attempts,
                                                self.retry_base, limit=limit)
        self.finished = []
        if len(claimed) < limit or retried:  # when is the next row due?
            next_at = self.journal.next_due(self.campaign_id)
            due_at = float("inf") if next_at is None else now + max(0.0, next_at - time.time())
            self.claim_after = due_at if len(claimed) < limit else min(self.claim_after, due_at)
        for row in claimed:
            skip = row.skipped()
            if skip is not None:
                self._finish(row, skip)
                continue
            try:
                envelope = envelope_of(
                    self.factory.outgoing(Recipient(row.subscriber_id, row.email, row.name)),
                    self.factory.config.envelope_from)
            except Exception as exc:  # whatever it is, this row fails alone
                self._finish(row, unbuildable(exc))
                continue
            channel = idle.pop()
            self.flights[channel] = row
            channel.start(envelope)
            self._step(channel)
        return wait

    def _over(self, stopping: bool) -> bool:
        """Nothing under way or to record, and nothing more due in this run."""
        return not self.flights and not self.finished and (
            stopping or self.remaining <= 0
            or (self.claim_after == float("inf") and not self.opener.pending))

    def _wait(self, now: float, stopping: bool, wait: float) -> None:
        """Sleep until a socket, a deadline, a due retry, a rate slot or the group's time."""
        until = now + TICK
        if self.finished:
            until = min(until, self.first_finished + GROUP_WAIT)
        if not stopping and self.claim_after > now:
            until = min(until, self.claim_after)
        if wait:
            until = min(until, now + wait)
        for channel in self.channels:
            if channel.deadline:
                until = min(until, channel.deadline)
            want = selectors.EVENT_READ | (selectors.EVENT_WRITE if channel.wants_write else 0)
            if channel.alive and self.events[channel] != want:
                self.selector.modify(channel, want)
                self.events[channel] = want
        for key, _ in self.selector.select(max(0.0, until - time.monotonic())):
            if key.fileobj is self.wake_r:
                with contextlib.suppress(BlockingIOError):
                    self.wake_r.recv(4096)
            elif isinstance(key.fileobj, Channel) and key.fileobj.alive:
                self._step(key.fileobj)
        now = time.monotonic()
        for channel in [c for c in self.channels if c.deadline and c.deadline <= now]:
            result = channel.expire()
            if result is not None:
                self._finish(self.flights.pop(channel), result)

    def _finish(self, claimed: Claimed, result: Result) -> None:
        if not self.finished:
            self.first_finished = time.monotonic()
        self.finished.append((claimed, result))
        self.state.count(result.outcome.value)
        if result.outcome in _FINAL or claimed.attempts >= self.max_attempts:
            self.remaining -= 1

    def _step(self, channel: Channel) -> None:
        """Let ``channel`` work; record its message's result when it has one."""
        try:
            result = channel.advance()
        except TransportError as exc:  # the sender is refused: nothing more can go
            self.journal.release(self.campaign_id, [self.flights.pop(channel)],
                                 f"not sent: {exc}")
            self.state.fail(exc)
            return
        if result is not None:
            self._finish(self.flights.pop(channel), result)


def _discard(channel: Channel) -> None:
    """Close a connection nobody will use, saying goodbye without waiting."""
    channel.quit()
    channel.expire()


def _close_all(selector: selectors.BaseSelector, channels: list[Channel]) -> None:
    """QUIT on every connection (each still registered), waiting a little for the answers."""
    for channel in channels:
        channel.quit()
    deadline = time.monotonic() + 2.0
    while any(c.alive for c in channels) and time.monotonic() < deadline:
        for channel in channels:
            if channel.alive:
                selector.modify(channel, selectors.EVENT_READ | selectors.EVENT_WRITE
                                if channel.wants_write else selectors.EVENT_READ)
        for key, _ in selector.select(0.1):
            if isinstance(key.fileobj, Channel) and key.fileobj.alive:
                key.fileobj.advance()
        for channel in channels:
            if channel.alive and channel.deadline and channel.deadline <= time.monotonic():
                channel.expire()
    for channel in channels:
        if channel.alive:
            channel.expire()
