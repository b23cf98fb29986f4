"""tokens: signed, bound to a purpose and an address, optionally expiring."""

from __future__ import annotations

import time

from infolettre.audience.tokens import sign, verify

KEY = b"k" * 32


def lookup(email: str):
    return lambda subject: email if subject == "42" else None


def test_round_trip_and_binding() -> None:
    token = sign(KEY, "unsubscribe", 42, "a@example.org")
    assert verify(KEY, "unsubscribe", token, lookup("a@example.org")) == "42"
    assert verify(KEY, "confirm", token, lookup("a@example.org")) is None  # other purpose
    assert verify(KEY, "unsubscribe", token, lookup("b@example.org")) is None  # address changed
    assert verify(b"x" * 32, "unsubscribe", token, lookup("a@example.org")) is None
    sid, mac = token.split(".")
    assert verify(KEY, "unsubscribe", f"{sid}.{mac[:-2]}AA", lookup("a@example.org")) is None
    assert verify(KEY, "unsubscribe", "42", lookup("a@example.org")) is None
    assert verify(KEY, "unsubscribe", "", lookup("a@example.org")) is None


def test_expiry() -> None:
    fresh = sign(KEY, "confirm", 42, "a@example.org", ttl=60)
    assert verify(KEY, "confirm", fresh, lookup("a@example.org")) == "42"
    stale = sign(KEY, "confirm", 42, "a@example.org", ttl=-1)
    assert verify(KEY, "confirm", stale, lookup("a@example.org")) is None
    sid, _, mac = fresh.split(".")
    later = f"{sid}.{int(time.time()) + 10**6}.{mac}"  # a longer life is not signed
    assert verify(KEY, "confirm", later, lookup("a@example.org")) is None
