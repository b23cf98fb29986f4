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
from .transports.base import Channel, Envelope, Outcome, Result, Transport, TransportError

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
    size = max(1, min(transport.connections, run.total))
    group = max(1, size // 4)
    selector = selectors.DefaultSelector()
    wake_r, wake_w = socket.socketpair()
    wake_r.setblocking(False)
    selector.register(wake_r, selectors.EVENT_READ)
    opener = _Opener(transport, wake_w)
    channels: list[Channel] = []
    events: dict[Channel, int] = {}  # what the selector waits for, per connection
    flights: dict[Channel, Claimed] = {}
    finished: list[tuple[Claimed, Result]] = []
    first_finished = 0.0
    remaining = run.total  # rows not final yet
    claim_after = 0.0  # monotonic time before which no row is due
    shown = 0.0

    def finish(claimed: Claimed, result: Result) -> None:
        nonlocal first_finished, remaining
        if not finished:
            first_finished = time.monotonic()
        finished.append((claimed, result))
        run.count(result.outcome.value)
        if result.outcome in _FINAL or claimed.attempts >= max_attempts:
            remaining -= 1

    def step(channel: Channel) -> None:
        """Let ``channel`` work; record its message's result when it has one."""
        try:
            result = channel.advance()
        except TransportError as exc:  # the sender is refused: nothing more can go
            journal.release(campaign_id, [flights.pop(channel)], f"not sent: {exc}")
            run.fail(exc)
            result = None
        if result is not None:
            finish(flights.pop(channel), result)

    try:
        while True:
            now = time.monotonic()
            # Connections that opened (or failed to).
            for channel in opener.ready():
                if isinstance(channel, TransportError):
                    run.fail(channel)
                    continue
                if isinstance(channel, Exception):
                    raise channel
                if run.stop.is_set():
                    _discard(channel)
                    continue
                channels.append(channel)
                selector.register(channel, selectors.EVENT_READ)
                events[channel] = selectors.EVENT_READ
            stopping = run.stop.is_set()
            for channel in [c for c in channels if not c.alive]:
                selector.unregister(channel)
                channels.remove(channel)
                del events[channel]
            # Worn connections make way for new ones; as many as the work left needs.
            for channel in [c for c in channels if c.idle and c.worn]:
                channel.quit()
            if not stopping and now >= claim_after:
                fresh = len([c for c in channels if not c.worn]) + opener.pending
                for _ in range(min(size, remaining - len(flights)) - fresh):
                    opener.open()
            # Group commit: the outcomes, and rows for the idle connections.
            idle = [c for c in channels if c.idle and not c.worn]
            commit = bool(finished) and (len(finished) >= group or not flights or stopping
                                         or now - first_finished >= GROUP_WAIT)
            can_claim = bool(idle) and not stopping and now >= claim_after
            wait, limit = 0.0, 0
            if commit or (can_claim and not finished):
                while can_claim and limit < len(idle):
                    wait = transport.pace()
                    if wait:
                        break
                    limit += 1
            if commit or limit:
                retried = any(r.outcome is Outcome.RETRY and c.attempts < max_attempts
                              for c, r in finished)
                claimed = journal.finish_and_claim(campaign_id, finished, max_attempts,
                                                   retry_base, limit=limit)
                finished.clear()
                if len(claimed) < limit or retried:  # when is the next row due?
                    next_at = journal.next_due(campaign_id)
                    due_at = (float("inf") if next_at is None
                              else now + max(0.0, next_at - time.time()))
                    claim_after = due_at if len(claimed) < limit else min(claim_after, due_at)
                for row in claimed:
                    if row.status != "active":
                        finish(row, Result(Outcome.FAILED,
                                           f"not sent: the subscriber is {row.status}"))
                        continue
                    channel = idle.pop()
                    outgoing = factory.outgoing(Recipient(row.subscriber_id, row.email, row.name))
                    flights[channel] = row
                    channel.start(Envelope(factory.config.envelope_from, row.email,
                                           outgoing.mime(), dot_safe=True))
                    step(channel)
            if progress and now - shown >= TICK:
                shown = now
                progress(sum(run.done.values()), run.total, run.done)
            # The end: nothing under way or to record, and nothing more due in this run.
            if not flights and not finished and (
                    stopping or remaining <= 0
                    or (claim_after == float("inf") and not opener.pending)):
                break
            # Wait for the sockets, a deadline, a due retry, a rate slot or the group.
            until = now + TICK
            if finished:
                until = min(until, first_finished + GROUP_WAIT)
            if not stopping and claim_after > now:
                until = min(until, claim_after)
            if wait:
                until = min(until, now + wait)
            for channel in channels:
                if channel.deadline:
                    until = min(until, channel.deadline)
                want = selectors.EVENT_READ | (selectors.EVENT_WRITE if channel.wants_write
                                               else 0)
                if channel.alive and events[channel] != want:
                    selector.modify(channel, want)
                    events[channel] = want
            for key, _ in selector.select(max(0.0, until - time.monotonic())):
                if key.fileobj is wake_r:
                    with contextlib.suppress(BlockingIOError):
                        wake_r.recv(4096)
                elif isinstance(key.fileobj, Channel) and key.fileobj.alive:
                    step(key.fileobj)
            now = time.monotonic()
            for channel in [c for c in channels if c.deadline and c.deadline <= now]:
                result = channel.expire()
                if result is not None:
                    finish(flights.pop(channel), result)
    finally:
        if finished:
            journal.finish_and_claim(campaign_id, finished, max_attempts, retry_base, limit=0)
        opener.close()
        _close_all(selector, [c for c in channels if c.alive])
        selector.close()
        wake_r.close()
        wake_w.close()
        if progress:
            progress(sum(run.done.values()), run.total, run.done)


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
