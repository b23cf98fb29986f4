"""MIME messages, assembled per recipient from parts prepared once per edition.

The edition's HTML and text are cut at their placeholders and each piece is
encoded (quoted-printable, CRLF) once. For a recipient, the only work left is
to encode the few personal values, join the pieces and write the headers:
string work, no rendering, no CSS inlining, no MIME library. Each value starts
and ends with a soft line break, so every line stays within RFC 2045's 76
characters whatever its length.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import time
from dataclasses import dataclass
from email import quoprimime
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr

from . import placeholders, tokens
from .config import Config
from .edition import BuiltEdition

__all__ = ["UNSUBSCRIBE_PURPOSE", "DkimSigner", "MessageFactory", "Recipient"]

CRLF = b"\r\n"
UNSUBSCRIBE_PURPOSE = "unsubscribe"  # the purposes of subscription.UNSUBSCRIBE and
PREFERENCES_PURPOSE = "preferences"  # .PREFERENCES, repeated to keep this module light


@dataclass(frozen=True)
class Recipient:
    """Who a message goes to."""

    id: int
    email: str
    name: str = ""


@dataclass(frozen=True)
class Content:
    """What every message of a campaign shares, for transports that are not SMTP.

    ``html`` and ``text`` still hold the ``%%placeholders%%`` of the personal values;
    an HTTP API either substitutes them itself (templating) or gets each message's
    filled copy.
    """

    campaign: str
    sender_name: str
    sender_email: str
    envelope_from: str
    reply_to: str
    subject: str
    html: str
    text: str
    lang: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Outgoing:
    """One recipient's message: personal values, and the whole MIME message on demand."""

    recipient: Recipient
    values: dict[str, str]
    message_id: str
    list_unsubscribe: str
    correlation: str
    factory: MessageFactory | None  # None for a service notice, sent through an API only

    def mime(self) -> bytes:
        """The complete message, as SMTP and the outbox send it."""
        if self.factory is None:
            raise ValueError("this message has no MIME form")
        return self.factory.build(self.recipient, outgoing=self)


def _no_leading_dots(encoded: bytes) -> bytes:
    """Write a '.' that starts a line as '=2E', so the message never needs dot-stuffing.

    SMTP doubles a line's leading dot on the wire; encoding it instead lets the
    transport send the prepared bytes as they are (and QP decodes it back).
    """
    encoded = encoded.replace(b"\r\n.", b"\r\n=2E")
    return b"=2E" + encoded[1:] if encoded.startswith(b".") else encoded


def _qp_piece(text: str) -> bytes:
    """Quoted-printable for a static piece; lines <= 73, so a soft break and a '=2E' fit."""
    latin = text.encode("utf-8").decode("latin-1")  # quoprimime works on byte values
    return _no_leading_dots(quoprimime.body_encode(latin, maxlinelen=73, eol="\r\n")
                            .encode("ascii"))


_PLAIN_URL_RE = re.compile(r"^[!-<>-~]+$")  # printable ASCII but '=': nothing to escape


def _qp_value(value: str) -> bytes:
    """Quoted-printable for a personal value, in lines of at most 76 characters."""
    if _PLAIN_URL_RE.match(value):  # the usual case: a URL, cut in lines of 73
        lines = [value[i:i + 73] for i in range(0, len(value), 73)]
        return _no_leading_dots("=\r\n".join(lines).encode("ascii"))
    out, line = [], ""
    for byte in value.encode("utf-8"):
        char = chr(byte)
        piece = char if 33 <= byte <= 126 and char != "=" else f"={byte:02X}"
        if len(line) + len(piece) > 72:
            out.append(line + "=")
            line = ""
        line += piece
    out.append(line)
    return _no_leading_dots("\r\n".join(out).encode("ascii"))


class _Part:
    """One body part cut at its placeholders: encoded pieces and the names between them."""

    def __init__(self, content: str) -> None:
        pieces, self.names = placeholders.split(
            content.replace("\r\n", "\n").replace("\n", "\r\n"))
        self.pieces = [_qp_piece(piece) for piece in pieces]

    def encode(self, values: dict[str, bytes]) -> bytes:
        out = [self.pieces[0]]
        for name, piece in zip(self.names, self.pieces[1:], strict=True):
            out += (b"=\r\n", values[name], b"=\r\n", piece)
        return b"".join(out)


