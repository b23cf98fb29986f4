"""The service's public addresses, and the purposes of the tokens they carry.

A link in a message, the page the service routes it to and the token in it must
agree: the unsubscribe link of a campaign is ``BASE/unsubscribe/TOKEN`` signed
for the purpose ``unsubscribe``, which the service reads back at
``/unsubscribe/{token}``; the List-Unsubscribe ``mailto:`` asks for a mail whose
subject is ``unsubscribe TOKEN``, which the bounce mailbox reads back. Each of
those facts is written here, once, for the messages (delivery), the pages (web)
and the flows of consent and bounces (audience) to share. An issue's own web
address is ``Config.issue_url``, one stage below.
"""

from __future__ import annotations

import re

from . import tokens

__all__ = ["CONFIRM", "CONTRIBUTE", "PREFERENCES", "PURPOSES", "SUBSCRIBE_PATH", "UNSUBSCRIBE",
           "route",
           "signed_url", "subscribe_url", "token_url", "unsubscribe_mail_token",
           "unsubscribe_mailto"]

#: What a token allows; a token signed for one purpose is refused for another. Each
#: is also the first segment of the path of its page.
UNSUBSCRIBE = "unsubscribe"
CONFIRM = "confirm"
PREFERENCES = "preferences"
#: A centre's contact's page to send the news of an issue (``audience.invitations``).
CONTRIBUTE = "contribute"
PURPOSES = (UNSUBSCRIBE, CONFIRM, PREFERENCES, CONTRIBUTE)
#: The subscription form's page.
SUBSCRIBE_PATH = "/subscribe"

#: The subject of an unsubscribe mail: "unsubscribe TOKEN", any case, blanks around.
_UNSUBSCRIBE_SUBJECT_RE = re.compile(rf"^\s*{UNSUBSCRIBE}\s+(\S+)\s*$", re.IGNORECASE)


def route(purpose: str) -> str:
    """The service's path pattern for the page of ``purpose`` (Starlette's syntax)."""
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    return f"/{purpose}/{{token}}"


def token_url(base: str, purpose: str, token: str) -> str:
    """The public address of the page of ``purpose`` for this token."""
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    return f"{base.rstrip('/')}/{purpose}/{token}"


def signed_url(secret: bytes, base: str, purpose: str, subscriber_id: int, email: str) -> str:
    """A subscriber's link of ``purpose``, its token signed now (never expiring).

    For links that name only the subscriber (unsubscribe, preferences); a
    confirmation link is bound to more and expires (``consent.token_for``).
    """
    return token_url(base, purpose, tokens.sign(secret, purpose, subscriber_id, email))


def subscribe_url(base: str, lang: str) -> str:
    """The subscription form, in ``lang``."""
    return f"{base.rstrip('/')}{SUBSCRIBE_PATH}?lang={lang}"


def unsubscribe_mailto(address: str, token: str) -> str:
    """The List-Unsubscribe ``mailto:`` fallback: a mail to ``address`` whose subject
    carries the token (base64url and digits: nothing to escape)."""
    return f"mailto:{address}?subject={UNSUBSCRIBE}%20{token}"


def unsubscribe_mail_token(subject: str) -> str | None:
    """The token of an unsubscribe mail's subject, or None when it is not one."""
    match = _UNSUBSCRIBE_SUBJECT_RE.match(subject)
    return match.group(1) if match else None
