"""The service's rate limits, counted in the database (store.requests), on both engines."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from infolettre.config import Database
from infolettre.store import Store
from infolettre.web.guard import RateLimit


def test_a_limit_allows_its_count_per_window_then_refuses(db: Database) -> None:
    with Store(db) as store:
        rate = RateLimit("subscribe", limit=3, window=600)
        assert [rate.allow(store, "192.0.2.1") for _ in range(5)] == [True] * 3 + [False] * 2
        assert rate.allow(store, "192.0.2.2")  # another client has its own count
        assert RateLimit("other", limit=3).allow(store, "192.0.2.1")  # another limit too


def test_a_new_window_starts_afresh_and_refused_requests_count(db: Database) -> None:
    with Store(db) as store:
        def count(moment: float) -> int:
            return store.count_request("b", "client", 100.0, moment)

        assert [count(1000.0), count(1050.0), count(1099.0)] == [1, 2, 3]
        assert count(1100.0) == 1  # the window of 1000 ended at 1100
        assert count(1199.0) == 2
        assert count(1300.0) == 1


def test_the_count_is_shared_by_connections_counting_at_once(db: Database) -> None:
    """Two connections (as two workers) counting one client at the same moment: every
    request is counted once, whoever counted it, so the limit holds for the sum."""
    stores = [Store(db), Store(db)]
    try:
        with ThreadPoolExecutor(8) as pool:
            hits = list(pool.map(lambda n: stores[n % 2].count_request("b", "c", 600.0),
                                 range(200)))
        assert sorted(hits) == list(range(1, 201))
    finally:
        for store in stores:
            store.close()


def test_the_key_is_kept_as_a_digest(db: Database) -> None:
    with Store(db) as store:
        RateLimit("contribute-link").allow(store, "1.2345.secret-token")
        (kept,) = store.conn.execute("SELECT client FROM request_counts").fetchone()
        assert "secret" not in kept and len(kept) == 32
