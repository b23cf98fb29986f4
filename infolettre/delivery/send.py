"""Send an issue: to every active subscriber as one campaign, or as proofs.

This module only orchestrates: the lock (on SQLite, one send per database at a
time, a lock file beside it; on PostgreSQL several senders, on several hosts,
share a campaign through the journal's row locks), the campaign and its
journal, this sender's registration and heartbeat, the message factory (the
edition rendered and inlined once), the engine, and the summary. The cycle
over the journal (claim, skip, build, record, release) is ``engine``'s; SMTP
campaigns run it on one event loop driving every connection (``loop``), other
transports on a thread per session (``engine_threads``).

An issue with several editions is still one campaign: each row is given, when
it is created, the edition of its subscriber's language (or the first of that
language's fallback chain the issue has, else the source language's), and is
sent in that edition, in this run or any later one.
"""

from __future__ import annotations

import fcntl
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config, Database
from ..edition.ready import ReadyEdition
from ..errors import InfoLettreError
from ..store import Store
from .dkim import dkim_signer
from .engine import Driver, Plan, Progress, RunState, SharedPace
from .engine_threads import ThreadedDriver
from .journal import Heartbeat, Journal, Route
from .loop import LoopDriver
from .message import MessageFactory, Recipient
from .transports.base import Result, Transport, unbuildable

__all__ = ["Audience", "Editions", "SendSummary", "as_editions", "route", "send_campaign",
           "send_proofs"]

#: An issue's editions by language, the source language's first.
Editions = Mapping[str, ReadyEdition]


def as_editions(editions: ReadyEdition | Editions) -> dict[str, ReadyEdition]:
    """``editions`` by language: one edition alone is an issue of one edition."""
    if isinstance(editions, ReadyEdition):
        return {editions.lang: editions}
    if not editions:
        raise InfoLettreError("internal error: an issue with no edition to send")
    return dict(editions)


