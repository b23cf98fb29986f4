"""Erasure: the store's secret, keyed hashes of addresses, the suppression list.

An erased subscriber leaves only an HMAC of its address, so that an import or a
form cannot bring the address back, and the file does not reveal it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection

from .connection import Connection, transaction
from .rows import normalise_email, now

__all__ = ["Suppression"]


class Suppression:
    """The secret and the suppression list (mixed into ``Store``)."""

    conn: Connection
    _secret: str | None

    @property
    def secret(self) -> bytes:
        """The key that signs tokens: $INFOLETTRE_SECRET, or the database's own."""
        if not self._secret:  # read once: it never changes
            self._secret = self.conn.execute("SELECT value FROM meta WHERE key = 'secret'"
                                             ).fetchone()[0]
        return self._secret.encode()

    def email_hash(self, email: str) -> str:
        """Keyed hash of an address: lets the suppression list match it, not reveal it."""
        return hmac.new(self.secret, normalise_email(email).encode(),
                        hashlib.sha256).hexdigest()

    def suppressed_among(self, emails: Collection[str]) -> set[str]:
        """Those of these addresses (at most 500) that were erased."""
        if not emails:
            return set()
        hashes = {self.email_hash(e): e for e in emails}
        found = self.conn.execute(
            f"SELECT hash FROM suppressed WHERE hash IN ({','.join('?' * len(hashes))})",
            tuple(hashes)).fetchall()
        return {hashes[h] for (h,) in found}

    def is_suppressed(self, email: str) -> bool:
        """True when the address was erased and must not come back."""
        return self.conn.execute("SELECT 1 FROM suppressed WHERE hash = ?",
                                 (self.email_hash(email),)).fetchone() is not None

    def forget(self, email: str) -> bool:
        """Erase a subscriber's personal data, keeping only a hash in the suppression list.

        The history and journal rows go with the subscriber (ON DELETE CASCADE);
        on SQLite, secure_delete overwrites the freed pages and a checkpoint empties
        the write-ahead log, so no copy stays in the file (on PostgreSQL, a vacuum
        frees them). Returns False when the
        address was not in the database (it is suppressed all the same).
        """
        with transaction(self.conn):
            self.conn.execute("INSERT INTO suppressed VALUES (?, ?, 'erased') "
                              "ON CONFLICT DO NOTHING",
                              (self.email_hash(email), now()))
            cursor = self.conn.execute("DELETE FROM subscribers WHERE email = ?",
                                       (normalise_email(email),))
        self.conn.forget()
        return cursor.rowcount > 0