def _header(name: str, value: str) -> bytes:
    """A header line, folded at spaces; non-ASCII text as RFC 2047 encoded words."""
    if value.isascii() and len(name) + len(value) < 76:
        return f"{name}: {value}".encode("ascii")
    charset = "us-ascii" if value.isascii() else "utf-8"
    encoded = Header(value, charset, header_name=name).encode(maxlinelen=76)
    return f"{name}: {encoded}".replace("\n", "\r\n").encode("ascii")


_PLAIN_NAME_RE = re.compile(r"^[A-Za-z0-9 .'-]*$")


def _to_header(name: str, address: str) -> bytes:
    """``To: Name <address>``; names outside plain ASCII as one RFC 2047 base64 word.

    Per recipient, so it avoids email.header's general (and slower) machinery
    for the usual short name; a long one still goes through it.
    """
    if not name:
        return f"To: {address}".encode("ascii")
    if _PLAIN_NAME_RE.match(name):
        quoted = f'"{name}"' if "." in name or "'" in name else name
        return f"To: {quoted} <{address}>".encode("ascii")
    encoded = base64.b64encode(name.encode("utf-8")).decode("ascii")
    if len(encoded) <= 60:
        return f"To: =?utf-8?b?{encoded}?= <{address}>".encode("ascii")
    return _header("To", formataddr((name, address), charset="utf-8"))


def _address(value: str) -> str:
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8")


class DkimSigner:
    """DKIM-Signature over the headers that matter to receivers, unsubscribe ones included."""

    HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"reply-to",
               b"mime-version", b"content-type", b"list-id", b"list-unsubscribe",
               b"list-unsubscribe-post")

    def __init__(self, domain: str, selector: str, key: bytes) -> None:
        import dkim  # dkimpy: only needed when a key is configured

        self._sign = dkim.sign
        self.domain, self.selector, self.key = domain.encode(), selector.encode(), key

    def sign(self, message: bytes) -> bytes:
        """The message with its DKIM-Signature header first."""
        signature = self._sign(message, self.selector, self.domain, self.key,
                               include_headers=list(self.HEADERS),
                               canonicalize=(b"relaxed", b"relaxed"))
        return signature.replace(b"\r\n", b"\n").replace(b"\n", CRLF) + message


