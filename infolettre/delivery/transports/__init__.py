"""Transports, chosen by a DSN in the convention of Symfony Mailer.

=============================================================  ==========================
DSN                                                            what it does
=============================================================  ==========================
``outbox://PATH``                                              writes a local Maildir
``smtp://USER:PASS@HOST:PORT?security=tls|starttls|none&…``    sends through SMTP
=============================================================  ==========================

SMTP options: ``connections`` (parallel sessions, default 4), ``rate`` (messages
per second, all sessions of this sender together), ``campaign_rate`` (messages per
second, all the senders of the campaign together, on every host: paced through
the database, whose ``rate_slots`` they reserve a quarter second at a time; the
hosts' clocks must agree, as NTP keeps them; on SQLite, where one sender runs at a
time, it is that sender's pace), ``max_per_connection`` (default 100),
``timeout`` (seconds), ``cafile`` (a CA bundle to verify the server with),
``helo``. Without ``security``, port 465 means ``tls`` and any other
``starttls``: plain text is never chosen unless asked for. A password absent
from the DSN is read from ``$INFOLETTRE_SMTP_PASSWORD``.

HTTP APIs: ``brevo+api://KEY@default``, ``postmark+api://TOKEN@default``,
``mailgun+api://KEY@DOMAIN?region=eu``, ``sendgrid+api://KEY@default``. Without a
key in the DSN, it comes from the environment variable the configuration names
(``api_key_env``, default ``INFOLETTRE_API_KEY``). Options: ``base_url`` (another
endpoint: an EU region, a test server), ``connections`` (parallel requests,
default 4), ``batch`` (fewer recipients per request than the provider's
maximum), ``rate`` (requests per second, this sender), ``campaign_rate`` (requests
per second, all the campaign's senders, as for SMTP), ``timeout``; Postmark also takes
``stream`` (default ``broadcast``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from ...words import closest
from .base import Envelope, Transport, TransportError
from .outbox import OutboxTransport
from .smtp import SmtpTransport

__all__ = ["DESCRIPTIONS", "Envelope", "Transport", "TransportError", "from_dsn", "mask"]

#: What each scheme is for and what it needs, for `infolettre transports`.
DESCRIPTIONS = {
    "outbox": ("outbox://PATH", "a local Maildir; nothing leaves the machine (default)"),
    "smtp": ("smtp://USER:PASS@HOST:PORT?security=starttls&connections=4&rate=10",
             "an SMTP relay; password in the DSN or $INFOLETTRE_SMTP_PASSWORD"),
    "brevo": ("brevo+api://KEY@default",
              "Brevo's transactional API, 1000 recipients a request, idempotent retries"),
    "postmark": ("postmark+api://SERVER_TOKEN@default?stream=broadcast",
                 "Postmark's batch API, 500 messages (50 MB) a request"),
    "mailgun": ("mailgun+api://KEY@DOMAIN?region=eu",
                "Mailgun's messages API with recipient-variables, 1000 a request"),
    "sendgrid": ("sendgrid+api://KEY@default",
                 "SendGrid's v3 mail send, 1000 personalizations a request"),
}
_API_OPTIONS = {"base_url", "connections", "batch", "rate", "campaign_rate", "timeout"}
_SMTP_OPTIONS = {"security", "connections", "rate", "campaign_rate", "max_per_connection",
                 "timeout", "cafile", "helo"}


def mask(dsn: str) -> str:
    """The DSN with its password (or API key) replaced by ****."""
    parts = urlsplit(dsn)
    if parts.password:
        return dsn.replace(f":{parts.password}@", ":****@", 1)
    if parts.username and parts.scheme not in ("smtp", "outbox"):
        return dsn.replace(f"{parts.username}@", "****@", 1)
    return dsn


def _options(dsn: str, query: str, known: set[str]) -> dict[str, str]:
    options = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    for key in options:
        if key not in known:
            near = closest(key, known, 1)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            raise TransportError(f"{mask(dsn)}: unknown option '{key}'{hint}")
    return options


_N = TypeVar("_N", int, float)
_D = TypeVar("_D", int, float, None)


def _number(dsn: str, options: Mapping[str, str], key: str, kind: type[_N], default: _D
            ) -> _N | _D:
    """The option ``key`` as a number above 0 (``default`` when absent)."""
    if key not in options:
        return default
    try:
        value = kind(options[key])
    except ValueError:
        raise TransportError(f"{mask(dsn)}: {key} must be a number, "
                             f"not {options[key]!r}") from None
    if value <= 0:
        raise TransportError(f"{mask(dsn)}: {key} must be above 0")
    return value


def _api(dsn: str, scheme: str, env: Mapping[str, str], http: object) -> Transport:
    parts = urlsplit(dsn)
    provider = scheme.split("+")[0]
    extra = {"mailgun": {"region"}, "postmark": {"stream"}}.get(provider, set())
    options = _options(dsn, parts.query, _API_OPTIONS | extra)
    key = unquote(parts.username or "") or env.get("api_key", "")
    if not key:
        raise TransportError(f"{mask(dsn)}: no API key: write {provider}+api://KEY@… or set "
                             "the environment variable named by api_key_env "
                             "(default INFOLETTRE_API_KEY)")
    common: dict = {
        "base_url": options.get("base_url") or None,
        "connections": _number(dsn, options, "connections", int, 4),
        "batch_size": _number(dsn, options, "batch", int, None),
        "rate": _number(dsn, options, "rate", float, None),
        "timeout": _number(dsn, options, "timeout", float, 60.0),
        "http": http,
    }
    campaign_rate = _number(dsn, options, "campaign_rate", float, None)
    return _shared(_provider(dsn, provider, key, parts.hostname or "", options, common),
                   campaign_rate)


def _shared(transport: Transport, campaign_rate: float | None) -> Transport:
    """``transport`` with the campaign's shared rate (``campaign_rate``) set."""
    transport.campaign_rate = campaign_rate
    return transport


