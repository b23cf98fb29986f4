"""The subscribers table and its history, as methods of ``Store``.

Reading streams or looks up rows; writing expects the caller to hold a
transaction (``with store.transaction():``), so that a change and its event are
recorded together or not at all. Addresses are stored normalised (trimmed,
lower-case), so duplicates merge whatever their case.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator

from . import history
from .connection import Connection
from .rows import Departure, NewSubscriber, Subscriber, normalise_email, now

__all__ = ["SubscriberRows"]

_INSERT = ("INSERT INTO subscribers (email, name, lang, centre, country, status, "
           "consent_source, consent_at, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)")


class SubscriberRows:
    """Subscribers, their events and their status (mixed into ``Store``)."""

    conn: Connection

    # -- reading ---------------------------------------------------------------------
    def get(self, email: str) -> Subscriber | None:
        """The subscriber with this address (any case), or None."""
        row = self.conn.execute(f"SELECT {Subscriber.COLUMNS} FROM subscribers WHERE email = ?",
                                (normalise_email(email),)).fetchone()
        return Subscriber(*row) if row else None

    def by_id(self, subscriber_id: int) -> Subscriber | None:
        """The subscriber with this id, or None."""
        row = self.conn.execute(f"SELECT {Subscriber.COLUMNS} FROM subscribers WHERE id = ?",
                                (subscriber_id,)).fetchone()
        return Subscriber(*row) if row else None

    def select(self, status: str | None = None, lang: str | None = None,
               centre: str | None = None) -> Iterator[Subscriber]:
        """Subscribers matching every filter given, by address, streamed."""
        where, args = _filters(status, lang, centre)
        cursor = self.conn.execute(
            f"SELECT {Subscriber.COLUMNS} FROM subscribers {where} ORDER BY email", args)
        for row in cursor:
            yield Subscriber(*row)

    def count(self, status: str | None = None, lang: str | None = None,
              centre: str | None = None) -> int:
        """How many subscribers match the filters."""
        where, args = _filters(status, lang, centre)
        return self.conn.execute(f"SELECT count(*) FROM subscribers {where}", args).fetchone()[0]

    def get_many(self, emails: Collection[str]) -> dict[str, Subscriber]:
        """The subscribers among these normalised addresses (at most 500), by address."""
        if not emails:
            return {}
        rows = self.conn.execute(
            f"SELECT {Subscriber.COLUMNS} FROM subscribers WHERE email IN "
            f"({','.join('?' * len(emails))})", tuple(emails)).fetchall()
        return {row[1]: Subscriber(*row) for row in rows}

    def departure(self, subscriber_id: int) -> Departure | None:
        """Why this subscriber left the list, or None when it has not (or came back)."""
        return history.departure(self.conn, subscriber_id)

    def count_events(self, subscriber_id: int, kinds: Collection[str], *, since: str = "",
                     after_event: int = 0) -> int:
        """How many events of these kinds a subscriber has, at or after ``since``
        (a ``stamp``) and after the event numbered ``after_event``."""
        return history.count_events(self.conn, subscriber_id, kinds, since=since,
                                    after_event=after_event)

    def events(self, email: str) -> list[tuple[str, str, str]]:
        """The history of a subscriber: (time, kind, detail), oldest first."""
        return self.conn.execute(
            "SELECT at, kind, detail FROM events JOIN subscribers s ON s.id = subscriber_id "
            "WHERE s.email = ? ORDER BY events.id", (normalise_email(email),)).fetchall()

    # -- writing (callers hold a transaction) -----------------------------------------
    def insert(self, email: str, *, name: str = "", lang: str = "fr", centre: str = "",
               country: str = "", status: str = "active", consent_source: str = "",
               consent_at: str = "") -> int:
        """Add a subscriber; returns its id."""
        stamp = now()
        sid = int(self.conn.execute(
            _INSERT + " RETURNING id", (normalise_email(email), name, lang, centre, country,
                                        status, consent_source, consent_at or stamp, stamp,
                                        stamp)).fetchone()[0])
        self.event(sid, "created", _created(status, consent_source))
        return sid

    def insert_many(self, rows: Iterable[NewSubscriber]) -> None:
        """Add new subscribers, each with its "created" event, in two statements."""
        stamp = now()
        rows = list(rows)
        self.conn.executemany(
            _INSERT, [(r.email, r.name, r.lang, r.centre, r.country, r.status,
                       r.consent_source, r.consent_at or stamp, stamp, stamp) for r in rows])
        self.conn.executemany(
            "INSERT INTO events (subscriber_id, at, kind, detail) "
            "SELECT id, ?, 'created', ? FROM subscribers WHERE email = ?",
            [(stamp, _created(r.status, r.consent_source), r.email) for r in rows])

    def update(self, subscriber_id: int, **values: str) -> None:
        """Change some fields of a subscriber (never its address)."""
        allowed = {"name", "lang", "centre", "country"}
        if not values or not set(values) <= allowed:
            raise ValueError(values)
        assignments = ", ".join(f"{k} = ?" for k in values)
        self.conn.execute(f"UPDATE subscribers SET {assignments}, updated_at = ? WHERE id = ?",
                          (*values.values(), now(), subscriber_id))

    def record_consent(self, subscriber_id: int, source: str) -> None:
        """Record a consent given now (how: ``source``), and clear the soft bounces
        counted so far: a confirmed address starts afresh."""
        self.conn.execute("UPDATE subscribers SET consent_source = ?, consent_at = ?, "
                          "soft_bounces = 0 WHERE id = ?", (source, now(), subscriber_id))

    def add_soft_bounce(self, subscriber_id: int) -> int:
        """Count one more soft bounce in a row; the count now."""
        return self.conn.execute(
            "UPDATE subscribers SET soft_bounces = soft_bounces + 1 WHERE id = ? "
            "RETURNING soft_bounces", (subscriber_id,)).fetchone()[0]

    def set_status(self, subscriber_id: int, status: str, detail: str = "", *,
                   confirmed: bool = False) -> None:
        """Change a subscriber's status and record why (see ``history.set_status``)."""
        history.set_status(self.conn, subscriber_id, status, detail, confirmed=confirmed)

    def event(self, subscriber_id: int, kind: str, detail: str = "", *,
              at: str | None = None) -> None:
        """Append to a subscriber's history (``at``: a ``stamp``, default now)."""
        history.add_event(self.conn, subscriber_id, kind, detail, at=at)


def _created(status: str, consent_source: str) -> str:
    return f"{status}; consent: {consent_source}"


def _filters(status: str | None, lang: str | None, centre: str | None
             ) -> tuple[str, tuple[str, ...]]:
    clauses, args = [], []
    for column, value in (("status", status), ("lang", lang), ("centre", centre)):
        if value:
            clauses.append(f"{column} = ?")
            args.append(value)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(args)
