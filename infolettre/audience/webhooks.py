"""Provider webhooks: check that a call is authentic, read its events, apply them once.

=========  =============================================  ===========================
provider   authenticity                                   replay protection
=========  =============================================  ===========================
Mailgun    HMAC-SHA256(signing key, timestamp + token)    timestamp within 5 min,
                                                          each token used once,
                                                          each event id applied once
SendGrid   ECDSA P-256 over timestamp + body (public key)  timestamp within 5 min,
                                                          each sg_event_id once (or a
                                                          hash of the event without one)
Postmark   basic auth (or bearer) secret in the URL        each event id once
Brevo      bearer token (or basic auth) secret             each event id once
=========  =============================================  ===========================

Mailgun's signature covers the timestamp and the token, not the body: a captured
signature could carry any other event for five minutes. So every accepted token
is remembered (in ``webhook_events``, as provider ``mailgun-token``) until its
timestamp has expired, and a second use is refused as a replay. Timestamps are
ASCII digits, at most 5 minutes old and 1 minute ahead (clock skew).

Whatever the body holds, a call that is not what the provider sends is a 400:
not JSON, nested too deep, not UTF-8, an object where a list belongs, a list or a
number where an address belongs. Postmark's and Brevo's credentials travel in
the headers, so ``authenticate_headers`` checks them before the body is read;
Mailgun and SendGrid sign the body, which must be read first (within the
service's body limit).

Secrets come from the environment: ``INFOLETTRE_MAILGUN_SIGNING_KEY``,
``INFOLETTRE_SENDGRID_PUBLIC_KEY`` (the base64 key SendGrid shows),
``INFOLETTRE_WEBHOOK_SECRET`` (Postmark and Brevo).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..errors import InfoLettreError
from ..store import Store, stamp
from .consent import apply_report

__all__ = ["PROVIDERS", "Call", "Report", "WebhookError", "authenticate_headers", "handle"]

WINDOW = 300  # seconds a signed timestamp stays valid
SKEW = 60  # seconds a signed timestamp may be ahead of our clock
NONCE_LIFE = 2 * WINDOW  # seconds a used Mailgun token is remembered (> WINDOW + SKEW)
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}", re.ASCII)


class WebhookError(InfoLettreError):
    """A call refused: ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Report:
    """One event: which address, what happened, under which provider id."""

    event_id: str
    email: str
    kind: str  # hard | soft | complaint | unsubscribe
    detail: str


@dataclass(frozen=True)
class Call:
    """What one authentic call says: its events, and the nonce to use only once (if any)."""

    reports: list[Report] = field(default_factory=list)
    nonce: str | None = None


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, nested too deep, huge ints
        raise WebhookError(400, "the body is not JSON (or is nested too deep)") from None


def _object(value: object, what: str) -> dict:
    if not isinstance(value, dict):
        raise WebhookError(400, f"{what} must be a JSON object")
    return value


def _text(obj: dict, key: str) -> str:
    """A scalar field as text ('' when absent or null); a list or object is a 400."""
    value = obj.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise WebhookError(400, f"{key!r} must be text or a number")
    return str(value)