class MessageFactory:
    """Builds the message of each recipient of one campaign (or of a proof)."""

    def __init__(self, edition: BuiltEdition, config: Config, campaign: str, secret: bytes,
                 *, dkim: DkimSigner | None = None, subject_prefix: str = "",
                 web_url: str | None = None) -> None:
        self.config, self.campaign, self.secret, self.dkim = config, campaign, secret, dkim
        self.edition = edition
        self.subject = subject_prefix + edition.subject
        self.base = config.base_url.rstrip("/")
        self.domain = config.sender_address.rpartition("@")[2] or "localhost"
        self.web_url_text = web_url or config.issue_url(edition.slug)
        self.web_url = _qp_value(self.web_url_text)
        self.text = _Part(edition.text)
        self.html = _Part(edition.html)
        digest = hashlib.sha256(f"{campaign}|{edition.html}".encode()).hexdigest()[:24]
        boundary = f"=_infolettre_{digest}"
        headers = [
            _header("From", _address(config.sender)),
            *([_header("Reply-To", _address(config.reply_to))] if config.reply_to else []),
            _header("Subject", self.subject),
            b"MIME-Version: 1.0",
            _header("List-Id", f"InfoLettre <{config.list_id}>"),
            b"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            f"Content-Language: {edition.lang}".encode(),
            f'Content-Type: multipart/alternative; boundary="{boundary}"'.encode(),
        ]
        self.static_headers = CRLF.join(headers) + CRLF
        self.text_head = (f"\r\n--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                          "Content-Transfer-Encoding: quoted-printable\r\n\r\n").encode()
        self.html_head = (f"\r\n--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n"
                          "Content-Transfer-Encoding: quoted-printable\r\n\r\n").encode()
        self.tail = f"\r\n--{boundary}--\r\n".encode()
        self._date: tuple[dt.datetime | int | None, bytes] = (None, b"")

    def content(self) -> Content:
        """The shared part of the campaign's messages (for API transports)."""
        name, address = parseaddr(self.config.sender)
        return Content(
            campaign=self.campaign, sender_name=name, sender_email=address,
            envelope_from=self.config.envelope_from,
            reply_to=parseaddr(self.config.reply_to)[1] if self.config.reply_to else "",
            subject=self.subject, html=self.edition.html, text=self.edition.text,
            lang=self.edition.lang,
            headers={"List-Id": f"InfoLettre <{self.config.list_id}>",
                     "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})

    def outgoing(self, recipient: Recipient) -> Outgoing:
        """A recipient's personal values, with the MIME message available on demand."""
        urls = self.personal_urls(recipient)
        return Outgoing(recipient, {**urls, "web_url": self.web_url_text},
                        self.message_id(recipient), self.list_unsubscribe(urls["unsubscribe_url"]),
                        f"{self.campaign}:{recipient.id}", self)

    def list_unsubscribe(self, url: str) -> str:
        """The List-Unsubscribe value: the one-click URL, then a mailto: fallback."""
        token = url.rpartition("/")[2]  # base64url and digits: nothing to escape
        mailto = f"mailto:{self.config.unsubscribe_address}?subject=unsubscribe%20{token}"
        return f"<{url}>, <{mailto}>"

    def message_id(self, recipient: Recipient) -> str:
        """Deterministic per campaign and subscriber: a re-send carries the same id."""
        digest = hashlib.sha256(f"{self.campaign}|{recipient.id}".encode()).hexdigest()[:16]
        return f"<{self.campaign}.{recipient.id}.{digest}@{self.domain}>"

    def unsubscribe_url(self, recipient: Recipient) -> str:
        """The one-click unsubscribe link of a subscriber."""
        token = tokens.sign(self.secret, UNSUBSCRIBE_PURPOSE, recipient.id, recipient.email)
        return f"{self.base}/unsubscribe/{token}"

    def personal_urls(self, recipient: Recipient) -> dict[str, str]:
        """The subscriber's own links: one-click unsubscribe and preferences."""
        token = tokens.sign(self.secret, PREFERENCES_PURPOSE, recipient.id, recipient.email)
        return {"unsubscribe_url": self.unsubscribe_url(recipient),
                "preferences_url": f"{self.base}/preferences/{token}"}

    def _date_header(self, when: dt.datetime | None) -> bytes:
        """The Date header, formatted once per second rather than once per message."""
        stamp = when or int(time.time())
        if self._date[0] != stamp:
            moment = stamp if isinstance(stamp, dt.datetime) else \
                dt.datetime.fromtimestamp(stamp, dt.UTC)
            self._date = (stamp, f"Date: {format_datetime(moment)}".encode())
        return self._date[1]

    def build(self, recipient: Recipient, when: dt.datetime | None = None, *,
              outgoing: Outgoing | None = None) -> bytes:
        """The complete message for ``recipient``, CRLF line ends, no line starting with '.'.

        ``outgoing`` brings the personal values already computed for this recipient.
        """
        o = outgoing or self.outgoing(recipient)
        values = {k: _qp_value(v) for k, v in o.values.items() if k != "web_url"}
        values["web_url"] = self.web_url
        head = b"".join((
            _to_header(recipient.name, recipient.email),
            CRLF, self._date_header(when), CRLF,
            f"Message-ID: {o.message_id}".encode(), CRLF,
            f"List-Unsubscribe: {o.list_unsubscribe}".replace(", ", ",\r\n ").encode(), CRLF,
            self.static_headers,
        ))
        message = b"".join((head, CRLF, b"This is a multipart message in MIME format.",
                            self.text_head, self.text.encode(values),
                            self.html_head, self.html.encode(values), self.tail))
        return self.dkim.sign(message) if self.dkim else message

