"""What subscribers do and what the mail system reports, applied to the list.

One place decides how a status changes, whoever asks: the one-click unsubscribe,
the subscription form and its confirmation, the preferences page, providers'
webhooks and bounce reports read from a mailbox. Each change is recorded in the
subscriber's history with its source.

An address that left the list (unsubscribed or bounced) comes back only by its
owner's confirmation of a new subscription: the form leaves its status as it is
and mails a confirmation link, valid only if issued after the address left. A
complaint is final (as listmonk's blocklist): the form mails nothing to such an
address. The form mails at most ``CONFIRMATIONS_PER_HOUR`` and
``CONFIRMATIONS_PER_DAY`` confirmations to one address, counted in the database
(so across processes and restarts), whoever asks.
"""

from __future__ import annotations

import time

from ..store import FINAL, Store, Subscriber, normalise_email, stamp
from . import tokens
from .links import CONFIRM, PREFERENCES, UNSUBSCRIBE, token_url

__all__ = [
    "CONFIRM", "CONFIRMATIONS_PER_DAY", "CONFIRMATIONS_PER_HOUR", "CONFIRM_TTL",
    "PREFERENCES", "RESUBSCRIBABLE", "UNSUBSCRIBE", "apply_report", "by_token", "confirm",
    "link_for", "request_subscription", "set_preferences", "token_for",
    "unsubscribe",
]

CONFIRM_TTL = 7 * 24 * 3600
#: Confirmations mailed to one address at most, per hour and per 24 hours.
CONFIRMATIONS_PER_HOUR = 1
CONFIRMATIONS_PER_DAY = 3
#: Statuses the form may turn back to active, through a new confirmation. Not
#: "complained": that person told their mailbox our mail is spam, so no one else
#: may make us mail them again.
RESUBSCRIBABLE = ("unsubscribed", "bounced")
#: Events recording a confirmation mailed (the per-address limit counts them).
REQUESTED = "subscription requested"
REREQUESTED = "re-subscription requested"
#: Soft bounces in a row after which an address counts as bounced.
SOFT_BOUNCE_LIMIT = 3


def _bound(store: Store, purpose: str, subscriber: Subscriber) -> str:
    """What a token is bound to besides the id: the address, and for a confirmation
    link of an address that left the list, the event that took it off, so that
    only a link mailed after it left can bring it back."""
    if purpose != CONFIRM:
        return subscriber.email
    left = store.departure(subscriber.id)
    return subscriber.email if left is None else f"{subscriber.email}\0left:{left.event_id}"


def token_for(store: Store, purpose: str, subscriber: Subscriber) -> str:
    """A signed token for a link acting on ``subscriber`` (confirmation links expire)."""
    ttl = CONFIRM_TTL if purpose == CONFIRM else None
    return tokens.sign(store.secret, purpose, subscriber.id, _bound(store, purpose, subscriber),
                       ttl)


def link_for(store: Store, base: str, purpose: str, subscriber: Subscriber) -> str:
    """The public address of a link acting on ``subscriber`` (see :func:`token_for`)."""
    return token_url(base, purpose, token_for(store, purpose, subscriber))


def by_token(store: Store, purpose: str, token: str) -> Subscriber | None:
    """The subscriber a valid token designates, or None (forged, altered, expired,
    or a confirmation link older than the address's leaving the list). The row the
    signature is checked against is the one returned: read once."""
    found: list[Subscriber] = []

    def email_of(subject: str) -> str | None:
        if not subject.lstrip("-").isdigit():
            return None
        row = store.by_id(int(subject))
        if row is None:
            return None
        found.append(row)
        return _bound(store, purpose, row)

    subject = tokens.verify(store.secret, purpose, token, email_of)
    return found[0] if subject and found else None


