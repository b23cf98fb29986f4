"""Send an issue: to every active subscriber as one campaign, or as proofs.

The edition is rendered and inlined once. SMTP campaigns run on one event loop
driving every connection (``sendloop``). Other transports get a thread per
session, each with its own database connection, looping: build the
recipient's message (placeholder substitution), deliver it, record the
outcome and claim the next row in one transaction (see ``journal``). Only one
send runs per database at a time (a lock file beside it), so two processes
never share a campaign.
"""

from __future__ import annotations

import fcntl
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config
from ..edition.ready import ReadyEdition
from ..errors import InfoLettreError
from ..store import Store, connect
from .journal import Claimed, Journal
from .loop import RunState, drive
from .message import MessageFactory, Recipient, dkim_signer
from .transports.base import Result, Transport, TransportError, unbuildable

__all__ = ["Audience", "SendSummary", "send_campaign", "send_proofs"]


@dataclass(frozen=True)
class Audience:
    """Which active subscribers a campaign goes to."""

    lang: str | None = None
    centre: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("lang", self.lang), ("centre", self.centre)) if v}


@dataclass
class SendSummary:
    """What a run of ``send`` did, and where the campaign stands."""

    campaign: str
    created: bool
    recovered_in_doubt: int = 0
    this_run: Counter = field(default_factory=Counter)
    counts: dict[str, int] = field(default_factory=dict)
    troubles: list[tuple[str, str, int, str]] = field(default_factory=list)
    stopped: str = ""
    seconds: float = 0.0


class _Lock:
    """An exclusive lock on the database's sending, released at exit (or death)."""

    def __init__(self, db: Path) -> None:
        self.path = db.with_name(db.name + ".send.lock")

    def __enter__(self) -> _Lock:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise InfoLettreError(f"another `infolettre send` is running on {self.path.parent}"
                                  "; wait for it to finish") from None
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _worker(config: Config, transport: Transport, factory: MessageFactory, campaign_id: int,
            run: RunState, max_attempts: int, retry_base: float) -> None:
    journal = Journal(connect(config.db))
    content = factory.content()
    size = transport.batch_size
    session = None
    claimed: list[Claimed] = []
    try:
        session = transport.open()
        claimed = journal.claim(campaign_id, size)
        while not run.stop.is_set():
            if not claimed:
                due = journal.next_due(campaign_id)
                if due is None:
                    return
                run.stop.wait(max(0.05, min(due - time.time(), 1.0)))
                claimed = journal.claim(campaign_id, size)
                continue
            done: list[tuple[Claimed, Result]] = [
                (c, skip) for c in claimed if (skip := c.skipped()) is not None]
            active = [c for c in claimed if c.skipped() is None]
            batch = []
            for c in list(active):
                try:
                    batch.append(factory.outgoing(Recipient(c.subscriber_id, c.email, c.name)))
                except Exception as exc:  # whatever it is, this row fails alone
                    active.remove(c)
                    done.append((c, unbuildable(exc)))
            if active:
                try:
                    results = session.send_batch(content, batch)
                except TransportError as exc:
                    journal.release(campaign_id, active, f"not sent: {exc}")
                    journal.finish_and_claim(campaign_id, done, max_attempts, retry_base,
                                             limit=0)
                    claimed = []
                    raise
                done += zip(active, results, strict=True)
            for _, result in done:
                run.count(result.outcome.value)
            claimed = journal.finish_and_claim(campaign_id, done, max_attempts, retry_base,
                                               limit=0 if run.stop.is_set() else size)
        if claimed:
            journal.release(campaign_id, claimed, "not sent: the run was stopped")
    except BaseException as exc:
        run.fail(exc)
    finally:
        if session is not None:
            session.close()
        journal.conn.close()


