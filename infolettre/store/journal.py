"""The sending journal's tables: campaigns, and one delivery row per recipient.

The delivery stage decides what a row's state becomes (``delivery.journal``);
this module is how it is read and written. The operations a second database
would implement differently stay distinct methods: ``claim_due`` (take rows,
which another backend does with ``FOR UPDATE SKIP LOCKED``), ``record_outcomes``
and ``release``. ``record_and_claim`` is the one commit of a worker's cycle:
the outcomes of its last rows and the claim of its next ones, atomically.
Methods named for a whole operation take the write transaction themselves;
the others expect the caller to hold it (``with ledger.transaction():``).

The claim and record path runs once per batch at thousands of messages a
second: one statement per kind of change, ``executemany`` over the rows.

Several senders may share a campaign on PostgreSQL (``senders``): a claim there is
one ``UPDATE … FROM (SELECT … FOR UPDATE SKIP LOCKED)``, so that two senders never
take the same row and never wait for each other's rows, and each row claimed
carries the claiming sender's id (``worker``). SQLite has one sender at a time
(its write transactions are serial, and ``send`` holds a lock file): there, the
cheaper SELECT then UPDATE.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from .connection import Connection, transaction
from .history import set_status
from .rows import now
from .senders import SenderRows

__all__ = ["Campaign", "DueRow", "Ledger", "Tried"]

#: (subscriber_id, email, name, status, attempts counting this one, edition), by
#: subscriber id; the edition is the language of the edition the row is sent in.
DueRow = tuple[int, str, str, str, int, str]
#: (subscriber_id, state, next_at, detail, provider_id) of a row that was tried.
Tried = tuple[int, str, float, str, str]


@dataclass(frozen=True)
class Campaign:
    """A send of one issue to one audience."""

    id: int
    issue: str
    subject: str
    audience: dict


class Ledger(SenderRows):
    """The campaigns and deliveries tables over one connection (one per thread).

    Mixed into ``Store``; also made over a bare connection (``Ledger(conn)``)
    by the sending workers, each of which has its own. ``worker`` is the id of
    the sender whose claims this ledger makes ('' when none is registered), and
    is written on each row it claims.
    """

    conn: Connection
    worker: str = ""
    #: (campaign id, highest subscriber id) of this ledger's last claim of pending rows
    #: on PostgreSQL: where its next claim starts (``_claim_skip_locked``).
    _claim_cursor: tuple[int, int] = (0, 0)

    def __init__(self, conn: Connection, worker: str = "") -> None:
        self.conn = conn
        self.worker = worker

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def transaction(self) -> AbstractContextManager[Connection]:
        """``with ledger.transaction():`` — all or nothing, with the write lock taken."""
        return transaction(self.conn)

    # -- campaigns -----------------------------------------------------------------------
    def find_campaign(self, issue: str) -> Campaign | None:
        """The campaign of ``issue``, if it was ever started."""
        row = self.conn.execute("SELECT id, issue, subject, audience FROM campaigns "
                                "WHERE issue = ?", (issue,)).fetchone()
        return Campaign(row[0], row[1], row[2], json.loads(row[3])) if row else None

    def serialise_campaign(self, issue: str) -> None:
        """Inside a transaction: wait for any other sender setting up the campaign of
        ``issue`` (creating it, adding newcomers, giving editions) to commit, so that
        senders starting together make one campaign and one row per subscriber."""
        self.conn.serialise(f"campaign {issue}")

    def add_campaign(self, issue: str, subject: str, audience: dict[str, str]
                     ) -> tuple[Campaign, int]:
        """A new campaign with a pending row per active subscriber of ``audience``
        (column: value), and how many rows that is (the caller holds a transaction)."""
        campaign_id = int(self.conn.execute(
            "INSERT INTO campaigns (issue, subject, audience, created_at) VALUES (?, ?, ?, ?) "
            "RETURNING id", (issue, subject, json.dumps(audience, sort_keys=True), now())
        ).fetchone()[0])
        clauses = "".join(f" AND {k} = ?" for k in sorted(audience))
        rows = self.conn.execute(
            "INSERT INTO deliveries (campaign_id, subscriber_id, state, updated_at) "
            f"SELECT ?, id, 'pending', ? FROM subscribers WHERE status = 'active'{clauses}",
            (campaign_id, now(), *(audience[k] for k in sorted(audience)))).rowcount
        return Campaign(campaign_id, issue, subject, audience), rows

    def _newcomers(self, campaign_id: int, audience: dict) -> tuple[str, list]:
        """The SELECT of active subscribers of ``audience`` without a row in the campaign."""
        clauses = "".join(f" AND s.{k} = ?" for k in sorted(audience))
        return (f"FROM subscribers s WHERE s.status = 'active'{clauses} AND NOT EXISTS "
                "(SELECT 1 FROM deliveries d WHERE d.campaign_id = ? "
                "AND d.subscriber_id = s.id)",
                [*(audience[k] for k in sorted(audience)), campaign_id])

    def count_newcomers(self, campaign: Campaign) -> int:
        """Active subscribers of the campaign's audience who have no row in it (they
        joined, or came back, since it started)."""
        sql, args = self._newcomers(campaign.id, campaign.audience)
        return int(self.conn.execute(f"SELECT count(*) {sql}", args).fetchone()[0])

    def add_newcomers(self, campaign: Campaign) -> int:
        """A pending row for each of ``count_newcomers``; returns how many (the caller
        holds a transaction, so that the count and the rows agree)."""
        sql, args = self._newcomers(campaign.id, campaign.audience)
        return self.conn.execute(
            "INSERT INTO deliveries (campaign_id, subscriber_id, state, updated_at) "
            f"SELECT ?, s.id, 'pending', ? {sql}", (campaign.id, now(), *args)).rowcount

    def sent_issues(self) -> set[str]:
        """The issues whose campaign delivered at least one message."""
        return {row[0] for row in self.conn.execute(
            "SELECT issue FROM campaigns c WHERE EXISTS (SELECT 1 FROM deliveries d "
            "WHERE d.campaign_id = c.id AND d.state = 'sent')")}

    # -- editions ---------------------------------------------------------------------------
    def unassigned_langs(self, campaign_id: int) -> list[str]:
        """The languages of the subscribers whose row has no edition yet."""
        return [row[0] for row in self.conn.execute(
            "SELECT DISTINCT s.lang FROM deliveries d JOIN subscribers s "
            "ON s.id = d.subscriber_id WHERE d.campaign_id = ? AND d.edition = '' "
            "ORDER BY s.lang", (campaign_id,))]

    def assign_editions(self, campaign_id: int, routes: dict[str, str]) -> int:
        """Give each row without an edition the edition ``routes`` names for its
        subscriber's language (the caller holds a transaction); returns how many.

        A row's edition is never changed once given: the subscriber's language
        may change during the campaign, their edition does not.
        """
        cursor = self.conn.executemany(
            "UPDATE deliveries SET edition = ? WHERE campaign_id = ? AND edition = '' "
            "AND subscriber_id IN (SELECT id FROM subscribers WHERE lang = ?)",
            [(edition, campaign_id, lang) for lang, edition in routes.items()])
        return cursor.rowcount

    def open_editions(self, campaign_id: int,
                      states: Sequence[str] = ("pending", "retry", "in_doubt", "in_flight")
                      ) -> set[str]:
        """The editions of the rows in ``states`` (by default, all that may still be sent)."""
        marks = ", ".join("?" * len(states))
        return {row[0] for row in self.conn.execute(
            "SELECT DISTINCT edition FROM deliveries WHERE campaign_id = ? "
            f"AND state IN ({marks})", (campaign_id, *states))}

    def edition_counts(self, campaign_id: int) -> dict[str, dict[str, int]]:
        """Rows per edition and state, for the pairs present ('' : no edition yet)."""
        return self._counts_by("edition", campaign_id)

    def worker_counts(self, campaign_id: int) -> dict[str, dict[str, int]]:
        """Rows per sender and state, for the pairs present ('': no sender recorded)."""
        return self._counts_by("worker", campaign_id)

    def _counts_by(self, column: str, campaign_id: int) -> dict[str, dict[str, int]]:
        """Rows per value of ``column`` (``edition`` or ``worker``), then per state."""
        assert column in ("edition", "worker"), column
        counts: dict[str, dict[str, int]] = {}
        for value, state, n in self.conn.execute(
                f"SELECT {column}, state, count(*) FROM deliveries WHERE campaign_id = ? "
                f"GROUP BY {column}, state ORDER BY {column}", (campaign_id,)):
            counts.setdefault(value, {})[state] = n
        return counts

    # -- reading a campaign's rows ------------------------------------------------------------
    def delivery_counts(self, campaign_id: int) -> dict[str, int]:
        """Rows per state, for the states present."""
        return dict(self.conn.execute(
            "SELECT state, count(*) FROM deliveries WHERE campaign_id = ? GROUP BY state",
            (campaign_id,)).fetchall())

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

    # -- whole-campaign changes (each its own transaction) -------------------------------------
    def in_doubt_to_pending(self, campaign_id: int) -> int:
        """In-doubt rows become pending, due at once; returns how many."""
        with self.transaction():
            cursor = self.conn.execute(
                "UPDATE deliveries SET state = 'pending', next_at = 0, updated_at = ? "
                "WHERE campaign_id = ? AND state = 'in_doubt'", (now(), campaign_id))
        return cursor.rowcount

    # -- a worker's cycle -----------------------------------------------------------------
    def claim_due(self, campaign_id: int, limit: int) -> list[DueRow]:
        """Mark up to ``limit`` due rows in flight, pending ones first, and return them
        (the caller holds a transaction; the attempt is counted now), each with this
        ledger's ``worker``."""
        if self.conn.dialect == "postgresql":
            return self._claim_skip_locked(campaign_id, limit)
        return self._claim_serial(campaign_id, limit)

    def _claim_serial(self, campaign_id: int, limit: int) -> list[DueRow]:
        """SQLite's claim: two statements rather than ``UPDATE … WHERE id IN (SELECT …
        LIMIT n)``, which SQLite runs through a temporary table, eight times slower;
        the write transaction, serial, makes the pair atomic."""
        rows: list[DueRow] = []
        for state, due in (("pending", 0.0), ("retry", time.time())):
            if len(rows) >= limit:
                break
            rows += self.conn.execute(
                "SELECT d.subscriber_id, s.email, s.name, s.status, d.attempts + 1, d.edition "
                "FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id "
                "WHERE d.campaign_id = ? AND d.state = ? AND d.next_at <= ? LIMIT ?",
                (campaign_id, state, due, limit - len(rows))).fetchall()
        if rows:
            stamp = now()
            self.conn.executemany(
                "UPDATE deliveries SET state = 'in_flight', attempts = attempts + 1, "
                "updated_at = ?, worker = ? WHERE campaign_id = ? AND subscriber_id = ?",
                [(stamp, self.worker, campaign_id, row[0]) for row in rows])
        return sorted(rows)

    def _claim_skip_locked(self, campaign_id: int, limit: int) -> list[DueRow]:
        """PostgreSQL's claim: one statement per state, which locks the rows it takes
        and skips those another sender's claim holds; a row another sender committed
        in flight meanwhile is re-checked by the row lock and left out.

        Pending rows are taken in subscriber order from where this ledger's last
        claim stopped (``_claim_cursor``), along the primary key. Looking them up by
        state instead would start each claim at the first index entry of
        ``pending``: the entries of rows claimed since the last vacuum stay there,
        dead, so each claim walked every row sent so far (4 ms at 20,000 of 50,000,
        against 0.1 ms). Rows behind the cursor (given back, or skipped while a claim
        that then failed held them) are found by one claim from the start when the
        rows ahead run out.
        """
        cursor_campaign, after = self._claim_cursor
        after = after if cursor_campaign == campaign_id else 0
        rows: list[DueRow] = []
        for start in (after, 0) if after else (0,):
            if len(rows) >= limit:
                break
            found = self._skip_locked(
                campaign_id, "AND d0.state = 'pending' AND d0.subscriber_id > ? "
                "ORDER BY d0.subscriber_id", (start,), limit - len(rows))
            if found:
                self._claim_cursor = (campaign_id, max(row[0] for row in found))
            rows += found
        if len(rows) < limit:
            rows += self._skip_locked(campaign_id, "AND d0.state = 'retry' AND d0.next_at <= ? "
                                      "ORDER BY d0.next_at", (time.time(),), limit - len(rows))
        return sorted(rows)

    def _skip_locked(self, campaign_id: int, where: str, args: tuple, limit: int
                     ) -> list[DueRow]:
        """Claim up to ``limit`` rows of the campaign that ``where`` (on ``d0``, with
        its ORDER BY) selects, skipping those another transaction holds."""
        return self.conn.execute(
            "UPDATE deliveries d SET state = 'in_flight', attempts = d.attempts + 1, "
            "updated_at = ?, worker = ? FROM (SELECT d0.subscriber_id FROM deliveries d0 "
            f"WHERE d0.campaign_id = ? {where} LIMIT ? FOR UPDATE SKIP LOCKED) due, "
            "subscribers s WHERE d.campaign_id = ? AND d.subscriber_id = due.subscriber_id "
            "AND s.id = d.subscriber_id "
            "RETURNING d.subscriber_id, s.email, s.name, s.status, d.attempts, d.edition",
            (now(), self.worker, campaign_id, *args, limit, campaign_id)).fetchall()

    def record_outcomes(self, campaign_id: int, outcomes: Sequence[Tried],
                        bounced: Sequence[tuple[int, str]] = ()) -> None:
        """Write the outcomes of rows that were tried, and mark the subscribers of
        ``bounced`` (id, detail) bounced if still active (the caller holds a transaction)."""
        if outcomes:
            stamp = now()
            self.conn.executemany(
                "UPDATE deliveries SET state = ?, next_at = ?, detail = ?, provider_id = ?, "
                "updated_at = ? WHERE campaign_id = ? AND subscriber_id = ?",
                [(state, next_at, detail, provider_id, stamp, campaign_id, subscriber_id)
                 for subscriber_id, state, next_at, detail, provider_id in outcomes])
        for subscriber_id, detail in bounced:
            set_status(self.conn, subscriber_id, "bounced", detail, only_from="active")

    def record_and_claim(self, campaign_id: int, outcomes: Sequence[Tried],
                         bounced: Sequence[tuple[int, str]], limit: int) -> list[DueRow]:
        """``record_outcomes`` then ``claim_due``, in one transaction: one commit per
        cycle, and no moment when a worker's rows are neither recorded nor claimed.
        ``limit`` 0 claims nothing."""
        with self.transaction():
            self.record_outcomes(campaign_id, outcomes, bounced)
            return self.claim_due(campaign_id, limit) if limit else []

    def release(self, campaign_id: int, subscriber_ids: Sequence[int], detail: str) -> None:
        """Rows claimed and never sent go back to pending, their attempt uncounted, due
        at once (a retry given back is pending like the others), no sender's."""
        with self.transaction():
            stamp = now()
            self.conn.executemany(
                "UPDATE deliveries SET state = 'pending', attempts = attempts - 1, "
                "next_at = 0, worker = '', detail = ?, updated_at = ? WHERE campaign_id = ? "
                "AND subscriber_id = ?",
                [(detail, stamp, campaign_id, s) for s in subscriber_ids])
