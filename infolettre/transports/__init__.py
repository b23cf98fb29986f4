"""Transports, chosen by a DSN in the convention of Symfony Mailer.

=============================================================  ==========================
DSN                                                            what it does
=============================================================  ==========================
``outbox://PATH``                                              writes a local Maildir
``smtp://USER:PASS@HOST:PORT?security=tls|starttls|none&…``    sends through SMTP
=============================================================  ==========================

SMTP options: ``connections`` (parallel sessions, default 4), ``rate`` (messages
per second, all sessions together), ``max_per_connection`` (default 100),
``timeout`` (seconds), ``cafile`` (a CA bundle to verify the server with),
``helo``. Without ``security``, port 465 means ``tls`` and any other
``starttls``: plain text is never chosen unless asked for. A password absent
from the DSN is read from ``$INFOLETTRE_SMTP_PASSWORD``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from ..fields import closest
from .base import Envelope, Outcome, Result, Session, Transport, TransportError
from .outbox import OutboxTransport
from .smtp import SmtpTransport

__all__ = ["DESCRIPTIONS", "Envelope", "Outcome", "Result", "Session", "Transport",
           "TransportError", "from_dsn", "mask"]

#: What each scheme is for and what it needs, for `infolettre transports`.
DESCRIPTIONS = {
    "outbox": ("outbox://PATH", "a local Maildir; nothing leaves the machine (default)"),
    "smtp": ("smtp://USER:PASS@HOST:PORT?security=starttls&connections=4&rate=10",
             "an SMTP relay; password in the DSN or $INFOLETTRE_SMTP_PASSWORD"),
}
_SMTP_OPTIONS = {"security", "connections", "rate", "max_per_connection", "timeout",
                 "cafile", "helo"}


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


def _number(dsn: str, options: Mapping[str, str], key: str, kind: type, default: object
            ) -> object:
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


def from_dsn(dsn: str, env: Mapping[str, str] | None = None) -> Transport:
    """The transport a DSN names (TransportError when it is malformed)."""
    env = env or {}
    parts = urlsplit(dsn)
    scheme = parts.scheme.lower()
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
        return SmtpTransport(
            parts.hostname, port, security=security, username=username, password=password,
            connections=_number(dsn, options, "connections", int, 4),  # type: ignore[arg-type]
            rate=_number(dsn, options, "rate", float, None),  # type: ignore[arg-type]
            max_per_connection=_number(  # type: ignore[arg-type]
                dsn, options, "max_per_connection", int, 100),
            timeout=_number(dsn, options, "timeout", float, 30.0),  # type: ignore[arg-type]
            cafile=Path(options["cafile"]) if options.get("cafile") else None,
            helo=options.get("helo") or None)
    known = ", ".join(DESCRIPTIONS)
    raise TransportError(f"{mask(dsn)}: unknown transport '{scheme}' (known: {known})")