def _run_workers(config: Config, transport: Transport, factory: MessageFactory,
                 campaign_id: int, run: RunState, max_attempts: int, retry_base: float,
                 progress: Callable[[int, int, Counter], None] | None) -> None:
    """A thread per session (files, HTTP APIs: each request carries a whole batch)."""
    workers = [threading.Thread(
        target=_worker, name=f"send-{n}", daemon=True,
        args=(config, transport, factory, campaign_id, run, max_attempts, retry_base))
        for n in range(max(1, min(transport.connections,
                                  -(-run.total // transport.batch_size))))]
    for worker in workers:
        worker.start()
    while any(w.is_alive() for w in workers):
        for worker in workers:
            worker.join(0.2)
        if progress:
            progress(sum(run.done.values()), run.total, run.done)
    if progress:
        progress(sum(run.done.values()), run.total, run.done)


@contextmanager
def _stop_on_sigint(run: RunState, interrupted: threading.Event) -> Iterator[None]:
    """While workers run, Ctrl-C asks them to stop instead of raising in the main thread.

    A KeyboardInterrupt raised inside ``Thread.join`` can leave a running thread
    marked as finished, and the process would then exit with a message in flight;
    so the signal only sets the stop event, and the caller raises once the
    journal is consistent.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        interrupted.set()
        run.stop.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def send_campaign(edition: ReadyEdition, config: Config, transport: Transport, *,
                  audience: Audience = Audience(), resend_in_doubt: bool = False,
                  max_attempts: int = 5, retry_base: float = 2.0,
                  progress: Callable[[int, int, Counter], None] | None = None,
                  ) -> SendSummary:
    """Send ``edition`` to its campaign's pending rows; safe to run again to continue.

    ``progress(done, total, outcomes)`` is called a few times a second from this
    thread. Ctrl-C (SIGINT) stops the workers after their current message; then
    KeyboardInterrupt is raised, the journal consistent.
    """
    started = time.monotonic()
    with _Lock(config.db), Store(config.db, config.secrets.get("INFOLETTRE_SECRET")) as store:
        journal = Journal(store.conn)
        campaign, created = journal.campaign(edition.slug, edition.subject,
                                             audience.as_dict())
        summary = SendSummary(edition.slug, created)
        summary.recovered_in_doubt = journal.recover(campaign.id)
        if resend_in_doubt:
            journal.requeue_in_doubt(campaign.id)
        counts = journal.counts(campaign.id)
        todo = counts["pending"] + counts["retry"]
        factory = MessageFactory(edition, config, edition.slug, store.secret,
                                 dkim=dkim_signer(config))
        transport.fit(factory.content())
        run = RunState(todo)
        interrupted = threading.Event()
        with _stop_on_sigint(run, interrupted):
            if todo and transport.multiplexed:
                drive(transport, journal, factory, campaign.id, run, max_attempts=max_attempts,
                      retry_base=retry_base, progress=progress)
            elif todo:
                _run_workers(config, transport, factory, campaign.id, run, max_attempts,
                             retry_base, progress)
        transport.close()
        summary.this_run = run.done
        summary.counts = journal.counts(campaign.id)
        summary.troubles = journal.troubles(campaign.id)
        summary.seconds = time.monotonic() - started
        if interrupted.is_set():
            raise KeyboardInterrupt
        if run.error is not None:
            if isinstance(run.error, InfoLettreError):
                summary.stopped = str(run.error)
            else:
                raise run.error
    return summary


def send_proofs(edition: ReadyEdition, config: Config, transport: Transport,
                addresses: list[str]) -> list[tuple[str, Result]]:
    """Send the issue to ``addresses`` as proofs: no journal, no subscriber touched."""
    secret = (config.secrets.get("INFOLETTRE_SECRET") or "proof").encode()
    factory = MessageFactory(edition, config, f"{edition.slug}-proof", secret,
                             dkim=dkim_signer(config), subject_prefix="[TEST] ")
    outcomes: dict[int, Result] = {}
    batch = []
    for n, address in enumerate(addresses):
        try:
            batch.append(factory.outgoing(Recipient(-(n + 1), address)))
        except Exception as exc:  # whatever it is, this proof fails alone
            outcomes[n] = unbuildable(exc)
    session = transport.open()
    try:
        results = iter(session.send_batch(factory.content(), batch) if batch else [])
    finally:
        session.close()
        transport.close()
    return [(a, outcomes[n] if n in outcomes else next(results))
            for n, a in enumerate(addresses)]
