"""Provider webhooks: check that a call is authentic, read its events, apply them once.

=========  =============================================  ===========================
provider   authenticity                                   replay protection
=========  =============================================  ===========================
Mailgun    HMAC-SHA256(signing key, timestamp + token)    timestamp within 5 min,
                                                          each event id applied once
SendGrid   ECDSA P-256 over timestamp + body (public key)  timestamp within 5 min,
                                                          each sg_event_id once
Postmark   basic auth (or bearer) secret in the URL        each event id once
Brevo      bearer token (or basic auth) secret             each event id once
=========  =============================================  ===========================

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
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .errors import InfoLettreError
from .store import Store, now
from .subscription import apply_report

__all__ = ["PROVIDERS", "Report", "WebhookError", "handle"]

WINDOW = 300  # seconds a signed timestamp stays valid


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


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise WebhookError(400, "the body is not JSON") from None


def _fresh(timestamp: str) -> None:
    try:
        age = abs(time.time() - float(timestamp))
    except ValueError:
        raise WebhookError(401, "bad timestamp") from None
    if age > WINDOW:
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


def mailgun(body: bytes, headers: Mapping[str, str], secrets: Mapping[str, str]
            ) -> list[Report]:
    data = _json(body)
    sig = data.get("signature", {}) if isinstance(data, dict) else {}
    timestamp, token = str(sig.get("timestamp", "")), str(sig.get("token", ""))
    key = _secret(secrets, "INFOLETTRE_MAILGUN_SIGNING_KEY").encode()
    expected = hmac.new(key, (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, str(sig.get("signature", ""))):
        raise WebhookError(401, "bad Mailgun signature")
    _fresh(timestamp)
    event = data.get("event-data", {}) if isinstance(data, dict) else {}
    name, severity = str(event.get("event")), event.get("severity")
    kind = {"failed": "hard" if severity == "permanent" else "soft",
            "complained": "complaint", "unsubscribed": "unsubscribe"}.get(name)
    if not kind:
        return []
    reason = event.get("delivery-status", {}).get("description") or event.get("reason", "")
    return [Report(str(event.get("id", token)), str(event.get("recipient", "")), kind,
                   f"mailgun {name} {severity or ''}: {reason}".strip())]


def sendgrid(body: bytes, headers: Mapping[str, str], secrets: Mapping[str, str]
             ) -> list[Report]:
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
    reports = []
    for e in events if isinstance(events, list) else []:
        name = e.get("event")
        kind = {"bounce": "soft" if e.get("type") == "blocked" else "hard", "dropped": "hard",
                "spamreport": "complaint", "unsubscribe": "unsubscribe",
                "group_unsubscribe": "unsubscribe"}.get(name)
        if kind:
            reports.append(Report(str(e.get("sg_event_id", "")), str(e.get("email", "")), kind,
                                  f"sendgrid {name}: {e.get('reason', '')}".strip()))
    return reports


def postmark(body: bytes, headers: Mapping[str, str], secrets: Mapping[str, str]
             ) -> list[Report]:
    _shared_secret(headers, secrets)
    e = _json(body)
    if not isinstance(e, dict):
        raise WebhookError(400, "expected one event")
    record = e.get("RecordType")
    if record == "Bounce":
        soft = e.get("Type") in ("SoftBounce", "Transient", "DnsError", "AutoResponder")
        kind, email = ("soft" if soft else "hard"), e.get("Email", "")
    elif record == "SpamComplaint":
        kind, email = "complaint", e.get("Email", "")
    elif record == "SubscriptionChange" and e.get("SuppressSending"):
        kind, email = "unsubscribe", e.get("Recipient", "")
    else:
        return []
    event_id = str(e.get("ID") or f"{record}:{e.get('MessageID')}:{e.get('ChangedAt')}")
    return [Report(event_id, str(email), kind,
                   f"postmark {record} {e.get('Type', '')}: {e.get('Description', '')}".strip())]


def brevo(body: bytes, headers: Mapping[str, str], secrets: Mapping[str, str]
          ) -> list[Report]:
    _shared_secret(headers, secrets)
    events = _json(body)
    reports = []
    for e in events if isinstance(events, list) else [events]:
        if not isinstance(e, dict):
            continue
        name = str(e.get("event"))
        kind = {"hard_bounce": "hard", "invalid_email": "hard", "blocked": "hard",
                "soft_bounce": "soft", "spam": "complaint", "complaint": "complaint",
                "unsubscribed": "unsubscribe"}.get(name)
        if kind:
            event_id = f"{name}:{e.get('message-id') or e.get('id')}:{e.get('ts_event', '')}"
            reports.append(Report(event_id, str(e.get("email", "")), kind,
                                  f"brevo {name}: {e.get('reason', '')}".strip()))
    return reports


PROVIDERS: dict[str, Callable[[bytes, Mapping[str, str], Mapping[str, str]], list[Report]]] = {
    "mailgun": mailgun, "sendgrid": sendgrid, "postmark": postmark, "brevo": brevo,
}


def handle(store: Store, provider: str, body: bytes, headers: Mapping[str, str],
           secrets: Mapping[str, str]) -> dict[str, int]:
    """Verify and apply one webhook call; counts of applied and replayed events.

    Raises WebhookError (401 forged, 400 malformed, 404 unknown provider, 409
    when every event was already applied: a replay).
    """
    if provider not in PROVIDERS:
        raise WebhookError(404, f"no webhook for {provider!r}")
    reports = PROVIDERS[provider](body, {k.lower(): v for k, v in headers.items()}, secrets)
    applied = replayed = 0
    for report in reports:
        with store.transaction():
            fresh = store.conn.execute(
                "INSERT OR IGNORE INTO webhook_events VALUES (?, ?, ?)",
                (provider, report.event_id, now())).rowcount
        if not fresh:
            replayed += 1
            continue
        apply_report(store, report.email, report.kind, report.detail)
        applied += 1
    if reports and not applied:
        raise WebhookError(409, "every event of this call was already applied: a replay")
    return {"applied": applied, "replayed": replayed}
