"""The event-loop driver, for transports with channels (SMTP): one thread, every connection.

A thread per connection spends most of a message's CPU on waking up, taking
the GIL and the journal's lock, and committing its row alone. Here one loop
waits on all the connections at once (``selectors``), and the journal's work
of every connection that finished is done in one transaction (group commit):
the outcomes of the finished messages and the claims of the rows the idle
connections take next. A transaction waits at most ``GROUP_WAIT`` seconds for
company, and only while other messages are still under way.

The cycle over the journal (claim, skip, build, record, release) is the
``engine``'s; this driver decides when to commit and claims one row per idle
connection, so a connection carries one row at a time and a process killed
at any instant leaves at most one row in flight per connection. Opening a
connection (TLS, login) blocks, so helper threads do it and wake the loop
through a socket pair.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time

from .engine import Driver, Engine, Plan, Progress, RunState
from .journal import Claimed, Journal
from .transports.base import Channel, Transport, TransportError, envelope_of, unbuildable

__all__ = ["GROUP_WAIT", "LoopDriver"]

#: Longest time a finished message's outcome waits for others to share its commit.
GROUP_WAIT = 0.002
#: Longest sleep of the loop, so that progress and Ctrl-C are seen promptly.
TICK = 0.2


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


class LoopDriver(Driver):
    """One ``run``'s state: connections, rows in flight, and the engine holding outcomes."""

    def __init__(self, transport: Transport, journal: Journal, plan: Plan, run: RunState,
                 progress: Progress | None = None) -> None:
        super().__init__(transport, journal, plan, run, progress)
        self.engine = Engine(journal, plan, run)
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
        self.claim_after = 0.0  # monotonic time before which no row is due
        self.shown = 0.0

    def run(self) -> None:
        """Wait on every connection; commit in groups; one row per idle connection."""
        try:
            while True:
                now = time.monotonic()
                self._take_opened()
                stopping = self.state.stop.is_set()
                self._renew(now, stopping)
                wait = self._commit(now, stopping)
                if self.progress and now - self.shown >= TICK:
                    self.shown = now
                    self.state.show(self.progress)
                if self._over(stopping):
                    break
                self._wait(now, stopping, wait)
        finally:
            self.engine.close()
            self.opener.close()
            _close_all(self.selector, [c for c in self.channels if c.alive])
            self.selector.close()
            self.wake_r.close()
            self.wake_w.close()
            self.state.show(self.progress)

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
            for _ in range(min(self.size, self.state.remaining - len(self.flights)) - fresh):
                self.opener.open()

    def _commit(self, now: float, stopping: bool) -> float:
        """Group commit: the outcomes, and rows for the idle connections, which start them.

        Returns the seconds a rate limit wants before the next start (0.0: none): the
        campaign's shared one, then this sender's own (``rate``).
        """
        idle = [c for c in self.channels if c.idle and not c.worn]
        engine, finished = self.engine, self.engine.finished
        commit = bool(finished) and (len(finished) >= self.group or not self.flights
                                     or stopping or now - engine.first_finished >= GROUP_WAIT)
        can_claim = bool(idle) and not stopping and now >= self.claim_after
        wait, limit = 0.0, 0
        if commit or (can_claim and not finished):
            pace = self.plan.pace  # the campaign's, then this sender's own
            while can_claim and limit < len(idle):
                wait = pace.wait() or self.transport.pace()
                if wait:
                    break
                pace.take()
                limit += 1
        if not (commit or limit):
            return wait
        retried = engine.retrying()
        taken = engine.commit(limit)
        if taken.claimed < limit or retried:  # when is the next row due?
            next_at = engine.next_due()
            due_at = float("inf") if next_at is None else now + max(0.0, next_at - time.time())
            self.claim_after = due_at if taken.claimed < limit else min(self.claim_after, due_at)
        sender = self.plan.factory.config.envelope_from
        for row, outgoing in taken.ready:
            try:
                envelope = envelope_of(outgoing, sender)
            except Exception as exc:  # whatever it is, this row fails alone
                engine.finish(row, unbuildable(exc))
                continue
            channel = idle.pop()
            self.flights[channel] = row
            channel.start(envelope)
            self._step(channel)
        return wait

    def _over(self, stopping: bool) -> bool:
        """Nothing under way or to record, and nothing more due in this run."""
        return not self.flights and not self.engine.finished and (
            stopping or self.state.remaining <= 0
            or (self.claim_after == float("inf") and not self.opener.pending))

    def _wait(self, now: float, stopping: bool, wait: float) -> None:
        """Sleep until a socket, a deadline, a due retry, a rate slot or the group's time."""
        until = now + TICK
        if self.engine.finished:
            until = min(until, self.engine.first_finished + GROUP_WAIT)
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
                self.engine.finish(self.flights.pop(channel), result)

    def _step(self, channel: Channel) -> None:
        """Let ``channel`` work; record its message's result when it has one."""
        try:
            result = channel.advance()
        except TransportError as exc:  # the sender is refused: nothing more can go
            self.engine.release([self.flights.pop(channel)], f"not sent: {exc}")
            self.state.fail(exc)
            return
        if result is not None:
            self.engine.finish(self.flights.pop(channel), result)


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