def unsubscribe(store: Store, subscriber: Subscriber, source: str) -> bool:
    """Unsubscribe at once; True when the status changed."""
    with store.transaction():
        current = store.by_id(subscriber.id)
        if current is None or current.status in FINAL:
            return False
        store.set_status(current.id, "unsubscribed", source)
    return True


def request_subscription(store: Store, email: str, *, name: str = "", lang: str = "fr",
                         source: str, at: float | None = None) -> Subscriber | None:
    """Record a request to subscribe; the subscriber to send a confirmation to, or None.

    A new address becomes ``pending`` until confirmed; a pending one gets its
    confirmation again; an unsubscribed or bounced one keeps its status and gets
    a confirmation (event "re-subscription requested"). Active, complained or
    erased addresses get nothing, nor does an address already sent its share of
    confirmations (the caller answers the same way in every case). ``at`` is the
    time of the request (POSIX seconds; default now).
    """
    at = time.time() if at is None else at
    email = normalise_email(email)
    with store.transaction():
        if store.is_suppressed(email):
            return None
        existing = store.get(email)
        if existing is None:
            sid = store.insert(email, name=name, lang=lang, status="pending",
                               consent_source=source)
        elif existing.status == "pending" or existing.status in RESUBSCRIBABLE:
            if not _may_mail(store, existing.id, at):
                return None
            sid = existing.id
        else:
            return None
        left = store.departure(sid)
        store.event(sid, REQUESTED if left is None else REREQUESTED,
                    f"{source}; confirmation mailed" + (f"; {left}" if left else ""),
                    at=stamp(at))
    return store.get(email)


def _may_mail(store: Store, subscriber_id: int, at: float) -> bool:
    """True while the address has had fewer confirmations than the limits allow."""
    kinds = (REQUESTED, REREQUESTED)
    return (store.count_events(subscriber_id, kinds, since=stamp(at - 3600 + 1))
            < CONFIRMATIONS_PER_HOUR
            and store.count_events(subscriber_id, kinds, since=stamp(at - 86400 + 1))
            < CONFIRMATIONS_PER_DAY)


def confirm(store: Store, subscriber: Subscriber, source: str) -> bool:
    """Activate a subscriber who confirmed by the link mailed to them, recording the
    consent; True when it changed.

    A pending subscriber, or one that left the list (unsubscribed, bounced) and
    asked to come back since: ``by_token`` refuses a link older than its leaving.
    """
    with store.transaction():
        current = store.by_id(subscriber.id)
        if current is None:
            return False
        if current.status != "pending":
            left = store.departure(current.id)
            if (current.status not in RESUBSCRIBABLE or left is None
                    or not store.count_events(current.id, (REREQUESTED,),
                                              after_event=left.event_id)):
                return False
        store.record_consent(current.id, source)
        store.set_status(current.id, "active", f"confirmed: {source}", confirmed=True)
    return True


def set_preferences(store: Store, subscriber: Subscriber, *, lang: str | None = None,
                    centre: str | None = None) -> None:
    """Change what a subscriber chose on the preferences page, in one transaction
    recorded as one "preferences" event; None leaves a field as it is.

    ``centre`` is a slug of the directory of centres, or ``""`` for none: the
    caller matches it (:func:`~infolettre.audience.columns.centre_slug`), so that
    ``send --centre`` reaches everyone of a centre.
    """
    values = {k: v for k, v in (("lang", lang), ("centre", centre)) if v is not None}
    if not values:
        return
    with store.transaction():
        store.update(subscriber.id, **values)
        store.event(subscriber.id, "preferences",
                    ", ".join(f"{k}={v}" for k, v in values.items()))


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
            count = store.add_soft_bounce(subscriber.id)
            store.event(subscriber.id, "soft_bounce", f"{count} in a row: {detail}")
            if count >= soft_limit and subscriber.status == "active":
                status = "bounced"
                detail = f"{count} soft bounces in a row: {detail}"
        if status:
            store.set_status(subscriber.id, status, detail)
        return status