def route(editions: Editions, config: Config) -> Route:
    """Which edition a subscriber of each language gets: their language's, else the
    first of its fallback chain the issue has, else the source language's.

    The chain is the one the edition of that language was made by
    (``content.editions.fallback_chain``); the source language is the first edition's.
    """
    from ..content.editions import fallback_chain

    source = next(iter(editions))

    def edition_of(lang: str) -> str:
        return next((c for c in fallback_chain(lang, source, config) if c in editions),
                    source)

    return edition_of


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
    #: Messages sent in this run, per edition (its language).
    sent_by_edition: Counter = field(default_factory=Counter)
    #: The campaign's rows per edition, then per state.
    by_edition: dict[str, dict[str, int]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    troubles: list[tuple[str, str, int, str]] = field(default_factory=list)
    stopped: str = ""
    seconds: float = 0.0


class _Lock:
    """An exclusive lock on the database's sending, released at exit (or death).

    A SQLite file is one host's: one send at a time, a lock file beside it. A
    PostgreSQL database is shared by senders on several hosts, which share its
    campaign through the journal's row locks instead: no lock file.
    """

    def __init__(self, db: Database) -> None:
        self.path = db.with_name(db.name + ".send.lock") if isinstance(db, Path) else None
        self.fd = -1

    @property
    def exclusive(self) -> bool:
        """True when no other sender can run on this database while the lock is held."""
        return self.path is not None

    def __enter__(self) -> _Lock:
        if self.path is None:
            return self
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise InfoLettreError(f"another `infolettre send` is running on {self.path.parent}"
                                  "; wait for it to finish") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd < 0:
            return
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


def _missing_editions(journal: Journal, campaign_id: int, editions: Editions,
                      slug: str, in_doubt: bool) -> None:
    """Refuse to go on when rows this run would send were given an edition the issue
    no longer has: they are sent in theirs or not at all."""
    missing = sorted(journal.open_editions(campaign_id, in_doubt=in_doubt)
                     - set(editions) - {""})
    if missing:
        raise InfoLettreError(
            f"the campaign of {slug} has messages to send in the edition"
            f"{'s' * (len(missing) != 1)} {', '.join(missing)}, which the issue no longer "
            f"has (it has {', '.join(editions)}): restore "
            f"{'them' if len(missing) != 1 else 'it'} in editions: to finish the campaign")


def send_campaign(editions: ReadyEdition | Editions, config: Config, transport: Transport, *,
                  audience: Audience = Audience(), resend_in_doubt: bool = False,
                  include_new: bool = False,
                  max_attempts: int = 5, retry_base: float = 2.0,
                  progress: Progress | None = None,
                  ) -> SendSummary:
    """Send the issue to its campaign's pending rows, each in the edition recorded for
    it; safe to run again to continue.

    ``editions`` is the issue's editions by language, the source language's
    first (or one edition alone). ``progress(done, total, outcomes)`` is called
    a few times a second from this thread. Ctrl-C (SIGINT) stops the workers
    after their current message; then KeyboardInterrupt is raised, the journal
    consistent. A campaign resumed counts the subscribers who joined since it
    started (``summary.newcomers``); ``include_new`` adds them to it instead
    (``summary.added``).
    """
    started = time.monotonic()
    eds = as_editions(editions)
    source = next(iter(eds.values()))
    route_of = route(eds, config)
    with _Lock(config.db) as lock, Store(config.db,
                                         config.secrets.get("INFOLETTRE_SECRET")) as store:
        journal = Journal(store)
        campaign, created = journal.campaign(source.slug, source.subject,
                                             audience.as_dict(), route_of)
        summary = SendSummary(source.slug, created)
        if not created and include_new:
            summary.added = journal.include_newcomers(campaign, route_of)
        elif not created:
            summary.newcomers = journal.newcomers(campaign)
        journal.assign_editions(campaign, route_of)  # rows of an older campaign
        _missing_editions(journal, campaign.id, eds, source.slug, resend_in_doubt)
        sender = journal.register(campaign.id)
        try:
            with Heartbeat(config.db, sender.id):
                summary.recovered_in_doubt = journal.recover(campaign.id,
                                                             exclusive=lock.exclusive)
                if resend_in_doubt:
                    journal.requeue_in_doubt(campaign.id)
                run, interrupted = _run(journal, store, campaign.id, sender.id, eds, config,
                                        transport, max_attempts, retry_base, progress)
        finally:
            journal.finish(sender)
        if run.error is None or isinstance(run.error, InfoLettreError):
            # an orderly end (this sender's rows recorded or released): what senders
            # that died meanwhile left in flight is in doubt now. After an unexpected
            # error this sender's own rows stay in flight, for the next start to judge.
            summary.recovered_in_doubt += journal.recover(campaign.id,
                                                          exclusive=lock.exclusive)
        summary.this_run = run.done
        summary.sent_by_edition = run.sent
        summary.counts = journal.counts(campaign.id)
        summary.by_edition = journal.edition_counts(campaign.id)
        summary.troubles = journal.troubles(campaign.id)
        summary.seconds = time.monotonic() - started
        if interrupted:
            raise KeyboardInterrupt
        if run.error is not None:
            if isinstance(run.error, InfoLettreError):
                summary.stopped = str(run.error)
            else:
                raise run.error
    return summary


def _run(journal: Journal, store: Store, campaign_id: int, worker: str, eds: Editions,
         config: Config, transport: Transport, max_attempts: int, retry_base: float,
         progress: Progress | None) -> tuple[RunState, bool]:
    """Send the campaign's due rows as ``worker``: the run's state, and whether Ctrl-C
    stopped it."""
    counts = journal.counts(campaign_id)
    todo = counts["pending"] + counts["retry"]
    signer = dkim_signer(config)
    slug = next(iter(eds.values())).slug  # the source edition's, as every edition's
    factories = {lang: MessageFactory(ed, config, slug, store.secret, dkim=signer)
                 for lang, ed in eds.items()}
    for factory in factories.values():
        transport.fit(factory.content())
    run = RunState(todo)
    pace = SharedPace(config.db, f"campaign {campaign_id}", transport.campaign_rate, run.stop)
    plan = Plan(config.db, next(iter(factories.values())), campaign_id, max_attempts,
                retry_base, factories, worker=worker, pace=pace)
    kind: type[Driver] = LoopDriver if transport.multiplexed else ThreadedDriver
    interrupted = threading.Event()
    try:
        with _stop_on_sigint(run, interrupted):
            if todo:
                kind(transport, journal, plan, run, progress).run()
    finally:
        pace.close()
        transport.close()
    return run, interrupted.is_set()


def send_proofs(edition: ReadyEdition, config: Config, transport: Transport,
                addresses: list[str], *, close: bool = True, tag: str = ""
                ) -> list[tuple[str, Result]]:
    """Send one edition to ``addresses`` as proofs: no journal, no subscriber touched.

    ``close`` False leaves the transport open for the proofs of the next edition;
    ``tag`` (say ``-en``) keeps the Message-IDs of each edition's proofs distinct.
    """
    secret = (config.secrets.get("INFOLETTRE_SECRET") or "proof").encode()
    factory = MessageFactory(edition, config, f"{edition.slug}-proof{tag}", secret,
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
        if close:
            transport.close()
    return [(a, outcomes[n] if n in outcomes else next(results))
            for n, a in enumerate(addresses)]
