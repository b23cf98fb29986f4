"""Signed tokens for links that act on a subscriber without a login.

A token is ``ID.SIGNATURE``: the subscriber's id and an HMAC-SHA256 over the
purpose, the id and the address, truncated to 128 bits. Binding the address
means a token dies with an erased subscriber; binding the purpose means an
unsubscribe token cannot confirm a subscription. Comparison is constant-time.

A token comes from a URL anyone can type: it is read strictly (ASCII digits of
bounded length, as ``str.isdigit`` and ``int`` would also take Arabic-Indic or
fullwidth digits, and ``int`` refuses more than 4,300 of them with an exception).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable

__all__ = ["sign", "verify"]

#: ``SUBJECT[.EXPIRES].MAC``: ASCII digits (at most 18, 12 for the expiry) and base64url.
_TOKEN_RE = re.compile(r"([0-9]{1,18})(?:\.([0-9]{1,12}))?\.([A-Za-z0-9_-]{1,64})", re.ASCII)


def _mac(secret: bytes, purpose: str, subject: str, email: str, expires: int) -> str:
    message = f"{purpose}\0{subject}\0{email}\0{expires}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(secret: bytes, purpose: str, subject: int | str, email: str,
         ttl: int | None = None, *, expires: int | None = None) -> str:
    """A token for ``purpose`` on ``subject`` (a subscriber id), optionally expiring
    ``ttl`` seconds from now or at the time ``expires`` (the same token each time)."""
    if expires is None:
        expires = int(time.time()) + ttl if ttl else 0
    tail = f".{expires}" if expires else ""
    return f"{subject}{tail}.{_mac(secret, purpose, str(subject), email, expires)}"


def verify(secret: bytes, purpose: str, token: str,
           email_of: Callable[[str], str | None], *, at: float | None = None) -> str | None:
    """The subject of a valid token, or None.

    ``email_of(subject)`` returns the address the subject has now (or None); a
    token whose address, purpose or signature does not match is refused, as is
    one expired at ``at`` (now by default; ``at=0`` tells an expired token, whose
    page says so, from a forged one).
    """
    match = _TOKEN_RE.fullmatch(token) if len(token) <= 100 else None
    if match is None:
        return None
    subject, expiry, mac = match.groups()
    expires = int(expiry) if expiry else 0
    if expiry and expires < (time.time() if at is None else at):
        return None
    email = email_of(subject)
    if not email:
        return None
    expected = _mac(secret, purpose, subject, email, expires)
    return subject if hmac.compare_digest(expected, mac) else None