def _provider(dsn: str, provider: str, key: str, host: str, options: Mapping[str, str],
              common: dict) -> Transport:
    from .providers import (
        BrevoTransport,
        MailgunTransport,
        PostmarkTransport,
        SendgridTransport,
    )

    if provider == "mailgun":
        domain = host
        if not domain or domain == "default":
            raise TransportError(f"{mask(dsn)}: give the sending domain: "
                                 "mailgun+api://KEY@mg.example.org")
        region = options.get("region", "us").lower()
        if region not in ("us", "eu"):
            raise TransportError(f"{mask(dsn)}: region must be us or eu")
        if region == "eu" and not common["base_url"]:
            common["base_url"] = MailgunTransport.eu_base_url
        return MailgunTransport(key, domain=domain, **common)
    if provider == "postmark":
        return PostmarkTransport(key, stream=options.get("stream") or "broadcast", **common)
    return {"brevo": BrevoTransport, "sendgrid": SendgridTransport}[provider](key, **common)


def from_dsn(dsn: str, env: Mapping[str, str] | None = None, *, http: object = None
             ) -> Transport:
    """The transport a DSN names (TransportError when it is malformed).

    ``env`` holds the secrets (``INFOLETTRE_SMTP_PASSWORD``, ``api_key``);
    ``http`` is an httpx transport for the API providers (a test server).
    """
    env = env or {}
    parts = urlsplit(dsn)
    scheme = parts.scheme.lower()
    if scheme in ("brevo+api", "postmark+api", "mailgun+api", "sendgrid+api"):
        return _api(dsn, scheme, env, http)
    if scheme == "outbox":
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise TransportError(f"{dsn}: give the outbox folder, e.g. outbox://outbox")
        return OutboxTransport(Path(path))
    if scheme in ("smtp", "smtps"):
        options = _options(dsn, parts.query, _SMTP_OPTIONS)
        if not parts.hostname:
            raise TransportError(f"{mask(dsn)}: no host; write smtp://HOST:PORT")
        try:
            port = parts.port or (465 if scheme == "smtps" else 587)
        except ValueError:
            raise TransportError(f"{mask(dsn)}: the port is not a number") from None
        security = options.get("security") or ("tls" if port == 465 or scheme == "smtps"
                                                else "starttls")
        username = unquote(parts.username or "")
        password = unquote(parts.password or "") or env.get("INFOLETTRE_SMTP_PASSWORD", "")
        if username and not password:
            raise TransportError(f"{mask(dsn)}: a user without a password: put it in the "
                                 "DSN or in $INFOLETTRE_SMTP_PASSWORD")
        return _shared(SmtpTransport(
            parts.hostname, port, security=security, username=username, password=password,
            connections=_number(dsn, options, "connections", int, 4),
            rate=_number(dsn, options, "rate", float, None),
            max_per_connection=_number(dsn, options, "max_per_connection", int, 100),
            timeout=_number(dsn, options, "timeout", float, 30.0),
            cafile=Path(options["cafile"]) if options.get("cafile") else None,
            helo=options.get("helo") or None),
            _number(dsn, options, "campaign_rate", float, None))
    known = ", ".join(DESCRIPTIONS)
    raise TransportError(f"{mask(dsn)}: unknown transport '{scheme}' (known: {known})")
