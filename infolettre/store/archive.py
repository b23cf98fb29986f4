"""The archive's marks: issues published, or withdrawn, by hand.

An issue is in the public archive when it was sent to someone, unless it was
withdrawn; one not sent can be published explicitly. The marks are rows of the
``meta`` table (``archive:ISSUE`` = the mark), so no migration was needed.
"""

from __future__ import annotations

from .connection import Connection

__all__ = ["ArchiveMarks"]

_MARK = "archive:"  # meta key prefix: archive:ISSUE = published | withdrawn


class ArchiveMarks:
    """The explicit archive marks (mixed into ``Store``)."""

    conn: Connection

    def archive_marks(self) -> dict[str, str]:
        """Every issue marked by hand, with its mark."""
        return dict(self.conn.execute(
            "SELECT substr(key, ?), value FROM meta WHERE substr(key, 1, ?) = ?",
            (len(_MARK) + 1, len(_MARK), _MARK)).fetchall())

    def set_archive_mark(self, issue: str, mark: str) -> None:
        """Mark ``issue`` (replacing its mark, if any; the caller holds a transaction)."""
        self.conn.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) "
                          "DO UPDATE SET value = excluded.value", (_MARK + issue, mark))
