"""Reports applied once: providers' webhook events, signature nonces, bounce mails.

A provider may call a webhook twice with one event, an attacker may replay a
signed call, a crash may leave a bounce mail in the inbox: each is remembered
by its id (``webhook_events``, ``bounce_reports``), and only the first sight of
an id is applied. Callers hold a transaction.
"""

from __future__ import annotations

from .connection import Connection
from .rows import now

__all__ = ["ReportLog"]


class ReportLog:
    """Ids of the reports already applied (mixed into ``Store``)."""

    conn: Connection

    def remember_webhook_event(self, provider: str, event_id: str) -> bool:
        """Record an event (or a nonce) of ``provider``; True the first time only."""
        return bool(self.conn.execute("INSERT INTO webhook_events VALUES (?, ?, ?) "
                                      "ON CONFLICT DO NOTHING",
                                      (provider, event_id, now())).rowcount)

    def forget_webhook_events(self, provider: str, before: str) -> None:
        """Drop what ``provider`` recorded before ``before`` (a ``stamp``)."""
        self.conn.execute("DELETE FROM webhook_events WHERE provider = ? AND at < ?",
                          (provider, before))

    def remember_bounce_mail(self, message_id: str) -> bool:
        """Record a bounce mail by its Message-ID; True the first time only."""
        return bool(self.conn.execute("INSERT INTO bounce_reports VALUES (?, ?) "
                                      "ON CONFLICT DO NOTHING",
                                      (message_id, now())).rowcount)
