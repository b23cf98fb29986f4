"""The threaded driver: a thread per session, for transports without channels.

Files and HTTP APIs block on each request, and an API request carries a whole
batch; so each thread opens a session and its own journal connection, and
loops through the engine's cycle one batch at a time: the commit that records
a batch's outcomes claims the next batch (see ``engine``). A batch whose rows
are in several editions goes as a request per edition, each with its content.
"""

from __future__ import annotations

import threading
import time

from ..store import Ledger, connect
from .engine import Driver, Engine, Ready
from .journal import Journal
from .transports.base import BatchSession, TransportError

__all__ = ["ThreadedDriver"]

#: Longest wait for a retry to come due, so that a stop request is seen promptly.
_RETRY_POLL = 1.0


class ThreadedDriver(Driver):
    """Up to ``transport.connections`` threads, each a session carrying whole batches."""

    def run(self) -> None:
        size = self.transport.batch_size
        workers = [threading.Thread(target=self._work, name=f"send-{n}", daemon=True)
                   for n in range(max(1, min(self.transport.connections,
                                             -(-self.state.total // size))))]
        for worker in workers:
            worker.start()
        while any(w.is_alive() for w in workers):
            for worker in workers:
                worker.join(0.2)
            self.state.show(self.progress)
        self.state.show(self.progress)

    def _work(self) -> None:
        """One thread: its session, its connection, the cycle until nothing is due. A
        failure, the database's connection included, stops the run with its reason."""
        engine: Engine | None = None
        session: BatchSession | None = None
        try:
            engine = Engine(Journal(Ledger(connect(self.plan.db), self.plan.worker)),
                            self.plan, self.state)
            try:
                session = self.transport.open()
                self._cycle(engine, session)
            finally:  # outcomes already known are recorded, whatever stopped the cycle
                engine.close()
        except BaseException as exc:
            self.state.fail(exc)
        finally:
            if session is not None:
                session.close()
            if engine is not None:
                engine.journal.close()

    def _cycle(self, engine: Engine, session: BatchSession) -> None:
        run, size = self.state, self.transport.batch_size
        while not run.stop.is_set():
            taken = engine.commit(size)
            rows = [r.row for r in taken.ready]
            if run.stop.is_set():  # asked to stop while claiming: these never go out
                engine.release(rows, "not sent: the run was stopped")
                return
            if not taken.ready:
                if engine.finished:  # every row claimed was skipped: record, claim again
                    continue
                due = engine.next_due()
                if due is None:
                    return
                run.stop.wait(max(0.05, min(due - time.time(), _RETRY_POLL)))
                continue
            groups: dict[str, list[Ready]] = {}
            for ready in taken.ready:
                groups.setdefault(ready.row.edition, []).append(ready)
            ordered = list(groups.items())
            for n, (edition, group) in enumerate(ordered):
                try:
                    paced = self.plan.pace.acquire()
                except BaseException as exc:  # the shared pace's database failed
                    engine.release([r.row for _, g in ordered[n:] for r in g],
                                   f"not sent: {exc}")
                    raise
                if not paced:  # stopped while waiting for the campaign's pace
                    engine.release([r.row for _, g in ordered[n:] for r in g],
                                   "not sent: the run was stopped")
                    return
                content = self.plan.factory_of(edition).content()
                try:
                    results = session.send_batch(content, [r.outgoing for r in group])
                except TransportError as exc:  # this group and the next never went out
                    engine.release([r.row for _, g in ordered[n:] for r in g],
                                   f"not sent: {exc}")
                    raise
                for ready, result in zip(group, results, strict=True):
                    engine.finish(ready.row, result)
