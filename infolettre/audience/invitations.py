"""A contact's personal link to contribute: made for an invitation, read back by the page.

The link is ``BASE/contribute/TOKEN``: the token's subject is the invitation's id in
the store, its signature binds the purpose ``contribute`` and the contact's address,
and it expires :data:`GRACE_DAYS` after the issue's deadline (late news is still
welcome for a few days; a link months old is not). The page tells an expired link
(410, say so and whom to write to) from a forged one or one of another purpose (403).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..store import Invitation, Store
from . import tokens
from .links import CONTRIBUTE, token_url

__all__ = ["GRACE_DAYS", "Opened", "contribute_token", "contribute_url", "open_link"]

#: How long after the deadline a contact's link still opens the page.
GRACE_DAYS = 7


def _expires(deadline: str) -> float:
    day = dt.date.fromisoformat(deadline) + dt.timedelta(days=GRACE_DAYS + 1)
    return dt.datetime.combine(day, dt.time(), dt.UTC).timestamp()


def contribute_token(store: Store, invitation: Invitation) -> str:
    """The token of the contact's link, which :func:`open_link` reads back: the same
    each time it is made, as its expiry is worked out from the deadline, not from now."""
    return tokens.sign(store.secret, CONTRIBUTE, invitation.id, invitation.email,
                       expires=int(_expires(invitation.deadline)))


def contribute_url(store: Store, base: str, invitation: Invitation) -> str:
    """The contact's link for this invitation (``BASE/contribute/TOKEN``)."""
    return token_url(base, CONTRIBUTE, contribute_token(store, invitation))


@dataclass(frozen=True)
class Opened:
    """What a link opens: the invitation, or why it opens nothing (``expired`` or
    ``refused``)."""

    invitation: Invitation | None
    expired: bool = False


def open_link(store: Store, token: str) -> Opened:
    """The invitation a link opens; for a link that opens none, whether it expired."""
    def email_of(subject: str) -> str | None:
        found = store.invitation(int(subject))
        return found.email if found else None

    subject = tokens.verify(store.secret, CONTRIBUTE, token, email_of)
    if subject is not None:
        return Opened(store.invitation(int(subject)))
    expired = tokens.verify(store.secret, CONTRIBUTE, token, email_of, at=0) is not None
    return Opened(None, expired)
