"""The editorial team: its addresses, their sign-in links and sessions, what they did.

``infolettre editors add`` lists an address as an editor's; the editorial page
(``BASE_URL/editorial/``) mails such an address a sign-in link whose token names a
row of ``editor_links``: the row is marked used the first time the link opens a
session, so a link works once. A session is a row of ``editor_sessions`` keyed by
the SHA-256 of the cookie's value (the database never holds a cookie that would
sign someone in), with its CSRF token and its expiry. Removing an editor ends
their sessions and their unused links.

What editors do on the page (signing in and out, approving, returning an item) is
written to ``editorial_events`` with the editor's address: the subscribers'
``events`` belong to a subscriber's row, and an editor need not be a subscriber.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from .connection import Connection
from .rows import normalise_email, now, stamp

__all__ = ["Editor", "EditorRows", "EditorSession", "EditorialEvent"]


@dataclass(frozen=True)
class Editor:
    """An address of the editorial team."""

    email: str
    added_at: str


@dataclass(frozen=True)
class EditorSession:
    """A signed-in editor: who, the session's CSRF token, until when (POSIX time)."""

    email: str
    csrf: str
    expires: float


@dataclass(frozen=True)
class EditorialEvent:
    """One thing an editor did on the editorial page."""

    id: int
    at: str
    editor: str
    kind: str
    detail: str


def _key(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


class EditorRows:
    """The editors, their links, sessions and history (mixed into ``Store``)."""

    conn: Connection

    # -- the editors --------------------------------------------------------------------
    def add_editor(self, email: str) -> bool:
        """List ``email`` as an editor's (the caller holds a transaction); False when
        it already was."""
        cursor = self.conn.execute("INSERT INTO editors VALUES (?, ?) ON CONFLICT DO NOTHING",
                                   (normalise_email(email), now()))
        return cursor.rowcount == 1

    def remove_editor(self, email: str) -> bool:
        """Take ``email`` off the editors, ending its sessions and unused links (the
        caller holds a transaction); False when it was not an editor's."""
        email = normalise_email(email)
        self.conn.execute("DELETE FROM editor_sessions WHERE email = ?", (email,))
        self.conn.execute("DELETE FROM editor_links WHERE email = ? AND used_at IS NULL",
                          (email,))
        return self.conn.execute("DELETE FROM editors WHERE email = ?",
                                 (email,)).rowcount == 1

    def editors(self) -> list[Editor]:
        """Every editor, by address."""
        return [Editor(*row) for row in self.conn.execute(
            "SELECT email, added_at FROM editors ORDER BY email")]

    def is_editor(self, email: str) -> bool:
        """Whether ``email`` is an editor's."""
        return self.conn.execute("SELECT 1 FROM editors WHERE email = ?",
                                 (normalise_email(email),)).fetchone() is not None

    # -- sign-in links ------------------------------------------------------------------
    def new_editor_link(self, email: str) -> int:
        """A new sign-in link's row for ``email`` (the caller holds a transaction)."""
        return int(self.conn.execute(
            "INSERT INTO editor_links (email, created_at) VALUES (?, ?) RETURNING id",
            (normalise_email(email), now())).fetchone()[0])

    def editor_link_email(self, link_id: int) -> str | None:
        """The address of an unused link of an editor still listed, or None."""
        row = self.conn.execute(
            "SELECT l.email FROM editor_links l JOIN editors e ON e.email = l.email "
            "WHERE l.id = ? AND l.used_at IS NULL", (link_id,)).fetchone()
        return row[0] if row else None

    def use_editor_link(self, link_id: int) -> bool:
        """Mark a link used (the caller holds a transaction); False when it already
        was, or is not: a link signs in once."""
        return self.conn.execute(
            "UPDATE editor_links SET used_at = ? WHERE id = ? AND used_at IS NULL",
            (now(), link_id)).rowcount == 1

    # -- sessions -----------------------------------------------------------------------
    def open_editor_session(self, cookie: str, email: str, csrf: str, ttl: float) -> None:
        """A session for the cookie value ``cookie``, ``ttl`` seconds long; the expired
        ones go (the caller holds a transaction)."""
        moment = time.time()
        self.conn.execute("DELETE FROM editor_sessions WHERE expires <= ?", (moment,))
        self.conn.execute("INSERT INTO editor_sessions VALUES (?, ?, ?, ?, ?)",
                          (_key(cookie), normalise_email(email), csrf, stamp(moment),
                           moment + ttl))

    def editor_session(self, cookie: str) -> EditorSession | None:
        """The live session of a cookie value, of an editor still listed, or None."""
        row = self.conn.execute(
            "SELECT s.email, s.csrf, s.expires FROM editor_sessions s "
            "JOIN editors e ON e.email = s.email WHERE s.key = ? AND s.expires > ?",
            (_key(cookie), time.time())).fetchone()
        return EditorSession(*row) if row else None

    def close_editor_session(self, cookie: str) -> bool:
        """End the session of a cookie value (the caller holds a transaction)."""
        return self.conn.execute("DELETE FROM editor_sessions WHERE key = ?",
                                 (_key(cookie),)).rowcount == 1

    # -- what they did ------------------------------------------------------------------
    def add_editorial_event(self, editor: str, kind: str, detail: str = "") -> None:
        """Write what an editor did to the history (the caller holds a transaction)."""
        self.conn.execute(
            "INSERT INTO editorial_events (at, editor, kind, detail) VALUES (?, ?, ?, ?)",
            (now(), normalise_email(editor), kind, detail))

    def editorial_events(self, limit: int = 100) -> list[EditorialEvent]:
        """The latest ``limit`` things editors did, newest first."""
        return [EditorialEvent(*row) for row in self.conn.execute(
            "SELECT id, at, editor, kind, detail FROM editorial_events "
            "ORDER BY id DESC LIMIT ?", (limit,))]
