"""The invitations to contribute: one row per issue, centre and contact.

``infolettre call`` writes a row for each contact it invites and marks it sent once
the message is accepted, so that running the call again reaches only the contacts
added since (the journal of a call, as ``deliveries`` is a campaign's). The row's id is
the subject of the contact's personal link (``audience.tokens`` with the purpose
``contribute``), whose signature binds the contact's address: a link dies when its
row does. ``remind`` reads and marks ``reminded_at``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .connection import Connection
from .rows import normalise_email, now

__all__ = ["Invitation", "Invitations"]


@dataclass(frozen=True)
class Invitation:
    """A contact invited to send an issue's news of their centre."""

    id: int
    issue: str
    centre: str
    email: str
    name: str
    lang: str
    deadline: str  # YYYY-MM-DD
    created_at: str
    sent_at: str | None
    reminded_at: str | None


_COLUMNS = "id, issue, centre, email, name, lang, deadline, created_at, sent_at, reminded_at"


class Invitations:
    """Reading and writing the invitations (mixed into ``Store``)."""

    conn: Connection

    def invite(self, issue: str, centre: str, email: str, name: str, lang: str,
               deadline: str) -> Invitation:
        """The invitation of this contact for this issue and centre, made if new
        (the caller holds a transaction); an existing one keeps its id and takes the
        new deadline, name and language (a call run again with a later deadline)."""
        self.conn.execute(
            "INSERT INTO invitations (issue, centre, email, name, lang, deadline, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (issue, centre, email) DO UPDATE SET "
            "deadline = excluded.deadline, name = excluded.name, lang = excluded.lang",
            (issue, centre, normalise_email(email), name, lang, deadline, now()))
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM invitations WHERE issue = ? AND centre = ? AND email = ?",
            (issue, centre, normalise_email(email))).fetchone()
        return Invitation(*row)

    def invitation(self, invitation_id: int) -> Invitation | None:
        """The invitation of a link, or None."""
        row = self.conn.execute(f"SELECT {_COLUMNS} FROM invitations WHERE id = ?",
                                (invitation_id,)).fetchone()
        return Invitation(*row) if row else None

    def invitations(self, issue: str) -> list[Invitation]:
        """Every invitation of an issue, by centre then address."""
        return [Invitation(*row) for row in self.conn.execute(
            f"SELECT {_COLUMNS} FROM invitations WHERE issue = ? ORDER BY centre, email",
            (issue,))]

    def mark_invited(self, invitation_id: int) -> None:
        """The call's message to this contact was accepted for delivery."""
        self.conn.execute("UPDATE invitations SET sent_at = ? WHERE id = ?",
                          (now(), invitation_id))

    def mark_reminded(self, invitation_id: int) -> None:
        """A reminder went to this contact."""
        self.conn.execute("UPDATE invitations SET reminded_at = ? WHERE id = ?",
                          (now(), invitation_id))
