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
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass

from ..errors import InfoLettreError
from ..store import Connection, now, set_status, transaction
from .transports.base import Outcome, Result

__all__ = ["STATES", "Campaign", "Claimed", "Journal", "backoff"]

STATES = ("pending", "in_flight", "sent", "retry", "failed", "in_doubt")
MAX_BACKOFF = 600.0


def backoff(attempt: int, base: float, retry_after: float | None = None) -> float:
    """Seconds before attempt ``attempt + 1``: exponential, with ±50 % jitter."""
    if retry_after is not None:
        return retry_after
    return min(MAX_BACKOFF, base * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)


@dataclass(frozen=True)
class Campaign:
    """A send of one issue to one audience."""

    id: int
    issue: str
    subject: str
    audience: dict


@dataclass(frozen=True)
class Claimed:
    """A row this worker now owns, with what it needs to build the message."""

    subscriber_id: int
    email: str
    name: str
    status: str
    attempts: int

    def skipped(self) -> Result | None:
        """The outcome of a row whose subscriber left since the campaign started, or None."""
        if self.status == "active":
            return None
        return Result(Outcome.FAILED, f"not sent: the subscriber is {self.status}")


class Journal:
    """Operations on the journal over one connection (one per thread)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- campaign ---------------------------------------------------------------------
    def campaign(self, issue: str, subject: str, audience: dict) -> tuple[Campaign, bool]:
        """The campaign of ``issue``, created (with its rows) if new; True when created.

        The audience is fixed when the campaign is created: running ``send``
        again continues with the same rows, and a different filter is refused.
        """
        with transaction(self.conn):
            row = self.conn.execute("SELECT id, issue, subject, audience FROM campaigns "
                                    "WHERE issue = ?", (issue,)).fetchone()
            if row is None:
                cursor = self.conn.execute(
                    "INSERT INTO campaigns (issue, subject, audience, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (issue, subject, json.dumps(audience, sort_keys=True), now()))
                campaign_id = int(cursor.lastrowid or 0)
                clauses = "".join(f" AND {k} = ?" for k in sorted(audience))
                rows = self.conn.execute(
                    "INSERT INTO deliveries (campaign_id, subscriber_id, state, updated_at) "
                    f"SELECT ?, id, 'pending', ? FROM subscribers WHERE status = 'active'"
                    f"{clauses}", (campaign_id, now(), *(audience[k] for k in sorted(audience)))
                ).rowcount
                if rows == 0:  # a campaign's audience is fixed: never fix it empty
                    raise InfoLettreError(
                        "nobody to send to: no active subscriber"
                        + (f" matches {audience}" if audience else "")
                        + "; import subscribers first (infolettre subscribers import FILE)")
                return Campaign(campaign_id, issue, subject, audience), True
        campaign = Campaign(row[0], row[1], row[2], json.loads(row[3]))
        if campaign.audience != audience:
            raise InfoLettreError(
                f"the campaign of {issue} was started for the audience "
                f"{campaign.audience or 'all'}, not {audience or 'all'}: run "
                "`infolettre send` with the same filters to continue it")
        return campaign, False

    def find(self, issue: str) -> Campaign | None:
        """The campaign of ``issue``, if it was ever sent."""
        row = self.conn.execute("SELECT id, issue, subject, audience FROM campaigns "
                                "WHERE issue = ?", (issue,)).fetchone()
        return Campaign(row[0], row[1], row[2], json.loads(row[3])) if row else None

    def counts(self, campaign_id: int) -> dict[str, int]:
        """Rows per state (every state present, zero included)."""
        counts = dict.fromkeys(STATES, 0)
        counts.update(self.conn.execute(
            "SELECT state, count(*) FROM deliveries WHERE campaign_id = ? GROUP BY state",
            (campaign_id,)).fetchall())
        return counts

    def troubles(self, campaign_id: int) -> list[tuple[str, str, int, str]]:
        """(email, state, attempts, detail) of every failed or in-doubt row."""
        return self.conn.execute(
            "SELECT s.email, d.state, d.attempts, d.detail FROM deliveries d "
            "JOIN subscribers s ON s.id = d.subscriber_id WHERE d.campaign_id = ? "
            "AND d.state IN ('failed', 'in_doubt') ORDER BY d.state, s.email",
            (campaign_id,)).fetchall()

    def next_due(self, campaign_id: int) -> float | None:
        """When the earliest retry row is due (None when there is none)."""
        return self.conn.execute("SELECT min(next_at) FROM deliveries WHERE campaign_id = ? "
                                 "AND state = 'retry'", (campaign_id,)).fetchone()[0]

    def recover(self, campaign_id: int) -> int:
        """Rows a dead process left in flight become in doubt; returns how many."""
        with transaction(self.conn):
            cursor = self.conn.execute(
                "UPDATE deliveries SET state = 'in_doubt', updated_at = ?, detail = "
                "'the sending process stopped while this message was in flight' "
                "WHERE campaign_id = ? AND state = 'in_flight'", (now(), campaign_id))
        return cursor.rowcount

    def requeue_in_doubt(self, campaign_id: int) -> int:
        """In-doubt rows go back to pending (explicit request only); returns how many."""
        with transaction(self.conn):
            cursor = self.conn.execute(
                "UPDATE deliveries SET state = 'pending', next_at = 0, updated_at = ? "
                "WHERE campaign_id = ? AND state = 'in_doubt'", (now(), campaign_id))
        return cursor.rowcount

    # -- a worker's loop ---------------------------------------------------------------------
    def _claim(self, campaign_id: int, limit: int) -> list[Claimed]:
        """Select due rows, then mark them by primary key (inside the caller's transaction).

        Two statements rather than ``UPDATE … WHERE id IN (SELECT … LIMIT n)``:
        SQLite runs that form through a temporary table, eight times slower, and
        this runs once per message (the write transaction makes the pair atomic).
        """
        rows: list[tuple[int, str, str, str, int]] = []
        for state, due in (("pending", 0.0), ("retry", time.time())):
            if len(rows) >= limit:
                break
            rows += self.conn.execute(
                "SELECT d.subscriber_id, s.email, s.name, s.status, d.attempts + 1 "
                "FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id "
                "WHERE d.campaign_id = ? AND d.state = ? AND d.next_at <= ? LIMIT ?",
                (campaign_id, state, due, limit - len(rows))).fetchall()
        if rows:
            stamp = now()
            self.conn.executemany(
                "UPDATE deliveries SET state = 'in_flight', attempts = attempts + 1, "
                "updated_at = ? WHERE campaign_id = ? AND subscriber_id = ?",
                [(stamp, campaign_id, row[0]) for row in rows])
        return [Claimed(*row) for row in sorted(rows)]

    def claim(self, campaign_id: int, limit: int = 1) -> list[Claimed]:
        """Take up to ``limit`` due rows (committed as in flight before returning)."""
        return self.finish_and_claim(campaign_id, [], 0, 0.0, limit=limit)

    def finish_and_claim(self, campaign_id: int, done: list[tuple[Claimed, Result]],
                         max_attempts: int, retry_base: float, *, limit: int = 1
                         ) -> list[Claimed]:
        """Record the outcomes of ``done`` and claim the next rows, in one transaction.

        ``limit`` 0 claims nothing (the run is stopping).
        """
        with transaction(self.conn):
            for claimed, result in done:
                self._record(campaign_id, claimed, result, max_attempts, retry_base)
            return self._claim(campaign_id, limit) if limit else []

    def release(self, campaign_id: int, claimed: list[Claimed], detail: str) -> None:
        """Give back rows that were never sent (the transport stopped before them)."""
        with transaction(self.conn):
            self.conn.executemany(
                "UPDATE deliveries SET state = 'pending', attempts = attempts - 1, "
                "detail = ?, updated_at = ? WHERE campaign_id = ? AND subscriber_id = ?",
                [(detail, now(), campaign_id, c.subscriber_id) for c in claimed])

    def _record(self, campaign_id: int, done: Claimed, result: Result, max_attempts: int,
                retry_base: float) -> None:
        state, next_at, detail = result.outcome.value, 0.0, result.detail[:500]
        if result.outcome is Outcome.RETRY:
            if done.attempts >= max_attempts:
                state, detail = "failed", f"gave up after {done.attempts} attempts: {detail}"
            else:
                next_at = time.time() + backoff(done.attempts, retry_base, result.retry_after)
        self.conn.execute(
            "UPDATE deliveries SET state = ?, next_at = ?, detail = ?, provider_id = ?, "
            "updated_at = ? WHERE campaign_id = ? AND subscriber_id = ?",
            (state, next_at, detail, result.provider_id, now(), campaign_id,
             done.subscriber_id))
        if result.outcome is Outcome.FAILED and result.bounce:
            set_status(self.conn, done.subscriber_id, "bounced", detail, only_from="active")
