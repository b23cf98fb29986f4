"""What subscribers do and what the mail system reports, applied to the list.

One place decides how a status changes, whoever asks: the one-click unsubscribe,
the subscription form and its confirmation, the preferences page, providers'
webhooks and bounce reports read from a mailbox. Each change is recorded in the
subscriber's history with its source.
"""

from __future__ import annotations

from . import tokens
from .store import FINAL, Store, Subscriber, normalise_email, now

__all__ = [
    "CONFIRM", "CONFIRM_TTL", "PREFERENCES", "UNSUBSCRIBE", "apply_report", "by_token",
    "confirm", "request_subscription", "set_language", "token_for", "unsubscribe",
]

UNSUBSCRIBE = "unsubscribe"
CONFIRM = "confirm"
PREFERENCES = "preferences"
CONFIRM_TTL = 7 * 24 * 3600
#: Soft bounces in a row after which an address counts as bounced.
SOFT_BOUNCE_LIMIT = 3


def token_for(store: Store, purpose: str, subscriber: Subscriber) -> str:
    """A signed token for a link acting on ``subscriber`` (confirmation links expire)."""
    ttl = CONFIRM_TTL if purpose == CONFIRM else None
    return tokens.sign(store.secret, purpose, subscriber.id, subscriber.email, ttl)


def by_token(store: Store, purpose: str, token: str) -> Subscriber | None:
    """The subscriber a valid token designates, or None (forged, altered, expired)."""
    def email_of(subject: str) -> str | None:
        if not subject.lstrip("-").isdigit():
            return None
        found = store.by_id(int(subject))
        return found.email if found else None

    subject = tokens.verify(store.secret, purpose, token, email_of)
    return store.by_id(int(subject)) if subject else None


def unsubscribe(store: Store, subscriber: Subscriber, source: str) -> bool:
    """Unsubscribe at once; True when the status changed."""
    with store.transaction():
        current = store.by_id(subscriber.id)
        if current is None or current.status in FINAL:
            return False
        store.set_status(current.id, "unsubscribed", source)
    return True


def request_subscription(store: Store, email: str, *, name: str = "", lang: str = "fr",
                         source: str) -> Subscriber | None:
    """Record a request to subscribe; the subscriber to send a confirmation to, or None.

    New or unsubscribed addresses become ``pending`` until confirmed; a pending one
    gets its confirmation again; active, bounced, complained or erased addresses
    get nothing (the caller answers the same way in every case).
    """
    email = normalise_email(email)
    with store.transaction():
        if store.is_suppressed(email):
            return None
        existing = store.get(email)
        if existing is None:
            store.insert(email, name=name, lang=lang, status="pending", consent_source=source)
        elif existing.status == "unsubscribed":
            store.set_status(existing.id, "pending", f"subscribe again: {source}")
        elif existing.status != "pending":
            return None
    return store.get(email)


def confirm(store: Store, subscriber: Subscriber, source: str) -> bool:
    """Activate a pending subscriber and record the consent; True when it changed."""
    with store.transaction():
        current = store.by_id(subscriber.id)
        if current is None or current.status != "pending":
            return False
        store.conn.execute("UPDATE subscribers SET consent_source = ?, consent_at = ? "
                           "WHERE id = ?", (source, now(), current.id))
        store.set_status(current.id, "active", f"confirmed: {source}")
    return True


def set_language(store: Store, subscriber: Subscriber, lang: str) -> None:
    """Change the language of a subscriber's emails."""
    with store.transaction():
        store.update(subscriber.id, lang=lang)
        store.event(subscriber.id, "preferences", f"lang={lang}")


def apply_report(store: Store, email: str, kind: str, detail: str,
                 soft_limit: int = SOFT_BOUNCE_LIMIT) -> str | None:
    """Apply a bounce, complaint or unsubscribe reported by the mail system.

    ``kind`` is ``hard``, ``soft``, ``complaint`` or ``unsubscribe``. Returns the
    new status when it changed, None otherwise (unknown address included).
    """
    with store.transaction():
        subscriber = store.get(email)
        if subscriber is None:
            return None
        status = None
        if kind == "hard" and subscriber.status not in ("bounced", "complained"):
            status = "bounced"
        elif kind == "complaint" and subscriber.status != "complained":
            status = "complained"
        elif kind == "unsubscribe" and subscriber.status in ("active", "pending"):
            status = "unsubscribed"
        elif kind == "soft":
            count = store.conn.execute(
                "UPDATE subscribers SET soft_bounces = soft_bounces + 1 WHERE id = ? "
                "RETURNING soft_bounces", (subscriber.id,)).fetchone()[0]
            store.event(subscriber.id, "soft_bounce", f"{count} in a row: {detail}")
            if count >= soft_limit and subscriber.status == "active":
                status = "bounced"
                detail = f"{count} soft bounces in a row: {detail}"
        if status:
            store.set_status(subscriber.id, status, detail)
        return status
