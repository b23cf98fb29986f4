"""The database: subscribers, their history, the suppression list, a secret.

Takes subscriber rows, events and reports from the audience and delivery stages;
gives them back, and is the only place that writes SQL about them. A SQLite file
by default (mode 0600: it holds personal data, in WAL mode so that the sending
journal can commit a row per message cheaply while other commands read), or a
PostgreSQL database that several hosts and service workers share
(``connection``: the interface both engines offer; ``postgres``: the server's).

``rows`` holds the plain values (``Subscriber``, statuses, times), ``schema`` the
tables and their migrations, ``connection`` the opening of the file and write
transactions, ``history`` a subscriber's events and status changes,
``subscribers``, ``suppression``, ``reports``, ``journal`` (campaigns and their
deliveries), ``archive`` (publication marks) and ``imports`` (an import's seen
addresses), ``invitations`` (the calls to contribute) and ``editors`` (the editorial
team, its sign-in links, sessions and history) the methods of ``Store`` on their
tables. No other module of the package writes SQL: a second database is a second store.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from ..config import Database
from .archive import ArchiveMarks
from .connection import Connection, connect, describe, migrate_database, transaction
from .editors import EditorRows
from .history import add_event, departure, set_status
from .imports import ImportSeen
from .invitations import Invitation, Invitations
from .journal import Campaign, DueRow, Ledger, Tried
from .reports import ReportLog
from .requests import RequestCounts
from .rows import FINAL, STATUSES, Departure, NewSubscriber, Subscriber, normalise_email, now, stamp
from .senders import SenderRow
from .subscribers import SubscriberRows
from .suppression import Suppression

__all__ = [
    "FINAL",
    "STATUSES",
    "Campaign",
    "Connection",
    "Departure",
    "DueRow",
    "Invitation",
    "Ledger",
    "NewSubscriber",
    "SenderRow",
    "Store",
    "Subscriber",
    "Tried",
    "add_event",
    "connect",
    "departure",
    "describe",
    "migrate_database",
    "normalise_email",
    "now",
    "set_status",
    "stamp",
    "transaction",
]


class Store(SubscriberRows, Suppression, ReportLog, Ledger, ArchiveMarks, ImportSeen,
            Invitations, EditorRows, RequestCounts):
    """Subscribers, the suppression list, the reports applied, the sending journal and
    the archive's marks, over one connection."""

    def __init__(self, where: Database, secret: str | None = None) -> None:
        self.where = where
        self.conn = connect(where)
        self._secret = secret

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> AbstractContextManager[Connection]:
        """``with store.transaction():`` — all or nothing, with the write lock taken."""
        return transaction(self.conn)
