"""The service's rate limits, counted in the database: every worker and replica sees them.

A limit (a *bucket*: the subscription form per client, a contribution link, …)
allows ``limit`` requests per ``window`` seconds to each of its keys. The count
lives in ``request_counts``, one row per bucket and key, in fixed windows: the
first request after a window has run out starts a new one at 1, any other adds
one. That is a single ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` (atomic on
both engines, under the row's lock on PostgreSQL), so two processes counting the
same key at the same moment both see the sum. A refused request counts too: a
client that keeps knocking stays refused until its window ends.

The key is stored as a digest, never as it came (a client's address, an email
address, a contribution link's token): the table says how often, not who.
"""

from __future__ import annotations

import hashlib
import time

from .connection import Connection

__all__ = ["RequestCounts"]

_COUNT = (
    "INSERT INTO request_counts (bucket, client, window_start, hits) VALUES (?, ?, ?, 1) "
    "ON CONFLICT (bucket, client) DO UPDATE SET "
    "window_start = CASE WHEN request_counts.window_start <= ? THEN excluded.window_start "
    "ELSE request_counts.window_start END, "
    "hits = CASE WHEN request_counts.window_start <= ? THEN 1 "
    "ELSE request_counts.hits + 1 END "
    "RETURNING hits")
#: Rows whose window ended are dropped once in this many counts (by each store).
_SWEEP_EVERY = 1000


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class RequestCounts:
    """Requests counted per rate limit and key (mixed into ``Store``)."""

    conn: Connection
    _counted: int = 0

    def count_request(self, bucket: str, key: str, window: float,
                      moment: float | None = None) -> int:
        """Count one request of ``key`` in ``bucket``'s current window (``window``
        seconds long); how many it has made in that window, this one included.

        One statement in the engine's own transaction: the caller holds none (the
        process's write lock is taken, as a transaction would, so that SQLite's
        busy handler is only ever waited on by other processes).
        """
        moment = time.time() if moment is None else moment
        expired = moment - window
        with self.conn.write_lock:
            hits = int(self.conn.execute(_COUNT, (bucket, _digest(key), moment, expired,
                                                  expired)).fetchone()[0])
            self._counted += 1
            if self._counted % _SWEEP_EVERY == 0:
                self.conn.execute("DELETE FROM request_counts WHERE bucket = ? "
                                  "AND window_start <= ?", (bucket, expired))
        return hits
