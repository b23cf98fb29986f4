"""The senders of a campaign and the shared pace of its rate limit: tables ``senders``
and ``rate_slots``.

Several ``infolettre send`` processes (on several hosts, over PostgreSQL) may
share one campaign. Each registers a row here, and keeps its ``seen_at`` fresh
(a heartbeat) for as long as it runs; a row claimed in flight carries its
sender's id (``deliveries.worker``). Whether a sender is alive is a rule of the
delivery stage (``delivery.journal``); this module only reads and writes the rows.

``rate_slots`` holds, per name (a campaign's limit), the time of the next free
slot: a sender reserves several slots at once with one statement, so that a
campaign-wide rate costs one round trip per chunk of messages, not per message.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from .connection import Connection
from .rows import now

__all__ = ["SenderRow", "SenderRows"]


@dataclass(frozen=True)
class SenderRow:
    """One sender process of a campaign, as registered."""

    id: str
    host: str
    pid: int
    started_at: str
    #: Wall-clock time (seconds) of its last heartbeat.
    seen_at: float
    #: When it ended (None while it runs, or when it died).
    finished_at: str | None


class SenderRows:
    """The ``senders`` and ``rate_slots`` tables; mixed into ``Ledger``."""

    conn: Connection

    def register_sender(self, sender_id: str, campaign_id: int, host: str, pid: int) -> None:
        """Record a sender starting on ``campaign_id`` (its own transaction)."""
        with self.conn.transaction():
            self.conn.execute(
                "INSERT INTO senders (id, campaign_id, host, pid, started_at, seen_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (sender_id, campaign_id, host, pid, now(), time.time()))

    def sender_seen(self, sender_id: str) -> None:
        """The sender is alive now (the caller holds a transaction, or none: one statement)."""
        self.conn.execute("UPDATE senders SET seen_at = ? WHERE id = ?",
                          (time.time(), sender_id))

    def finish_sender(self, sender_id: str) -> None:
        """The sender ended cleanly (its own transaction)."""
        with self.conn.transaction():
            self.conn.execute("UPDATE senders SET seen_at = ?, finished_at = ? WHERE id = ?",
                              (time.time(), now(), sender_id))

    def campaign_senders(self, campaign_id: int) -> list[SenderRow]:
        """Every sender that ever ran on the campaign, the first started first."""
        return [SenderRow(*row) for row in self.conn.execute(
            "SELECT id, host, pid, started_at, seen_at, finished_at FROM senders "
            "WHERE campaign_id = ? ORDER BY started_at, id", (campaign_id,))]

    def orphans_to_in_doubt(self, campaign_id: int, dead: Sequence[str] | None,
                            detail: str) -> int:
        """Rows in flight of the senders ``dead``, or of no sender registered, become in
        doubt, saying ``detail`` (its own transaction); ``dead`` None: every row in
        flight. Returns how many. A row's worker is kept: ``status`` tells whose it was."""
        whose = "" if dead is None else (
            " AND (worker NOT IN (SELECT id FROM senders)"
            + (f" OR worker IN ({', '.join('?' * len(dead))})" if dead else "") + ")")
        with self.conn.transaction():
            cursor = self.conn.execute(
                "UPDATE deliveries SET state = 'in_doubt', updated_at = ?, detail = ? "
                f"WHERE campaign_id = ? AND state = 'in_flight'{whose}",
                (now(), detail, campaign_id, *(dead or ())))
        return cursor.rowcount

    def reserve_slots(self, name: str, count: int, interval: float) -> float:
        """Reserve ``count`` slots ``interval`` seconds apart of the pace ``name``; the
        wall-clock time of the first (the others follow it, ``interval`` apart).

        One statement, atomic on both engines: the next free slot is never before
        now (a pace unused for a while does not let a burst through), and moves
        ``count`` slots on.
        """
        greatest = "greatest" if self.conn.dialect == "postgresql" else "max"
        span, at = count * interval, time.time()
        with self.conn.transaction():
            end = self.conn.execute(
                "INSERT INTO rate_slots (name, next_at) VALUES (?, ?) ON CONFLICT (name) "
                f"DO UPDATE SET next_at = {greatest}(rate_slots.next_at, ?) + ? "
                "RETURNING next_at", (name, at + span, at, span)).fetchone()[0]
        return float(end) - span