def _address(obj: dict, key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise WebhookError(400, f"{key!r} must be an email address")
    return value


def _fresh(timestamp: str) -> None:
    if not _TIMESTAMP_RE.fullmatch(timestamp):
        raise WebhookError(401, "bad timestamp: expected seconds since 1970 in digits")
    age = time.time() - int(timestamp)
    if age > WINDOW or age < -SKEW:
        raise WebhookError(401, "timestamp too old or in the future: a replay?")


def _secret(secrets: Mapping[str, str], name: str) -> str:
    value = secrets.get(name)
    if not value:
        raise WebhookError(503, f"${name} is not set: this webhook is disabled")
    return value


def _shared_secret(headers: Mapping[str, str], secrets: Mapping[str, str]) -> None:
    expected = _secret(secrets, "INFOLETTRE_WEBHOOK_SECRET")
    given = headers.get("authorization", "")
    candidates = []
    if given.lower().startswith("bearer "):
        candidates.append(given[7:].strip())
    elif given.lower().startswith("basic "):
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            candidates.append(base64.b64decode(given[6:]).decode().partition(":")[2])
    if not any(hmac.compare_digest(c.encode(), expected.encode()) for c in candidates):
        raise WebhookError(401, "missing or wrong credentials")


def _mailgun_headers(headers: Mapping[str, str], secrets: Mapping[str, str]) -> None:
    _secret(secrets, "INFOLETTRE_MAILGUN_SIGNING_KEY")


def mailgun(body: bytes, headers: Mapping[str, str], secrets: Mapping[str, str]) -> Call:
    data = _object(_json(body), "the body")
    sig = _object(data.get("signature"), "'signature'")
    timestamp, token, given = _text(sig, "timestamp"), _text(sig, "token"), _text(sig, "signature")
    if not token or len(token) > 200:
        raise WebhookError(400, "'token' must be Mailgun's token")
    key = _secret(secrets, "INFOLETTRE_MAILGUN_SIGNING_KEY").encode()
    expected = hmac.new(key, (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise WebhookError(401, "bad Mailgun signature")
    _fresh(timestamp)
    event = _object(data.get("event-data"), "'event-data'")
    name, severity = _text(event, "event"), _text(event, "severity")
    kind = {"failed": "hard" if severity == "permanent" else "soft",
            "complained": "complaint", "unsubscribed": "unsubscribe"}.get(name)
    if not kind:
        return Call([], token)
    status = _object(event.get("delivery-status") or {}, "'delivery-status'")
    reason = _text(status, "description") or _text(event, "reason")
    return Call([Report(_text(event, "id") or token, _address(event, "recipient"), kind,
                        f"mailgun {name} {severity}: {reason}".strip())], token)


def _sendgrid_headers(headers: Mapping[str, str], secrets: Mapping[str, str]) -> None:
    _secret(secrets, "INFOLETTRE_SENDGRID_PUBLIC_KEY")
    if not (headers.get("x-twilio-email-event-webhook-signature")
            and headers.get("x-twilio-email-event-webhook-timestamp")):
        raise WebhookError(401, "missing SendGrid signature headers")


def sendgrid(body: bytes, headers: Mapping[str, str], secrets: Mapping[str, str]) -> Call:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    signature = headers.get("x-twilio-email-event-webhook-signature", "")
    timestamp = headers.get("x-twilio-email-event-webhook-timestamp", "")
    try:
        key = serialization.load_der_public_key(
            base64.b64decode(_secret(secrets, "INFOLETTRE_SENDGRID_PUBLIC_KEY")))
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise WebhookError(503, "INFOLETTRE_SENDGRID_PUBLIC_KEY is not an EC public key")
        key.verify(base64.b64decode(signature), timestamp.encode() + body,
                   ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError):
        raise WebhookError(401, "bad SendGrid signature") from None
    _fresh(timestamp)
    events = _json(body)
    if not isinstance(events, list):
        raise WebhookError(400, "expected a list of events")
    reports = []
    for item in events:
        e = _object(item, "each event")
        name = _text(e, "event")
        kind = {"bounce": "soft" if _text(e, "type") == "blocked" else "hard", "dropped": "hard",
                "spamreport": "complaint", "unsubscribe": "unsubscribe",
                "group_unsubscribe": "unsubscribe"}.get(name)
        if kind:
            # Without SendGrid's id, the event's own content names it: two events
            # differ, the same one sent twice does not.
            event_id = _text(e, "sg_event_id") or "sha256:" + hashlib.sha256(
                json.dumps(e, sort_keys=True).encode()).hexdigest()
            reports.append(Report(event_id, _address(e, "email"), kind,
                                  f"sendgrid {name}: {_text(e, 'reason')}".strip()))
    return Call(reports)


def postmark(body: bytes, headers: Mapping[str, str], secrets: Mapping[str, str]) -> Call:
    _shared_secret(headers, secrets)
    e = _object(_json(body), "the body (one event)")
    record = _text(e, "RecordType")
    if record == "Bounce":
        soft = _text(e, "Type") in ("SoftBounce", "Transient", "DnsError", "AutoResponder")
        kind, email = ("soft" if soft else "hard"), _address(e, "Email")
    elif record == "SpamComplaint":
        kind, email = "complaint", _address(e, "Email")
    elif record == "SubscriptionChange" and e.get("SuppressSending"):
        kind, email = "unsubscribe", _address(e, "Recipient")
    else:
        return Call()
    event_id = _text(e, "ID") or f"{record}:{_text(e, 'MessageID')}:{_text(e, 'ChangedAt')}"
    return Call([Report(event_id, email, kind, f"postmark {record} {_text(e, 'Type')}: "
                                               f"{_text(e, 'Description')}".strip())])


def brevo(body: bytes, headers: Mapping[str, str], secrets: Mapping[str, str]) -> Call:
    _shared_secret(headers, secrets)
    events = _json(body)
    reports = []
    for item in events if isinstance(events, list) else [events]:
        e = _object(item, "each event")
        name = _text(e, "event")
        kind = {"hard_bounce": "hard", "invalid_email": "hard", "blocked": "hard",
                "soft_bounce": "soft", "spam": "complaint", "complaint": "complaint",
                "unsubscribed": "unsubscribe"}.get(name)
        if kind:
            message = _text(e, "message-id") or _text(e, "id")
            event_id = f"{name}:{message}:{_text(e, 'ts_event')}"
            reports.append(Report(event_id, _address(e, "email"), kind,
                                  f"brevo {name}: {_text(e, 'reason')}".strip()))
    return Call(reports)


Check = Callable[[Mapping[str, str], Mapping[str, str]], None]
Parse = Callable[[bytes, Mapping[str, str], Mapping[str, str]], Call]

#: Each provider: what can be checked from the headers alone, and the reading of a call.
PROVIDERS: dict[str, tuple[Check, Parse]] = {
    "mailgun": (_mailgun_headers, mailgun), "sendgrid": (_sendgrid_headers, sendgrid),
    "postmark": (_shared_secret, postmark), "brevo": (_shared_secret, brevo),
}


def authenticate_headers(provider: str, headers: Mapping[str, str],
                         secrets: Mapping[str, str]) -> None:
    """Refuse, before the body is read, a call its headers already show to be refused.

    404 for an unknown provider, 503 when its secret is not set, 401 for wrong
    credentials (Postmark, Brevo) or missing signature headers (SendGrid).
    """
    if provider not in PROVIDERS:
        raise WebhookError(404, f"no webhook for {provider!r}")
    PROVIDERS[provider][0]({k.lower(): v for k, v in headers.items()}, secrets)


def _use_once(store: Store, provider: str, nonce: str) -> None:
    """Record a signature's nonce, forgetting expired ones; a second use is a replay."""
    kind = f"{provider}-token"
    with store.transaction():
        store.forget_webhook_events(kind, before=stamp(int(time.time()) - NONCE_LIFE))
        fresh = store.remember_webhook_event(kind, nonce)
    if not fresh:
        raise WebhookError(409, "this signature was already used: a replay")


def handle(store: Store, provider: str, body: bytes, headers: Mapping[str, str],
           secrets: Mapping[str, str]) -> dict[str, int]:
    """Verify and apply one webhook call; counts of applied and replayed events.

    Raises WebhookError (401 forged, 400 malformed, 404 unknown provider, 503
    webhook not configured, 409 when the signature was used before or every
    event was already applied: a replay).
    """
    headers = {k.lower(): v for k, v in headers.items()}
    authenticate_headers(provider, headers, secrets)
    call = PROVIDERS[provider][1](body, headers, secrets)
    if call.nonce is not None:
        _use_once(store, provider, call.nonce)
    applied = replayed = 0
    for report in call.reports:
        with store.transaction():
            fresh = store.remember_webhook_event(provider, report.event_id)
        if not fresh:
            replayed += 1
            continue
        apply_report(store, report.email, report.kind, report.detail)
        applied += 1
    if call.reports and not applied:
        raise WebhookError(409, "every event of this call was already applied: a replay")
    return {"applied": applied, "replayed": replayed}
