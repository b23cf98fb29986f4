"""Send an issue: to every active subscriber as one campaign, or as proofs.

This module only orchestrates: the lock (one send per database at a time, a
lock file beside it, so two processes never share a campaign), the campaign
and its journal, the message factory (the edition rendered and inlined once),
the engine, and the summary. The cycle over the journal (claim, skip, build,
record, release) is ``engine``'s; SMTP campaigns run it on one event loop
driving every connection (``loop``), other transports on a thread per session
(``engine_threads``).
"""

from __future__ import annotations

import fcntl
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config
from ..edition.ready import ReadyEdition
from ..errors import InfoLettreError
from ..store import Store
from .dkim import dkim_signer
from .engine import Driver, Plan, Progress, RunState
from .engine_threads import ThreadedDriver
from .journal import Journal
from .loop import LoopDriver
from .message import MessageFactory, Recipient
from .transports.base import Result, Transport, unbuildable

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
    #: active subscribers of the audience who joined since the campaign started,
    #: left out of it (``newcomers``) or added to it by ``include_new`` (``added``)
    newcomers: int = 0
    added: int = 0
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
                  include_new: bool = False,
                  max_attempts: int = 5, retry_base: float = 2.0,
                  progress: Progress | None = None,
                  ) -> SendSummary:
    """Send ``edition`` to its campaign's pending rows; safe to run again to continue.

    ``progress(done, total, outcomes)`` is called a few times a second from this
    thread. Ctrl-C (SIGINT) stops the workers after their current message; then
    KeyboardInterrupt is raised, the journal consistent. A campaign resumed
    counts the subscribers who joined since it started (``summary.newcomers``);
    ``include_new`` adds them to it instead (``summary.added``).
    """
    started = time.monotonic()
    with _Lock(config.db), Store(config.db, config.secrets.get("INFOLETTRE_SECRET")) as store:
        journal = Journal(store)
        campaign, created = journal.campaign(edition.slug, edition.subject,
                                             audience.as_dict())
        summary = SendSummary(edition.slug, created)
        if not created and include_new:
            summary.added = journal.include_newcomers(campaign)
        elif not created:
            summary.newcomers = journal.newcomers(campaign)
        summary.recovered_in_doubt = journal.recover(campaign.id)
        if resend_in_doubt:
            journal.requeue_in_doubt(campaign.id)
        counts = journal.counts(campaign.id)
        todo = counts["pending"] + counts["retry"]
        factory = MessageFactory(edition, config, edition.slug, store.secret,
                                 dkim=dkim_signer(config))
        transport.fit(factory.content())
        run = RunState(todo)
        plan = Plan(config.db, factory, campaign.id, max_attempts, retry_base)
        kind: type[Driver] = LoopDriver if transport.multiplexed else ThreadedDriver
        interrupted = threading.Event()
        with _stop_on_sigint(run, interrupted):
            if todo:
                kind(transport, journal, plan, run, progress).run()
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
