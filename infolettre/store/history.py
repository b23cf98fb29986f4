"""A subscriber's history: its events, its status changes, why it left the list.

Every change of a subscriber writes an event, so that "why is this person
unsubscribed?" has an answer. These functions take a bare connection so that the
sending journal can use them inside its own transaction; ``Store`` offers the
same things as methods for everyone else.
"""

from __future__ import annotations

from collections.abc import Collection

from ..errors import InfoLettreError
from .connection import Connection
from .rows import FINAL, STATUSES, Departure, now

__all__ = ["add_event", "count_events", "departure", "set_status"]

_LEFT = ",".join(f"'{s}'" for s in FINAL)


def add_event(conn: Connection, subscriber_id: int, kind: str, detail: str, *,
              at: str | None = None) -> None:
    """Append to a subscriber's history (the caller holds a transaction)."""
    conn.execute("INSERT INTO events (subscriber_id, at, kind, detail) VALUES (?, ?, ?, ?)",
                 (subscriber_id, at or now(), kind, detail))


def count_events(conn: Connection, subscriber_id: int, kinds: Collection[str], *,
                 since: str = "", after_event: int = 0) -> int:
    """How many events of these kinds a subscriber has, at or after ``since``
    (a ``stamp``) and after the event numbered ``after_event``."""
    return conn.execute(
        f"SELECT count(*) FROM events WHERE subscriber_id = ? AND kind IN "
        f"({','.join('?' * len(kinds))}) AND at >= ? AND id > ?",
        (subscriber_id, *kinds, since, after_event)).fetchone()[0]


def departure(conn: Connection, subscriber_id: int) -> Departure | None:
    """Why a subscriber is off the list, or None (see ``Store.departure``).

    Off the list: its status is one of ``FINAL``, or it is pending and left the
    list (an event of a ``FINAL`` kind) after it was last active — a row the
    subscription form set back to pending before version 3 of the schema.
    """
    row = conn.execute(
        f"SELECT s.status, s.updated_at, e.id, e.at, e.kind, e.detail, "
        f"(SELECT max(id) FROM events WHERE subscriber_id = s.id AND kind = 'active') "
        f"FROM subscribers s LEFT JOIN events e ON e.id = (SELECT max(id) FROM events "
        f"WHERE subscriber_id = s.id AND kind IN ({_LEFT})) WHERE s.id = ?",
        (subscriber_id,)).fetchone()
    if row is None:
        return None
    status, updated_at, left_id, at, kind, detail, active_id = row
    if status == "active" or (status == "pending"
                              and (left_id is None or (active_id or 0) > left_id)):
        return None
    if left_id is None:
        return Departure(0, updated_at, status, "")
    return Departure(left_id, at, kind, detail)


def set_status(conn: Connection, subscriber_id: int, status: str, detail: str,
               *, only_from: str | None = None, confirmed: bool = False) -> None:
    """Change a subscriber's status (when it is ``only_from``, if given) and record why
    (no event when nothing changed: a history that says "bounced" of a row that
    was not would keep it off the list for a reason that never was).

    An address that left the list (``departure``) becomes active again only with
    ``confirmed``: its owner confirmed a new subscription by the link mailed to
    it. Everyone else gets an ``InfoLettreError`` saying so.
    """
    if status not in STATUSES:
        raise ValueError(status)
    if status == "active" and not confirmed:
        left = departure(conn, subscriber_id)
        if left is not None:
            raise InfoLettreError(
                f"subscriber {subscriber_id} is {left}: kept unsubscribed; only the "
                "person's own confirmation of a new subscription can make it active again")
    # ``status <> ?``: a row already in that status is not a change. Two requests
    # changing it at once (a one-click POST sent twice, to two service workers) both
    # found it active; on PostgreSQL the second UPDATE waits for the first's commit and
    # then reads the row again, and so finds nothing to change, and records nothing.
    guard = " AND status = ?" if only_from else ""
    cursor = conn.execute(
        f"UPDATE subscribers SET status = ?, updated_at = ? WHERE id = ? AND status <> ?{guard}",
        (status, now(), subscriber_id, status, *((only_from,) if only_from else ())))
    if cursor.rowcount:  # the history records only changes that happened
        add_event(conn, subscriber_id, status, detail)
